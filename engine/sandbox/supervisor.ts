// The sandbox process (channel.ts): started by netsig with an empty
// environment, no file descriptor but its pipes, in a session of its own
// (a Ctrl-C at netsig's terminal does not reach it: netsig ends it). It runs
// the sandbox worker thread (worker.ts) and relays messages both ways; it
// tells netsig every 100 ms how far the worker got, and at once which
// signature was running when the worker died. It exits when netsig goes
// away (the IPC channel closes), which needs no permission to signal it.
//
// When netsig runs as root, this process starts as root too, so that it can
// read netsig's files wherever they are (a 0700 home, a mktemp -d), builds
// the worker and its VM (vm2 and the realm: trusted code only), and then
// switches itself, all its threads, to an unprivileged user (argv[2],
// "uid:gid") before the first signature is loaded: the kernel clears every
// capability, and as real, effective and saved ids all change, they cannot
// come back. That switch needs CAP_SETUID and CAP_SETGID; without them the
// process says so and exits (netsig reports it in one line).

import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { sandboxWorkerOptions, type FromSupervisor, type ToSupervisor } from "./channel";
import type { FromWorker, ToWorker } from "./worker";

let worker: Worker | null = null;
const send = (m: FromSupervisor) => { if (process.connected) process.send!(m); };

// signals are netsig's to act on: its drain ends this process
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) process.on(s, () => undefined);

/** "uid:gid" to switch to after the VM is built, or none */
const dropTo = /^(\d+):(\d+)$/.exec(process.argv[2] ?? "");

/** the ids and capabilities this process has now (from /proc: the kernel's word) */
function credentials(): { uids: number[]; gids: number[]; capEff: string; capPrm: string } {
  const st = readFileSync("/proc/self/status", "utf8");
  const field = (k: string) => (new RegExp(`^${k}:\\s*(.*)$`, "m").exec(st)?.[1] ?? "").trim();
  return {
    uids: field("Uid").split(/\s+/).map(Number), gids: field("Gid").split(/\s+/).map(Number),
    capEff: field("CapEff"), capPrm: field("CapPrm"),
  };
}

/** switch to the unprivileged user; "" when done, else why not */
function dropPrivileges(uid: number, gid: number): string {
  try {
    process.setgroups!([]);
    process.setgid!(gid);
    process.setuid!(uid);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String((e as Error)?.message ?? e);
  }
  const c = credentials();
  if (c.uids.some((u) => u !== uid) || c.gids.some((g) => g !== gid) || !/^0+$/.test(c.capEff) || !/^0+$/.test(c.capPrm)) {
    return `still uid ${c.uids.join("/")} gid ${c.gids.join("/")} CapEff ${c.capEff}`;
  }
  return "";
}

/** messages for the worker that came before it may have them (before the switch) */
let held: ToWorker[] | null = [];

process.on("message", (m: ToSupervisor) => {
  if (m.type !== "init") {
    if (held) held.push(m);
    else worker?.postMessage(m);
    return;
  }
  if (worker) return;
  const sab = new SharedArrayBuffer(8);
  const progress = new Int32Array(sab);
  progress[0] = -1;
  const w = new Worker(join(__dirname, "worker.js"), { workerData: { ...m.init, progress: sab }, ...sandboxWorkerOptions(m.memoryMb) });
  worker = w;
  w.on("message", (fm: FromWorker) => {
    if (fm.type !== "built") { send(fm); return; }
    // the VM is built: no more files to read; no signature has run yet
    if (dropTo) {
      const why = dropPrivileges(Number(dropTo[1]), Number(dropTo[2]));
      if (why) {
        send({ type: "start-failed", why: `cannot switch to uid ${dropTo[1]} (${why})`, code: why === "EPERM" ? "EPERM" : "" });
        setTimeout(() => process.exit(0), 50);
        return;
      }
    }
    const queue = held!;
    held = null;
    for (const q of queue) w.postMessage(q);
  });
  let beat = -1;
  let running = -1;
  setInterval(() => {
    const b = Atomics.load(progress, 1);
    const r = Atomics.load(progress, 0);
    if (b !== beat || r !== running) { beat = b; running = r; send({ type: "progress", running, beat }); }
  }, 100);
  let dead = false;
  const died = (why: string) => {
    if (dead) return;
    dead = true;
    send({ type: "worker-exit", running: Atomics.load(progress, 0), why });
    // let the message go out, then leave: netsig starts a new sandbox
    setTimeout(() => process.exit(0), 50);
  };
  w.on("error", (e) => died(e.message));
  w.on("exit", (code) => died(`exit code ${code}`));
});

process.on("disconnect", () => process.exit(0));
