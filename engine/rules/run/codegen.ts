// A rule's condition as one JavaScript function over a LazyEvent, for the
// rules that run in netsig's process (rules/run/backend.ts). The tree of predicates
// (matchers.ts) calls every test through the same few call sites, which see
// every kind of test and so cannot be inlined; here each test of the rule has
// a call site of its own. The generated code holds no text of the rule: only
// indexes into the rule's tests and arg names, field codes and the booleans
// and/or/not, so nothing a rule file says can become code. The sandbox realm
// (rules with a regexp that may backtrack) keeps the predicate tree.
// test/lazy.test.ts checks that both agree on every corpus event.

import type { ExprIR, FieldIR } from "../../types/rule-ir";
import { lazyOne, MULTI, NONE, testPath, testVirtual, virtualCode, type ValueTest } from "./fields";
import { buildTest } from "./matchers";
import type { LazyEvent } from "./lazy";
import { Ev } from "../../types/events";
import { makeFunction } from "../../realm/guard";

export type LazyCondition = (ev: LazyEvent) => boolean;

function costOf(e: ExprIR): number {
  switch (e.k) {
    case "test":
      return e.cost;
    case "not":
      return costOf(e.arg);
    case "const":
      return 0;
    default:
      return e.args.reduce((a, x) => a + costOf(x), 0);
  }
}

const SEGS = (f: FieldIR) => JSON.stringify(f.s);

/**
 * Paths into the lists of a dns_request or dns_response event that hold the
 * values of a derived field (fields.ts lazyScan): the one question's name,
 * and the answers' texts. With no answer, `dns_answer` is null, and a walk
 * tests nothing (undefined) as a derived field does; `none: "walk"` where
 * the two could differ.
 */
function listPath(f: FieldIR): { kind: Ev; code: number; none: "test" | "walk" } | null {
  const segs = SEGS(f);
  if (f.n === "dns_questions" && segs === '[-1,"query"]') return { kind: Ev.DNSRequest, code: virtualCode("dns.query"), none: "walk" };
  if (f.n === "dns_response" && segs === '[-1,"query_data","query"]')
    return { kind: Ev.DNSResponse, code: virtualCode("dns.query"), none: "walk" };
  if (f.n === "dns_response" && segs === '[-1,"dns_answer",-1,"answer"]')
    return { kind: Ev.DNSResponse, code: virtualCode("dns.answer"), none: "test" };
  return null;
}

/** the condition as a function of a LazyEvent (null when this process cannot make code) */
export function compileCondition(e: ExprIR): LazyCondition | null {
  const T: ValueTest[] = [];
  const N: string[] = [];
  const F: FieldIR[] = [];
  const gen = (x: ExprIR): string => {
    switch (x.k) {
      case "const":
        return x.v ? "true" : "false";
      case "not":
        return `!${gen(x.arg)}`;
      case "and":
      case "or": {
        if (x.args.length === 0) return x.k === "and" ? "true" : "false";
        // cheapest first, as the predicate tree orders them
        const args = x.args.map((a, i) => ({ a, i, c: costOf(a) })).sort((p, q) => p.c - q.c || p.i - q.i);
        return `(${args.map((a) => gen(a.a)).join(x.k === "and" ? " && " : " || ")})`;
      }
      case "test": {
        const t = T.length;
        T.push(buildTest(x.m));
        const all = x.q === "all";
        const f = x.f;
        if (f.h === "virt") {
          const code = virtualCode(f.n) | 0;
          if (code < 0) return `scan(ev, ${code}, T[${t}], ${all})`;
          return `((v = one(ev, ${code})) === MULTI ? scan(ev, ${code}, T[${t}], ${all}) : v === NONE ? ${all ? "false" : `T[${t}].test(undefined)`} : T[${t}].test(v))`;
        }
        if (f.h === "arg" && f.s.length <= 1 && f.s.every((s) => typeof s === "string")) {
          const n = N.length;
          N.push(f.n);
          if (f.s.length === 0) return `T[${t}].test(ev.arg(N[${n}]))`;
          N.push(f.s[0] as string);
          return `T[${t}].test(ev.argKey(N[${n}], N[${n + 1}]))`;
        }
        const i = F.length;
        F.push(f);
        const walk = `path(ev, F[${i}], T[${t}], ${all})`;
        // the lists of a simple DNS event, read as derived fields when they have one value (see listPath)
        const lp = f.h === "arg" ? listPath(f) : null;
        if (lp !== null) {
          const none = lp.none === "walk" ? walk : `T[${t}].test(undefined)`;
          return `(ev.kind === ${lp.kind} ? ((v = one(ev, ${lp.code})) === MULTI ? ${walk} : v === NONE ? ${none} : T[${t}].test(v)) : ${walk})`;
        }
        return walk;
      }
    }
  };
  const body = gen(e);
  // (null in the sandbox realm, where code generation is off: the rule keeps its predicate tree)
  const make = makeFunction(
    ["T", "N", "F", "one", "scan", "path", "MULTI", "NONE"],
    `"use strict"; return function condition(ev) { let v; return ${body}; };`,
  );
  return make === null ? null : (make(T, N, F, lazyOne, testVirtual, testPath, MULTI, NONE) as LazyCondition);
}

/**
 * The condition of this IR, one per IR (a correlation over a rule that is
 * also loaded on its own, two copies of a rule), answering once per event:
 * `serial` and `last` are the event it last answered and what.
 */
export interface SharedCondition {
  fn: LazyCondition;
  serial: number;
  last: boolean;
}

const SHARED = new Map<string, SharedCondition | null>();

export function sharedCondition(e: ExprIR): SharedCondition | null {
  const key = JSON.stringify(e);
  let c = SHARED.get(key);
  if (c === undefined) {
    // (a hot-reloaded rule leaves its old condition here: bounded)
    if (SHARED.size >= 4096) SHARED.clear();
    const fn = compileCondition(e);
    c = fn === null ? null : { fn, serial: -1, last: false };
    SHARED.set(key, c);
  }
  return c;
}

/** the answer of a shared condition for an event */
export function ask(c: SharedCondition, ev: LazyEvent): boolean {
  if (c.serial === ev.serial) return c.last;
  const r = c.fn(ev);
  c.serial = ev.serial;
  c.last = r;
  return r;
}
