// The signature engine on real traffic: Tracee's e2eDNS, ported
// (examples/tracee-e2e/e2e-dns.ts), fires once
// when dig's MX, NS, SOA and TXT answers for uol.com.br (served by dnsmasq,
// captured by tcpdump) have been seen; and it keeps firing while a second,
// hostile or broken signature is loaded beside it.

import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import { missingTools, recordDnsSession } from "../tools/lab/dnslab";
import { findings, folder, hostile, runWith as runWithCapture } from "./lib/hostile";
import { netsig, TRACEE_E2E } from "./lib/run";
import { dns, ethernet, ipv4, pcapFile, udp, type PcapPacket } from "../tools/lib/craft";

const missing = missingTools();
const skip = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let all4 = "";
let three = "";

before(
  async () => {
    if (skip) return;
    const q = (t: string) => ["uol.com.br", t];
    all4 = (await recordDnsSession({ queries: [q("MX"), q("NS"), q("SOA"), q("TXT")] })).path;
    three = (await recordDnsSession({ queries: [q("MX"), q("NS"), q("SOA")] })).path;
  },
  { timeout: 120_000 },
);

function runWith(extra: Record<string, string>, capture = all4) {
  return runWithCapture(extra, capture);
}

test("e2eDNS fires exactly once on MX+NS+SOA+TXT, and not on three of the four", { skip }, () => {
  const r = runWith({});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.found.length, 1, r.stdout);
  const f = r.found[0];
  assert.equal(f.eventName, "DNS");
  assert.equal(f.metadata.Properties.signatureID, "DNS");
  assert.equal(f.metadata.Properties.signatureName, "Network DNS Test");
  assert.deepEqual(f.metadata.Tags, ["e2e", "network"]);
  const trig = f.args.find((a: any) => a.name === "triggeredBy").value;
  assert.equal(trig.name, "net_packet_dns");
  assert.equal(trig.id, 2006);
  assert.match(f.metadata.Properties.findingID, /^[0-9a-f]{32}$/);
  // the same run again gives the same finding id (stable for deduplication)
  assert.equal(runWith({}).found[0].metadata.Properties.findingID, f.metadata.Properties.findingID);
  const none = runWith({}, three);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(none.found.length, 0);
});

test("findings and events in order: the finding follows the event that triggered it", { skip }, () => {
  const dir = folder();
  try {
    const r = netsig(["replay", all4, "--signatures", dir, "--events", "net_packet_dns"]);
    const lines = findings(r.stdout);
    assert.equal(lines.length, 9);
    assert.equal(lines[8].eventName, "DNS");
    assert.equal(lines[7].eventName, "net_packet_dns");
    assert.equal(lines[8].timestamp, lines[7].timestamp);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const HOSTILE: [string, Record<string, string>, RegExp][] = [
  [
    "a syntax error",
    { "broken.ts": "export default class {\n  getMetadata() {\n    return {{;\n  }\n}\n" },
    /broken\.ts:3:\d+: syntax error/,
  ],
  [
    "a missing method",
    { "partial.ts": "export default class P {\n  getMetadata() { return { id: 'P', version: '1', name: 'p', description: '' }; }\n}\n" },
    /partial\.ts:\d+:\d+: the signature lacks getSelectedEvents\(\), init\(\), onEvent\(\), onSignal\(\), close\(\)/,
  ],
  [
    "a duplicate id",
    { "zz-dup.ts": hostile("DNS", "none", "") },
    /zz-dup\.ts:2:1: duplicate signature id "DNS" \(already loaded from .*e2e-dns\.ts\)/,
  ],
  [
    "require('child_process')",
    { "cp.ts": `const cp = require("child_process");\n${hostile("CP", "onEvent", "cp.execSync('touch /tmp/netsig-pwned-cp')")}` },
    /cp\.ts:\d+:\d+: signatures can import only "netsig" and "netsig\/helpers", not "child_process"/,
  ],
  [
    "import of fs",
    { "fs.ts": `import { writeFileSync } from "fs";\n${hostile("FS", "onEvent", "writeFileSync('/tmp/netsig-pwned-fs', 'x')")}` },
    /fs\.ts:\d+:\d+: signatures can import only/,
  ],
  [
    "process.exit() in onEvent",
    { "exit.ts": hostile("EXIT", "onEvent", "process.exit(3)") },
    /signature EXIT \(.*exit\.ts:5\) onEvent threw: process is not defined/,
  ],
  [
    "constructor chain to the host Function",
    {
      "ctor.ts": hostile(
        "CTOR",
        "onEvent",
        "const p = this.constructor.constructor('return process')(); p.mainModule.require('fs').writeFileSync('/tmp/netsig-pwned-ctor', 'x')",
      ),
    },
    /signature CTOR .* onEvent threw: .*(EvalError|Code generation|not allowed)/i,
  ],
  [
    "an endless loop in onEvent",
    { "loop.ts": hostile("LOOP", "onEvent", "for (;;) {}") },
    /signature LOOP \(.*loop\.ts\) quarantined: it ran longer than \d+ ms/,
  ],
  [
    "an exception in every method",
    {
      "throw.ts": hostile("THROW", "all", "")
        .replace(/\{ (return|this)/g, "{ if (this.t) throw new Error('x'); $1")
        .replace(/onEvent\(e\) \{ {2}\}/, "onEvent(e) { throw new Error('boom in onEvent'); }")
        .replace(/close\(\) \{ {2}\}/, "close() { throw new Error('boom in close'); }"),
    },
    /signature THROW \(.*throw\.ts:5\) onEvent threw: boom in onEvent/,
  ],
  [
    "a 2 GB allocation",
    { "alloc.ts": hostile("ALLOC", "onEvent", "const a = []; for (let i = 0; i < 16; i++) a.push(new Array(1 << 24).fill(i));") },
    // the heap limit stops it (the worker is replaced); on a loaded machine the 1 s call limit may come first
    /signature ALLOC \(.*alloc\.ts\) quarantined: it (stopped the sandbox|ran longer than \d+ ms)/,
  ],
  [
    "prototype pollution of shared objects",
    { "proto.ts": hostile("PROTO", "onEvent", "Object.prototype.polluted = 1; Array.prototype.includes = () => true;") },
    /signature PROTO .* onEvent threw: Cannot (assign|add property)/,
  ],
];

for (const [what, files, expect] of HOSTILE) {
  test(`a signature with ${what} is reported alone; the host is untouched; e2eDNS still fires`, { skip, timeout: 120_000 }, () => {
    for (const f of readdirSync(tmpdir())) if (f.startsWith("netsig-pwned")) rmSync(join(tmpdir(), f), { force: true });
    const r = runWith(files);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, expect);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    assert.deepEqual(
      r.found.map((f) => f.eventName),
      ["DNS"],
      r.stdout + r.stderr,
    );
    assert.ok(!readdirSync(tmpdir()).some((f) => f.startsWith("netsig-pwned")), "no file written by a signature");
    assert.ok(!existsSync("/tmp/netsig-pwned-cp"));
  });
}

test("as root, the sandbox process runs as an unprivileged user; one that does not exist is a clear error, not a root sandbox", {
  skip: process.getuid?.() !== 0 ? "needs root" : false,
}, async () => {
  const { SignatureEngine } = await import("../engine/detect/engine");
  const { transpileSignature } = await import("../engine/sandbox/loader");
  const file = join(TRACEE_E2E, "e2e-dns.ts");
  await assert.rejects(
    SignatureEngine.start([transpileSignature(file)], { hostName: "h", user: "no-such-netsig-user", log: () => undefined }),
    /the sandbox user "no-such-netsig-user" does not exist/,
  );
  const engine = await SignatureEngine.start([transpileSignature(file)], { hostName: "h", log: () => undefined });
  try {
    const pid = engine.sandboxPid!;
    const { readFileSync } = await import("node:fs");
    assert.match(readFileSync(`/proc/${pid}/status`, "utf8"), /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.equal(engine.signatures.size, 1, "and the signature loaded there");
  } finally {
    await engine.close();
  }
});

test("a sandbox that cannot be restarted: said once, packets counted as not checked, and replay still finishes", {
  skip: process.getuid?.() !== 0 ? "needs root (the sandbox user)" : false,
  timeout: 120_000,
}, async () => {
  const { SignatureEngine } = await import("../engine/detect/engine");
  const { transpileSignature } = await import("../engine/sandbox/loader");
  const { readCapture } = await import("../engine/capture/reader");
  const { EventPipeline } = await import("../engine/events/pipeline");
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "netsig-norestart-"));
  try {
    // fills the sandbox's heap on its first DNS event: the worker dies
    writeFileSync(
      join(dir, "alloc.ts"),
      `export default class A {
  getMetadata() { return { id: "ALLOC", version: "1", name: "alloc", description: "" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns" }]; }
  init() {}
  onEvent() { const a = []; for (;;) a.push(new Array(1 << 20).fill(1)); }
  onSignal() {}
  close() {}
}
`,
    );
    const logs: string[] = [];
    const engine = await SignatureEngine.start([transpileSignature(join(dir, "alloc.ts"))], {
      hostName: "h",
      memoryMb: 64,
      timeoutMs: 60_000,
      log: (l) => logs.push(l),
    });
    // the replacement cannot start: its user is gone
    (engine as unknown as { opts: { user: string } }).opts.user = "no-such-netsig-user";
    const pipeline = new EventPipeline(0, "h", () => undefined);
    pipeline.needDns = true;
    let n = 0;
    pipeline.tap = (p) => {
      engine.push(p, n++);
    };
    const file = join(__dirname, "..", "..", "examples", "dns-lo.pcap");
    await readCapture(file, pipeline.onPacket, {
      chunkSize: 4096,
      between: () => {
        engine.sendPartial();
        return engine.drain();
      },
    });
    await engine.signal({ type: "source_complete" });
    await engine.close();
    assert.equal(
      logs.filter((l) => /could not restart the sandbox: the sandbox user "no-such-netsig-user" does not exist/.test(l)).length,
      1,
      logs.join("\n"),
    );
    assert.ok(engine.failed !== null);
    assert.ok(engine.stats.shed > 0, "packets after the failure are counted as not checked");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("as root, netsig installed where nobody cannot read it (a 0700 home, mktemp -d): signatures run, the sandbox as nobody", {
  skip: process.getuid?.() !== 0 ? "needs root (the sandbox user)" : false,
  timeout: 60_000,
}, async () => {
  const { cpSync, mkdirSync, mkdtempSync, symlinkSync } = await import("node:fs");
  const { spawnSync } = await import("node:child_process");
  const root = join(__dirname, "..", "..");
  const dir = mkdtempSync(join(tmpdir(), "netsig-private-")); // mode 700: only root can go in
  try {
    cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    mkdirSync(join(dir, "sigs"));
    cpSync(join(TRACEE_E2E, "e2e-dns.ts"), join(dir, "sigs", "e2e-dns.ts"));
    const r = spawnSync(
      process.execPath,
      [join(dir, "dist", "engine", "cli", "main.js"), "replay", join(root, "examples", "dns-lo.pcap"), "--signatures", join(dir, "sigs")],
      { encoding: "utf8" },
    );
    // (the sandbox process reads its files as root, then becomes nobody: sandbox/supervisor.ts)
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /signatures: 1 active, 0 skipped; [1-9]\d* findings, 0 signature errors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** replay frames (written as a pcap into the signature folder `dir`) with that folder's signatures; the folder is removed after */
function replayFrames(dir: string, frames: PcapPacket[]): { code: number; stdout: string; stderr: string } {
  try {
    const file = join(dir, "frames.pcap");
    writeFileSync(file, pcapFile(1, frames));
    const r = netsig(["replay", file, "--signatures", dir, "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** a DNS message over UDP in an Ethernet frame */
function udpDns(src: string, dst: string, sport: number, dport: number, msg: Buffer): Buffer {
  return ethernet(ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sport, dstPort: dport }, msg)));
}

test("full batches through the real sandbox: 20000 DNS queries and answers reach a signature, every event once, no sandbox error", () => {
  // (a batch is 8192 packets: two full ones and a partial one, with the
  // numbers, strings and timestamps of busy traffic; the sandbox's limits,
  // e.g. vm2's buffer allocation limit, apply only here)
  const frames: PcapPacket[] = [];
  // TTLs from just below 0xD800 to past 0xFFFF: units that are lone UTF-16
  // surrogates in the batch string, and the three-unit form, cross the pipes whole
  const TTL0 = 0xd7f0;
  for (let i = 0; i < 10000; i++) {
    const name = `host${i}.x${i % 97}.example`;
    const q = dns({ type: "query", id: i & 0xffff, flags: 256, questions: [{ type: "A", name }] });
    const r = dns({
      type: "response",
      id: i & 0xffff,
      flags: 0x8180,
      questions: [{ type: "A", name }],
      answers: [{ type: "A", name, ttl: TTL0 + i * 13, data: `10.${(i >> 8) & 255}.${i & 255}.1` }],
    });
    frames.push({
      tsSec: 1_700_000_000 + Math.floor(i / 1000),
      tsUsec: (i % 1000) * 1000,
      data: udpDns("10.0.0.2", "10.0.0.53", 20000 + (i % 1000), 53, q),
    });
    frames.push({
      tsSec: 1_700_000_000 + Math.floor(i / 1000),
      tsUsec: (i % 1000) * 1000 + 500,
      data: udpDns("10.0.0.53", "10.0.0.2", 53, 20000 + (i % 1000), r),
    });
  }
  const dir = folder({
    "count.ts": `let n = 0, answers = 0, last = -1, order = true, ctx;
export default class Count {
  getMetadata() { return { id: "COUNT", version: "1", name: "count", description: "test" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns" }]; }
  init(c) { ctx = c; }
  onEvent(ev) {
    n++;
    const d = ev.args[4].value;
    if (d.answers.length === 1 && d.answers[0].TTL === ${0xd7f0} + d.ID * 13 && d.answers[0].IP === "10." + ((d.ID >> 8) & 255) + "." + (d.ID & 255) + ".1") answers++;
    if (ev.timestamp < last) order = false;
    last = ev.timestamp;
  }
  onSignal(s) { if (s.type === "source_complete") ctx.callback({ sigMetadata: this.getMetadata(), event: null, data: { n, answers, order } }); }
  close() {}
}
`,
  });
  const r = replayFrames(dir, frames);
  assert.doesNotMatch(r.stderr, /sandbox error|quarantined|not checked/);
  const count = findings(r.stdout).find((f) => f.eventName === "COUNT");
  assert.ok(count, r.stdout.slice(0, 500));
  const data = Object.fromEntries((count.args as { name: string; value: unknown }[]).map((a) => [a.name, a.value]));
  assert.deepEqual({ n: data.n, order: data.order }, { n: 20_000, order: true });
  assert.equal(data.answers, 10000, "every answer's TTL came through");
});

test("a reported event is the one the signature saw: changing it afterwards changes nothing (it is frozen when reported)", () => {
  const frames: PcapPacket[] = [];
  for (let i = 0; i < 3; i++) {
    const q = dns({ type: "query", id: i, flags: 256, questions: [{ type: "A", name: `r${i}.example` }] });
    frames.push({ tsSec: 1_700_000_000 + i, tsUsec: 0, data: udpDns("10.0.0.2", "10.0.0.53", 30000 + i, 53, q) });
  }
  const dir = folder({
    "mutate.ts": `let ctx, refused = 0;
export default class Mutate {
  getMetadata() { return { id: "MUTATE", version: "1", name: "mutate", description: "test" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init(c) { ctx = c; }
  onEvent(ev) {
    ctx.callback({ sigMetadata: this.getMetadata(), event: ev, data: { query: ev.args[1].value[0].query } });
    try { ev.args[1].value[0].query = "changed.example"; } catch { refused++; }
    try { ev.eventName = "changed"; } catch { refused++; }
  }
  onSignal(s) { if (s.type === "source_complete") ctx.callback({ sigMetadata: this.getMetadata(), event: null, data: { refused } }); }
  close() {}
}
`,
  });
  {
    const r = replayFrames(dir, frames);
    const fs = findings(r.stdout).filter((f) => f.eventName === "MUTATE");
    assert.equal(fs.length, 4, r.stdout.slice(0, 400));
    const arg = (f: Record<string, any>, name: string) => (f.args as { name: string; value: any }[]).find((a) => a.name === name)?.value;
    for (let i = 0; i < 3; i++) {
      const trig = arg(fs[i], "triggeredBy");
      assert.equal(trig.name, "net_packet_dns_request");
      assert.equal(trig.args.find((a: { name: string }) => a.name === "dns_questions").value[0].query, `r${i}.example`);
      assert.equal(arg(fs[i], "query"), `r${i}.example`);
    }
    assert.equal(arg(fs[3], "refused"), 6, "both changes to each reported event were refused");
  }
});
