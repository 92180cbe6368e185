// The layout's rules, checked on the sources (docs/architecture.md):
//  - no import cycle between files, nor between folders;
//  - imports follow the flow: a folder imports only folders before it in
//    LAYERS (types first, the commands last), never one after it;
//  - types/ (the contracts) imports nothing of the stages;
//  - what runs inside the vm2 realm imports no Node API: the realm's
//    bundle, made from its entry with esbuild for a neutral platform (no
//    Node builtins), holds every module it reaches.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { buildSync } from "esbuild";

const ROOT = resolve(__dirname, "..", "..");
const ENGINE = join(ROOT, "engine");

/** the folders of engine/ in the order data flows: each may import only those before it (and itself) */
export const LAYERS = [
  "types",
  "bounded.ts",
  "capture",
  "decode",
  "flows",
  "events",
  "sdk",
  "wire",
  "realm",
  "rules/run",
  "rules/compile",
  "sandbox",
  "detect",
  "findings",
  "outputs",
  "app",
  "cli",
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** every relative import of a file (values and types), resolved to a repository path */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\(\s*|^import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) {
    const base = resolve(dirname(file), m[1]);
    const hit = [base, `${base}.ts`, join(base, "index.ts")].find((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
    if (hit) out.push(hit);
    else if (!m[1].endsWith(".js")) assert.fail(`${relative(ROOT, file)}: import "${m[1]}" resolves to no file`);
  }
  return out;
}

/** the layer (index in LAYERS) a file belongs to */
function layerOf(file: string): number {
  const rel = relative(ENGINE, file).split("\\").join("/");
  let best = -1;
  LAYERS.forEach((l, i) => {
    if (rel === l || rel.startsWith(`${l}/`)) if (best < 0 || l.length > LAYERS[best].length) best = i;
  });
  return best;
}

const files = sources(ENGINE);
const graph = new Map(files.map((f) => [f, importsOf(f)] as const));

test("every engine file belongs to a layer", () => {
  const loose = files.filter((f) => layerOf(f) < 0).map((f) => relative(ROOT, f));
  assert.deepEqual(loose, [], "add the folder to LAYERS (in the order of the flow) and to docs/architecture.md");
});

/** imports from a file to one in a later layer, as "from -> to" */
function againstFlow(g: Map<string, string[]>): string[] {
  const against: string[] = [];
  for (const [f, deps] of g) {
    for (const d of deps) {
      if (d.startsWith(ENGINE) && layerOf(d) > layerOf(f)) against.push(`${relative(ROOT, f)} -> ${relative(ROOT, d)}`);
    }
  }
  return against;
}

/** the import cycles of a graph: its strongly connected components of more than one file (Tarjan) */
function cyclesOf(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(relative(ROOT, w));
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.sort());
    }
  };
  for (const f of g.keys()) if (!idx.has(f)) visit(f);
  return cycles;
}

test("imports follow the flow: no folder imports one that comes after it", () => {
  assert.deepEqual(againstFlow(graph), []);
});

test("types/ holds contracts only: it imports nothing of the stages and no package", () => {
  for (const f of files.filter((x) => layerOf(x) === 0)) {
    for (const d of graph.get(f)!) assert.equal(layerOf(d), 0, `${relative(ROOT, f)} imports ${relative(ROOT, d)}`);
    const text = readFileSync(f, "utf8");
    assert.doesNotMatch(text, /from\s+["'](?!\.)/, `${relative(ROOT, f)} imports a package`);
  }
});

test("no import cycle between files", () => {
  assert.deepEqual(cyclesOf(graph), []);
});

test("the checks can fail: a later layer's import and a cycle are found", () => {
  // (the two checks above on a made-up graph: decode importing cli, and a two-file cycle in events/)
  const at = (p: string) => join(ENGINE, p);
  const made = new Map<string, string[]>([
    [at("decode/packet.ts"), [at("cli/main.ts")]],
    [at("cli/main.ts"), [at("decode/packet.ts")]],
    [at("events/a.ts"), [at("events/b.ts")]],
    [at("events/b.ts"), [at("events/a.ts")]],
  ]);
  assert.deepEqual(againstFlow(made), ["engine/decode/packet.ts -> engine/cli/main.ts"]);
  assert.deepEqual(cyclesOf(made), [
    ["engine/cli/main.ts", "engine/decode/packet.ts"],
    ["engine/events/a.ts", "engine/events/b.ts"],
  ]);
  assert.equal(layerOf(at("rules/compile/compile.ts")), LAYERS.indexOf("rules/compile"));
  assert.equal(layerOf(at("nowhere.ts")), -1);
});

test("the code that runs inside the vm2 realm imports no Node API", () => {
  // esbuild for a neutral platform knows no Node builtin: an import of one anywhere the realm's entry reaches fails the build
  const entry = join(ENGINE, "sandbox", "realm-entry.ts");
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: "neutral",
    format: "iife",
    logLevel: "silent",
  });
  const inputs = Object.keys(out.metafile.inputs);
  assert.ok(inputs.some((f) => f.endsWith("realm/realm.ts")) && inputs.some((f) => f.endsWith("realm/guard.ts")));
  for (const f of inputs) assert.doesNotMatch(f, /node_modules|^node:/, `the realm reaches ${f}`);
  // and the realm's own files use no Node global either
  for (const f of sources(join(ENGINE, "realm"))) {
    const code = readFileSync(f, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    assert.doesNotMatch(code, /\b(process|Buffer|require|__dirname|setImmediate)\s*[.(]/, `${relative(ROOT, f)} uses a Node global`);
  }
  // (the build does fail on a builtin: this is what the check relies on)
  assert.throws(() =>
    buildSync({
      stdin: { contents: `import "node:fs";`, resolveDir: ENGINE },
      bundle: true,
      write: false,
      platform: "neutral",
      logLevel: "silent",
    }),
  );
});
