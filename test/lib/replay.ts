// Helpers of the schema and robustness tests: the capture files to replay,
// in-process replay to JSON lines (exactly what `netsig replay --output json`
// prints), an independent record framing of pcap/pcapng files, a seeded PRNG,
// and the CLI run asynchronously with bounded parallelism.

import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { parseCaptureBuffer, readCapture } from "../../engine/capture/reader";
import type { ReadSummary } from "../../engine/capture/types";
import { ALL_EVENTS, type EventMask } from "../../engine/events/build";
import { EventJSONWriter } from "../../engine/events/json";
import { EventPipeline } from "../../engine/events/pipeline";
import { corpusCaptures } from "./corpus";
import { CLI } from "./run";

/** the project's bundled example captures (examples/*.pcap, *.pcapng) */
export const EXAMPLES = join(__dirname, "..", "..", "..", "examples");

/**
 * every capture of the corpus (test/corpus/manifest.json, then the captures
 * only the full corpus beside the repository has), then the examples; absolute paths
 */
export function captureFiles(): string[] {
  const files = corpusCaptures().map((c) => c.file);
  let examples: string[] = [];
  try {
    examples = readdirSync(EXAMPLES)
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .sort()
      .map((f) => join(EXAMPLES, f));
  } catch {
    /* no examples folder */
  }
  return [...files, ...examples];
}

export interface Replayed {
  /** one JSON text per event, as the CLI prints them */
  lines: string[];
  summary: ReadSummary;
}

function collector(host: string, mask: EventMask): { lines: string[]; pipeline: EventPipeline } {
  const lines: string[] = [];
  const json = new EventJSONWriter(host);
  let ts = "";
  let last = -1;
  let lastP: unknown = null;
  const pipeline: EventPipeline = new EventPipeline(mask, host, (ev, kind, p) => {
    const n = pipeline.decoder.stats.packets;
    // (the flows open at the end ride on a packet of their own: pipeline.finish())
    if (n !== last || p !== lastP) {
      last = n;
      lastP = p;
      ts = p.timestampString();
    }
    lines.push(json.write(ev, kind, ts));
  });
  return { lines, pipeline };
}

/**
 * replay a capture file in-process: capture -> decode -> events -> JSON lines
 * (this host's name, as the CLI); every event type unless `mask` says which
 * (DEFAULT_EVENTS: the CLI's default, without the flow events a replay's end flushes)
 */
export async function replayFile(file: string, host = hostname(), mask: EventMask = ALL_EVENTS): Promise<Replayed> {
  const { lines, pipeline } = collector(host, mask);
  const summary = await readCapture(file, pipeline.onPacket);
  pipeline.finish();
  return { lines, summary };
}

/** the same for capture bytes in memory */
export function replayBuffer(buf: Buffer, host = hostname(), mask: EventMask = ALL_EVENTS): Replayed {
  const { lines, pipeline } = collector(host, mask);
  const summary = parseCaptureBuffer(buf, pipeline.onPacket, "<buffer>");
  pipeline.finish();
  return { lines, summary };
}

export type CaptureFormat = "pcap" | "pcap-ns" | "pcapng";

export function captureFormat(buf: Buffer): CaptureFormat | null {
  if (buf.length < 4) return null;
  const m = buf.readUInt32BE(0);
  if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1) return "pcap";
  if (m === 0xa1b23c4d || m === 0x4d3cb2a1) return "pcap-ns";
  if (m === 0x0a0d0d0a) return "pcapng";
  return null;
}

/**
 * The offsets where a record (pcap: file header, packet records; pcapng:
 * blocks) ends, read independently of netsig's reader: a file cut at one of
 * them is a shorter, valid capture; cut anywhere else it is damaged, and the
 * damage starts at the greatest boundary below the cut (0: the file header).
 */
export function recordBoundaries(buf: Buffer): number[] {
  const fmt = captureFormat(buf);
  const out: number[] = [0];
  if (fmt === "pcap" || fmt === "pcap-ns") {
    const le = buf[0] === 0xd4 || buf[0] === 0x4d;
    if (buf.length < 24) return out;
    let off = 24;
    out.push(off);
    while (off + 16 <= buf.length) {
      const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      if (off + 16 + caplen > buf.length) break;
      off += 16 + caplen;
      out.push(off);
    }
  } else if (fmt === "pcapng") {
    let le = true;
    let off = 0;
    while (off + 12 <= buf.length) {
      const type = buf.readUInt32BE(off);
      if (type === 0x0a0d0d0a) le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d; // byte-order magic of the section
      const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      if (len < 12 || len % 4 !== 0 || off + len > buf.length) break;
      off += len;
      out.push(off);
    }
  }
  return out;
}

/** the greatest boundary <= at */
export function boundaryAtOrBelow(boundaries: number[], at: number): number {
  let b = 0;
  for (const x of boundaries) if (x <= at) b = x;
  return b;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1) */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** a seed from a string (file name), so that each file gets its own reproducible cuts */
export function seedOf(s: string, salt = 0): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface CliResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** run a command asynchronously; input (if any) goes to its stdin */
export function run(cmd: string, args: string[], input?: Buffer): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.stdin.on("error", () => undefined); // EPIPE when the child exits before reading everything
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(input);
  });
}

/** the netsig CLI (dist build), asynchronously */
export function netsigAsync(args: string[], input?: Buffer): Promise<CliResult> {
  return run(process.execPath, [CLI, ...args], input);
}

/** map with at most `limit` calls in flight, results in input order */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
