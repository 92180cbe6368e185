// The live parts of `npm run bench` (bench/run.ts prints them):
//
// liveLadder(): live capture throughput on lo. The bench's DNS capture,
//   rewritten by tcprewrite onto 127.77.2.1 port 5355 (LLMNR, decoded as DNS;
//   out of other tests' "port 53" captures) with a destination MAC that is not
//   lo's (the kernel drops the frames after the capture taps: no socket gets
//   them), is replayed with `tcpreplay --pps R --limit 2R` at rising rates
//   while one capture runs: `netsig run` (all nine events as JSON lines to
//   /dev/null), `netsig run --signatures signatures` (the shipped set,
//   sandboxed), and the peer `tcpdump -w /dev/null` with the same 64 MiB
//   kernel buffer. Each rung starts a fresh capture, replays a 2000-packet
//   warm-up at 4k packets/s, then the rung. A rung is clean when the kernel
//   dropped nothing and every packet sent was captured; a tool's ladder stops
//   at its first unclean rung. Each capture is stopped only once it is idle
//   (netsig: CPU; tcpdump: 1.5 s).
//
// webhookFindings(): findings delivered to a local HTTP receiver. `netsig
//   replay` of a generated 20k-packet DNS burst (tools/lib/burst.ts) with a
//   signature that fires on every query (10000 findings), --webhook to a
//   receiver in this process that counts the findings of each POST.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { burstFrames, writeBurst } from "../tools/lib/burst";

const ROOT = join(__dirname, "..", "..");
const CLI = join(ROOT, "dist", "engine", "cli", "main.js");
export const LIVE_RUNGS = [5_000, 10_000, 20_000, 30_000, 50_000, 100_000, 200_000];
/** replayed at 4k packets/s before each rung: a fresh netsig drops its first packets at 10k/s while it warms up (measured: 802 of 30000 cold, 0 after this) */
const WARMUP_PACKETS = 2000;
export const RUNG_SECONDS = 2;
const FILTER = "udp port 5355 and net 127.77.0.0/16";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** why the live rows cannot run here, or "" */
export function liveSkipReason(): string {
  if (process.env.BENCH_SKIP_LIVE === "1") return "BENCH_SKIP_LIVE=1";
  if (process.getuid?.() !== 0) return "live capture needs root";
  for (const t of ["tcpreplay", "tcprewrite", "tcpdump"]) if (!has(t)) return `${t} is not installed (apt-get install tcpreplay tcpdump)`;
  return "";
}

/** the bench capture moved to 127.77.2.1:5355 with a foreign destination MAC (cached next to it) */
function liveCapture(file: string): string {
  const out = file.replace(/\.pcap$/, "-lo5355.pcap");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(file).mtimeMs) return out;
  const r = spawnSync(
    "tcprewrite",
    [
      `--infile=${file}`,
      `--outfile=${out}.tmp`,
      "--portmap=53:5355",
      "--enet-dmac=02:02:02:02:02:02",
      "--pnat=127.0.0.1/32:127.77.2.1/32",
      "--fixcsum",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`tcprewrite failed: ${r.stderr.trim()}`);
  spawnSync("mv", [`${out}.tmp`, out]);
  return out;
}

interface Proc {
  child: ChildProcess;
  err: () => string;
  exited: Promise<void>;
}

function start(cmd: string, args: string[]): Proc {
  const devnull = openSync("/dev/null", "w");
  const child = spawn(cmd, args, { stdio: ["ignore", devnull, "pipe"] });
  closeSync(devnull);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  return { child, err: () => err, exited };
}

async function waitFor(p: Proc, re: RegExp, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!re.test(p.err())) {
    if (p.child.exitCode !== null || Date.now() > end) throw new Error(`${p.child.spawnfile} did not start: ${p.err().trim()}`);
    await sleep(50);
  }
}

async function stop(p: Proc): Promise<void> {
  p.child.kill("SIGINT");
  const t = setTimeout(() => p.child.kill("SIGKILL"), 30_000);
  await p.exited;
  clearTimeout(t);
}

/** utime + stime of a process, in clock ticks */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** until the process used at most 2 ticks (20 ms) of CPU in half a second, at most 30 s */
async function waitIdle(pid: number): Promise<void> {
  let last = cpuTicks(pid);
  const end = Date.now() + 30_000;
  await sleep(500);
  while (Date.now() < end) {
    await sleep(500);
    const now = cpuTicks(pid);
    if (now - last <= 2) return;
    last = now;
  }
}

function replay(file: string, pps: number, limit: number): { sent: number; pps: number } {
  const r = spawnSync("tcpreplay", ["-i", "lo", `--pps=${pps}`, `--limit=${limit}`, file], { encoding: "utf8" });
  const out = r.stdout + r.stderr;
  const sent = /Successful packets:\s+(\d+)/.exec(out);
  const rated = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out);
  if (r.status !== 0 || !sent || !rated) throw new Error(`tcpreplay failed: ${out.trim().split("\n").pop()}`);
  return { sent: Number(sent[1]), pps: Number(rated[1]) };
}

export interface Rung {
  asked: number;
  pps: number;
  sent: number;
  captured: number;
  dropped: number;
  clean: boolean;
}
export interface Ladder {
  name: string;
  rungs: Rung[] /** the highest rate achieved with a clean rung, 0 if none */;
  best: number;
}

export const LIVE_TOOLS: { name: string; tool: "netsig" | "tcpdump"; args: string[] }[] = [
  { name: "netsig run", tool: "netsig", args: [] },
  { name: "netsig run --signatures", tool: "netsig", args: ["--signatures", join(ROOT, "signatures"), "--quiet-findings"] },
  { name: "tcpdump -w /dev/null", tool: "tcpdump", args: [] },
];

async function rung(tool: (typeof LIVE_TOOLS)[number], file: string, asked: number, total: number): Promise<Rung> {
  const p =
    tool.tool === "netsig"
      ? start(process.execPath, [CLI, "run", "--iface", "lo", "--bpf", FILTER, ...tool.args])
      : start("tcpdump", ["-i", "lo", "-n", "-B", "65536", "-w", "/dev/null", FILTER]);
  try {
    await waitFor(p, tool.tool === "netsig" ? /capturing on lo/ : /listening on/, 20_000);
    await sleep(300);
    const warm = replay(file, 4000, WARMUP_PACKETS);
    await sleep(500);
    const r = replay(file, asked, Math.min(total, asked * RUNG_SECONDS));
    if (tool.tool === "netsig") await waitIdle(p.child.pid!);
    else await sleep(1500);
    await stop(p);
    const text = p.err();
    const m =
      tool.tool === "netsig"
        ? /lo: (\d+) packets captured, (\d+) dropped by the kernel/.exec(text)
        : /(\d+) packets? captured[\s\S]*?(\d+) packets? dropped by kernel/.exec(text);
    if (!m) throw new Error(`${tool.name}: no capture counts in its output: ${text.trim()}`);
    const captured = Number(m[1]) - warm.sent;
    const dropped = Number(m[2]);
    return { asked, pps: r.pps, sent: r.sent, captured, dropped, clean: dropped === 0 && captured === r.sent };
  } finally {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGKILL");
      await p.exited;
    }
  }
}

/** each tool up the ladder, stopping at its first unclean rung */
export async function liveLadder(benchFile: string, totalPackets: number, log: (l: string) => void): Promise<Ladder[]> {
  const file = liveCapture(benchFile);
  const out: Ladder[] = [];
  for (const tool of LIVE_TOOLS) {
    const rungs: Rung[] = [];
    for (const asked of LIVE_RUNGS) {
      const r = await rung(tool, file, asked, totalPackets);
      rungs.push(r);
      log(
        `   ${tool.name.padEnd(26)} ${String(asked / 1000).padStart(4)}k asked ${(r.pps / 1000).toFixed(1).padStart(6)}k sent/s: ` +
          `${r.captured}/${r.sent} captured, ${r.dropped} dropped by the kernel${r.clean ? "" : "  <- stop"}`,
      );
      if (!r.clean) break;
    }
    out.push({ name: tool.name, rungs, best: Math.max(0, ...rungs.filter((r) => r.clean).map((r) => r.pps)) });
  }
  return out;
}

const EVERY_QUERY = `export default class EveryQuery {
  ctx: any;
  getMetadata() { return { id: "BENCH-EVERY-QUERY", version: "1", name: "every DNS query", description: "bench", properties: { Severity: 1 } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init(ctx: any) { this.ctx = ctx; }
  onEvent(e: any) { this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: {} }); }
  onSignal(_s: any) {}
  close() {}
}
`;

export interface WebhookResult {
  findings: number;
  unique: number;
  requests: number;
  /** first to last finding received */
  receiveMs: number;
  /** netsig started to last finding received */
  endToEndMs: number;
  /** netsig started to netsig exited */
  exitMs: number;
  summary: string;
}

/** `packets` generated packets (one finding per query, half of them) replayed with --webhook to a counting receiver */
export async function webhookFindings(outDir: string, packets: number): Promise<WebhookResult> {
  const file = join(outDir, `burst-${packets}.pcap`);
  if (!existsSync(file)) writeBurst(file, burstFrames(packets));
  const sigs = join(outDir, "sigs-every-query");
  mkdirSync(sigs, { recursive: true });
  writeFileSync(join(sigs, "every-query.ts"), EVERY_QUERY);
  const spool = join(outDir, "webhook-spool");
  rmSync(spool, { recursive: true, force: true });

  const ids = new Set<string>();
  let findings = 0;
  let requests = 0;
  let first = 0;
  let last = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const batch = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { metadata: { Properties: { findingID: string } } }[];
      const now = performance.now();
      if (!first) first = now;
      last = now;
      requests++;
      findings += batch.length;
      for (const f of batch) ids.add(f.metadata.Properties.findingID);
      res.writeHead(200).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    const t0 = performance.now();
    const p = start(process.execPath, [
      CLI,
      "replay",
      file,
      "--signatures",
      sigs,
      "--webhook",
      `http://127.0.0.1:${port}/`,
      "--quiet-findings",
      "--spool-dir",
      spool,
    ]);
    await p.exited;
    const exitMs = performance.now() - t0;
    if (p.child.exitCode !== 0) throw new Error(`netsig replay --webhook exited ${p.child.exitCode}: ${p.err().trim()}`);
    const summary =
      p
        .err()
        .trim()
        .split("\n")
        .find((l) => /findings sent/.test(l)) ?? "";
    return { findings, unique: ids.size, requests, receiveMs: last - first, endToEndMs: last - t0, exitMs, summary };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(spool, { recursive: true, force: true });
  }
}
