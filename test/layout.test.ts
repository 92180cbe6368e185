// The repository's layout rules, checked on the sources (no build output):
// bench/ and tools/ import nothing from test/ (test/ is the suites and their
// helpers; what the bench also needs, the lab and the packet crafting, lives
// in tools/), and engine/ imports nothing from test/, bench/ or tools/ (it is
// what ships).

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const ROOT = resolve(__dirname, "..", "..");

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** the relative module paths a file imports, requires or re-exports (`from "..."`, `import("...")`, `require("...")`) */
function relativeImports(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(["'])(\.{1,2}\/[^"']*)\1/g)) out.push(m[2]);
  return out;
}

/** the files of `dirs` that import from one of `banned` (folders at the root), as "file: specifier" */
function importsInto(dirs: string[], banned: string[]): string[] {
  const bad: string[] = [];
  for (const d of dirs) {
    for (const f of sources(d)) {
      for (const spec of relativeImports(readFileSync(join(ROOT, f), "utf8"))) {
        const top = relative(ROOT, resolve(ROOT, dirname(f), spec)).split(sep)[0];
        if (banned.includes(top)) bad.push(`${f}: ${spec}`);
      }
    }
  }
  return bad;
}

test("the import scan finds each form of import", () => {
  const src = [
    `import { a } from "../test/lib/x";`,
    `import type { B } from '../test/y';`,
    `export * from "./z";`,
    `import "../side-effect";`,
    `const c = require("../c");`,
    `type D = typeof import("../../d");`,
    `import { e } from "node:fs";`,
  ].join("\n");
  assert.deepEqual(relativeImports(src), ["../test/lib/x", "../test/y", "./z", "../side-effect", "../c", "../../d"]);
});

test("bench/ and tools/ import nothing from test/", () => {
  assert.ok(sources("bench").length > 0 && sources("tools").length > 0);
  assert.deepEqual(importsInto(["bench", "tools"], ["test"]), []);
});

test("npm run test:fast names suites that exist, and npm test runs every suite", () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  const fast = scripts["test:fast"].match(/dist\/test\/[\w-]+\.test\.js/g) ?? [];
  assert.ok(fast.length > 0, scripts["test:fast"]);
  for (const f of fast) assert.ok(sources("test").includes(f.replace(/^dist\//, "").replace(/\.js$/, ".ts")), `${f} has a source in test/`);
  assert.match(scripts.test, /dist\/test\/\*\.test\.js/);
});

test("engine/ imports nothing from test/, bench/ or tools/", () => {
  assert.deepEqual(importsInto(["engine"], ["test", "bench", "tools"]), []);
});
