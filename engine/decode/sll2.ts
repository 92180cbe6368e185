// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, what `tcpdump -i any` writes with libpcap >= 1.10):
// protocol(2) reserved(2) interface index(4) ARPHRD type(2) packet type(1) address length(1) address(8).
import { decodeEtherType } from "./ethertype";
import { type Layer, Malformed, type Packet } from "./packet";

export function decodeLinuxSLL2(p: Packet): Layer {
  const s = p.start;
  if (s + 20 > p.end) return p.markMalformed(Malformed.Truncated, "linux cooked (SLL2) header truncated");
  return decodeEtherType(p, (p.buf[s] << 8) | p.buf[s + 1], s + 20);
}
