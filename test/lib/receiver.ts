// Test helpers for webhooks: a real HTTP(S) receiver on 127.0.0.1 that records
// every request, and netsig's CLI run as a child process (asynchronously, so
// the receiver in this process keeps answering).

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer as createHttp, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttps, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { CLI } from "./run";

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  url: string;
}
/**
 * status to answer (with headers, after delayMs), "hang" to never answer, or
 * "destroy" to destroy the connection once the request has arrived (the
 * client's request in flight fails)
 */
export type Answer = number | { status: number; headers?: Record<string, string>; delayMs?: number } | "hang" | "destroy";

export interface Receiver {
  port: number;
  reqs: Received[];
  close(): Promise<void>;
}

export function startReceiver(
  answer: (n: number, r: Received) => Answer = () => 200,
  o: { port?: number; tls?: ServerOptions } = {},
): Promise<Receiver> {
  const reqs: Received[] = [];
  const hanging: ServerResponse[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now(), url: req.url ?? "" };
      reqs.push(r);
      const a = answer(reqs.length, r);
      if (a === "hang") {
        hanging.push(res);
        return;
      }
      if (a === "destroy") {
        req.socket.destroy();
        return;
      }
      const { status, headers, delayMs } = typeof a === "number" ? { status: a, headers: {}, delayMs: 0 } : a;
      // a late answer to a client that gave up (timed out) goes nowhere
      const send = () => {
        if (!res.destroyed && !res.socket?.destroyed) res.writeHead(status, headers).end("{}");
      };
      if (!delayMs) return send();
      hanging.push(res);
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, delayMs);
      timers.add(t);
    });
  };
  const server = o.tls ? createHttps(o.tls, handler) : createHttp(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        reqs,
        close: () =>
          new Promise<void>((r) => {
            for (const t of timers) clearTimeout(t);
            for (const h of hanging) h.destroy();
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

export interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

export function netsigAsync(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((r) =>
    child.on("close", (code, signal) => r({ code, signal, stdout, stderr })),
  );
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

/** a test CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl in `dir` */
export function makeTestCerts(dir: string): { ca: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string } {
  const ossl = (...a: string[]) => execFileSync("openssl", a, { cwd: dir, stdio: "pipe" });
  ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=netsig test CA");
  for (const who of ["server", "client"]) {
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=${who}`);
    writeFileSync(
      join(dir, `${who}.ext`),
      who === "server" ? "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" : "extendedKeyUsage=clientAuth\n",
    );
    ossl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${who}.pem`,
      "-days",
      "2",
      "-extfile",
      `${who}.ext`,
    );
  }
  const f = (n: string) => join(dir, n);
  return {
    ca: f("ca.pem"),
    serverKey: f("server.key"),
    serverCert: f("server.pem"),
    clientKey: f("client.key"),
    clientCert: f("client.pem"),
  };
}
