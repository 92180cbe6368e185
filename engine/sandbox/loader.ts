// Signature files: find them, transpile them (TypeScript or JavaScript) to
// CommonJS with esbuild, and report problems as file:line:column.
//
// A file is a unit: one that fails to transpile is reported and skipped, the
// others load. The transpiled code is evaluated later, inside a sandbox
// (sandbox/realm.ts) or, for benchmarks and authoring, in-process.

import { readdirSync, statSync } from "node:fs";
import { FileTooLargeError, formatBytes, readBoundedText, SIGNATURE_FILE_MAX_BYTES } from "../bounded";
import { join, resolve } from "node:path";
import { transformSync, type TransformFailure } from "esbuild";
import type { UnitIR } from "../rules/ir";

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

const EXTENSIONS = [".ts", ".js", ".mts", ".cts", ".mjs", ".cjs"];

export function isSignatureFile(name: string): boolean {
  return EXTENSIONS.some((e) => name.endsWith(e)) && !name.endsWith(".d.ts") && !name.startsWith(".") &&
    !/\.test\.[cm]?[jt]s$/.test(name);
}

/** every signature file directly in the folders, sorted by path (a missing folder is a problem) */
export function listSignatureFiles(dirs: string[]): { files: string[]; problems: LoadProblem[] } {
  const files: string[] = [];
  const problems: LoadProblem[] = [];
  for (const d of dirs) {
    const dir = resolve(d);
    let names: string[];
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      names = readdirSync(dir);
    } catch (e) {
      problems.push({ file: dir, line: 0, column: 0, message: `cannot read signatures folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      continue;
    }
    for (const n of names.sort()) if (isSignatureFile(n)) files.push(join(dir, n));
  }
  return { files, problems };
}

/** transpile one file; a syntax error comes back as a problem with its line and column */
export function transpileSignature(file: string, text?: string): SignatureSource | LoadProblem {
  let source: string;
  try {
    source = text ?? readBoundedText(file, SIGNATURE_FILE_MAX_BYTES);
  } catch (e) {
    if (e instanceof FileTooLargeError) {
      const size = e.size !== undefined ? `${formatBytes(e.size)} (${e.size} bytes)` : `larger than ${formatBytes(e.cap)}`;
      return { file, line: 0, column: 0, message: `file not read: it is ${size}, past the ${formatBytes(e.cap)} limit for a signature file` };
    }
    return { file, line: 0, column: 0, message: `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const loader = file.endsWith("ts") ? "ts" : "js";
  try {
    const out = transformSync(source, {
      loader,
      format: "cjs",
      target: "es2022",
      sourcefile: file,
      sourcemap: "inline",
      logLevel: "silent",
    });
    return { file, code: out.code, text: source };
  } catch (e) {
    const err = (e as TransformFailure).errors?.[0];
    if (err) {
      return { file, line: err.location?.line ?? 0, column: (err.location?.column ?? 0) + 1, message: `syntax error: ${err.text}` };
    }
    return { file, line: 0, column: 0, message: (e as Error).message };
  }
}
