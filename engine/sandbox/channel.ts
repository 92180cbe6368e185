// The sandbox process, seen from the host (backend.ts): a separate process
// (supervisor.ts) that holds the sandbox worker thread. It shares no memory
// and no file descriptor with netsig (no capture handle), gets an empty
// environment (no webhook token), and when netsig runs as root it runs as an
// unprivileged user (default nobody), which has no capabilities. It reports
// the worker's progress ([0] the signature running, [1] a heartbeat) every
// 100 ms, and at once when the worker dies.

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { BOOTSTRAP, sandboxProcessCode } from "./process-bundle";
import type { FromWorker, ToWorker, WorkerInit } from "./worker";

/** what the supervisor process says besides the worker's own messages */
export type FromSupervisor =
  | FromWorker
  | { type: "progress"; running: number; beat: number }
  | { type: "worker-exit"; running: number; why: string };

export type ToSupervisor = ToWorker | { type: "init"; init: Omit<WorkerInit, "progress">; memoryMb: number; workerCode: string };

export { sandboxWorkerOptions } from "./worker-options";

export interface ChannelEvents {
  message(m: FromWorker): void;
  /** the worker (or its process) is gone; progress() says what was running */
  exit(why: string): void;
}

export interface SandboxChannel {
  post(m: ToWorker): void;
  /** [0] the signature running (-1 none), [1] a heartbeat that moves while it works */
  readonly progress: Int32Array;
  readonly pid: number | undefined;
  terminate(): Promise<void>;
}

/** uid and gid of a user name from /etc/passwd (numbers are taken as they are) */
export function lookupUser(name: string): { uid: number; gid: number } | null {
  if (/^\d+$/.test(name)) return { uid: Number(name), gid: Number(name) };
  let passwd = "";
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    return null;
  }
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

export class ProcessChannel implements SandboxChannel {
  readonly progress = new Int32Array(2);
  readonly pid: number | undefined;
  private readonly child: ChildProcess;
  private gone = false;
  constructor(
    init: Omit<WorkerInit, "progress">,
    memoryMb: number,
    on: ChannelEvents,
    user: { uid: number; gid: number } | null,
    log: (l: string) => void,
  ) {
    this.progress[0] = -1;
    // (as `user`, its code over the channel: process-bundle.ts; a session of
    // its own: netsig decides when it ends)
    const code = sandboxProcessCode();
    this.child = spawn(process.execPath, ["-e", BOOTSTRAP], {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      serialization: "advanced",
      env: {},
      cwd: "/",
      detached: true,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    this.pid = this.child.pid;
    // before it is ready, what it prints is kept: a start that fails is told in one line
    let err = "";
    let ready = false;
    const early: string[] = [];
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      let nl: number;
      while ((nl = err.indexOf("\n")) >= 0) {
        const l = err.slice(0, nl);
        err = err.slice(nl + 1);
        if (!l.trim()) continue;
        if (ready) log(`netsig: sandbox process: ${l}`);
        else if (early.length < 100) early.push(l);
      }
    });
    const exit = (why: string) => {
      if (this.gone) return;
      this.gone = true;
      const cause = ready ? undefined : early.find((l) => /^\w*Error\b|^Error:/.test(l.trim()));
      on.exit(cause ? `${why}: ${cause.trim()}` : why);
    };
    this.child.on("message", (m: FromSupervisor) => {
      switch (m.type) {
        case "progress":
          this.progress[0] = m.running;
          this.progress[1] = m.beat;
          return;
        case "worker-exit":
          this.progress[0] = m.running;
          exit(m.why);
          return;
        default:
          if (m.type === "ready") ready = true;
          on.message(m);
      }
    });
    this.child.on("error", (e) => exit(e.message));
    this.child.on("exit", (code, signal) => exit(signal ? `sandbox process killed by ${signal}` : `sandbox process exit code ${code}`));
    this.child.send({ code: code.supervisor });
    this.child.send({ type: "init", init, memoryMb, workerCode: code.worker } satisfies ToSupervisor);
  }
  post(m: ToWorker): void {
    if (!this.gone && this.child.connected) this.child.send(m);
  }
  /**
   * End the process. SIGKILL where netsig may signal it; where it may not
   * (netsig is root without CAP_KILL and the process runs as another
   * user), closing the channel ends it: it exits at once when its main
   * thread is free, which only relays. Resolves when it is gone, or after
   * `graceMs` (it goes on its own once its worker's call times out).
   */
  terminate(graceMs = 3000): Promise<void> {
    this.gone = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, graceMs);
      t.unref();
      this.child.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      let killed = false;
      try {
        killed = this.child.kill("SIGKILL");
      } catch {
        /* EPERM: the channel below */
      }
      if (!killed && this.child.connected) this.child.disconnect();
    });
  }
}
