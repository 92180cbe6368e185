// What the signatures and rules produced (a RealmResult, from either backend),
// handed on: findings to the outputs, log lines and errors to the log, and
// the counters the summary and /metrics show. A unit that throws more than
// `maxErrors` times in `errorWindowMs` is disabled (the engine takes it out).

import { FINDING_LIMITS, type RealmResult } from "../types/results";
import { lineOf } from "../types/sources";
import { mapStack } from "../sandbox/sourcemap";
import type { FindingHandler, HostFinding, LoadedSignature } from "../types/findings";

export interface ResultOptions {
  maxErrors: number;
  errorWindowMs: number;
  log: (line: string, level?: "debug" | "info" | "warn" | "error") => void;
}

export interface Counters {
  packetsSent: number;
  findings: number;
  errors: number;
  restarts: number;
  shed: number;
  findingsDropped: number;
}

/** the sandbox's result and the in-process rules' over the same packets, as one: findings in packet order */
export function merge(r: RealmResult | null, rules: RealmResult | null): RealmResult | null {
  if (r === null) return rules;
  if (rules === null) return r;
  const findings = rules.findings.length === 0 ? r.findings : [...r.findings, ...rules.findings].sort((a, b) => a.seq - b.seq);
  // (the same packets' events: one that reached both the sandbox and the rules is one event)
  const events = r.events && rules.events ? r.events.map((n, i) => Math.max(n, rules.events![i])) : (r.events ?? rules.events);
  const dropped = r.dropped && rules.dropped ? [...r.dropped, ...rules.dropped] : (r.dropped ?? rules.dropped);
  return { findings, errors: [...r.errors, ...rules.errors], logs: [...r.logs, ...rules.logs], done: true, events, dropped };
}

/** the counters results go to (the engine's public ones), and where findings go */
export interface Books {
  readonly stats: Counters;
  readonly events: number[];
  readonly findingsBy: Map<string, number>;
  readonly errorsBy: Map<string, number>;
  readonly droppedBy: Map<string, number>;
  onFindings: FindingHandler;
}

export class Results {
  constructor(
    private readonly books: Books,
    private readonly signatures: Map<number, LoadedSignature>,
    private readonly opts: ResultOptions,
    /** a unit threw too often: take it out */
    private readonly disable: (s: LoadedSignature) => void,
  ) {}

  collect(r: RealmResult): void {
    for (const l of r.logs ?? []) {
      const s = this.signatures.get(l.sig);
      const level = l.level === "debug" || l.level === "warn" || l.level === "error" ? l.level : "info";
      this.opts.log(`netsig: [${l.level}] ${s?.meta.id ?? l.sig}: ${l.message}`, level);
    }
    if (r.events) for (let i = 0; i < r.events.length; i++) this.books.events[i] += r.events[i];
    if (r.dropped) for (const d of r.dropped) this.droppedFindings(d.sig, d.count);
    for (const e of r.errors ?? []) this.error(e.sig, e.method, e.message, e.stack);
    if (r.findings?.length) {
      const out: HostFinding[] = [];
      for (const f of r.findings) {
        const sig = this.signatures.get(f.sig);
        if (!sig) continue;
        const key = `${sig.meta.id}\t${Number(sig.meta.properties?.Severity ?? 0)}`;
        this.books.findingsBy.set(key, (this.books.findingsBy.get(key) ?? 0) + 1);
        out.push({
          sig,
          packet: f.seq,
          ts: f.ts,
          event: typeof f.event === "string" ? JSON.parse(f.event) : f.event,
          data: JSON.parse(f.data) ?? {},
        });
      }
      this.books.stats.findings += out.length;
      if (out.length) this.books.onFindings(out);
    }
  }

  /** findings a signature reported over its per-result limits (realm.ts FINDING_LIMITS): counted, logged once */
  private droppedFindings(index: number, count: number): void {
    const s = this.signatures.get(index);
    if (!s) return;
    this.books.stats.findingsDropped += count;
    const before = this.books.droppedBy.get(s.meta.id) ?? 0;
    this.books.droppedBy.set(s.meta.id, before + count);
    if (before === 0) {
      const l = FINDING_LIMITS;
      this.opts.log(
        `netsig: signature ${s.meta.id} (${s.file}): findings dropped: more than ${l.perResult} findings or ${l.bytesPerResult >> 20} MB ` +
          `in one batch, or data over ${l.dataBytes >> 20} MB in one finding (ctx.callback in a loop?); the other signatures' findings are kept; ` +
          "counted in the summary and netsig_findings_dropped_total",
        "warn",
      );
    }
  }

  private error(index: number, method: string, message: string, stack: string): void {
    const s = this.signatures.get(index);
    if (!s) return;
    this.books.stats.errors++;
    this.books.errorsBy.set(s.meta.id, (this.books.errorsBy.get(s.meta.id) ?? 0) + 1);
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
      this.opts.log(
        `netsig: signature ${s.meta.id} (${s.file}) disabled: more than ${this.opts.maxErrors} errors in ${this.opts.errorWindowMs / 1000} s`,
        "warn",
      );
      this.disable(s);
    }
  }
}
