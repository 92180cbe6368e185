// Fuzzing in CI (issue 14): every fuzz target of test/fuzz/ for a short
// budget (FUZZ_SECONDS, default 6 s each: about a minute in all), failing on
// a crash, a hang (the per-input limit) or memory past the bound; and every
// saved input under test/fuzz/regressions/ replayed through its target. A
// regression of an open defect is a `todo` naming it (its .json says which)
// until the fix lands. The seed is random unless FUZZ_SEED is set; a failure
// prints it and the saved input (test/fuzz/crashes/). docs/fuzzing.md.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fuzzTarget, REGRESSION_DIR, replayFiles, TARGETS } from "./fuzz/harness";
import { report } from "./fuzz/run";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 6);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** targets whose issue 14 defects are fixed: run with their strict checks (the others once theirs land) */
const STRICT = new Set(["rules", "config"]);

describe("fuzz targets, a short run each", () => {
  for (const name of TARGETS) {
    test(`${name}: ${SECONDS} s without a crash, a hang or memory past the bound`, async () => {
      const r = await fuzzTarget(name, { timeMs: SECONDS * 1000, seed: SEED, coverage: false, strict: STRICT.has(name) });
      assert.ok(!r.crash, report(r) + `\n(replay: npm run fuzz -- --replay --target ${name} ${r.crash?.file ?? ""})`);
      assert.ok(r.execs > 0, `${name} ran no input`);
    });
  }
});

interface RegressionMeta {
  todo?: string;
  strict?: boolean;
  defect?: string;
}

describe("fuzz regressions: saved inputs replayed through their targets", () => {
  for (const name of TARGETS) {
    const dir = join(REGRESSION_DIR, name);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)
      .filter((x) => x.endsWith(".bin"))
      .sort()) {
      const file = join(dir, f);
      const metaFile = file.replace(/\.bin$/, ".json");
      const meta: RegressionMeta = existsSync(metaFile) ? (JSON.parse(readFileSync(metaFile, "utf8")) as RegressionMeta) : {};
      test(`${name}/${f}${meta.defect ? `: ${meta.defect.split(":")[0]}` : ""}`, { todo: meta.todo }, async () => {
        const [o] = await replayFiles(name, [file], meta.strict ?? false);
        assert.ok(o.ok, `${o.kind}: ${o.message}`);
      });
    }
  }
});
