// IPv4 (RFC 791). Mirrors gopacket's layers.IPv4 decoding: the total-length
// field bounds the datagram (Ethernet padding is dropped) and 0 means "the rest
// of the capture" (TSO). A fragment (MF or an offset) goes to the defragmenter
// (fragments.ts), which decodes the datagram once a fragment completes it.
import { ipv4String } from "./ipaddr";
import { Layer, Malformed, type Packet } from "./packet";
import { transportLayer } from "./transport";

export function decodeIPv4(p: Packet): Layer {
  const b = p.buf;
  const o = p.ipOff;
  if (o + 20 > p.end) return p.markMalformed(Malformed.Truncated, "IPv4 header truncated");
  const version = b[o] >> 4;
  if (version !== 4) return p.markMalformed(Malformed.BadHeader, `IPv4 header with version ${version}`);
  const ihl = b[o] & 0x0f;
  let length = (b[o + 2] << 8) | b[o + 3];
  const avail = p.end - o;
  if (length === 0) length = avail; // TCP segmentation offload: length left to the NIC
  if (ihl < 5) return p.markMalformed(Malformed.BadHeader, `IPv4 header length ${ihl * 4} < 20`);
  if (length < 20) return p.markMalformed(Malformed.BadHeader, `IPv4 total length ${length} < 20`);
  if (ihl * 4 > length) return p.markMalformed(Malformed.BadHeader, `IPv4 header length ${ihl * 4} > total length ${length}`);
  if (o + ihl * 4 > p.end) return p.markMalformed(Malformed.Truncated, "IPv4 options truncated");

  p.ipVersion = 4;
  p.ihl = ihl;
  p.tos = b[o + 1];
  // the header field is 16 bits: a TSO datagram captured beyond 64 KiB reports
  // its captured length modulo 2^16, as gopacket's uint16(len(data)) (and so
  // Tracee) does; the datagram itself still runs to the end of the capture
  p.ipTotalLen = length & 0xffff;
  p.ipId = (b[o + 4] << 8) | b[o + 5];
  p.ipFlags = b[o + 6] >> 5;
  p.fragOffset = ((b[o + 6] & 0x1f) << 8) | b[o + 7];
  p.ttl = b[o + 8];
  p.ipProtocol = b[o + 9];
  p.l4Protocol = p.ipProtocol;
  p.ipChecksum = (b[o + 10] << 8) | b[o + 11];
  p.srcIP = ipv4String(b, o + 12);
  p.dstIP = ipv4String(b, o + 16);
  p.ipEnd = length < avail ? o + length : p.end;
  p.fragment = (p.ipFlags & 1) !== 0 || p.fragOffset !== 0;
  p.laterFragment = p.fragOffset !== 0;
  p.l4Off = o + ihl * 4;
  p.last = Layer.IPv4;
  if (p.fragment) return Layer.Fragment;
  return transportLayer(p.l4Protocol);
}
