// Rule folders -> signature sources: every .yaml/.yml file under the folders
// (subfolders too), compiled together (compile.ts), each rule and correlation
// one SignatureSource keyed file#id. Host side only.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadProblem, SignatureSource } from "../sandbox/loader";
import { compileRuleFiles, isRuleFile, type CompileResult, type CompiledUnit, type RuleFile } from "./compile";
import { sandboxReason } from "./linear";

/** the shipped rule pack */
export const SHIPPED_RULES = join(__dirname, "..", "..", "..", "rules");

/** every rule file under the folders (recursively), sorted; a missing folder is a problem */
export function listRuleFiles(dirs: string[]): { files: string[]; problems: LoadProblem[] } {
  const files: string[] = [];
  const problems: LoadProblem[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith(".")) continue;
      const p = join(dir, n);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) { if (depth < 8) walk(p, depth + 1); } else if (isRuleFile(n)) files.push(p);
    }
  };
  for (const d of dirs) {
    const dir = resolve(d);
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    } catch (e) {
      problems.push({ file: dir, line: 0, column: 0, message: `cannot read rules folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, kind: "rule" });
      continue;
    }
    walk(dir, 0);
  }
  return { files: [...new Set(files)], problems };
}

/** read the files (an unreadable one is a problem) */
export function readRuleFiles(paths: string[]): { files: RuleFile[]; problems: LoadProblem[] } {
  const files: RuleFile[] = [];
  const problems: LoadProblem[] = [];
  for (const f of paths) {
    try {
      files.push({ file: f, text: readFileSync(f, "utf8") });
    } catch (e) {
      problems.push({ file: f, line: 0, column: 0, message: `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, kind: "rule" });
    }
  }
  return { files, problems };
}

export function unitSource(u: CompiledUnit, text: string): SignatureSource {
  return { file: u.file, code: u.code, text, key: u.key, line: u.line, kind: "rule", ir: u.ir, sandboxReason: sandboxReason(u.ir) };
}

/**
 * Compile the rules of these folders and files: sources and problems, and the
 * texts read. With `contextDirs`, their files are compiled too (their lists,
 * macros and rules are there for the others to use) but only the units of
 * `singleFiles` run (`rules test`).
 */
export function loadRules(dirs: string[], singleFiles: string[] = [], contextDirs: string[] = []):
  { sources: SignatureSource[]; problems: LoadProblem[]; result: CompileResult; texts: Map<string, string> } {
  const listed = listRuleFiles([...dirs, ...contextDirs]);
  const single = singleFiles.map((f) => resolve(f));
  const read = readRuleFiles([...new Set([...listed.files, ...single])]);
  const result = compileRuleFiles(read.files);
  const texts = new Map(read.files.map((f) => [f.file, f.text]));
  const runs = contextDirs.length ? new Set([...listRuleFiles(dirs).files, ...single]) : null;
  const units = runs ? result.units.filter((u) => runs.has(u.file)) : result.units;
  const problems = runs ? result.problems.filter((p) => runs.has(p.file)) : result.problems;
  const sources = units.map((u) => unitSource(u, texts.get(u.file) ?? ""));
  return { sources, problems: [...listed.problems, ...read.problems, ...problems], result: { ...result, units }, texts };
}
