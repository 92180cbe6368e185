// IPv6 (RFC 8200) and its extension headers: hop-by-hop (0), routing (43),
// fragment (44), destination options (60), authentication (51), mobility (135),
// HIP (139), shim6 (140). The fixed header's fields are what Tracee reports
// (nextHeader is the fixed header's); the transport layer is found after the chain.
import { ipv6String } from "./ipaddr";
import { Layer, Malformed, type Packet } from "./packet";
import { transportLayer } from "./transport";

const MAX_EXT_HEADERS = 16;

export function decodeIPv6(p: Packet): Layer {
  const b = p.buf;
  const o = p.ipOff;
  if (o + 40 > p.end) return p.markMalformed(Malformed.Truncated, "IPv6 header truncated");
  const version = b[o] >> 4;
  if (version !== 6) return p.markMalformed(Malformed.BadHeader, `IPv6 header with version ${version}`);
  p.ipVersion = 6;
  p.trafficClass = ((b[o] & 0x0f) << 4) | (b[o + 1] >> 4);
  p.flowLabel = ((b[o + 1] & 0x0f) << 16) | (b[o + 2] << 8) | b[o + 3];
  p.payloadLen = (b[o + 4] << 8) | b[o + 5];
  p.ipProtocol = b[o + 6];
  p.hopLimit = b[o + 7];
  p.srcIP = ipv6String(b, o + 8);
  p.dstIP = ipv6String(b, o + 24);
  const avail = p.end - o - 40;
  // payload length 0 with a hop-by-hop header is a jumbogram: take what was captured
  const payload = p.payloadLen === 0 && p.ipProtocol === 0 ? avail : p.payloadLen;
  p.ipTotalLen = 40 + payload;
  p.ipEnd = payload < avail ? o + 40 + payload : p.end;
  p.last = Layer.IPv6;

  return ipv6Chain(p, p.ipProtocol, o + 40);
}

/**
 * The extension header chain from the header `next` at `off` to the transport
 * layer (also run by the defragmenter over a reassembled datagram's
 * fragmentable part). A fragment (M or an offset) goes to the defragmenter;
 * an atomic fragment (offset 0, M=0, RFC 6946) is a whole datagram.
 */
export function ipv6Chain(p: Packet, next: number, off: number): Layer {
  const b = p.buf;
  for (let n = 0; n < MAX_EXT_HEADERS; n++) {
    switch (next) {
      case 0:
      case 43:
      case 60:
      case 135:
      case 139:
      case 140: {
        if (off + 8 > p.ipEnd) return p.markMalformed(Malformed.Truncated, `IPv6 extension header ${next} truncated`);
        const len = (b[off + 1] + 1) * 8;
        next = b[off];
        off += len;
        continue;
      }
      case 51: {
        // AH: length in 4-byte units, minus 2
        if (off + 8 > p.ipEnd) return p.markMalformed(Malformed.Truncated, "IPv6 AH header truncated");
        const len = (b[off + 1] + 2) * 4;
        next = b[off];
        off += len;
        continue;
      }
      case 44: {
        // fragment: next(1) reserved(1) offset<<3|M(2) identification(4)
        if (off + 8 > p.ipEnd) return p.markMalformed(Malformed.Truncated, "IPv6 fragment header truncated");
        // (Linux refuses a second fragment header in a reassembled datagram too)
        if (p.reassembled) return p.markMalformed(Malformed.BadHeader, "IPv6 fragment header in a reassembled datagram");
        const fo = b[off + 2] * 256 + (b[off + 3] & 0xf8);
        const more = (b[off + 3] & 1) !== 0;
        next = b[off];
        off += 8;
        if (fo !== 0 || more) {
          p.fragment = true;
          p.laterFragment = fo !== 0;
          p.fragStart = fo;
          p.fragMore = more;
          p.fragId = b.readUInt32BE(off - 4);
          p.l4Protocol = next;
          p.l4Off = off;
          return Layer.Fragment;
        }
        continue;
      }
      case 59: // no next header
        p.l4Protocol = next;
        p.l4Off = off;
        return Layer.Payload;
      default:
        if (off > p.ipEnd) return p.markMalformed(Malformed.Truncated, "IPv6 extension headers run past the datagram");
        p.l4Protocol = next;
        p.l4Off = off;
        return transportLayer(next);
    }
  }
  return p.markMalformed(Malformed.BadHeader, "more than 16 IPv6 extension headers");
}
