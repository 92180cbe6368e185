// Test helpers for webhooks: a real HTTP(S) receiver on 127.0.0.1 that records
// every request, and netsig's CLI run as a child process (asynchronously, so
// the receiver in this process keeps answering).

import { spawn, type ChildProcess } from "node:child_process";
import { createServer as createHttp, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttps, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { CLI } from "./run";

export interface Received { headers: IncomingHttpHeaders; body: string; at: number; url: string }
/** status to answer (and headers), or "hang" to never answer */
export type Answer = number | { status: number; headers?: Record<string, string> } | "hang";

export interface Receiver {
  port: number;
  reqs: Received[];
  close(): Promise<void>;
}

export function startReceiver(answer: (n: number, r: Received) => Answer = () => 200, o: { port?: number; tls?: ServerOptions } = {}): Promise<Receiver> {
  const reqs: Received[] = [];
  const hanging: ServerResponse[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now(), url: req.url ?? "" };
      reqs.push(r);
      const a = answer(reqs.length, r);
      if (a === "hang") { hanging.push(res); return; }
      const { status, headers } = typeof a === "number" ? { status: a, headers: {} } : a;
      res.writeHead(status, headers).end("{}");
    });
  };
  const server = o.tls ? createHttps(o.tls, handler) : createHttp(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve({
      port: (server.address() as AddressInfo).port,
      reqs,
      close: () => new Promise<void>((r) => { for (const h of hanging) h.destroy(); server.closeAllConnections(); server.close(() => r()); }),
    }));
  });
}

export interface Run { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> }

export function netsigAsync(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => { stdout += d; });
  child.stderr!.on("data", (d: Buffer) => { stderr += d; });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((r) =>
    child.on("close", (code, signal) => r({ code, signal, stdout, stderr })));
  return { child, done };
}

export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}
