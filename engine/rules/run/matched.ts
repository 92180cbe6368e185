// What a rule's finding shows of the event it matched: the answer the rule
// matched, of a DNS response with several, and of a field with several
// values (a TXT record's strings, and their join) the value the rule matched,
// not merely the first. Worked out only when a rule fires, by asking the
// rule's condition again: with one answer at a time (derived.ts ONLY), and
// with the field's tests given one value at a time.

import type { ExprIR, FieldIR } from "../../types/rule-ir";
import type { TraceeEvent } from "../../types/events";
import type { DnsMessage } from "../../decode/dnstypes";
import { buildPred, buildTest, current, type Pred } from "./matchers";
import { firstValue, testField, type ValueTest } from "./fields";
import { ONLY } from "./derived";
import { LazyEvent, pin } from "./lazy";

/** the condition, its field tests keyed by field */
type Node =
  | { k: "and" | "or"; args: Node[] }
  | { k: "not"; arg: Node }
  | { k: "const"; v: boolean }
  | { k: "test"; key: string; t: ValueTest; p: Pred };

function keyOf(f: FieldIR): string {
  return `${f.h}:${f.n}:${JSON.stringify(f.s)}`;
}

function build(e: ExprIR, keys: Set<string>): Node {
  switch (e.k) {
    case "and":
    case "or":
      return { k: e.k, args: e.args.map((a) => build(a, keys)) };
    case "not":
      return { k: "not", arg: build(e.arg, keys) };
    case "const":
      return { k: "const", v: e.v };
    case "test": {
      const key = keyOf(e.f);
      keys.add(key);
      return { k: "test", key, t: buildTest(e.m), p: buildPred(e) };
    }
  }
}

/** the condition with the tests of the field `key` given `v` alone (the others read the event) */
function holds(n: Node, ev: TraceeEvent, key: string, v: unknown): boolean {
  switch (n.k) {
    case "and":
      for (let i = 0; i < n.args.length; i++) if (!holds(n.args[i], ev, key, v)) return false;
      return true;
    case "or":
      for (let i = 0; i < n.args.length; i++) if (holds(n.args[i], ev, key, v)) return true;
      return false;
    case "not":
      return !holds(n.arg, ev, key, v);
    case "const":
      return n.v;
    case "test":
      return n.key === key ? n.t.test(v) : n.p.eval(ev);
  }
}

/** the most values of one field tried */
const MAX_VALUES = 64;

export class Matched {
  private root: Node | null = null;
  private readonly keys = new Set<string>();

  constructor(
    private readonly match: ExprIR,
    private readonly pred: Pred,
    /** the condition compares fields with each other (its fieldref tests read current.ev) */
    private readonly fieldref: boolean,
  ) {}

  private ask(ev: TraceeEvent, fn: () => boolean): boolean {
    if (!this.fieldref) return fn();
    const was = current.ev;
    current.ev = ev;
    try {
      return fn();
    } finally {
      current.ev = was;
    }
  }

  /**
   * For a DNS response with several answers: the built event, with ONLY set
   * to the first answer on which the condition holds with that answer alone
   * (the caller clears ONLY); the event as it is when there is none
   */
  answer(ev: TraceeEvent): TraceeEvent {
    const name = ev.eventName;
    if (name !== "net_packet_dns" && name !== "net_packet_dns_response") return ev;
    if (ev instanceof LazyEvent && ((ev as LazyEvent).m === null || ((ev as LazyEvent).m as DnsMessage).answers.length < 2)) return ev;
    const built = pin(ev);
    const arg = built.args.find((a) => a.name === (name === "net_packet_dns" ? "proto_dns" : "dns_response"))?.value;
    const as =
      name === "net_packet_dns"
        ? (arg as { answers?: unknown[] } | undefined)?.answers
        : (arg as { dns_answer?: unknown[] | null }[] | undefined)?.[0]?.dns_answer;
    if (!Array.isArray(as) || as.length < 2) return ev;
    for (let i = 0; i < as.length; i++) {
      ONLY.arr = as;
      ONLY.i = i;
      if (this.ask(built, () => this.pred.eval(built))) return built;
    }
    ONLY.arr = null;
    ONLY.i = -1;
    return ev;
  }

  /** the value of `f` to show: of a field the condition tests, the first value it holds with; else the first */
  value(ev: TraceeEvent, f: FieldIR): unknown {
    if (this.root === null) this.root = build(this.match, this.keys);
    const key = keyOf(f);
    if (!this.keys.has(key)) return firstValue(ev, f);
    const vs: unknown[] = [];
    testField(ev, f, { test: (v) => vs.push(v) >= MAX_VALUES }, false);
    if (vs.length < 2) return firstValue(ev, f);
    const root = this.root;
    for (let i = 0; i < vs.length; i++) if (vs[i] !== undefined && this.ask(ev, () => holds(root, ev, key, vs[i]))) return vs[i];
    return firstValue(ev, f);
  }
}
