// Test helpers for HTTP traffic: servers (a small node HTTP/1.1 server,
// Python's http.server) and clients (curl, wget) on loopback, recorded with
// tcpdump, on the host's `lo` or in a network namespace the test creates (its
// own `lo`, with a small MTU so header blocks span several segments), and
// tshark's dissection of the capture as one message per HTTP request or response.
//
// Importing this file starts nothing: every child is started by a call and
// stopped by the test (stopAll), by its own process id.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { LinkType } from "../../engine/capture/types";
import { Ev } from "../../engine/types/events";
import * as craft from "../../tools/lib/craft";
import { eventsOf } from "./run";

const children = new Set<ChildProcess>();

/** a command's prefix that runs it in network namespace `ns` (none: the host's) */
export const inNs = (ns: string | null, cmd: string, args: string[]): [string, string[]] =>
  ns === null ? [cmd, args] : ["ip", ["netns", "exec", ns, cmd, ...args]];

export function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** start a long-running child; resolves once its output matches `ready` */
export function startChild(cmd: string, args: string[], ready: RegExp, env?: Record<string, string>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    children.add(c);
    let text = "";
    const t = setTimeout(() => reject(new Error(`${cmd} ${args.join(" ")}: not ready in 15 s:\n${text}`)), 15_000);
    const on = (d: Buffer) => {
      text += d.toString();
      if (ready.test(text)) {
        clearTimeout(t);
        resolve(c);
      }
    };
    c.stdout?.on("data", on);
    c.stderr?.on("data", on);
    c.once("exit", (code) => {
      children.delete(c);
      clearTimeout(t);
      reject(new Error(`${cmd} ${args.join(" ")} exited (${code}) before it was ready:\n${text}`));
    });
  });
}

export function stopChild(c: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) {
      children.delete(c);
      resolve();
      return;
    }
    const t = setTimeout(() => {
      if (c.pid !== undefined) process.kill(c.pid, "SIGKILL");
    }, 5000);
    c.once("exit", () => {
      clearTimeout(t);
      children.delete(c);
      resolve();
    });
    process.kill(c.pid, signal);
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, "SIGKILL")));
}

/** tcpdump on `lo` (of namespace `ns`) writing `file`; stop() waits for the file to settle and ends it */
export async function capture(ns: string | null, file: string, filter: string): Promise<{ stop(): Promise<void> }> {
  const [cmd, args] = inNs(ns, "tcpdump", ["-i", "lo", "-w", file, "-n", "-s", "262144", "-U", "--immediate-mode", "-B", "32768", filter]);
  const c = await startChild(cmd, args, /listening on/);
  return {
    async stop() {
      let last = -1;
      for (let i = 0; i < 40; i++) {
        const size = existsSync(file) ? statSync(file).size : 0;
        if (size === last) break;
        last = size;
        await new Promise((r) => setTimeout(r, 100));
      }
      await stopChild(c, "SIGINT");
    },
  };
}

/**
 * A node HTTP/1.1 server (keep-alive, chunked request bodies, HEAD) with routes
 * for the cases: /204, /etag (304 when If-None-Match: "v1"), /chunked (a
 * chunked response), /big (a response header of BIG bytes); anything else
 * answers "got METHOD <body bytes>" with a Content-Length
 */
export const NODE_SERVER = `
const http = require("http");
const big = "b".repeat(Number(process.env.BIG || 0));
const s = http.createServer({ maxHeaderSize: 65536 }, (req, res) => {
  let n = 0;
  req.on("data", (d) => { n += d.length; });
  req.on("end", () => {
    const u = req.url.split("?")[0];
    if (u === "/204") { res.writeHead(204); res.end(); return; }
    if (u === "/etag") {
      if (req.headers["if-none-match"] === '"v1"') { res.writeHead(304, { ETag: '"v1"' }); res.end(); return; }
      res.writeHead(200, { ETag: '"v1"', "Content-Length": 3 }); res.end("abc"); return;
    }
    if (u === "/chunked") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("a".repeat(3000));
      setTimeout(() => { res.write("b".repeat(5000)); res.end("c"); }, 5);
      return;
    }
    if (u === "/big") res.setHeader("X-Big", big);
    const body = "got " + req.method + " " + n + "\\n";
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  });
});
s.keepAliveTimeout = 2000;
s.listen(Number(process.env.PORT), process.env.HOST, () => console.log("listening " + s.address().port));
`;

export async function startNodeServer(ns: string | null, host: string, port: number, big = 0): Promise<ChildProcess> {
  const [cmd, args] = inNs(ns, process.execPath, ["-e", NODE_SERVER]);
  return startChild(cmd, args, /listening \d+/, { PORT: String(port), HOST: host, BIG: String(big) });
}

/** Python's http.server (HTTP/1.0 responses) serving `dir`, dual-stack on `port` */
export async function startPythonServer(ns: string | null, dir: string, port: number): Promise<ChildProcess> {
  const [cmd, args] = inNs(ns, "python3", ["-u", "-m", "http.server", String(port), "--bind", "::", "--directory", dir]);
  return startChild(cmd, args, /Serving HTTP/);
}

/** a free TCP port on the host (bound and released: the caller binds it next) */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "::", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** one HTTP message as tshark dissects it */
export interface TsharkHttp {
  frame: number;
  stream: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  request: boolean;
  method?: string;
  uri?: string;
  version: string;
  host?: string;
  code?: number;
  phrase?: string;
  contentLength?: string;
  transferEncoding?: string;
  /** the header lines, "Name: value\r\n" each */
  lines: string[];
}

const FIELDS = [
  "frame.number",
  "tcp.stream",
  "ip.src",
  "ip.dst",
  "ipv6.src",
  "ipv6.dst",
  "tcp.srcport",
  "tcp.dstport",
  "http.request.method",
  "http.request.uri",
  "http.request.version",
  "http.host",
  "http.response.version",
  "http.response.code",
  "http.response.phrase",
  "http.content_length_header",
  "http.transfer_encoding",
  "http.request.line",
  "http.response.line",
];

/** tshark's HTTP messages of a capture, in frame order (one per frame: the tests keep it so) */
export async function tsharkHttp(file: string, extra: string[] = []): Promise<TsharkHttp[]> {
  const args = ["-r", file, "-Y", "http", "-T", "json", ...extra];
  for (const f of FIELDS) args.push("-e", f);
  const r = await sh("tshark", args, 120_000);
  if (r.code !== 0) throw new Error(`tshark: ${r.stderr}`);
  const out: TsharkHttp[] = [];
  for (const x of JSON.parse(r.stdout) as { _source: { layers: Record<string, string[]> } }[]) {
    const l = x._source.layers;
    const one = (k: string) => l[k]?.[0];
    const request = l["http.request.method"] !== undefined;
    if (!request && l["http.response.code"] === undefined) continue;
    if ((l["http.request.method"]?.length ?? 0) + (l["http.response.code"]?.length ?? 0) > 1)
      throw new Error(`frame ${one("frame.number")}: several HTTP messages in one frame`);
    out.push({
      frame: Number(one("frame.number")),
      stream: Number(one("tcp.stream")),
      src: one("ip.src") ?? one("ipv6.src") ?? "",
      dst: one("ip.dst") ?? one("ipv6.dst") ?? "",
      srcPort: Number(one("tcp.srcport")),
      dstPort: Number(one("tcp.dstport")),
      request,
      method: one("http.request.method"),
      uri: one("http.request.uri"),
      version: (request ? one("http.request.version") : one("http.response.version")) ?? "",
      host: one("http.host"),
      code: l["http.response.code"] ? Number(one("http.response.code")) : undefined,
      phrase: one("http.response.phrase"),
      contentLength: one("http.content_length_header"),
      transferEncoding: one("http.transfer_encoding"),
      lines: (request ? l["http.request.line"] : l["http.response.line"]) ?? [],
    });
  }
  return out;
}

// ---- crafted TCP streams through the pipeline (no capture: the unit tests' and Tracee choices')

/** one segment of a crafted flow: from the client (true) or the server, its bytes */
export type Segment = [fromClient: boolean, data: Buffer | string];

/**
 * A TCP flow 127.0.0.1:40000 -> 127.0.0.1:port (handshake, then each segment
 * in order, the sequence numbers following) through netsig's pipeline; the
 * net_packet_http values, in order, and the pipeline (its flow stats)
 */
export function craftedHttp(segments: Segment[], opts: { port?: number; v6?: boolean } = {}) {
  const port = opts.port ?? 8080;
  const c = opts.v6 ? "::1" : "127.0.0.1";
  let cseq = 1000;
  let sseq = 5000;
  const pkt = (fromClient: boolean, flags: number, data: Buffer) => {
    const seg = craft.tcp(
      { srcPort: fromClient ? 40000 : port, dstPort: fromClient ? port : 40000, seq: fromClient ? cseq : sseq, ack: 1, flags },
      data,
    );
    return opts.v6 ? craft.ipv6({ src: c, dst: c, nextHeader: 6 }, seg) : craft.ipv4({ src: c, dst: c, protocol: 6 }, seg);
  };
  const packets: { data: Buffer }[] = [];
  packets.push({ data: pkt(true, 0x02, Buffer.alloc(0)) });
  cseq++;
  packets.push({ data: pkt(false, 0x12, Buffer.alloc(0)) });
  sseq++;
  for (const [fromClient, d] of segments) {
    const data = typeof d === "string" ? Buffer.from(d, "latin1") : d;
    packets.push({ data: pkt(fromClient, 0x18, data) });
    if (fromClient) cseq += data.length;
    else sseq += data.length;
  }
  const mask = (1 << Ev.HTTP) | (1 << Ev.HTTPRequest) | (1 << Ev.HTTPResponse);
  const r = eventsOf(LinkType.RAW, packets, mask);
  const http = r.out
    .filter((e) => e.kind === Ev.HTTP)
    .map((e) => e.ev.args.find((a) => a.name === "proto_http")!.value as Record<string, any>);
  return { http, out: r.out, pipeline: r.pipeline };
}
