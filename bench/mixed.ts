// The issue-16 parts of `npm run bench` (bench/run.ts prints them):
//
// againstBase(): the DNS bench capture, this build against a build of the
//   commit before the issue-16 work (BENCH_BASE, default 06a332a), built once
//   into $TMPDIR/netsig-bench-base-<commit>/ (git archive, this tree's
//   node_modules, npm run build; outside the tree, so that neither tsc nor
//   the lint nor the layout test reads its sources). Rounds of paired runs, both builds on the same core, the order
//   flipped each round: the decode, events and JSON stages (each build's own
//   dist/bench/modes.js, building the default event set: the base's nine
//   events, this build's nine plus HTTP and TLS, whose flow stage then runs)
//   and `netsig replay --output json` (each build's CLI, the whole process).
//   Judged on the median of the rounds' ratios: nothing more than 5% slower.
//
// mixedStage(): the mixed HTTP/TLS capture (make-mixed.ts). In rounds:
//   `netsig replay FILE --output json` (the whole process, output to
//   /dev/null), `tcpdump -nn -r FILE` and, when built, the base's replay; then
//   `tshark -T ek -r FILE` between two netsig runs. Targets: netsig at least
//   20x faster than tshark and within 3x of tcpdump.
//
// `node dist/bench/mixed.js` runs these two parts alone (after `npm run
// build`; the DNS capture is built or reused as `npm run bench` does).
//
// Every run is pinned to one core (taskset -c BENCH_CPU, default 1) when
// taskset is installed.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENT_NAMES } from "../engine/types/events";
import { DEFAULT_MIXED_PACKETS, makeMixed, type MixedMeta, mixedSkipReason } from "./make-mixed";

const ROOT = join(__dirname, "..", "..");
export const CPU = process.env.BENCH_CPU ?? "1";
/** the last commit before the issue-16 work */
export const BASE_COMMIT = process.env.BENCH_BASE ?? "06a332a";
const hasTaskset = spawnSync("sh", ["-c", "command -v taskset"]).status === 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** the command pinned to BENCH_CPU */
function pinned(cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ["taskset", ["-c", CPU, cmd, ...args]] : [cmd, args];
}

/** a run's wall time and CPU time (user + system, all its threads), in ms */
export interface Timing {
  wall: number;
  cpu: number;
}

const GNU_TIME = "/usr/bin/time";
const hasTime = existsSync(GNU_TIME);

/**
 * A whole process, pinned, stdout to /dev/null: its wall time and, through
 * GNU time (when installed; else the wall time again), its CPU time.
 */
export function timeProcess(cmd: string, args: string[]): Promise<Timing> {
  const tfile = join(tmpdir(), `netsig-bench-time-${process.pid}`);
  const [c0, a0] = pinned(cmd, args);
  const [c, a] = hasTime ? [GNU_TIME, ["-f", "%U %S", "-o", tfile, c0, ...a0]] : [c0, a0];
  return new Promise((resolve, reject) => {
    const devnull = openSync("/dev/null", "w");
    const t0 = performance.now();
    const child = spawn(c, a, { stdio: ["ignore", devnull, "pipe"] });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      if (err.length < 4096) err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      closeSync(devnull);
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${err.trim().split("\n").pop()}`));
      let cpu = wall;
      if (hasTime) {
        const [u, s] = readFileSync(tfile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
        rmSync(tfile, { force: true });
        cpu = ((u as number) + (s as number)) * 1000;
      }
      resolve({ wall, cpu });
    });
  });
}

interface StageResult {
  ms: number;
  cpuMs: number;
  packets: number;
  events: number;
  counts?: Record<string, number>;
}

/** one stage of a build's bench/modes.js (the time it measures inside, without start-up) */
function modeStage(root: string, mode: string, file: string, env: Record<string, string> = {}): StageResult {
  const [c, a] = pinned(process.execPath, [join(root, "dist", "bench", "modes.js"), mode, file]);
  const r = spawnSync(c, a, { encoding: "utf8", maxBuffer: 1 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`bench stage ${mode} (${root}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string) as StageResult;
}

const cli = (root: string) => join(root, "dist", "engine", "cli", "main.js");

// ---------------------------------------------------------------- the base build

/** why the base build cannot be used, or "" */
export function baseSkipReason(): string {
  if (process.env.BENCH_SKIP_BASE === "1") return "BENCH_SKIP_BASE=1";
  const r = spawnSync("git", ["-C", ROOT, "rev-parse", "--verify", "--quiet", `${BASE_COMMIT}^{commit}`], { encoding: "utf8" });
  if (r.status !== 0) return `commit ${BASE_COMMIT} is not in this clone (a shallow clone?)`;
  return "";
}

/** $TMPDIR/netsig-bench-base-<commit>/ with the commit's tree built (cached: built once) */
export function ensureBase(log: (l: string) => void): string {
  const sha = spawnSync("git", ["-C", ROOT, "rev-parse", `${BASE_COMMIT}^{commit}`], { encoding: "utf8" }).stdout.trim();
  const dir = join(tmpdir(), `netsig-bench-base-${sha.slice(0, 12)}`);
  const stamp = join(dir, ".built");
  // (node_modules: a link into a tree that may be gone since)
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === sha && existsSync(cli(dir)) && existsSync(join(dir, "node_modules"))) return dir;
  log(`   building ${sha.slice(0, 12)} (the commit before issue 16) in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = spawnSync("sh", ["-c", `git -C "${ROOT}" archive ${sha} | tar -x -C "${dir}"`], { encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`git archive ${sha} failed: ${tar.stderr}`);
  // the same dependencies (package-lock.json unchanged): share this tree's node_modules
  const sameLock = readFileSync(join(dir, "package-lock.json"), "utf8") === readFileSync(join(ROOT, "package-lock.json"), "utf8");
  if (sameLock && existsSync(join(ROOT, "node_modules"))) {
    if (!existsSync(join(dir, "node_modules")) || !lstatSync(join(dir, "node_modules")).isSymbolicLink()) {
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    }
  } else {
    const ci = spawnSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir, encoding: "utf8" });
    if (ci.status !== 0) throw new Error(`npm ci in ${dir} failed: ${ci.stderr}`);
  }
  const b = spawnSync("npm", ["run", "build"], { cwd: dir, encoding: "utf8", maxBuffer: 16 << 20 });
  if (b.status !== 0) throw new Error(`npm run build in ${dir} failed: ${b.stdout}${b.stderr}`);
  writeFileSync(stamp, sha);
  return dir;
}

export const BASE_MEASURES = ["decode", "events", "json", "replay --output json"] as const;

export interface BaseComparison {
  base: string;
  /** per measure, per round: this build's and the base's timings */
  ours: Record<string, Timing[]>;
  theirs: Record<string, Timing[]>;
}

/** this build against the base, paired, on the same file */
export async function againstBase(file: string, base: string, rounds: number, log: (l: string) => void): Promise<BaseComparison> {
  const res: BaseComparison = { base, ours: {}, theirs: {} };
  for (const m of BASE_MEASURES) {
    res.ours[m] = [];
    res.theirs[m] = [];
  }
  const one = async (root: string, m: string): Promise<Timing> => {
    if (m.startsWith("replay")) return timeProcess(process.execPath, [cli(root), "replay", file, "--output", "json"]);
    const r = modeStage(root, m, file);
    return { wall: r.ms, cpu: r.cpuMs };
  };
  for (let i = 0; i < rounds; i++) {
    const line: string[] = [];
    for (const m of BASE_MEASURES) {
      // the order flips each round: a drift in the machine's speed favours neither
      let a: Timing;
      let b: Timing;
      if (i % 2 === 0) {
        a = await one(ROOT, m);
        b = await one(base, m);
      } else {
        b = await one(base, m);
        a = await one(ROOT, m);
      }
      res.ours[m]?.push(a);
      res.theirs[m]?.push(b);
      line.push(`${m.split(" ")[0]} ${a.cpu.toFixed(0)}/${b.cpu.toFixed(0)}`);
    }
    log(`   round ${i + 1} (CPU ms, this build / base): ${line.join("  ")}`);
  }
  return res;
}

const ratios = (a: Timing[], b: Timing[], k: keyof Timing) => a.map((x, i) => x[k] / (b[i] as Timing)[k]);
const pct = (r: number) => `${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(1)}%`;

/** prints the comparison; true when no measure is more than 5% slower (CPU time, the rounds' median ratio) */
export function printBaseComparison(c: BaseComparison, packets: number, log: (l: string) => void): boolean {
  let ok = true;
  log(
    `${"measure (CPU time)".padEnd(22)}${"this build".padStart(11)}${"base".padStart(9)}${"ratio".padStart(8)}${"change".padStart(8)}   rounds' CPU ratios | wall-time ratio`,
  );
  for (const m of BASE_MEASURES) {
    const a = c.ours[m] as Timing[];
    const b = c.theirs[m] as Timing[];
    const cpu = ratios(a, b, "cpu");
    const r = median(cpu);
    if (r > 1.05) ok = false;
    log(
      m.padEnd(22) +
        `${(median(a.map((x) => x.cpu)) / 1000).toFixed(2)} s`.padStart(11) +
        `${(median(b.map((x) => x.cpu)) / 1000).toFixed(2)} s`.padStart(9) +
        `${r.toFixed(3)}`.padStart(8) +
        pct(r).padStart(8) +
        `   ${cpu.map((x) => x.toFixed(2)).join(" ")} | ${median(ratios(a, b, "wall")).toFixed(3)}`,
    );
  }
  log(`  (${packets} packets; ratio: this build's time / the base's, the median of the rounds' ratios; below 1 is faster)`);
  return ok;
}

// ---------------------------------------------------------------- the mixed capture

export interface MixedResult {
  file: string;
  meta: MixedMeta;
  rounds: { netsig: Timing; tcpdump: Timing; base?: Timing }[];
  tshark?: { run: Timing; before: Timing; after: Timing };
  counts?: Record<string, number>;
}

export function mixedSkip(): string {
  if (process.env.BENCH_SKIP_MIXED === "1") return "BENCH_SKIP_MIXED=1";
  return mixedSkipReason();
}

export async function mixedStage(
  outDir: string,
  rounds: number,
  base: string | undefined,
  skipTshark: boolean,
  log: (l: string) => void,
): Promise<MixedResult> {
  const packets = Number(process.env.BENCH_MIXED_PACKETS ?? DEFAULT_MIXED_PACKETS);
  const file = join(outDir, `mixed-${packets}.pcap`);
  const meta = makeMixed({ out: file, packets, log: (l) => log(`   ${l}`) });
  const replay = (root: string) => timeProcess(process.execPath, [cli(root), "replay", file, "--output", "json"]);
  const res: MixedResult = { file, meta, rounds: [] };
  // the events netsig builds from it (all types, flows too), counted
  res.counts = modeStage(ROOT, "events", file, { BENCH_EVENTS: "all" }).counts;
  const t = (x: Timing) => `${x.cpu.toFixed(0)}/${x.wall.toFixed(0)}`;
  for (let i = 0; i < rounds; i++) {
    const netsig = await replay(ROOT);
    const tcpdump = await timeProcess("tcpdump", ["-nn", "-r", file]);
    const b = base ? await replay(base) : undefined;
    res.rounds.push({ netsig, tcpdump, base: b });
    log(
      `   round ${i + 1} (CPU/wall ms): netsig replay --output json ${t(netsig)}, tcpdump -nn -r ${t(tcpdump)}${b ? `, base replay ${t(b)}` : ""}`,
    );
  }
  if (!skipTshark) {
    const before = await replay(ROOT);
    const run = await timeProcess("tshark", ["-T", "ek", "-r", file]);
    const after = await replay(ROOT);
    res.tshark = { run, before, after };
    log(`   tshark -T ek -r ${t(run)} (netsig just before and after: ${t(before)}, ${t(after)})`);
  }
  return res;
}

const fmtRate = (r: number) => (r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : `${(r / 1e3).toFixed(1)}k`);

/** prints the mixed capture's table and targets; returns the rates to remember in last.json */
export function printMixed(r: MixedResult, log: (l: string) => void): Record<string, number> {
  const m = r.meta;
  const n = m.packets;
  const now: Record<string, number> = {};
  log(
    `\n== mixed HTTP/TLS capture: ${n} packets, ${(m.bytes / 1e6).toFixed(0)} MB (${m.copies} copies of a ${m.seedPackets}-packet seed, ${m.seedFlows} TCP flows; version ${m.version})`,
  );
  if (r.counts) {
    const app = EVENT_NAMES.filter((e) => /http|tls|flow/.test(e)).map((e) => `${e} ${r.counts?.[e] ?? 0}`);
    log(`   netsig's events (all types): ${app.join(", ")}`);
  }
  if (m.seedContent) {
    // tshark's count on the seed, times the copies, against netsig's events
    const c = m.seedContent;
    const pairs: [string, number, string][] = [
      ["HTTP requests", c.httpRequests ?? 0, "net_packet_http_request"],
      ["HTTP responses", c.httpResponses ?? 0, "net_packet_http_response"],
      ["TLS client hellos", c.tlsClientHellos ?? 0, "net_packet_tls_client_hello"],
      ["TLS server hellos", c.tlsServerHellos ?? 0, "net_packet_tls_server_hello"],
    ];
    log(
      `   tshark (the seed's count x ${m.copies}) / netsig: ${pairs
        .map(([what, n, ev]) => {
          const ours = r.counts?.[ev] ?? 0;
          return `${what} ${n * m.copies}/${ours}${ours === n * m.copies ? "" : " (differ)"}`;
        })
        .join(", ")}`,
    );
  }
  log(`\n${"(each a whole process, one core)".padEnd(32)}${"CPU".padStart(9)}${"packets/s".padStart(11)}${"wall".padStart(9)}`);
  const row = (name: string, xs: Timing[]) => {
    const cpu = median(xs.map((x) => x.cpu));
    log(
      name.padEnd(32) +
        `${(cpu / 1000).toFixed(2)} s`.padStart(9) +
        fmtRate(n / (cpu / 1000)).padStart(11) +
        `${(median(xs.map((x) => x.wall)) / 1000).toFixed(2)} s`.padStart(9),
    );
    now[`mixed ${name}`] = n / (cpu / 1000);
  };
  row(
    "netsig replay --output json",
    r.rounds.map((x) => x.netsig),
  );
  row(
    "tcpdump -nn -r",
    r.rounds.map((x) => x.tcpdump),
  );
  const hasBase = r.rounds.every((x) => x.base !== undefined);
  if (hasBase)
    row(
      "base replay --output json",
      r.rounds.map((x) => x.base as Timing),
    );
  if (r.tshark) row("tshark -T ek -r", [r.tshark.run]);
  log(`\ntargets on the mixed capture (netsig replay --output json; CPU time of each process pinned to cpu ${CPU}):`);
  const vsTcpdump = r.rounds.map((x) => x.netsig.cpu / x.tcpdump.cpu);
  const vt = median(vsTcpdump);
  const vtWall = median(r.rounds.map((x) => x.netsig.wall / x.tcpdump.wall));
  log(
    `  within 3x of tcpdump -nn -r:            ${vt.toFixed(2)}x tcpdump's time ${vt <= 3 ? "MET" : "NOT MET"}  (rounds: ${vsTcpdump.map((x) => x.toFixed(2)).join(" ")}; wall time: ${vtWall.toFixed(2)}x)`,
  );
  if (r.tshark) {
    const { run, before, after } = r.tshark;
    const x = run.cpu / ((before.cpu + after.cpu) / 2);
    const xw = run.wall / ((before.wall + after.wall) / 2);
    log(
      `  at least 20x faster than tshark -T ek:  ${x.toFixed(1)}x ${x >= 20 ? "MET" : "NOT MET"}  (netsig timed just before and after tshark; wall time: ${xw.toFixed(1)}x)`,
    );
  } else {
    log("  at least 20x faster than tshark -T ek:  not measured (BENCH_SKIP_TSHARK=1)");
  }
  if (hasBase) {
    const cost = r.rounds.map((x) => x.netsig.cpu / (x.base as Timing).cpu);
    log(
      `  (what the HTTP/TLS stage costs here: this build's replay / the base's, rounds' median: ${median(cost).toFixed(2)}x; rounds: ${cost.map((x) => x.toFixed(2)).join(" ")})`,
    );
  }
  return now;
}

async function main(): Promise<void> {
  const outDir = join(ROOT, "bench", "out");
  const packets = Number(process.env.BENCH_PACKETS ?? 500000);
  const rounds = Math.max(Number(process.env.BENCH_RUNS ?? 3), 7);
  const log = (l: string) => console.log(l);
  const dns = join(outDir, `dns-${packets}.pcap`);
  const mk = spawnSync(process.execPath, [join(__dirname, "make-capture.js"), dns, "--packets", String(packets)], { stdio: "inherit" });
  if (mk.status !== 0) throw new Error("could not build the DNS bench capture");
  let base: string | undefined;
  const skipBase = baseSkipReason();
  if (skipBase) log(`DNS capture against the build before issue 16: skipped (${skipBase})`);
  else {
    log(`== the DNS capture: this build against ${BASE_COMMIT} (before issue 16), ${rounds} paired rounds, one core`);
    base = ensureBase(log);
    const cmp = await againstBase(dns, base, rounds, log);
    log("");
    const ok = printBaseComparison(cmp, packets, log);
    log(`  nothing more than 5% slower on the DNS capture with the new decoders present: ${ok ? "MET" : "NOT MET"}`);
  }
  const skip = mixedSkip();
  if (skip) log(`mixed HTTP/TLS capture: skipped (${skip})`);
  else {
    log(`\n== the mixed HTTP/TLS capture, ${rounds} rounds`);
    printMixed(await mixedStage(outDir, rounds, base, process.env.BENCH_SKIP_TSHARK === "1", log), log);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
