// For signature authors: `netsig signatures new` scaffolds a signature that
// type-checks against the API (tsc, through the scaffolded tsconfig) and runs;
// `signatures list` shows what loads; `signatures test` runs one file on a
// capture and reports its errors with file:line; and the package exports
// "netsig" and "netsig/helpers" for editors and Node alike.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { netsig } from "./lib/run";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "dns-lo.pcap");
const TSC = join(ROOT, "node_modules", ".bin", "tsc");

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "netsig-author-"));
}

function tsc(project: string) {
  return spawnSync(TSC, ["-p", project], { encoding: "utf8" });
}

test("signatures new: a scaffold that type-checks, loads, lists and finds the example's netsig.test queries", () => {
  const dir = tmp();
  try {
    const r = netsig(["signatures", "new", "dns-watch", "--dir", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*dns-watch\.ts/);
    assert.match(r.stdout, /wrote .*tsconfig\.json/);
    // the editor's view: tsc resolves "netsig" and "netsig/helpers" and finds no error
    const ok = tsc(join(dir, "tsconfig.json"));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    // and it really checks: a wrong field of the API is an error
    const file = join(dir, "dns-watch.ts");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace("q.query_type", "q.queryType"));
    const bad = tsc(join(dir, "tsconfig.json"));
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout + bad.stderr, /queryType/);
    writeFileSync(file, good);

    const list = netsig(["signatures", "list", "--signatures", dir, "--output", "json"]);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(rows, [{ id: "DNS-WATCH", name: "dns-watch", version: "0.1.0", events: "net_packet_dns_request", file }]);

    const t = netsig(["signatures", "test", file, "--pcap", EXAMPLE]);
    assert.equal(t.code, 0, t.stderr);
    const found = t.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // the example asks 4 netsig.test names, over UDP and TCP, to 127.0.0.1 and ::1
    assert.equal(found.length, 16, t.stdout);
    const data = (f: { args: { name: string; value: unknown }[] }) => Object.fromEntries(f.args.map((a) => [a.name, a.value]));
    assert.deepEqual(
      new Set(found.map((f) => data(f).query)),
      new Set(["netsig.test", "_sip._tcp.netsig.test", "alias.netsig.test", "nope.netsig.test"]),
    );
    assert.deepEqual(new Set(found.map((f) => data(f).client)), new Set(["127.0.0.1", "::1"]));
    assert.ok(found.every((f) => f.eventName === "DNS-WATCH" && f.metadata.Properties.Severity === 1));
    assert.match(t.stderr, /dns-watch\.ts: 16 findings, 0 errors/);
    // as a table: the finding's name, the triggering packet's addresses, the data
    const table = netsig(["signatures", "test", file, "--pcap", EXAMPLE, "--output", "table", "--quiet"]);
    assert.match(table.stdout, /^\S+Z DNS-WATCH\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:53\s+dns-watch: \{"query":"netsig\.test","type":"AAAA"/m);

    // it will not overwrite
    const again = netsig(["signatures", "new", "dns-watch", "--dir", dir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^netsig: error: .*dns-watch\.ts exists already/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("signatures test: a load problem or a runtime error is reported with file:line, exit 1, no stack trace", () => {
  const dir = tmp();
  try {
    const broken = join(dir, "broken.ts");
    writeFileSync(broken, "export default class {\n  getMetadata() {\n    return {{;\n  }\n}\n");
    const b = netsig(["signatures", "test", broken, "--pcap", EXAMPLE]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /broken\.ts:3:\d+: syntax error/);
    assert.match(b.stderr, /broken\.ts: not loaded/);

    const throws = join(dir, "throws.ts");
    writeFileSync(
      throws,
      `import type { NetEvent } from "netsig";
import { getProtoDNS } from "netsig/helpers";
export default class T {
  getMetadata() { return { id: "T", version: "1", name: "t", description: "reads a DNS arg of the wrong event" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init() {}
  onEvent(e: NetEvent) {
    getProtoDNS(e);
  }
  onSignal() {}
  close() {}
}
`,
    );
    const t = netsig(["signatures", "test", throws, "--pcap", EXAMPLE]);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /signature T \(.*throws\.ts:7\) onEvent threw: event net_packet_dns_request has no arg "proto_dns"/);
    assert.match(t.stderr, /throws\.ts: 0 findings, 40 errors/);
    assert.doesNotMatch(t.stderr + b.stderr, /\n\s+at |internal error/);

    const usage = netsig(["signatures", "test", throws]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /needs --pcap CAPTURE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** a signature whose onEvent runs `body` on every DNS request */
function hostile(id: string, body: string): string {
  return `import type { NetEvent } from "netsig";
export default class H {
  getMetadata() { return { id: "${id}", version: "1", name: "${id.toLowerCase()}", description: "hostile" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init() {}
  onEvent(_e: NetEvent) { ${body} }
  onSignal() {}
  close() {}
}
`;
}

test("signatures test fails (exit 1, one line naming the file) on a signature that never finishes, throws or does not load; a good one passes, alone or in a folder", () => {
  const dir = tmp();
  try {
    const good = join(dir, "good");
    const made = netsig(["signatures", "new", "watch", "--dir", good]);
    assert.equal(made.code, 0, made.stderr);

    // an endless loop is quarantined by the watchdog: that is a failure, not "0 findings, 0 errors"
    const loop = join(dir, "loop.ts");
    writeFileSync(loop, hostile("LOOP", "for (;;) {}"));
    const l = netsig(["signatures", "test", loop, "--pcap", EXAMPLE]);
    assert.equal(l.code, 1, l.stderr);
    assert.match(
      l.stderr,
      /^netsig: loop\.ts: 0 findings, 0 errors; FAILED: LOOP quarantined \(it hung or stopped the sandbox; see above\)$/m,
    );
    assert.match(l.stderr, /signature LOOP \(.*loop\.ts\) quarantined: it ran longer than/);
    // said even with --quiet (it is the result)
    const lq = netsig(["signatures", "test", loop, "--pcap", EXAMPLE, "--quiet"]);
    assert.equal(lq.code, 1);
    assert.match(lq.stderr, /loop\.ts: .*FAILED/);

    const throws = join(dir, "throws.ts");
    writeFileSync(throws, hostile("THROWS", 'throw new Error("boom");'));
    const t = netsig(["signatures", "test", throws, "--pcap", EXAMPLE]);
    assert.equal(t.code, 1, t.stderr);
    assert.match(t.stderr, /^netsig: throws\.ts: 0 findings, \d+ errors; FAILED: it threw \(see above\)$/m);

    const syntax = join(dir, "syntax.ts");
    writeFileSync(syntax, hostile("SYNTAX", "for (;;) {"));
    const sx = netsig(["signatures", "test", syntax, "--pcap", EXAMPLE]);
    assert.equal(sx.code, 1, sx.stderr);
    assert.match(sx.stderr, /^netsig: syntax\.ts: not loaded \(see above\); FAILED$/m);

    // a folder: the good file passes, the loop fails the run and is the one named
    const mixed = join(dir, "mixed");
    const mk = netsig(["signatures", "new", "watch", "--dir", mixed]);
    assert.equal(mk.code, 0, mk.stderr);
    writeFileSync(join(mixed, "loop.ts"), hostile("LOOP", "for (;;) {}"));
    const m = netsig(["signatures", "test", mixed, "--pcap", EXAMPLE, "--quiet"]);
    assert.equal(m.code, 1, m.stderr);
    assert.match(m.stderr, /loop\.ts: 0 findings, 0 errors; FAILED: LOOP quarantined/);
    assert.doesNotMatch(m.stderr, /watch\.ts/);
    assert.equal(m.stdout.trim().split("\n").length, 16);

    // the good one still passes, as a file and as a folder (the tsconfig.json beside it is not a signature)
    for (const target of [join(good, "watch.ts"), good]) {
      const g = netsig(["signatures", "test", target, "--pcap", EXAMPLE]);
      assert.equal(g.code, 0, g.stderr);
      assert.match(g.stderr, /watch\.ts: 16 findings, 0 errors\n/);
      assert.doesNotMatch(g.stderr, /FAILED/);
    }
    assert.doesNotMatch(l.stderr + t.stderr + sx.stderr + m.stderr, /\n\s+at |internal error/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("signatures new --dir creates the folder (and its parents) when it does not exist", () => {
  const dir = tmp();
  try {
    const target = join(dir, "a", "b", "sigs");
    const r = netsig(["signatures", "new", "beacon", "--dir", target]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(target, "beacon.ts"), "utf8"), /export default class Beacon implements Signature/);
    assert.ok(existsSync(join(target, "tsconfig.json")));
    // a path that cannot be a folder: one line, no stack trace
    writeFileSync(join(dir, "file"), "");
    const bad = netsig(["signatures", "new", "beacon", "--dir", join(dir, "file", "sub")]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^netsig: error: .*file\/sub: cannot create the folder \(ENOTDIR\); choose another --dir\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("signatures list: the shipped folder loads without problems; a broken file makes it exit 1 and is named", () => {
  const shipped = netsig(["signatures", "list", "--output", "json"]);
  assert.equal(shipped.code, 0, shipped.stderr);
  const rows = shipped.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(
    rows.some((r) => r.id === "NETSIG-DNS-TUNNEL" && r.events === "net_packet_dns_request" && r.file.endsWith("signatures/dns-tunnel.ts")),
    shipped.stdout,
  );
  // the shipped folder is production detections; Tracee's e2e ports are examples, listed from their folder
  assert.ok(!rows.some((r) => r.id === "DNS" || /e2e-/.test(r.file)), shipped.stdout);
  const ports = netsig(["signatures", "list", "--signatures", join(ROOT, "examples", "tracee-e2e"), "--output", "json"]);
  assert.equal(ports.code, 0, ports.stderr);
  const portRows = ports.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(
    portRows.some(
      (r) =>
        r.id === "DNS" &&
        r.name === "Network DNS Test" &&
        r.events === "net_packet_dns" &&
        r.file.endsWith("examples/tracee-e2e/e2e-dns.ts"),
    ),
    ports.stdout,
  );
  const dir = tmp();
  try {
    writeFileSync(
      join(dir, "half.js"),
      "module.exports = { getMetadata() { return { id: 'H', version: '1', name: 'h', description: '' }; } };\n",
    );
    const r = netsig(["signatures", "list", "--signatures", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /half\.js:\d+:\d+: the signature lacks getSelectedEvents\(\)/);
    assert.match(r.stdout, /^ID\s+NAME\s+VERSION\s+EVENTS\s+FILE\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the package exports netsig and netsig/helpers (with types) for Node and editors", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  assert.equal(pkg.exports["."].types, "./dist/engine/sdk/index.d.ts");
  assert.equal(pkg.exports["./helpers"].types, "./dist/engine/sdk/helpers.d.ts");
  // resolved by package name, as a project that installed netsig would
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `const h = require("netsig/helpers"); console.log(h.isPrivateIP("10.1.2.3"), h.registeredDomain("a.b.example.co.uk"), typeof require("netsig"))`,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "true example.co.uk object");
  // (index.d.ts re-exports the interface from the contracts, types/signature.d.ts, which the package ships too)
  assert.match(readFileSync(join(ROOT, "dist", "engine", "sdk", "index.d.ts"), "utf8"), /\bSignature\b.*from "\.\.\/types\/signature"/s);
  assert.match(readFileSync(join(ROOT, "dist", "engine", "types", "signature.d.ts"), "utf8"), /interface Signature\b/);
  assert.match(readFileSync(join(ROOT, "dist", "engine", "sdk", "helpers.d.ts"), "utf8"), /getProtoDNS/);
  // the shipped signatures and the Tracee e2e examples type-check against the API (npm run build runs this too)
  for (const dir of ["signatures", join("examples", "tracee-e2e")]) {
    const t = tsc(join(ROOT, dir, "tsconfig.json"));
    assert.equal(t.status, 0, dir + ": " + t.stdout + t.stderr);
  }
});
