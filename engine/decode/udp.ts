// UDP (RFC 768). Like gopacket, the length field bounds the payload (a length
// below 8 is an error, 0 means "to the end": a jumbogram).
import { isDnsPort } from "./dnsports";
import { Layer, Malformed, type Packet } from "./packet";

export function decodeUDP(p: Packet): Layer {
  const b = p.buf;
  const o = p.l4Off;
  if (o + 8 > p.ipEnd) return p.markMalformed(Malformed.Truncated, "UDP header truncated");
  p.srcPort = (b[o] << 8) | b[o + 1];
  p.dstPort = (b[o + 2] << 8) | b[o + 3];
  p.udpLength = (b[o + 4] << 8) | b[o + 5];
  p.udpChecksum = (b[o + 6] << 8) | b[o + 7];
  p.last = Layer.UDP;
  let end = p.ipEnd;
  if (p.udpLength >= 8) {
    if (o + p.udpLength < end) end = o + p.udpLength;
  } else if (p.udpLength !== 0) {
    return p.markMalformed(Malformed.BadHeader, `UDP length ${p.udpLength} < 8`);
  }
  p.l4End = end;
  p.appOff = o + 8;
  p.appEnd = end;
  // (a fragment gets here only as the datagram it completed: fragments.ts)
  if (isDnsPort(p.srcPort, p.dstPort)) return Layer.DNS;
  return Layer.Payload;
}
