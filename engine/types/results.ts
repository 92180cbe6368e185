// What a batch, a signal, a load or a close produces, from the sandbox realm
// (realm/realm.ts) or the in-process rules (rules/run/backend.ts) alike: the
// findings in packet order, errors, log lines, counts. Crosses the sandbox
// channel as JSON.

/**
 * Per signature and per result (a batch, a signal, a load): at most this many
 * findings and this much finding text; one finding's data at most
 * FINDING_DATA_BYTES of JSON. What is over is dropped and counted (the host
 * logs it once per signature and counts it in the summary and /metrics): a
 * signature that calls ctx.callback in a loop cannot make a result too large
 * to cross to netsig, which lost every signature's findings of that batch.
 * (A batch is up to 8192 packets: two findings a packet fit.)
 */
export const FINDING_LIMITS = Object.freeze({ perResult: 16384, bytesPerResult: 16 << 20, dataBytes: 1 << 20 });

/**
 * `event`: the event the realm built and delivered (as a JSON value: it is
 * frozen when reported, so it is what the signature saw), or JSON text of
 * any other value a signature reported as its event; `data`: JSON text
 */
export interface RealmFinding {
  sig: number;
  seq: number;
  ts: string;
  event: unknown;
  data: string;
}
export interface RealmError {
  sig: number;
  method: string;
  message: string;
  stack: string;
}
export interface RealmLog {
  sig: number;
  level: string;
  message: string;
}
/** `events`: the events a batch built, per event type (Ev) */
/** `dropped`: findings over FINDING_LIMITS, per signature */
export interface RealmDropped {
  sig: number;
  count: number;
}
export interface RealmResult {
  findings: RealmFinding[];
  errors: RealmError[];
  logs: RealmLog[];
  done: boolean;
  events?: number[];
  dropped?: RealmDropped[];
}
