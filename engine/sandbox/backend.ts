// The signature sandbox as a backend of the signature engine
// (types/backend.ts): a worker thread (worker.ts) of a separate, unprivileged
// sandbox process (channel.ts), sent batches of packed packets, and kept
// running whatever a signature does:
//  - a signature that runs longer than `timeoutMs` in a call is stopped
//    inside the VM; the engine is told to quarantine it;
//  - a worker that dies (memory limit) or stops answering for `watchdogMs`
//    is terminated and replaced; the signature that was running (the
//    sandbox process says which) is reported, the others are loaded again
//    and what was in flight is sent again, in order;
//  - a sandbox that cannot be started again has failed: calls are answered
//    "unchecked" from then on.
// Unsandboxed, the same realm runs in-process instead (realm-backend.ts).

import { realmBundle } from "./bundle";
import { lookupUser, ProcessChannel, type SandboxChannel } from "./channel";
import type { FromWorker, ToWorker, WorkerInit, WorkerSignature } from "./worker";
import type { Packet } from "../decode/packet";
import { BatchPacker } from "../wire/compact";
import { UsageError } from "../types/errors";
import type { Backend, BackendEvents, Cut, Outcome, Registration } from "../types/backend";
import type { LoadedSignature } from "../types/findings";
import type { RealmResult } from "../types/results";

export interface SandboxOptions {
  hostName: string;
  /** when netsig runs as root, the user the sandbox process runs as (read when a process starts) */
  user: string;
  timeoutMs: number;
  watchdogMs: number;
  memoryMb: number;
}

interface Pending {
  id: number;
  msg: ToWorker;
  resolve: (r: string) => void;
}

/** a realm's answer to a call (JSON; "": the sandbox is gone for good) */
export function outcome(json: string): Outcome {
  if (json === "") return "unchecked";
  try {
    return JSON.parse(json) as RealmResult;
  } catch {
    return null;
  }
}

/** a realm's answer to register (JSON; "": the sandbox is not running) */
export function registration(json: string): Registration | null {
  return json === "" ? null : (JSON.parse(json) as Registration);
}

export function workerSig(s: LoadedSignature): WorkerSignature {
  return { index: s.index, file: s.file, code: s.source.code, rule: s.source.kind === "rule" };
}

export class SandboxBackend implements Backend<Packet> {
  failed: string | null = null;
  private worker: SandboxChannel | null = null;
  private lastBeat = -1;
  private lastBeatAt = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly batch = new BatchPacker();
  private watchdog: NodeJS.Timeout | null = null;
  private closed = false;
  /** no sandbox process yet (nothing needed one so far) */
  private unstarted = false;
  /** a sandbox started early (prepare(): while the signatures are transpiled), until spawn() takes it */
  private opening: Promise<string[]> | null = null;
  /** while a crashed sandbox is replaced: calls made meanwhile, sent once the old ones were resent */
  private restarting: Pending[] | null = null;

  /** `opts` is read when a process starts (the engine's own options) */
  constructor(
    private readonly opts: SandboxOptions,
    private readonly on: BackendEvents,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }
  get held(): number {
    return this.batch.count;
  }
  /** process id of the sandbox process */
  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** start the sandbox process now: it builds its VM while netsig transpiles the signatures */
  prepare(): void {
    this.opening = this.open();
  }

  async boot(units: LoadedSignature[]): Promise<(Registration | null)[]> {
    // only in-process rules: the sandbox starts when a signature is loaded (hot reload)
    if (units.length === 0 && this.opening === null) {
      this.unstarted = true;
      return [];
    }
    return (await this.spawn(units)).map(registration);
  }

  async register(unit: LoadedSignature): Promise<Registration | null> {
    if (this.unstarted) {
      this.unstarted = false;
      await this.spawn([]);
    }
    return this.call({ type: "add", id: 0, sig: workerSig(unit) }, registration);
  }

  remove(unit: LoadedSignature, close: boolean): Promise<Outcome> {
    return this.call({ type: "remove", id: 0, index: unit.index, close }, outcome);
  }

  add(p: Packet, seq: number): void {
    this.batch.add(p, seq);
  }

  take(): Cut | null {
    const packets = this.batch.count;
    if (packets === 0) return null;
    const data = this.batch.take();
    return { packets, send: () => this.call({ type: "batch", id: 0, data, packets }, outcome) };
  }

  signal(signal: { type: string }): Promise<Outcome> {
    return this.call({ type: "signal", id: 0, data: JSON.stringify(signal) }, outcome);
  }

  async close(): Promise<Outcome> {
    const r = this.worker ? await this.call({ type: "close", id: 0 }, outcome) : null;
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.worker) await this.worker.terminate();
    return r;
  }

  /**
   * Start a sandbox process with the signatures in `list`. A sandbox opened
   * early (prepare()) is used when there is one.
   */
  private spawn(list: LoadedSignature[]): Promise<string[]> {
    const opening = this.opening ?? this.open();
    this.opening = null;
    if (this.worker !== null) this.worker.post({ type: "load", id: 0, signatures: list.map(workerSig) });
    return opening;
  }

  /**
   * Start a sandbox process: it builds its VM and waits for its signatures
   * (spawn). Resolves with what the worker said of each when it is ready.
   */
  private open(): Promise<string[]> {
    const init: Omit<WorkerInit, "progress"> = { bundle: realmBundle(), hostName: this.opts.hostName, timeoutMs: this.opts.timeoutMs };
    let user: { uid: number; gid: number } | null = null;
    if (process.getuid?.() === 0) {
      user = lookupUser(this.opts.user);
      if (!user) return Promise.reject(new UsageError(`the sandbox user "${this.opts.user}" does not exist: create it or choose another`));
    }
    const who = user ? ` as user ${this.opts.user}` : "";
    /** why the process did not start, in one line with what to do */
    const cannot = (why: string): UsageError =>
      new UsageError(
        /\bEPERM\b/.test(why) && user
          ? `the signature sandbox cannot start as user ${this.opts.user}: netsig runs as root without the SETUID and SETGID capabilities; ` +
              "add them (docker/podman run --cap-add SETUID --cap-add SETGID, or the pod's securityContext.capabilities.add), or run netsig as a non-root user"
          : /\bEACCES\b/.test(why) && user
            ? `the signature sandbox cannot start${who}: that user cannot run ${process.execPath} (${why}); install node where every user can run it`
            : `the signature sandbox did not start${who} (${why})`,
      );
    const opened = new Promise<string[]>((resolve, reject) => {
      let ready = false;
      let ch: SandboxChannel;
      try {
        ch = new ProcessChannel(
          init,
          this.opts.memoryMb,
          {
            message: (m: FromWorker) => {
              if (m.type === "ready") {
                ready = true;
                resolve(m.loaded);
                return;
              }
              if (m.type === "result" || m.type === "added") this.answer(m);
              if (m.type === "fatal") this.on.log(`netsig: sandbox error: ${m.message}`, "error");
            },
            exit: (why) => {
              if (!ready) reject(cannot(why));
              else if (this.worker === ch && !this.closed) this.crashed(ch, why);
            },
          },
          user,
          this.on.log,
        );
      } catch (e) {
        // (spawn throws EPERM at once where setuid/setgid are not allowed)
        reject(cannot((e as NodeJS.ErrnoException).code ?? String((e as Error)?.message ?? e)));
        return;
      }
      this.worker = ch;
      this.watchdog ??= setInterval(() => this.checkWatchdog(), 500).unref() as unknown as NodeJS.Timeout;
    });
    // (an early start that fails is reported when spawn() waits for it, not as an unhandled rejection)
    opened.catch(() => undefined);
    return opened;
  }

  private answer(m: Extract<FromWorker, { type: "result" | "added" }>): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === "result") {
      if (m.ms !== undefined && p.msg.type === "batch") this.on.batchTime(m.ms / 1000);
      for (const i of m.hung) this.on.quarantine(i, `ran longer than ${this.opts.timeoutMs} ms in one call`);
      p.resolve(m.result);
    } else p.resolve(m.loaded);
    this.on.answered(false);
  }

  /** send a message; its answer, read by `parse` ("" when the sandbox is gone for good) */
  private call<T>(msg: ToWorker, parse: (json: string) => T): Promise<T> {
    // the sandbox could not be restarted: nothing runs (counted as shed)
    if (this.failed !== null || this.worker === null) return Promise.resolve(parse(""));
    const id = this.nextId++;
    const m = { ...msg, id } as ToWorker;
    return new Promise((resolve) => {
      const p = { id, msg: m, resolve: (r: string) => resolve(parse(r)) };
      this.pending.set(id, p);
      if (this.restarting !== null) this.restarting.push(p);
      else this.worker!.post(m);
    });
  }

  /**
   * A worker with work that has made no progress for `watchdogMs` is stuck
   * (its heartbeat moves at every signature of every batch). Progress, not
   * the age of the oldest request: a loaded machine may queue batches for a
   * while, and that is no reason to restart.
   */
  private checkWatchdog(): void {
    const beat = this.worker ? Atomics.load(this.worker.progress, 1) : 0;
    const now = Date.now();
    if (!this.worker || this.pending.size === 0 || beat !== this.lastBeat) {
      this.lastBeat = beat;
      this.lastBeatAt = now;
      return;
    }
    if (now - this.lastBeatAt > this.opts.watchdogMs) {
      void this.worker.terminate();
      this.crashed(this.worker, `no progress for ${this.opts.watchdogMs} ms`);
    }
  }

  /** the worker died or hung: report the signature that was running, start a new worker, load the others, resend */
  private crashed(w: SandboxChannel, why: string): void {
    if (this.worker !== w || this.closed) return;
    this.worker = null;
    void w.terminate();
    const active = this.on.restarting(why, Atomics.load(w.progress, 0));
    const resend = [...this.pending.values()].sort((a, b) => a.id - b.id);
    this.pending.clear();
    // what is sent while the new sandbox starts waits, so that it goes after the resent batches
    const waiting: Pending[] = (this.restarting = []);
    void this.spawn(active).then(
      (loaded) => {
        this.on.reloaded(active, loaded.map(registration));
        for (const p of resend) {
          this.pending.set(p.id, p);
          this.worker!.post(p.msg);
        }
        this.restarting = null;
        for (const p of waiting) this.worker!.post(p.msg);
      },
      (e: Error) => {
        this.failed = `could not restart the sandbox: ${e.message}`;
        this.on.log(`netsig: ${this.failed}; packets are no longer checked`, "error");
        this.restarting = null;
        this.worker = null;
        // nothing will answer: let everyone waiting go on
        for (const p of [...resend, ...waiting]) {
          this.pending.delete(p.id);
          p.resolve("");
        }
        this.on.answered(true);
      },
    );
  }
}
