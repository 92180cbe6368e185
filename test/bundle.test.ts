// The sandbox realm's bundle: `npm run build` writes it with the size and
// time of every file it was made of, and a start uses it only while all of
// them are unchanged (otherwise it bundles again: a stale realm would run
// old event-building code in the sandbox).

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { prebuiltBundle, realmBundle, writeRealmBundle } from "../engine/sandbox/bundle";

test("npm run build wrote the realm bundle, and a start reads it", () => {
  const code = prebuiltBundle();
  assert.equal(typeof code, "string", "dist/engine/sandbox/realm-bundle.json is missing or stale after the build");
  assert.equal(realmBundle(), code);
  assert.match(code!, /__netsig/);
});

test("a written bundle is used only while every file it was made of is unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-bundle-"));
  try {
    const file = join(dir, "realm-bundle.json");
    const code = writeRealmBundle(file);
    assert.equal(prebuiltBundle(file), code);
    assert.equal(code, realmBundle(), "a fresh bundle differs from the one the build wrote");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { inputs: [string, number, number][]; code: string };
    assert.ok(saved.inputs.some(([f]) => f.endsWith("engine/sandbox/realm-entry.js")));
    assert.ok(saved.inputs.some(([f]) => f.endsWith("engine/events/build.js")), "the event builder is part of the bundle");
    const variant = (edit: (s: typeof saved) => void): string | undefined => {
      const copy = JSON.parse(JSON.stringify(saved)) as typeof saved;
      edit(copy);
      writeFileSync(file, JSON.stringify(copy));
      return prebuiltBundle(file);
    };
    assert.equal(variant(() => undefined), code);
    assert.equal(variant((s) => { s.inputs[1][2] -= 1000; }), undefined, "an input changed since: bundle again");
    assert.equal(variant((s) => { s.inputs[0][1] += 1; }), undefined, "an input of another size: bundle again");
    assert.equal(variant((s) => { s.inputs.push(["engine/sandbox/no-such-file.js", 1, 1]); }), undefined);
    assert.equal(variant((s) => { (s as { code?: string }).code = undefined; }), undefined);
    writeFileSync(file, "{not json");
    assert.equal(prebuiltBundle(file), undefined);
    assert.equal(prebuiltBundle(join(dir, "missing.json")), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
