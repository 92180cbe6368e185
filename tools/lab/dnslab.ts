// netsig test lab: real DNS traffic on loopback, recorded with real tcpdump.
//
//   startDnsmasq()      Debian's dnsmasq, authoritative for two zones (LAB), on
//                       127.0.0.1 and ::1 port 53; a cross-process lock makes
//                       parallel test files take turns owning port 53.
//   dig()               one dig query (+tries=1 +time=2), UDP or +tcp, v4 or v6.
//   startTcpdump()      tcpdump -w FILE -U -n --immediate-mode, ready when it
//                       says "listening on"; stop() sends SIGINT and returns
//                       tcpdump's own packet counts.
//   recordDnsSession()  server + capture + a list of dig queries -> a pcap path.
//   tsharkFields()      tshark -T fields, for cross-checking decoded values.
//
// LAB and LAB_QUERIES describe exactly what the server answers, so decoder tests
// can assert decoded values against them.
//
// Rules for tests that use the lab (node --test runs files in parallel):
//  - take DNS captures while you own the server (startDnsmasq ... stop()), so no
//    other test's port-53 traffic is on the wire;
//  - capture on lo with a narrow filter (the default for DNS is "port 53");
//  - always stop() in a finally block. Children are also killed on process exit.
//
// This file is loaded as a "test" by `node --test dist/test/` (node 20 treats
// every .js under a directory named test as a test file), so importing it must
// have no side effects: hooks are installed only when a child is started.

import { spawn, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// ---------------------------------------------------------------------------
// What the lab server serves
// ---------------------------------------------------------------------------

export const DNSMASQ_BIN = "/usr/sbin/dnsmasq";

/** Zone data served by startDnsmasq(); every record below is answered with AA set. */
export const LAB = {
  ttl: 300,
  /** the single NS of every lab zone and the SOA MNAME (dnsmasq's --auth-server) */
  nameserver: { name: "eliot.uol.com.br", address: "127.0.0.53" },
  /** one SOA shape for every zone (dnsmasq's --auth-soa is global) */
  soa: {
    mname: "eliot.uol.com.br",
    rname: "root.uol.com.br",
    serial: 2024010101,
    refresh: 1200,
    retry: 180,
    expire: 1209600,
    minimum: 300,
  },
  uol: {
    zone: "uol.com.br",
    mx: { preference: 10, exchange: "mx.uol.com.br" },
    txt: ["v=spf1 include:spf.uol.com.br ~all"],
    hosts: {
      "mx.uol.com.br": "127.0.0.10",
      "www.uol.com.br": "127.0.0.11",
    },
  },
  netsig: {
    zone: "netsig.test",
    /** A/AAAA of the apex and of www; every address of this zone is in these subnets */
    subnets: ["127.0.0.0/8", "fd00::/8"],
    apex: { a: "127.0.0.20", aaaa: "fd00:6e73::20" },
    www: { name: "www.netsig.test", a: "127.0.0.21", aaaa: "fd00:6e73::21" },
    mx: { preference: 5, exchange: "mail.netsig.test", a: "127.0.0.25" },
    /** one TXT record with two character-strings */
    txt: ["hello world", "second string"],
    srv: {
      name: "_sip._tcp.netsig.test",
      priority: 10,
      weight: 20,
      port: 5060,
      target: "sip.netsig.test",
      a: "127.0.0.50",
    },
    /** PTR 99.0.0.127.in-addr.arpa -> ptr.netsig.test (from a host-record: dnsmasq's
     * auth mode does not serve --ptr-record) */
    ptr: { address: "127.0.0.99", name: "99.0.0.127.in-addr.arpa", ptrdname: "ptr.netsig.test" },
    /** the apex's IPv6 address also has a PTR, in the d.f.ip6.arpa reverse zone */
    ptr6: {
      address: "fd00:6e73::20",
      name: "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.7.e.6.0.0.d.f.ip6.arpa",
      ptrdname: "netsig.test",
    },
    cname: { alias: "alias.netsig.test", target: "www.netsig.test" },
    /** a name inside the zone that does not exist */
    nxdomain: "nope.netsig.test",
  },
} as const;

export type LabRR =
  | { name: string; type: "A"; ttl: number; address: string }
  | { name: string; type: "AAAA"; ttl: number; address: string }
  | { name: string; type: "MX"; ttl: number; preference: number; exchange: string }
  | { name: string; type: "NS"; ttl: number; nsdname: string }
  | {
      name: string;
      type: "SOA";
      ttl: number;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { name: string; type: "TXT"; ttl: number; strings: string[] }
  | { name: string; type: "SRV"; ttl: number; priority: number; weight: number; port: number; target: string }
  | { name: string; type: "PTR"; ttl: number; ptrdname: string }
  | { name: string; type: "CNAME"; ttl: number; cname: string };

export type LabQType = "A" | "AAAA" | "MX" | "NS" | "SOA" | "TXT" | "SRV" | "PTR" | "CNAME";

/** RR type numbers, for comparing with decoded packets */
export const QTYPE_NUM: Record<LabQType, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
};

export interface LabQuery {
  /** short label for test names: "A", "NXDOMAIN", "CNAME-chain", ... */
  tag: string;
  qname: string;
  qtype: LabQType;
  rcode: "NOERROR" | "NXDOMAIN";
  rcodeNum: 0 | 3;
  /** authoritative answer flag (always true: dnsmasq answers in auth mode) */
  aa: boolean;
  answers: LabRR[];
  authority: LabRR[];
  /** dig arguments for this query (name and type, no server/transport) */
  digArgs: string[];
}

const T = LAB.ttl;
const soaRR = (zone: string): LabRR => ({ name: zone, type: "SOA", ttl: T, ...LAB.soa });
const nsRR = (zone: string): LabRR => ({ name: zone, type: "NS", ttl: T, nsdname: LAB.nameserver.name });

function q(
  tag: string,
  qname: string,
  qtype: LabQType,
  answers: LabRR[],
  authority: LabRR[],
  rcode: "NOERROR" | "NXDOMAIN" = "NOERROR",
): LabQuery {
  return {
    tag,
    qname,
    qtype,
    rcode,
    rcodeNum: rcode === "NOERROR" ? 0 : 3,
    aa: true,
    answers,
    authority,
    digArgs: [qname, qtype],
  };
}

const U = LAB.uol;
const N = LAB.netsig;

/**
 * Every query the lab is known to answer, with the exact answer and authority
 * sections dnsmasq 2.90 sends (EDNS OPT records in the additional section are
 * not listed). The first ten tags are the canonical set: A, AAAA, MX, NS, SOA,
 * TXT, SRV, PTR, CNAME, NXDOMAIN.
 */
export const LAB_QUERIES: readonly LabQuery[] = [
  q("A", "www.uol.com.br", "A", [{ name: "www.uol.com.br", type: "A", ttl: T, address: U.hosts["www.uol.com.br"] }], [nsRR(U.zone)]),
  q("AAAA", "netsig.test", "AAAA", [{ name: N.zone, type: "AAAA", ttl: T, address: N.apex.aaaa }], [nsRR(N.zone)]),
  q("MX", "uol.com.br", "MX", [{ name: U.zone, type: "MX", ttl: T, ...U.mx }], [nsRR(U.zone)]),
  q("NS", "uol.com.br", "NS", [nsRR(U.zone)], []),
  q("SOA", "uol.com.br", "SOA", [soaRR(U.zone)], [nsRR(U.zone)]),
  q("TXT", "uol.com.br", "TXT", [{ name: U.zone, type: "TXT", ttl: T, strings: [...U.txt] }], [nsRR(U.zone)]),
  q(
    "SRV",
    N.srv.name,
    "SRV",
    [{ name: N.srv.name, type: "SRV", ttl: T, priority: N.srv.priority, weight: N.srv.weight, port: N.srv.port, target: N.srv.target }],
    [nsRR(N.zone)],
  ),
  q("PTR", N.ptr.name, "PTR", [{ name: N.ptr.name, type: "PTR", ttl: T, ptrdname: N.ptr.ptrdname }], [nsRR("127.in-addr.arpa")]),
  q("CNAME", N.cname.alias, "CNAME", [{ name: N.cname.alias, type: "CNAME", ttl: T, cname: N.cname.target }], [nsRR(N.zone)]),
  q("NXDOMAIN", N.nxdomain, "A", [], [soaRR(N.zone)], "NXDOMAIN"),
  // more shapes for decoder tests
  q("A-mx", "mx.uol.com.br", "A", [{ name: "mx.uol.com.br", type: "A", ttl: T, address: U.hosts["mx.uol.com.br"] }], [nsRR(U.zone)]),
  q("A-apex", N.zone, "A", [{ name: N.zone, type: "A", ttl: T, address: N.apex.a }], [nsRR(N.zone)]),
  q("AAAA-www", N.www.name, "AAAA", [{ name: N.www.name, type: "AAAA", ttl: T, address: N.www.aaaa }], [nsRR(N.zone)]),
  q(
    "MX-netsig",
    N.zone,
    "MX",
    [{ name: N.zone, type: "MX", ttl: T, preference: N.mx.preference, exchange: N.mx.exchange }],
    [nsRR(N.zone)],
  ),
  q("NS-netsig", N.zone, "NS", [nsRR(N.zone)], []),
  q("SOA-netsig", N.zone, "SOA", [soaRR(N.zone)], [nsRR(N.zone)]),
  q("TXT-multi", N.zone, "TXT", [{ name: N.zone, type: "TXT", ttl: T, strings: [...N.txt] }], [nsRR(N.zone)]),
  q("PTR6", N.ptr6.name, "PTR", [{ name: N.ptr6.name, type: "PTR", ttl: T, ptrdname: N.ptr6.ptrdname }], [nsRR("d.f.ip6.arpa")]),
  q(
    "CNAME-chain",
    N.cname.alias,
    "A",
    [
      { name: N.cname.alias, type: "CNAME", ttl: T, cname: N.cname.target },
      { name: N.www.name, type: "A", ttl: T, address: N.www.a },
    ],
    [nsRR(N.zone)],
  ),
  q("NODATA", "mx.uol.com.br", "AAAA", [], [soaRR(U.zone)]),
  q("NXDOMAIN-uol", "nope.uol.com.br", "A", [], [soaRR(U.zone)], "NXDOMAIN"),
];

/** The canonical ten: A, AAAA, MX, NS, SOA, TXT, SRV, PTR, CNAME, NXDOMAIN. */
export const LAB_BASIC_QUERIES: readonly LabQuery[] = LAB_QUERIES.slice(0, 10);

/** dnsmasq's command line for the lab zones (without listen/port/pid options). */
export function labZoneArgs(listenAddresses: readonly string[]): string[] {
  const args = [
    `--auth-server=${LAB.nameserver.name},${listenAddresses.join(",")}`,
    `--auth-zone=${U.zone}`,
    `--auth-zone=${N.zone},${N.subnets.join(",")}`,
    `--auth-soa=${LAB.soa.serial},${LAB.soa.rname},${LAB.soa.refresh},${LAB.soa.retry},${LAB.soa.expire}`,
    `--auth-ttl=${LAB.ttl}`,
    `--host-record=${LAB.nameserver.name},${LAB.nameserver.address}`,
    // uol.com.br
    `--mx-host=${U.zone},${U.mx.exchange},${U.mx.preference}`,
    `--txt-record=${U.zone},${U.txt.join(",")}`,
  ];
  for (const [name, addr] of Object.entries(U.hosts)) args.push(`--host-record=${name},${addr}`);
  args.push(
    // netsig.test
    `--host-record=${N.zone},${N.apex.a},${N.apex.aaaa}`,
    `--host-record=${N.www.name},${N.www.a},${N.www.aaaa}`,
    `--mx-host=${N.zone},${N.mx.exchange},${N.mx.preference}`,
    `--host-record=${N.mx.exchange},${N.mx.a}`,
    `--txt-record=${N.zone},${N.txt.join(",")}`,
    `--srv-host=${N.srv.name},${N.srv.target},${N.srv.port},${N.srv.priority},${N.srv.weight}`,
    `--host-record=${N.srv.target},${N.srv.a}`,
    `--host-record=${N.ptr.ptrdname},${N.ptr.address}`,
    `--cname=${N.cname.alias},${N.cname.target}`,
  );
  return args;
}

// ---------------------------------------------------------------------------
// Child-process bookkeeping and cleanup
// ---------------------------------------------------------------------------

const liveChildren = new Set<ChildProcess>();
const heldLocks = new Set<string>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function cleanupSync(): void {
  for (const c of liveChildren) {
    try {
      c.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  liveChildren.clear();
  for (const l of heldLocks) releaseLockSync(l);
  for (const d of tempDirs) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", cleanupSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const handler = (): void => {
      cleanupSync();
      process.removeListener(sig, handler);
      // re-raise so the default action (or the other listeners) still happen
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

function track(child: ChildProcess): void {
  installHooks();
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait for a child to exit; returns its exit code (or the signal name). */
function waitExit(child: ChildProcess, timeoutMs: number): Promise<number | string | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.removeListener("exit", onExit);
      reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
      clearTimeout(t);
      resolve(code ?? sig);
    };
    child.once("exit", onExit);
  });
}

/** SIGTERM (or `sig`), then SIGKILL after graceMs; resolves when the child is gone. */
async function killAndWait(child: ChildProcess, sig: NodeJS.Signals, graceMs: number): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  child.kill(sig);
  try {
    return await waitExit(child, graceMs);
  } catch {
    child.kill("SIGKILL");
    return waitExit(child, 5000);
  }
}

/** Keeps the last `max` characters of a stream. */
function tail(max: number): { push(s: string): void; text(): string } {
  let buf = "";
  return {
    push(s: string) {
      buf += s;
      if (buf.length > max * 2) buf = buf.slice(-max);
    },
    text() {
      return buf.slice(-max);
    },
  };
}

/** A fresh directory under os.tmpdir(), removed at process exit unless `keep`. */
export function makeTempDir(prefix = "netsig-lab-", keep = false): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (!keep) {
    installHooks();
    tempDirs.add(d);
  }
  return d;
}

/** Binaries the lab needs that are not installed (empty when all are there). */
export function missingTools(): string[] {
  const tools: Record<string, string> = {
    [DNSMASQ_BIN]: "dnsmasq-base",
    dig: "dnsutils",
    tcpdump: "tcpdump",
    tshark: "tshark",
  };
  const missing: string[] = [];
  for (const [bin, pkg] of Object.entries(tools)) {
    const found = bin.startsWith("/")
      ? fs.existsSync(bin)
      : (process.env.PATH ?? "/usr/bin:/bin").split(":").some((d) => d && fs.existsSync(path.join(d, bin)));
    if (!found) missing.push(`${bin} (apt package ${pkg})`);
  }
  return missing;
}

// ---------------------------------------------------------------------------
// Cross-process lock (one owner of the server port at a time)
// ---------------------------------------------------------------------------

interface LockInfo {
  pid: number;
  since: string;
  port: number;
  dnsmasqPid?: number;
  marker?: string;
}

export function lockPath(port: number): string {
  return path.join(os.tmpdir(), `netsig-dnslab-port${port}.lock`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // a zombie (killed, not yet reaped) holds nothing
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function readLock(p: string): { raw: string; info: LockInfo | null; mtimeMs: number } | null {
  try {
    const raw = fs.readFileSync(p, "utf8");
    const mtimeMs = fs.statSync(p).mtimeMs;
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(raw) as LockInfo;
    } catch {
      info = null;
    }
    return { raw, info, mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

function writeLockAtomic(p: string, info: LockInfo): void {
  const tmp = `${p}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info));
  fs.renameSync(tmp, p);
}

function releaseLockSync(p: string): void {
  heldLocks.delete(p);
  const cur = readLock(p);
  if (cur?.info && cur.info.pid === process.pid) {
    try {
      fs.unlinkSync(p);
    } catch {
      /* gone */
    }
  }
}

/** Kill lab dnsmasq processes for this port that no live lab owner started (leftovers of a killed run). */
function killOrphanLabDnsmasq(port: number): number[] {
  const killed: number[] = [];
  const marker = `netsig-dnslab-p${port}-`;
  let entries: string[] = [];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return killed;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    let cmd = "";
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    const argv = cmd.split("\0");
    if (!argv[0]?.endsWith("dnsmasq")) continue;
    if (!argv.some((a) => a.startsWith("--pid-file=") && a.includes(marker))) continue;
    if ([...liveChildren].some((c) => c.pid === pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      /* raced */
    }
  }
  return killed;
}

async function acquireLock(port: number, timeoutMs: number): Promise<string> {
  const p = lockPath(port);
  const deadline = Date.now() + timeoutMs;
  let lastOwner = "";
  for (;;) {
    const info: LockInfo = { pid: process.pid, since: new Date().toISOString(), port };
    try {
      fs.writeFileSync(p, JSON.stringify(info), { flag: "wx" });
      installHooks();
      heldLocks.add(p);
      return p;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const cur = readLock(p);
    if (cur) {
      const stale = cur.info ? cur.info.pid !== process.pid && !pidAlive(cur.info.pid) : Date.now() - cur.mtimeMs > 10_000; // unparsable and old: a writer died mid-write
      if (cur.info && cur.info.pid === process.pid && !heldLocks.has(p)) {
        // our own leftover (should not happen); take it back
        fs.rmSync(p, { force: true });
        continue;
      }
      if (stale) {
        // Break the stale lock: rename is atomic, so only one waiter wins.
        const aside = `${p}.stale.${process.pid}.${Date.now()}`;
        try {
          fs.renameSync(p, aside);
          const moved = fs.readFileSync(aside, "utf8");
          if (moved === cur.raw) {
            // the dead owner's server and temp dir
            const m = cur.info?.marker;
            const dp = cur.info?.dnsmasqPid;
            if (dp && m) {
              try {
                if (fs.readFileSync(`/proc/${dp}/cmdline`, "utf8").includes(m)) process.kill(dp, "SIGKILL");
              } catch {
                /* gone */
              }
            }
            if (m && path.basename(m).startsWith(`netsig-dnslab-p${port}-`)) fs.rmSync(m, { recursive: true, force: true });
          } else {
            // we moved someone's fresh lock: put it back
            try {
              fs.linkSync(aside, p);
            } catch {
              /* a third party took it; theirs wins */
            }
          }
          fs.rmSync(aside, { force: true });
        } catch {
          /* somebody else broke it first */
        }
        continue;
      }
      lastOwner = cur.raw;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `dnslab: timed out after ${timeoutMs} ms waiting for the lab lock ${p} (port ${port} is owned by another test: ${lastOwner}). ` +
          `If no test is running, remove the file.`,
      );
    }
    await sleep(100 + Math.floor(Math.random() * 150));
  }
}

// ---------------------------------------------------------------------------
// dig
// ---------------------------------------------------------------------------

export interface DigOptions {
  /** server address; default 127.0.0.1 (ignored when args already has @server) */
  server?: string;
  port?: number;
  tcp?: boolean;
  /** kill dig after this long (default 15 s) */
  timeoutMs?: number;
}

/**
 * Runs `dig +tries=1 +time=2 @SERVER [-p PORT] [+tcp] ...args` and returns its stdout.
 * Throws when dig exits non-zero (e.g. 9: no reply). NXDOMAIN is not an error.
 */
export function dig(args: readonly string[], opts: DigOptions = {}): Promise<string> {
  const argv = ["+tries=1", "+time=2"];
  if (!args.some((a) => a.startsWith("@"))) argv.push(`@${opts.server ?? "127.0.0.1"}`);
  if (opts.port !== undefined) argv.push("-p", String(opts.port));
  if (opts.tcp) argv.push("+tcp");
  argv.push(...args);
  return new Promise((resolve, reject) => {
    execFile("dig", argv, { timeout: opts.timeoutMs ?? 15_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`dig ${argv.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
        return;
      }
      resolve(stdout);
    });
  });
}

// ---------------------------------------------------------------------------
// dnsmasq
// ---------------------------------------------------------------------------

export interface DnsmasqOptions {
  /** addresses to listen on and answer authoritatively; default ["127.0.0.1", "::1"] */
  listenAddresses?: string[];
  /** default 53 (the lock is per port) */
  port?: number;
  /** log every query to the captured stderr (slow under load; default false) */
  logQueries?: boolean;
  /** appended to the command line */
  extraArgs?: string[];
  /** how long to wait for the lab lock (default 120 s) */
  lockTimeoutMs?: number;
  /** how long to wait for the first answer (default 15 s) */
  readyTimeoutMs?: number;
}

export interface DnsmasqHandle {
  pid: number;
  port: number;
  listenAddresses: string[];
  /** the full argv given to dnsmasq */
  args: string[];
  /** dnsmasq's stderr so far (its log) */
  log(): string;
  /** kill dnsmasq, wait for it to exit, release the lock; idempotent */
  stop(): Promise<void>;
}

/**
 * Start the lab's authoritative dnsmasq. Waits (bounded) for the cross-process
 * lock on the port, then until every listen address answers a SOA query.
 */
export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<DnsmasqHandle> {
  const missing = missingTools().filter((m) => m.startsWith(DNSMASQ_BIN) || m.startsWith("dig"));
  if (missing.length) throw new Error(`dnslab: missing ${missing.join(", ")}`);
  const port = opts.port ?? 53;
  const listen = opts.listenAddresses ?? ["127.0.0.1", "::1"];
  const lock = await acquireLock(port, opts.lockTimeoutMs ?? 120_000);
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  try {
    killOrphanLabDnsmasq(port);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `netsig-dnslab-p${port}-`));
    tempDirs.add(dir);
    const args = [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      `--port=${port}`,
      `--listen-address=${listen.join(",")}`,
      "--bind-interfaces",
      `--pid-file=${path.join(dir, "dnsmasq.pid")}`,
      "--log-facility=-",
      ...(opts.logQueries ? ["--log-queries"] : []),
      ...labZoneArgs(listen),
      ...(opts.extraArgs ?? []),
    ];
    const log = tail(64 * 1024);
    const c = spawn(DNSMASQ_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    track(c);
    c.stdout?.on("data", (d: Buffer) => log.push(d.toString()));
    c.stderr?.on("data", (d: Buffer) => log.push(d.toString()));
    const spawnErr = new Promise<never>((_, reject) => c.once("error", reject));
    spawnErr.catch(() => undefined);
    if (c.pid === undefined) await spawnErr;
    writeLockAtomic(lock, { pid: process.pid, since: new Date().toISOString(), port, dnsmasqPid: c.pid, marker: dir });

    // ready when each address answers the uol.com.br SOA
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
    const pending = new Set(listen);
    while (pending.size) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`dnslab: dnsmasq exited (${c.exitCode ?? c.signalCode}) before answering:\n${log.text()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`dnslab: dnsmasq did not answer on ${[...pending].join(", ")} port ${port} in time:\n${log.text()}`);
      }
      for (const addr of [...pending]) {
        try {
          const out = await dig(["+short", "+time=1", U.zone, "SOA"], { server: addr, port, timeoutMs: 5000 });
          if (out.includes(LAB.soa.rname)) pending.delete(addr);
        } catch {
          /* not yet */
        }
      }
      if (pending.size) await sleep(50);
    }

    let stopped: Promise<void> | undefined;
    const handleDir = dir;
    return {
      pid: c.pid as number,
      port,
      listenAddresses: [...listen],
      args,
      log: () => log.text(),
      stop(): Promise<void> {
        stopped ??= (async () => {
          try {
            await killAndWait(c, "SIGTERM", 5000);
          } finally {
            releaseLockSync(lock);
            tempDirs.delete(handleDir);
            fs.rmSync(handleDir, { recursive: true, force: true });
          }
        })();
        return stopped;
      },
    };
  } catch (e) {
    if (child) await killAndWait(child, "SIGKILL", 5000).catch(() => undefined);
    if (dir) {
      tempDirs.delete(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    releaseLockSync(lock);
    throw e;
  }
}

/** startDnsmasq(), run fn, always stop. */
export async function withDnsmasq<T>(fn: (server: DnsmasqHandle) => Promise<T>, opts?: DnsmasqOptions): Promise<T> {
  const server = await startDnsmasq(opts);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------
// tcpdump
// ---------------------------------------------------------------------------

export interface TcpdumpOptions {
  /** -y: force a link-layer type, e.g. "LINUX_SLL" (v1) on -i any */
  linktype?: string;
  /** --immediate-mode (default true; keep it on for short captures, see stop()) */
  immediate?: boolean;
  /** -U: flush each packet to the file (default true) */
  packetBuffered?: boolean;
  /** -B: kernel buffer size in KiB (default 32768) */
  bufferKiB?: number;
  /** -s (default 262144, i.e. whole packets) */
  snaplen?: number;
  /** how long to wait for "listening on" (default 15 s) */
  startTimeoutMs?: number;
  extraArgs?: string[];
}

export interface TcpdumpStats {
  /** "N packets captured": packets written to the file */
  captured: number;
  /** "N packets received by filter" (counts each loopback packet twice on -i any) */
  receivedByFilter: number;
  /** "N packets dropped by kernel": must be 0 for a complete capture */
  droppedByKernel: number;
}

export interface TcpdumpHandle {
  pid: number;
  file: string;
  /** link type name as tcpdump reported it, e.g. "EN10MB", "LINUX_SLL2" */
  linktype: string;
  stderr(): string;
  /**
   * Waits until the file has stopped growing (settleMs, default 250 ms of
   * no change; only meaningful with -U), sends SIGINT, waits for exit and
   * returns tcpdump's counts. Idempotent.
   */
  stop(opts?: { settleMs?: number; minWaitMs?: number }): Promise<TcpdumpStats>;
}

/** Notes on Debian 12's tcpdump 4.99.3 / libpcap 1.10.3:
 *  - `-i lo` writes LINKTYPE_ETHERNET (1) with zeroed MACs;
 *  - `-i any` writes LINKTYPE_LINUX_SLL2 (276); `-y LINUX_SLL` gives v1 (113);
 *  - without --immediate-mode, packets still in the TPACKET_V3 ring when SIGINT
 *    arrives (up to ~1 s of traffic) are lost ("0 packets captured"). */
export async function startTcpdump(iface: string, file: string, filter?: string, opts: TcpdumpOptions = {}): Promise<TcpdumpHandle> {
  const args = ["-i", iface, "-w", file, "-n", "-s", String(opts.snaplen ?? 262144)];
  if (opts.packetBuffered ?? true) args.push("-U");
  if (opts.immediate ?? true) args.push("--immediate-mode");
  // -B: with --immediate-mode libpcap uses TPACKET_V2 with one ring frame per
  // snaplen on -i any (no MTU to cap it), so the default 2 MiB ring holds ~8
  // packets and even dig's TCP exchanges overflow it; 32 MiB gives 0 drops.
  args.push("-B", String(opts.bufferKiB ?? 32768));
  if (opts.linktype) args.push("-y", opts.linktype);
  args.push(...(opts.extraArgs ?? []));
  if (filter) args.push(filter);
  const err = tail(64 * 1024);
  const c = spawn("tcpdump", args, { stdio: ["ignore", "ignore", "pipe"] });
  track(c);
  c.stderr?.on("data", (d: Buffer) => err.push(d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = opts.startTimeoutMs ?? 15_000;
      const t = setTimeout(
        () => done(new Error(`dnslab: tcpdump did not start listening within ${timeoutMs} ms:\n${err.text()}`)),
        timeoutMs,
      );
      const onData = (): void => {
        if (/listening on [^\n]*\n/.test(err.text())) done();
      };
      const onExit = (code: number | null, sig: string | null): void =>
        done(new Error(`dnslab: tcpdump exited (${code ?? sig}) before listening: tcpdump ${args.join(" ")}\n${err.text()}`));
      const onError = (e: Error): void => done(e);
      function done(e?: Error): void {
        clearTimeout(t);
        c.stderr?.removeListener("data", onData);
        c.removeListener("exit", onExit);
        c.removeListener("error", onError);
        if (e) reject(e);
        else resolve();
      }
      c.stderr?.on("data", onData);
      c.once("exit", onExit);
      c.once("error", onError);
      onData();
    });
  } catch (e) {
    await killAndWait(c, "SIGKILL", 5000).catch(() => undefined);
    throw e;
  }
  const m = /link-type (\S+)/.exec(err.text());
  let stopped: Promise<TcpdumpStats> | undefined;
  return {
    pid: c.pid as number,
    file,
    linktype: m?.[1] ?? "",
    stderr: () => err.text(),
    stop(o = {}) {
      stopped ??= (async () => {
        const settle = o.settleMs ?? 250;
        const start = Date.now();
        let last = -1;
        let stableSince = Date.now();
        // wait for the file to stop growing, at most 5 s
        while (Date.now() - start < 5000) {
          let size = 0;
          try {
            size = fs.statSync(file).size;
          } catch {
            size = 0;
          }
          if (size !== last) {
            last = size;
            stableSince = Date.now();
          } else if (Date.now() - stableSince >= settle && Date.now() - start >= (o.minWaitMs ?? 0)) {
            break;
          }
          await sleep(25);
        }
        const code = await killAndWait(c, "SIGINT", 20_000);
        const text = err.text();
        const num = (re: RegExp): number => {
          const r = re.exec(text);
          return r ? Number(r[1]) : NaN;
        };
        const stats: TcpdumpStats = {
          captured: num(/(\d+) packets? captured/),
          receivedByFilter: num(/(\d+) packets? received by filter/),
          droppedByKernel: num(/(\d+) packets? dropped by kernel/),
        };
        if (code !== 0 || Number.isNaN(stats.captured)) {
          throw new Error(`dnslab: tcpdump ended badly (${String(code)}):\n${text}`);
        }
        return stats;
      })();
      return stopped;
    },
  };
}

/** LINKTYPE_* numbers that the lab's captures carry. */
export const LINKTYPE = { ETHERNET: 1, LINUX_SLL: 113, LINUX_SLL2: 276 } as const;

/** Reads the link type from a classic pcap (or the first IDB of a pcapng) file. */
export function readCaptureLinktype(file: string): number {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(64);
    const n = fs.readSync(fd, b, 0, 64, 0);
    if (n < 24) throw new Error(`${file}: too short for a capture header`);
    const magicLE = b.readUInt32LE(0);
    if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) return b.readUInt32LE(20);
    if (magicLE === 0xd4c3b2a1 || magicLE === 0x4d3cb2a1) return b.readUInt32BE(20);
    if (magicLE === 0x0a0d0d0a) {
      const le = b.readUInt32LE(8) === 0x1a2b3c4d;
      const shbLen = le ? b.readUInt32LE(4) : b.readUInt32BE(4);
      const idb = Buffer.alloc(12);
      fs.readSync(fd, idb, 0, 12, shbLen);
      return le ? idb.readUInt16LE(8) : idb.readUInt16BE(8);
    }
    throw new Error(`${file}: not a pcap or pcapng file`);
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// A whole recorded session
// ---------------------------------------------------------------------------

export interface DigQuery {
  /** dig arguments, e.g. ["uol.com.br", "MX"] */
  args: string[];
  server?: string;
  tcp?: boolean;
}

export interface RecordOptions {
  /** dig queries to run, in order */
  queries: Array<DigQuery | string[]>;
  /** capture interface (default "lo") */
  iface?: string;
  /** capture file; default a fresh file in a temp dir that is kept */
  file?: string;
  /** BPF filter (default: DNS on loopback addresses) */
  filter?: string;
  /** start (and stop) the lab server around the capture (default true); set
   *  false when the caller already holds a startDnsmasq() handle */
  startServer?: boolean;
  dnsmasq?: DnsmasqOptions;
  tcpdump?: TcpdumpOptions;
}

export interface RecordedSession {
  /** the capture file */
  path: string;
  stats: TcpdumpStats;
  linktype: string;
  /** dig's stdout for each query, in order */
  outputs: string[];
}

/** Start the server (unless startServer: false), capture, run the digs, stop everything. */
export async function recordDnsSession(opts: RecordOptions): Promise<RecordedSession> {
  const file = opts.file ?? path.join(makeTempDir("netsig-session-", true), "session.pcap");
  const server = opts.startServer === false ? undefined : await startDnsmasq(opts.dnsmasq);
  let td: TcpdumpHandle | undefined;
  try {
    // (loopback only: on `any`, the machine's own DNS traffic, e.g. to its resolver, would be recorded too)
    td = await startTcpdump(opts.iface ?? "lo", file, opts.filter ?? "port 53 and (net 127.0.0.0/8 or host ::1)", opts.tcpdump);
    const outputs: string[] = [];
    for (const qq of opts.queries) {
      const dq: DigQuery = Array.isArray(qq) ? { args: qq } : qq;
      outputs.push(await dig(dq.args, { server: dq.server, tcp: dq.tcp, port: server?.port ?? opts.dnsmasq?.port }));
    }
    const stats = await td.stop();
    return { path: file, stats, linktype: td.linktype, outputs };
  } finally {
    if (td) await td.stop().catch(() => undefined);
    if (server) await server.stop();
  }
}

// ---------------------------------------------------------------------------
// tshark
// ---------------------------------------------------------------------------

/**
 * `tshark -r FILE -T fields -e F1 -e F2 ... [-Y displayFilter]`, one row per
 * packet, one cell per field; repeated occurrences inside a cell are joined
 * with `aggregator` (default "|").
 */
export function tsharkFields(
  file: string,
  fields: readonly string[],
  opts: { displayFilter?: string; aggregator?: string; extraArgs?: string[] } = {},
): Promise<string[][]> {
  const args = ["-r", file, "-n", "-T", "fields", "-E", "separator=/t", "-E", `aggregator=${opts.aggregator ?? "|"}`, "-E", "occurrence=a"];
  for (const f of fields) args.push("-e", f);
  if (opts.displayFilter) args.push("-Y", opts.displayFilter);
  args.push(...(opts.extraArgs ?? []));
  return new Promise((resolve, reject) => {
    execFile("tshark", args, { maxBuffer: 256 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`tshark ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        return;
      }
      const rows = stdout
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => l.split("\t"));
      resolve(rows);
    });
  });
}
