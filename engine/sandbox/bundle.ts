// The code a sandbox realm runs: realm-entry.ts with the event builder, the
// packet transport and netsig/helpers, bundled by esbuild into one script
// (from the compiled JavaScript next to this file), once per process.
//
// `npm run build` writes the bundle (`node dist/engine/sandbox/bundle.js`,
// realm-bundle.json here) with the size and time of every file it was made
// of: a start then reads it (~1 ms) instead of bundling (~50 ms). When any of
// those files changed since (a `tsc` without the build step), the bundle is
// made again at run time, so a stale one is never used.

import { buildSync, type BuildResult } from "esbuild";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { withLocalGlobals } from "./globals";

/** the folder esbuild's input paths are relative to (dist/) */
const DIST = join(__dirname, "..", "..");
const PREBUILT = join(__dirname, "realm-bundle.json");

interface Prebuilt { inputs: [file: string, size: number, mtimeMs: number][]; code: string }

let cached: string | undefined;

function bundle(): BuildResult & { outputFiles: { text: string }[] } {
  return buildSync({
    entryPoints: [join(__dirname, "realm-entry.js")],
    absWorkingDir: DIST,
    bundle: true,
    write: false,
    metafile: true,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
  });
}

/** the bundle `npm run build` wrote, if it exists and every file it was made of is unchanged */
export function prebuiltBundle(file = PREBUILT): string | undefined {
  let saved: Prebuilt;
  try {
    saved = JSON.parse(readFileSync(file, "utf8")) as Prebuilt;
  } catch {
    return undefined;
  }
  if (!Array.isArray(saved?.inputs) || typeof saved.code !== "string") return undefined;
  for (const [f, size, mtimeMs] of saved.inputs) {
    try {
      const st = statSync(join(DIST, f));
      if (st.size !== size || st.mtimeMs !== mtimeMs) return undefined;
    } catch {
      return undefined;
    }
  }
  return saved.code;
}

export function realmBundle(): string {
  if (cached === undefined) cached = prebuiltBundle() ?? withLocalGlobals(bundle().outputFiles[0].text);
  return cached;
}

/** build step: bundle now and write realm-bundle.json (`file`: elsewhere, for tests) */
export function writeRealmBundle(file = PREBUILT): string {
  const out = bundle();
  const inputs = Object.keys(out.metafile!.inputs).map((f): Prebuilt["inputs"][number] => {
    const st = statSync(join(DIST, f));
    return [f, st.size, st.mtimeMs];
  });
  const code = withLocalGlobals(out.outputFiles[0].text);
  writeFileSync(file, JSON.stringify({ inputs, code } satisfies Prebuilt));
  return code;
}

if (require.main === module) writeRealmBundle();
