// SIGHUP in `run --config FILE`: the file is read again; the signature
// folders, --quiet-findings and --min-severity change while capturing, other
// changes are named as needing a restart; a broken file is one line and the
// old configuration keeps running. Real capture on lo, real signals.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startReceiver, until } from "./lib/receiver";
import { CLI } from "./lib/run";

const isRoot = process.getuid?.() === 0;

/** a signature with this id firing on every event of this type (DNS: names under hup.netsig.test only) */
const sig = (id: string, event: string, severity: number) => `import type { NetEvent, Signature, SignatureContext } from "netsig";
import { getArg } from "netsig/helpers";
export default class S implements Signature {
  private ctx!: SignatureContext;
  getMetadata() { return { id: "${id}", version: "1", name: "${id}", description: "test", properties: { Severity: ${severity} } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "${event}" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(e: NetEvent) {
    if (e.eventName === "net_packet_dns_request") {
      const q = (getArg(e, "dns_questions")?.value as { query: string }[])[0];
      if (!q.query.endsWith(".hup.netsig.test")) return;
    }
    this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: {} });
  }
  onSignal() {}
  close() {}
}
`;

/**
 * a DNS query to 127.0.0.1 port 5355 (LLMNR, decoded as DNS; no server needed:
 * the query is what is captured). Not port 53: the lab's captures of port 53 on
 * loopback, in tests running meanwhile, would record it too.
 */
function query(name: string): void {
  const send = `const s = require("node:dgram").createSocket("udp4"); const enc = require(${JSON.stringify(require.resolve("dns-packet"))}).encode;
s.send(enc({ type: "query", id: 9, flags: 256, questions: [{ type: "A", class: "IN", name: ${JSON.stringify(name)} }] }), 5355, "127.0.0.1", () => s.close());`;
  const r = spawnSync(process.execPath, ["-e", send]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** two echo requests and their replies, 1328 bytes long (this test's only ICMP) */
function ping(): void {
  const r = spawnSync("ping", ["-q", "-c", "2", "-i", "0.2", "-s", "1300", "127.0.0.1"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

test("SIGHUP: signature folders swapped, quiet-findings and min-severity applied, bpf named as needing a restart; a broken file keeps the old configuration", {
  skip: isRoot ? false : "live capture needs root",
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-reload-"));
  const sigsA = join(dir, "a");
  const sigsB = join(dir, "b");
  mkdirSync(sigsA);
  mkdirSync(sigsB);
  writeFileSync(join(sigsA, "hup-a.ts"), sig("HUP-A", "net_packet_icmp", 1));
  // B selects DNS, which nothing selected before: DNS decoding must come on with it
  writeFileSync(join(sigsB, "hup-b.ts"), sig("HUP-B", "net_packet_dns_request", 3));
  const cfg = join(dir, "netsig.yaml");
  const file = join(dir, "findings.jsonl");
  const rx = await startReceiver();
  const base = (bpf: string, extra: string) => `# netsig run, reloaded by SIGHUP
iface: lo
bpf: "${bpf}"
output-file: ${file}
webhook: http://127.0.0.1:${rx.port}/hook
webhook-batch-age: 50
spool-dir: ${join(dir, "spool")}
${extra}`;
  const BPF = "(icmp and ip[2:2] == 1328) or udp dst port 5355";
  writeFileSync(cfg, base(BPF, `signatures:\n  - ${sigsA}\n`));
  const child = spawn(process.execPath, [CLI, "run", "--config", cfg]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  const count = (id: string, text = out) => text.split("\n").filter((l) => l.includes(`"eventName":"${id}"`)).length;
  const hup = async (n: number) => {
    child.kill("SIGHUP");
    assert.ok(await until(() => (err.match(/netsig: (SIGHUP: reloaded|error: SIGHUP:)/g)?.length ?? 0) >= n, 10_000), err);
  };
  try {
    assert.ok(await until(() => err.includes("capturing on lo"), 15_000), err);
    ping();
    query("one.hup.netsig.test");
    assert.ok(await until(() => count("HUP-A") >= 4, 10_000), out);

    // swap the folders; change the filter too (that needs a restart)
    writeFileSync(cfg, base("icmp", `signatures:\n  - ${sigsB}\n`));
    await hup(1);
    assert.match(err, new RegExp(`netsig: SIGHUP: reloaded ${cfg}: signatures \\+${sigsB} -${sigsA}\n`));
    // (the line after "reloaded": it may come in the next chunk of stderr)
    assert.ok(await until(() => /netsig: SIGHUP: needs restart: bpf \(left unchanged\)\n/.test(err), 5_000), err);
    assert.match(err, /netsig: signature loaded: HUP-B /);
    assert.match(err, /netsig: signature unloaded: HUP-A /);
    ping();
    query("two.hup.netsig.test");
    assert.ok(await until(() => count("HUP-B") >= 1, 10_000), `${out}\n${err}`);

    // broken YAML, then a folder that does not exist: one line each, B keeps running
    writeFileSync(cfg, base(BPF, `signatures: [${sigsB}\nquiet: true\n`));
    await hup(2);
    const broken = join(dir, "missing");
    writeFileSync(cfg, base(BPF, `signatures:\n  - ${broken}\n`));
    await hup(3);
    const errors = err.split("\n").filter((l) => l.includes("error: SIGHUP"));
    assert.equal(errors.length, 2, err);
    assert.match(errors[0], new RegExp(`^netsig: error: SIGHUP: ${cfg}:\\d+: not valid YAML: .*; the running configuration is unchanged$`));
    assert.equal(
      errors[1],
      `netsig: error: SIGHUP: ${cfg}:9: --signatures folder ${broken}: ENOENT; the running configuration is unchanged`,
    );
    query("three.hup.netsig.test");
    assert.ok(await until(() => count("HUP-B") >= 2, 10_000), out);

    // stdout quiet from now on (the file and the webhook still get them); webhook: Severity 4 and up
    writeFileSync(cfg, base(BPF, `signatures:\n  - ${sigsB}\nquiet-findings: true\nmin-severity: 4\n`));
    await hup(4);
    assert.match(err, new RegExp(`netsig: SIGHUP: reloaded ${cfg}: quiet-findings on; min-severity 4\n`));
    query("four.hup.netsig.test");
    assert.ok(await until(() => count("HUP-B", readFileSync(file, "utf8")) >= 3, 10_000), readFileSync(file, "utf8"));
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
    await rx.close();
  }
  try {
    assert.equal(child.exitCode, 0, err);
    assert.equal(count("HUP-A"), 4, "A's findings, before it was unloaded");
    assert.equal(count("HUP-B"), 2, "B's findings until quiet-findings came on");
    const inFile = readFileSync(file, "utf8");
    assert.equal(count("HUP-A", inFile), 4);
    assert.equal(count("HUP-B", inFile), 3, "the file still gets them");
    const posted = rx.reqs.flatMap((q) => JSON.parse(q.body) as { eventName: string }[]).map((f) => f.eventName);
    assert.deepEqual(posted.filter((n) => n === "HUP-B").length, 2, "the webhook: B's (Severity 3) until min-severity 4");
    assert.deepEqual(posted.filter((n) => n === "HUP-A").length, 4);
    assert.match(
      err,
      /webhook http:\/\/127\.0\.0\.1:\d+\/hook: 6 findings sent in \d+ requests, 0 retried, 0 rejected, 0 dropped \(spool full\), 1 below --min-severity/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
