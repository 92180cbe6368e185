// The signature engine: routes decoded packets to the two backends
// (types/backend.ts) that run the signatures and rules: the sandbox
// (sandbox/backend.ts; its realm in-process when unsandboxed,
// sandbox/realm-backend.ts) and the compiled rules in netsig's own process
// (rules/run/backend.ts). Here, whatever the backend: where a packet goes
// (the units' masks: units.ts), batches cut at the same packet in both,
// results in packet order and held during a reload (batches.ts), shedding
// when the sandbox falls `maxQueued` batches behind, errors, disabling and
// quarantine, and the counters the summary and /metrics show (results.ts).

import type { Packet } from "../decode/packet";
import { EVENT_COUNT, kindsOf } from "../events/registry";
import type { LoadProblem, SignatureSource } from "../types/sources";
import { SandboxBackend } from "../sandbox/backend";
import { RealmBackend } from "../sandbox/realm-backend";
import { HostRules } from "../rules/run/backend";
import type { Backend, Outcome, Registration } from "../types/backend";
import type { FindingHandler, LoadedSignature } from "../types/findings";
import { Batches } from "./batches";
import { withDefaults, type EngineOptions } from "./options";
import { merge, Results } from "./results";
import { Units } from "./units";

export { sandboxWorkerOptions } from "../sandbox/channel";
export type { EngineOptions } from "./options";

type Sources = (SignatureSource | LoadProblem)[];

export class SignatureEngine {
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

  private readonly opts: Required<EngineOptions>;
  /** where units run: the compiled rules in netsig's process, and the sandbox (its realm in-process when unsandboxed) */
  private readonly rules: Backend<Packet>;
  private readonly sandbox: SandboxBackend | RealmBackend;
  private readonly units: Units;
  private readonly results: Results;
  private readonly batches: Batches;

  private constructor(opts: EngineOptions) {
    this.opts = withDefaults(opts);
    this.units = new Units(this.opts, {
      remove: (s, close) => this.remove(s, close),
      collect: (r) => this.results.collect(r),
      failed: () => this.sandbox.failed,
    });
    this.results = new Results(this, this.units.signatures, this.opts, (s) => {
      this.units.masks = null;
      void this.remove(s, true);
    });
    const on = {
      log: (line: string, level?: "debug" | "info" | "warn" | "error") => this.opts.log(line, level),
      quarantine: (index: number, why: string) => this.units.quarantine(index, why),
      restarting: (why: string, running: number) => this.restarting(why, running),
      reloaded: (units: LoadedSignature[], answers: (Registration | null)[]) => {
        units.forEach((s, i) => {
          this.units.registered(s, answers[i]);
        });
      },
      answered: (every: boolean) => this.batches.wake(every),
      batchTime: (seconds: number) => this.onBatchTime?.(seconds),
    };
    this.rules = new HostRules(this.opts.hostName);
    // (the sandbox reads the engine's options when it starts a process)
    this.sandbox = this.opts.sandboxed ? new SandboxBackend(this.opts, on) : new RealmBackend(this.opts.hostName, on);
    this.batches = new Batches(this.sandbox, this.rules, (r, h, last, packets) => {
      // the sandbox is gone for good (failed): the batch was not checked
      if (r === "unchecked") this.stats.shed += packets;
      this.collect(r, h);
      this.onComplete(last);
    });
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
      if (early && e.sandbox instanceof SandboxBackend) e.sandbox.prepare();
      sources = sources();
    }
    const ok: LoadedSignature[] = [];
    for (const s of sources) {
      if (!("code" in s)) {
        e.units.problem(s);
        continue;
      }
      ok.push(e.units.unit(s));
    }
    await e.boot(ok);
    return e;
  }

  /** why the engine cannot run any more (the sandbox could not be restarted); null while it can */
  get failed(): string | null {
    return this.sandbox.failed;
  }

  /** process id of the sandbox process */
  get sandboxPid(): number | undefined {
    return this.sandbox instanceof SandboxBackend ? this.sandbox.pid : undefined;
  }

  /** where a unit runs */
  private backendOf(s: LoadedSignature): Backend<Packet> {
    return s.host ? this.rules : this.sandbox;
  }

  /** the loaded units (index -> unit), and what did not load */
  get signatures(): Map<number, LoadedSignature> {
    return this.units.signatures;
  }
  get problems(): LoadProblem[] {
    return this.units.problems;
  }

  /** the event types any active signature selected */
  get mask(): number {
    return (this.units.masks ?? this.units.countMasks())[0];
  }

  /** take a signature or rule out of where it runs (close(): its close() is called) */
  private remove(s: LoadedSignature, close: boolean): Promise<void> {
    const r = this.backendOf(s).remove(s, close);
    if (r instanceof Promise) return r.then((o) => this.collect(o, null));
    this.collect(r, null);
    return Promise.resolve();
  }

  /** start the backends with these units (the sandbox's first); keep those that load */
  private async boot(all: LoadedSignature[]): Promise<void> {
    for (const b of [this.sandbox, this.rules]) {
      const units = all.filter((s) => this.backendOf(s) === b);
      const answers = await b.boot(units);
      units.forEach((s, i) => {
        this.units.registered(s, answers[i]);
      });
    }
  }

  // ---- what the sandbox reports

  /** the sandbox stopped: quarantine what was running; the others are out until reloaded */
  private restarting(why: string, running: number): LoadedSignature[] {
    this.stats.restarts++;
    if (running >= 0) this.units.quarantine(running, `stopped the sandbox (${why})`);
    else this.opts.log(`netsig: sandbox restarted (${why}); signature state was reset`, "warn");
    return this.units.takeSandboxed();
  }

  // ---- events in

  /** hand over a decoded packet; returns true when the caller should await drain() */
  push(p: Packet, packetNumber: number): boolean {
    const kinds = kindsOf(p);
    const m = this.units.masks ?? this.units.countMasks();
    if ((kinds & m[0]) === 0) return false;
    // the in-process rules see every packet at once; their results wait for the batch's
    if (kinds & m[1]) {
      this.rules.add(p, packetNumber);
      this.batches.last = packetNumber;
      this.stats.packetsSent++;
      if (this.rules.held >= this.opts.batchSize) this.batches.send();
    }
    const sandbox = this.sandbox;
    if ((kinds & (this.units.masks ?? this.units.countMasks())[2]) === 0) return sandbox.inFlight >= this.opts.maxInFlight;
    if (sandbox.failed !== null) {
      this.stats.shed++;
      return false;
    }
    if (sandbox.inFlight + this.batches.holding >= this.opts.maxQueued) {
      if (this.stats.shed++ === 0) {
        this.opts.log(
          `netsig: the signatures are ${this.opts.maxQueued} batches behind the capture: packets skip them until they catch up (counted)`,
          "warn",
        );
      }
      return true;
    }
    // (counted once: a packet the rules checked was counted above)
    if (!(kinds & m[1])) this.stats.packetsSent++;
    sandbox.add(p, packetNumber);
    this.batches.last = packetNumber;
    if (sandbox.held >= this.opts.batchSize) this.batches.send();
    return sandbox.inFlight >= this.opts.maxInFlight;
  }

  /** batches sent to the sandbox and not answered yet, or held during a reload */
  get queued(): number {
    return this.sandbox.inFlight + this.batches.holding;
  }

  /** wait until fewer batches are in flight than the limit */
  drain(): Promise<void> {
    return this.batches.below(this.opts.maxInFlight);
  }

  /** send the batch being built even if it is not full (live capture: at most a few ms of delay) */
  sendPartial(): void {
    this.batches.send();
  }

  // ---- hot reload

  /** the active signature loaded from this file (or, for rules, this file#id key) */
  byFile(key: string): LoadedSignature | undefined {
    return this.units.byFile(key);
  }

  /**
   * Load a new or changed file. A changed file's new version replaces the old
   * one (whose close() is called) only once it has loaded; a version that
   * fails to load is reported and the old one keeps running.
   */
  load(source: SignatureSource | LoadProblem): Promise<LoadedSignature | null> {
    return this.batches.exclusive(async () => {
      if (!("code" in source)) {
        // (a signature file that no longer loads: its running version stays)
        const running = source.keeps === undefined ? this.units.byFile(source.file) : undefined;
        this.units.problem(running ? { ...source, keeps: running.meta.id } : source);
        return null;
      }
      const old = this.units.byFile(source.key ?? source.file);
      const s = this.units.unit(source);
      const answer = this.backendOf(s).register(s);
      if (!this.units.registered(s, answer instanceof Promise ? await answer : answer, old?.index)) return null;
      if (old) {
        // (still in the map while its close() runs, so what it logs is named)
        await this.remove(old, true);
        this.units.forget(old);
      }
      this.opts.log(`netsig: ${this.units.what(s)} ${old ? "reloaded" : "loaded"}: ${s.meta.id} (${s.file})`);
      this.onChange();
      return s;
    });
  }

  /** unload the signature of a deleted file, or the rule of a file#id key (its close() is called) */
  unload(key: string): Promise<boolean> {
    return this.batches.exclusive(async () => {
      let found = false;
      for (const s of [...this.signatures.values()]) {
        if ((s.source.key ?? s.file) !== key) continue;
        found = true;
        if (s.state === "active") await this.remove(s, true);
        this.units.forget(s);
        this.opts.log(`netsig: ${this.units.what(s)} unloaded: ${s.meta.id} (${s.file})`);
      }
      if (found) this.onChange();
      return found;
    });
  }

  /** send what is batched and wait for every answer */
  flush(): Promise<void> {
    return this.batches.flush();
  }

  async signal(signal: { type: string; [k: string]: unknown }): Promise<void> {
    await this.flush();
    const r = await this.sandbox.signal(signal);
    this.collect(r, await this.rules.signal(signal));
  }

  async close(): Promise<void> {
    await this.flush();
    // (the rules' close() runs first, at once)
    const rules = this.rules.close();
    this.collect(await this.sandbox.close(), await rules);
  }

  // ---- results out

  /** collect what the sandbox and the rules produced over the same packets, as one, findings in packet order */
  private collect(sandbox: Outcome, rules: Outcome): void {
    const r = merge(sandbox === "unchecked" ? null : sandbox, rules === "unchecked" ? null : rules);
    if (r !== null) this.results.collect(r);
  }
}
