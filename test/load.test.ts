// Load: a 200k-packet burst replayed onto lo at top speed (tcpreplay) while
// `netsig run` with the shipped signatures (the sandbox path) and
// `tcpdump -w` capture it with the same filter. netsig must not crash, must
// account for every packet (captured or counted as dropped by the kernel,
// as tcpdump does), and its memory must stay bounded.
//
// The filter is "inbound and udp port 5355 and net 127.77.0.0/16": only the burst
// (tools/lib/burst.ts), and only lo's incoming copy of each frame. Without
// "inbound" the kernel queues each replayed frame twice (outgoing and
// incoming copies; libpcap discards the outgoing one) and counts a drop per
// copy, and a busy reader can free ring space between the two copies, so
// captured + dropped/2 is only close to the number sent (measured: 306 short
// of 200000). With "inbound" the outgoing copy never reaches the ring and the
// sum is exact.
//
// One libpcap detail: after setting a filter libpcap filters the first ring
// frame again in user space, where "inbound" (an ancillary load of the
// packet type) cannot be evaluated, so that one packet is rejected (measured
// with tcpdump and netsig alike: 199999 of 200000 without a warm-up). A
// one-frame warm-up takes that slot before the burst; whether it was kept is
// read from tcpdump's file, so the expected count stays exact either way.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startTcpdump, type TcpdumpHandle } from "../tools/lab/dnslab";
import { BURST_DOMAINS, BURST_NET, BURST_PORT, burstFrames, writeBurst } from "../tools/lib/burst";
import { CLI } from "./lib/run";

const BURST = 200_000;
const RSS_LIMIT_MB = 600;
const FILTER = `inbound and udp port ${BURST_PORT} and net ${BURST_NET}`;
const WARMUP_PORT = 9;

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const skip =
  process.getuid?.() !== 0
    ? "the load test captures on lo: it needs root"
    : !has("tcpreplay")
      ? "the load test needs tcpreplay (apt-get install tcpreplay)"
      : !has("tcpdump")
        ? "the load test needs tcpdump (apt-get install tcpdump)"
        : false;

const children: ChildProcess[] = [];
let tcpdump: TcpdumpHandle | undefined;
let tmp = "";

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await tcpdump?.stop({ settleMs: 0 }).catch(() => undefined);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process (all its threads), in clock ticks */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

function tcpreplay(file: string, extra: string[] = []): { sent: number; pps: number; out: string } {
  const r = spawnSync("tcpreplay", ["-i", "lo", ...extra, file], { encoding: "utf8" });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  const sent = /Successful packets:\s+(\d+)/.exec(out);
  const pps = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out);
  assert.ok(sent, out);
  return { sent: Number(sent[1]), pps: pps ? Number(pps[1]) : NaN, out };
}

test(`load: a ${BURST / 1000}k-packet burst on lo at top speed; netsig run with the shipped signatures accounts for every packet as tcpdump does, RSS < ${RSS_LIMIT_MB} MB`, {
  skip,
  timeout: 90_000,
}, async (t) => {
  tmp = mkdtempSync(join(tmpdir(), "netsig-load-"));
  const burstFile = writeBurst(join(tmp, "burst.pcap"), burstFrames(BURST));
  const warmFile = writeBurst(join(tmp, "warm.pcap"), burstFrames(1, { srcPort: WARMUP_PORT }).slice(0, 1));

  tcpdump = await startTcpdump("lo", join(tmp, "tcpdump.pcap"), FILTER, { immediate: true, packetBuffered: false, bufferKiB: 64 * 1024 });
  const child = spawn(
    process.execPath,
    [CLI, "run", "--iface", "lo", "--bpf", FILTER, "--signatures", join(__dirname, "..", "..", "signatures")],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.once("close", (code, signal) => r({ code, signal })),
  );
  const pid = child.pid!;

  const t0 = Date.now();
  while (!err.includes("capturing on lo")) {
    assert.equal(child.exitCode, null, `netsig exited at start:\n${err}`);
    assert.ok(Date.now() - t0 < 20_000, `netsig did not start:\n${err}`);
    await sleep(50);
  }
  let maxRss = rssMb(pid);
  const sampler = setInterval(() => {
    try {
      maxRss = Math.max(maxRss, rssMb(pid));
    } catch {
      /* exited */
    }
  }, 200);
  try {
    tcpreplay(warmFile);
    await sleep(500);
    const replay = tcpreplay(burstFile, ["--topspeed"]);
    assert.equal(replay.sent, BURST, replay.out);
    // the kernel's ring holds what netsig has not read yet: wait until netsig
    // is idle (at most 4% of a core over half a second) before stopping it
    const t1 = Date.now();
    let last = cpuTicks(pid);
    await sleep(1500);
    for (;;) {
      await sleep(500);
      const now = cpuTicks(pid);
      if (now - last <= 2) break;
      last = now;
      assert.ok(Date.now() - t1 < 45_000, "netsig still busy 45 s after the burst");
    }
    assert.equal(child.exitCode, null, `netsig exited during the burst:\n${err}`);
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      exited,
      new Promise<null>((r) => {
        timer = setTimeout(() => r(null), 30_000);
      }),
    ]);
    clearTimeout(timer);
    assert.ok(end, `netsig did not exit within 30 s of SIGTERM:\n${err}`);
    assert.deepEqual(end, { code: 0, signal: null }, err);
    const td = await tcpdump.stop({ settleMs: 300 });

    assert.doesNotMatch(err, /internal error|\n\s+at /, "no crash, no stack trace");
    const cap = /netsig: lo: (\d+) packets captured, (\d+) dropped by the kernel/.exec(err);
    assert.ok(cap, `the summary has the capture counts:\n${err}`);
    const captured = Number(cap[1]);
    const dropped = Number(cap[2]);
    const read = /netsig: lo: (\d+) packets read, (\d+) decoded, (\d+) malformed/.exec(err);
    assert.ok(read, err);
    assert.equal(Number(read[1]), captured, "every captured packet was decoded");
    assert.equal(Number(read[3]), 0, "no packet of the burst is malformed");
    const sigs = /netsig: signatures: (\d+) findings, (\d+) signature errors(?:, (\d+) packets not checked)?/.exec(err);
    assert.ok(sigs, err);

    const first = spawnSync("tcpdump", ["-nn", "-r", tcpdump.file, "-c", "1"], { encoding: "utf8" }).stdout;
    const warmKept = first.includes(`127.77.1.1.${WARMUP_PORT} >`) ? 1 : 0;
    const expected = BURST + warmKept;
    t.diagnostic(
      `tcpreplay: ${replay.sent} packets at ${Math.round(replay.pps)} packets/s (warm-up frame ${warmKept ? "kept" : "rejected by libpcap's user-space filter"})`,
    );
    t.diagnostic(`tcpdump: ${td.captured} captured, ${td.droppedByKernel} dropped by the kernel`);
    t.diagnostic(
      `netsig: ${captured} captured, ${dropped} dropped by the kernel; ${sigs[1]} findings, ${sigs[2]} signature errors, ${sigs[3] ?? 0} packets not checked; max RSS ${maxRss.toFixed(0)} MB`,
    );

    assert.equal(td.captured + td.droppedByKernel, expected, `tcpdump: ${td.captured} captured + ${td.droppedByKernel} dropped`);
    assert.equal(
      captured + dropped,
      td.captured + td.droppedByKernel,
      `netsig: ${captured} captured + ${dropped} dropped = what tcpdump saw (${td.captured} + ${td.droppedByKernel})`,
    );
    assert.ok(captured > 0);
    assert.equal(Number(sigs[2]), 0, "no signature error");
    // dns-tunnel fires once per burst domain (a long hex label every 64th query)
    const findings = out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.equal(findings.length, Number(sigs[1]));
    assert.ok(findings.length >= 1 && findings.length <= BURST_DOMAINS.length, `${findings.length} findings`);
    for (const f of findings) assert.equal(f.metadata.Properties.signatureID, "NETSIG-DNS-TUNNEL");
    assert.ok(maxRss > 0 && maxRss < RSS_LIMIT_MB, `max RSS ${maxRss.toFixed(0)} MB`);
  } finally {
    clearInterval(sampler);
  }
});
