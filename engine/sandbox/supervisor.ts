// The sandbox process (channel.ts): started by netsig as an unprivileged
// user (nobody, when netsig runs as root: no capabilities), with an empty
// environment, no file descriptor but its pipes, in a session of its own (a
// Ctrl-C at netsig's terminal does not reach it: netsig ends it). Its code,
// this script and the worker's, comes over the channel (process-bundle.ts):
// it reads no file of netsig's. It runs the sandbox worker thread
// (worker.ts) and relays messages both ways; it tells netsig every 100 ms how
// far the worker got, and at once which signature was running when the
// worker died. It exits when netsig goes away (the IPC channel closes),
// which needs no permission to signal it.

import { Worker } from "node:worker_threads";
import type { FromSupervisor, ToSupervisor } from "./channel";
import { sandboxWorkerOptions } from "./worker-options";
import type { FromWorker } from "./worker";

let worker: Worker | null = null;
const send = (m: FromSupervisor) => {
  if (process.connected) process.send!(m);
};

// signals are netsig's to act on: its drain ends this process
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) process.on(s, () => undefined);

process.on("message", (m: ToSupervisor) => {
  if (m.type !== "init") {
    worker?.postMessage(m);
    return;
  }
  if (worker) return;
  const sab = new SharedArrayBuffer(8);
  const progress = new Int32Array(sab);
  progress[0] = -1;
  const w = new Worker(m.workerCode, { eval: true, workerData: { ...m.init, progress: sab }, ...sandboxWorkerOptions(m.memoryMb) });
  worker = w;
  w.on("message", (fm: FromWorker) => send(fm));
  let beat = -1;
  let running = -1;
  setInterval(() => {
    const b = Atomics.load(progress, 1);
    const r = Atomics.load(progress, 0);
    if (b !== beat || r !== running) {
      beat = b;
      running = r;
      send({ type: "progress", running, beat });
    }
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
