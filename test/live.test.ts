// `netsig run`: live capture on lo with libpcap (cap), as root; and the
// one-line errors when capture cannot start.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dig, startDnsmasq } from "./lab/dnslab";
import { CLI } from "./lib/run";

const isRoot = process.getuid?.() === 0;
const noRootSkip = !isRoot && !process.env.CI ? "live capture needs root" : false;

function collect(child: ReturnType<typeof spawn>): { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => { out += d.toString(); });
  child.stderr!.on("data", (d: Buffer) => { err += d.toString(); });
  return { out: () => out, err: () => err };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("run captures DNS on lo live and prints Tracee events; SIGINT ends it with a summary", { skip: noRootSkip, timeout: 60_000 }, async () => {
  const server = await startDnsmasq();
  const child = spawn(process.execPath, [CLI, "run", "--iface", "lo", "--bpf", "port 53", "--events", "net_packet_dns_request,net_packet_dns_response"]);
  const io = collect(child);
  try {
    await waitFor(() => io.err().includes("capturing on lo"), 10_000);
    await dig(["uol.com.br", "MX"]);
    await dig(["txt.netsig.test", "TXT"]);
    await waitFor(() => io.out().split("\n").filter(Boolean).length >= 4, 10_000);
  } finally {
    child.kill("SIGINT");
    await new Promise((r) => child.once("close", r));
    await server.stop();
  }
  const events = io.out().trim().split("\n").map((l) => JSON.parse(l));
  const req = events.filter((e) => e.eventName === "net_packet_dns_request");
  const resp = events.filter((e) => e.eventName === "net_packet_dns_response");
  assert.equal(req.length, 2);
  assert.equal(resp.length, 2);
  assert.deepEqual(req[0].args[1].value, [{ query: "uol.com.br", query_type: "MX", query_class: "IN" }]);
  assert.equal(resp[0].args[1].value[0].dns_answer[0].answer, "mx.uol.com.br");
  assert.equal(req[0].args[0].value.iface, "lo");
  // live timestamps are the wall clock, in nanoseconds
  assert.ok(Math.abs(req[0].timestamp / 1e6 - Date.now()) < 60_000);
  assert.match(io.err(), /netsig: lo: \d+ packets read/);
});

test("run: unknown interface, bad BPF filter: one line, exit 2", { skip: noRootSkip }, () => {
  const a = spawnSync(process.execPath, [CLI, "run", "--iface", "no-such-if0"], { encoding: "utf8" });
  assert.equal(a.status, 2);
  assert.match(a.stderr, /^netsig: error: no interface "no-such-if0"; interfaces: .*lo/);
  assert.equal(a.stderr.trim().split("\n").length, 1);
  const b = spawnSync(process.execPath, [CLI, "run", "--iface", "lo", "--bpf", "port port"], { encoding: "utf8" });
  assert.equal(b.status, 2);
  assert.match(b.stderr, /^netsig: error: bad --bpf filter "port port"/);
});

test("run without libpcap/cap says what to install, in one line; replay still works", () => {
  // simulate a machine where the optional cap addon could not be built
  const preload = join(tmpdir(), `netsig-nocap-${process.pid}.js`);
  writeFileSync(preload, `const M = require("module"); const load = M._load;
M._load = function (req, ...rest) { if (req === "cap") throw new Error("Cannot find module 'cap'"); return load.call(this, req, ...rest); };`);
  const r = spawnSync(process.execPath, ["--require", preload, CLI, "run", "--iface", "lo"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^netsig: error: live capture needs libpcap and the cap package: apt-get install libpcap-dev, then npm rebuild cap/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  const ok = spawnSync(process.execPath, ["--require", preload, CLI, "replay", join(__dirname, "..", "..", "examples", "dns-lo.pcap"), "--quiet"], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(ok.stdout.split("\n").length > 100);
});

test("run without root: a one-line error that says how to get the capability", { skip: isRoot && spawnSync("id", ["-u", "nobody"]).status !== 0 ? "no nobody user" : false }, () => {
  if (!isRoot) {
    const r = spawnSync(process.execPath, [CLI, "run", "--iface", "lo"], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs root or CAP_NET_RAW/);
    return;
  }
  // as root: drop to nobody for the child
  const r = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", process.execPath, CLI, "run", "--iface", "lo"], { encoding: "utf8" });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^netsig: error: capturing on lo needs root or CAP_NET_RAW\+CAP_NET_ADMIN/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});
