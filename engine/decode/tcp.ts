// TCP (RFC 9293). DNS over TCP is recognised by port (53, 5353 mDNS, 5355 LLMNR).
import { isDnsPort } from "./dnsports";
import { Layer, Malformed, type Packet } from "./packet";

export function decodeTCP(p: Packet): Layer {
  const b = p.buf;
  const o = p.l4Off;
  const end = p.ipEnd;
  if (o + 20 > end) return p.markMalformed(Malformed.Truncated, "TCP header truncated");
  p.srcPort = (b[o] << 8) | b[o + 1];
  p.dstPort = (b[o + 2] << 8) | b[o + 3];
  p.tcpSeq = b.readUInt32BE(o + 4);
  p.tcpAck = b.readUInt32BE(o + 8);
  p.tcpDataOffset = b[o + 12] >> 4;
  p.tcpFlags = ((b[o + 12] & 1) << 8) | b[o + 13];
  p.tcpWindow = (b[o + 14] << 8) | b[o + 15];
  p.tcpChecksum = (b[o + 16] << 8) | b[o + 17];
  p.tcpUrgent = (b[o + 18] << 8) | b[o + 19];
  p.last = Layer.TCP;
  const hlen = p.tcpDataOffset * 4;
  if (hlen < 20) return p.markMalformed(Malformed.BadHeader, `TCP data offset ${hlen} < 20`);
  if (o + hlen > end) return p.markMalformed(Malformed.Truncated, "TCP options truncated");
  p.l4End = end;
  p.appOff = o + hlen;
  p.appEnd = end;
  if (isDnsPort(p.srcPort, p.dstPort)) return Layer.DNSOverTCP;
  return Layer.Payload;
}
