// Target: DNS over TCP reassembly (engine/decode/dnstcp.ts) through the
// decoder: DNS messages with their 2-byte prefixes, cut into segments, then
// reordered, retransmitted, dropped, overlapped, flagged SYN/FIN/RST, moved to
// another flow, their prefixes and bytes changed.
import fc from "fast-check";
import { Decoder } from "../../../engine/decode/decoder";
import { TcpDnsReassembler } from "../../../engine/decode/dnstcp";
import type { PacketRecord } from "../../../engine/capture/types";
import * as craft from "../../../tools/lib/craft";
import { byteOp, interesting, opsArb, type Op, tcpSegOp } from "../mutate";
import { dnsSeeds } from "../seeds";
import type { Target } from "../harness";
import { framesCodec, runFrames, type Frames } from "./frames";

interface Seg {
  flow: number;
  seq: number;
  flags: number;
  data: Buffer;
}
const FLAGS = [0x18, 0x10, 0x02, 0x12, 0x01, 0x11, 0x04, 0x14, 0x19, 0x00, 0x3f];
const MAX_FLOWS = 4,
  MAX_HELD = 4096;

/** an IPv4 datagram holds at most 65535 bytes: a longer segment (three 63 KB seed messages) is cut */
const MAX_SEGMENT = 65535 - 40;

function frameOf(s: Seg): Buffer {
  const data = s.data.length > MAX_SEGMENT ? s.data.subarray(0, MAX_SEGMENT) : s.data;
  return craft.ethernet(
    craft.ipv4(
      { src: "10.0.0.1", dst: "10.0.0.53", protocol: 6 },
      craft.tcp({ srcPort: 40000 + s.flow, dstPort: 53, seq: s.seq >>> 0, ack: 1, flags: s.flags }, data),
    ),
  );
}

function segOp(segs: Seg[], [k, a, b, c]: Op): Seg[] {
  if (segs.length === 0) return segs;
  const out = segs.map((s) => ({ ...s }));
  const i = a % out.length,
    j = b % out.length;
  const m = k % 8;
  // reorder, retransmit, drop, move a sequence number, change the flags: as every stream target (mutate.ts)
  if (m < 5) {
    tcpSegOp(out, m, i, j, b, c, FLAGS);
    return out;
  }
  switch (m) {
    case 5:
      out[i].flow = b % 6;
      break; // another flow (more flows than the bound)
    case 6: {
      const d = Buffer.from(out[i].data);
      if (d.length >= 2) d.writeUInt16BE(interesting(c) & 0xffff, b % (d.length - 1));
      out[i].data = d;
      break;
    }
    default:
      out[i].data = byteOp(out[i].data, [b, c, a, b]);
      break;
  }
  return out;
}

interface Plan {
  msgs: Buffer[];
  segs: Seg[];
  clean: boolean;
}

function arb(): fc.Arbitrary<Plan> {
  const seeds = dnsSeeds();
  return fc
    .record({
      picks: fc.array(fc.nat(seeds.length - 1), { minLength: 1, maxLength: 3 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      isn: fc.nat(),
      syn: fc.boolean(),
      ops: opsArb(8, 6),
    })
    .map(({ picks, cuts, isn, syn, ops }) => {
      const msgs = picks.map((i) => seeds[i]);
      const stream = Buffer.concat(
        msgs.flatMap((m) => {
          const h = Buffer.alloc(2);
          h.writeUInt16BE(m.length);
          return [h, m];
        }),
      );
      const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, stream.length - 1))))].sort((x, y) => x - y);
      const segs: Seg[] = [];
      let prev = 0;
      const seq0 = syn ? isn + 1 : isn;
      if (syn) segs.push({ flow: 0, seq: isn, flags: 0x02, data: Buffer.alloc(0) });
      for (const p of [...at, stream.length]) {
        if (p > prev) segs.push({ flow: 0, seq: seq0 + prev, flags: 0x18, data: stream.subarray(prev, p) });
        prev = p;
      }
      return { msgs, segs: ops.reduce(segOp, segs), clean: ops.length === 0 && segs.every((s) => s.data.length <= MAX_SEGMENT) };
    });
}

function toFrames(p: Plan): Frames {
  return { linkType: 1, frames: p.segs.map(frameOf) };
}

export const target: Target<Plan> = {
  name: "dnstcp",
  property:
    "reassembly never throws; a reassembler bounded to 4 flows and 4 KiB holds at most that (plus the one message it keeps); " +
    "segments in order without damage give back exactly the messages sent; decode -> events -> JSON holds too",
  modules: ["engine/decode/dnstcp.js", "engine/decode/decoder.js", "engine/decode/dns.js"],
  arbitrary: arb,
  // saved as frames: a replay decodes them back into segments of one plan
  encode: (p) => framesCodec.encode(toFrames(p)),
  decode: (b) => {
    const f = framesCodec.decode(b);
    const d = new Decoder();
    d.dnsEnabled = false;
    const segs: Seg[] = f.frames.map((fr) => {
      const p = d.decode({
        tsSec: 0,
        tsNsec: 0,
        linkType: 1,
        iface: "",
        buf: fr,
        offset: 0,
        caplen: fr.length,
        origLen: fr.length,
        fileOffset: 0,
      });
      return { flow: p.srcPort - 40000, seq: p.tcpSeq, flags: p.tcpFlags, data: Buffer.from(fr.subarray(p.appOff, p.appEnd)) };
    });
    return { msgs: [], segs, clean: false };
  },
  run(plan) {
    runFrames(toFrames(plan));
    const d = new Decoder();
    d.dnsEnabled = false;
    const r = new TcpDnsReassembler(MAX_FLOWS, MAX_HELD);
    const got: Buffer[] = [];
    for (const s of plan.segs) {
      const fr = frameOf(s);
      const p = d.decode({
        tsSec: 0,
        tsNsec: 0,
        linkType: 1,
        iface: "",
        buf: fr,
        offset: 0,
        caplen: fr.length,
        origLen: fr.length,
        fileOffset: 0,
      } satisfies PacketRecord);
      if (p.l4Protocol !== 6) continue;
      const out = r.push(p);
      if (out) got.push(...out.map((m) => Buffer.from(m)));
      if (r.flowCount > MAX_FLOWS) throw new Error(`${r.flowCount} flows held, bound ${MAX_FLOWS}`);
      if (r.bytesHeld < 0 || r.bytesHeld > MAX_HELD + 65535) throw new Error(`${r.bytesHeld} bytes held, bound ${MAX_HELD} + one message`);
    }
    if (plan.clean) {
      const want = plan.msgs.map((m) => m.toString("hex")).join(",");
      const have = got.map((m) => m.toString("hex")).join(",");
      if (want !== have) throw new Error(`in-order segments gave ${got.length} messages, not the ${plan.msgs.length} sent`);
    }
  },
};
