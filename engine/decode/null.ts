// BSD loopback encapsulations: LINKTYPE_NULL (4-byte address family in the capturing
// host's byte order) and LINKTYPE_LOOP (the same in network byte order).
import { Layer, Malformed, type Packet } from "./packet";

// AF_INET is 2 everywhere; AF_INET6 differs by OS: 10 Linux, 23 Windows, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin.
function familyLayer(family: number): Layer {
  if (family === 2) return Layer.IPv4;
  if (family === 10 || family === 23 || family === 24 || family === 28 || family === 30) return Layer.IPv6;
  return Layer.Unsupported;
}

export function decodeNull(p: Packet): Layer {
  if (p.start + 4 > p.end) return p.markMalformed(Malformed.Truncated, "loopback header truncated");
  // Host byte order of the writer is unknown: families are < 256, so whichever end holds them tells.
  let family = p.buf.readUInt32LE(p.start);
  if (family > 0xffff) family = p.buf.readUInt32BE(p.start);
  p.ipOff = p.start + 4;
  return familyLayer(family);
}

export function decodeLoop(p: Packet): Layer {
  if (p.start + 4 > p.end) return p.markMalformed(Malformed.Truncated, "loopback header truncated");
  p.ipOff = p.start + 4;
  return familyLayer(p.buf.readUInt32BE(p.start));
}
