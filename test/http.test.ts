// HTTP/1.x events from real traffic: curl and wget against a node HTTP/1.1
// server and Python's http.server, on 127.0.0.1 and ::1, recorded with
// tcpdump on the host's `lo` (high ports) and in a network namespace whose
// `lo` has a 1280-byte MTU (ports 80 and 8081; header blocks of several KiB
// span segments). Every field of every message is compared with tshark's
// dissection of the same capture, message by message; the request events'
// PktMeta with the packet that completed them; and the same events reach a
// TypeScript signature (the sandbox) and a YAML rule unchanged.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { HTTP_MAX_HEADER } from "../engine/decode/http";
import { Ev } from "../engine/types/events";
import { netsigAsync } from "./lib/replay";
import {
  capture,
  craftedHttp,
  freePort,
  type Segment,
  sh,
  startNodeServer,
  startPythonServer,
  stopAll,
  stopChild,
  type TsharkHttp,
  tsharkHttp,
} from "./lib/httplab";

type Json = Record<string, any>;

const TOOLS = ["curl", "wget", "tcpdump", "tshark", "python3", "ip"];
const missing = TOOLS.filter((t) => !(process.env.PATH ?? "/usr/bin:/bin").split(":").some((d) => d && existsSync(join(d, t))));
const skip = missing.length > 0 && !process.env.CI ? `needs ${missing.join(", ")}` : false;

const dir = mkdtempSync(join(tmpdir(), "netsig-http-"));
const NS = `nshttp${process.pid}`;
const HTTP_EVENTS = "net_packet_http,net_packet_http_request,net_packet_http_response";

interface Recording {
  file: string;
  /** what was asked, to check the capture holds what the test meant */
  note: string[];
}
const rec: Record<"host" | "ns" | "sig", Recording> = {
  host: { file: join(dir, "host.pcap"), note: [] },
  ns: { file: join(dir, "ns.pcap"), note: [] },
  sig: { file: join(dir, "sig.pcap"), note: [] },
};
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await sh(cmd, args);
  // curl -f is not used: 404/501 answers are traffic too
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
}

const ns = (cmd: string, args: string[]) => run("ip", ["netns", "exec", NS, cmd, ...args]);

before(
  async () => {
    if (skip) return;
    const www = join(dir, "www");
    mkdirSync(www);
    writeFileSync(join(www, "file.txt"), "hello from python\n");
    const body = join(dir, "body.bin");
    writeFileSync(body, Buffer.alloc(20_000, 0x61));
    const small = join(dir, "small.txt");
    writeFileSync(small, "name=value&x=1");

    // ---- the host's lo: a node server and Python's, on free high ports
    const nodePort = await freePort();
    const pyPort = await freePort();
    const node = await startNodeServer(null, "::", nodePort);
    const py = await startPythonServer(null, www, pyPort);
    const cap = await capture(null, rec.host.file, `tcp port ${nodePort} or tcp port ${pyPort}`);
    try {
      for (const h of ["127.0.0.1", "[::1]"]) {
        const n = `http://${h}:${nodePort}`;
        const p = `http://${h}:${pyPort}`;
        // keep-alive: three requests on one connection, a query and escapes in the path
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          `${n}/a?x=1`,
          "-o",
          "/dev/null",
          `${n}/dir%20x/a+b?q=%41`,
          "-o",
          "/dev/null",
          `${n}/c`,
        ]);
        // HEAD then GET on the same connection: the response to HEAD has a Content-Length and no body
        await run("curl", ["-s", "-o", "/dev/null", "-I", `${n}/head`, "--next", "-s", "-o", "/dev/null", `${n}/after-head`]);
        // POST with a Content-Length body (Expect: 100-continue: a 100 response first), and chunked
        await run("curl", ["-s", "-o", "/dev/null", "-H", "Expect: 100-continue", "--data-binary", `@${body}`, `${n}/post-cl`]);
        await run("curl", ["-s", "-o", "/dev/null", "-H", "Transfer-Encoding: chunked", "--data-binary", `@${small}`, `${n}/post-chunked`]);
        // 204, 304, a chunked response, then a request after it on the same connection
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          `${n}/204`,
          "-o",
          "/dev/null",
          `${n}/chunked`,
          "-o",
          "/dev/null",
          `${n}/after-chunked`,
        ]);
        await run("curl", ["-s", "-o", "/dev/null", "-H", 'If-None-Match: "v1"', `${n}/etag`, "-o", "/dev/null", `${n}/etag2`]);
        // folded-looking and repeated headers, Pragma without Cache-Control, an absolute URI (a proxy's request)
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          "-H",
          "X-Dup: one",
          "-H",
          "x-dup: two",
          "-H",
          "Pragma: no-cache",
          "-H",
          "accept-LANGUAGE: en",
          `${n}/dup`,
        ]);
        await run("curl", ["-s", "-o", "/dev/null", "-x", n, "http://example.test/abs/path?q"]);
        // wget; Python's HTTP/1.0 server: a file, a 404, a HEAD, a POST it refuses
        await run("wget", ["-q", "-O", "/dev/null", `${n}/wget`]);
        await run("curl", ["-s", "-o", "/dev/null", `${p}/file.txt`]);
        await run("curl", ["-s", "-o", "/dev/null", `${p}/missing`]);
        await run("curl", ["-s", "-o", "/dev/null", "-I", `${p}/file.txt`]);
        await run("curl", ["-s", "-o", "/dev/null", "--data-binary", `@${small}`, `${p}/post`]);
        await sh("wget", ["-q", "-O", "/dev/null", `${p}/file.txt`]);
      }
    } finally {
      await cap.stop();
      await stopChild(node);
      await stopChild(py);
    }

    // ---- for the shipped detection: scripts to an address (v4, v6), to a name, a browser-like agent
    const sigPort = await freePort();
    const node2 = await startNodeServer(null, "::", sigPort);
    const cap3 = await capture(null, rec.sig.file, `tcp port ${sigPort}`);
    try {
      const at = (h: string) => `http://${h}:${sigPort}`;
      await run("curl", ["-s", "-o", "/dev/null", `${at("127.0.0.1")}/x`]);
      await run("curl", ["-s", "-o", "/dev/null", `${at("127.0.0.1")}/x-again`]);
      await run("curl", ["-s", "-o", "/dev/null", `${at("[::1]")}/x6`]);
      await run("wget", ["-q", "-O", "/dev/null", `${at("127.0.0.1")}/w`]);
      await run("python3", ["-c", `import urllib.request; urllib.request.urlopen("${at("127.0.0.1")}/py").read()`]);
      await run("curl", ["-s", "-o", "/dev/null", "--resolve", `netsig-http.test:${sigPort}:127.0.0.1`, `${at("netsig-http.test")}/name`]);
      await run("curl", ["-s", "-o", "/dev/null", "-A", BROWSER, `${at("127.0.0.1")}/browser`]);
      await run("curl", ["-s", "-o", "/dev/null", "-A", BROWSER, `${at("[::1]")}/browser6`]);
    } finally {
      await cap3.stop();
      await stopChild(node2);
    }

    // ---- a namespace with a small MTU: ports 80 and 8081, header blocks over several segments
    await sh("ip", ["netns", "del", NS]);
    await run("ip", ["netns", "add", NS]);
    await run("ip", ["-n", NS, "link", "set", "lo", "up"]);
    await run("ip", ["-n", NS, "link", "set", "lo", "mtu", "1280"]);
    // lo hands the stack's large (GSO) segments to tcpdump whole: one MSS-sized segment each instead
    await run("ip", ["-n", NS, "link", "set", "lo", "gso_max_segs", "1", "gso_max_size", "1280"]);
    const node80 = await startNodeServer(NS, "::", 80, 9000);
    const py8081 = await startPythonServer(NS, www, 8081);
    const cap2 = await capture(NS, rec.ns.file, "tcp port 80 or tcp port 8081");
    try {
      const big = "v".repeat(6000);
      for (const h of ["127.0.0.1", "[::1]"]) {
        await ns("curl", ["-s", "-o", "/dev/null", "-H", `X-Big: ${big}`, "-H", `X-Big-Two: ${big.slice(0, 3000)}`, `http://${h}/bigreq`]);
        await ns("curl", ["-s", "-o", "/dev/null", `http://${h}/big`, "-o", "/dev/null", `http://${h}/after-big`]);
        await ns("curl", ["-s", "-o", "/dev/null", "--data-binary", `@${body}`, `http://${h}/post`]);
        await ns("wget", ["-q", "-O", "/dev/null", `http://${h}:8081/file.txt`]);
        await ns("curl", ["-s", "-o", "/dev/null", "-H", `X-Big: ${big}`, `http://${h}:8081/file.txt`]);
      }
    } finally {
      await cap2.stop();
      await stopChild(node80);
      await stopChild(py8081);
    }
  },
  { timeout: 300_000 },
);

after(async () => {
  await stopAll();
  if (!skip) await sh("ip", ["netns", "del", NS]);
  rmSync(dir, { recursive: true, force: true });
});

async function replayEvents(file: string, events = HTTP_EVENTS): Promise<Json[]> {
  const r = await netsigAsync(["replay", file, "--events", events, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const arg = (e: Json, name: string) => e.args.find((a: Json) => a.name === name)?.value;

/** Go's textproto.CanonicalMIMEHeaderKey of a token */
const canonical = (k: string) =>
  k
    .split("-")
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase())
    .join("-");

/**
 * What Tracee's ProtoHTTP is for a message tshark dissected: Go's
 * ReadRequest / ReadResponse(r, nil) over its header lines
 */
function expected(m: TsharkHttp): Json {
  const h: Record<string, string[]> = {};
  for (const line of m.lines) {
    const s = line.replace(/\r?\n$/, "");
    const i = s.indexOf(":");
    const k = canonical(s.slice(0, i));
    (h[k] ??= []).push(s.slice(i + 1).trim());
  }
  const major = Number(m.version[5]);
  const minor = Number(m.version[7]);
  let host = "";
  let path = "";
  if (m.request) {
    const abs = /^[a-z][a-z0-9+.-]*:\/\/([^/?]*)(.*)$/i.exec(m.uri!);
    host = abs ? abs[1] : (h.Host?.[0] ?? "");
    path = decodeURIComponent((abs ? abs[2] : m.uri!).split("?")[0]);
    if (!abs) assert.equal(host, m.host ?? "", "the Host header tshark shows");
    delete h.Host;
  }
  if (h.Pragma?.[0] === "no-cache" && !h["Cache-Control"]) h["Cache-Control"] = ["no-cache"];
  let chunked = false;
  if (h["Transfer-Encoding"]) {
    delete h["Transfer-Encoding"];
    if (major * 10 + minor >= 11) {
      chunked = true;
      delete h["Content-Length"];
    }
  }
  let length: number;
  const code = m.code ?? 0;
  if (!m.request && ((code >= 100 && code < 200) || code === 204 || code === 304)) length = 0;
  else if (chunked) length = -1;
  else if (h["Content-Length"]) length = Number(h["Content-Length"][0]);
  else length = m.request ? 0 : -1;
  if (!m.request && major * 10 + minor >= 11 && h.Connection?.some((v) => v.toLowerCase() === "close")) delete h.Connection;
  const headers: Record<string, string[]> = {};
  for (const k of Object.keys(h).sort()) headers[k] = h[k];
  return {
    direction: m.request ? "request" : "response",
    method: m.method ?? "",
    protocol: m.version,
    host,
    uri_path: path,
    status: m.request ? "" : m.phrase === undefined ? String(code) : `${code} ${m.phrase}`,
    status_code: code,
    headers,
    content_length: length,
  };
}

const flowKey = (src: string, sp: number, dst: string, dp: number) => `${src} ${sp} > ${dst} ${dp}`;

/** compare every message of a capture with tshark's; returns how many */
async function differential(file: string): Promise<{ messages: number; requests: number; responses: number; events: Json[] }> {
  const events = await replayEvents(file);
  const ts = await tsharkHttp(file);
  const ours = new Map<string, Json[]>();
  for (const e of events.filter((x) => x.eventName === "net_packet_http")) {
    const k = flowKey(arg(e, "src"), arg(e, "src_port"), arg(e, "dst"), arg(e, "dst_port"));
    if (!ours.has(k)) ours.set(k, []);
    ours.get(k)!.push(arg(e, "proto_http"));
  }
  const theirs = new Map<string, TsharkHttp[]>();
  for (const m of ts) {
    const k = flowKey(m.src, m.srcPort, m.dst, m.dstPort);
    if (!theirs.has(k)) theirs.set(k, []);
    theirs.get(k)!.push(m);
  }
  assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort(), "the same flow directions carry HTTP");
  let requests = 0;
  let responses = 0;
  for (const [k, ms] of theirs) {
    const got = ours.get(k)!;
    assert.equal(got.length, ms.length, `${k}: messages`);
    for (let i = 0; i < ms.length; i++) {
      assert.deepEqual(got[i], expected(ms[i]), `${k}: message ${i + 1} (tshark frame ${ms[i].frame})`);
      // the header order too: Go's encoding/json sorts a map's keys
      assert.deepEqual(Object.keys(got[i].headers), Object.keys(got[i].headers).sort());
      if (ms[i].request) requests++;
      else responses++;
    }
  }
  // each simple event is the request or response half of one net_packet_http
  const all = events.filter((x) => x.eventName === "net_packet_http").map((e) => arg(e, "proto_http"));
  const reqs = events.filter((x) => x.eventName === "net_packet_http_request").map((e) => arg(e, "http_request"));
  const resps = events.filter((x) => x.eventName === "net_packet_http_response").map((e) => arg(e, "http_response"));
  assert.deepEqual(
    reqs,
    all
      .filter((h) => h.direction === "request")
      .map(({ method, protocol, host, uri_path, headers, content_length }) => ({
        method,
        protocol,
        host,
        uri_path,
        headers,
        content_length,
      })),
  );
  assert.deepEqual(
    resps,
    all
      .filter((h) => h.direction === "response")
      .map(({ status, status_code, protocol, headers, content_length }) => ({ status, status_code, protocol, headers, content_length })),
  );
  return { messages: ts.length, requests, responses, events };
}

test("host lo: every HTTP message and field is tshark's, message by message", { skip, timeout: 120_000 }, async () => {
  const r = await differential(rec.host.file);
  // 2 families x (3 keep-alive + 2 head/get + post-cl + chunked + 3 + 2 + dup + abs + wget + 5 to Python) requests, each answered (+ 100 Continue)
  assert.ok(r.requests >= 2 * 20, `requests: ${r.requests}`);
  assert.ok(r.responses >= r.requests, `responses: ${r.responses}`);
  const reqs = r.events.filter((e) => e.eventName === "net_packet_http").map((e) => arg(e, "proto_http"));
  const paths = reqs.map((h) => h.uri_path);
  for (const p of [
    "/a",
    "/dir x/a+b",
    "/c",
    "/head",
    "/after-head",
    "/post-cl",
    "/post-chunked",
    "/204",
    "/chunked",
    "/after-chunked",
    "/etag",
    "/etag2",
    "/dup",
    "/abs/path",
    "/wget",
    "/file.txt",
  ])
    assert.equal(paths.filter((x) => x === p).length >= 2, true, `${p} on both families: ${paths.join(" ")}`);
  const byPath = (p: string) => reqs.find((h) => h.uri_path === p)!;
  assert.equal(byPath("/abs/path").host, "example.test", "an absolute URI's host is Request.Host");
  assert.equal(byPath("/post-chunked").content_length, -1);
  assert.equal(byPath("/post-cl").content_length, 20_000);
  assert.deepEqual(byPath("/dup").headers["X-Dup"], ["one", "two"]);
  assert.deepEqual(byPath("/dup").headers["Cache-Control"], ["no-cache"]);
  assert.ok(
    reqs.some((h) => h.status_code === 100),
    "the 100 Continue is a message",
  );
  assert.ok(reqs.some((h) => h.status_code === 204 && h.content_length === 0));
  assert.ok(reqs.some((h) => h.status_code === 304 && h.content_length === 0));
  assert.ok(
    reqs.some((h) => h.protocol === "HTTP/1.0" && h.status_code === 501),
    "Python's HTTP/1.0 answers",
  );
  assert.ok(reqs.some((h) => h.headers["User-Agent"]?.[0]?.startsWith("Wget/")));
  assert.ok(
    reqs.some(
      (h) => h.direction === "response" && h.headers["Transfer-Encoding"] === undefined && h.content_length === -1 && h.status_code === 200,
    ),
    "a chunked response",
  );
});

test("a 1280-byte MTU: header blocks over several segments, ports 80 and 8081", { skip, timeout: 120_000 }, async () => {
  const r = await differential(rec.ns.file);
  const all = r.events.filter((e) => e.eventName === "net_packet_http").map((e) => arg(e, "proto_http"));
  const big = all.filter((h) => h.uri_path === "/bigreq");
  assert.equal(big.length, 2);
  for (const h of big) assert.equal(h.headers["X-Big"][0].length, 6000);
  const bigResp = all.filter((h) => h.headers["X-Big"]?.[0]?.length === 9000);
  assert.equal(bigResp.length, 2, "the responses with a 9000-byte header");
  assert.equal(all.filter((h) => h.uri_path === "/after-big").length, 2);
  // the capture really split them: tshark reassembled each over several segments
  const seg = await sh("tshark", ["-r", rec.ns.file, "-Y", 'http.request.uri == "/bigreq"', "-T", "fields", "-e", "tcp.segment.count"]);
  const counts = seg.stdout.split("\n").filter(Boolean).map(Number);
  assert.equal(counts.length, 2);
  for (const c of counts) assert.ok(c >= 5, `segments: ${c}`);
  // ports 80 and 8081 both recognized
  const ports = new Set(r.events.filter((e) => e.eventName === "net_packet_http_request").map((e) => arg(e, "metadata").dst_port));
  assert.deepEqual([...ports].sort(), [80, 8081]);
});

test("request and response events carry the record's addresses in their PktMeta", { skip, timeout: 120_000 }, async () => {
  const events = await replayEvents(rec.host.file, `net_packet_ipv4,net_packet_ipv6,${HTTP_EVENTS}`);
  let checked = 0;
  let ip: Json | null = null;
  let http: Json | null = null;
  for (const e of events) {
    if (e.eventName === "net_packet_ipv4" || e.eventName === "net_packet_ipv6") {
      ip = e;
      http = null;
      continue;
    }
    if (e.eventName === "net_packet_http") {
      http = e;
      continue;
    }
    const meta = arg(e, "metadata");
    const v = arg(e, e.eventName === "net_packet_http_request" ? "http_request" : "http_response");
    assert.ok(ip !== null && http !== null && v !== undefined);
    // the packet that completed the header block: same timestamp, sent by the message's sender
    assert.equal(e.timestamp, ip.timestamp);
    assert.deepEqual(
      meta,
      {
        src_ip: arg(http, "src"),
        dst_ip: arg(http, "dst"),
        src_port: arg(http, "src_port"),
        dst_port: arg(http, "dst_port"),
        protocol: 6,
        packet_len: ip.eventName === "net_packet_ipv4" ? arg(ip, "proto_ipv4").length : arg(ip, "proto_ipv6").length,
        iface: "any",
      },
      JSON.stringify(v),
    );
    assert.equal(meta.src_ip, arg(ip, "src"));
    checked++;
  }
  assert.ok(checked >= 80, `checked ${checked}`);
});

const PROBE = `import type { NetEvent, Signature, SignatureContext } from "netsig";
import { getArg } from "netsig/helpers";
export default class Probe implements Signature {
  private ctx!: SignatureContext;
  getMetadata() { return { id: "HTTP-PROBE", version: "1", name: "probe", description: "every HTTP event" }; }
  getSelectedEvents() {
    return [
      { source: "tracee", name: "net_packet_http" },
      { source: "tracee", name: "net_packet_http_request" },
      { source: "tracee", name: "net_packet_http_response" },
    ];
  }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(event: NetEvent) {
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: { name: event.eventName, args: JSON.stringify(event.args) } });
  }
  onSignal() {}
  close() {}
}
`;

const RULE = `id: http-curl-probe
name: curl request
description: a request whose User-Agent is curl's
severity: 1
events: [net_packet_http_request]
detection:
  ua:
    args.http_request.headers.User-Agent[]|startswith: 'curl/'
  condition: ua
fields: {path: args.http_request.uri_path, host: args.http_request.host, ua: args.http_request.headers.User-Agent}
`;

test("the events reach a TypeScript signature (sandbox) and a YAML rule as replay prints them", { skip, timeout: 180_000 }, async () => {
  const sigs = join(dir, "sigs");
  const rules = join(dir, "rules");
  mkdirSync(sigs, { recursive: true });
  mkdirSync(rules, { recursive: true });
  writeFileSync(join(sigs, "probe.ts"), PROBE);
  writeFileSync(join(rules, "probe.yaml"), RULE);
  const events = (await replayEvents(rec.host.file)).map((e) => ({ name: e.eventName, args: e.args }));
  const s = await netsigAsync(["replay", rec.host.file, "--signatures", sigs, "--quiet"]);
  assert.equal(s.code, 0, s.stderr);
  const found = s.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  // the finding's data (args the signature saw, as the realm's JSON.stringify wrote them) and its triggeredBy
  assert.deepEqual(
    found.map((f) => ({ name: arg(f, "name"), args: JSON.parse(arg(f, "args")) })),
    events,
  );
  assert.deepEqual(
    found.map((f) => ({ name: arg(f, "triggeredBy").name, args: arg(f, "triggeredBy").args })),
    events,
  );
  const r = await netsigAsync(["replay", rec.host.file, "--rules", rules, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const hits = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const curlReqs = (await replayEvents(rec.host.file, "net_packet_http_request"))
    .map((e) => arg(e, "http_request"))
    .filter((h) => h.headers["User-Agent"]?.[0]?.startsWith("curl/"));
  assert.ok(curlReqs.length >= 30);
  assert.equal(hits.length, curlReqs.length, "one finding per curl request, none for wget's");
  assert.deepEqual(
    hits.map((f) => [arg(f, "path"), arg(f, "host"), arg(f, "ua")]),
    curlReqs.map((h) => [h.uri_path, h.host, h.headers["User-Agent"]]),
  );
});

// ---- crafted streams: framing, bounds, splits (no capture needed)

const REQS = [
  "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 30\r\n\r\nGET /not-a-request HTTP/1.1\r\n\r\n",
  "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n4;ext=1\r\nGET \r\n0\r\nX-Sum: 1\r\n\r\n",
  "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET /last HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8\r\n\r\n",
];
const RESPS = [
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nHTTP/",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
  "HTTP/1.0 200 OK\r\n\r\nHTTP/1.1 999 the rest is body\r\n\r\n",
];

test("framing: bodies (length, chunked, HEAD, until close) are skipped, pipelined messages each give one", () => {
  const { http } = craftedHttp([[true, REQS.join("")], ...RESPS.map((r): Segment => [false, r])]);
  assert.deepEqual(
    http.map((h) => h.uri_path || h.status),
    ["/up", "/c", "/h", "/last", "100 Continue", "201 Created", "200 OK", "200 OK", "200 OK"],
  );
  assert.deepEqual(
    http.map((h) => h.content_length),
    [30, -1, 0, 0, 0, 5, -1, 1000, -1],
  );
  // the response to HEAD has no body: the next response follows its header block at once
  assert.equal(http[8].protocol, "HTTP/1.0");
});

test("any split of the streams gives the same messages (every 1-byte boundary, 1-byte segments)", () => {
  const whole = craftedHttp([[true, REQS.join("")], ...RESPS.map((r): Segment => [false, r])]).http;
  const client = Buffer.from(REQS.join(""), "latin1");
  const server = Buffer.from(RESPS.join(""), "latin1");
  for (let cut = 1; cut < client.length; cut += 7) {
    const segs: Segment[] = [
      [true, client.subarray(0, cut)],
      [true, client.subarray(cut)],
      [false, server.subarray(0, server.length - cut > 0 ? server.length - cut : 1)],
      [false, server.subarray(server.length - cut > 0 ? server.length - cut : 1)],
    ];
    assert.deepEqual(craftedHttp(segs).http, whole, `split at ${cut}`);
  }
  const bytes: Segment[] = [...client].map((b): Segment => [true, Buffer.from([b])]);
  for (const b of server) bytes.push([false, Buffer.from([b])]);
  assert.deepEqual(craftedHttp(bytes).http, whole, "1-byte segments");
});

test("a header block over the bound (64 KiB) is cut and counted; within it, it is whole", () => {
  assert.equal(HTTP_MAX_HEADER, 64 * 1024);
  const head = "GET /big HTTP/1.1\r\nHost: h\r\n";
  const fill = (n: number) => `X-Fill: ${"f".repeat(n)}\r\n`;
  // exactly the bound: one message
  const exact = head + fill(HTTP_MAX_HEADER - head.length - 12) + "\r\n";
  assert.equal(exact.length, HTTP_MAX_HEADER);
  const segs = (s: string, size = 1460): Segment[] => {
    const out: Segment[] = [];
    for (let i = 0; i < s.length; i += size) out.push([true, s.slice(i, i + size)]);
    return out;
  };
  const ok = craftedHttp(segs(exact));
  assert.equal(ok.http.length, 1);
  assert.equal(ok.http[0].headers["X-Fill"][0].length, HTTP_MAX_HEADER - head.length - 12);
  assert.equal(ok.pipeline.flows!.stats.cut, 0);
  // one byte more: cut, counted, nothing emitted, and what follows on the direction is not parsed
  const over = head + fill(HTTP_MAX_HEADER - head.length - 11) + "\r\nGET /after HTTP/1.1\r\n\r\n";
  const cut = craftedHttp(segs(over));
  assert.equal(cut.http.length, 0);
  assert.equal(cut.pipeline.flows!.stats.cut, 1);
  // also when it arrives in large (GRO) segments
  const one = craftedHttp(segs(over, 60_000));
  assert.equal(one.http.length, 0);
  assert.equal(one.pipeline.flows!.stats.cut, 1);
  // a message far bigger than the bound whose header block is within it parses: the body is skipped in place
  const body = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 200000\r\n\r\n" + "z".repeat(200_000) + "GET /next HTTP/1.1\r\n\r\n";
  for (const size of [60_000, 1460, 7])
    assert.deepEqual(
      craftedHttp(segs(body, size)).http.map((h) => h.uri_path),
      ["/b", "/next"],
    );
});

test("not HTTP, or HTTP no more: other protocols, a protocol switch, a tunnel, a message Go rejects", () => {
  // TLS, SSH, a lowercase method, an unknown method: no events
  for (const s of ["\x16\x03\x01\x00\x05hello", "SSH-2.0-OpenSSH_9.2\r\n", "get / HTTP/1.1\r\n\r\n", "BREW /pot HTTP/1.1\r\n\r\n"])
    assert.deepEqual(craftedHttp([[true, s]]).http, [], JSON.stringify(s));
  // a 101 ends HTTP on the server side; a 2xx to CONNECT too
  const ws = craftedHttp([
    [true, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"],
    [false, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nHTTP/1.1 200 fake\r\n\r\n"],
    [true, "\x81\x05hello"],
  ]);
  assert.deepEqual(
    ws.http.map((h) => h.status || h.uri_path),
    ["/ws", "101 Switching Protocols"],
  );
  const tunnel = craftedHttp([
    [true, "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n"],
    [false, "HTTP/1.1 200 Connection established\r\n\r\n"],
    [true, "\x16\x03\x01\x02\x00\x01"],
    [false, "HTTP/1.1 200 not http\r\n\r\n"],
  ]);
  assert.deepEqual(
    tunnel.http.map((h) => [h.host, h.uri_path, h.status]),
    [
      ["example.test:443", "", ""],
      ["", "", "200 Connection established"],
    ],
  );
  // a message Go rejects gives no event, and the direction stops (a server closes the connection)
  const bad = craftedHttp([[true, "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /b HTTP/1.1\r\nHost: c\r\n\r\n"]]);
  assert.deepEqual(bad.http, []);
});

test("IPv6 and any port: recognized by content", () => {
  for (const port of [80, 8081, 1, 65535, 443]) {
    const r = craftedHttp([[true, "OPTIONS * HTTP/1.1\r\nHost: [::1]:1\r\n\r\n"]], { port, v6: true });
    assert.deepEqual(
      r.http.map((h) => [h.method, h.uri_path, h.host]),
      [["OPTIONS", "*", "[::1]:1"]],
    );
    const meta = r.out.find((e) => e.kind === Ev.HTTPRequest)!.ev.args[0].value as Record<string, unknown>;
    assert.deepEqual([meta.src_ip, meta.dst_ip, meta.src_port, meta.dst_port, meta.protocol], ["::1", "::1", 40000, port, 6]);
  }
});

// ---- the shipped detection NETSIG-HTTP-RAW-IP-SCRIPT (signatures/http-raw-ip-script.ts)

const SHIPPED = join(__dirname, "..", "..", "signatures");

test("NETSIG-HTTP-RAW-IP-SCRIPT: curl, wget and urllib to 127.0.0.1 and [::1] fire; a DNS name or a browser agent do not", {
  skip,
  timeout: 120_000,
}, async () => {
  const sigs = join(dir, "rawip");
  mkdirSync(sigs, { recursive: true });
  writeFileSync(join(sigs, "http-raw-ip-script.ts"), readFileSync(join(SHIPPED, "http-raw-ip-script.ts")));
  const r = await netsigAsync(["replay", rec.sig.file, "--signatures", sigs, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const found = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const rows = found.map((f) => [
    f.eventName,
    arg(f, "host").replace(/:\d+$/, ""),
    arg(f, "uri_path"),
    arg(f, "user_agent").split("/")[0],
    arg(f, "method"),
  ]);
  assert.deepEqual(rows, [
    ["http_raw_ip_script", "127.0.0.1", "/x", "curl", "GET"],
    ["http_raw_ip_script", "[::1]", "/x6", "curl", "GET"],
    ["http_raw_ip_script", "127.0.0.1", "/w", "Wget", "GET"],
    ["http_raw_ip_script", "127.0.0.1", "/py", "Python-urllib", "GET"],
  ]);
  // the second curl to the same address is within the window: one finding; the metadata is the shipped one
  assert.equal(found[0].metadata.Properties.signatureID, "NETSIG-HTTP-RAW-IP-SCRIPT");
  assert.equal(found[0].metadata.Properties.external_id, "T1105");
  assert.equal(arg(found[1], "ip"), "::1");
  // the whole shipped folder on the same capture: only these
  const all = await netsigAsync(["replay", rec.sig.file, "--signatures", SHIPPED, "--quiet"]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout.split("\n").filter(Boolean).length, 4);
  // and on the big capture: every curl/wget request there is to an address but example.test's (absolute URI)
  const big = await netsigAsync(["replay", rec.host.file, "--signatures", sigs, "--quiet"]);
  const hosts = big.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => arg(JSON.parse(l), "host"));
  assert.ok(hosts.length >= 4 && !hosts.includes("example.test"), hosts.join(" "));
});

test("SDK: httpRequestOf, httpResponseOf, headerValue(s), isIPHost, hostWithoutPort", async () => {
  const h = await import("../engine/sdk/helpers");
  const { out } = craftedHttp([
    [true, "GET /p HTTP/1.1\r\nHost: [::1]:8080\r\nuser-agent: curl/8\r\nX-A: 1\r\nx-a: 2\r\n\r\n"],
    [false, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"],
  ]);
  const byKind = (k: Ev) => out.filter((e) => e.kind === k).map((e) => e.ev);
  const [all1, all2] = byKind(Ev.HTTP);
  const [req] = byKind(Ev.HTTPRequest);
  const [resp] = byKind(Ev.HTTPResponse);
  assert.equal(h.httpRequestOf(req)!.uri_path, "/p");
  assert.equal(h.httpRequestOf(all1)!.host, "[::1]:8080");
  assert.equal(h.httpRequestOf(all2), undefined);
  assert.equal(h.httpRequestOf(resp), undefined);
  assert.equal(h.httpResponseOf(resp)!.status_code, 404);
  assert.equal(h.httpResponseOf(all2)!.status, "404 Not Found");
  assert.equal(h.httpResponseOf(req), undefined);
  assert.deepEqual(h.getHTTPRequest(req), h.httpRequestOf(req));
  assert.equal(h.getProtoHTTP(all1).direction, "request");
  assert.equal(h.getHTTPResponse(resp).content_length, 0);
  const hd = h.httpRequestOf(req)!.headers;
  assert.equal(h.headerValue(hd, "User-Agent"), "curl/8");
  assert.equal(h.headerValue(hd, "user-agent"), "curl/8");
  assert.equal(h.headerValue(hd, "Cookie"), undefined);
  assert.deepEqual(h.headerValues(hd, "X-A"), ["1", "2"]);
  assert.deepEqual(h.headerValues(null, "X-A"), []);
  // PktMeta of net_packet_http: TCP
  assert.equal(h.getPacketMetadata(all1).protocol, 6);
  for (const [host, ip, bare] of [
    ["127.0.0.1", true, "127.0.0.1"],
    ["127.0.0.1:80", true, "127.0.0.1"],
    ["[::1]:8080", true, "::1"],
    ["[fe80::1]", true, "fe80::1"],
    ["::1", true, "::1"],
    ["Example.COM:80", false, "example.com"],
    ["1.2.3", false, "1.2.3"],
    ["300.1.1.1", false, "300.1.1.1"],
    ["", false, ""],
  ] as [string, boolean, string][]) {
    assert.equal(h.isIPHost(host), ip, host);
    assert.equal(h.hostWithoutPort(host), bare, host);
  }
});
