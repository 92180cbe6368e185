// npm run typecheck: `tsc --noEmit` over each TypeScript project of the
// repository, without building: the main one (engine/, test/, bench/,
// tools/), the shipped signatures (signatures/tsconfig.json, checked against
// netsig's SDK sources) and every examples/*/ folder with a tsconfig.json.
// An examples/ folder with TypeScript files and no tsconfig.json fails: its
// files would go unchecked.
// Plain JavaScript, so that it runs before `npm run build`.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, readdirSync } = require("node:fs");
const { dirname, join } = require("node:path");

const root = join(__dirname, "..");
const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
const projects = ["tsconfig.json", "signatures/tsconfig.json"];
let failed = 0;
for (const d of readdirSync(join(root, "examples"), { withFileTypes: true })) {
  if (!d.isDirectory()) continue;
  const dir = join(root, "examples", d.name);
  if (existsSync(join(dir, "tsconfig.json"))) projects.push(`examples/${d.name}/tsconfig.json`);
  else if (readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith(".ts"))) {
    process.stderr.write(`typecheck: examples/${d.name}/ has TypeScript files and no tsconfig.json: add one\n`);
    failed++;
  }
}
for (const p of projects) {
  const r = spawnSync(process.execPath, [tsc, "--noEmit", "-p", p], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`typecheck: ${p} failed\n`);
    failed++;
  } else process.stdout.write(`typecheck: ${p} ok\n`);
}
process.exitCode = failed ? 1 : 0;
