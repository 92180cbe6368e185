// Predicates built once from a rule's IR (in-process or in the sandbox realm): regular
// expressions compiled once, CIDR lists parsed once, lowercased value lists,
// and the children of every and/or ordered cheapest first. Evaluating an
// event allocates nothing but what String#toLowerCase returns for a value
// with capitals.

import type { ExprIR, FieldIR, MatchIR } from "../../types/rule-ir";
import { firstValue, testPath, testVirtual, virtualCode, type ValueTest } from "./fields";
import { expandCounts, minMatchLength } from "./regex";
import { LazyEvent } from "./lazy";
import { in4, in6, parse4, parse6, prefixes, type Prefix4, type Prefix6 } from "../../sdk/addr";
import type { TraceeEvent } from "../../types/events";

/** the event being evaluated (fieldref tests read another field of it) */
export const current: { ev: TraceeEvent | null } = { ev: null };

function text(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return null;
}

/**
 * `s` from `at` equals `v` (lowercase unless `cased`), folding ASCII capitals
 * of `s` as it goes: 1 equal, 0 not, -1 a non-ASCII character met (decide on
 * s.toLowerCase()). No string is made.
 */
function regionEq(s: string, at: number, v: string, cased: boolean): number {
  for (let i = 0; i < v.length; i++) {
    const c = s.charCodeAt(at + i);
    const w = v.charCodeAt(i);
    if (c === w) continue;
    if (cased) return 0;
    if (c >= 65 && c <= 90) {
      if (c + 32 === w) continue;
      return 0;
    }
    return c >= 128 ? -1 : 0;
  }
  return 1;
}

class StrTest implements ValueTest {
  private readonly set: Set<string> | null;
  private readonly lengths: Set<number> | null;
  /** startswith/endswith of many values: the values by their first/last character (ASCII) */
  private readonly byChar: (string[] | undefined)[] | null = null;
  /** which values are ASCII without letters */
  private readonly plain: boolean[];
  constructor(
    private readonly op: string,
    private readonly vals: string[],
    private readonly cased: boolean,
  ) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII ranges without letters, control characters included
    this.plain = vals.map((v) => /^[\x00-\x40\x5b-\x60\x7b-\x7f]*$/.test(v));
    this.set = op === "eq" && vals.length > 4 ? new Set(vals) : null;
    this.lengths = this.set ? new Set(vals.map((v) => v.length)) : null;
    const key = (v: string) => (op === "startswith" ? v.charCodeAt(0) : v.charCodeAt(v.length - 1));
    if ((op === "startswith" || op === "endswith") && vals.length > 4 && vals.every((v) => v !== "" && key(v) < 128)) {
      const m: (string[] | undefined)[] = new Array(128).fill(undefined);
      for (const v of vals) (m[key(v)] ??= []).push(v);
      this.byChar = m;
    }
  }

  test(v: unknown): boolean {
    const s = text(v);
    if (s === null) return false;
    const vals = this.vals;
    const cased = this.cased;
    switch (this.op) {
      case "eq": {
        if (this.set !== null) return this.lengths!.has(s.length) && this.set.has(cased ? s : s.toLowerCase());
        for (let i = 0; i < vals.length; i++) {
          if (vals[i].length !== s.length) continue;
          const r = regionEq(s, 0, vals[i], cased);
          if (r === 1) return true;
          if (r < 0) return this.slow(s);
        }
        return false;
      }
      case "contains": {
        for (let i = 0; i < vals.length; i++) {
          const w = vals[i];
          // (case does not matter for a value of ASCII characters that are not letters)
          if (cased || this.plain[i]) {
            if (s.includes(w)) return true;
            continue;
          }
          for (let at = 0; at + w.length <= s.length; at++) {
            const r = regionEq(s, at, w, cased);
            if (r === 1) return true;
            if (r < 0) return this.slow(s);
          }
        }
        return false;
      }
      case "startswith":
      case "endswith": {
        const start = this.op === "startswith";
        let list = vals;
        if (this.byChar !== null && s.length > 0) {
          let c = s.charCodeAt(start ? 0 : s.length - 1);
          if (!cased && c >= 65 && c <= 90) c += 32;
          else if (c >= 128) return cased ? false : this.slow(s);
          const l = this.byChar[c];
          if (l === undefined) return false;
          list = l;
        }
        for (let i = 0; i < list.length; i++) {
          const w = list[i];
          if (w.length > s.length) continue;
          const r = regionEq(s, start ? 0 : s.length - w.length, w, cased);
          if (r === 1) return true;
          if (r < 0) return this.slow(s);
        }
        return false;
      }
      default:
        return false;
    }
  }

  /** the same on the lowercased text (non-ASCII characters) */
  private slow(text: string): boolean {
    const s = this.cased ? text : text.toLowerCase();
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) {
      const w = vals[i];
      if (this.op === "eq" ? s === w : this.op === "contains" ? s.includes(w) : this.op === "startswith" ? s.startsWith(w) : s.endsWith(w))
        return true;
    }
    return false;
  }
}

// (see regex.ts: the same pattern, in a form V8's linear-time fallback can run)
// (both skip a value shorter than any match: regex.ts minMatchLength)
class RegexTest implements ValueTest {
  private readonly min: number;
  constructor(
    private readonly re: RegExp,
    src: string,
  ) {
    this.min = minMatchLength(src, re.flags);
  }
  test(v: unknown): boolean {
    const s = text(v);
    return s !== null && s.length >= this.min && this.re.test(s);
  }
}

/** a case-insensitive wildcard value: a pattern of lowercase text, tested on lowercased text (no `i` flag: see linear.ts) */
class LowerRegexTest implements ValueTest {
  private readonly min: number;
  constructor(
    private readonly re: RegExp,
    src: string,
  ) {
    this.min = minMatchLength(src, re.flags);
  }
  test(v: unknown): boolean {
    const s = text(v);
    if (s === null) return false;
    const low = s.toLowerCase();
    return low.length >= this.min && this.re.test(low);
  }
}

/** `*` alone: any text (or number) */
const ANY_TEXT: ValueTest = { test: (v) => text(v) !== null };

class NumTest implements ValueTest {
  constructor(
    private readonly op: string,
    private readonly vals: number[],
    private readonly all: boolean,
  ) {}
  test(v: unknown): boolean {
    let n: number;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && v.trim() !== "") n = Number(v);
    else return false;
    if (Number.isNaN(n)) return false;
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) {
      const x = vals[i];
      let ok: boolean;
      switch (this.op) {
        case "lt":
          ok = n < x;
          break;
        case "lte":
          ok = n <= x;
          break;
        case "gt":
          ok = n > x;
          break;
        case "gte":
          ok = n >= x;
          break;
        default:
          ok = n === x;
          break;
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
  private readonly v4: Prefix4[];
  private readonly v6: Prefix6[];
  constructor(
    vals: string[],
    private readonly all: boolean,
  ) {
    ({ v4: this.v4, v6: this.v6 } = prefixes(vals));
  }
  test(v: unknown): boolean {
    if (typeof v !== "string") return false;
    if (v.includes(":")) {
      if (this.v6.length === 0 || !parse6(v)) return false;
      if (this.all && this.v4.length > 0) return false;
      const ps = this.v6;
      for (let i = 0; i < ps.length; i++) if (in6(ps[i]) !== this.all) return !this.all;
      return this.all;
    }
    if (this.v4.length === 0) return false;
    const a = parse4(v, 0, v.length);
    if (a < 0) return false;
    if (this.all && this.v6.length > 0) return false;
    const ps = this.v4;
    for (let i = 0; i < ps.length; i++) if (in4(a, ps[i]) !== this.all) return !this.all;
    return this.all;
  }
}

/** whether an address is in a CIDR list, as the rules test it (for tests) */
export function cidrMatcher(vals: string[]): (ip: string) => boolean {
  const t = new CidrTest(vals, false);
  return (ip) => t.test(ip);
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
  constructor(
    private readonly op: string,
    private readonly field: FieldIR,
    private readonly cased: boolean,
  ) {}
  test(v: unknown): boolean {
    const ev = current.ev;
    if (ev === null) return false;
    let a = text(v);
    let b = text(firstValue(ev, this.field));
    if (a === null || b === null) return false;
    if (!this.cased) {
      a = a.toLowerCase();
      b = b.toLowerCase();
    }
    switch (this.op) {
      case "eq":
        return a === b;
      case "contains":
        return a.includes(b);
      case "startswith":
        return a.startsWith(b);
      default:
        return a.endsWith(b);
    }
  }
}

class AnyTest implements ValueTest {
  constructor(
    private readonly ts: ValueTest[],
    private readonly all: boolean,
  ) {}
  test(v: unknown): boolean {
    const ts = this.ts;
    for (let i = 0; i < ts.length; i++) if (ts[i].test(v) !== this.all) return !this.all;
    return this.all;
  }
}

export function buildTest(m: MatchIR): ValueTest {
  switch (m.k) {
    case "str":
      return new StrTest(m.op, m.vals, m.cased);
    case "glob":
      if (m.srcs.every((x) => x === "^(?:.*)$")) return ANY_TEXT;
      if (m.cased) {
        const src = m.srcs.join("|");
        return new RegexTest(new RegExp(src, "s"), src);
      } else {
        const src = m.srcs.join("|").toLowerCase();
        return new LowerRegexTest(new RegExp(src, "s"), src);
      }
    case "re": {
      const src = expandCounts(m.src);
      return new RegexTest(new RegExp(src, m.flags), src);
    }
    case "num":
      return new NumTest(m.op, m.vals, m.all);
    case "bool":
      return new BoolTest(m.v);
    case "cidr":
      return new CidrTest(m.vals, m.all);
    case "exists":
      return EXISTS;
    case "null":
      return NULL;
    case "neq":
      return new NeqTest(buildTest(m.m));
    case "fieldref":
      return new FieldRefTest(m.op, m.field, m.cased);
    case "or":
    case "and":
      return new AnyTest(m.ms.map(buildTest), m.k === "and");
  }
}

/** a compiled condition */
export interface Pred {
  cost: number;
  eval(ev: TraceeEvent): boolean;
}

class TestPred implements Pred {
  constructor(
    private readonly f: FieldIR,
    private readonly t: ValueTest,
    private readonly all: boolean,
    readonly cost: number,
  ) {}
  eval(ev: TraceeEvent): boolean {
    return testPath(ev, this.f, this.t, this.all);
  }
}

/** a test of an arg's value, or of a key of it (the most common paths: no lists) */
class ArgPred implements Pred {
  private readonly key: string | null;
  constructor(
    private readonly name: string,
    segs: (string | number)[],
    private readonly t: ValueTest,
    readonly cost: number,
  ) {
    this.key = segs.length ? (segs[0] as string) : null;
  }
  eval(ev: TraceeEvent): boolean {
    if (ev instanceof LazyEvent) {
      const lazy = ev as LazyEvent;
      return this.key === null ? this.t.test(lazy.arg(this.name)) : this.t.test(lazy.argKey(this.name, this.key));
    }
    const args = ev.args;
    for (let i = 0; i < args.length; i++) if (args[i].name === this.name) return this.value(args[i].value);
    return this.t.test(undefined);
  }

  private value(v: unknown): boolean {
    if (this.key === null) return this.t.test(v);
    return this.t.test(v !== null && typeof v === "object" ? (v as Record<string, unknown>)[this.key] : undefined);
  }
}

/** a test of a derived DNS field */
class VirtualPred implements Pred {
  private readonly code: number;
  constructor(
    f: FieldIR,
    private readonly t: ValueTest,
    private readonly all: boolean,
    readonly cost: number,
  ) {
    this.code = virtualCode(f.n);
  }
  eval(ev: TraceeEvent): boolean {
    return testVirtual(ev, this.code, this.t, this.all);
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
  constructor(private readonly p: Pred) {
    this.cost = p.cost;
  }
  eval(ev: TraceeEvent): boolean {
    return !this.p.eval(ev);
  }
}

const TRUE: Pred = { cost: 0, eval: () => true };
const FALSE: Pred = { cost: 0, eval: () => false };

export function buildPred(e: ExprIR): Pred {
  switch (e.k) {
    case "and":
      return e.args.length === 1 ? buildPred(e.args[0]) : new AndPred(e.args.map(buildPred));
    case "or":
      return e.args.length === 1 ? buildPred(e.args[0]) : new OrPred(e.args.map(buildPred));
    case "not":
      return new NotPred(buildPred(e.arg));
    case "const":
      return e.v ? TRUE : FALSE;
    case "test":
      return buildLeaf(e);
  }
}

function buildLeaf(e: Extract<ExprIR, { k: "test" }>): Pred {
  const t = buildTest(e.m);
  if (e.f.h === "virt") return new VirtualPred(e.f, t, e.q === "all", e.cost);
  if (e.f.h === "arg" && e.f.s.length <= 1 && e.f.s.every((x) => typeof x === "string")) return new ArgPred(e.f.n, e.f.s, t, e.cost);
  return new TestPred(e.f, t, e.q === "all", e.cost);
}

// Signature files can reach these classes (require("netsig/rules")): frozen,
// so that none can change how the loaded rules evaluate.
for (const c of [
  StrTest,
  RegexTest,
  NumTest,
  BoolTest,
  CidrTest,
  NeqTest,
  FieldRefTest,
  AnyTest,
  TestPred,
  ArgPred,
  VirtualPred,
  AndPred,
  OrPred,
  NotPred,
]) {
  Object.freeze(c.prototype);
  Object.freeze(c);
}
for (const o of [EXISTS, NULL, TRUE, FALSE]) Object.freeze(o);
