// Target: the link, IPv4/IPv6 (options, fragments and their reassembly, extension headers), TCP,
// UDP and ICMP decoders and the events built from them, as JSON
// (engine/decode, engine/events: a packet through EventPipeline).
import { BYTE_OPS, byteOp, mutated, PACKET_OPS, packetOp } from "../mutate";
import { frameSeeds } from "../seeds";
import type { Target } from "../harness";
import { framesCodec, runFrames, type Frames } from "./frames";

const LINKTYPES = [0, 1, 101, 108, 113, 228, 229, 276, 12, 14, 147];

function seeds(): Frames[] {
  const fs = frameSeeds();
  const out: Frames[] = [];
  for (let i = 0; i < fs.length; i += 3) {
    const g = fs.slice(i, i + 3).filter((f) => f.linkType === fs[i].linkType);
    out.push({ linkType: fs[i].linkType, frames: g.map((f) => f.frame) });
  }
  return out;
}

export const target: Target<Frames> = {
  name: "packet",
  property:
    "decoding and building events never throws; offsets stay in the frame; every event's JSON parses, names its event, has no NaN or impossible port",
  modules: [
    "engine/decode/decoder.js",
    "engine/decode/ethernet.js",
    "engine/decode/sll.js",
    "engine/decode/sll2.js",
    "engine/decode/null.js",
    "engine/decode/raw.js",
    "engine/decode/ipv4.js",
    "engine/decode/ipv6.js",
    "engine/decode/fragments.js",
    "engine/decode/tcp.js",
    "engine/decode/udp.js",
    "engine/decode/icmpv4.js",
    "engine/decode/icmpv6.js",
    "engine/decode/packet.js",
    "engine/decode/transport.js",
    "engine/decode/ethertype.js",
    "engine/events/build.js",
    "engine/events/json.js",
    "engine/events/jsonbytes.js",
    "engine/events/pipeline.js",
  ],
  arbitrary: () =>
    mutated(seeds(), PACKET_OPS + BYTE_OPS + 1, (x, op) => {
      const [k, a, b, c] = op;
      if (k === PACKET_OPS + BYTE_OPS) return { ...x, linkType: LINKTYPES[b % LINKTYPES.length] };
      const frames = [...x.frames];
      if (frames.length === 0) return x;
      const i = a % frames.length;
      frames[i] = k < PACKET_OPS ? packetOp(frames[i], x.linkType, [k, b, c, a]) : byteOp(frames[i], [k - PACKET_OPS, b, c, a]);
      return { ...x, frames };
    }),
  ...framesCodec,
  run: (x) => {
    runFrames(x);
  },
};
