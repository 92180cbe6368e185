// Ethernet II (LINKTYPE_ETHERNET): destination MAC, source MAC, EtherType.
import { decodeEtherType } from "./ethertype";
import { type Layer, Malformed, type Packet } from "./packet";

export function decodeEthernet(p: Packet): Layer {
  const s = p.start;
  if (s + 14 > p.end) return p.markMalformed(Malformed.Truncated, "ethernet header truncated");
  return decodeEtherType(p, (p.buf[s + 12] << 8) | p.buf[s + 13], s + 14);
}
