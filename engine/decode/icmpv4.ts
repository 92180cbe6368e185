// ICMPv4 (RFC 792): type, code, checksum, and the id/sequence word that Tracee
// reports for every type (as gopacket reads them from bytes 4-7).
import { Layer, Malformed, type Packet } from "./packet";

export function decodeICMPv4(p: Packet): Layer {
  const b = p.buf;
  const o = p.l4Off;
  if (o + 8 > p.ipEnd) return p.markMalformed(Malformed.Truncated, "ICMP header truncated");
  p.icmpType = b[o];
  p.icmpCode = b[o + 1];
  p.icmpChecksum = (b[o + 2] << 8) | b[o + 3];
  p.icmpId = (b[o + 4] << 8) | b[o + 5];
  p.icmpSeq = (b[o + 6] << 8) | b[o + 7];
  p.l4End = p.ipEnd;
  p.appOff = o + 8;
  p.appEnd = p.ipEnd;
  p.last = Layer.ICMPv4;
  return Layer.Payload;
}
