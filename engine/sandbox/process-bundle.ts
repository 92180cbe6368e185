// The sandbox process's own code (supervisor.ts) and its worker thread's
// (worker.ts with vm2), each bundled into one script that netsig hands over
// the IPC channel. The process is started as the unprivileged user directly
// (spawn's uid/gid: the kernel clears every capability before node runs) and
// reads no file of netsig's: it works wherever netsig is (a 0700 home, a
// mktemp -d), and on every Node build (Debian's nodejs, linked with the
// system's libuv, refuses process.setuid() at run time: CVE-2024-22017).
//
// `npm run build` writes the two scripts (sandbox-process.json, beside this
// file) with the SHA-256 of every file they were made of; a start uses them
// while those files are unchanged, and bundles them again otherwise (~1 s of
// esbuild: a dist rebuilt without `npm run build`).

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** `written`: the build's scripts were used (false: bundled at this start) */
export interface ProcessCode {
  supervisor: string;
  worker: string;
  written?: boolean;
}
interface Written extends ProcessCode {
  inputs: [file: string, sha256: string][];
}

/** the repository (or the installed package): inputs are named relative to it */
const ROOT = join(__dirname, "..", "..", "..");
const WRITTEN = join(__dirname, "sandbox-process.json");

/**
 * What the sandbox process runs first (`node -e`): the supervisor's script,
 * the first message on the channel, run as a CommonJS module. Only Node's own
 * modules are required from it.
 */
export const BOOTSTRAP =
  // (the comment names the process in ps and /proc/PID/cmdline)
  "/* netsig signature sandbox */process.once('message',(m)=>{const module={exports:{}};" +
  "new Function('require','module','exports',m.code)(require,module,module.exports)})";

/**
 * where an input is: netsig's own files under ROOT; a dependency's
 * (node_modules/NAME/...) wherever Node finds NAME from here, which is
 * elsewhere once netsig is installed into a project (hoisted)
 */
function located(f: string): string {
  const m = /^(?:.*\/)?node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(f);
  if (!m) return join(ROOT, f);
  return join(dirname(require.resolve(`${m[1]}/package.json`)), m[2]);
}
const sha256 = (f: string) =>
  createHash("sha256")
    .update(readFileSync(located(f)))
    .digest("hex");

/** bundle both scripts now (esbuild) from the compiled JavaScript beside this file */
function bundle(): Written {
  // (esbuild is required here only: a start with a current written bundle never loads it)
  const { buildSync } = require("esbuild") as typeof import("esbuild");
  const one = (entry: string) =>
    buildSync({
      entryPoints: [join(__dirname, entry)],
      absWorkingDir: ROOT,
      bundle: true,
      write: false,
      metafile: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      logLevel: "silent",
      // (vm2's optional compilers: never used, never bundled)
      external: ["coffee-script", "typescript"],
    });
  const s = one("supervisor.js");
  const w = one("worker.js");
  const files = [...new Set([...Object.keys(s.metafile!.inputs), ...Object.keys(w.metafile!.inputs)])].sort();
  return { supervisor: s.outputFiles![0].text, worker: w.outputFiles![0].text, inputs: files.map((f) => [f, sha256(f)]) };
}

let cached: ProcessCode | undefined;

/** the two scripts: as written by the build while their inputs are unchanged, else bundled now */
export function sandboxProcessCode(file = WRITTEN): ProcessCode {
  if (cached && file === WRITTEN) return cached;
  let code: ProcessCode | undefined;
  try {
    const w = JSON.parse(readFileSync(file, "utf8")) as Written;
    if (
      typeof w.supervisor === "string" &&
      typeof w.worker === "string" &&
      Array.isArray(w.inputs) &&
      w.inputs.length > 0 &&
      w.inputs.every(([f, h]) => sha256(f) === h)
    )
      code = { supervisor: w.supervisor, worker: w.worker, written: true };
  } catch {
    code = undefined;
  }
  code ??= { ...bundle(), written: false };
  if (file === WRITTEN) cached = code;
  return code;
}

/** build step: write sandbox-process.json (`file`: elsewhere, for tests) */
export function writeSandboxProcessCode(file = WRITTEN): void {
  writeFileSync(file, JSON.stringify(bundle()));
}

if (require.main === module) writeSandboxProcessCode();
