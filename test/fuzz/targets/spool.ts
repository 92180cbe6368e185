// Target: the spool reader and the delivery path (engine/outputs/spool.ts,
// webhook.ts): a spool folder with mutated segments and offset.json, opened
// by a WebhookOutput that delivers it to a real local HTTP receiver.
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebhookOutput } from "../../../engine/outputs/webhook";
import { WEBHOOK_FORMATS } from "../../../engine/outputs/formats";
import { eventsOf } from "../../lib/run";
import { byteOp, interesting, opsArb, type Op } from "../mutate";
import { frameSeeds } from "../seeds";
import type { Target } from "../harness";
import { RawReceiver } from "./receiver";

interface SpoolInput {
  format: number;
  segs: { n: number; data: Buffer }[];
  offset: Buffer | null;
}

let base = "";
let rx: RawReceiver;
let lines: string[] = [];

function finding(i: number): string {
  return lines[i % lines.length];
}

function seed(nsegs: number, per: number): SpoolInput {
  const segs = Array.from({ length: nsegs }, (_, s) => ({
    n: s + 1,
    data: Buffer.from(Array.from({ length: per }, (_, i) => finding(s * per + i) + "\n").join("")),
  }));
  return { format: 0, segs, offset: null };
}

function op(x: SpoolInput, [k, a, b, c]: Op, strict: boolean): SpoolInput {
  const segs = x.segs.map((s) => ({ ...s }));
  const s = segs.length ? segs[a % segs.length] : null;
  switch (k % 10) {
    case 0: {
      // offset.json: a segment and an offset at a line boundary, mid-line, at or past the end
      const seg = s ?? { n: 1, data: Buffer.alloc(0) };
      const nl = [...seg.data.entries()].filter(([, v]) => v === 10).map(([i]) => i + 1);
      const choices = [0, seg.data.length, seg.data.length + 1, nl[b % Math.max(1, nl.length)] ?? 0, (nl[0] ?? 2) - 1, interesting(c)];
      const segment = c & 8 ? seg.n + 1 + (c % 3) : seg.n;
      return { ...x, segs, offset: Buffer.from(JSON.stringify({ segment, offset: choices[b % choices.length] })) };
    }
    case 1:
      return { ...x, offset: byteOp(x.offset ?? Buffer.from('{"segment":1,"offset":0}'), [b, c, a, b]) };
    case 2:
      return {
        ...x,
        offset: [
          null,
          Buffer.from("{}"),
          Buffer.from('{"segment":-1,"offset":-5}'),
          Buffer.from('{"segment":1.5,"offset":"x"}'),
          Buffer.from(""),
        ][b % 5],
      };
    case 3:
      if (s) s.data = byteOp(s.data, [b, c, a, b]);
      return { ...x, segs };
    case 4:
      if (s) s.data = s.data.subarray(0, Math.max(0, s.data.length - 1 - (b % 40)));
      return { ...x, segs };
    case 5:
      if (s) segs.splice(a % segs.length, 1);
      return { ...x, segs };
    case 6:
      if (s) s.n = [0, 1, 2, 3, 7, 1000, 99999999][b % 7];
      return { ...x, segs };
    case 7:
      if (s) s.data = Buffer.alloc(0);
      return { ...x, segs };
    case 8:
      if (s) s.data = Buffer.concat([s.data, Buffer.from([b & 0xff, c & 0xff, 10])]);
      return { ...x, segs };
    default:
      return strict ? { ...x, format: b % WEBHOOK_FORMATS.length } : x;
  }
}

export const target: Target<SpoolInput> = {
  name: "spool",
  property:
    "opening and delivering a damaged spool never throws (also later, in the delivery loop), finishes within its deadline and never counts more findings sent than the spool's lines; " +
    "every request body is valid JSON in every format (issue 14 defect 7) and an offset past its segment or at a missing one is logged (defect 6)",
  modules: ["engine/outputs/spool.js", "engine/outputs/webhook.js", "engine/outputs/formats.js"],
  timeLimitMs: 8000,
  async setup() {
    base = mkdtempSync(join(tmpdir(), "netsig-fuzz-spool-"));
    rx = new RawReceiver();
    await rx.start();
    lines = eventsOf(
      1,
      frameSeeds()
        .filter((f) => f.linkType === 1)
        .slice(0, 20)
        .map((f) => ({ data: f.frame })),
    ).out.map((e) => e.json);
    if (lines.length === 0) lines = ['{"eventName":"x"}'];
  },
  async teardown() {
    await rx.stop();
    rmSync(base, { recursive: true, force: true });
  },
  arbitrary: (strict) =>
    fc
      .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), opsArb(10, 5))
      .map(([n, per, ops]) => ops.reduce((x, o) => op(x, o, strict), seed(n, per))),
  encode: (x) =>
    Buffer.from(
      JSON.stringify({
        format: x.format,
        segs: x.segs.map((s) => ({ n: s.n, data: s.data.toString("base64") })),
        offset: x.offset?.toString("base64") ?? null,
      }),
    ),
  decode: (b) => {
    const o = JSON.parse(b.toString("utf8")) as { format: number; segs: { n: number; data: string }[]; offset: string | null };
    return {
      format: o.format,
      segs: o.segs.map((s) => ({ n: s.n, data: Buffer.from(s.data, "base64") })),
      offset: o.offset === null ? null : Buffer.from(o.offset, "base64"),
    };
  },
  async run(x, _strict) {
    const dir = join(base, "spool");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const s of x.segs) writeFileSync(join(dir, `seg-${String(s.n).padStart(16, "0")}.jsonl`), s.data);
    if (x.offset) writeFileSync(join(dir, "offset.json"), x.offset);
    rx.reset();
    const logs: string[] = [];
    const format = WEBHOOK_FORMATS[x.format % WEBHOOK_FORMATS.length];
    const w = new WebhookOutput({
      url: `http://127.0.0.1:${rx.port}/hook`,
      format,
      spoolDir: dir,
      fsync: false,
      batchSize: 50,
      batchAgeMs: 0,
      timeoutMs: 1000,
      retryBaseMs: 5,
      retryMaxMs: 20,
      log: (m) => logs.push(m),
    });
    await w.close(2000);
    const total = x.segs.reduce((n, s) => n + s.data.filter((v) => v === 10).length, 0);
    const c = w.counters;
    if (c.sent + c.rejected > total) throw new Error(`${c.sent} sent + ${c.rejected} rejected of a spool with ${total} lines`);
    for (const body of rx.bodies) {
      const docs = format === "tracee" || format === "falcosidekick" ? [body] : format === "ecs" ? body.split("\n").filter(Boolean) : [];
      for (const d of docs) {
        try {
          JSON.parse(d);
        } catch {
          throw new Error(`a damaged spool line was delivered (${format}): ${d.slice(0, 120)}`);
        }
      }
    }
    if (x.offset) {
      let o: { segment?: number; offset?: number } = {};
      try {
        o = JSON.parse(x.offset.toString("utf8")) as typeof o;
      } catch {
        /* damaged: logged already */
      }
      // (two segments may share a number: the last one written is on disk)
      const seg = x.segs.filter((s) => s.n === o.segment).at(-1);
      // a missing segment with later ones is recovered (reading resumes at the next); past every
      // segment, or past its own segment's end, the lines before it are dropped as delivered
      const later = x.segs.some((s) => s.n > (o.segment ?? 0));
      const earlier = x.segs.some((s) => s.n < (o.segment ?? 0) && s.data.includes(10));
      if (
        Number.isInteger(o.segment) &&
        Number.isInteger(o.offset) &&
        (seg ? o.offset! > seg.data.length : !later && earlier) &&
        logs.length === 0
      ) {
        throw new Error(`offset.json ${x.offset.toString("utf8")} points past its segment or at a missing one, and nothing was logged`);
      }
    }
  },
};
