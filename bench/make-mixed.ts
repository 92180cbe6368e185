// Builds the mixed HTTP/TLS capture that `npm run bench` replays (issue 16).
//
//   node dist/bench/make-mixed.js OUT.pcap [--packets N] [--force]
//
// Two steps, both cached under bench/out/ by a version key (MIXED_VERSION):
//
// 1. The seed: real traffic recorded once. In a network namespace the script
//    creates (lo at MTU 1500 with gso_max_segs 1, so TCP is cut in
//    Ethernet-sized segments as on a real link, not in 64 KiB super-segments),
//    it starts Python's http.server (HTTP/1.0, one request a connection), a
//    node HTTP and HTTPS server (HTTP/1.1 keep-alive; TLS 1.2 and 1.3, ALPN
//    http/1.1) and two `openssl s_server -www`, on 127.0.0.1 and ::1, and
//    runs a fixed list of clients four at a time: curl (keep-alive and
//    Connection: close, POST, a request with a 3 KB cookie that spans three
//    segments, browser-like user agents), wget, Python's urllib, curl over
//    TLS 1.2 and 1.3 with SNI and ALPN, `openssl s_client` handshakes with
//    and without SNI. tcpdump records lo; a run with kernel drops is an error.
// 2. The capture: the seed repeated until it holds --packets packets (default
//    300000). Copy k moves each flow's client to an address of its own
//    (127.1.x.y, fd00:6e73::x), with every IPv4 and TCP checksum computed
//    again, and is shifted in time by k/copies of the seed's duration, so the
//    copies' flows interleave as a busy host's would. The result is the same
//    bytes on each machine that has the same seed, and whole flows only.
//
// Root is needed (a namespace, tcpdump); so are curl, wget, openssl, python3
// and tcpdump. `mixedSkipReason()` says what is missing.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** bump when the seed's traffic or the way it is repeated changes: the cache is then rebuilt */
export const MIXED_VERSION = 1;
export const DEFAULT_MIXED_PACKETS = 300_000;
/** the servers' ports: a packet's other end is the client */
const PY_HTTP = 8000;
const NODE_HTTP = 8080;
const NODE_HTTPS = 8443;
const S_SERVER = 4433;
const SERVER_PORTS = new Set([PY_HTTP, NODE_HTTP, NODE_HTTPS, S_SERVER]);
const CONCURRENCY = 4;

export interface MixedMeta {
  version: number;
  packetsRequested: number;
  packets: number;
  seedPackets: number;
  seedFlows: number;
  seedSeconds: number;
  copies: number;
  jobs: Record<string, number>;
  /** tshark's count on the seed (when tshark is installed): what the traffic holds */
  seedContent?: Record<string, number>;
  bytes: number;
  created: string;
}

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** why the mixed capture cannot be built here, or "" */
export function mixedSkipReason(): string {
  if (process.getuid?.() !== 0) return "recording it needs root (a network namespace and tcpdump)";
  for (const t of ["ip", "tcpdump", "curl", "wget", "openssl", "python3"]) if (!has(t)) return `${t} is not installed`;
  return "";
}

// ---------------------------------------------------------------- the seed

interface Job {
  kind: string;
  cmd: string;
  args: string[];
}

const NAMES = [
  "api.example.test",
  "cdn.example.test",
  "login.example.test",
  "www.example.test",
  "metrics.example.test",
  "files.example.test",
];
const PATHS = [
  "/",
  "/api/items?page=1",
  "/page.html",
  "/static/app.js",
  "/chunked",
  "/api/items?page=2&sort=desc",
  "/missing",
  "/redirect",
  "/big.bin",
  "/api/users/7",
];
const BROWSER_UA = [
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
  "kube-probe/1.29",
  "Go-http-client/1.1",
];

/** The clients run against the servers, in a fixed order (the same list on every machine). */
export function seedJobs(scale = 1): Job[] {
  const jobs: Job[] = [];
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const curlBase = ["-s", "-o", "/dev/null", "--max-time", "10"];
  for (const [fam, host, bracket] of [
    ["4", "127.0.0.1", "127.0.0.1"],
    ["6", "::1", "[::1]"],
  ] as const) {
    const url = (port: number, p: string) => `http://${bracket}:${port}${p}`;
    const pick = (i: number, k: number) => PATHS.filter((_, j) => (j + i) % 3 !== 0).slice(0, k);
    // curl, keep-alive: several requests on one connection
    for (let i = 0; i < n(20); i++) {
      const urls = pick(i, 6).map((p) => url(NODE_HTTP, p));
      jobs.push({ kind: "curl keep-alive", cmd: "curl", args: ["-s", "--max-time", "10", ...urls.flatMap((u) => ["-o", "/dev/null", u])] });
    }
    // curl, one request, Connection: close, a browser's user agent
    for (let i = 0; i < n(15); i++) {
      const ua = BROWSER_UA[i % BROWSER_UA.length] as string;
      jobs.push({
        kind: "curl close",
        cmd: "curl",
        args: [
          ...curlBase,
          "-A",
          ua,
          "-H",
          "Connection: close",
          "-H",
          "Accept: text/html",
          url(NODE_HTTP, PATHS[i % PATHS.length] as string),
        ],
      });
    }
    // curl POST of a JSON body, then a GET on the same connection
    for (let i = 0; i < n(10); i++) {
      jobs.push({
        kind: "curl post",
        cmd: "curl",
        args: [
          ...curlBase,
          "-H",
          "Content-Type: application/json",
          "-d",
          JSON.stringify({ name: `item-${i}`, tags: ["a", "b", "c"], note: "x".repeat(40 * (i + 1)) }),
          url(NODE_HTTP, "/api/items"),
          "--next",
          ...curlBase,
          url(NODE_HTTP, `/api/items/${i}`),
        ],
      });
    }
    // a header block of ~3.5 KB: the request spans three segments
    for (let i = 0; i < n(8); i++) {
      jobs.push({
        kind: "curl large header",
        cmd: "curl",
        args: [
          ...curlBase,
          "-H",
          `Cookie: session=${"s".repeat(1500)}${i}; prefs=${"p".repeat(1500)}`,
          "-H",
          `X-Request-Id: req-${fam}-${i}`,
          "-H",
          `Authorization: Bearer ${"t".repeat(300)}`,
          url(NODE_HTTP, "/api/items?page=3"),
        ],
      });
    }
    // wget, keep-alive over three URLs
    for (let i = 0; i < n(8); i++) {
      jobs.push({ kind: "wget", cmd: "wget", args: ["-q", "-O", "/dev/null", ...pick(i + 1, 3).map((p) => url(NODE_HTTP, p))] });
    }
    // Python's urllib: a connection per request (Connection: close)
    for (let i = 0; i < n(8); i++) {
      const urls = [url(NODE_HTTP, "/api/items?page=9"), url(NODE_HTTP, "/static/app.js")];
      jobs.push({
        kind: "python urllib",
        cmd: "python3",
        args: ["-c", `import urllib.request as u\nfor x in ${JSON.stringify(urls)}:\n  u.urlopen(x, timeout=10).read()`],
      });
    }
    // Python's http.server: HTTP/1.0 answers, the server closes each connection
    for (let i = 0; i < n(8); i++) {
      const urls = ["/", "/small.txt", "/data.json", "/big.bin"].slice(0, 2 + (i % 3)).map((p) => url(PY_HTTP, p));
      jobs.push({
        kind: "curl to http.server",
        cmd: "curl",
        args: ["-s", "--max-time", "10", ...urls.flatMap((u) => ["-o", "/dev/null", u])],
      });
    }
    for (let i = 0; i < n(4); i++) {
      jobs.push({
        kind: "wget to http.server",
        cmd: "wget",
        args: ["-q", "-O", "/dev/null", url(PY_HTTP, "/data.json"), url(PY_HTTP, "/small.txt")],
      });
    }
    // HTTPS to node, keep-alive, SNI from the URL's name, TLS 1.3 and 1.2
    for (let i = 0; i < n(24); i++) {
      const name = NAMES[i % NAMES.length] as string;
      const v = i % 2 === 0 ? ["--tlsv1.3"] : ["--tlsv1.2", "--tls-max", "1.2"];
      const alpn = i % 4 === 1 ? ["--http1.1"] : [];
      const urls = pick(i, 2 + (i % 3)).map((p) => `https://${name}:${NODE_HTTPS}${p}`);
      jobs.push({
        kind: "curl https",
        cmd: "curl",
        args: [
          "-sk",
          "--max-time",
          "10",
          ...v,
          ...alpn,
          "--resolve",
          `${name}:${NODE_HTTPS}:${host}`,
          ...urls.flatMap((u) => ["-o", "/dev/null", u]),
        ],
      });
    }
    // HTTPS to openssl s_server -www (one request a connection)
    for (let i = 0; i < n(16); i++) {
      const name = NAMES[(i + 2) % NAMES.length] as string;
      const v = i % 2 === 0 ? ["--tlsv1.3"] : ["--tlsv1.2", "--tls-max", "1.2"];
      jobs.push({
        kind: "curl https s_server",
        cmd: "curl",
        args: [...curlBase, "-k", ...v, "--resolve", `${name}:${S_SERVER}:${host}`, `https://${name}:${S_SERVER}/`],
      });
    }
    // handshakes only: openssl s_client, SNI and ALPN, TLS 1.2 and 1.3, some without SNI
    for (let i = 0; i < n(28); i++) {
      const port = i % 4 === 3 ? NODE_HTTPS : S_SERVER;
      const sni = i % 7 === 6 ? ["-noservername"] : ["-servername", NAMES[i % NAMES.length] as string];
      const alpn = i % 3 === 0 ? ["-alpn", "h2,http/1.1"] : i % 3 === 1 ? ["-alpn", "http/1.1"] : [];
      jobs.push({
        kind: "openssl s_client",
        cmd: "openssl",
        args: ["s_client", "-connect", `${bracket}:${port}`, ...sni, ...alpn, i % 2 === 0 ? "-tls1_3" : "-tls1_2", "-brief"],
      });
    }
    // wget over TLS to an address (no SNI)
    for (let i = 0; i < n(4); i++) {
      jobs.push({
        kind: "wget https",
        cmd: "wget",
        args: ["-q", "--no-check-certificate", "-O", "/dev/null", `https://${bracket}:${NODE_HTTPS}/api/items?page=${i}`],
      });
    }
  }
  return jobs;
}

const NODE_SERVER = `"use strict";
const http = require("node:http"), https = require("node:https"), fs = require("node:fs");
const dir = process.argv[2];
const tls = { key: fs.readFileSync(dir + "/key.pem"), cert: fs.readFileSync(dir + "/cert.pem"), ALPNProtocols: ["http/1.1"], minVersion: "TLSv1.2" };
const text = (n) => "netsig bench body ".repeat(Math.ceil(n / 18)).slice(0, n);
function handler(req, res) {
  let got = 0;
  req.on("data", (d) => { got += d.length; });
  req.on("end", () => {
    const u = req.url;
    if (req.method === "POST") {
      res.writeHead(201, { "Content-Type": "application/json", Location: "/api/items/42" });
      res.end(JSON.stringify({ id: 42, received: got }));
    } else if (u.startsWith("/missing")) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\\n");
    } else if (u.startsWith("/redirect")) {
      res.writeHead(302, { Location: "/page.html", "Content-Length": 0 });
      res.end();
    } else if (u.startsWith("/chunked")) {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write(text(700));
      res.write(text(2000));
      res.end(text(300));
    } else {
      const n = u.startsWith("/big") ? 65536 : u.startsWith("/static") ? 16384 : u.startsWith("/page") ? 8192 : u.startsWith("/api") ? 1024 : 300;
      res.writeHead(200, {
        "Content-Type": u.startsWith("/api") ? "application/json" : "text/html; charset=utf-8",
        "Content-Length": n,
        "Cache-Control": "max-age=60",
        "Set-Cookie": "sid=abc123; Path=/; HttpOnly",
      });
      res.end(text(n));
    }
  });
}
http.createServer(handler).listen({ port: ${NODE_HTTP}, host: "::", ipv6Only: false });
https.createServer(tls, handler).listen({ port: ${NODE_HTTPS}, host: "::", ipv6Only: false });
`;

function runJob(job: Job, log: (l: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const c = spawn(job.cmd, job.args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr?.on("data", (d: Buffer) => {
      if (err.length < 2000) err += d.toString();
    });
    const t = setTimeout(() => c.kill("SIGKILL"), 20_000);
    c.on("error", (e) => {
      clearTimeout(t);
      log(`make-mixed: ${job.kind}: ${e.message}`);
      resolve();
    });
    c.on("close", (code) => {
      clearTimeout(t);
      // s_client -brief prints its summary on stderr and exits 0; the others are quiet
      if (code !== 0) log(`make-mixed: ${job.kind} exited ${code}: ${err.trim().split("\n").slice(-1)[0] ?? ""}`);
      resolve();
    });
  });
}

function waitPort(host: string, port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = net.connect({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${host}:${port}`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

function stopChild(c: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
    c.kill(signal);
  });
}

/** Inside the namespace: servers, tcpdump on lo, the clients. Writes `out` (the seed). */
async function recordInside(out: string, scale: number, log: (l: string) => void): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netsig-mixed-"));
  const children: ChildProcess[] = [];
  try {
    const r = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "cert.pem"),
        "-days",
        "30",
        "-subj",
        "/CN=example.test",
        "-addext",
        "subjectAltName=DNS:*.example.test,DNS:example.test,IP:127.0.0.1,IP:::1",
      ],
      { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
    const www = path.join(dir, "www");
    fs.mkdirSync(www);
    const body = (n: number) => "netsig bench file ".repeat(Math.ceil(n / 18)).slice(0, n);
    fs.writeFileSync(path.join(www, "index.html"), `<html><body>${body(900)}</body></html>\n`);
    fs.writeFileSync(path.join(www, "small.txt"), body(200));
    fs.writeFileSync(
      path.join(www, "data.json"),
      JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `n${i}` })) }),
    );
    fs.writeFileSync(path.join(www, "big.bin"), body(40_000));
    fs.writeFileSync(path.join(dir, "server.js"), NODE_SERVER);

    const start = (cmd: string, args: string[]) => {
      const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "ignore"] });
      children.push(c);
      return c;
    };
    start("python3", ["-m", "http.server", String(PY_HTTP), "--bind", "127.0.0.1", "--directory", www]);
    start("python3", ["-m", "http.server", String(PY_HTTP), "--bind", "::1", "--directory", www]);
    start(process.execPath, [path.join(dir, "server.js"), dir]);
    for (const acc of [`127.0.0.1:${S_SERVER}`, `[::1]:${S_SERVER}`]) {
      const c = spawn(
        "openssl",
        [
          "s_server",
          "-accept",
          acc,
          "-cert",
          path.join(dir, "cert.pem"),
          "-key",
          path.join(dir, "key.pem"),
          "-www",
          "-alpn",
          "http/1.1",
          "-quiet",
        ],
        { stdio: ["pipe", "ignore", "ignore"] }, // stdin open: s_server stops at its EOF
      );
      children.push(c);
    }
    for (const [h, p] of [
      ["127.0.0.1", PY_HTTP],
      ["::1", PY_HTTP],
      ["127.0.0.1", NODE_HTTP],
      ["::1", NODE_HTTPS],
      ["127.0.0.1", S_SERVER],
      ["::1", S_SERVER],
    ] as const) {
      await waitPort(h, p, 15_000);
    }

    const partial = `${out}.partial`;
    const td = spawn("tcpdump", ["-i", "lo", "-n", "-s", "262144", "-B", "65536", "-U", "-w", partial, "tcp"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let tdErr = "";
    td.stderr?.on("data", (d: Buffer) => {
      tdErr += d.toString();
    });
    const until = Date.now() + 15_000;
    while (!/listening on/.test(tdErr)) {
      if (td.exitCode !== null || Date.now() > until) throw new Error(`tcpdump did not start: ${tdErr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const jobs = seedJobs(scale);
    const t0 = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const j = jobs[next++] as Job;
        await runJob(j, log);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // let the last FINs and TIME_WAIT ACKs be written
    await new Promise((r) => setTimeout(r, 1000));
    await stopChild(td, "SIGINT");
    const dropped = /(\d+) packets? dropped by kernel/.exec(tdErr);
    const captured = /(\d+) packets? captured/.exec(tdErr);
    log(
      `make-mixed: ${jobs.length} client runs in ${((Date.now() - t0) / 1000).toFixed(1)} s; tcpdump: ${captured?.[1]} captured, ${dropped?.[1]} dropped by kernel`,
    );
    if (dropped?.[1] !== "0") throw new Error(`tcpdump dropped packets or did not say: ${tdErr}`);
    fs.renameSync(partial, out);
  } finally {
    for (const c of children) await stopChild(c);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Records the seed in a fresh network namespace (this script again, run inside it). */
export function recordSeed(out: string, scale = 1, log: (l: string) => void = console.log): void {
  const ns = `netsig-mix-${process.pid}`;
  const ip = (...args: string[]) => {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
  };
  ip("netns", "add", ns);
  try {
    ip("-n", ns, "link", "set", "lo", "up");
    // Ethernet-sized segments: MTU 1500, and no GSO super-segments on lo
    ip("-n", ns, "link", "set", "lo", "mtu", "1500", "gso_max_segs", "1");
    const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, __filename, "--inside", out, "--scale", String(scale)], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
      maxBuffer: 16 << 20,
    });
    for (const l of r.stdout.split("\n")) if (l) log(l);
    if (r.status !== 0) throw new Error(`recording the seed failed (status ${r.status})`);
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

// ---------------------------------------------------------------- pcap

export interface PcapFile {
  linktype: number;
  snaplen: number;
  /** timestamps in microseconds */
  ts: number[];
  data: Buffer[];
  orig: number[];
}

export function readPcap(file: string): PcapFile {
  const b = fs.readFileSync(file);
  const magic = b.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  if (magic !== 0xa1b2c3d4 && !nano) throw new Error(`${file}: not a little-endian pcap file`);
  const f: PcapFile = { linktype: b.readUInt32LE(20), snaplen: b.readUInt32LE(16), ts: [], data: [], orig: [] };
  let off = 24;
  while (off + 16 <= b.length) {
    const sec = b.readUInt32LE(off);
    const frac = b.readUInt32LE(off + 4);
    const incl = b.readUInt32LE(off + 8);
    const orig = b.readUInt32LE(off + 12);
    if (off + 16 + incl > b.length) break;
    f.ts.push(sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac));
    f.data.push(b.subarray(off + 16, off + 16 + incl));
    f.orig.push(orig);
    off += 16 + incl;
  }
  return f;
}

function sum16(b: Buffer, off: number, end: number, acc: number): number {
  let i = off;
  for (; i + 1 < end; i += 2) acc += (b[i] as number) * 256 + (b[i + 1] as number);
  if (i < end) acc += (b[i] as number) * 256;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 65536);
  return ~acc & 0xffff;
}

/**
 * Moves a packet's client (the end whose port is not a server's) to copy k's
 * address and computes the IPv4 and TCP checksums again. Returns false for
 * what it does not rewrite (not Ethernet/IPv4/IPv6/TCP, or cut short).
 */
export function moveClient(p: Buffer, k: number, complete: boolean): boolean {
  if (p.length < 14) return false;
  const et = p.readUInt16BE(12);
  const ip = 14;
  let tcp: number;
  let tcpEnd: number;
  let client: number;
  let pseudo: number;
  if (et === 0x0800) {
    const ihl = ((p[ip] as number) & 15) * 4;
    if (p[ip + 9] !== 6 || p.length < ip + ihl + 20) return false;
    tcp = ip + ihl;
    tcpEnd = ip + p.readUInt16BE(ip + 2);
    client = SERVER_PORTS.has(p.readUInt16BE(tcp)) ? ip + 16 : ip + 12;
    // 127.1.x.y, x.y = k + 1
    p[client + 1] = 1;
    p[client + 2] = ((k + 1) >> 8) & 255;
    p[client + 3] = (k + 1) & 255;
    p.writeUInt16BE(0, ip + 10);
    p.writeUInt16BE(fold(sum16(p, ip, ip + ihl, 0)), ip + 10);
    pseudo = sum16(p, ip + 12, ip + 20, 0) + 6 + (tcpEnd - tcp);
  } else if (et === 0x86dd) {
    if (p[ip + 6] !== 6 || p.length < ip + 40 + 20) return false;
    tcp = ip + 40;
    tcpEnd = tcp + p.readUInt16BE(ip + 4);
    client = SERVER_PORTS.has(p.readUInt16BE(tcp)) ? ip + 24 : ip + 8;
    // fd00:6e73::(k+1)
    p.fill(0, client, client + 16);
    p.writeUInt16BE(0xfd00, client);
    p.writeUInt16BE(0x6e73, client + 2);
    p.writeUInt16BE(k + 1, client + 14);
    pseudo = sum16(p, ip + 8, ip + 40, 0) + 6 + (tcpEnd - tcp);
  } else {
    return false;
  }
  if (!complete || tcpEnd > p.length) return true;
  p.writeUInt16BE(0, tcp + 16);
  p.writeUInt16BE(fold(sum16(p, tcp, tcpEnd, pseudo)), tcp + 16);
  return true;
}

/** The seed repeated `copies` times (see the header), written to `out` as pcap. */
export function multiply(seed: PcapFile, copies: number, out: string): number {
  if (copies > 65000) throw new Error("too many copies for the client addresses");
  const n = seed.ts.length;
  if (n === 0) throw new Error("the seed capture is empty");
  const t0 = seed.ts[0] as number;
  const span = (seed.ts[n - 1] as number) - t0;
  const stagger = Math.max(1, Math.floor(span / copies));
  const order = new Uint32Array(n * copies);
  const at = new Float64Array(n * copies);
  for (let k = 0; k < copies; k++) {
    for (let i = 0; i < n; i++) {
      order[k * n + i] = k * n + i;
      at[k * n + i] = (seed.ts[i] as number) + k * stagger;
    }
  }
  // ties keep copy order, then packet order: deterministic
  order.sort((a, b) => (at[a] as number) - (at[b] as number) || a - b);
  const fd = fs.openSync(`${out}.partial`, "w");
  try {
    const head = Buffer.alloc(24);
    head.writeUInt32LE(0xa1b2c3d4, 0);
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
    head.writeUInt32LE(seed.snaplen, 16);
    head.writeUInt32LE(seed.linktype, 20);
    const chunks: Buffer[] = [head];
    let size = 24;
    for (const e of order) {
      const k = Math.floor(e / n);
      const i = e - k * n;
      const src = seed.data[i] as Buffer;
      const rec = Buffer.allocUnsafe(16 + src.length);
      const t = at[e] as number;
      rec.writeUInt32LE(Math.floor(t / 1e6), 0);
      rec.writeUInt32LE(t % 1e6, 4);
      rec.writeUInt32LE(src.length, 8);
      rec.writeUInt32LE(seed.orig[i] as number, 12);
      src.copy(rec, 16);
      if (seed.linktype === 1) moveClient(rec.subarray(16), k, src.length === seed.orig[i]);
      chunks.push(rec);
      size += rec.length;
      if (size > 8 << 20) {
        fs.writeSync(fd, Buffer.concat(chunks));
        chunks.length = 0;
        size = 0;
      }
    }
    if (chunks.length) fs.writeSync(fd, Buffer.concat(chunks));
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${out}.partial`, out);
  return n * copies;
}

// ---------------------------------------------------------------- the cache

function tsharkCount(file: string, filter: string): number {
  const r = spawnSync("tshark", ["-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number"], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return r.status === 0 ? r.stdout.split("\n").filter((l) => l.trim()).length : NaN;
}

function flowCount(seed: PcapFile): number {
  // SYNs without ACK
  let syns = 0;
  for (const p of seed.data) {
    const et = p.length >= 14 ? p.readUInt16BE(12) : 0;
    const tcp = et === 0x0800 ? 14 + ((p[14] as number) & 15) * 4 : et === 0x86dd ? 54 : -1;
    if (tcp > 0 && p.length >= tcp + 14 && ((p[tcp + 13] as number) & 0x12) === 0x02) syns++;
  }
  return syns;
}

export interface MakeMixedOptions {
  out: string;
  packets?: number;
  force?: boolean;
  /** the seed's size (1: the full client list; tests use less) */
  scale?: number;
  log?: (l: string) => void;
}

/** Builds (or reuses) the mixed capture and returns its meta data. */
export function makeMixed(opts: MakeMixedOptions): MixedMeta {
  const log = opts.log ?? ((l: string) => console.log(l));
  const packets = opts.packets ?? DEFAULT_MIXED_PACKETS;
  const scale = opts.scale ?? 1;
  const out = path.resolve(opts.out);
  const metaPath = `${out}.meta.json`;
  if (!opts.force && fs.existsSync(out) && fs.existsSync(metaPath)) {
    try {
      const meta = JSON.parse(fs.readFileSync(metaPath, "utf8")) as MixedMeta;
      if (meta.version === MIXED_VERSION && meta.packetsRequested === packets) {
        log(`make-mixed: reusing ${out} (${meta.packets} packets, version ${meta.version}; --force to rebuild)`);
        return meta;
      }
    } catch {
      // rebuilt below
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const seedFile = path.join(path.dirname(out), `mixed-seed-v${MIXED_VERSION}${scale === 1 ? "" : `-x${scale}`}.pcap`);
  const t0 = Date.now();
  if (opts.force || !fs.existsSync(seedFile)) {
    log(`make-mixed: recording the seed (${seedJobs(scale).length} client runs) into ${seedFile}`);
    recordSeed(seedFile, scale, log);
  } else {
    log(`make-mixed: reusing the seed ${seedFile}`);
  }
  const seed = readPcap(seedFile);
  const copies = Math.max(1, Math.ceil(packets / seed.ts.length));
  const total = multiply(seed, copies, out);
  const jobs: Record<string, number> = {};
  for (const j of seedJobs(scale)) jobs[j.kind] = (jobs[j.kind] ?? 0) + 1;
  const meta: MixedMeta = {
    version: MIXED_VERSION,
    packetsRequested: packets,
    packets: total,
    seedPackets: seed.ts.length,
    seedFlows: flowCount(seed),
    seedSeconds: Math.round(((seed.ts[seed.ts.length - 1] as number) - (seed.ts[0] as number)) / 1e4) / 100,
    copies,
    jobs,
    bytes: fs.statSync(out).size,
    created: new Date().toISOString(),
  };
  if (has("tshark")) {
    meta.seedContent = {
      httpRequests: tsharkCount(seedFile, "http.request"),
      httpResponses: tsharkCount(seedFile, "http.response"),
      tlsClientHellos: tsharkCount(seedFile, "tls.handshake.type == 1"),
      tlsServerHellos: tsharkCount(seedFile, "tls.handshake.type == 2"),
    };
  }
  fs.writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  log(
    `make-mixed: wrote ${out}: ${total} packets (${copies} copies of a ${meta.seedPackets}-packet seed of ${meta.seedFlows} TCP flows over ${meta.seedSeconds} s; ` +
      `${(meta.bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      (meta.seedContent ? `; the seed per tshark: ${JSON.stringify(meta.seedContent)}` : ""),
  );
  return meta;
}

function usage(): never {
  console.error("usage: node dist/bench/make-mixed.js OUT.pcap [--packets N] [--scale X] [--force]");
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let out: string | undefined;
  let packets: number | undefined;
  let scale = 1;
  let force = false;
  let inside = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--packets") packets = Number(argv[++i]);
    else if (a === "--scale") scale = Number(argv[++i]);
    else if (a === "--force") force = true;
    else if (a === "--inside") inside = true;
    else if (a.startsWith("-") || out !== undefined) usage();
    else out = a;
  }
  if (!out || (packets !== undefined && !(packets > 0)) || !(scale > 0)) usage();
  if (inside) await recordInside(out, scale, (l) => console.log(l));
  else makeMixed({ out, packets, force, scale });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
