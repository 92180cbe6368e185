// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): packet type(2) ARPHRD type(2)
// address length(2) address(8) protocol(2).
import { decodeEtherType } from "./ethertype";
import { type Layer, Malformed, type Packet } from "./packet";

export function decodeLinuxSLL(p: Packet): Layer {
  const s = p.start;
  if (s + 16 > p.end) return p.markMalformed(Malformed.Truncated, "linux cooked (SLL) header truncated");
  return decodeEtherType(p, (p.buf[s + 14] << 8) | p.buf[s + 15], s + 16);
}
