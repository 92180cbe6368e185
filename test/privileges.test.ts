// netsig as the Kubernetes example deploys it, emulated without a container:
// the netsig container's securityContext (capabilities, runAsUser,
// allowPrivilegeEscalation) is read from deploy/kubernetes/netsig-sidecar.yaml
// and applied with setpriv, from a copy of netsig in a folder only root can
// read (as /root or mktemp -d). Real capture on lo, real signals:
//   - it starts, captures, reports findings; the sandbox process runs as
//     nobody with no capability (every thread), netsig with exactly the set
//   - SIGTERM while traffic flows drains and exits 0 with its summary
//   - without SETUID/SETGID: one line saying what to add, exit 2
//   - Ctrl-C (SIGINT to the process group) blames no signature
//   - a second SIGTERM exits at once, saying what is left in the spool
//   - SIGHUP without --config reads the folders again, never kills
//   - replay drains on SIGTERM too

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { encode } from "dns-packet";
import { loadAll } from "js-yaml";
import { until } from "./lib/receiver";

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync("setpriv", ["--version"]).status === 0;
const skip = !isRoot ? "needs root (live capture, setpriv)" : !hasSetpriv ? "setpriv (util-linux) is not installed" : false;

const REPO = join(__dirname, "..", "..");
const SIDECAR = join(REPO, "deploy", "kubernetes", "netsig-sidecar.yaml");

/** the netsig container's securityContext in the Kubernetes example */
function sidecarSecurity(): { add: string[]; drop: string[]; runAsUser: number; allowPrivilegeEscalation: boolean } {
  type Container = { name: string; securityContext?: Record<string, unknown> };
  for (const doc of loadAll(readFileSync(SIDECAR, "utf8")) as Record<string, unknown>[]) {
    if (doc?.kind !== "Deployment") continue;
    const spec = (doc.spec as { template: { spec: { containers: Container[] } } }).template.spec;
    const c = spec.containers.find((x) => x.name === "netsig");
    assert.ok(c?.securityContext, "the example has a netsig container with a securityContext");
    const sc = c.securityContext as {
      capabilities: { add: string[]; drop: string[] };
      runAsUser: number;
      allowPrivilegeEscalation: boolean;
    };
    return {
      add: sc.capabilities.add,
      drop: sc.capabilities.drop,
      runAsUser: sc.runAsUser,
      allowPrivilegeEscalation: sc.allowPrivilegeEscalation,
    };
  }
  throw new Error("no Deployment in the Kubernetes example");
}

/** setpriv arguments for a capability set (names as Kubernetes writes them: NET_RAW) */
function setprivArgs(caps: string[], noNewPrivs: boolean): string[] {
  const list = ["-all", ...caps.map((c) => "+" + c.toLowerCase())].join(",");
  return [`--bounding-set=${list}`, "--inh-caps=-all", ...(noNewPrivs ? ["--no-new-privs"] : []), "--"];
}

/** the kernel's capability numbers (linux/capability.h) of the names the example may use */
const CAP_NUMBER: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  NET_BIND_SERVICE: 10,
  NET_ADMIN: 12,
  NET_RAW: 13,
  SYS_ADMIN: 21,
};
const capMask = (caps: string[]) => caps.reduce((m, c) => m | (1n << BigInt(CAP_NUMBER[c] ?? 63)), 0n);

function status(pid: number | string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const i = l.indexOf(":");
    if (i > 0) m.set(l.slice(0, i), l.slice(i + 1).trim());
  }
  return m;
}

/** netsig copied (hard links) into a folder only root can read, as a clone in /root or mktemp -d is */
let home = "";
let cli = "";
before(() => {
  if (skip) return;
  home = mkdtempSync(join(tmpdir(), "netsig-priv-"));
  chmodSync(home, 0o700);
  const app = join(home, "netsig");
  mkdirSync(app);
  for (const d of ["dist", "node_modules", "signatures", "rules", "engine", "package.json"]) {
    if (!existsSync(join(REPO, d))) continue;
    const r = spawnSync("cp", ["-al", join(REPO, d), join(app, d)]);
    assert.equal(r.status, 0, String(r.stderr));
  }
  cli = join(app, "dist", "engine", "cli", "main.js");
  assert.equal(statSync(home).mode & 0o077, 0, "the copy's folder is closed to other users");
});
after(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

/** a signature firing on DNS queries under cap.netsig.test */
const SIG = `import type { NetEvent, Signature, SignatureContext } from "netsig";
import { getArg } from "netsig/helpers";
export default class S implements Signature {
  private ctx!: SignatureContext;
  getMetadata() { return { id: "CAP-TEST", version: "1", name: "cap-test", description: "test", properties: { Severity: 2 } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(e: NetEvent) {
    const q = (getArg(e, "dns_questions")?.value as { query: string }[])[0];
    if (q && q.query.endsWith(".cap.netsig.test")) this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { q: q.query } });
  }
  onSignal() {}
  close() {}
}
`;

function sigDir(): string {
  const d = join(home, `sigs-${Math.random().toString(36).slice(2)}`);
  mkdirSync(d);
  writeFileSync(join(d, "cap-test.ts"), SIG);
  return d;
}

/** DNS queries to 127.0.0.1 port 5355 (LLMNR, decoded as DNS) every 20 ms until stopped */
function traffic(): { stop(): void; sent: () => number } {
  const s = createSocket("udp4");
  let n = 0;
  const t = setInterval(() => {
    const q = encode({ type: "query", id: n & 0xffff, flags: 256, questions: [{ type: "A", class: "IN", name: `q${n}.cap.netsig.test` }] });
    n++;
    s.send(q, 5355, "127.0.0.1");
  }, 20);
  let open = true;
  return {
    stop: () => {
      clearInterval(t);
      if (open) s.close();
      open = false;
    },
    sent: () => n,
  };
}

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(argv: string[], opts: { caps?: string[]; detached?: boolean } = {}): Run {
  const sec = sidecarSecurity();
  const cmd = opts.caps ? "setpriv" : process.execPath;
  const args = opts.caps ? [...setprivArgs(opts.caps, !sec.allowPrivilegeEscalation), process.execPath, cli, ...argv] : [cli, ...argv];
  const child = spawn(cmd, args, { cwd: home, detached: opts.detached ?? false });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  return { child, out: () => out, err: () => err, exited };
}

/** exit within `ms`, or fail the test (killing it) */
async function exitWithin(r: Run, ms: number, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const t = setTimeout(() => r.child.kill("SIGKILL"), ms);
  const e = await r.exited;
  clearTimeout(t);
  assert.notEqual(e.signal, "SIGKILL", `${what}: still running after ${ms} ms (killed); stderr:\n${r.err()}`);
  return e;
}

const BPF = "udp dst port 5355 and host 127.0.0.1";

test("the Kubernetes example's capability set: run starts, captures, reports; sandbox as nobody without capabilities; SIGTERM drains", {
  skip,
  timeout: 90_000,
}, async () => {
  const sec = sidecarSecurity();
  assert.deepEqual(sec.drop, ["ALL"]);
  assert.equal(sec.runAsUser, 0, "netsig runs as uid 0 with added capabilities (docs/container.md says why)");
  assert.equal(sec.allowPrivilegeEscalation, false);
  const r = start(["run", "--iface", "lo", "--bpf", BPF, "--signatures", sigDir(), "--rules", "@shipped", "--output", "json"], {
    caps: sec.add,
  });
  await until(() => /capturing on lo/.test(r.err()) || r.child.exitCode !== null, 30_000);
  assert.equal(r.child.exitCode, null, `netsig did not start under ${sec.add.join(",")}:\n${r.err()}`);
  const tr = traffic();
  try {
    await until(() => /"CAP-TEST"/.test(r.out()), 20_000);
    // netsig: exactly the example's capabilities
    const pid = r.child.pid!;
    const st = status(pid);
    assert.equal(BigInt("0x" + st.get("CapEff")), capMask(sec.add), `netsig's CapEff ${st.get("CapEff")}`);
    assert.equal(st.get("NoNewPrivs"), "1");
    // the sandbox process: nobody, every thread, no capability
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    assert.equal(kids.length, 1, "one sandbox process");
    const tasks = readdirSync(`/proc/${kids[0]}/task`);
    assert.ok(tasks.length > 1, "the sandbox process has its worker threads");
    for (const t of tasks) {
      const ts = status(`${kids[0]}/task/${t}`);
      assert.equal(ts.get("Uid"), "65534\t65534\t65534\t65534", `thread ${t} uid`);
      assert.equal(ts.get("Gid"), "65534\t65534\t65534\t65534", `thread ${t} gid`);
      assert.equal(ts.get("Groups"), "", `thread ${t} groups`);
      assert.match(ts.get("CapEff")!, /^0+$/, `thread ${t} CapEff`);
      assert.match(ts.get("CapPrm")!, /^0+$/, `thread ${t} CapPrm`);
    }
    // SIGTERM with traffic flowing
    r.child.kill("SIGTERM");
    const e = await exitWithin(r, 15_000, "SIGTERM under the example's capabilities");
    assert.equal(e.code, 0, r.err());
  } finally {
    tr.stop();
    r.child.kill("SIGKILL");
  }
  assert.match(r.err(), /SIGTERM: draining/);
  const m = /signatures: (\d+) findings, (\d+) signature errors/.exec(r.err());
  assert.ok(m, `summary:\n${r.err()}`);
  assert.ok(Number(m[1]) > 0);
  assert.equal(Number(m[2]), 0);
  assert.equal(
    r
      .out()
      .trim()
      .split("\n")
      .filter((l) => l.includes('"CAP-TEST"')).length,
    Number(m[1]),
    "every finding counted was printed",
  );
  assert.doesNotMatch(r.err(), /quarantined|\n\s+at /);
});

test("without SETUID/SETGID: one line saying what to add, exit 2", { skip, timeout: 60_000 }, () => {
  const caps = sidecarSecurity().add.filter((c) => c !== "SETUID" && c !== "SETGID");
  const r = spawnSync(
    "setpriv",
    [...setprivArgs(caps, true), process.execPath, cli, "replay", join(REPO, "examples", "dns-lo.pcap"), "--signatures", sigDir()],
    { cwd: home, encoding: "utf8" },
  );
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /^netsig: error: the signature sandbox cannot start as user nobody: .*SETUID and SETGID.*--cap-add SETUID --cap-add SETGID/,
  );
});

test("Ctrl-C (SIGINT to the process group) during traffic drains and blames no signature", { skip, timeout: 90_000 }, async () => {
  const r = start(["run", "--iface", "lo", "--bpf", BPF, "--signatures", sigDir(), "--rules", "@shipped", "--output", "json"], {
    caps: sidecarSecurity().add,
    detached: true,
  });
  await until(() => /capturing on lo/.test(r.err()) || r.child.exitCode !== null, 30_000);
  const tr = traffic();
  try {
    await until(() => /"CAP-TEST"/.test(r.out()), 20_000);
    // what a terminal does on Ctrl-C: SIGINT to every process of the foreground group
    process.kill(-r.child.pid!, "SIGINT");
    const e = await exitWithin(r, 15_000, "Ctrl-C");
    assert.equal(e.code, 0, r.err());
  } finally {
    tr.stop();
    r.child.kill("SIGKILL");
  }
  assert.match(r.err(), /SIGINT: draining/);
  assert.doesNotMatch(r.err(), /quarantined|EPIPE|killed by|\n\s+at /);
  assert.match(r.err(), /signatures: [1-9]\d* findings, 0 signature errors/);
});

test("a second SIGTERM exits at once and says what is left in the spool", { skip, timeout: 90_000 }, async () => {
  // a webhook nobody answers: the drain waits (--webhook-wait) for it
  const spool = join(home, `spool-${Math.random().toString(36).slice(2)}`);
  const r = start(
    [
      "run",
      "--iface",
      "lo",
      "--bpf",
      BPF,
      "--signatures",
      sigDir(),
      "--output",
      "json",
      "--webhook",
      "http://127.0.0.1:9/findings",
      "--spool-dir",
      spool,
      "--webhook-wait",
      "60",
    ],
    { caps: sidecarSecurity().add },
  );
  await until(() => /capturing on lo/.test(r.err()) || r.child.exitCode !== null, 30_000);
  const tr = traffic();
  try {
    await until(() => /"CAP-TEST"/.test(r.out()), 20_000);
    tr.stop();
    r.child.kill("SIGTERM");
    await until(() => /SIGTERM: draining/.test(r.err()), 10_000);
    r.child.kill("SIGTERM");
    const e = await exitWithin(r, 10_000, "the second SIGTERM");
    assert.equal(e.code, 143, r.err());
  } finally {
    tr.stop();
    r.child.kill("SIGKILL");
  }
  const line = r
    .err()
    .split("\n")
    .find((l) => l.includes("SIGTERM again: exiting"));
  assert.ok(line, r.err());
  assert.match(
    line,
    new RegExp(`exiting now without finishing the drain; not finished: .*kept in ${spool.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
  );
  // what the line says is there
  const segs = readdirSync(spool).filter((f) => statSync(join(spool, f)).size > 0);
  assert.ok(segs.length > 0, "the spool holds the undelivered findings");
});

test("SIGHUP without --config reads the folders again and never kills", { skip, timeout: 90_000 }, async () => {
  const dir = sigDir();
  const r = start(["run", "--iface", "lo", "--bpf", BPF, "--signatures", dir, "--output", "json"], { caps: sidecarSecurity().add });
  await until(() => /capturing on lo/.test(r.err()) || r.child.exitCode !== null, 30_000);
  const tr = traffic();
  try {
    r.child.kill("SIGHUP");
    await until(() => /SIGHUP: reading the signature and rule folders again/.test(r.err()) || r.child.exitCode !== null, 10_000);
    assert.equal(r.child.exitCode, null, `SIGHUP killed netsig:\n${r.err()}`);
    await until(() => /"CAP-TEST"/.test(r.out()), 20_000);
    r.child.kill("SIGTERM");
    const e = await exitWithin(r, 15_000, "SIGTERM after SIGHUP");
    assert.equal(e.code, 0, r.err());
  } finally {
    tr.stop();
    r.child.kill("SIGKILL");
  }
  // and a run without anything to reload says so
  const plain = start(["run", "--iface", "lo", "--bpf", BPF, "--output", "json"], { caps: sidecarSecurity().add });
  await until(() => /capturing on lo/.test(plain.err()) || plain.child.exitCode !== null, 30_000);
  plain.child.kill("SIGHUP");
  await until(() => /SIGHUP ignored/.test(plain.err()) || plain.child.exitCode !== null, 10_000);
  assert.equal(plain.child.exitCode, null, plain.err());
  plain.child.kill("SIGTERM");
  assert.equal((await exitWithin(plain, 15_000, "SIGTERM")).code, 0, plain.err());
});

test("replay from a slow source drains on SIGTERM: summary, findings, exit 0", { skip, timeout: 60_000 }, async () => {
  const r = start(["replay", "-", "--signatures", sigDir(), "--rules", "@shipped", "--output", "json"], {});
  // the capture, then standard input stays open (a paced feed)
  r.child.stdin!.write(readFileSync(join(REPO, "examples", "dns-lo.pcap")));
  await until(() => /"DNS"|findings|"eventName"/.test(r.out()) || r.child.exitCode !== null, 20_000);
  r.child.kill("SIGTERM");
  const e = await exitWithin(r, 15_000, "SIGTERM during replay");
  assert.equal(e.code, 0, r.err());
  assert.match(r.err(), /SIGTERM: draining/);
  assert.match(r.err(), /258 packets read/);
  assert.match(r.err(), /signatures: 1 active/);
});
