// Signature files: find them, transpile them (TypeScript or JavaScript) to
// CommonJS with esbuild, and report problems as file:line:column.
//
// A file is a unit: one that fails to transpile is reported and skipped, the
// others load. The transpiled code is evaluated later, inside a sandbox
// (realm/realm.ts) or, for benchmarks and authoring, in-process.

import { readdirSync, statSync } from "node:fs";
import { FileTooLargeError, formatBytes, readBoundedText, SIGNATURE_FILE_MAX_BYTES } from "../bounded";
import { dirname, join, relative, resolve, sep } from "node:path";
import { transformSync, type TransformFailure } from "esbuild";
import type { LoadProblem, SignatureSource } from "../types/sources";

const EXTENSIONS = [".ts", ".js", ".mts", ".cts", ".mjs", ".cjs"];

export function isSignatureFile(name: string): boolean {
  return EXTENSIONS.some((e) => name.endsWith(e)) && !name.endsWith(".d.ts") && !name.startsWith(".") && !/\.test\.[cm]?[jt]s$/.test(name);
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
      problems.push({
        file: dir,
        line: 0,
        column: 0,
        message: `cannot read signatures folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      });
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
      return {
        file,
        line: 0,
        column: 0,
        message: `file not read: it is ${size}, past the ${formatBytes(e.cap)} limit for a signature file`,
      };
    }
    return { file, line: 0, column: 0, message: `cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const inlined = inlineJsonImports(file, source);
  if (typeof inlined !== "string") return inlined;
  const loader = file.endsWith("ts") ? "ts" : "js";
  try {
    const out = transformSync(inlined, {
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

/**
 * A JSON import (`import NAME` of a `./data/x.json`): a JSON file in the signature's folder
 * (or below it), read now and put in place of the import as a constant, on
 * the same line (a signature cannot read files when it runs: the realm has no
 * file system). The data is read when the signature file is (re)loaded.
 */
const JSON_IMPORT =
  /^([ \t]*)import\s+([A-Za-z_$][\w$]*)\s+from\s+(["'])(\.{1,2}\/[^"'\n]+\.json)\3(\s+(?:with|assert)\s*\{\s*type\s*:\s*["']json["']\s*\})?\s*;?[ \t]*$/gm;

function inlineJsonImports(file: string, source: string): string | LoadProblem {
  if (!source.includes(".json")) return source;
  let problem: LoadProblem | null = null;
  const dir = dirname(resolve(file));
  const out = source.replace(JSON_IMPORT, (whole, indent: string, name: string, _q: string, rel: string, _with: string, at: number) => {
    if (problem !== null) return whole;
    const line = source.slice(0, at).split("\n").length;
    const target = resolve(dir, rel);
    const inside = relative(dir, target);
    if (inside.startsWith("..") || inside.startsWith(sep)) {
      problem = { file, line, column: 1, message: `${rel}: a JSON import must be in the signature's folder or below it` };
      return whole;
    }
    try {
      const value: unknown = JSON.parse(readBoundedText(target, SIGNATURE_FILE_MAX_BYTES));
      return `${indent}const ${name} = ${JSON.stringify(value)};`;
    } catch (e) {
      const why =
        e instanceof SyntaxError
          ? `not JSON (${e.message})`
          : `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
      problem = { file, line, column: 1, message: `${rel}: ${why}` };
      return whole;
    }
  });
  return problem ?? out;
}
