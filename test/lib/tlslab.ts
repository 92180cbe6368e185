// TLS lab for the tests: real TLS traffic recorded with tcpdump, and the
// hellos in it as netsig and as tshark see them.
//
// - record(): openssl s_server (a self-signed certificate made with openssl)
//   and real clients (curl, wget, openssl s_client), over 127.0.0.1/::1 on lo,
//   or inside a network namespace the lab creates whose lo carries small
//   segments (an MTU and gso_max_segs 1, so a hello is split across TCP
//   segments even on loopback, where GSO would otherwise hand tcpdump one
//   large packet); the namespace is deleted after.
// - netsigHellos(): the hello records of each packet, through the pipeline.
// - tsharkHellos(): the same fields from tshark's dissection of the same file.
//
// Every process started is killed by its own pid.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCapture } from "../../engine/capture/reader";
import { EventPipeline } from "../../engine/events/pipeline";
import { kindOfName } from "../../engine/events/registry";
import type { TLSClientHello, TLSServerHello } from "../../engine/types/events";
import type { AppRecord } from "../../engine/types/records";
import { type Node, Obj, parseOrderedJSON } from "./tshark";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** argv, run inside namespace `ns` when given */
const inNs = (ns: string | undefined, argv: string[]): string[] => (ns ? ["ip", "netns", "exec", ns, ...argv] : argv);

/** run a command to its end (killed after timeoutMs) */
export function run(argv: string[], opts: { ns?: string; timeoutMs?: number; input?: string } = {}): Promise<Ran> {
  const a = inNs(opts.ns, argv);
  return new Promise((resolve) => {
    const c = execFile(
      a[0],
      a.slice(1),
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 64 << 20, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === "number" ? code : null, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) c.stdin?.end(opts.input);
    else c.stdin?.end();
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** a long-running process, waited on until `ready` shows in its output */
export interface Proc {
  child: ChildProcess;
  output(): string;
  stop(sig?: NodeJS.Signals): Promise<void>;
}

export async function start(argv: string[], ready: RegExp, opts: { ns?: string; timeoutMs?: number } = {}): Promise<Proc> {
  const a = inNs(opts.ns, argv);
  const c = spawn(a[0], a.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  c.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  c.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((r) => c.once("exit", () => r()));
  const stop = async (sig: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, sig);
      } catch {
        /* gone */
      }
      await Promise.race([exited, sleep(5000)]);
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (!ready.test(out)) {
    if (c.exitCode !== null || c.signalCode !== null) throw new Error(`${argv.join(" ")} exited: ${out}`);
    if (Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`${argv.join(" ")} not ready: ${out}`);
    }
    await sleep(20);
  }
  return { child: c, output: () => out, stop };
}

export interface Cert {
  cert: string;
  key: string;
}

/** a self-signed certificate for `cn` (EC P-256) */
export async function makeCert(dir: string, cn: string): Promise<Cert> {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  const r = await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  if (r.code !== 0) throw new Error(`openssl req: ${r.stderr}`);
  return { cert, key };
}

/** a network namespace with lo up, an MTU and no GSO (segments as the MTU cuts them); delete() removes it */
export async function makeNetns(name: string, mtu: number): Promise<{ name: string; delete(): Promise<void> }> {
  await run(["ip", "netns", "del", name]);
  for (const argv of [
    ["ip", "netns", "add", name],
    ["ip", "-n", name, "link", "set", "lo", "up"],
    ["ip", "-n", name, "link", "set", "lo", "mtu", String(mtu)],
    ["ip", "-n", name, "link", "set", "lo", "gso_max_segs", "1"],
  ]) {
    const r = await run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  }
  return { name, delete: async () => void (await run(["ip", "netns", "del", name])) };
}

/** tcpdump on `iface` (in `ns`) to `file`; stop() ends it once the file stops growing */
export async function capture(file: string, filter: string, ns?: string, iface = "lo"): Promise<Proc> {
  return start(["tcpdump", "-i", iface, "-w", file, "-n", "-U", "--immediate-mode", "-s", "262144", filter], /listening on/, { ns });
}

export async function stopCapture(p: Proc): Promise<void> {
  await sleep(300);
  await p.stop("SIGINT");
}

/** a temporary directory, removed by the returned function */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** openssl s_server on `port` (address: "127.0.0.1" or "::1"), serving a page (-www); extra: more options */
export async function sServer(cert: Cert, port: number, extra: string[] = [], ns?: string, address?: string): Promise<Proc> {
  const accept = address === undefined ? String(port) : address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  return start(["openssl", "s_server", "-accept", accept, "-cert", cert.cert, "-key", cert.key, "-www", ...extra], /ACCEPT/, { ns });
}

// ---------------------------------------------------------------- the two sides

/** a hello as compared: which, and its fields */
export type Hello = ({ kind: "client"; hello: Omit<TLSClientHello, "ja4"> } | { kind: "server"; hello: TLSServerHello }) & {
  frame: number;
  /** tshark's tcp.stream (tshark's side only) */
  stream?: number;
};

/** the hello records netsig makes of a capture, with the number of the packet that completed each (from 1); ja4 kept aside */
export async function netsigHellos(file: string): Promise<{ hellos: Hello[]; ja4: Map<number, string>; records: AppRecord[] }> {
  const mask = (1 << kindOfName("net_packet_tls_client_hello")) | (1 << kindOfName("net_packet_tls_server_hello"));
  const hellos: Hello[] = [];
  const ja4 = new Map<number, string>();
  const records: AppRecord[] = [];
  const pipeline = new EventPipeline(mask, "h", () => undefined);
  pipeline.tap = (p, n) => {
    for (const r of p.records ?? []) {
      records.push(r);
      if (r.t === "tls_client_hello") {
        const { ja4: j, ...rest } = r.hello;
        ja4.set(n, j);
        hellos.push({ frame: n, kind: "client", hello: rest });
      } else if (r.t === "tls_server_hello") hellos.push({ frame: n, kind: "server", hello: r.hello });
    }
  };
  await readCapture(file, pipeline.onPacket);
  return { hellos, ja4, records };
}

const num = (s: string): number => (s.startsWith("0x") ? parseInt(s, 16) : Number(s));

/** every value under `key` in o and its subtrees, in document order */
function allDeep(o: Obj, key: string, out: string[] = []): string[] {
  for (const [k, v] of o.entries) {
    if (k === key) {
      if (typeof v === "string") out.push(v);
      else if (Array.isArray(v)) for (const x of v) if (typeof x === "string") out.push(x);
    } else if (v instanceof Obj) allDeep(v, key, out);
    else if (Array.isArray(v)) for (const x of v) if (x instanceof Obj) allDeep(x, key, out);
  }
  return out;
}

/** every object under `key` (a repeated key, or an array of objects), in o and its subtrees */
function objsDeep(o: Obj, key: string, out: Obj[] = []): Obj[] {
  for (const [k, v] of o.entries) {
    const items: Node[] = Array.isArray(v) ? v : [v];
    for (const x of items) {
      if (!(x instanceof Obj)) continue;
      if (k === key) out.push(x);
      else objsDeep(x, key, out);
    }
  }
  return out;
}

/** the extensions of a handshake: their subtrees ("Extension: name (len=N)") in order */
function extensionsOf(h: Obj): { type: number; tree: Obj }[] {
  const out: { type: number; tree: Obj }[] = [];
  for (const [k, v] of h.entries) {
    if (!k.startsWith("Extension: ") || !(v instanceof Obj)) continue;
    const t = v.str("tls.handshake.extension.type");
    if (t !== undefined) out.push({ type: num(t), tree: v });
  }
  return out;
}

/** the hellos tshark dissects in a capture (TLS decoded on `ports` too), with the fields netsig's records carry */
export async function tsharkHellos(file: string, ports: number[] = []): Promise<Hello[]> {
  const args = ["-r", file, "-T", "json", "-Y", "tcp && (tls.handshake.type == 1 || tls.handshake.type == 2)"];
  for (const p of ports) args.push("-d", `tcp.port==${p},tls`);
  const text = await new Promise<string>((resolve, reject) =>
    execFile("tshark", args, { maxBuffer: 1 << 30 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  const out: Hello[] = [];
  for (const pkt of parseOrderedJSON(text) as Obj[]) {
    const layers = (pkt.obj("_source") as Obj).obj("layers") as Obj;
    const frame = Number((layers.obj("frame") as Obj).str("frame.number"));
    const stream = Number((layers.obj("tcp") as Obj).str("tcp.stream"));
    for (const h of objsDeep(layers, "tls.handshake")) {
      const type = h.str("tls.handshake.type");
      const exts = extensionsOf(h);
      const ext = (t: number) => exts.find((e) => e.type === t)?.tree;
      const list = (t: number, key: string): number[] => {
        const tree = ext(t);
        return tree ? allDeep(tree, key).map(num) : [];
      };
      const version = num(h.str("tls.handshake.version") ?? "-1");
      if (type === "1") {
        const sni = ext(0);
        const alpn = ext(16);
        out.push({
          frame,
          stream,
          kind: "client",
          hello: {
            version,
            versions: list(43, "tls.handshake.extensions.supported_version"),
            sni: sni ? (allDeep(sni, "tls.handshake.extensions_server_name")[0] ?? "") : "",
            alpn: alpn ? allDeep(alpn, "tls.handshake.extensions_alpn_str") : [],
            cipher_suites: allDeep(h.obj("tls.handshake.ciphersuites") ?? new Obj([]), "tls.handshake.ciphersuite").map(num),
            extensions: exts.map((e) => e.type),
            supported_groups: list(10, "tls.handshake.extensions_supported_group"),
            ec_point_formats: list(11, "tls.handshake.extensions_ec_point_format"),
            signature_algorithms: list(13, "tls.handshake.sig_hash_alg"),
            ja3: h.str("tls.handshake.ja3_full") ?? "(none)",
            ja3_hash: h.str("tls.handshake.ja3") ?? "(none)",
          },
        });
      } else if (type === "2") {
        const alpn = ext(16);
        const sv = list(43, "tls.handshake.extensions.supported_version");
        out.push({
          frame,
          stream,
          kind: "server",
          hello: {
            version,
            selected_version: sv[0] ?? 0,
            cipher_suite: num(h.str("tls.handshake.ciphersuite") ?? "-1"),
            extensions: exts.map((e) => e.type),
            alpn: alpn ? (allDeep(alpn, "tls.handshake.extensions_alpn_str")[0] ?? "") : "",
            ja3s: h.str("tls.handshake.ja3s_full") ?? "(none)",
            ja3s_hash: h.str("tls.handshake.ja3s") ?? "(none)",
          },
        });
      }
    }
  }
  return out;
}
