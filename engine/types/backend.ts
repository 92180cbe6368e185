// Where signatures and rules run, as the signature engine (detect/engine.ts)
// sees it: the sandbox (sandbox/backend.ts: a separate process, or the same
// realm in-process when unsandboxed) and the compiled rules that run in
// netsig's own process (rules/run/backend.ts). The engine routes packets to
// them, cuts batches, orders their results and keeps the books; a backend
// runs units and says what they produced.

import type { LoadedSignature } from "./findings";
import type { RealmResult } from "./results";
import type { SignatureMetadata } from "./signature";

/** what a backend said of a unit it was asked to register (the realm's answer to register) */
export interface Registration {
  ok: boolean;
  meta?: SignatureMetadata;
  mask?: number;
  message?: string;
  stack?: string;
  /** what the unit's init() logged or reported */
  out?: RealmResult;
}

/**
 * What a call produced: its result, null when there is none, or "unchecked"
 * when the backend is gone for good and did not run it (a batch's packets are
 * then counted as shed).
 */
export type Outcome = RealmResult | null | "unchecked";

/** an answer now (a backend in netsig's process) or later (one across a channel) */
export type Answer<T> = T | Promise<T>;

/** a batch cut from the packets added so far; send() runs it (at once, or after a reload) */
export interface Cut {
  /** packets in it */
  readonly packets: number;
  send(): Answer<Outcome>;
}

/** what a backend tells the engine */
export interface BackendEvents {
  log(line: string, level?: "debug" | "info" | "warn" | "error"): void;
  /** this unit must stop (it hung, or was running when its process died) */
  quarantine(index: number, why: string): void;
  /**
   * The backend lost its units' state and starts again (its process died):
   * `running` is the unit that was running (-1 none). Answers the units to
   * load again; they are out of the engine until reloaded() gives them back.
   */
  restarting(why: string, running: number): LoadedSignature[];
  reloaded(units: LoadedSignature[], answers: (Registration | null)[]): void;
  /** a call in flight was answered (`every`: all of them gave up at once) */
  answered(every: boolean): void;
  /** the time a batch took in the units (s) */
  batchTime(seconds: number): void;
}

/** P: the packet type (decode/packet.ts; contracts import no stage) */
export interface Backend<P> {
  /** why it cannot run any more; null while it can */
  readonly failed: string | null;
  /** calls sent and not answered yet */
  readonly inFlight: number;
  /** packets added since the last cut */
  readonly held: number;
  /** start with these units; answers what each said (null: not running) */
  boot(units: LoadedSignature[]): Promise<(Registration | null)[]>;
  register(unit: LoadedSignature): Answer<Registration | null>;
  /** take a unit out (`close`: its close() is called; not for one quarantined) */
  remove(unit: LoadedSignature, close: boolean): Answer<Outcome>;
  /** add a packet to the batch being built */
  add(p: P, seq: number): void;
  /** cut the batch being built (null: nothing was added) */
  take(): Cut | null;
  signal(signal: { type: string; [k: string]: unknown }): Answer<Outcome>;
  /** call every unit's close() and stop */
  close(): Promise<Outcome>;
}
