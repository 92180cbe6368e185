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
import { dns, ethernet, ipv4, pcapFile, udp } from "../tools/lib/craft";
import { CLI, netsig } from "./lib/run";
import { EVENT_NAMES } from "../engine/types/events";

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
    "bad.yaml":
      "id: bad\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|re: '(x'\n  condition: s\n---\n" +
      WATCH("fine", ".uol.com.br"),
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
    "watch.yaml":
      "id: uses-list\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%uol'\n  condition: s\n---\n" +
      "id: uses-macro\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|contains: .com\n  condition: s and %is_uol\n",
  });
  const file = join(dir, "watch.yaml");
  const alone = netsig(["rules", "validate", file]);
  assert.equal(alone.code, 1);
  assert.deepEqual(
    alone.stdout
      .trim()
      .split("\n")
      .map((l) => l.replace(/^.*watch\.yaml:/, "")),
    [
      `5:26: undefined list "%uol" (if another file defines it, give its file or folder: --lists DIR)`,
      `13:20: condition "s and %is_uol" names macro "%is_uol", which is not defined (if another file defines it, give its file or folder: --lists DIR)`,
    ],
  );
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
  assert.match(
    t0.stderr,
    /rule skipped: .*watch\.yaml:5:26: undefined list "%uol" \(if another file defines it, give its file or folder: --lists DIR\)\n/,
  );
  assert.doesNotMatch(t0.stderr, /define it with/);
  const t1 = netsig(["rules", "test", file, "--pcap", EXAMPLE, "--lists", join(dir, "lists.yaml")]);
  assert.equal(t1.code, 0, t1.stderr);
  assert.match(t1.stderr, /2 rules loaded, 0 skipped; 40 findings \(uses-list: 20, uses-macro: 20\)/);
  // in a folder run, an undefined list keeps the usual advice
  const both = netsig([
    "rules",
    "validate",
    folder({ "w.yaml": "id: w\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%nope'\n  condition: s\n" }),
  ]);
  assert.match(both.stdout, /undefined list "%nope" \(define it with "list: nope" and "items:" in a rules file\)\n/);
});

// ---- every problem of a file at once

/** `rules validate DIR`: its problem lines, each from its file's name on */
function validateLines(dir: string): { code: number; lines: string[]; stderr: string } {
  const r = netsig(["rules", "validate", dir]);
  return {
    code: r.code,
    lines: r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.replace(/^.*?([\w-]+\.ya?ml)/, "$1")),
    stderr: r.stderr,
  };
}

test("rules validate: a bad CIDR and a condition naming a missing selection are both reported, each at its line; replay --rules too", () => {
  const dir = folder({
    "issue.yaml":
      "id: issue\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.dst_ip|cidr: 10.0.0.0/33\n  condition: s and missing\n",
  });
  const r = validateLines(dir);
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    `issue.yaml:5:22: bad CIDR "10.0.0.0/33": expected an IPv4 or IPv6 prefix like 10.0.0.0/8 or fc00::/7 (prefix length 0-32 / 0-128)`,
    `issue.yaml:6:20: condition "s and missing" names "missing", which is not a selection of this detection; selections: s`,
  ]);
  assert.match(r.stderr, /1 files: 0 rules, 0 correlations; 2 problems\n$/);
  // the run: each problem on its line, the rule counted once as skipped
  const run = netsig(["replay", EXAMPLE, "--rules", dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /rule skipped: .*issue\.yaml:5:22: bad CIDR "10\.0\.0\.0\/33"/);
  assert.match(run.stderr, /rule skipped: .*issue\.yaml:6:20: condition "s and missing" names "missing"/);
  assert.match(run.stderr, /rules: 0 active, 1 skipped;/);
});

test("rules validate: the independent problems of every document of a file, schema problems included", () => {
  const docs = [
    // 1-12: an unknown key (the rest is still checked), a bad regex, an unknown field, a bad number, an unknown modifier, an output placeholder
    "id: one\nseverty: 3\nevents: [net_packet_dns_request]\ndetection:\n  a:\n    dns.query|re: '(x'\n    dns.qeury: y\n  b:\n    dns.src_port|gt: [1, many, 3]\n    dns.query|endswidth: z\n  condition: a or b\noutput: 'saw {dns.quary}'\n",
    // 14-21: the schema's problems (the rule is not compiled: its bad regex is not reached)
    "id: two\nevents: [net_packet_foo]\nseverity: 9\nenabled: maybe\ndetection:\n  s: {dns.query|re: '(y'}\n  condition: s\ncolour: red\n",
    // 23-28: a Sigma rule: an unknown field, and two selections the condition names that are not there
    "title: three\nlogsource: {category: dns}\ndetection:\n  sel: {query|contains: x, qname: y}\n  condition: sel and not (filter or other)\nlevel: high\n",
    // 30-37: a correlation: a rule that is not there, a group-by field its rule has not
    "title: four\nid: four\ncorrelation:\n  type: event_count\n  rules: [one-typo, five]\n  group-by: [dns.nope]\n  timespan: 1m\n  condition: {gte: 3}\n",
    // 39-43: a fine rule (the correlation's)
    "id: five\nevents: [net_packet_dns_request]\ndetection:\n  s: {dns.query|endswith: .x}\n  condition: s\n",
  ];
  const r = validateLines(folder({ "many.yaml": docs.join("---\n") }));
  assert.equal(r.code, 1);
  const keys =
    "known keys: id, name, description, version, severity, tags, events, detection, output, fields, suppress, enabled, author, references, falsepositives";
  const fields =
    "the DNS fields: dns.query, dns.record_type, dns.answer, dns.answer_type, dns.src_ip, dns.dst_ip, dns.src_port, dns.dst_port, dns.rcode, dns.parent_domain, dns.qr";
  assert.deepEqual(r.lines, [
    `many.yaml:2:1: unknown key "severty" in a rule (did you mean "severity"?); ${keys}`,
    `many.yaml:6:20: bad regular expression "(x": Unterminated group`,
    `many.yaml:7:5: unknown DNS field "dns.qeury" (did you mean "dns.query"?); ${fields}`,
    `many.yaml:9:26: "gt" compares numbers; "many" is not a number`,
    `many.yaml:10:15: unknown modifier "endswidth" (did you mean "endswith"?) in "dns.query|endswidth"`,
    `many.yaml:12:15: output: unknown DNS field "dns.quary" (did you mean "dns.query"?); ${fields}`,
    `many.yaml:15:10: events.0: "net_packet_foo" is not one of ${EVENT_NAMES.join(", ")}, * (did you mean "net_packet_tcp"?)`,
    `many.yaml:16:11: severity: "9" is not one of informational, info, low, medium, high, critical`,
    `many.yaml:17:10: enabled must be boolean (got "maybe")`,
    `many.yaml:21:1: unknown key "colour" in a rule; ${keys}`,
    `many.yaml:26:28: not supported: field "qname" is not in netsig's dns logsource (its fields: query, record_type, answer, src_ip, dst_ip, src_port, dst_port, rcode, parent_domain)`,
    `many.yaml:27:27: condition "sel and not (filter or other)" names "filter", which is not a selection of this detection; selections: sel`,
    `many.yaml:27:37: condition "sel and not (filter or other)" names "other", which is not a selection of this detection; selections: sel`,
    `many.yaml:34:11: correlation: rule "one-typo" is not loaded (a rule's id or name)`,
    `many.yaml:35:14: group-by of rule "five": unknown DNS field "dns.nope"; ${fields}`,
  ]);
  assert.doesNotMatch(r.lines.join("\n"), /"\(y"/, "a document the schema rejects is not compiled");
  assert.match(r.stderr, /1 files: 1 rules, 0 correlations; 15 problems\n$/);
});

test("rules validate: a condition that does not parse is one problem (no follow-ons), beside the selections' own", () => {
  const r = validateLines(
    folder({
      "cond.yaml":
        "id: cond\nevents: [net_packet_dns_request]\ndetection:\n  a: {dns.query: x}\n  b: {dns.dst_ip|cidr: 300.0.0.0/8}\n  unused: {dns.query: y}\n  condition: a and (b or\n",
    }),
  );
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    `cond.yaml:5:24: bad CIDR "300.0.0.0/8": expected an IPv4 or IPv6 prefix like 10.0.0.0/8 or fc00::/7 (prefix length 0-32 / 0-128)`,
    `cond.yaml:7:25: condition "a and (b or": the condition ends too early: a selection name is missing`,
  ]);
});

test("rules validate: a file with thousands of problems shows the first 50 and how many more", () => {
  const values = Array.from({ length: 2000 }, (_, i) => `      - 10.${i >> 8}.${i & 255}.0/40`).join("\n");
  const dir = folder({
    "flood.yaml": `id: flood\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.dst_ip|cidr:\n${values}\n  condition: s and nothing\n`,
  });
  const r = validateLines(dir);
  assert.equal(r.code, 1);
  assert.equal(r.lines.length, 51, r.lines.slice(-3).join("\n"));
  assert.match(r.lines[0], /^flood\.yaml:6:9: bad CIDR "10\.0\.0\.0\/40"/);
  assert.match(r.lines[49], /^flood\.yaml:55:9: bad CIDR "10\.0\.49\.0\/40"/);
  assert.equal(r.lines[50], "flood.yaml: ... and 1951 more problems in this file (the first 50 are shown)");
  const run = netsig(["replay", EXAMPLE, "--rules", dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr.split("\n").filter((l) => /rule skipped: /.test(l)).length, 51);
  assert.match(run.stderr, /rules: 0 active, 1 skipped;/);
});

test("replay --rules beside --signatures: broken rules are skipped, the rest fire; signatures keep their finding numbers", () => {
  const sigs = join(ROOT, "signatures");
  const rules = folder({
    "watch.yaml":
      WATCH("watch-netsig", ".netsig.test") +
      "---\nid: broken\nevents: [net_packet_dns_request]\ndetection:\n  s: {dns.qeury: x}\n  condition: s\n",
  });
  const alone = netsig(["replay", EXAMPLE, "--signatures", sigs]);
  const both = netsig(["replay", EXAMPLE, "--signatures", sigs, "--rules", rules]);
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stderr, /netsig: rule skipped: .*watch\.yaml:12:7: unknown DNS field "dns\.qeury" \(did you mean "dns\.query"\?\)/);
  assert.match(both.stderr, /signatures: 9 active, 0 skipped; rules: 1 active, 1 skipped; \d+ findings, 0 signature errors/);
  const lines = (s: string) =>
    s
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  const sigLines = lines(both.stdout).filter((f) => f.eventName !== "watch-netsig");
  assert.deepEqual(
    sigLines.map((f) => [f.eventName, f.eventId]),
    lines(alone.stdout).map((f) => [f.eventName, f.eventId]),
  );
  const watch = lines(both.stdout).filter((f) => f.eventName === "watch-netsig");
  assert.equal(watch.length, 12);
  assert.ok(
    watch.every((f) => Number(f.eventId) === 6009),
    "rules are numbered after the (nine) signatures",
  );
  assert.equal(
    watch[0].args.find((a: { name: string }) => a.name === "output").value,
    "watch-netsig saw _sip._tcp.netsig.test",
    "netsig.test itself does not end with .netsig.test",
  );
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
  const rows = shipped.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/)[1]);
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
  // (fires on every query: its first finding says netsig has started and read the folder, however loaded the machine)
  writeFileSync(
    join(dir, "started.yaml"),
    "id: started\nversion: '1'\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '.example'\n  condition: s\noutput: 'started {args.dns_questions[0].query}'\n",
  );
  const file = join(dir, "watch.yaml");
  const rule = (v: number) =>
    `id: watch\nversion: '${v}'\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%watched'\n  condition: s\noutput: 'v${v} {args.dns_questions[0].query}'\n`;
  const capture = pcapFile(
    1,
    Array.from({ length: N }, (_, i) => ({ tsSec: 1700000000 + i, tsUsec: 0, data: queryPacket(i) })),
  );
  const records: Buffer[] = [];
  for (let off = 24, i = 0; i < N; i++) {
    const len = capture.readUInt32LE(off + 8);
    records.push(capture.subarray(off, off + 16 + len));
    off += 16 + len;
  }
  const child = spawn(process.execPath, [CLI, "replay", "-", "--rules", dir, "--quiet"], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on("close", r));
  let sent = 0;
  const feed = (to: number) => {
    while (sent < to) child.stdin.write(records[sent++]);
  };
  const until = async (what: () => string, re: RegExp, why: string) => {
    const t0 = Date.now();
    while (!re.test(what())) {
      if (Date.now() - t0 > 20_000) assert.fail(`${why}: not seen\nstderr: ${stderr}\nstdout: ${stdout.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const outputs = () =>
    stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).args.find((a: { name: string }) => a.name === "output").value as string)
      .filter((o) => !o.startsWith("started "));
  try {
    child.stdin.write(capture.subarray(0, 24));
    feed(10);
    await until(() => stdout, /started q\d+\./, "netsig started");
    writeFileSync(file, rule(1));
    await until(() => stderr, /rule loaded: watch \(.*watch\.yaml\)/, "adding watch.yaml");
    feed(20);
    await until(() => stdout, /v1 q19\.watch-a\.example/, "v1 sees packet 19");
    writeFileSync(file, rule(2));
    await until(() => stderr, /rule reloaded: watch \(.*watch\.yaml\)/, "changing watch.yaml");
    feed(30);
    await until(() => stdout, /v2 q29\.watch-a\.example/, "v2 sees packet 29");
    // (two problems: each is said)
    writeFileSync(file, rule(3).replace("condition: s", "condition: s and (t").replace("{args.dns_questions[0].query}", "{dns.qurey}"));
    await until(
      () => stderr,
      /rule not reloaded: .*watch\.yaml:7:\d+: condition "s and \(t": [^\n]*; the previous version keeps running \(watch\)\n/,
      "breaking watch.yaml",
    );
    await until(
      () => stderr,
      /rule not reloaded: .*watch\.yaml:8:\d+: output: unknown DNS field "dns\.qurey"[^\n]*; the previous version keeps running \(watch\)\n/,
      "breaking watch.yaml twice",
    );
    feed(40);
    await until(() => stdout, /v2 q39\.watch-a\.example/, "v2 still runs");
    // the list is in another file: the rule is compiled again with the new items
    writeFileSync(file, rule(4));
    await until(() => stderr, /rule reloaded: watch/, "fixing watch.yaml");
    writeFileSync(join(dir, "lists.yaml"), "list: watched\nitems: [.watch-b.example]\n");
    await new Promise((r) => setTimeout(r, 100));
    await until(() => stderr, /rule reloaded: watch.*rule reloaded: watch/s, "the list changed");
    feed(50);
    await until(() => stdout, /v4 q48\.watch-b\.example/, "v4 sees watch-b now");
    unlinkSync(file);
    await until(() => stderr, /rule unloaded: watch \(.*watch\.yaml\)/, "deleting watch.yaml");
    feed(N);
    child.stdin.end();
    assert.equal(await exited, 0, stderr);
    const out = outputs();
    const a = (from: number, to: number, v: number) =>
      Array.from({ length: to - from }, (_, k) => from + k)
        .filter((i) => i % 2)
        .map((i) => `v${v} q${i}.watch-a.example`);
    assert.deepEqual(out.slice(0, 15), [...a(10, 20, 1), ...a(20, 40, 2)], "v1 saw 10-19, v2 20-39 (through the broken edit)");
    assert.ok(
      out.slice(15).every((o) => /^v4 /.test(o)),
      out.join("\n"),
    );
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
  const found = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((f) => f.eventName === "watch-netsig");
  assert.equal(found.length, 12, "the rule still fires on every watched query");
  const queries = found.map((f) => f.args.find((a: { name: string }) => a.name === "triggeredBy").value.args[1].value[0].query);
  assert.ok(
    queries.every((q: string) => q.endsWith(".netsig.test")),
    queries.join(" "),
  );
});
