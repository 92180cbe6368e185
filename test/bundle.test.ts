// The sandbox realm's scripts: `npm run build` writes them with the size and
// time of every file they were made of, and a start uses them only while all
// of them are unchanged (otherwise it bundles again: a stale realm would run
// old event-building code in the sandbox). The second, large script must run
// in vm2 as it is (no rewriting, no acorn parse at each start).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import vm from "node:vm";
import { prebuiltBundle, realmBundle, writeRealmBundle } from "../engine/sandbox/bundle";
import { sandboxProcessCode } from "../engine/sandbox/process-bundle";
import { readCapture } from "../engine/capture/reader";
import { BatchPacker } from "../engine/wire/compact";
import { ALL_EVENTS } from "../engine/events/build";
import { EventPipeline } from "../engine/events/pipeline";
import { allCaptures } from "./lib/run";

test("npm run build wrote the realm bundle, and a start reads it", () => {
  const scripts = prebuiltBundle();
  assert.ok(Array.isArray(scripts), "dist/engine/sandbox/realm-bundle.json is missing or stale after the build");
  assert.deepEqual(realmBundle(), scripts);
  assert.equal(scripts.length, 2);
  assert.match(scripts[1], /__netsig/);
});

test("vm2 runs the realm's main script as it is: no catch, import, async or with in it (those are in realm/guard.ts)", () => {
  // vm2's own rewriting step: it returns the code unchanged only when it needs no rewriting
  const { transformer } = require("vm2/lib/transformer") as {
    transformer: (a: null, code: string, async: boolean, gen: boolean, file: string) => { code: string };
  };
  const [guard, core] = realmBundle();
  const words = core.match(/\b(?:catch|import|async|with)\b.{0,40}/g) ?? [];
  assert.deepEqual(words, [], "move the try/catch into realm/guard.ts, or reword the text");
  assert.equal(transformer(null, core, false, false, "netsig-realm.js").code, core, "vm2 would rewrite the realm's main script");
  // the guard is the small one, and it is rewritten (its catch clauses)
  assert.ok(guard.length < core.length / 10, `guard ${guard.length} bytes, core ${core.length}`);
  assert.notEqual(transformer(null, guard, false, false, "netsig-realm-guard.js").code, guard);
});

test("the two scripts make one realm, and the guard's global is gone before any signature runs", () => {
  const ctx = vm.createContext({ __hostName: "t", __mark: () => undefined, __key: "k" });
  for (const script of realmBundle()) vm.runInContext(script, ctx);
  const r = vm.runInContext(`JSON.stringify({ guard: typeof globalThis.__netsigGuard, realm: typeof __netsig("k").batch })`, ctx) as string;
  assert.deepEqual(JSON.parse(r), { guard: "undefined", realm: "function" });
  // a signature that throws is reported, not fatal (the guard's catch works inside the realm)
  const out = vm.runInContext(
    `__netsig("k").register(0, "t.ts", function (module) {
    module.exports = { getMetadata() { return { id: "T", version: "1", name: "t", description: "" }; }, getSelectedEvents() { return []; },
      init() { throw new Error("init failed"); }, onEvent() {}, onSignal() {}, close() {} };
  })`,
    ctx,
  ) as string;
  assert.deepEqual({ ok: JSON.parse(out).ok, message: JSON.parse(out).message }, { ok: false, message: "init failed" });
  const missing = vm.runInContext(
    `__netsig("k").register(1, "m.ts", function (module, exports, require) { require("fs"); })`,
    ctx,
  ) as string;
  assert.match(JSON.parse(missing).message, /signatures can import only "netsig" and "netsig\/helpers", not "fs"/);
});

test("a written bundle is used only while every file it was made of is unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-bundle-"));
  try {
    const file = join(dir, "realm-bundle.json");
    const code = writeRealmBundle(file);
    assert.deepEqual(prebuiltBundle(file), code);
    assert.deepEqual(code, realmBundle(), "a fresh bundle differs from the one the build wrote");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { inputs: [string, number, number][]; scripts: string[] };
    assert.ok(saved.inputs.some(([f]) => f.endsWith("engine/sandbox/realm-entry.ts")));
    assert.ok(saved.inputs.some(([f]) => f.endsWith("engine/realm/guard.ts")));
    assert.ok(
      saved.inputs.some(([f]) => f.endsWith("engine/events/build.ts")),
      "the event builder is part of the bundle",
    );
    const variant = (edit: (s: typeof saved) => void): string[] | undefined => {
      const copy = JSON.parse(JSON.stringify(saved)) as typeof saved;
      edit(copy);
      writeFileSync(file, JSON.stringify(copy));
      return prebuiltBundle(file);
    };
    assert.deepEqual(
      variant(() => undefined),
      code,
    );
    assert.equal(
      variant((s) => {
        s.inputs[1][2] -= 1000;
      }),
      undefined,
      "an input changed since: bundle again",
    );
    assert.equal(
      variant((s) => {
        s.inputs[0][1] += 1;
      }),
      undefined,
      "an input of another size: bundle again",
    );
    assert.equal(
      variant((s) => {
        s.inputs.push(["engine/sandbox/no-such-file.js", 1, 1]);
      }),
      undefined,
    );
    assert.equal(
      variant((s) => {
        (s as { scripts?: string[] }).scripts = undefined;
      }),
      undefined,
    );
    // stale: the realm is bundled from the compiled JavaScript netsig runs (one script), and works
    variant((s) => {
      s.inputs[1][2] -= 1000;
    });
    const fallback = realmBundle(file);
    assert.equal(fallback.length, 1);
    assert.match(fallback[0], /dist\/engine\/sandbox\/realm-entry\.js/);
    const ctx = vm.createContext({ __hostName: "t", __mark: () => undefined, __key: "k" });
    vm.runInContext(fallback[0], ctx);
    assert.equal(vm.runInContext(`typeof __netsig("k").batch`, ctx), "function");
    writeFileSync(file, "{not json");
    assert.equal(prebuiltBundle(file), undefined);
    assert.equal(prebuiltBundle(join(dir, "missing.json")), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("without the TypeScript sources (an installed package, the image), the written bundle is used while the compiled JavaScript is what it was made with", () => {
  const { cpSync, symlinkSync, appendFileSync } = require("node:fs") as typeof import("node:fs");
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  const root = join(__dirname, "..", "..");
  const dir = mkdtempSync(join(tmpdir(), "netsig-nosources-"));
  try {
    cpSync(join(root, "dist", "engine"), join(dir, "dist", "engine"), { recursive: true });
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
    const used = () =>
      spawnSync(
        process.execPath,
        [
          "-e",
          `process.stdout.write(String(require(${JSON.stringify(join(dir, "dist", "engine", "sandbox", "bundle.js"))}).prebuiltBundle() !== undefined))`,
        ],
        { encoding: "utf8" },
      ).stdout;
    assert.equal(used(), "true");
    // a compiled file of the realm changed since the build: bundled again at start
    appendFileSync(join(dir, "dist", "engine", "realm", "realm.js"), "\n");
    assert.equal(used(), "false");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the realm the two scripts make builds the host's events, byte for byte, on every corpus capture", async () => {
  // (what the real sandbox runs; test/compact.test.ts checks the realm compiled by tsc in-process)
  const ctx = vm.createContext({ __hostName: "h", __mark: () => undefined, __key: "k" });
  for (const script of realmBundle()) vm.runInContext(script, ctx);
  const realm = vm.runInContext(`__netsig("k")`, ctx) as { register(i: number, f: string, fn: unknown): string; batch(d: string): string };
  let seen: string[] = [];
  const loaded = JSON.parse(
    realm.register(0, "all.ts", (module: { exports: unknown }) => {
      module.exports = {
        getMetadata: () => ({ id: "ALL", version: "1", name: "all", description: "" }),
        getSelectedEvents: () => [{ source: "tracee", name: "*" }],
        init() {},
        onSignal() {},
        close() {},
        onEvent(e: unknown) {
          seen.push(JSON.stringify(e));
        },
      };
    }),
  ) as { ok: boolean };
  assert.equal(loaded.ok, true);
  let files = 0;
  let events = 0;
  for (const file of allCaptures()) {
    const host: string[] = [];
    const packer = new BatchPacker();
    let n = 0;
    const pipeline = new EventPipeline(ALL_EVENTS, "h", (ev) => host.push(JSON.stringify(ev)));
    pipeline.tap = (p) => packer.add(p, n++);
    await readCapture(file, pipeline.onPacket).catch(() => undefined);
    seen = [];
    const out = JSON.parse(realm.batch(packer.take())) as { errors: unknown[] };
    assert.deepEqual(out.errors, [], file);
    assert.equal(seen.length, host.length, `${file}: events`);
    for (let i = 0; i < host.length; i++) if (seen[i] !== host[i]) assert.fail(`${file}: event ${i} differs`);
    files++;
    events += host.length;
  }
  assert.ok(files > 50 && events > 10_000, `${files} captures, ${events} events`);
});

test("the sandbox process's scripts: the build's are used while every input hashes the same, else bundled again; they hold no esbuild", () => {
  const written = join(__dirname, "..", "engine", "sandbox", "sandbox-process.json");
  const code = sandboxProcessCode(written);
  assert.equal(code.written, true, "npm run build wrote them and nothing changed since");
  assert.doesNotMatch(code.supervisor, /esbuild/, "the supervisor's script is small: no bundler in it");
  assert.match(code.worker, /class VMScript|VMScript/, "vm2 is bundled into the worker's script");
  const dir = mkdtempSync(join(tmpdir(), "netsig-procbundle-"));
  try {
    const saved = JSON.parse(readFileSync(written, "utf8")) as { inputs: [string, string][] };
    saved.inputs[0][1] = "0".repeat(64);
    writeFileSync(join(dir, "p.json"), JSON.stringify(saved));
    const again = sandboxProcessCode(join(dir, "p.json"));
    assert.equal(again.written, false);
    assert.equal(again.worker, code.worker, "bundled again from the same files: the same script");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
