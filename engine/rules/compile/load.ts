// Rule folders -> signature sources: every .yaml/.yml file under the folders
// (subfolders too), compiled together (compile.ts), each rule and correlation
// one SignatureSource keyed file#id. Host side only.

import { readdirSync, statSync, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import type { LoadProblem, SignatureSource } from "../../types/sources";
import { compileRuleFiles, isRuleFile, type CompileResult, type CompiledUnit, type RuleFile } from "./compile";
import { sandboxReason } from "./linear";
import { FileTooLargeError, formatBytes, readBoundedText, RULE_FILE_MAX_BYTES } from "../../bounded";

/** the shipped rule pack */
export const SHIPPED_RULES = join(__dirname, "..", "..", "..", "..", "rules");

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
      let st: Stats;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 8) walk(p, depth + 1);
      } else if (isRuleFile(n)) files.push(p);
    }
  };
  for (const d of dirs) {
    const dir = resolve(d);
    try {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    } catch (e) {
      problems.push({
        file: dir,
        line: 0,
        column: 0,
        message: `cannot read rules folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        kind: "rule",
      });
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
      files.push({ file: f, text: readBoundedText(f, RULE_FILE_MAX_BYTES) });
    } catch (e) {
      if (e instanceof FileTooLargeError) {
        problems.push({ file: f, line: 0, column: 0, message: tooLarge(e), kind: "rule" });
        continue;
      }
      problems.push({
        file: f,
        line: 0,
        column: 0,
        message: `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        kind: "rule",
      });
    }
  }
  return { files, problems };
}

/** a rule or list file past RULE_FILE_MAX_BYTES: what to do */
export function tooLarge(e: FileTooLargeError): string {
  const size = e.size !== undefined ? `${formatBytes(e.size)} (${e.size} bytes)` : `larger than ${formatBytes(e.cap)}`;
  return `file not read: it is ${size}, past the ${formatBytes(e.cap)} limit for a rule or list file; split it into several files (a list continues in another file with "append: true")`;
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
export function loadRules(
  dirs: string[],
  singleFiles: string[] = [],
  contextDirs: string[] = [],
): { sources: SignatureSource[]; problems: LoadProblem[]; result: CompileResult; texts: Map<string, string> } {
  // (a context entry may be a lists file itself)
  const isFile = (p: string): boolean => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  const contextFiles = contextDirs.filter(isFile).map((f) => resolve(f));
  contextDirs = contextDirs.filter((d) => !isFile(d));
  const listed = listRuleFiles([...dirs, ...contextDirs]);
  const single = singleFiles.map((f) => resolve(f));
  const read = readRuleFiles([...new Set([...listed.files, ...contextFiles, ...single])]);
  const result = compileRuleFiles(read.files);
  const texts = new Map(read.files.map((f) => [f.file, f.text]));
  const runs = contextDirs.length || contextFiles.length ? new Set([...listRuleFiles(dirs).files, ...single]) : null;
  const units = runs ? result.units.filter((u) => runs.has(u.file)) : result.units;
  let problems = runs ? result.problems.filter((p) => runs.has(p.file)) : result.problems;
  // a file given alone (rules validate FILE, rules test FILE) may use the lists
  // and macros of its folder: say how to give them
  const alone = new Set(single.filter((f) => !listed.files.includes(f)));
  if (alone.size && !runs) problems = problems.map((p) => (alone.has(p.file) ? { ...p, message: withListsHint(p.message) } : p));
  const sources = units.map((u) => unitSource(u, texts.get(u.file) ?? ""));
  return { sources, problems: [...listed.problems, ...read.problems, ...problems], result: { ...result, units }, texts };
}

/** an undefined list or macro in a file given alone: the folder that defines it is given with --lists DIR */
export function withListsHint(message: string): string {
  const hint = "if another file defines it, give its file or folder: --lists DIR";
  if (/^undefined list "%[^"]*"/.test(message))
    return message.replace(/ \(define it with "list: [^"]*" and "items:" in a rules file\)$/, "") + ` (${hint})`;
  if (/names macro "%[^"]*", which is not defined/.test(message) || /^append: list "[^"]*" is not defined in any rules file/.test(message))
    return `${message} (${hint})`;
  return message;
}
