// The code a sandbox realm runs: realm-entry.ts with the event builder, the
// packet transport and netsig/helpers, bundled by esbuild into one script
// (from the compiled JavaScript next to this file), once per process.

import { buildSync } from "esbuild";
import { join } from "node:path";
import { withLocalGlobals } from "./globals";

let cached: string | undefined;

export function realmBundle(): string {
  if (cached === undefined) {
    const out = buildSync({
      entryPoints: [join(__dirname, "realm-entry.js")],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2022",
      logLevel: "silent",
    });
    cached = withLocalGlobals(out.outputFiles[0].text);
  }
  return cached;
}
