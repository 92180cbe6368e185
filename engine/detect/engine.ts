// The host side of the signature sandboxes: loads signature files into a
// worker thread (sandbox/worker.ts) of a separate, unprivileged sandbox
// process (channel.ts), sends it batches of packed packets, collects
// findings in order, and keeps the engine alive whatever a signature does:
//  - a signature that throws is logged (file:line) and counted; one that
//    throws more than `maxErrors` times in `errorWindowMs` is disabled;
//  - one that runs longer than `timeoutMs` in a call is stopped inside the VM
//    and quarantined; the other signatures keep their state;
//  - a worker that dies (memory limit) or stops answering for `watchdogMs`
//    is terminated and replaced; the signature that was running (the
//    sandbox process says which) is quarantined, the others are loaded again.
// Unsandboxed mode runs the same realm in-process (benchmarks, authoring).

import { Realm } from "../realm/realm";
import { FINDING_LIMITS, type RealmResult } from "../types/results";
import { realmBundle } from "../sandbox/bundle";
import { formatProblem, lineOf, type LoadProblem, type SignatureSource } from "../types/sources";
import { mapStack } from "../sandbox/sourcemap";
import type { FromWorker, ToWorker, WorkerInit, WorkerSignature } from "../sandbox/worker";
import { lookupUser, ProcessChannel, type SandboxChannel } from "../sandbox/channel";
import type { SignatureMetadata } from "../sdk/index";
import type { Packet } from "../decode/packet";
import { BatchPacker } from "../wire/compact";
import { EVENT_COUNT, kindsOf } from "../events/registry";
import { UsageError } from "../types/errors";
import { HostRules } from "../rules/run/backend";
import { compileRules } from "../rules/run/runtime";
import type { FindingHandler, HostFinding, LoadedSignature } from "../types/findings";

export { sandboxWorkerOptions } from "../sandbox/channel";

export interface EngineOptions {
  hostName: string;
  sandboxed?: boolean;
  /** when netsig runs as root, the user the sandbox process runs as (default nobody) */
  user?: string;
  /** longest one call into a signature may run (ms) */
  timeoutMs?: number;
  /** longest the worker may go without answering (ms) */
  watchdogMs?: number;
  /** heap limit of the sandbox worker (MB) */
  memoryMb?: number;
  maxErrors?: number;
  errorWindowMs?: number;
  /** packets per batch */
  batchSize?: number;
  /** batches in flight before push() asks the caller to wait (drain) */
  maxInFlight?: number;
  /**
   * batches queued before packets are shed (live capture cannot wait: when the
   * signatures fall this far behind, packets skip them, counted and logged,
   * rather than memory growing without bound)
   */
  maxQueued?: number;
  log?: (line: string, level?: "debug" | "info" | "warn" | "error") => void;
}

interface Pending { id: number; msg: ToWorker; resolve: (r: string) => void }

/** a transpiled CommonJS module as a function (unsandboxed runs only) */
function moduleFunction(code: string): Parameters<Realm["register"]>[2] {
  return new Function("module", "exports", "require", code) as Parameters<Realm["register"]>[2];
}

type Sources = (SignatureSource | LoadProblem)[];

export class SignatureEngine {
  readonly signatures = new Map<number, LoadedSignature>();
  readonly problems: LoadProblem[] = [];
  onFindings: FindingHandler = () => undefined;
  /** every packet up to this number has been through the signatures (results in order) */
  onComplete: (lastPacket: number) => void = () => undefined;
  /** called after a signature was loaded, replaced or unloaded (the selected events may differ) */
  onChange: () => void = () => undefined;
  /** packets sent to the sandbox, findings, errors: counters for the summary */
  readonly stats = { packetsSent: 0, findings: 0, errors: 0, restarts: 0, shed: 0, findingsDropped: 0 };
  /** events built for the signatures, per event type (Ev), counted in the realm per batch */
  readonly events: number[] = new Array<number>(EVENT_COUNT).fill(0);
  /** findings per signature id and severity (key "id\tseverity"), errors per signature id (metrics) */
  readonly findingsBy = new Map<string, number>();
  readonly errorsBy = new Map<string, number>();
  /** signature id -> findings dropped over the per-result limits */
  readonly droppedBy = new Map<string, number>();
  /** called with the time a batch took in the signatures (s), measured in the worker */
  onBatchTime: ((seconds: number) => void) | null = null;
  /** why the engine cannot run any more (the sandbox could not be restarted); null while it can */
  failed: string | null = null;

  private readonly opts: Required<EngineOptions>;
  private worker: SandboxChannel | null = null;
  private realm: Realm | null = null;
  private lastBeat = -1;
  private lastBeatAt = 0;
  private nextIndex = 0;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private batch = new BatchPacker();
  private batchLastPacket = -1;
  private watchdog: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  private closed = false;
  /** while a signature is added, replaced or removed, batches wait here (then go in order) */
  private held: { data: string | null; last: number; count: number; rules: RealmResult | null }[] | null = null;
  /** the rules that run in-process, and the order in which results are handed on */
  private readonly rules: HostRules;
  private tail: Promise<void> = Promise.resolve();
  /** [every active unit's events, the sandbox's] (null: count again: the set or a state changed) */
  private masks: [number, number] | null = null;
  /** no sandbox process yet (nothing needed one so far) */
  private unstarted = false;
  /** a sandbox started early (start(): while the signatures are transpiled), until spawn() takes it */
  private opening: Promise<string[]> | null = null;
  /** while a crashed sandbox is replaced: calls made meanwhile, sent once the old ones were resent */
  private restarting: Pending[] | null = null;
  private exclusiveChain: Promise<void> = Promise.resolve();

  private constructor(opts: EngineOptions) {
    this.opts = {
      sandboxed: true, user: "nobody", timeoutMs: 1000, watchdogMs: 10_000, memoryMb: 256, maxErrors: 100, errorWindowMs: 10_000,
      // (8192 packets a batch: a sandbox call, its watchdog thread and two message
      // hops cost ~0.5 ms, a tenth of a 1024-packet batch's time, and 8192 took
      // ~5% less of the sandbox's time than 4096; live capture sends what it has
      // every 100 ms anyway. 32 queued batches: 256k packets.)
      batchSize: 8192, maxInFlight: 4, maxQueued: 32, log: (l) => process.stderr.write(l + "\n"), ...opts,
    } as SignatureEngine["opts"];
    this.rules = new HostRules(this.opts.hostName);
  }

  /**
   * Load the signatures (problems are reported and skipped) and start the
   * sandbox. `sources` may be a function that makes them (transpiles the
   * files): with `early`, the sandbox process starts first and builds its VM
   * meanwhile (~0.1 s of a start; `early`: there are signature files).
   */
  static async start(sources: Sources | (() => Sources), opts: EngineOptions, early = false): Promise<SignatureEngine> {
    const e = new SignatureEngine(opts);
    if (typeof sources === "function") {
      if (early && e.opts.sandboxed) e.opening = e.open();
      sources = sources();
    }
    const ok: LoadedSignature[] = [];
    for (const s of sources) {
      if (!("code" in s)) { e.problem(s); continue; }
      ok.push(e.unit(s));
    }
    await e.boot(ok);
    return e;
  }

  private unit(s: SignatureSource): LoadedSignature {
    const host = s.kind === "rule" && s.ir !== undefined && s.sandboxReason === "";
    if (s.kind === "rule" && !host && s.sandboxReason) this.opts.log(`netsig: rule ${s.key ?? s.file} runs in the signature sandbox: ${s.sandboxReason}`, "info");
    return { index: this.nextIndex++, file: s.file, meta: { id: "", version: "", name: "", description: "" }, mask: 0, source: s, errors: [], state: "active", host };
  }

  /** the event types any active signature selected */
  get mask(): number {
    if (this.masks === null) this.countMasks();
    return this.masks![0];
  }

  /** the event types the active signatures in the sandbox selected */
  private get sandboxMask(): number {
    if (this.masks === null) this.countMasks();
    return this.masks![1];
  }

  private countMasks(): void {
    let all = 0;
    let sandbox = 0;
    for (const s of this.signatures.values()) {
      if (s.state !== "active") continue;
      all |= s.mask;
      if (!s.host) sandbox |= s.mask;
    }
    this.masks = [all, sandbox];
  }

  /** take a signature or rule out of where it runs (close(): its close() is called) */
  private remove(s: LoadedSignature, close: boolean): Promise<void> {
    if (s.host) { this.collectResult(this.rules.unregister(s.index, close)); return Promise.resolve(); }
    return this.call({ type: "remove", id: 0, index: s.index, close }).then((r) => this.collect(r));
  }

  private problem(p: LoadProblem): void {
    this.problems.push(p);
    const what = p.kind === "rule" ? "rule" : "signature";
    this.opts.log(p.keeps ? `netsig: ${what} not reloaded: ${formatProblem(p)}; the previous version keeps running (${p.keeps})`
      : `netsig: ${what} skipped: ${formatProblem(p)}`, "warn");
  }

  /** what a loaded unit is called in messages */
  private what(s: LoadedSignature): string {
    return s.source.kind === "rule" ? "rule" : "signature";
  }

  private workerSig(s: LoadedSignature): WorkerSignature {
    return { index: s.index, file: s.file, code: s.source.code, rule: s.source.kind === "rule" };
  }

  /** start the realm (a worker, or in-process) with these signatures; keep those that load */
  private async boot(all: LoadedSignature[]): Promise<void> {
    const list = all.filter((s) => !s.host);
    let loaded: string[];
    if (!this.opts.sandboxed) {
      this.realm = new Realm(this.opts.hostName, undefined, Object.freeze({ compileRules }));
      loaded = list.map((s) => this.realm!.register(s.index, s.file, moduleFunction(s.source.code), s.source.kind === "rule"));
    } else if (list.length === 0 && this.opening === null) {
      // only in-process rules: the sandbox starts when a signature is loaded (hot reload)
      loaded = [];
      this.unstarted = true;
    } else {
      loaded = await this.spawn(list);
    }
    list.forEach((s, i) => { this.registered(s, loaded[i]); });
    for (const s of all) if (s.host) this.registered(s, this.rules.register(s.index, s.file, s.source.ir!));
  }

  /** record a signature the realm registered (or report why not); `replacing` is the index it takes over from */
  private registered(s: LoadedSignature, json: string, replacing?: number): boolean {
    if (json === "") {
      this.problem({ file: s.file, line: 1, column: 1, message: `not loaded: ${this.failed ?? "the sandbox is not running"}`, kind: s.source.kind });
      return false;
    }
    const r = JSON.parse(json) as { ok: boolean; meta?: SignatureMetadata; mask?: number; message?: string; stack?: string; out?: RealmResult };
    // (a reload that fails: the version it was to replace keeps running)
    const old = replacing === undefined ? undefined : this.signatures.get(replacing);
    const keeps = old ? { keeps: old.meta.id } : {};
    if (!r.ok) {
      const at = mapStack(s.source, r.stack ?? "");
      this.problem({ file: s.file, line: at?.line ?? s.source.line ?? lineOf(s.source.text), column: at?.column ?? 1, message: r.message ?? "failed to load", kind: s.source.kind, ...keeps });
      return false;
    }
    const dup = [...this.signatures.values()].find((o) => o.meta.id === r.meta!.id && o.state !== "quarantined" && o.index !== replacing);
    if (dup) {
      this.problem({ file: s.file, line: s.source.line ?? lineOf(s.source.text, "getMetadata"), column: 1, message: `duplicate ${this.what(s)} id "${r.meta!.id}" (already loaded from ${dup.file})`, kind: s.source.kind, ...keeps });
      void this.remove(s, true);
      return false;
    }
    s.meta = r.meta!;
    s.mask = r.mask!;
    this.signatures.set(s.index, s);
    this.masks = null;
    // what init() logged or reported
    if (r.out) this.collectResult(r.out);
    return true;
  }

  /** process id of the sandbox process */
  get sandboxPid(): number | undefined { return this.worker?.pid; }

  /**
   * Start a sandbox process with the signatures in `list`. A sandbox opened
   * early (open(): while netsig transpiles the signatures) is used when there is one.
   */
  private spawn(list: LoadedSignature[]): Promise<string[]> {
    const opening = this.opening ?? this.open();
    this.opening = null;
    if (this.worker !== null) this.worker.post({ type: "load", id: 0, signatures: list.map((s) => this.workerSig(s)) });
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
    const cannot = (why: string): UsageError => new UsageError(/\bEPERM\b/.test(why) && user
      ? `the signature sandbox cannot start as user ${this.opts.user}: netsig runs as root without the SETUID and SETGID capabilities; ` +
        "add them (docker/podman run --cap-add SETUID --cap-add SETGID, or the pod's securityContext.capabilities.add), or run netsig as a non-root user"
      : /\bEACCES\b/.test(why) && user
        ? `the signature sandbox cannot start${who}: that user cannot run ${process.execPath} (${why}); install node where every user can run it`
        : `the signature sandbox did not start${who} (${why})`);
    const opened = new Promise<string[]>((resolve, reject) => {
      let ready = false;
      let ch: SandboxChannel;
      try {
        ch = new ProcessChannel(init, this.opts.memoryMb, {
          message: (m: FromWorker) => {
            if (m.type === "ready") { ready = true; resolve(m.loaded); return; }
            if (m.type === "result" || m.type === "added") this.answer(m);
            if (m.type === "fatal") this.opts.log(`netsig: sandbox error: ${m.message}`, "error");
          },
          exit: (why) => {
            if (!ready) reject(cannot(why));
            else if (this.worker === ch && !this.closed) this.crashed(ch, why);
          },
        }, user, this.opts.log);
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
      if (m.ms !== undefined && p.msg.type === "batch") this.onBatchTime?.(m.ms / 1000);
      for (const i of m.hung) this.quarantine(i, `ran longer than ${this.opts.timeoutMs} ms in one call`);
      p.resolve(m.result);
    } else p.resolve(m.loaded);
    const w = this.waiters.shift();
    if (w) w();
  }

  private call(msg: ToWorker): Promise<string> {
    if (this.realm) return Promise.resolve(this.callRealm(msg));
    // the sandbox could not be restarted: nothing runs (counted as shed)
    if (this.failed !== null || this.worker === null) return Promise.resolve("");
    const id = this.nextId++;
    const m = { ...msg, id } as ToWorker;
    return new Promise((resolve) => {
      const p = { id, msg: m, resolve };
      this.pending.set(id, p);
      if (this.restarting !== null) this.restarting.push(p);
      else this.worker!.post(m);
    });
  }

  private callRealm(msg: ToWorker): string {
    const r = this.realm!;
    switch (msg.type) {
      case "batch": {
        const t0 = performance.now();
        const out = r.batch(msg.data);
        this.onBatchTime?.((performance.now() - t0) / 1000);
        return out;
      }
      case "signal": return r.signal(msg.data);
      case "remove": return r.unregister(msg.index, msg.close);
      case "close": return r.closeAll();
      default: return "{}";
    }
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

  /** the worker died or hung: quarantine the signature that was running, start a new worker, resend */
  private crashed(w: SandboxChannel, why: string): void {
    if (this.worker !== w || this.closed) return;
    this.worker = null;
    void w.terminate();
    this.stats.restarts++;
    const running = Atomics.load(w.progress, 0);
    if (running >= 0) this.quarantine(running, `stopped the sandbox (${why})`);
    else this.opts.log(`netsig: sandbox restarted (${why}); signature state was reset`, "warn");
    const resend = [...this.pending.values()].sort((a, b) => a.id - b.id);
    this.pending.clear();
    // (the rules that run in-process are not the sandbox's)
    const active = [...this.signatures.values()].filter((s) => s.state === "active" && !s.host);
    for (const s of active) this.signatures.delete(s.index);
    this.masks = null;
    // what is sent while the new sandbox starts waits, so that it goes after the resent batches
    const waiting: Pending[] = (this.restarting = []);
    void this.spawn(active).then((loaded) => {
      active.forEach((s, i) => { this.registered(s, loaded[i]); });
      for (const p of resend) {
        this.pending.set(p.id, p);
        this.worker!.post(p.msg);
      }
      this.restarting = null;
      for (const p of waiting) this.worker!.post(p.msg);
    }, (e: Error) => {
      this.failed = `could not restart the sandbox: ${e.message}`;
      this.opts.log(`netsig: ${this.failed}; packets are no longer checked`, "error");
      this.restarting = null;
      this.worker = null;
      // nothing will answer: let everyone waiting go on
      for (const p of [...resend, ...waiting]) { this.pending.delete(p.id); p.resolve(""); }
      while (this.waiters.length) this.waiters.shift()!();
    });
  }

  private quarantine(index: number, why: string): void {
    const s = this.signatures.get(index);
    if (!s || s.state === "quarantined") return;
    s.state = "quarantined";
    this.masks = null;
    this.opts.log(`netsig: signature ${s.meta.id || "?"} (${s.file}) quarantined: it ${why}; the others keep running`, "warn");
    if (this.worker) void this.remove(s, false);
  }

  // ---- events in

  /** hand over a decoded packet; returns true when the caller should await drain() */
  push(p: Packet, packetNumber: number): boolean {
    const kinds = kindsOf(p);
    if ((kinds & this.mask) === 0) return false;
    // the in-process rules see every packet at once; their results wait for the batch's
    if (kinds & this.rules.mask) {
      this.rules.push(p, packetNumber);
      this.batchLastPacket = packetNumber;
      this.stats.packetsSent++;
      if (this.rules.held >= this.opts.batchSize) this.send();
    }
    if ((kinds & this.sandboxMask) === 0) return this.pending.size >= this.opts.maxInFlight;
    if (this.failed !== null) { this.stats.shed++; return false; }
    if (this.pending.size + (this.held?.length ?? 0) >= this.opts.maxQueued) {
      if (this.stats.shed++ === 0) {
        this.opts.log(`netsig: the signatures are ${this.opts.maxQueued} batches behind the capture: packets skip them until they catch up (counted)`, "warn");
      }
      return true;
    }
    // (counted once: a packet the rules checked was counted above)
    if (!(kinds & this.rules.mask)) this.stats.packetsSent++;
    this.batch.add(p, packetNumber);
    this.batchLastPacket = packetNumber;
    if (this.batch.count >= this.opts.batchSize) this.send();
    return this.pending.size >= this.opts.maxInFlight;
  }

  /** batches sent to the sandbox and not answered yet, or held during a reload */
  get queued(): number {
    return this.pending.size + (this.held?.length ?? 0);
  }

  /** wait until fewer batches are in flight than the limit */
  async drain(): Promise<void> {
    // each answer wakes one waiter: wait again until enough have come back
    while (this.pending.size >= this.opts.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
  }

  private send(): void {
    const count = this.batch.count;
    if (count === 0 && this.rules.held === 0) return;
    const data = count > 0 ? this.batch.take() : null;
    const rules = this.rules.held > 0 ? this.rules.take() : null;
    const last = this.batchLastPacket;
    if (this.held) { this.held.push({ data, last, count, rules }); return; }
    this.post(data, last, count, rules);
  }

  /**
   * Send a batch to the sandbox; hand on its results with those of the
   * in-process rules over the same packets, in packet order, after the
   * batches before it.
   */
  private post(data: string | null, last: number, count: number, rules: RealmResult | null): void {
    const answer = data === null ? Promise.resolve(null) : this.call({ type: "batch", id: 0, data, packets: count });
    this.tail = Promise.all([answer, this.tail]).then(([r]) => {
      // "": the sandbox is gone for good (failed): the batch was not checked
      if (r === "") this.stats.shed += count;
      this.collectBoth(r === null || r === "" ? null : r, rules);
      this.onComplete(last);
    });
  }

  /** collect a sandbox answer (JSON) and the rules' results as one, findings in packet order */
  private collectBoth(json: string | null, rules: RealmResult | null): void {
    let r: RealmResult | null = null;
    if (json !== null) {
      try { r = JSON.parse(json) as RealmResult; } catch { r = null; }
    }
    if (r === null) { if (rules !== null) this.collectResult(rules); return; }
    if (rules === null) { this.collectResult(r); return; }
    const findings = rules.findings.length === 0 ? r.findings : [...r.findings, ...rules.findings].sort((a, b) => a.seq - b.seq);
    // (the same packets' events: one that reached both the sandbox and the rules is one event)
    const events = r.events && rules.events ? r.events.map((n, i) => Math.max(n, rules.events![i])) : r.events ?? rules.events;
    const dropped = r.dropped && rules.dropped ? [...r.dropped, ...rules.dropped] : r.dropped ?? rules.dropped;
    this.collectResult({ findings, errors: [...r.errors, ...rules.errors], logs: [...r.logs, ...rules.logs], done: true, events, dropped });
  }

  /** send the batch being built even if it is not full (live capture: at most a few ms of delay) */
  sendPartial(): void {
    this.send();
  }

  // ---- hot reload

  /**
   * Run a change of the loaded set alone: batches that arrive meanwhile are
   * held and sent, in order, afterwards, so every other signature sees every
   * event and the changed one sees a clean cut (all events from one batch on).
   */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveChain.then(async () => {
      this.send();
      this.held = [];
      try {
        return await fn();
      } finally {
        const held = this.held;
        this.held = null;
        for (const b of held) this.post(b.data, b.last, b.count, b.rules);
      }
    });
    this.exclusiveChain = run.then(() => undefined, () => undefined);
    return run;
  }

  /** the active signature loaded from this file (or, for rules, this file#id key) */
  byFile(key: string): LoadedSignature | undefined {
    for (const s of this.signatures.values()) if ((s.source.key ?? s.file) === key && s.state === "active") return s;
    return undefined;
  }

  /**
   * Load a new or changed file. A changed file's new version replaces the old
   * one (whose close() is called) only once it has loaded; a version that
   * fails to load is reported and the old one keeps running.
   */
  load(source: SignatureSource | LoadProblem): Promise<LoadedSignature | null> {
    return this.exclusive(async () => {
      if (!("code" in source)) {
        // (a signature file that no longer loads: its running version stays)
        const running = source.keeps === undefined ? this.byFile(source.file) : undefined;
        this.problem(running ? { ...source, keeps: running.meta.id } : source);
        return null;
      }
      const old = this.byFile(source.key ?? source.file);
      const s = this.unit(source);
      if (!s.host && this.unstarted) {
        this.unstarted = false;
        await this.spawn([]);
      }
      const json = s.host ? this.rules.register(s.index, s.file, source.ir!)
        : this.realm ? this.realm.register(s.index, s.file, moduleFunction(source.code), source.kind === "rule") : await this.call({ type: "add", id: 0, sig: this.workerSig(s) });
      if (!this.registered(s, json, old?.index)) return null;
      if (old) {
        // (still in the map while its close() runs, so what it logs is named)
        await this.remove(old, true);
        this.signatures.delete(old.index);
        this.masks = null;
      }
      this.opts.log(`netsig: ${this.what(s)} ${old ? "reloaded" : "loaded"}: ${s.meta.id} (${s.file})`);
      this.onChange();
      return s;
    });
  }

  /** unload the signature of a deleted file, or the rule of a file#id key (its close() is called) */
  unload(key: string): Promise<boolean> {
    return this.exclusive(async () => {
      let found = false;
      for (const s of [...this.signatures.values()]) {
        if ((s.source.key ?? s.file) !== key) continue;
        found = true;
        if (s.state === "active") await this.remove(s, true);
        this.signatures.delete(s.index);
        this.masks = null;
        this.opts.log(`netsig: ${this.what(s)} unloaded: ${s.meta.id} (${s.file})`);
      }
      if (found) this.onChange();
      return found;
    });
  }

  /** send what is batched and wait for every answer */
  async flush(): Promise<void> {
    await this.exclusiveChain;
    this.send();
    while (this.pending.size > 0) await new Promise<void>((r) => this.waiters.push(r));
    await this.tail;
  }

  async signal(signal: { type: string; [k: string]: unknown }): Promise<void> {
    await this.flush();
    this.collectBoth(await this.call({ type: "signal", id: 0, data: JSON.stringify(signal) }) || null, this.rules.signal(signal));
  }

  async close(): Promise<void> {
    await this.flush();
    const rules = this.rules.closeAll();
    this.collectBoth(this.realm || this.worker ? await this.call({ type: "close", id: 0 }) || null : null, rules);
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.worker) await this.worker.terminate();
  }

  // ---- results out

  private collect(json: string): void {
    this.collectBoth(json, null);
  }

  private collectResult(r: RealmResult): void {
    for (const l of r.logs ?? []) {
      const s = this.signatures.get(l.sig);
      const level = l.level === "debug" || l.level === "warn" || l.level === "error" ? l.level : "info";
      this.opts.log(`netsig: [${l.level}] ${s?.meta.id ?? l.sig}: ${l.message}`, level);
    }
    if (r.events) for (let i = 0; i < r.events.length; i++) this.events[i] += r.events[i];
    if (r.dropped) for (const d of r.dropped) this.droppedFindings(d.sig, d.count);
    for (const e of r.errors ?? []) this.error(e.sig, e.method, e.message, e.stack);
    if (r.findings?.length) {
      const out: HostFinding[] = [];
      for (const f of r.findings) {
        const sig = this.signatures.get(f.sig);
        if (!sig) continue;
        const key = `${sig.meta.id}\t${Number(sig.meta.properties?.Severity ?? 0)}`;
        this.findingsBy.set(key, (this.findingsBy.get(key) ?? 0) + 1);
        out.push({ sig, packet: f.seq, ts: f.ts, event: typeof f.event === "string" ? JSON.parse(f.event) : f.event, data: JSON.parse(f.data) ?? {} });
      }
      this.stats.findings += out.length;
      if (out.length) this.onFindings(out);
    }
  }

  /** findings a signature reported over its per-result limits (realm.ts FINDING_LIMITS): counted, logged once */
  private droppedFindings(index: number, count: number): void {
    const s = this.signatures.get(index);
    if (!s) return;
    this.stats.findingsDropped += count;
    const before = this.droppedBy.get(s.meta.id) ?? 0;
    this.droppedBy.set(s.meta.id, before + count);
    if (before === 0) {
      const l = FINDING_LIMITS;
      this.opts.log(`netsig: signature ${s.meta.id} (${s.file}): findings dropped: more than ${l.perResult} findings or ${l.bytesPerResult >> 20} MB ` +
        `in one batch, or data over ${l.dataBytes >> 20} MB in one finding (ctx.callback in a loop?); the other signatures' findings are kept; ` +
        "counted in the summary and netsig_findings_dropped_total", "warn");
    }
  }

  private error(index: number, method: string, message: string, stack: string): void {
    const s = this.signatures.get(index);
    if (!s) return;
    this.stats.errors++;
    this.errorsBy.set(s.meta.id, (this.errorsBy.get(s.meta.id) ?? 0) + 1);
    const at = mapStack(s.source, stack);
    // vm2 hides the frames of sandboxed code: without one, point at the method
    const where = at ? `${s.file}:${at.line}:${at.column}` : `${s.file}:${lineOf(s.source.text, method)}`;
    const now = Date.now();
    s.errors.push(now);
    while (s.errors.length && s.errors[0] < now - this.opts.errorWindowMs) s.errors.shift();
    if (s.errors.length <= 3 || s.errors.length % 100 === 0) {
      this.opts.log(`netsig: signature ${s.meta.id} (${where}) ${method} threw: ${message}`, "warn");
    }
    if (s.errors.length > this.opts.maxErrors && s.state === "active") {
      s.state = "disabled";
      this.masks = null;
      this.opts.log(`netsig: signature ${s.meta.id} (${s.file}) disabled: more than ${this.opts.maxErrors} errors in ${this.opts.errorWindowMs / 1000} s`, "warn");
      void this.remove(s, true);
    }
  }
}
