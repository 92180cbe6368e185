// The code a sandbox realm runs, bundled by esbuild from the TypeScript
// sources, as two scripts run one after the other:
//  1. realm/guard.ts, every try/catch of the realm (vm2 rewrites its catch
//     clauses: a small script);
//  2. realm-entry.ts with the realm, the event builder, the packet transport
//     and netsig/helpers, which reaches the guard's functions through a
//     global the first script sets and the second deletes. It has none of
//     the words vm2 rewrites for (catch, import, async, with), so vm2 runs it
//     as it is: parsing the whole bundle with vm2's acorn took ~80 ms of every
//     sandbox start (test/bundle.test.ts keeps it so).
//
// `npm run build` writes the scripts (`node dist/engine/sandbox/bundle.js`,
// realm-bundle.json here, right after tsc compiled the same sources) with
// the size and time of every file they were made of: a start then reads them
// (~1 ms). When any of those files changed since (a source edited, dist not
// built again), or without the TypeScript sources, the realm is bundled at
// start (~50 ms) from the compiled JavaScript netsig itself runs, as one
// script vm2 rewrites: slower to start, never a realm that differs from the
// host's code.

import { buildSync, type BuildOptions } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLocalGlobals } from "./globals";

/** the repository (TypeScript sources under engine/) */
const ROOT = join(__dirname, "..", "..", "..");
const SOURCES = join(ROOT, "engine", "sandbox");
const PREBUILT = join(__dirname, "realm-bundle.json");
/** the global through which the second script gets the first one's functions */
const GUARD_GLOBAL = "__netsigGuard";
/** the first script's entry (no file: it is written here) */
const GUARD_ENTRY = "realm-guard-entry.ts";

interface Prebuilt {
  inputs: [file: string, size: number, mtimeMs: number][];
  /** the compiled JavaScript of those inputs (engine/X.ts -> dist/engine/X.js; others as they are) and its SHA-256 */
  compiled?: [file: string, sha256: string][];
  scripts: string[];
}

let cached: string[] | undefined;

const COMMON: BuildOptions = {
  bundle: true,
  write: false,
  metafile: true,
  format: "iife",
  platform: "neutral",
  target: "es2022",
  logLevel: "silent",
  // (no comments, and non-ASCII text as it is rather than as \u escapes, which also make vm2 rewrite a script)
  minifyWhitespace: true,
  charset: "utf8",
};

interface Bundled {
  scripts: string[];
  inputs: string[];
}

/** one script from the compiled JavaScript next to this file (vm2 rewrites it) */
function fromDist(): Bundled {
  const out = buildSync({ ...COMMON, minifyWhitespace: false, absWorkingDir: ROOT, entryPoints: [join(__dirname, "realm-entry.js")] });
  return { scripts: [withLocalGlobals(out.outputFiles![0].text)], inputs: Object.keys(out.metafile!.inputs) };
}

/** the two scripts from the TypeScript sources, and the files (relative to ROOT) they were made of */
function fromSources(): Bundled {
  const guard = buildSync({
    ...COMMON,
    absWorkingDir: ROOT,
    stdin: {
      contents: `import * as guard from "../realm/guard";\n(globalThis as any).${GUARD_GLOBAL} = guard;\n`,
      resolveDir: SOURCES,
      loader: "ts",
      sourcefile: GUARD_ENTRY,
    },
  });
  // (realm/guard.ts stays out of the second script: its imports become calls of
  // a `require` the wrapper defines, which hands over the guard's functions)
  const core = buildSync({
    ...COMMON,
    absWorkingDir: ROOT,
    entryPoints: [join(SOURCES, "realm-entry.ts")],
    external: ["./guard", "*/realm/guard"],
  });
  const inputs = [...Object.keys(guard.metafile!.inputs), ...Object.keys(core.metafile!.inputs)].filter((f) => !f.endsWith(GUARD_ENTRY));
  const scripts = [
    withLocalGlobals(guard.outputFiles![0].text),
    withLocalGlobals(core.outputFiles![0].text, { require: `((g) => () => g)(globalThis.${GUARD_GLOBAL})` }),
  ];
  return { scripts, inputs: [...new Set(inputs)] };
}

/** the scripts `npm run build` wrote, if they exist and every file they were made of is unchanged */
export function prebuiltBundle(file = PREBUILT): string[] | undefined {
  let saved: Prebuilt;
  try {
    saved = JSON.parse(readFileSync(file, "utf8")) as Prebuilt;
  } catch {
    return undefined;
  }
  if (!Array.isArray(saved?.inputs) || !Array.isArray(saved.scripts) || !saved.scripts.every((s) => typeof s === "string"))
    return undefined;
  // an installed package or the image carries no TypeScript sources (and npm
  // sets every file's time): there the compiled JavaScript must be what the
  // scripts were made with, byte for byte
  if (!existsSync(join(SOURCES, "realm-entry.ts"))) return compiledUnchanged(saved) ? saved.scripts : undefined;
  for (const [f, size, mtimeMs] of saved.inputs) {
    try {
      const st = statSync(join(ROOT, f));
      if (st.size !== size || st.mtimeMs !== mtimeMs) return undefined;
    } catch {
      return undefined;
    }
  }
  return saved.scripts;
}

/** the compiled file of a bundle input (relative to ROOT) */
const compiledOf = (f: string) => (/^engine\/.*\.ts$/.test(f) ? join("dist", f.replace(/\.ts$/, ".js")) : f);
const sha256 = (f: string) =>
  createHash("sha256")
    .update(readFileSync(join(ROOT, f)))
    .digest("hex");

function compiledUnchanged(saved: Prebuilt): boolean {
  if (!Array.isArray(saved.compiled) || saved.compiled.length === 0) return false;
  try {
    return saved.compiled.every(([f, h]) => sha256(f) === h);
  } catch {
    return false;
  }
}

/** the realm's scripts, to run in this order (`file`: the written ones, elsewhere, for tests) */
export function realmBundle(file = PREBUILT): string[] {
  if (file !== PREBUILT) return prebuiltBundle(file) ?? fromDist().scripts;
  if (cached === undefined) cached = prebuiltBundle() ?? fromDist().scripts;
  return cached;
}

/** build step: bundle now and write realm-bundle.json (`file`: elsewhere, for tests) */
export function writeRealmBundle(file = PREBUILT): string[] {
  const { scripts, inputs } = existsSync(join(SOURCES, "realm-entry.ts")) ? fromSources() : fromDist();
  const withStats = inputs.map((f): Prebuilt["inputs"][number] => {
    const st = statSync(join(ROOT, f));
    return [f, st.size, st.mtimeMs];
  });
  // (with the sources: what tsc made of them, for a copy without them)
  const compiled = existsSync(join(SOURCES, "realm-entry.ts"))
    ? inputs.map((f): [string, string] => [compiledOf(f), sha256(compiledOf(f))])
    : undefined;
  writeFileSync(file, JSON.stringify({ inputs: withStats, compiled, scripts } satisfies Prebuilt));
  return scripts;
}

if (require.main === module) writeRealmBundle();
