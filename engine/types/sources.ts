// A signature or rule ready to load (transpiled or compiled) and what went
// wrong loading one: what the loaders (sandbox/loader.ts, rules/compile/load.ts)
// hand the signature engine (detect/engine.ts) and the commands print.

import type { UnitIR } from "./rule-ir";

export interface SignatureSource {
  /** absolute path of the file */
  file: string;
  /** CommonJS JavaScript, with an inline source map back to the file */
  code: string;
  /** the file's own text */
  text: string;
  /** identity for hot reload when one file holds several (rules: file#id); default: the file */
  key?: string;
  /** where the unit starts in the file (rules), for problems found at load */
  line?: number;
  /** "rule" for a compiled YAML rule */
  kind?: "rule";
  /** a rule's compiled form (it runs in-process unless `sandboxReason` says why not) */
  ir?: UnitIR;
  /** why a rule runs in the sandbox ("": in netsig's process; rules/linear.ts) */
  sandboxReason?: string;
}

export interface LoadProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  /** "rule": a YAML rule's problem (reported as such) */
  kind?: "rule";
  /** the rule's file#id, for a problem of one rule */
  key?: string;
  /** hot reload: what keeps running its previous version (ids), said instead of "skipped" */
  keeps?: string;
  /** the rule document (file:line) whose problem this is: a document with several problems is one rule skipped */
  doc?: string;
}

/** how many signatures and rules these problems skip (each document once) */
export function skippedCount(problems: LoadProblem[]): number {
  return new Set(problems.map((p) => p.doc ?? formatProblem(p))).size;
}

/**
 * The line where a method is defined in the file's own text (vm2 hides stack
 * frames, so a runtime error is placed at its method), or where the default
 * export is, or 1.
 */
export function lineOf(text: string, method?: string): number {
  const lines = text.split("\n");
  const re = method
    ? new RegExp(`^\\s*(?:(?:public|private|protected|async|static)\\s+)*${method}\\s*(?:\\(|[:=]\\s*(?:function|\\(|async))`)
    : /\bexport\s+default\b|module\.exports\s*=/;
  const i = lines.findIndex((l) => re.test(l));
  return i >= 0 ? i + 1 : 1;
}

export function formatProblem(p: LoadProblem): string {
  // (a problem with the whole file, e.g. one too large to read, has no line)
  return p.line > 0 ? `${p.file}:${p.line}:${p.column}: ${p.message}` : `${p.file}: ${p.message}`;
}
