// ICMPv6 (RFC 4443): type, code, checksum.
import { Layer, Malformed, type Packet } from "./packet";

export function decodeICMPv6(p: Packet): Layer {
  const b = p.buf;
  const o = p.l4Off;
  if (o + 4 > p.ipEnd) return p.markMalformed(Malformed.Truncated, "ICMPv6 header truncated");
  p.icmpType = b[o];
  p.icmpCode = b[o + 1];
  p.icmpChecksum = (b[o + 2] << 8) | b[o + 3];
  p.l4End = p.ipEnd;
  p.appOff = o + 4;
  p.appEnd = p.ipEnd;
  p.last = Layer.ICMPv6;
  return Layer.Payload;
}
