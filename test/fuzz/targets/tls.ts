// Target: the TLS hello parser (engine/decode/tls.ts) and its fingerprints
// (decode/ja.ts): the recorded hellos of the corpus' TLS captures, their
// bytes edited (flips, inserts, deletes, lengths set to interesting values),
// re-framed into TLS records of random sizes and cut into TCP segments, then
// fed to the parser as the flow stage does (bytes held until the parser
// consumes them, at most maxHold) and through the whole pipeline as frames.
import fc from "fast-check";
import { Decoder } from "../../../engine/decode/decoder";
import { TLS_MAX_HOLD, TLS_PARSER } from "../../../engine/decode/tls";
import { DONE, NEED_MORE, NOT_MINE, type StreamDirection } from "../../../engine/types/parser";
import type { AppRecord } from "../../../engine/types/records";
import * as craft from "../../../tools/lib/craft";
import { byteOp, interesting, opsArb, type Op } from "../mutate";
import { frameSeeds } from "../seeds";
import type { Target } from "../harness";
import { framesCodec, runFrames, type Frames } from "./frames";

let seeds: Buffer[] | null = null;
/** the TCP payloads of the seed captures that start a TLS hello */
function tlsSeeds(): Buffer[] {
  if (seeds) return seeds;
  const d = new Decoder();
  d.dnsEnabled = false;
  const out: Buffer[] = [];
  for (const { linkType, frame } of frameSeeds()) {
    const p = d.decode({
      tsSec: 0,
      tsNsec: 0,
      linkType,
      iface: "",
      buf: frame,
      offset: 0,
      caplen: frame.length,
      origLen: frame.length,
      fileOffset: 0,
    });
    if (p.l4Protocol !== 6 || p.appEnd - p.appOff < 6) continue;
    const b = Buffer.from(frame.subarray(p.appOff, p.appEnd));
    if (TLS_PARSER.detect(b, 0, b.length, true) === true) out.push(b);
  }
  if (out.length === 0) throw new Error("no TLS hello among the seed captures");
  seeds = out;
  return out;
}

/** the handshake bytes of a hello's records, re-framed into records of `size` bytes (0: as they were) */
function reframe(stream: Buffer, size: number): Buffer {
  if (size === 0 || stream.length < 5) return stream;
  const body: Buffer[] = [];
  for (let i = 0; i + 5 <= stream.length; ) {
    const len = stream.readUInt16BE(i + 3);
    body.push(stream.subarray(i + 5, Math.min(stream.length, i + 5 + len)));
    i += 5 + len;
  }
  const all = Buffer.concat(body);
  const recs: Buffer[] = [];
  for (let i = 0; i < all.length; i += size) {
    const part = all.subarray(i, i + size);
    recs.push(Buffer.from([22, stream[1], stream[2], part.length >> 8, part.length & 255]), part);
  }
  return Buffer.concat(recs);
}

interface Plan {
  stream: Buffer;
  cuts: number[];
}

function arb(): fc.Arbitrary<Plan> {
  const s = tlsSeeds();
  return fc
    .record({ pick: fc.nat(s.length - 1), size: fc.nat(600), cuts: fc.array(fc.nat(), { maxLength: 8 }), ops: opsArb(11, 6) })
    .map(({ pick, size, cuts, ops }) => {
      let stream = reframe(s[pick], size % 3 === 0 ? 0 : 1 + (size % 600));
      for (const op of ops as Op[]) {
        if (op[0] % 11 === 10 && stream.length >= 2) {
          // a length field (record or handshake) set to an interesting value
          const at = op[1] % (stream.length - 1);
          stream = Buffer.from(stream);
          stream.writeUInt16BE(interesting(op[2]) & 0xffff, at);
        } else stream = byteOp(stream, op);
      }
      const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, stream.length - 1))))].sort((x, y) => x - y);
      return { stream, cuts: at };
    });
}

function segments(p: Plan): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...p.cuts, p.stream.length]) {
    if (c > prev) out.push(p.stream.subarray(prev, c));
    prev = c;
  }
  return out;
}

function toFrames(p: Plan): Frames {
  let seq = 1000;
  const frames = [
    craft.ethernet(
      craft.ipv4(
        { src: "10.0.0.1", dst: "10.0.0.2", protocol: 6 },
        craft.tcp({ srcPort: 40000, dstPort: 8443, seq: seq - 1, ack: 0, flags: 0x02 }, Buffer.alloc(0)),
      ),
    ),
  ];
  for (const s of segments(p)) {
    const data = s.length > 65000 ? s.subarray(0, 65000) : s;
    frames.push(
      craft.ethernet(
        craft.ipv4(
          { src: "10.0.0.1", dst: "10.0.0.2", protocol: 6 },
          craft.tcp({ srcPort: 40000, dstPort: 8443, seq, ack: 1, flags: 0x18 }, data),
        ),
      ),
    );
    seq += data.length;
  }
  return { linkType: 1, frames };
}

export const target: Target<Plan> = {
  name: "tls",
  property:
    "the TLS parser never throws; it returns NEED_MORE, NOT_MINE, DONE or a count within the bytes given; what it is handed never exceeds maxHold; " +
    "a record it makes has the hello's fields and fingerprints; decode -> events -> JSON holds too",
  modules: ["engine/decode/tls.js", "engine/decode/ja.js", "engine/flows/tracker.js"],
  arbitrary: arb,
  encode: (p) => framesCodec.encode(toFrames(p)),
  decode: (b) => {
    const f = framesCodec.decode(b);
    const d = new Decoder();
    d.dnsEnabled = false;
    const parts: Buffer[] = [];
    for (const fr of f.frames) {
      const p = d.decode({
        tsSec: 0,
        tsNsec: 0,
        linkType: f.linkType,
        iface: "",
        buf: fr,
        offset: 0,
        caplen: fr.length,
        origLen: fr.length,
        fileOffset: 0,
      });
      if (p.appEnd > p.appOff) parts.push(Buffer.from(fr.subarray(p.appOff, p.appEnd)));
    }
    const cuts: number[] = [];
    let n = 0;
    for (const x of parts.slice(0, -1)) cuts.push((n += x.length));
    return { stream: Buffer.concat(parts), cuts };
  },
  run(plan) {
    runFrames(toFrames(plan));
    // the parser as the flow stage drives it
    const dir: StreamDirection = {
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 40000,
      dstPort: 8443,
      fromClient: true,
      state: undefined,
      peer: null,
    };
    let held = Buffer.alloc(0);
    let detected = false;
    for (const seg of segments(plan)) {
      if (!detected) {
        const d = TLS_PARSER.detect(seg, 0, seg.length, true);
        if (d !== true) return;
        detected = true;
      }
      if (held.length + seg.length > TLS_MAX_HOLD) return; // the flow stage cuts here
      held = Buffer.concat([held, seg]);
      const out: AppRecord[] = [];
      const r = TLS_PARSER.parse(held, 0, held.length, dir, out);
      if (r !== NEED_MORE && r !== NOT_MINE && r !== DONE && !(r >= 0 && r <= held.length)) throw new Error(`parse returned ${r}`);
      if (r !== DONE && out.length > 0) throw new Error(`records pushed with result ${r}`);
      for (const rec of out) {
        if (rec.t === "tls_client_hello") {
          const h = rec.hello;
          if (!/^[0-9a-f]{32}$/.test(h.ja3_hash)) throw new Error(`ja3_hash ${h.ja3_hash}`);
          if (!/^t(1[0-3]|s3|s2|d[1-3]|00)[di]\d\d\d\d[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/.test(h.ja4))
            throw new Error(`ja4 ${h.ja4}`);
          for (const v of [...h.cipher_suites, ...h.extensions, ...h.supported_groups, ...h.signature_algorithms, ...h.versions])
            if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`a u16 of ${v}`);
        } else if (rec.t === "tls_server_hello") {
          if (!/^[0-9a-f]{32}$/.test(rec.hello.ja3s_hash)) throw new Error(`ja3s_hash ${rec.hello.ja3s_hash}`);
        }
      }
      if (r === DONE || r === NOT_MINE) return;
      if (r > 0) held = held.subarray(r);
    }
  },
};
