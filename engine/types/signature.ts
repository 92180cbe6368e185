// Tracee's signature interface in TypeScript naming: what a signature
// implements and what it is given (the SDK, sdk/index.ts, re-exports it for
// signature authors; the engine's stages use it from here).

import type { TraceeEvent } from "./events";

/** a Tracee-shaped network event, as signatures receive it: treat it as read-only (shared parts are frozen) */
export type NetEvent = TraceeEvent;

/** 0 informative ... 4 critical, as Tracee's signature severity */
export type Severity = 0 | 1 | 2 | 3 | 4;

export interface SignatureMetadata {
  id: string;
  version: string;
  name: string;
  /** the name of the finding event (default: the id) */
  eventName?: string;
  description: string;
  tags?: string[];
  /**
   * As Tracee's signatures: "Severity" (0-4), and the MITRE ATT&CK "Category",
   * "Technique" and "external_id" (e.g. "T1071.004"); any other keys are kept.
   */
  properties?: { Severity?: Severity; Category?: string; Technique?: string; external_id?: string; [key: string]: unknown };
}

export interface EventSelector {
  /** "tracee" or "netsig": both select netsig's events */
  source: string;
  /** an event name, or "*" for all */
  name: string;
  origin?: string;
}

export interface Finding {
  sigMetadata: SignatureMetadata;
  event: NetEvent;
  data: Record<string, unknown>;
}

/** signals: at least { type: "source_complete" } when a replay reaches its end */
export interface Signal {
  type: "source_complete" | string;
  [key: string]: unknown;
}

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

export interface SignatureContext {
  callback(finding: Finding): void;
  logger: Logger;
}

export interface Signature {
  getMetadata(): SignatureMetadata;
  getSelectedEvents(): EventSelector[];
  init(ctx: SignatureContext): void;
  onEvent(event: NetEvent): void;
  onSignal(signal: Signal): void;
  close(): void;
}
