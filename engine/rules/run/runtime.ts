// `netsig/rules`: a compiled rule (its IR) becomes a Signature like any
// other, in netsig's process (rules/run/backend.ts) or, for a rule with a regexp that
// could backtrack without bound, in the sandbox realm (its module), so
// rules share the signatures' dispatch, findings, outputs, hot reload and
// quarantine. The predicates are built once, here, when the module loads.

import type { EventSelector, Finding, Signal, Signature, SignatureContext, SignatureMetadata } from "../../sdk/index";
import type { TraceeEvent } from "../../types/events";
import type { RuleIR, UnitIR } from "../../types/rule-ir";
import { buildPred, current, type Pred } from "./matchers";
import { ask, sharedCondition, type SharedCondition } from "./codegen";
import { LazyEvent } from "./lazy";
import { ONLY } from "./derived";
import { Matched } from "./matched";
import { kindOfName } from "../../events/registry";
import { render, Suppressor } from "./suppress";
import { CidrSet, ReportLimiter } from "../../sdk/helpers";
import { CorrelationSignature } from "./correlation";

class RuleSignature implements Signature {
  private ctx: SignatureContext | null = null;
  private readonly pred: Pred;
  /** in netsig's process: the condition as code, for LazyEvents (codegen.ts) */
  private readonly fast: SharedCondition | null;
  private readonly selected: EventSelector[];
  private readonly suppress: Suppressor | null;
  /** the rule compares fields with each other (fieldref reads the current event) */
  private readonly fieldref: boolean;
  /** what its findings show (made at the first) */
  private shown: Matched | null = null;

  constructor(
    private readonly ir: RuleIR,
    inProcess: boolean,
  ) {
    this.pred = buildPred(ir.match);
    this.fast = inProcess ? sharedCondition(ir.match) : null;
    this.fieldref = JSON.stringify(ir.match).includes('"k":"fieldref"');
    // (a Sigma log source may name events this netsig does not emit yet: init() says so)
    this.selected = ir.events.filter((name) => kindOfName(name) >= 0).map((name) => ({ source: "tracee", name }));
    this.suppress = ir.suppress ? new Suppressor(ir.suppress) : null;
  }

  getMetadata(): SignatureMetadata {
    return this.ir.meta;
  }

  getSelectedEvents(): EventSelector[] {
    return this.selected;
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.suppress?.clear();
    const missing = this.ir.events.filter((name) => kindOfName(name) < 0);
    if (missing.length > 0) ctx.logger.warn(`selects ${missing.join(", ")}, which this netsig does not emit yet: it sees no such event`);
  }

  onEvent(ev: TraceeEvent): void {
    let hit: boolean;
    const fast = this.fast !== null && ev instanceof LazyEvent;
    if (this.fieldref) {
      current.ev = ev;
      hit = fast ? ask(this.fast!, ev as LazyEvent) : this.pred.eval(ev);
      current.ev = null;
    } else hit = fast ? ask(this.fast!, ev as LazyEvent) : this.pred.eval(ev);
    if (hit) this.matched(ev);
  }

  /**
   * For netsig's process (rules/run/backend.ts): the compiled condition, which the
   * host asks itself before calling matched() (null: call onEvent, e.g. a
   * rule comparing fields with each other)
   */
  get hostCondition(): SharedCondition | null {
    return this.fieldref ? null : this.fast;
  }

  /** the condition held for this event: suppression, then the finding */
  matched(ev: TraceeEvent): void {
    if (this.suppress !== null && !this.suppress.allow(ev)) return;
    const data: Record<string, unknown> = {};
    const fields = this.ir.fields;
    if (fields.length > 0 || this.ir.output !== null) {
      // what the rule matched: the answer of a response with several, the value of a field with several (matched.ts)
      const m = (this.shown ??= new Matched(this.ir.match, this.pred, this.fieldref));
      try {
        const from = m.answer(ev);
        for (let i = 0; i < fields.length; i++) {
          const v = m.value(from, fields[i].f);
          if (v !== undefined) data[fields[i].name] = v;
        }
        if (this.ir.output !== null) data.output = render(this.ir.output, from, (e, f) => m.value(e, f));
      } finally {
        ONLY.arr = null;
        ONLY.i = -1;
      }
    }
    this.ctx!.callback({ sigMetadata: this.ir.meta, event: ev, data } as Finding);
  }

  onSignal(s: Signal): void {
    if (s.type === "source_complete" && this.suppress && this.suppress.suppressed > 0) {
      this.ctx?.logger.info(`${this.suppress.suppressed} findings suppressed`);
    }
  }

  close(): void {
    this.suppress?.clear();
  }
}

/**
 * the signature of a compiled rule or correlation (the IR the host wrote);
 * `inProcess`: it runs in netsig's process (rules/run/backend.ts), on LazyEvents
 */
export function compileRules(ir: UnitIR, inProcess = false): Signature {
  if (ir.kind === "correlation") return new CorrelationSignature(ir, inProcess);
  return new RuleSignature(ir, inProcess === true);
}

export { RuleSignature };

// (see matchers.ts: what signature files can reach is frozen)
for (const c of [RuleSignature, CorrelationSignature, Suppressor, Matched, CidrSet, ReportLimiter]) {
  Object.freeze(c.prototype);
  Object.freeze(c);
}
