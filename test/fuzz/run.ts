// `npm run fuzz -- [--time SECONDS] [--seed N] [--strict] [--no-coverage] [TARGET...]`
// runs each target (all by default) for the time given (60 s), one after the
// other, and prints executions/s and the coverage each reached.
// `npm run fuzz -- --replay FILE... --target NAME` runs saved inputs again.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fuzzTarget, replayFiles, TARGETS, type FuzzResult } from "./harness";

function pct(c: [number, number]): string {
  return `${c[0]}/${c[1]} (${c[1] ? ((100 * c[0]) / c[1]).toFixed(1) : "0"}%)`;
}

export function report(r: FuzzResult): string {
  const rate = r.ms > 0 ? (r.execs / (r.ms / 1000)).toFixed(0) : "0";
  const cov = r.coverage
    ? `lines ${pct(r.coverage.lines)}, branches ${pct(r.coverage.blocks)}, functions ${pct(r.coverage.functions)} in ${r.coverage.modules} modules`
    : "no coverage";
  const head = `${r.target.padEnd(8)} seed ${r.seed}: ${r.execs} execs in ${(r.ms / 1000).toFixed(1)} s = ${rate}/s; ${cov}`;
  return r.crash
    ? `${head}\n  CRASH (${r.crash.kind}): ${r.crash.message.split("\n")[0]}\n  input: ${r.crash.file ?? "(not saved)"}${r.crash.path ? `\n  fast-check path: ${r.crash.path}` : ""}`
    : head;
}

async function main(argv: string[]): Promise<number> {
  let time = 60,
    seed: number | undefined,
    strict = false,
    coverage = true,
    replay = false,
    target = "";
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--time") time = Number(argv[++i]);
    else if (a === "--seed") seed = Number(argv[++i]);
    else if (a === "--strict") strict = true;
    else if (a === "--no-coverage") coverage = false;
    else if (a === "--replay") replay = true;
    else if (a === "--target") target = argv[++i];
    else if (a === "--help" || a === "-h") {
      process.stdout.write(
        `usage: npm run fuzz -- [--time SECONDS] [--seed N] [--strict] [--no-coverage] [TARGET...]\n       npm run fuzz -- --replay --target NAME FILE...\ntargets: ${TARGETS.join(", ")}\n`,
      );
      return 0;
    } else names.push(a);
  }
  if (replay) {
    const files = names.flatMap((f) =>
      existsSync(f) && !f.endsWith(".bin")
        ? readdirSync(f)
            .filter((x) => x.endsWith(".bin"))
            .map((x) => join(f, x))
        : [f],
    );
    let bad = 0;
    for (const o of await replayFiles(target, files, strict)) {
      process.stdout.write(`${o.ok ? "ok  " : "FAIL"} ${o.file}${o.ok ? "" : ` (${o.kind}): ${o.message?.split("\n")[0]}`}\n`);
      if (!o.ok) bad++;
    }
    return bad ? 1 : 0;
  }
  if (!(time > 0)) throw new Error("--time takes seconds > 0");
  let crashes = 0;
  for (const name of names.length ? names : TARGETS) {
    const r = await fuzzTarget(name, { timeMs: time * 1000, seed, strict, coverage });
    process.stdout.write(report(r) + "\n");
    if (r.crash) crashes++;
  }
  return crashes ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      process.stderr.write(`fuzz: ${(e as Error).message}\n`);
      process.exitCode = 2;
    },
  );
}
