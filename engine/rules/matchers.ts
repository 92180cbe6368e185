// Predicates built once from a rule's IR, inside the sandbox realm: regular
// expressions compiled once, CIDR lists parsed once, lowercased value lists,
// and the children of every and/or ordered cheapest first. Evaluating an
// event allocates nothing but what String#toLowerCase returns for a value
// with capitals.

import type { ExprIR, FieldIR, MatchIR } from "./ir";
import { firstValue, testField, type ValueTest } from "./fields";
import { CidrSet } from "../sdk/helpers";
import type { TraceeEvent } from "../events/types";

/** the event being evaluated (fieldref tests read another field of it) */
export const current: { ev: TraceeEvent | null } = { ev: null };

function text(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return null;
}

class StrTest implements ValueTest {
  private readonly set: Set<string> | null;
  constructor(private readonly op: string, private readonly vals: string[], private readonly cased: boolean) {
    this.set = op === "eq" && vals.length > 4 ? new Set(vals) : null;
  }
  test(v: unknown): boolean {
    let s = text(v);
    if (s === null) return false;
    if (!this.cased) s = s.toLowerCase();
    const vals = this.vals;
    switch (this.op) {
      case "eq":
        if (this.set !== null) return this.set.has(s);
        for (let i = 0; i < vals.length; i++) if (s === vals[i]) return true;
        return false;
      case "contains":
        for (let i = 0; i < vals.length; i++) if (s.includes(vals[i])) return true;
        return false;
      case "startswith":
        for (let i = 0; i < vals.length; i++) if (s.startsWith(vals[i])) return true;
        return false;
      default:
        for (let i = 0; i < vals.length; i++) if (s.endsWith(vals[i])) return true;
        return false;
    }
  }
}

class RegexTest implements ValueTest {
  constructor(private readonly re: RegExp) {}
  test(v: unknown): boolean {
    const s = text(v);
    return s !== null && this.re.test(s);
  }
}

class NumTest implements ValueTest {
  constructor(private readonly op: string, private readonly vals: number[], private readonly all: boolean) {}
  test(v: unknown): boolean {
    let n: number;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && v.trim() !== "") n = Number(v);
    else return false;
    if (n !== n) return false;
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) {
      const x = vals[i];
      let ok: boolean;
      switch (this.op) {
        case "lt": ok = n < x; break;
        case "lte": ok = n <= x; break;
        case "gt": ok = n > x; break;
        case "gte": ok = n >= x; break;
        default: ok = n === x; break;
      }
      if (ok !== this.all) return ok;
    }
    return this.all;
  }
}

class BoolTest implements ValueTest {
  constructor(private readonly want: boolean) {}
  test(v: unknown): boolean {
    if (typeof v === "boolean") return v === this.want;
    if (typeof v === "string") return v.toLowerCase() === String(this.want);
    return false;
  }
}

class CidrTest implements ValueTest {
  private readonly sets: CidrSet[];
  constructor(vals: string[], private readonly all: boolean) {
    this.sets = all ? vals.map((c) => new CidrSet([c])) : [new CidrSet(vals)];
  }
  test(v: unknown): boolean {
    if (typeof v !== "string") return false;
    for (let i = 0; i < this.sets.length; i++) if (this.sets[i].has(v) !== this.all) return !this.all;
    return this.all;
  }
}

const EXISTS: ValueTest = { test: (v) => v !== undefined };
const NULL: ValueTest = { test: (v) => v === undefined || v === null || v === "" };

class NeqTest implements ValueTest {
  constructor(private readonly inner: ValueTest) {}
  test(v: unknown): boolean {
    return v !== undefined && v !== null && !this.inner.test(v);
  }
}

class FieldRefTest implements ValueTest {
  constructor(private readonly op: string, private readonly field: FieldIR, private readonly cased: boolean) {}
  test(v: unknown): boolean {
    const ev = current.ev;
    if (ev === null) return false;
    let a = text(v);
    let b = text(firstValue(ev, this.field));
    if (a === null || b === null) return false;
    if (!this.cased) { a = a.toLowerCase(); b = b.toLowerCase(); }
    switch (this.op) {
      case "eq": return a === b;
      case "contains": return a.includes(b);
      case "startswith": return a.startsWith(b);
      default: return a.endsWith(b);
    }
  }
}

class AnyTest implements ValueTest {
  constructor(private readonly ts: ValueTest[], private readonly all: boolean) {}
  test(v: unknown): boolean {
    const ts = this.ts;
    for (let i = 0; i < ts.length; i++) if (ts[i].test(v) !== this.all) return !this.all;
    return this.all;
  }
}

export function buildTest(m: MatchIR): ValueTest {
  switch (m.k) {
    case "str": return new StrTest(m.op, m.vals, m.cased);
    case "glob": return new RegexTest(new RegExp(m.srcs.join("|"), m.cased ? "s" : "is"));
    case "re": return new RegexTest(new RegExp(m.src, m.flags));
    case "num": return new NumTest(m.op, m.vals, m.all);
    case "bool": return new BoolTest(m.v);
    case "cidr": return new CidrTest(m.vals, m.all);
    case "exists": return EXISTS;
    case "null": return NULL;
    case "neq": return new NeqTest(buildTest(m.m));
    case "fieldref": return new FieldRefTest(m.op, m.field, m.cased);
    case "or": case "and": return new AnyTest(m.ms.map(buildTest), m.k === "and");
  }
}

/** a compiled condition */
export interface Pred { cost: number; eval(ev: TraceeEvent): boolean }

class TestPred implements Pred {
  constructor(private readonly f: FieldIR, private readonly t: ValueTest, private readonly all: boolean, readonly cost: number) {}
  eval(ev: TraceeEvent): boolean {
    return testField(ev, this.f, this.t, this.all);
  }
}

class AndPred implements Pred {
  readonly cost: number;
  constructor(private readonly ps: Pred[]) {
    ps.sort((a, b) => a.cost - b.cost);
    this.cost = ps.reduce((a, p) => a + p.cost, 0);
  }
  eval(ev: TraceeEvent): boolean {
    const ps = this.ps;
    for (let i = 0; i < ps.length; i++) if (!ps[i].eval(ev)) return false;
    return true;
  }
}

class OrPred implements Pred {
  readonly cost: number;
  constructor(private readonly ps: Pred[]) {
    ps.sort((a, b) => a.cost - b.cost);
    this.cost = ps.reduce((a, p) => a + p.cost, 0);
  }
  eval(ev: TraceeEvent): boolean {
    const ps = this.ps;
    for (let i = 0; i < ps.length; i++) if (ps[i].eval(ev)) return true;
    return false;
  }
}

class NotPred implements Pred {
  readonly cost: number;
  constructor(private readonly p: Pred) { this.cost = p.cost; }
  eval(ev: TraceeEvent): boolean {
    return !this.p.eval(ev);
  }
}

const TRUE: Pred = { cost: 0, eval: () => true };
const FALSE: Pred = { cost: 0, eval: () => false };

export function buildPred(e: ExprIR): Pred {
  switch (e.k) {
    case "and": return e.args.length === 1 ? buildPred(e.args[0]) : new AndPred(e.args.map(buildPred));
    case "or": return e.args.length === 1 ? buildPred(e.args[0]) : new OrPred(e.args.map(buildPred));
    case "not": return new NotPred(buildPred(e.arg));
    case "const": return e.v ? TRUE : FALSE;
    case "test": return new TestPred(e.f, buildTest(e.m), e.q === "all", e.cost);
  }
}
