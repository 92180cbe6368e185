// YAML rules through the CLI and the sandbox: `rules validate` (exit codes,
// one line per problem), `replay --rules` beside signatures (a broken rule
// is skipped, the rest run; the signatures' finding numbers do not move),
// `--config`, and hot reload of a rules folder during a paced replay (add,
// change, break, a list changed in another file, delete).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dns, ethernet, ipv4, pcapFile, udp } from "./lib/craft";
import { CLI, netsig } from "./lib/run";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "dns-lo.pcap");
const work = mkdtempSync(join(tmpdir(), "netsig-rules-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

function folder(files: Record<string, string>): string {
  const d = mkdtempSync(join(work, "r-"));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(d, n), t);
  return d;
}

const WATCH = (id: string, domain: string) =>
  `id: ${id}\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: ${domain}\n  condition: s\noutput: '${id} saw {dns.query}'\n`;

test("rules validate: the shipped pack is clean (exit 0); a broken folder gives one line per problem (exit 1)", () => {
  const ok = netsig(["rules", "validate"]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.equal(ok.stdout, "");
  assert.match(ok.stderr, /^netsig: 15 files: 12 rules, 4 correlations; 0 problems\n$/);
  const dir = folder({
    "good.yaml": WATCH("good", ".netsig.test"),
    "bad.yaml": "id: bad\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|re: '(x'\n  condition: s\n---\n" + WATCH("fine", ".uol.com.br"),
    "broken.yml": "id: x\n  events: [\n",
    "notes.txt": "not a rule file",
  });
  const r = netsig(["rules", "validate", dir]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0], /bad\.yaml:5:20: bad regular expression "\(x": Unterminated group$/);
  assert.match(lines[1], /broken\.yml:2:\d+: malformed YAML: /);
  assert.match(r.stderr, /3 files: 2 rules, 0 correlations; 2 problems/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at |internal error/);
  assert.equal(netsig(["rules", "validate", join(dir, "good.yaml")]).code, 0, "a single file");
  const usage = netsig(["rules", "validate", join(work, "nope")]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^netsig: error: .*nope: no such file or folder\n$/);
});

test("rules validate and rules test of a file alone: --lists DIR or FILE gives the lists and macros it uses; without it, the line says to give --lists", () => {
  const dir = folder({
    "lists.yaml": "list: uol\nitems: [uol.com.br]\n---\nmacro: is_uol\ndetection:\n  q:\n    dns.query|endswith: '%uol'\n  condition: q\n",
    "watch.yaml": "id: uses-list\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%uol'\n  condition: s\n---\n" +
      "id: uses-macro\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|contains: .com\n  condition: s and %is_uol\n",
  });
  const file = join(dir, "watch.yaml");
  const alone = netsig(["rules", "validate", file]);
  assert.equal(alone.code, 1);
  assert.deepEqual(alone.stdout.trim().split("\n").map((l) => l.replace(/^.*watch\.yaml:/, "")), [
    `5:26: undefined list "%uol" (if another file defines it, give its file or folder: --lists DIR)`,
    `13:20: condition "s and %is_uol" names macro "%is_uol", which is not defined (if another file defines it, give its file or folder: --lists DIR)`,
  ]);
  for (const lists of [dir, join(dir, "lists.yaml")]) {
    const r = netsig(["rules", "validate", file, "--lists", lists]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /2 rules, 0 correlations; 0 problems/);
  }
  // a folder validated with the folder of its lists; a lists folder that is not there
  assert.equal(netsig(["rules", "validate", mkdtempSync(join(work, "empty-")), "--lists", dir]).code, 0);
  const missing = netsig(["rules", "validate", file, "--lists", join(work, "nope")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^netsig: error: --lists .*nope: no such file or folder\n$/);
  // rules test: the same hint without --lists; with it, both rules fire (20 queries for uol.com.br names)
  const t0 = netsig(["rules", "test", file, "--pcap", EXAMPLE]);
  assert.equal(t0.code, 1);
  assert.match(t0.stderr, /rule skipped: .*watch\.yaml:5:26: undefined list "%uol" \(if another file defines it, give its file or folder: --lists DIR\)\n/);
  assert.doesNotMatch(t0.stderr, /define it with/);
  const t1 = netsig(["rules", "test", file, "--pcap", EXAMPLE, "--lists", join(dir, "lists.yaml")]);
  assert.equal(t1.code, 0, t1.stderr);
  assert.match(t1.stderr, /2 rules loaded, 0 skipped; 40 findings \(uses-list: 20, uses-macro: 20\)/);
  // in a folder run, an undefined list keeps the usual advice
  const both = netsig(["rules", "validate", folder({ "w.yaml": "id: w\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%nope'\n  condition: s\n" })]);
  assert.match(both.stdout, /undefined list "%nope" \(define it with "list: nope" and "items:" in a rules file\)\n/);
});

test("replay --rules beside --signatures: broken rules are skipped, the rest fire; signatures keep their finding numbers", () => {
  const sigs = join(ROOT, "signatures");
  const rules = folder({
    "watch.yaml": WATCH("watch-netsig", ".netsig.test") + "---\nid: broken\nevents: [net_packet_dns_request]\ndetection:\n  s: {dns.qeury: x}\n  condition: s\n",
  });
  const alone = netsig(["replay", EXAMPLE, "--signatures", sigs]);
  const both = netsig(["replay", EXAMPLE, "--signatures", sigs, "--rules", rules]);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stderr, /netsig: rule skipped: .*watch\.yaml:12:7: unknown DNS field "dns\.qeury" \(did you mean "dns\.query"\?\)/);
  assert.match(both.stderr, /signatures: 5 active, 0 skipped; rules: 1 active, 1 skipped; \d+ findings, 0 signature errors/);
  const lines = (s: string) => s.trim().split("\n").map((l) => JSON.parse(l));
  const sigLines = lines(both.stdout).filter((f) => f.eventName !== "watch-netsig");
  assert.deepEqual(sigLines.map((f) => [f.eventName, f.eventId]), lines(alone.stdout).map((f) => [f.eventName, f.eventId]));
  const watch = lines(both.stdout).filter((f) => f.eventName === "watch-netsig");
  assert.equal(watch.length, 12);
  assert.ok(watch.every((f) => Number(f.eventId) === 6005), "rules are numbered after the (five) signatures");
  assert.equal(watch[0].args.find((a: { name: string }) => a.name === "output").value, "watch-netsig saw _sip._tcp.netsig.test", "netsig.test itself does not end with .netsig.test");
  // without --rules nothing changes: no rule loads by default
  assert.doesNotMatch(alone.stderr, /rules:/);
});

test("--rules @shipped, and rules: in --config", () => {
  const shipped = netsig(["replay", EXAMPLE, "--rules", "@shipped", "--output", "table"]);
  assert.equal(shipped.code, 0, shipped.stderr);
  assert.match(shipped.stderr, /rules: 16 active, 0 skipped; 3 findings/);
  assert.match(shipped.stderr, /\[info\] dns-public-name-private-answer: 6 findings suppressed/);
  assert.match(shipped.stderr, /\[info\] 6f0b8a1e-5d1c-4e0a-9a55-2c1e0d7b3a03: 3 findings suppressed/);
  // the lab answers its own names with loopback and ULA addresses: exactly what rebinding looks like
  const rows = shipped.stdout.trim().split("\n").map((l) => l.split(/\s+/)[1]);
  // (in event order: the Sigma rule reads net_packet_dns, which comes before the packet's net_packet_dns_response)
  assert.deepEqual(rows, ["netsig_dns_loopback_answer", "dns-public-name-private-answer", "dns-public-name-private-answer"]);
  const cfg = join(work, "netsig.yaml");
  writeFileSync(cfg, `rules:\n  - ${folder({ "w.yaml": WATCH("cfg-watch", "uol.com.br") })}\n`);
  const r = netsig(["replay", EXAMPLE, "--config", cfg]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /rules: 1 active, 0 skipped; 20 findings/);
});

// ---- hot reload

const N = 60;

function queryPacket(i: number): Buffer {
  const name = i % 2 ? `q${i}.watch-a.example` : `q${i}.watch-b.example`;
  const msg = dns({ type: "query", id: i, flags: 0x0100, questions: [{ type: "A", class: "IN", name }] });
  return ethernet(ipv4({ src: "127.0.0.1", dst: "127.0.0.53", protocol: 17 }, udp({ srcPort: 40000 + i, dstPort: 53 }, msg)));
}

test("hot reload of a rules folder: add, change, break, a list changed in another file, delete", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(work, "reload-"));
  writeFileSync(join(dir, "lists.yaml"), "list: watched\nitems: [.watch-a.example]\n");
  const file = join(dir, "watch.yaml");
  const rule = (v: number) => `id: watch\nversion: '${v}'\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%watched'\n  condition: s\noutput: 'v${v} {args.dns_questions[0].query}'\n`;
  const capture = pcapFile(1, Array.from({ length: N }, (_, i) => ({ tsSec: 1700000000 + i, tsUsec: 0, data: queryPacket(i) })));
  const records: Buffer[] = [];
  for (let off = 24, i = 0; i < N; i++) { const len = capture.readUInt32LE(off + 8); records.push(capture.subarray(off, off + 16 + len)); off += 16 + len; }
  const child = spawn(process.execPath, [CLI, "replay", "-", "--rules", dir, "--quiet"], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d: Buffer) => { stdout += d; });
  child.stderr.on("data", (d: Buffer) => { stderr += d; });
  const exited = new Promise<number | null>((r) => child.on("close", r));
  let sent = 0;
  const feed = (to: number) => { while (sent < to) child.stdin.write(records[sent++]); };
  const until = async (what: () => string, re: RegExp, why: string) => {
    const t0 = Date.now();
    while (!re.test(what())) {
      if (Date.now() - t0 > 20_000) assert.fail(`${why}: not seen\nstderr: ${stderr}\nstdout: ${stdout.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const outputs = () => stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).args.find((a: { name: string }) => a.name === "output").value as string);
  try {
    child.stdin.write(capture.subarray(0, 24));
    feed(10);
    await new Promise((r) => setTimeout(r, 1500)); // netsig has started and read the (rule-less) folder
    writeFileSync(file, rule(1));
    await until(() => stderr, /rule loaded: watch \(.*watch\.yaml\)/, "adding watch.yaml");
    feed(20);
    await until(() => stdout, /v1 q19\.watch-a\.example/, "v1 sees packet 19");
    writeFileSync(file, rule(2));
    await until(() => stderr, /rule reloaded: watch \(.*watch\.yaml\)/, "changing watch.yaml");
    feed(30);
    await until(() => stdout, /v2 q29\.watch-a\.example/, "v2 sees packet 29");
    writeFileSync(file, rule(3).replace("condition: s", "condition: s and (t"));
    await until(() => stderr, /rule not reloaded: .*watch\.yaml:7:\d+: condition "s and \(t": [^\n]*; the previous version keeps running \(watch\)\n/, "breaking watch.yaml");
    feed(40);
    await until(() => stdout, /v2 q39\.watch-a\.example/, "v2 still runs");
    // the list is in another file: the rule is compiled again with the new items
    writeFileSync(file, rule(4));
    await until(() => stderr, /rule reloaded: watch/, "fixing watch.yaml");
    writeFileSync(join(dir, "lists.yaml"), "list: watched\nitems: [.watch-b.example]\n");
    await new Promise((r) => setTimeout(r, 100));
    await until(() => stderr, /rule reloaded: watch[^]*rule reloaded: watch/, "the list changed");
    feed(50);
    await until(() => stdout, /v4 q48\.watch-b\.example/, "v4 sees watch-b now");
    unlinkSync(file);
    await until(() => stderr, /rule unloaded: watch \(.*watch\.yaml\)/, "deleting watch.yaml");
    feed(N);
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    const out = outputs();
    const a = (from: number, to: number, v: number) => Array.from({ length: to - from }, (_, k) => from + k).filter((i) => i % 2).map((i) => `v${v} q${i}.watch-a.example`);
    assert.deepEqual(out.slice(0, 15), [...a(10, 20, 1), ...a(20, 40, 2)], "v1 saw 10-19, v2 20-39 (through the broken edit)");
    assert.ok(out.slice(15).every((o) => /^v4 /.test(o)), out.join("\n"));
    assert.ok(out.includes("v4 q48.watch-b.example"));
    assert.ok(!out.some((o) => /q5\d\./.test(o)), "nothing after the delete");
    assert.doesNotMatch(stderr, /\n\s+at |internal error/);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("a signature file beside rules cannot change how they evaluate or what they see", () => {
  const sigs = folder({
    "meddle.js": `module.exports = class Meddle {
  getMetadata() { return { id: "MEDDLE", version: "1", name: "meddle", description: "" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init(ctx) {
    const r = require("netsig/rules");
    const own = r.compileRules({ kind: "rule", meta: { id: "OWN", version: "1", name: "own", description: "" }, ref: "OWN",
      events: ["net_packet_dns_request"], match: { k: "const", v: false }, fields: [], output: null, suppress: null, at: "" });
    const proto = Object.getPrototypeOf(own);
    const tried = [];
    for (const [o, k] of [[proto, "onEvent"], [Object.getPrototypeOf(own.pred), "eval"], [r, "compileRules"]]) {
      try { o[k] = () => undefined; tried.push(o[k] === undefined ? "?" : String(Object.isFrozen(o))); } catch (e) { tried.push("threw"); }
    }
    ctx.logger.info("tried: " + tried.join(","));
  }
  onEvent(e) { try { e.args[1].value[0].query = "evil.example"; } catch (err) { /* frozen */ } }
  onSignal() {}
  close() {}
};
`,
  });
  const rules = folder({ "watch.yaml": WATCH("watch-netsig", ".netsig.test") });
  const r = netsig(["replay", EXAMPLE, "--signatures", sigs, "--rules", rules]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[info\] MEDDLE: tried: (true|threw),(true|threw),(true|threw)/);
  const found = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((f) => f.eventName === "watch-netsig");
  assert.equal(found.length, 12, "the rule still fires on every watched query");
  const queries = found.map((f) => f.args.find((a: { name: string }) => a.name === "triggeredBy").value.args[1].value[0].query);
  assert.ok(queries.every((q: string) => q.endsWith(".netsig.test")), queries.join(" "));
});
