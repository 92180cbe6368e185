// Operations of `netsig run`: --listen (/healthz, /readyz, /metrics) and
// --log-format json, on a real live capture of loopback UDP (as root), with
// a real webhook receiver; bind and option errors are one line.
// Traffic: UDP datagrams from a socket this test binds on 127.0.0.1, the
// capture filtered on its port, so the counts are exact.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI } from "./lib/run";
import { startReceiver, until } from "./lib/receiver";

const isRoot = process.getuid?.() === 0;
const noRootSkip = !isRoot && !process.env.CI ? "live capture needs root" : false;

// ---- helpers

/** a signature file: fires (Severity 3) or throws on UDP to `port`, or is slow to load and to close */
function signature(kind: "probe" | "thrower" | "slow", port: number): string {
  const id = { probe: "TEST-UDP-PROBE", thrower: "TEST-THROWER", slow: "TEST-SLOW" }[kind];
  const busy = "{ const end = Date.now() + 400; while (Date.now() < end) { /* busy */ } }";
  const onEvent =
    kind === "probe"
      ? `const p = getArg(event, "proto_udp")?.value as ProtoUDP | undefined;
    if (p && p.dstPort === ${port}) this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });`
      : kind === "thrower"
        ? `const p = getArg(event, "proto_udp")?.value as ProtoUDP | undefined;
    if (p && p.dstPort === ${port}) throw new Error("thrown on purpose");`
        : "";
  return `import type { EventSelector, NetEvent, ProtoUDP, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";
export default class S implements Signature {
  private ctx!: SignatureContext;
  getMetadata(): SignatureMetadata {
    return { id: "${id}", version: "1.0.0", name: "${id}", description: "ops test", properties: { Severity: 3 } };
  }
  getSelectedEvents(): EventSelector[] { return [{ source: "tracee", name: "net_packet_udp" }]; }
  init(ctx: SignatureContext): void { this.ctx = ctx; ${kind === "slow" ? busy : ""} }
  onEvent(event: NetEvent): void { void getArg; ${onEvent} }
  onSignal(_s: Signal): void {}
  close(): void { ${kind === "slow" ? busy : ""} }
}
`;
}

function udpSocket(): Promise<Socket> {
  const s = createSocket("udp4");
  return new Promise((r) => s.bind(0, "127.0.0.1", () => r(s)));
}

async function sendUdp(from: Socket, port: number, payloads: Buffer[]): Promise<void> {
  for (const p of payloads) await new Promise<void>((r, j) => from.send(p, port, "127.0.0.1", (e) => (e ? j(e) : r())));
}

function httpGet(host: string, port: number, path: string, method = "GET"): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers["content-type"] ?? "") }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Prometheus text -> value by series, written as in the text: name{label="v",...} */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of text.split("\n")) {
    if (!l || l.startsWith("#")) continue;
    const i = l.lastIndexOf(" ");
    m.set(l.slice(0, i), Number(l.slice(i + 1)));
  }
  return m;
}

function spawnNetsig(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  if (!(await until(cond, ms))) throw new Error(`timed out waiting for ${what}`);
}

function sigDir(root: string, kinds: ("probe" | "thrower" | "slow")[], port: number): string {
  const dir = join(root, "sigs");
  mkdirSync(dir);
  for (const k of kinds) writeFileSync(join(dir, `${k}.ts`), signature(k, port));
  return dir;
}

// ---- tests

test("run --listen: /readyz 503 while loading, then 200; /metrics counts the UDP sent, findings, errors; /healthz 200; 404; /readyz 503 while draining at SIGTERM", {
  skip: noRootSkip,
  timeout: 60_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), "netsig-ops-"));
  const tx = await udpSocket();
  const rx = await udpSocket();
  const dst = (rx.address() as AddressInfo).port;
  const src = (tx.address() as AddressInfo).port;
  const N = 30;
  const M = 3;
  const sigs = sigDir(root, ["probe", "thrower", "slow"], dst);
  const run = spawnNetsig([
    "run",
    "--iface",
    "lo",
    "--bpf",
    `udp and src port ${src}`,
    "--signatures",
    sigs,
    "--events",
    "net_packet_udp,net_packet_dns",
    "--listen",
    "127.0.0.1:0",
  ]);
  try {
    await waitFor(() => /on http:\/\/127\.0\.0\.1:\d+/.test(run.err()), 15_000, "the listen line");
    const port = Number(/on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.err())![1]);
    const get = (path: string, method?: string) => httpGet("127.0.0.1", port, path, method);
    // the slow signature takes 400 ms in init(): the signatures are still loading
    const early = await get("/readyz");
    assert.equal(early.status, 503, early.body);
    assert.deepEqual(JSON.parse(early.body), { status: "starting" });
    assert.equal((await get("/healthz")).status, 200);
    let ready = { status: 0, body: "" };
    for (const t0 = Date.now(); Date.now() - t0 < 15_000; ) {
      ready = await get("/readyz");
      if (ready.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { status: "ready" });
    assert.match(run.err(), /capturing on lo/);

    const before = parseMetrics((await get("/metrics")).body);
    assert.equal(before.get(`netsig_packets_captured_total{iface="lo"}`), 0);

    // N datagrams to the probe's port, M that are not DNS to LLMNR's port (decoded as DNS: malformed)
    await sendUdp(
      tx,
      dst,
      Array.from({ length: N }, (_, i) => Buffer.from(`ops test ${i}`)),
    );
    await sendUdp(
      tx,
      5355,
      Array.from({ length: M }, () => Buffer.from([1, 2, 3])),
    );
    let m = new Map<string, number>();
    let text = "";
    const probe = 'netsig_findings_total{signature="TEST-UDP-PROBE",severity="3"}';
    const thrown = 'netsig_signature_errors_total{signature="TEST-THROWER"}';
    for (const t0 = Date.now(); Date.now() - t0 < 15_000; ) {
      const r = await get("/metrics");
      text = r.body;
      m = parseMetrics(text);
      if (m.get(probe) === N && m.get(thrown) === N && m.get(`netsig_packets_captured_total{iface="lo"}`) === N + M) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(m.get(`netsig_packets_captured_total{iface="lo"}`), N + M, text);
    assert.equal(m.get("netsig_packets_malformed_total"), M);
    assert.equal(m.get('netsig_events_total{event="net_packet_udp"}'), N + M);
    assert.equal(m.get('netsig_events_total{event="net_packet_dns"}'), 0, "the M datagrams are not DNS");
    assert.equal(m.get('netsig_events_total{event="net_packet_tcp"}'), 0);
    assert.equal(m.get('netsig_signature_events_total{event="net_packet_udp"}'), N + M);
    assert.equal(m.get("netsig_signature_packets_total"), N + M);
    assert.equal(m.get(probe), N);
    assert.equal(m.get(thrown), N);
    assert.equal(m.get('netsig_signatures{state="active"}'), 3);
    assert.equal(m.get("netsig_packets_shed_total"), 0);
    assert.equal(m.get("netsig_sandbox_queue_batches"), 0);
    assert.equal(m.get("netsig_sandbox_restarts_total"), 0);
    // (the fragment metrics are there, at 0: the traffic on lo is not fragmented)
    assert.equal(m.get("netsig_ip_fragments_total"), 0);
    assert.equal(m.get("netsig_ip_reassembled_total"), 0);
    assert.equal(m.get('netsig_ip_fragments_dropped_total{reason="overlap"}'), 0);
    assert.equal(m.get("netsig_ip_fragment_bytes"), 0);
    if (m.has(`netsig_packets_dropped_total{iface="lo"}`)) assert.equal(m.get(`netsig_packets_dropped_total{iface="lo"}`), 0);
    const batches = m.get("netsig_signature_batch_seconds_count")!;
    assert.ok(batches >= 1, text);
    assert.equal(m.get('netsig_signature_batch_seconds_bucket{le="+Inf"}'), batches);
    assert.ok(m.get("netsig_signature_batch_seconds_sum")! > 0);
    assert.match(text, /^# TYPE netsig_packets_captured_total counter$/m);
    assert.match(text, /^# TYPE netsig_signature_batch_seconds histogram$/m);
    assert.ok(m.has("process_cpu_user_seconds_total"), "prom-client's process metrics");
    // the findings went to stdout too, as many as counted
    assert.equal(
      run
        .out()
        .split("\n")
        .filter((l) => l.includes('"eventName":"TEST-UDP-PROBE"')).length,
      N,
    );

    const health = await get("/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: "ok" });
    const nf = await get("/nope");
    assert.equal(nf.status, 404);
    assert.equal((await get("/metrics", "POST")).status, 405);

    // SIGTERM: draining (the slow signature's close() takes 400 ms): not ready, still alive
    run.child.kill("SIGTERM");
    let draining: { status: number; body: string } | null = null;
    for (const t0 = Date.now(); Date.now() - t0 < 5000 && !draining; ) {
      const r = await get("/readyz");
      if (r.status === 503) draining = r;
    }
    assert.ok(draining, "/readyz answered 503 while draining");
    assert.deepEqual(JSON.parse(draining.body), { status: "draining" });
    const alive = await get("/healthz");
    assert.equal(alive.status, 200, "alive while draining");
    assert.equal(await run.exit, 0, run.err());
    assert.match(run.err(), new RegExp(`netsig: lo: ${N + M} packets captured`));
    assert.match(run.err(), new RegExp(`netsig: signatures: ${N} findings, ${N} signature errors`));
    await assert.rejects(get("/healthz"), "the port is closed after exit");
  } finally {
    run.child.kill("SIGKILL");
    tx.close();
    rx.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("run --log-format json: every stderr line is a pino object; webhook metrics with a 500 then 200 receiver; no secret in logs or metrics", {
  skip: noRootSkip,
  timeout: 60_000,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), "netsig-ops-json-"));
  const tx = await udpSocket();
  const rx = await udpSocket();
  const dst = (rx.address() as AddressInfo).port;
  const src = (tx.address() as AddressInfo).port;
  const N = 10;
  const sigs = sigDir(root, ["probe"], dst);
  const secret = (p: string) => p + randomBytes(8).toString("hex");
  const token = secret("tok-");
  const hmac = secret("hmac-");
  const password = secret("pw-");
  const query = secret("q-");
  const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
  const v6 = Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.address === "::1");
  const listenHost = v6 ? "::1" : "127.0.0.1";
  const run = spawnNetsig(
    [
      "run",
      "--iface",
      "lo",
      "--bpf",
      `udp and src port ${src}`,
      "--signatures",
      sigs,
      "--quiet-findings",
      "--log-format",
      "json",
      "--listen",
      v6 ? "[::1]:0" : "127.0.0.1:0",
      "--webhook",
      `http://netsig:${password}@127.0.0.1:${receiver.port}/hook?apikey=${query}`,
      "--webhook-token-env",
      "NETSIG_OPS_TOKEN",
      "--webhook-hmac-key-env",
      "NETSIG_OPS_HMAC",
      "--webhook-batch-age",
      "200",
      "--spool-dir",
      join(root, "spool"),
    ],
    { NETSIG_OPS_TOKEN: token, NETSIG_OPS_HMAC: hmac },
  );
  const lines = () =>
    run
      .err()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; msg: string; time: number; pid: number; [k: string]: unknown });
  const output = `http://127.0.0.1:${receiver.port}/hook`;
  try {
    await waitFor(() => /capturing on lo/.test(run.err()), 15_000, "capturing");
    const listen = String(lines().find((l) => l.msg.startsWith("serving"))?.listen);
    const port = Number(/:(\d+)$/.exec(listen)![1]);
    assert.equal(listen, v6 ? `[::1]:${port}` : `127.0.0.1:${port}`);
    const get = (path: string) => httpGet(listenHost, port, path);
    assert.equal((await get("/readyz")).status, 200);

    await sendUdp(
      tx,
      dst,
      Array.from({ length: N }, (_, i) => Buffer.from(`json ops ${i}`)),
    );
    let m = new Map<string, number>();
    let text = "";
    const sent = `netsig_output_sent_total{output="${output}"}`;
    const spool = `netsig_spool_bytes{output="${output}"}`;
    for (const t0 = Date.now(); Date.now() - t0 < 20_000; ) {
      text = (await get("/metrics")).body;
      m = parseMetrics(text);
      if (m.get(sent) === N && m.get(spool) === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(m.get('netsig_findings_total{signature="TEST-UDP-PROBE",severity="3"}'), N, text);
    assert.equal(m.get(sent), N);
    assert.equal(m.get(`netsig_output_retried_total{output="${output}"}`), 1, "the first request got a 500, and only it");
    assert.equal(m.get(`netsig_output_rejected_total{output="${output}"}`), 0);
    assert.equal(m.get(`netsig_output_dropped_total{output="${output}"}`), 0);
    assert.equal(m.get(spool), 0);
    // the receiver saw the retried batch again, then the rest: N findings delivered with 2xx
    const delivered = receiver.reqs.slice(1).reduce((n, r) => n + (JSON.parse(r.body) as unknown[]).length, 0);
    assert.equal(delivered, N);
    assert.equal(receiver.reqs[0].body, receiver.reqs[1].body);
    assert.equal(receiver.reqs[1].headers.authorization, `Bearer ${token}`, "the token was in use");
    for (const s of [token, hmac, password, query]) assert.ok(!text.includes(s), `a secret in /metrics: ${s}`);

    run.child.kill("SIGTERM");
    assert.equal(await run.exit, 0, run.err());
  } finally {
    run.child.kill("SIGKILL");
    await receiver.close();
    tx.close();
    rx.close();
    rmSync(root, { recursive: true, force: true });
  }
  const err = run.err();
  for (const s of [token, hmac, password, query]) assert.ok(!err.includes(s), `a secret in the logs: ${s}`);
  const all = lines();
  for (const l of all) {
    assert.ok(["debug", "info", "warn", "error"].includes(l.level), JSON.stringify(l));
    assert.equal(typeof l.time, "number");
    assert.equal(l.pid, run.child.pid);
    assert.ok(!l.msg.startsWith("netsig:"), l.msg);
  }
  const find = (re: RegExp) => all.find((l) => re.test(l.msg));
  assert.ok(find(/^capturing on lo \(udp and src port \d+\); Ctrl-C to stop$/));
  const retry = find(/^webhook http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 500; retrying in /);
  assert.equal(retry?.level, "warn", err);
  const hook = find(/^webhook http:\/\/127\.0\.0\.1:\d+\/hook: 10 findings sent in \d+ requests, 1 retried, 0 rejected, 0 dropped/);
  assert.equal(hook?.level, "info", err);
  assert.equal(hook?.sent, N);
  assert.equal(find(/^lo: \d+ packets captured/)?.captured, N);
  assert.equal(find(/^signatures: \d+ findings/)?.findings, N);
});

test("run --listen: a port in use, a bad address or --log-format are one-line errors, exit 2; also from --config (JSON with log-format: json)", {
  timeout: 30_000,
}, async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  const port = (busy.address() as AddressInfo).port;
  const root = mkdtempSync(join(tmpdir(), "netsig-ops-err-"));
  try {
    const one = (args: string[]) => {
      const r = spawnSync(process.execPath, [CLI, "run", "--iface", "lo", ...args], { encoding: "utf8", timeout: 20_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
      return r.stderr.trim();
    };
    assert.equal(one(["--listen", `127.0.0.1:${port}`]), `netsig: error: --listen 127.0.0.1:${port}: address already in use`);
    assert.match(one(["--listen", "9464"]), /^netsig: error: --listen "9464": give host:port, \[IPv6\]:port or :port/);
    assert.match(one(["--listen", "127.0.0.1:70000"]), /^netsig: error: --listen "127\.0\.0\.1:70000"/);
    assert.match(one(["--listen", "[127.0.0.1]:9464"]), /not an IPv6 address/);
    assert.equal(one(["--log-format", "xml"]), 'netsig: error: unknown --log-format "xml": use text or json');
    const cfg = join(root, "netsig.yaml");
    writeFileSync(cfg, `iface: lo\nlisten: "127.0.0.1:${port}"\nlog-format: json\n`);
    const line = JSON.parse(one(["--config", cfg])) as { level: string; msg: string };
    assert.equal(line.level, "error");
    // (a value from --config names its file:line: issue 14 item 14)
    assert.equal(line.msg, `error: ${cfg}:2: --listen 127.0.0.1:${port}: address already in use`);
  } finally {
    busy.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test("log: a registered secret is redacted in text and JSON lines and in fields", () => {
  const mod = join(__dirname, "..", "engine", "app", "log.js");
  const script = `const l = require(${JSON.stringify(mod)});
l.addSecret("s3cr3t-value");
l.log("netsig: text line with s3cr3t-value", "warn");
l.setLogFormat("json");
l.log("netsig: json line with s3cr3t-value", "warn", { url: "http://x/?k=s3cr3t-value" });`;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [text, json] = r.stderr.trim().split("\n");
  assert.equal(text, "netsig: text line with [redacted]");
  const o = JSON.parse(json) as { level: string; msg: string; url: string };
  assert.deepEqual([o.level, o.msg, o.url], ["warn", "json line with [redacted]", "http://x/?k=[redacted]"]);
});
