// Files netsig reads from its configuration, under abuse (issue 14): a YAML
// alias bomb, files far too large or endless (/dev/zero, /dev/urandom), a
// header value HTTP forbids, a rule that selects every event and reads DNS
// fields, and config values whose errors must name file:line. Each case runs
// the real CLI in a child process with a heap cap and a deadline, so that a
// regression is a failed assertion here, not a hung or exhausted machine.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CLI } from "./lib/run";
import { RULE_FILE_MAX_BYTES } from "../engine/bounded";
import { YAML_ALIAS_NODES_MAX } from "../engine/rules/compile/parse";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "dns-lo.pcap");
const SIGS = join(ROOT, "signatures");
const tmp = mkdtempSync(join(tmpdir(), "netsig-limits-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** netsig with a 256 MB heap and a deadline; a child that runs out of either is reported, not waited for */
function capped(
  args: string[],
  o: { env?: Record<string, string>; deadlineMs?: number } = {},
): { code: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--max-old-space-size=256", CLI, ...args], {
    encoding: "utf8",
    timeout: o.deadlineMs ?? 30_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 << 20,
    env: o.env ? { ...process.env, ...o.env } : process.env,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

function dir(name: string, files: Record<string, string>): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

/** nine levels of nine aliases: 9^9 values written in a few hundred bytes */
function bomb(indent: string, key = "bomb"): string {
  const names = ["la", "lb", "lc", "ld", "le", "lf", "lg", "lh", "li"];
  let s = `${indent}${names[0]}: &${names[0]} ["x","x","x","x","x","x","x","x","x"]\n`;
  for (let i = 1; i < names.length; i++)
    s += `${indent}${names[i]}: &${names[i]} [${Array(9)
      .fill(`*${names[i - 1]}`)
      .join(",")}]\n`;
  return s + `${indent}${key}: *${names[names.length - 1]}\n`;
}

const RULE = (id: string, events = "[net_packet_dns_request]") => `id: ${id}
name: ${id}
severity: low
events: ${events}
detection:
  sel:
    dns.query|endswith: .com.br
  condition: sel
output: '{dns.src_ip} looked up {dns.query}'
`;

/** a finished child that printed exactly one line on stderr, a netsig error */
function oneLine(r: { code: number | null; signal: string | null; stderr: string }, code = 2): string {
  assert.equal(r.signal, null, `killed by ${r.signal} (deadline or memory): ${r.stderr.slice(0, 300)}`);
  assert.equal(r.code, code, r.stderr.slice(0, 2000));
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr.slice(0, 2000));
  assert.match(lines[0], /^netsig: error: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  return lines[0];
}

test("a YAML alias bomb in a rule file, a list file or --config: refused at its line, in bounded memory", () => {
  const rule = dir("bomb-rule", {
    "bomb.yaml": `id: bomb\nevents: [net_packet_dns_request]\ndetection:\n${bomb("  ")}  condition: bomb\n`,
  });
  const v = capped(["rules", "validate", rule]);
  assert.equal(v.signal, null, `rules validate was killed (${v.signal}): ${v.stderr.slice(0, 300)}`);
  assert.equal(v.code, 1, v.stderr.slice(0, 2000));
  const problems = v.stdout.trim().split("\n");
  assert.equal(problems.length, 1, v.stdout);
  // the alias that crosses the bound: line 10 (*le, whose 66,430 nodes pass 100,000 at its second use)
  assert.match(problems[0], new RegExp(`bomb\\.yaml:\\d+:\\d+: YAML aliases expand past ${YAML_ALIAS_NODES_MAX} nodes in this file`));

  // in a list file, loaded by replay --rules with the shipped pack beside it: the other rules run
  const lists = dir("bomb-list", { "lists.yaml": bomb("").replace(/^bomb: .*\n/m, "") + "list: bombed\nitems: *li\n" });
  const r = capped(["replay", EXAMPLE, "--rules", "@shipped", "--rules", lists]);
  assert.equal(r.signal, null, `replay was killed (${r.signal}): ${r.stderr.slice(0, 300)}`);
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  assert.match(r.stderr, /lists\.yaml:\d+:\d+: YAML aliases expand past/);
  assert.equal(r.stdout.trim().split("\n").length, 3, "the shipped pack's 3 findings on dns-lo.pcap still arrive");

  // --config: a webhook mapping whose header is the bomb
  const cfg = join(dir("bomb-config", {}), "netsig.yaml");
  // (the anchors inside the mapping: its keys are only checked once it is expanded)
  writeFileSync(
    cfg,
    `signatures: [${SIGS}]\nwebhook:\n  - url: http://127.0.0.1:1/hook\n    anchors:\n${bomb("      ").replace(/^ *bomb: .*\n/m, "")}    header: *li\n`,
  );
  const c = oneLine(capped(["replay", EXAMPLE, "--config", cfg]));
  assert.match(c, new RegExp(`netsig\\.yaml:\\d+: not valid YAML: YAML aliases expand past ${YAML_ALIAS_NODES_MAX} nodes`));
});

test("a one-letter YAML anchor works in a rule (&a ... *a)", () => {
  const d = dir("anchor", {
    "a.yaml": `id: anchored\nname: anchored\nseverity: low\nevents: [net_packet_dns_request]\ndetection:\n  sel:\n    dns.query|endswith: &a [.com.br, .uol]\n  again:\n    dns.query|endswith: *a\n  condition: sel and again\noutput: x\n`,
  });
  const v = capped(["rules", "validate", d]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const r = capped(["replay", EXAMPLE, "--rules", d, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().split("\n").length > 0 && r.stdout.includes('"eventName":"anchored"'), r.stdout.slice(0, 300));
});

test("rule and list files past the cap (a 50 MB file, /dev/zero) are refused in one line; the folder's other rules load", () => {
  // 50 MB of real rules: 18 s and 559 MB to validate before the cap
  let big = "";
  for (let i = 0; big.length < 50e6; i++) big += `---\n${RULE(`r${i}`)}`;
  const d = dir("big", { "big.yaml": big, "ok.yaml": RULE("still-here") });
  symlinkSync("/dev/zero", join(d, "zero.yaml"));
  const v = capped(["rules", "validate", d], { deadlineMs: 60_000 });
  assert.equal(v.signal, null, `rules validate was killed (${v.signal}): ${v.stderr.slice(0, 300)}`);
  assert.equal(v.code, 1, v.stderr);
  const lines = v.stdout.trim().split("\n");
  assert.equal(lines.length, 2, v.stdout);
  assert.match(
    lines[0],
    new RegExp(
      `big\\.yaml: file not read: it is 47\\.\\d MiB \\(${big.length} bytes\\), past the 4 MiB limit for a rule or list file; split it`,
    ),
  );
  assert.match(lines[1], /zero\.yaml: file not read: it is larger than 4 MiB, past the 4 MiB limit/);
  assert.match(v.stderr, /1 rules, 0 correlations; 2 problems/);

  // replay with it: the rule beside it runs
  const r = capped(["replay", EXAMPLE, "--rules", d], { deadlineMs: 60_000 });
  assert.equal(r.signal, null, `replay was killed (${r.signal})`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /rule skipped: .*big\.yaml: file not read/);
  assert.ok(r.stdout.includes('"eventName":"still-here"'));
});

test("a signature file that is /dev/zero is skipped in one line; the folder's other signatures run", () => {
  const d = dir("sigs", {});
  copyFileSync(join(SIGS, "dns-rebinding.ts"), join(d, "dns-rebinding.ts"));
  symlinkSync("/dev/zero", join(d, "zero.ts"));
  const r = capped(["replay", EXAMPLE, "--signatures", d]);
  assert.equal(r.signal, null, `replay was killed (${r.signal})`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /signature skipped: \S+zero\.ts: file not read: it is larger than 4 MiB, past the 4 MiB limit for a signature file/,
  );
  assert.match(r.stderr, /signatures: 1 active, 1 skipped; [1-9]\d* findings/);
});

test("a list file just under the cap loads (3.9 MiB of domains)", () => {
  let items = "list: many_domains\nitems:\n";
  for (let i = 0; items.length < RULE_FILE_MAX_BYTES - 100_000; i++) items += `  - .d${i}.example.com\n`;
  const d = dir("biglist", {
    "lists.yaml": items,
    "r.yaml": RULE("listed").replace("dns.query|endswith: .com.br", "dns.query|endswith: '%many_domains'"),
  });
  const v = capped(["rules", "validate", d], { deadlineMs: 60_000 });
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stderr, /2 files: 1 rules/);
});

test("--config, secret, CA and pod-info files past their cap (/dev/zero, /dev/urandom, 2 MiB): one line naming the option and the cap", () => {
  const d = dir("caps", { "big.key": "k".repeat(2 << 20) });
  const hook = [
    "replay",
    EXAMPLE,
    "--signatures",
    SIGS,
    "--webhook",
    "http://127.0.0.1:1/hook",
    "--spool-dir",
    join(d, "spool"),
    "--webhook-wait",
    "0",
  ];
  const cases: [string[], RegExp][] = [
    [
      ["replay", EXAMPLE, "--config", "/dev/zero"],
      /^netsig: error: --config \/dev\/zero: the file is larger than 1 MiB, past the 1 MiB limit for a config file/,
    ],
    [
      [...hook, "--webhook-hmac-key-file", "/dev/urandom"],
      /^netsig: error: --webhook-hmac-key-file \/dev\/urandom: the file is larger than 1 MiB, past the 1 MiB limit for a key, certificate or token file/,
    ],
    [
      [...hook, "--webhook-ca", "/dev/zero"],
      /^netsig: error: --webhook-ca \/dev\/zero: the file is larger than 1 MiB, past the 1 MiB limit/,
    ],
    [
      [...hook, "--webhook-cert", "/dev/zero", "--webhook-key", join(d, "big.key")],
      /^netsig: error: --webhook-cert \/dev\/zero: .*past the 1 MiB limit/,
    ],
    [
      [...hook, "--webhook-token-file", join(d, "big.key")],
      /^netsig: error: --webhook-token-file \S+big\.key: the file is 2 MiB \(2097152 bytes\), past the 1 MiB limit/,
    ],
  ];
  const pod = dir("podinfo", {});
  symlinkSync("/dev/zero", join(pod, "labels"));
  cases.push([
    ["replay", EXAMPLE, "--pod-info", pod, "--quiet"],
    /^netsig: error: --pod-info \S+: \S+labels is larger than 1 MiB, past the 1 MiB limit for a pod-info file/,
  ]);
  for (const [args, re] of cases) assert.match(oneLine(capped(args)), re, args.join(" "));
});

test("a token or header with a control character: one line naming the option (and the config's file:line), never the secret", () => {
  const d = dir("ctl", { token: "abc\x01secretpart\n", "netsig.yaml": "" });
  const hook = [
    "replay",
    EXAMPLE,
    "--signatures",
    SIGS,
    "--webhook",
    "http://127.0.0.1:1/hook",
    "--spool-dir",
    join(d, "spool"),
    "--webhook-wait",
    "0",
  ];
  const t = oneLine(capped([...hook, "--webhook-token-file", join(d, "token")]));
  assert.match(
    t,
    /--webhook-token-file \S+token: the token holds a control character \(U\+0001\) at character 4, which an HTTP header cannot carry/,
  );
  assert.doesNotMatch(t, /secretpart/);
  const e = oneLine(capped([...hook, "--webhook-token-env", "NETSIG_CTL_TOKEN"], { env: { NETSIG_CTL_TOKEN: "x\x7fsecretpart" } }));
  assert.match(e, /--webhook-token-env NETSIG_CTL_TOKEN: the token holds a control character \(U\+007F\)/);
  assert.doesNotMatch(e, /secretpart/);
  const h = oneLine(capped([...hook, "--webhook-header", "X-Tenant: bl\x1bue"]));
  assert.match(h, /--webhook-header "X-Tenant: \.\.\.": the value holds a control character \(U\+001B\) at character 3/);
  const cfg = join(d, "netsig.yaml");
  writeFileSync(
    cfg,
    `signatures: [${SIGS}]\nwebhook-wait: 0\nspool-dir: ${join(d, "spool")}\nwebhook:\n  - url: http://127.0.0.1:1/hook\n    header:\n      - "X-Ok: fine"\n      - "X-Tenant: bl\\x1bue"\n`,
  );
  assert.match(
    oneLine(capped(["replay", EXAMPLE, "--config", cfg])),
    new RegExp(`^netsig: error: ${cfg}:8: --webhook-header "X-Tenant: \\.\\.\\.": the value holds a control character`),
  );
});

test("a rule of every event (events: ['*']) reading dns.query: validate accepts it and replay runs it, DNS fields absent elsewhere", () => {
  const star = dir("star", { "star.yaml": RULE("star-dns", '["*"]') });
  const dns = dir("dnsonly", { "dns.yaml": RULE("star-dns", "[net_packet_dns, net_packet_dns_request, net_packet_dns_response]") });
  const v = capped(["rules", "validate", star]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const r = capped(["replay", EXAMPLE, "--rules", star]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /rules: 1 active, 0 skipped; \d+ findings, 0 signature errors/);
  assert.doesNotMatch(r.stderr, /threw|disabled|quarantined/);
  // exactly the findings of the same rule on the three DNS events
  const want = capped(["replay", EXAMPLE, "--rules", dns]);
  assert.equal(want.code, 0, want.stderr);
  const ids = (out: string) =>
    out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).args[1].value.name as string);
  assert.ok(ids(want.stdout).length > 0);
  assert.deepEqual(ids(r.stdout), ids(want.stdout));
});

test("config value errors name the file and line of the key (top level, in a list, in a webhook mapping)", () => {
  const cfg = join(dir("where", {}), "netsig.yaml");
  const base = `# netsig\nsignatures: [${SIGS}]\n`;
  const cases: [string, string[], RegExp][] = [
    [
      `${base}webhook: http://127.0.0.1:1/hook\nwebhook-wait: "/"\n`,
      [],
      /netsig\.yaml:4: --webhook-wait must be a whole number from 0 to \d+, not "\/"/,
    ],
    [
      `${base}webhook:\n  - http://127.0.0.1:1/a\n  - url: http://127.0.0.1:1/b\n    format: xml\n`,
      [],
      /netsig\.yaml:6: unknown --webhook-format "xml"/,
    ],
    [
      `${base}webhook:\n  - url: http://127.0.0.1:1/b\n    bogus: 1\n`,
      [],
      /netsig\.yaml:5: --webhook http:\/\/127\.0\.0\.1:1\/b: unknown key "bogus"/,
    ],
    [
      `${base}webhook: http://127.0.0.1:1/hook\nmin-severity: 9\n`,
      [],
      /netsig\.yaml:4: --min-severity must be a whole number from 0 to 4, not "9"/,
    ],
    [`${base}webhook-format: ecs\n`, [], /netsig\.yaml:3: --webhook-format needs --webhook/],
    [
      `${base}webhook: http://127.0.0.1:1/hook\nwebhook-token-env: NETSIG_NOT_SET_ANYWHERE\n`,
      [],
      /netsig\.yaml:4: --webhook-token-env: the token environment variable NETSIG_NOT_SET_ANYWHERE is not set or empty/,
    ],
    [
      `${base}webhook: http://127.0.0.1:1/hook\nwebhook-ca: /nonexistent/ca.pem\n`,
      [],
      /netsig\.yaml:4: cannot read --webhook-ca \/nonexistent\/ca\.pem: ENOENT/,
    ],
    [`${base}events: net_packet_dns,net_packet_bogus\n`, [], /netsig\.yaml:3: --events: unknown event "net_packet_bogus"/],
    [`${base}filter:\n  - net_packet_dns.args.src=1.2.3.4\n  - nonsense\n`, [], /netsig\.yaml:5: --filter: bad filter "nonsense"/],
    [`${base}output: xml\n`, [], /netsig\.yaml:3: unknown --output "xml"/],
    [`${base}log-format: xml\n`, [], /netsig\.yaml:3: unknown --log-format "xml"/],
    [`${base}output-file-keep: many\noutput-file: ${join(tmp, "where", "out.jsonl")}\n`, [], /netsig\.yaml:3: --output-file-keep/],
    // the command line's value is not blamed on the file
    [
      `${base}webhook: http://127.0.0.1:1/hook\nwebhook-wait: 3\n`,
      ["--webhook-wait", "x"],
      /^netsig: error: --webhook-wait must be a whole number from 0 to \d+, not "x"$/,
    ],
  ];
  for (const [text, extra, re] of cases) {
    writeFileSync(cfg, text);
    assert.match(oneLine(capped(["replay", EXAMPLE, "--config", cfg, ...extra])), re, text);
  }
});
