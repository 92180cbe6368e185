// Builds the large DNS capture that `npm run bench` replays.
//
//   node dist/bench/make-capture.js OUT.pcap [--packets N] [--rate QPS] [--force]
//
// Real traffic only: the lab's dnsmasq (tools/lab/dnslab.ts) answers dnsperf's
// UDP queries on 127.0.0.1:53 while tcpdump records lo into OUT. The query file
// cycles through every lab query (A, AAAA, MX, NS, SOA, TXT, SRV, PTR, CNAME,
// NXDOMAIN, NODATA, CNAME chains, ...), ceil(N/2) queries in all, so the capture
// holds ~N packets (one query + one response each). tcpdump must report 0
// packets dropped by kernel; a run with drops (or with many lost queries) is
// retried at half the rate.
//
// Cache: OUT is reused when it exists, its OUT.meta.json asks for the same
// packet count, and it is newer than this script's and the lab's sources.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LAB_QUERIES, makeTempDir, startDnsmasq, startTcpdump, type TcpdumpStats } from "../tools/lab/dnslab";

export interface MakeCaptureOptions {
  out: string;
  /** packets wanted in the capture (default 500000) */
  packets?: number;
  /** dnsperf -Q, queries per second (default 20000) */
  rate?: number;
  /** rebuild even if the cached capture is valid */
  force?: boolean;
  /** progress lines (default console.log) */
  log?: (line: string) => void;
}

export interface CaptureMeta {
  packetsRequested: number;
  queries: number;
  captured: number;
  droppedByKernel: number;
  receivedByFilter: number;
  queriesSent: number;
  queriesCompleted: number;
  queriesLost: number;
  rate: number;
  attempts: number;
  seconds: number;
  bytes: number;
  linktype: string;
  created: string;
}

export interface MakeCaptureResult {
  out: string;
  reused: boolean;
  meta: CaptureMeta;
}

interface PerfStats {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  raw: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

function parsePerf(out: string): PerfStats {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    raw: out,
  };
}

/** The sources whose changes invalidate a cached capture. */
function sources(): string[] {
  const root = path.resolve(__dirname, "..", ".."); // dist/bench -> project root
  const list = [path.join(root, "bench", "make-capture.ts"), path.join(root, "tools", "lab", "dnslab.ts")].filter((f) => fs.existsSync(f));
  return list.length ? list : [__filename];
}

function cached(out: string, packets: number): CaptureMeta | undefined {
  const metaPath = `${out}.meta.json`;
  if (!fs.existsSync(out) || !fs.existsSync(metaPath)) return undefined;
  let meta: CaptureMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaPath, "utf8")) as CaptureMeta;
  } catch {
    return undefined;
  }
  if (meta.packetsRequested !== packets) return undefined;
  const outTime = fs.statSync(out).mtimeMs;
  if (sources().some((s) => fs.statSync(s).mtimeMs > outTime)) return undefined;
  return meta;
}

export async function makeCapture(opts: MakeCaptureOptions): Promise<MakeCaptureResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const packets = opts.packets ?? 500_000;
  const out = path.resolve(opts.out);
  if (!opts.force) {
    const meta = cached(out, packets);
    if (meta) {
      log(`make-capture: reusing ${out} (${meta.captured} packets, newer than its sources; --force to rebuild)`);
      return { out, reused: true, meta };
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });

  const queries = Math.ceil(packets / 2);
  const dir = makeTempDir("netsig-bench-");
  const qfile = path.join(dir, "queries.txt");
  const lines: string[] = [];
  for (let i = 0; i < queries; i++) {
    const q = LAB_QUERIES[i % LAB_QUERIES.length];
    if (q) lines.push(`${q.qname} ${q.qtype}`);
  }
  fs.writeFileSync(qfile, lines.join("\n") + "\n");
  log(`make-capture: ${queries} queries (${LAB_QUERIES.length} lab query shapes, cycled) -> ~${queries * 2} packets`);

  const tmpOut = `${out}.partial`;
  const t0 = Date.now();
  let rate = opts.rate ?? 20_000;
  const server = await startDnsmasq();
  try {
    for (let attempt = 1; ; attempt++) {
      fs.rmSync(tmpOut, { force: true });
      const ta = Date.now();
      // buffered writes (no -U) and no immediate mode: the fastest way for
      // tcpdump to keep up; a 256 MiB ring absorbs bursts
      const td = await startTcpdump("lo", tmpOut, "udp port 53", {
        immediate: false,
        packetBuffered: false,
        bufferKiB: 256 * 1024,
        snaplen: 262144,
      });
      let perf: PerfStats;
      let stats: TcpdumpStats;
      try {
        const perfArgs = [
          "-s",
          "127.0.0.1",
          "-p",
          String(server.port),
          "-d",
          qfile,
          "-n",
          "1",
          "-c",
          "4",
          "-q",
          "200",
          "-t",
          "2",
          "-Q",
          String(rate),
        ];
        log(`make-capture: attempt ${attempt}: dnsperf ${perfArgs.join(" ")}`);
        perf = parsePerf(await run("dnsperf", perfArgs, Math.max(120_000, (queries / rate) * 3000)));
      } finally {
        // without immediate mode the last packets sit in the kernel ring until
        // its block timeout (1 s): wait before SIGINT so none is lost
        stats = await td.stop({ minWaitMs: 1500, settleMs: 500 });
      }
      const secs = (Date.now() - ta) / 1000;
      log(
        `make-capture: attempt ${attempt}: ${perf.sent} sent, ${perf.completed} answered, ${perf.lost} lost at ${Math.round(perf.qps)} qps; ` +
          `tcpdump: ${stats.captured} captured, ${stats.droppedByKernel} dropped by kernel (${secs.toFixed(1)} s)`,
      );
      const expected = perf.sent + perf.completed;
      const ok = stats.droppedByKernel === 0 && perf.lost <= queries / 1000 && stats.captured === expected;
      if (ok || attempt >= 3) {
        if (!ok) {
          throw new Error(
            `make-capture: no clean capture after ${attempt} attempts (last: ${stats.droppedByKernel} dropped, ${perf.lost} lost, ${stats.captured}/${expected} packets)`,
          );
        }
        fs.renameSync(tmpOut, out);
        const td2 = td;
        const meta: CaptureMeta = {
          packetsRequested: packets,
          queries,
          captured: stats.captured,
          droppedByKernel: stats.droppedByKernel,
          receivedByFilter: stats.receivedByFilter,
          queriesSent: perf.sent,
          queriesCompleted: perf.completed,
          queriesLost: perf.lost,
          rate,
          attempts: attempt,
          seconds: Math.round((Date.now() - t0) / 100) / 10,
          bytes: fs.statSync(out).size,
          linktype: td2.linktype,
          created: new Date().toISOString(),
        };
        fs.writeFileSync(`${out}.meta.json`, JSON.stringify(meta, null, 2) + "\n");
        log(
          `make-capture: wrote ${out}: ${meta.captured} packets (${(meta.bytes / 1e6).toFixed(1)} MB, link type ${meta.linktype}), ` +
            `0 dropped, ${meta.queriesLost} queries unanswered, ${meta.seconds} s in all`,
        );
        return { out, reused: false, meta };
      }
      rate = Math.max(1000, Math.floor(rate / 2));
      log(`make-capture: not clean, retrying at ${rate} qps`);
    }
  } finally {
    fs.rmSync(tmpOut, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

function usage(): never {
  console.error("usage: node dist/bench/make-capture.js OUT.pcap [--packets N] [--rate QPS] [--force]");
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let out: string | undefined;
  let packets: number | undefined;
  let rate: number | undefined;
  let force = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) usage();
      return v;
    };
    if (a === "--packets") packets = num();
    else if (a === "--rate") rate = num();
    else if (a === "--force") force = true;
    else if (a.startsWith("-") || out !== undefined) usage();
    else out = a;
  }
  if (!out) usage();
  await makeCapture({ out, packets, rate, force });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
