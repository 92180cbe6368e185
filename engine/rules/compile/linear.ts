// Which rules may run in netsig's own process: those whose regular
// expressions cannot backtrack without bound. netsig turns on V8's fallback
// to its linear-time regexp engine on excessive backtracking; a pattern that
// engine can run (no backreferences, no lookaround, no case folding by the
// `i` flag; counted repetitions are split into runs it can take: regex.ts)
// is safe on any input. A rule with another pattern runs in the
// signature sandbox, where the watchdog stops it. (Host only: it sets V8 flags.)

import { setFlagsFromString } from "node:v8";
import type { ExprIR, MatchIR, UnitIR } from "../../types/rule-ir";
import { expandCounts } from "../run/regex";

let on = false;

/** turn on the linear-time fallback (before any rule's regexp is compiled) */
export function linearRegexps(): void {
  if (on) return;
  on = true;
  setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
  setFlagsFromString("--enable-experimental-regexp-engine");
}

/** can V8's linear-time engine run this pattern (with these flags)? */
export function linearSafe(src: string, flags: string): boolean {
  linearRegexps();
  if (flags.includes("i")) return false;
  try {
    new RegExp(expandCounts(src), flags + "l");
    return true;
  } catch {
    return false;
  }
}

/** why a match cannot run in-process ("" when it can) */
function matchRisk(m: MatchIR): string {
  switch (m.k) {
    case "re":
      return linearSafe(m.src, m.flags)
        ? ""
        : `the regular expression ${JSON.stringify(m.src)}${m.flags.includes("i") ? " with the i flag" : ""} may backtrack without bound`;
    // globs are tested without the i flag (on lowercased text): see matchers.ts
    case "glob":
      return m.srcs.every((s) => linearSafe(m.cased ? s : s.toLowerCase(), "s")) ? "" : "a wildcard value may backtrack without bound";
    case "neq":
      return matchRisk(m.m);
    case "or":
    case "and":
      for (const x of m.ms) {
        const r = matchRisk(x);
        if (r) return r;
      }
      return "";
    default:
      return "";
  }
}

function exprRisk(e: ExprIR): string {
  switch (e.k) {
    case "and":
    case "or":
      for (const a of e.args) {
        const r = exprRisk(a);
        if (r) return r;
      }
      return "";
    case "not":
      return exprRisk(e.arg);
    case "test":
      return matchRisk(e.m);
    default:
      return "";
  }
}

/** why a compiled rule or correlation must run in the sandbox ("" when it can run in-process) */
export function sandboxReason(ir: UnitIR): string {
  if (ir.kind === "correlation") {
    for (const r of ir.rules) {
      const why = exprRisk(r.match);
      if (why) return why;
    }
    return "";
  }
  return exprRisk(ir.match);
}
