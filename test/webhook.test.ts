// Webhooks end to end: netsig's CLI replays the nDPI synscan capture with a
// test signature that fires on every SYN (1994 findings), and POSTs them to
// real receivers on 127.0.0.1 (HTTP, and HTTPS with mutual TLS, certificates
// made by openssl). Findings are counted by findingID (delivery is at-least-once).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { retryAfterMs } from "../engine/outputs/webhook";
import { makeTestCerts, netsigAsync, startReceiver, until, type Received } from "./lib/receiver";
import { CORPUS, netsig } from "./lib/run";

const CAPTURE = join(CORPUS, "ndpi", "synscan.pcap");
const EVERY_SYN = `export default class EverySyn {
  getMetadata() { return { id: "EVERY-SYN", version: "1", name: "every SYN", description: "a SYN", tags: ["test"], properties: { Severity: 3 } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_tcp" }]; }
  init(ctx) { this.ctx = ctx; }
  onEvent(e) { const t = e.args.find((a) => a.name === "proto_tcp").value; if (t.SYN === 1 && t.ACK === 0) this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { port: t.dstPort } }); }
  onSignal(s) {}
  close() {}
}
`;
const TOKEN = "tok-" + "s3cr3t-value-9f8e";
const HMAC_KEY = "hmac-" + "k3y-value-1a2b";

let tmp = "";
let sigs = "";
let quiet = ""; // a folder whose signature never fires on the capture
/** the findingIDs netsig prints on stdout, in order */
let expected: string[] = [];

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "netsig-webhook-"));
  sigs = join(tmp, "sigs");
  quiet = join(tmp, "quiet");
  execFileSync("mkdir", ["-p", sigs, quiet]);
  writeFileSync(join(sigs, "every-syn.ts"), EVERY_SYN);
  writeFileSync(join(quiet, "never.ts"), EVERY_SYN.replace("EVERY-SYN", "NEVER").replace("t.SYN === 1", "t.SYN === 7"));
  const r = netsig(["replay", CAPTURE, "--signatures", sigs, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  expected = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).metadata.Properties.findingID);
  assert.equal(expected.length, 1994);
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

let spoolN = 0;
function spoolDir(): string {
  return join(tmp, `spool-${spoolN++}`);
}

/** undelivered bytes left in a --spool-dir (every webhook subfolder) */
function spoolLeft(dir: string): number {
  let n = 0;
  for (const sub of readdirSync(dir)) {
    const d = join(dir, sub);
    for (const f of readdirSync(d)) if (f.startsWith("seg-")) n += statSync(join(d, f)).size;
    try {
      const o = JSON.parse(readFileSync(join(d, "offset.json"), "utf8"));
      n -= o.offset;
    } catch {
      /* none */
    }
  }
  return n;
}

function traceeIds(reqs: Received[]): string[] {
  return reqs.flatMap((r) => {
    try {
      return (JSON.parse(r.body) as any[]).map((e) => e.metadata.Properties.findingID);
    } catch {
      return [];
    }
  });
}

function firstSeen(ids: string[]): string[] {
  return [...new Set(ids)];
}

function args(port: number, dir: string, extra: string[] = [], sigDir = sigs): string[] {
  return [
    "replay",
    CAPTURE,
    "--signatures",
    sigDir,
    "--webhook",
    `http://127.0.0.1:${port}/hook`,
    "--spool-dir",
    dir,
    "--quiet-findings",
    ...extra,
  ];
}

test("tracee format: every finding once, in order, in batches; bearer token, custom headers, HMAC over the exact body", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver();
  const dir = spoolDir();
  try {
    const r = await netsigAsync(
      args(rx.port, dir, [
        "--webhook-token-env",
        "WH_TOKEN",
        "--webhook-hmac-key-env",
        "WH_KEY",
        "--webhook-header",
        "X-Tenant: blue",
        "--webhook-header",
        "X-Env:lab",
      ]),
      { WH_TOKEN: TOKEN, WH_KEY: HMAC_KEY },
    ).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "", "--quiet-findings");
    assert.deepEqual(traceeIds(rx.reqs), expected);
    assert.ok(rx.reqs.length >= 20, `batches of at most 100: ${rx.reqs.length} requests`);
    for (const q of rx.reqs) {
      assert.ok(JSON.parse(q.body).length <= 100);
      assert.equal(q.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(q.headers["x-tenant"], "blue");
      assert.equal(q.headers["x-env"], "lab");
      assert.equal(q.headers["content-type"], "application/json");
      assert.equal(q.headers["x-netsig-signature"], "sha256=" + createHmac("sha256", HMAC_KEY).update(q.body).digest("hex"));
      assert.notEqual(q.headers["x-netsig-signature"], "sha256=" + createHmac("sha256", "wrong").update(q.body).digest("hex"));
    }
    assert.match(r.stderr, /1994 findings sent/);
    assert.ok(!r.stderr.includes(TOKEN) && !r.stderr.includes(HMAC_KEY), "no secret in logs");
    assert.doesNotMatch(r.stderr, /delivering again/, "no outage, no recovery line");
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("falcosidekick: one payload per POST with rule, priority, time, output_fields; --min-severity filters", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver((_n, q) => {
    // Falcosidekick's checks: a payload without these is refused
    const p = JSON.parse(q.body);
    return Array.isArray(p) || !p.rule || !p.priority || !p.time || typeof p.output_fields !== "object" ? 400 : 200;
  });
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir, ["--webhook-format", "falcosidekick", "--min-severity", "3"])).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rx.reqs.length, 1994);
    const ids = rx.reqs.map((q) => JSON.parse(q.body).output_fields["netsig.finding_id"]);
    assert.deepEqual(ids, expected);
    const p = JSON.parse(rx.reqs[0].body);
    assert.equal(p.priority, "Error");
    assert.equal(p.rule, "every SYN");
    assert.equal(p.source, "netsig");
    assert.equal(typeof p.hostname, "string");
    assert.match(r.stderr, /0 rejected/);
    // Severity 3 < 4: nothing sent, all counted as filtered
    const rx2 = await startReceiver();
    const r2 = await netsigAsync(args(rx2.port, spoolDir(), ["--webhook-format", "falcosidekick", "--min-severity", "4"])).done;
    await rx2.close();
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(rx2.reqs.length, 0);
    assert.match(r2.stderr, /1994 below --min-severity/);
  } finally {
    await rx.close();
  }
});

test("splunk-hec: Authorization: Splunk <token> from a file, concatenated event objects", { timeout: 30_000 }, async () => {
  const rx = await startReceiver();
  const tokFile = join(tmp, "hec-token");
  writeFileSync(tokFile, TOKEN + "\n");
  try {
    const r = await netsigAsync(
      args(rx.port, spoolDir(), ["--webhook-format", "splunk-hec", "--webhook-token-file", tokFile, "--webhook-batch", "500"]),
    ).done;
    assert.equal(r.code, 0, r.stderr);
    const ids: string[] = [];
    for (const q of rx.reqs) {
      assert.equal(q.headers.authorization, `Splunk ${TOKEN}`);
      const objs = q.body.split("\n").map((l) => JSON.parse(l));
      assert.ok(objs.length <= 500);
      for (const o of objs) {
        // HEC's indexed "fields": the flow's Community ID (a finding on a TCP SYN has one)
        assert.deepEqual(Object.keys(o).sort(), ["event", "fields", "host", "source", "sourcetype", "time"]);
        assert.match(o.fields.community_id, /^1:[A-Za-z0-9+/]{27}=$/);
        ids.push(o.event.metadata.Properties.findingID);
      }
    }
    assert.ok(rx.reqs.length >= 4);
    assert.deepEqual(ids, expected);
  } finally {
    await rx.close();
  }
});

test("ecs: _bulk NDJSON, a create action (_id = findingID) then an ECS document per finding", { timeout: 30_000 }, async () => {
  const rx = await startReceiver();
  try {
    const r = await netsigAsync(args(rx.port, spoolDir(), ["--webhook-format", "ecs"])).done;
    assert.equal(r.code, 0, r.stderr);
    const ids: string[] = [];
    for (const q of rx.reqs) {
      assert.equal(q.headers["content-type"], "application/x-ndjson");
      assert.ok(q.body.endsWith("\n"));
      const lines = q.body
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.equal(lines.length % 2, 0);
      for (let i = 0; i < lines.length; i += 2) {
        ids.push(lines[i].create._id);
        assert.equal(lines[i + 1].event.id, lines[i].create._id);
        assert.equal(lines[i + 1].rule.name, "every SYN");
        assert.equal(lines[i + 1].event.severity, 3);
        assert.equal(lines[i + 1].source.ip, "172.16.0.8");
        assert.equal(typeof lines[i + 1].destination.port, "number");
      }
    }
    assert.deepEqual(ids, expected);
  } finally {
    await rx.close();
  }
});

test("500 twice, then 200: every finding arrives (once each after dedupe), the failed batch is retried", { timeout: 30_000 }, async () => {
  const rx = await startReceiver((n) => (n <= 2 ? 500 : 200));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir)).done;
    assert.equal(r.code, 0, r.stderr);
    const ok = rx.reqs.slice(2);
    assert.deepEqual(traceeIds(ok), expected, "the 2xx requests carry every finding exactly once, in order");
    assert.deepEqual(traceeIds(rx.reqs.slice(0, 1)), traceeIds(rx.reqs.slice(2, 3)), "the batch refused with 500 is sent again");
    assert.match(r.stderr, /HTTP 500; retrying/);
    assert.match(r.stderr, /2 retried/);
    // the failed batch (its 100 findings, and any added while it was retried) was delayed
    assert.match(
      r.stderr,
      /: delivering again after \d+\.\d s of failures \(2 failed request\(s\), the last: HTTP 500\); [1-9]\d{2,3} finding\(s\) were delayed in the spool meanwhile\n/,
    );
    assert.equal(r.stderr.split("delivering again").length, 2, r.stderr);
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("429 with Retry-After: 1 is honoured", { timeout: 30_000 }, async () => {
  const rx = await startReceiver((n) => (n === 1 ? { status: 429, headers: { "Retry-After": "1" } } : 200));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir)).done;
    assert.equal(r.code, 0, r.stderr);
    const gap = rx.reqs[1].at - rx.reqs[0].at;
    assert.ok(gap >= 950 && gap < 5000, `gap ${gap} ms`);
    assert.deepEqual(firstSeen(traceeIds(rx.reqs)), expected);
    assert.deepEqual(traceeIds(rx.reqs.slice(1)), expected, "the 2xx requests carry every finding once, in order");
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("a slow receiver (each answer 250 ms late, within --webhook-timeout): every finding once, in order, nothing retried", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver(() => ({ status: 200, delayMs: 250 }));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir)).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(traceeIds(rx.reqs), expected);
    assert.equal(rx.reqs.length, 20, "one request per batch of 100, none repeated");
    assert.ok(rx.reqs[19].at - rx.reqs[0].at >= 19 * 250, "each request waited for the previous answer");
    assert.match(r.stderr, /1994 findings sent .* 0 retried/);
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("a receiver slower than --webhook-timeout: the request times out and its batch is sent again; in order, the spool ends empty", {
  timeout: 30_000,
}, async () => {
  // the first answer comes after 1.5 s, netsig gives up after 0.5 s
  const rx = await startReceiver((n) => ({ status: 200, delayMs: n === 1 ? 1500 : 0 }));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir, ["--webhook-timeout", "500"])).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no answer within 500 ms; retrying/);
    assert.deepEqual(traceeIds(rx.reqs.slice(0, 1)), expected.slice(0, 100));
    assert.deepEqual(traceeIds(rx.reqs.slice(1)), expected, "after the timeout, every finding once, in order");
    assert.ok(rx.reqs[1].at - rx.reqs[0].at >= 450, "the retry came after the timeout");
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("the connection destroyed while a request is in flight: that batch is sent again; every finding once in the answered requests, in order", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver((n) => (n === 2 ? "destroy" : 200));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir)).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ECONNRESET; retrying/);
    assert.deepEqual(traceeIds([rx.reqs[1]]), expected.slice(100, 200), "the second batch was in flight");
    assert.deepEqual(traceeIds([rx.reqs[2]]), expected.slice(100, 200), "... and is sent again");
    assert.deepEqual(traceeIds([rx.reqs[0], ...rx.reqs.slice(2)]), expected);
    assert.match(r.stderr, /1994 findings sent .* 1 retried/);
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("the receiver killed mid-batch (its connections destroyed, port closed) and back 1 s later: the batch in flight and the rest arrive, in order", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver((n) => (n <= 2 ? 200 : "hang"));
  const port = rx.port;
  const dir = spoolDir();
  const run = netsigAsync(args(port, dir));
  let stderr = "";
  run.child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  assert.ok(await until(() => rx.reqs.length >= 3, 10_000), "a third request is in flight");
  await rx.close();
  // the request in flight fails; retries meet a closed port for a second
  assert.ok(await until(() => /ECONNRESET; retrying/.test(stderr), 10_000), stderr);
  await new Promise((r) => setTimeout(r, 1000));
  const rx2 = await startReceiver(() => 200, { port });
  try {
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rx.reqs.length, 3);
    assert.deepEqual(traceeIds(rx.reqs.slice(2)), expected.slice(200, 300));
    assert.deepEqual(traceeIds(rx2.reqs.slice(0, 1)), expected.slice(200, 300), "the batch in flight goes first to the new receiver");
    assert.deepEqual(
      traceeIds([...rx.reqs.slice(0, 2), ...rx2.reqs]),
      expected,
      "the answered requests carry every finding once, in order",
    );
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx2.close();
  }
});

test("receiver down at the start, then up: everything delivered in order; one line says delivery works again, after how long and what was delayed", {
  timeout: 30_000,
}, async () => {
  const probe = await startReceiver();
  const port = probe.port;
  await probe.close(); // a free port, nobody listening
  const dir = spoolDir();
  const run = netsigAsync(args(port, dir, ["--webhook-batch-age", "100"]));
  let stderr = "";
  run.child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  assert.ok(await until(() => /ECONNREFUSED; retrying/.test(stderr), 10_000), stderr);
  const rx = await startReceiver(() => 200, { port });
  try {
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(traceeIds(rx.reqs), expected);
    assert.equal(spoolLeft(dir), 0);
    const lines = r.stderr.trim().split("\n");
    const back = lines.filter((l) => l.includes("delivering again"));
    assert.equal(back.length, 1, r.stderr);
    const m =
      /^netsig: webhook http:\/\/127\.0\.0\.1:\d+\/hook: delivering again after (\d+\.\d) s of failures \((\d+) failed request\(s\), the last: ECONNREFUSED\); (\d+) finding\(s\) were delayed in the spool meanwhile$/.exec(
        back[0],
      );
    assert.ok(m, back[0]);
    const retries = lines.filter((l) => /ECONNREFUSED; retrying/.test(l));
    assert.ok(Number(m[2]) >= retries.length && retries.length >= 1, r.stderr);
    // at least the first batch (100) waited, at most every finding
    assert.ok(Number(m[3]) >= 100 && Number(m[3]) <= expected.length, back[0]);
    assert.ok(lines.indexOf(back[0]) > lines.lastIndexOf(retries[retries.length - 1]), "after the retries");
  } finally {
    await rx.close();
  }
});

test("killed with SIGKILL mid-delivery: a restart with the same --spool-dir delivers the rest, the spool ends empty", {
  timeout: 30_000,
}, async () => {
  // the receiver takes 3 batches, then never answers
  const rx = await startReceiver((n) => (n <= 3 ? 200 : "hang"));
  const port = rx.port;
  const dir = spoolDir();
  const run = netsigAsync(args(port, dir));
  assert.ok(await until(() => rx.reqs.length >= 4, 10_000));
  await new Promise((r) => setTimeout(r, 1000)); // the replay (0.2 s) has spooled every finding
  run.child.kill("SIGKILL");
  const killed = await run.done;
  assert.equal(killed.signal, "SIGKILL");
  await rx.close();
  const before = traceeIds(rx.reqs.slice(0, 3));
  assert.equal(before.length, 300);
  assert.ok(spoolLeft(dir) > 0, "undelivered findings are in the spool");
  // restarted on the same capture with a signature that finds nothing: what
  // arrives now comes from the spool
  const rx2 = await startReceiver(() => 200, { port });
  try {
    const r = await netsigAsync(args(port, dir, [], quiet)).done;
    assert.equal(r.code, 0, r.stderr);
    const after = traceeIds(rx2.reqs);
    assert.deepEqual(firstSeen([...before, ...after]), expected);
    assert.deepEqual(after.slice(-expected.length + 300), expected.slice(300), "in order");
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx2.close();
  }
});

test("spool bound reached with the receiver down: counted and logged once, no crash, what fits stays spooled", {
  timeout: 30_000,
}, async () => {
  const probe = await startReceiver();
  await probe.close();
  const dir = spoolDir();
  const r = await netsigAsync(args(probe.port, dir, ["--spool-max-bytes", "200000", "--webhook-wait", "1"])).done;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/is full/g)?.length, 1, r.stderr);
  const m = /(\d+) dropped \(spool full\)/.exec(r.stderr);
  assert.ok(m && Number(m[1]) > 1000 && Number(m[1]) < 1994, r.stderr);
  assert.match(r.stderr, /not delivered yet, kept in .* for the next run/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  const left = spoolLeft(dir);
  assert.ok(left > 100_000 && left <= 200_000, String(left));
});

test("mutual TLS: without a client certificate the receiver refuses; with one everything arrives", { timeout: 30_000 }, async () => {
  const d = join(tmp, "tls");
  execFileSync("mkdir", ["-p", d]);
  makeTestCerts(d);
  const f = (n: string) => join(d, n);
  const rx = await startReceiver(() => 200, {
    tls: {
      key: readFileSync(f("server.key")),
      cert: readFileSync(f("server.pem")),
      ca: readFileSync(f("ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    },
  });
  try {
    const url = `https://127.0.0.1:${rx.port}/hook`;
    const base = ["replay", CAPTURE, "--signatures", sigs, "--webhook", url, "--quiet-findings", "--webhook-ca", f("ca.pem")];
    const no = await netsigAsync([...base, "--spool-dir", spoolDir(), "--webhook-wait", "2"]).done;
    assert.equal(no.code, 0, no.stderr);
    assert.equal(rx.reqs.length, 0);
    assert.match(no.stderr, /not delivered yet/);
    const yes = await netsigAsync([...base, "--spool-dir", spoolDir(), "--webhook-cert", f("client.pem"), "--webhook-key", f("client.key")])
      .done;
    assert.equal(yes.code, 0, yes.stderr);
    assert.deepEqual(traceeIds(rx.reqs), expected);
  } finally {
    await rx.close();
  }
});

test("bad webhook options are one-line user errors (exit 2), secrets never echoed", () => {
  const cases: [string[], RegExp][] = [
    [["--webhook", "http://127.0.0.1:1/x", "--webhook-format", "xml"], /unknown --webhook-format "xml"/],
    [["--webhook", "ftp://127.0.0.1/x"], /use an http:\/\/ or https:\/\/ URL/],
    [["--webhook", "not a url"], /not a URL/],
    [["--webhook", "http://127.0.0.1:1/x", "--webhook-token-env", "NETSIG_NO_SUCH_VAR"], /NETSIG_NO_SUCH_VAR is not set/],
    [["--webhook", "http://127.0.0.1:1/x", "--webhook-cert", "/nonexistent.pem"], /--webhook-cert and --webhook-key go together/],
    [["--webhook", "http://127.0.0.1:1/x", "--webhook-ca", "/nonexistent.pem"], /cannot read --webhook-ca \/nonexistent\.pem: ENOENT/],
    [["--webhook", "http://127.0.0.1:1/x", "--min-severity", "7"], /--min-severity must be a whole number from 0 to 4/],
    [["--webhook", "http://127.0.0.1:1/x", "--webhook-header", "no colon"], /--webhook-header must be "Name: value"/],
    [["--webhook-format", "ecs"], /--webhook-format needs --webhook/],
  ];
  for (const [extra, re] of cases) {
    const r = netsig(["replay", CAPTURE, "--signatures", sigs, "--spool-dir", join(tmp, "bad-spool"), ...extra]);
    assert.equal(r.code, 2, `${extra.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const r = netsig(["replay", CAPTURE, "--webhook", "http://127.0.0.1:1/x"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^netsig: error: --webhook sends findings: give --signatures DIR or --rules DIR \(--rules @shipped: the shipped pack\) too\n$/,
  );
});

test("--webhook with --rules alone (no --signatures): the rules' findings are delivered", { timeout: 30_000 }, async () => {
  const rx = await startReceiver();
  const dir = spoolDir();
  try {
    const r = await netsigAsync([
      "replay",
      join(__dirname, "..", "..", "examples", "dns-lo.pcap"),
      "--rules",
      "@shipped",
      "--webhook",
      `http://127.0.0.1:${rx.port}/hook`,
      "--spool-dir",
      dir,
    ]).done;
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).metadata.Properties.findingID);
    assert.equal(printed.length, 3, r.stdout);
    assert.deepEqual(traceeIds(rx.reqs), printed);
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("a 400 is permanent: that batch is counted as rejected and logged once, not retried; the rest is delivered", {
  timeout: 30_000,
}, async () => {
  const rx = await startReceiver((n) => (n === 1 ? 400 : 200));
  try {
    const r = await netsigAsync(args(rx.port, spoolDir())).done;
    assert.equal(r.code, 0, r.stderr);
    const first = traceeIds(rx.reqs.slice(0, 1));
    assert.equal(first.length, 100);
    assert.deepEqual(traceeIds(rx.reqs.slice(1)), expected.slice(100), "the refused batch is not sent again");
    assert.equal(r.stderr.match(/HTTP 400: 100 finding\(s\) rejected, not retried/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /1894 findings sent .* 0 retried, 100 rejected/);
  } finally {
    await rx.close();
  }
});

test("Retry-After as delta seconds or an HTTP date", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(retryAfterMs("1", now), 1000);
  assert.equal(retryAfterMs(" 120 ", now), 120_000);
  assert.equal(retryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(retryAfterMs("Wed, 31 Dec 2025 23:00:00 GMT", now), 0);
  assert.equal(retryAfterMs("soon", now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});

test("per-webhook options (a mapping in --config, or a JSON --webhook): each receiver gets its own format, token and minimum severity; the --webhook-* flags are the defaults", {
  timeout: 60_000,
}, async () => {
  const a = await startReceiver();
  const b = await startReceiver();
  const c = await startReceiver();
  const dir = spoolDir();
  try {
    const config = join(tmp, "hooks.yaml");
    writeFileSync(
      config,
      [
        "webhook:",
        `  - url: http://127.0.0.1:${a.port}/a`,
        "    format: ecs",
        "    token-env: TOKEN_A",
        "    min-severity: 3",
        `  - url: http://127.0.0.1:${b.port}/b`,
        "    min-severity: 4",
        `  - http://127.0.0.1:${c.port}/c`,
        "",
      ].join("\n"),
    );
    const r = await netsigAsync(
      [
        "replay",
        CAPTURE,
        "--signatures",
        sigs,
        "--config",
        config,
        "--spool-dir",
        dir,
        "--quiet-findings",
        "--webhook-format",
        "falcosidekick",
        "--webhook-token-env",
        "TOKEN_ALL",
      ],
      { TOKEN_A: "token-for-a", TOKEN_ALL: "token-for-all" },
    ).done;
    assert.equal(r.code, 0, r.stderr);
    // a: its own format (ECS _bulk) and token; Severity 3 >= 3
    assert.ok(a.reqs.length >= 20);
    assert.ok(a.reqs.every((q) => q.headers.authorization === "Bearer token-for-a"));
    const bulk = a.reqs.flatMap((q) =>
      q.body
        .trim()
        .split("\n")
        .filter((_, i) => i % 2 === 1)
        .map((l) => JSON.parse(l)),
    );
    assert.equal(bulk.length, 1994);
    // b: min-severity 4 filters everything; the flags' format and token otherwise
    assert.equal(b.reqs.length, 0);
    assert.match(r.stderr, new RegExp(`webhook http://127\\.0\\.0\\.1:${b.port}/b: 0 findings sent .* 1994 below --min-severity`));
    // c: a plain URL: the --webhook-* flags (falcosidekick, one finding per POST, the common token)
    assert.equal(c.reqs.length, 1994);
    assert.ok(c.reqs.every((q) => q.headers.authorization === "Bearer token-for-all" && typeof JSON.parse(q.body).rule === "string"));
    assert.doesNotMatch(r.stderr, /token-for-/);
    // the same on the command line, and a bad key is a one-line error naming the keys
    const bad = netsig(["replay", CAPTURE, "--signatures", sigs, "--webhook", `{"url":"http://127.0.0.1:${c.port}/c","formt":"ecs"}`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^netsig: error: --webhook http:\/\/127\.0\.0\.1:\d+\/c: unknown key "formt" \(use: url, format, /);
    assert.equal(bad.stderr.split("\n").filter(Boolean).length, 1);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

/** a spool left undelivered: a replay with nobody listening and no wait */
async function pendingSpool(dir: string, port: number): Promise<string> {
  const r = await netsigAsync(args(port, dir, ["--webhook-wait", "0"])).done;
  assert.equal(r.code, 0, r.stderr);
  const subs = readdirSync(dir);
  assert.equal(subs.length, 1);
  return join(dir, subs[0]);
}

async function freePort(): Promise<number> {
  const probe = await startReceiver();
  await probe.close();
  return probe.port;
}

const NO_STACK = /internal error|\n\s+at |node:internal/;

test("a read-only --spool-dir (new, or holding a backlog): one line at start-up naming the folder and EROFS, exit 2, no stack trace", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const ro = join(tmp, "ro-empty");
  execFileSync("mkdir", ["-p", ro]);
  execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]);
  const backlog = spoolDir();
  await pendingSpool(backlog, port);
  execFileSync("mount", ["--bind", backlog, backlog]);
  execFileSync("mount", ["-o", "remount,ro,bind", backlog]);
  const rx = await startReceiver(() => 200, { port });
  try {
    for (const dir of [ro, backlog]) {
      const r = await netsigAsync(args(port, dir)).done;
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr, NO_STACK);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^netsig: error: cannot use --spool-dir ${dir}: .* cannot be written: EROFS \\(read-only file system\\); give a writable folder$`,
        ),
      );
    }
  } finally {
    await rx.close();
    execFileSync("umount", ["-l", ro]);
    execFileSync("umount", ["-l", backlog]);
  }
});

test("a damaged spool (offset.json past its segment; random bytes, a cut line and foreign JSON inside): every finding still delivered, the damaged lines quarantined, counted and named", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const dir = spoolDir();
  const sub = await pendingSpool(dir, port);
  const segFiles = readdirSync(sub).filter((f) => f.startsWith("seg-"));
  assert.equal(segFiles.length, 1);
  const seg = join(sub, segFiles[0]);
  const text = readFileSync(seg);
  // damage inserted after line 500
  let at = 0;
  for (let i = 0; i < 500; i++) at = text.indexOf(10, at) + 1;
  const junk = Buffer.concat([
    Buffer.from([0xff, 0x00, 0x13, 0x37, 0x7b]),
    Buffer.from("\n"),
    text.subarray(at + 30, text.indexOf(10, at) + 1),
    Buffer.from('{"not":"a finding"}\n'),
  ]);
  writeFileSync(seg, Buffer.concat([text.subarray(0, at), junk, text.subarray(at)]));
  writeFileSync(join(sub, "offset.json"), JSON.stringify({ segment: Number(/\d+/.exec(segFiles[0])![0]), offset: 99_999_999 }));
  const rx = await startReceiver(() => 200, { port });
  try {
    const r = await netsigAsync(args(port, dir, [], quiet)).done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, NO_STACK);
    for (const q of rx.reqs) assert.doesNotThrow(() => JSON.parse(q.body));
    const ids = traceeIds(rx.reqs);
    assert.equal(
      ids.length,
      rx.reqs.reduce((n, q) => n + JSON.parse(q.body).length, 0),
      "every element a finding",
    );
    assert.deepEqual(ids, expected, "every pending finding, once, in order");
    assert.match(r.stderr, /points past the end of segment \d+ .*from its start/);
    assert.equal(r.stderr.match(/a damaged line/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /1994 findings sent .*, 3 damaged in the spool \(not sent, quarantined in .*quarantine\.jsonl\)/);
    const q = readFileSync(join(sub, "quarantine.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      q.map((x) => x.reason),
      ["not UTF-8", "not JSON", "no eventName"],
    );
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("a receiver that sends its headers, then a huge body slowly: the timeout covers the body, the answer is cut, the status counts; every finding delivered", {
  timeout: 60_000,
}, async () => {
  const reqs: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      reqs.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now(), url: req.url ?? "" });
      res.writeHead(200, { "Content-Length": String(2 * 1024 ** 3) });
      // the first answer trickles (1 KiB every 50 ms, never ends); the others are 1 MiB at once
      if (reqs.length === 1) {
        const t = setInterval(() => {
          if (res.destroyed) clearInterval(t);
          else res.write(Buffer.alloc(1024, 0x20));
        }, 50);
        res.on("close", () => clearInterval(t));
      } else res.write(Buffer.alloc(1024 * 1024, 0x20));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(port, dir, ["--webhook-timeout", "1000", "--webhook-batch", "500", "--webhook-wait", "20"])).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(traceeIds(reqs), expected, "each batch once, in order");
    assert.match(r.stderr, /1994 findings sent in 4 requests, 0 retried.*, 4 answers cut/);
    assert.equal(r.stderr.match(/the answer's body was cut/g)?.length, 1, r.stderr);
    assert.equal(spoolLeft(dir), 0);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("a receiver that always answers 200 after the timeout: the late answers count (no batch re-sent), every finding delivered, one line says to raise --webhook-timeout", {
  timeout: 60_000,
}, async () => {
  // 700 ms per answer, --webhook-timeout 500: each answer comes while the retry waits
  const rx = await startReceiver(() => ({ status: 200, delayMs: 700 }));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir, ["--webhook-timeout", "500", "--webhook-batch", "500", "--webhook-wait", "25"])).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(traceeIds(rx.reqs), expected, "each batch once, in order");
    assert.match(r.stderr, /1994 findings sent in 4 requests, 0 retried.*, 4 answered late/);
    const named = r.stderr.split("\n").filter((l) => /answered after the --webhook-timeout/.test(l));
    assert.equal(named.length, 2, r.stderr); // at the first, and in the summary
    assert.match(
      named[1],
      /^netsig: webhook http:\/\/127\.0\.0\.1:\d+\/hook: answered after the --webhook-timeout \(500 ms\) 4 times: raise --webhook-timeout$/,
    );
    assert.equal(spoolLeft(dir), 0);
  } finally {
    await rx.close();
  }
});

test("a receiver slower than the timeout and the retries' waits: batches re-sent with growing waits (not at once), progress shown; what arrives is in order", {
  timeout: 60_000,
}, async () => {
  // every answer after 3 s; --webhook-timeout 300: the first retries come before the answer
  const rx = await startReceiver(() => ({ status: 200, delayMs: 3000 }));
  const dir = spoolDir();
  try {
    const r = await netsigAsync(args(rx.port, dir, ["--webhook-timeout", "300", "--webhook-batch", "1000", "--webhook-wait", "12"])).done;
    assert.equal(r.code, 0, r.stderr);
    // without backoff: a request every 300 ms (40 in 12 s); with it, a few, further and further apart
    assert.ok(rx.reqs.length >= 3 && rx.reqs.length <= 15, `${rx.reqs.length} requests in 12 s`);
    const gaps = rx.reqs.slice(1).map((q, i) => q.at - rx.reqs[i].at);
    assert.ok(
      gaps.every((g) => g >= 300),
      gaps.join(","),
    );
    assert.ok(Math.max(...gaps) >= 4 * Math.min(...gaps), `growing waits: ${gaps.join(",")}`);
    assert.match(r.stderr, /no answer within 300 ms; retrying now \(attempt 1; \d+ bytes waiting in the spool\)/);
    // the waits grew until an answer could come: the first batch was delivered by a late answer
    const m = /(\d+) findings sent in \d+ requests, (\d+) retried.*, (\d+) answered late/.exec(r.stderr);
    assert.ok(m && Number(m[1]) >= 1000 && Number(m[3]) >= 1, r.stderr);
    assert.deepEqual(firstSeen(traceeIds(rx.reqs)), expected.slice(0, firstSeen(traceeIds(rx.reqs)).length));
  } finally {
    await rx.close();
  }
});

test("a disk that fills up (a 200 KB --spool-dir, receiver down): the oldest findings kept, the newest dropped, counted apart from the spool bound", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const dir = join(tmp, "small-disk");
  execFileSync("mkdir", ["-p", dir]);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", dir]);
  try {
    const r = await netsigAsync(args(port, dir, ["--webhook-wait", "1"])).done;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, NO_STACK);
    const m = /0 dropped \(spool full\), 0 below --min-severity, (\d+) dropped \(disk full or not writable\)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const dropped = Number(m[1]);
    assert.ok(dropped > 1000 && dropped < 1994, String(dropped));
    assert.equal(r.stderr.match(/ENOSPC: the disk is full\): the oldest findings are kept/g)?.length, 1, r.stderr);
    // what is kept is the oldest, whole; a restart on a roomy copy delivers exactly them
    const copy = spoolDir();
    execFileSync("cp", ["-r", dir, copy]);
    const rx = await startReceiver(() => 200, { port });
    try {
      const r2 = await netsigAsync(args(port, copy, [], quiet)).done;
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(traceeIds(rx.reqs), expected.slice(0, 1994 - dropped));
    } finally {
      await rx.close();
    }
  } finally {
    execFileSync("umount", ["-l", dir]);
  }
});

test("a spool left by a webhook no longer given: named in one line at start-up with its URL; netsig spool deliver sends it", {
  timeout: 60_000,
}, async () => {
  const port = await freePort();
  const dir = spoolDir();
  const old = await pendingSpool(dir, port);
  const rx = await startReceiver(() => 200, { port });
  try {
    // the same spool folder, another URL (path /other)
    const r = await netsigAsync([
      "replay",
      CAPTURE,
      "--signatures",
      quiet,
      "--webhook",
      `http://127.0.0.1:${port}/other`,
      "--spool-dir",
      dir,
      "--quiet-findings",
    ]).done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rx.reqs.length, 0);
    const named = r.stderr.split("\n").filter((l) => /not given now/.test(l));
    assert.equal(named.length, 1, r.stderr);
    assert.equal(
      named[0],
      `netsig: --spool-dir ${dir} holds undelivered findings of 1 webhook(s) not given now: ${old} (http://127.0.0.1:${port}/hook, tracee; about ${spoolLeft(dir)} bytes); ` +
        `they are kept, not sent: deliver with netsig spool deliver ${old} --webhook http://127.0.0.1:${port}/hook (or give that webhook again)`,
    );
    const d = await netsigAsync(["spool", "deliver", old, "--webhook", `http://127.0.0.1:${port}/hook`]).done;
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(traceeIds(rx.reqs), expected);
    assert.match(d.stderr, /1994 findings sent/);
    assert.equal(spoolLeft(dir), 0);
    // bad uses are one line
    for (const a of [
      ["spool", "deliver", join(tmp, "nope"), "--webhook", "http://127.0.0.1:1/"],
      ["spool", "deliver", old],
      ["spool", "send"],
    ]) {
      const e = netsig(a);
      assert.equal(e.code, 2, e.stderr);
      assert.equal(e.stderr.trim().split("\n").length, 1, e.stderr);
    }
  } finally {
    await rx.close();
  }
});
