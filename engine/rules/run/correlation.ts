// Sigma correlations (in-process or in the sandbox realm): event_count, value_count,
// temporal and temporal_ordered over the events that the referenced rules
// match, per group (the group-by fields' values), in packet time.
//
// Windows: a group's window opens with its first event and lasts `timespan`;
// an event after it opens a new one. A condition with only lower bounds
// (gt, gte) fires as soon as it holds, once per window; any other condition
// (lt, lte, eq, neq, ranges) is decided when the window closes (a later
// event of the group, its age, or the end of the source) and the finding
// names the window's last event. temporal fires when the rules (all of them,
// or as many as the condition says) matched within `timespan` of each other;
// temporal_ordered, when they matched in the listed order.
//
// Memory: at most `maxGroups` groups, kept in the order their windows opened:
// expired ones are closed from the front as time passes, and when the cap is
// reached the oldest open one is evicted (counted, and reported in the log at
// the end). A value_count group keeps at most bound+1 distinct values.

import type { EventSelector, Finding, Signal, Signature, SignatureContext, SignatureMetadata } from "../../sdk/index";
import type { TraceeEvent } from "../../types/events";
import type { CorrelationIR, FieldIR } from "../../types/rule-ir";
import { buildPred, current, type Pred } from "./matchers";
import { ask, sharedCondition, type SharedCondition } from "./codegen";
import { LazyEvent, pin } from "./lazy";
import { firstValue } from "./fields";
import { render, Suppressor } from "./suppress";

interface Group {
  key: string;
  /** the group-by values as the key has them (text), and as the event had them */
  kparts: string[];
  parts: unknown[];
  start: number;
  count: number;
  values: Set<string> | null;
  last: TraceeEvent | null;
  fired: boolean;
  /** temporal: when each rule last matched (-1: not yet); temporal_ordered: seen[0] is the step reached */
  seen: number[];
}

interface CompiledRule {
  events: Set<string>;
  pred: Pred;
  fast: SharedCondition | null;
  groupBy: FieldIR[];
  field: FieldIR | null;
}

export class CorrelationSignature implements Signature {
  private ctx: SignatureContext | null = null;
  private readonly rules: CompiledRule[];
  private readonly selected: EventSelector[];
  readonly groups = new Map<string, Group>();
  /**
   * the same groups found by their key's parts, one Map level per part (an
   * event's key is not joined into one text, which the lookup would copy)
   */
  private readonly index = new Map<string, unknown>();
  private readonly depth: number;
  private readonly scratch: string[];
  private readonly spanNs: number;
  /** the condition holds once the count reaches the lower bound: decide at once */
  private readonly early: boolean;
  /** a finding may come when a window ends (it names the window's last event) */
  private readonly atEnd: boolean;
  private readonly valueCap: number;
  private readonly suppress: Suppressor | null;
  /** groups dropped because of the cap before their window closed */
  evicted = 0;
  /** groups dropped because their window closed (by age) */
  expired = 0;
  /** the start of the oldest open window (Infinity: none known) */
  private oldest = Infinity;

  constructor(
    private readonly ir: CorrelationIR,
    inProcess = false,
  ) {
    this.rules = ir.rules.map((r) => ({
      events: new Set(r.events),
      pred: buildPred(r.match),
      fast: inProcess === true ? sharedCondition(r.match) : null,
      groupBy: r.groupBy,
      field: r.field,
    }));
    const names = new Set<string>();
    for (const r of ir.rules) for (const e of r.events) names.add(e);
    this.selected = [...names].map((name) => ({ source: "tracee", name }));
    this.spanNs = ir.timespan * 1e9;
    const c = ir.cond;
    this.early = c.lt === undefined && c.lte === undefined && c.eq === undefined && c.neq === undefined;
    this.atEnd = !this.early && ir.type !== "temporal" && ir.type !== "temporal_ordered";
    const bounds = [c.gt, c.gte, c.lt, c.lte, c.eq, c.neq].filter((x): x is number => x !== undefined);
    this.valueCap = Math.max(1, ...bounds) + 1;
    this.suppress = ir.suppress ? new Suppressor(ir.suppress) : null;
    this.depth = Math.max(1, ...ir.rules.map((r) => r.groupBy.length));
    this.scratch = new Array<string>(this.depth).fill("");
  }

  private find(parts: string[]): Group | undefined {
    let node: unknown = this.index;
    for (let i = 0; i < this.depth; i++) {
      node = (node as Map<string, unknown>).get(parts[i]);
      if (node === undefined) return undefined;
    }
    return node as Group;
  }

  private add(g: Group): void {
    this.groups.set(g.key, g);
    let map = this.index;
    for (let i = 0; i < this.depth - 1; i++) {
      let next = map.get(g.kparts[i]) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        map.set(g.kparts[i], next);
      }
      map = next;
    }
    map.set(g.kparts[this.depth - 1], g);
  }

  private drop(g: Group): void {
    this.groups.delete(g.key);
    const path: Map<string, unknown>[] = [this.index];
    for (let i = 0; i < this.depth - 1; i++) {
      const next = path[i].get(g.kparts[i]) as Map<string, unknown> | undefined;
      if (next === undefined) return;
      path.push(next);
    }
    for (let i = this.depth - 1; i >= 0; i--) {
      path[i].delete(g.kparts[i]);
      if (path[i].size > 0) break;
    }
  }

  private clearGroups(): void {
    this.groups.clear();
    this.index.clear();
  }

  getMetadata(): SignatureMetadata {
    return this.ir.meta;
  }

  getSelectedEvents(): EventSelector[] {
    return this.selected;
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.clearGroups();
    this.oldest = Infinity;
    this.suppress?.clear();
  }

  private holds(n: number): boolean {
    const c = this.ir.cond;
    return (
      (c.gt === undefined || n > c.gt) &&
      (c.gte === undefined || n >= c.gte) &&
      (c.lt === undefined || n < c.lt) &&
      (c.lte === undefined || n <= c.lte) &&
      (c.eq === undefined || n === c.eq) &&
      (c.neq === undefined || n !== c.neq)
    );
  }

  onEvent(ev: TraceeEvent): void {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (!r.events.has(ev.eventName)) continue;
      current.ev = ev;
      const hit = r.fast !== null && ev instanceof LazyEvent ? ask(r.fast, ev as LazyEvent) : r.pred.eval(ev);
      current.ev = null;
      if (hit) this.matched(i, r, ev);
    }
  }

  private matched(index: number, r: CompiledRule, ev: TraceeEvent): void {
    const now = ev.timestamp;
    this.expire(now);
    const parts = this.scratch;
    const gb = r.groupBy;
    for (let i = 0; i < this.depth; i++) {
      const v = i < gb.length ? firstValue(ev, gb[i]) : undefined;
      parts[i] = v === undefined || v === null ? "" : typeof v === "string" ? v : String(v);
    }
    let g = this.find(parts);
    if (g !== undefined && (now < g.start || now - g.start > this.spanNs)) {
      this.closeWindow(g);
      this.drop(g);
      g = undefined;
    }
    if (g === undefined) {
      if (this.groups.size >= this.ir.maxGroups) {
        this.drop(this.groups.values().next().value as Group);
        this.evicted++;
      }
      const kparts = parts.slice();
      g = {
        key: kparts.join("\u001f"),
        kparts,
        parts: gb.map((f) => firstValue(ev, f) ?? null),
        start: now,
        count: 0,
        values: this.ir.type === "value_count" ? new Set() : null,
        last: null,
        fired: false,
        seen: this.ir.type === "temporal" ? this.ir.rules.map(() => -1) : [0],
      };
      this.add(g);
      if (this.groups.size === 1 || now < this.oldest) this.oldest = now;
    }
    switch (this.ir.type) {
      case "event_count":
        g.count++;
        break;
      case "value_count": {
        const v = r.field ? firstValue(ev, r.field) : undefined;
        if (v !== undefined && v !== null && g.values!.size < this.valueCap) g.values!.add(String(v));
        g.count = g.values!.size;
        break;
      }
      case "temporal": {
        g.seen[index] = now;
        let n = 0;
        for (let i = 0; i < g.seen.length; i++) if (g.seen[i] >= 0 && now - g.seen[i] <= this.spanNs) n++;
        g.count = n;
        break;
      }
      case "temporal_ordered": {
        // the rule of the next step in the sequence moves it on
        if (index === g.seen[0]) {
          if (g.seen[0] === 0) g.start = now;
          g.seen[0]++;
        }
        g.count = g.seen[0];
        break;
      }
    }
    // the event a finding at the window's end names (kept past its packet: an
    // event the rules read in-process is built now, so only when it may be needed)
    if (this.atEnd) g.last = pin(ev);
    if (this.ir.type === "temporal" || this.ir.type === "temporal_ordered") {
      const need = this.ir.type === "temporal_ordered" ? this.ir.rules.length : undefined;
      if (need !== undefined ? g.count >= need : this.holds(g.count)) {
        this.fire(g, ev);
        this.drop(g);
      }
      return;
    }
    if (this.early && !g.fired && this.holds(g.count)) {
      g.fired = true;
      this.fire(g, ev);
    }
  }

  /** close the windows that ended before `now` (they are at the front: the map is in opening order) */
  private expire(now: number): void {
    // (most events end no window: the oldest start is kept to skip the walk)
    if (now >= this.oldest && now - this.oldest <= this.spanNs) return;
    this.oldest = Infinity;
    for (const g of this.groups.values()) {
      if (now >= g.start && now - g.start <= this.spanNs) {
        this.oldest = g.start;
        break;
      }
      this.closeWindow(g);
      this.drop(g);
      this.expired++;
    }
  }

  /** a window ends: decide a condition that waited for its end */
  private closeWindow(g: Group): void {
    if (this.early || g.fired || this.ir.type === "temporal" || this.ir.type === "temporal_ordered") return;
    if (this.holds(g.count) && g.last !== null) {
      g.fired = true;
      this.fire(g, g.last);
    }
  }

  private fire(g: Group, ev: TraceeEvent): void {
    if (this.suppress !== null && !this.suppress.allow(ev, g.key)) return;
    const data: Record<string, unknown> = {};
    const names = this.ir.groupNames;
    for (let i = 0; i < names.length; i++) data[names[i]] = g.parts[i];
    data.count = g.count;
    data.window_seconds = this.ir.timespan;
    if (this.ir.output !== null) data.output = render(this.ir.output, ev);
    this.ctx!.callback({ sigMetadata: this.ir.meta, event: ev, data } as Finding);
  }

  onSignal(s: Signal): void {
    if (s.type !== "source_complete") return;
    for (const g of this.groups.values()) this.closeWindow(g);
    this.clearGroups();
    this.oldest = Infinity;
    if (this.evicted > 0)
      this.ctx?.logger.info(
        `${this.evicted} groups evicted before their window closed (at most ${this.ir.maxGroups} groups; ${this.expired} closed by age)`,
      );
    if (this.suppress && this.suppress.suppressed > 0) this.ctx?.logger.info(`${this.suppress.suppressed} findings suppressed`);
  }

  close(): void {
    this.clearGroups();
    this.oldest = Infinity;
    this.suppress?.clear();
  }
}
