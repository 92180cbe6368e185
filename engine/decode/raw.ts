// LINKTYPE_RAW: the packet starts with an IPv4 or IPv6 header; the version nibble decides.
import { Layer, Malformed, type Packet } from "./packet";

export function decodeRaw(p: Packet): Layer {
  if (p.start >= p.end) return p.markMalformed(Malformed.Truncated, "empty raw IP packet");
  p.ipOff = p.start;
  const version = p.buf[p.start] >> 4;
  if (version === 4) return Layer.IPv4;
  if (version === 6) return Layer.IPv6;
  return p.markMalformed(Malformed.BadHeader, `raw packet with IP version ${version}`);
}
