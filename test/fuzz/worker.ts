// The worker side of the harness: runs one target's inputs (fast-check with a
// seed, or saved files), publishing each input to shared memory before it
// runs, checking the heap after each batch, and measuring coverage with V8's
// precise coverage (node:inspector) over the target's modules.

import { readFileSync } from "node:fs";
import { Session } from "node:inspector";
import { fileURLToPath } from "node:url";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import fc from "fast-check";
import { loadTarget, S_INDEX, S_LEN, S_RUNNING, type Coverage, type ReplayOutcome, type Target } from "./harness";

const job = workerData as {
  mode: "fuzz" | "replay";
  target: string;
  seed: number;
  timeMs: number;
  strict: boolean;
  coverage: boolean;
  files?: string[];
  state: SharedArrayBuffer;
  input: SharedArrayBuffer;
};
const state = new Int32Array(job.state);
const times = new Float64Array(job.state, 32, 1);
const inputBytes = new Uint8Array(job.input);
let index = 0;

/** errors thrown outside the target's call (a timer, a socket, a rejected promise nobody awaited) */
const stray: Error[] = [];
process.on("uncaughtException", (e) => stray.push(e instanceof Error ? e : new Error(String(e))));
process.on("unhandledRejection", (e) => stray.push(e instanceof Error ? e : new Error(`unhandled rejection: ${String(e)}`)));

function publish(b: Buffer): void {
  const n = Math.min(b.length, inputBytes.length);
  inputBytes.set(b.subarray(0, n));
  Atomics.store(state, S_LEN, n);
  Atomics.store(state, S_INDEX, index);
  times[0] = Date.now();
  Atomics.store(state, S_RUNNING, 1);
}
const idle = () => Atomics.store(state, S_RUNNING, 0);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

class MemoryBound extends Error {}

async function main(): Promise<void> {
  let session: Session | null = null;
  const post = (method: string, params?: object) =>
    new Promise<any>((res, rej) => session!.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
  if (job.coverage) {
    session = new Session();
    session.connect();
    await post("Profiler.enable");
    await post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  }
  const t = await loadTarget(job.target);
  await t.setup?.();
  if (job.mode === "replay") {
    const results: ReplayOutcome[] = [];
    for (const file of job.files ?? []) {
      const b = readFileSync(file);
      stray.length = 0;
      publish(b);
      try {
        await t.run(t.decode(b), job.strict);
        await new Promise((r) => setImmediate(r));
        if (stray.length) throw stray[0];
        results.push({ file, ok: true });
      } catch (e) {
        results.push({ file, ok: false, kind: "exception", message: String((e as Error)?.stack ?? e) });
      } finally {
        idle();
      }
    }
    await t.teardown?.();
    parentPort!.postMessage({ type: "done", results });
    return;
  }

  const bound = (t.heapBoundMb ?? 192) * 1024 * 1024;
  let memoryFailed = false;
  const checkHeap = () => {
    if (getHeapStatistics().used_heap_size <= bound) return;
    gc();
    const used = getHeapStatistics().used_heap_size;
    if (used > bound) {
      memoryFailed = true;
      throw new MemoryBound(`heap ${(used / 1048576).toFixed(0)} MiB after a GC, past the bound of ${bound / 1048576} MiB`);
    }
  };
  const one = async (x: unknown): Promise<void> => {
    if (memoryFailed) return; // (shrinking: the first input past the bound is the one kept)
    stray.length = 0;
    publish(t.encode(x));
    try {
      await t.run(x, job.strict);
      if (stray.length) throw stray[0];
      if (++index % 64 === 0) checkHeap();
    } finally {
      idle();
    }
  };
  const started = Date.now();
  const arb = t.arbitrary(job.strict);
  const details = await fc.check(fc.asyncProperty(arb, one), {
    seed: job.seed,
    numRuns: 2 ** 31 - 1,
    interruptAfterTimeLimit: job.timeMs,
    markInterruptAsFailure: false,
  });
  const ms = Date.now() - started;
  let failure: Record<string, unknown> | undefined;
  if (details.failed && details.counterexample) {
    const x = details.counterexample[0];
    const err = details.errorInstance as Error | undefined;
    failure = {
      kind: memoryFailed ? "memory" : "exception",
      message: String(err?.stack ?? err ?? "failed"),
      input: new Uint8Array(t.encode(x)),
      path: details.counterexamplePath ?? "",
    };
  }
  idle();
  let coverage: Coverage | undefined;
  if (session) {
    const r = await post("Profiler.takePreciseCoverage");
    coverage = summarize(t, r.result);
    session.disconnect();
  }
  await t.teardown?.();
  parentPort!.postMessage({ type: "done", execs: index, ms, coverage, failure });
}

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FnCov {
  functionName: string;
  ranges: Range[];
  isBlockCoverage: boolean;
}

/** lines, blocks (V8's block ranges: each branch arm, loop body, ...) and functions of the target's modules */
function summarize(t: Target<unknown>, scripts: { url: string; functions: FnCov[] }[]): Coverage {
  const c: Coverage = { lines: [0, 0], blocks: [0, 0], functions: [0, 0], modules: 0 };
  for (const s of scripts) {
    if (!s.url.startsWith("file://")) continue;
    const path = fileURLToPath(s.url);
    if (!t.modules.some((m) => path.endsWith("/dist/" + m))) continue;
    c.modules++;
    const src = readFileSync(path, "utf8");
    const count = new Int32Array(src.length).fill(-1);
    const all: Range[] = [];
    for (const f of s.functions) {
      all.push(...f.ranges);
      c.functions[1]++;
      if (f.ranges[0].count > 0) c.functions[0]++;
      for (const r of f.ranges.slice(1)) {
        c.blocks[1]++;
        if (r.count > 0) c.blocks[0]++;
      }
    }
    all.sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
    for (const r of all) count.fill(r.count, r.startOffset, Math.min(src.length, r.endOffset));
    let off = 0;
    for (const line of src.split("\n")) {
      const m = /\S/.exec(line);
      const code = m && !/^\s*(\/\/|\/\*|\*|[{}()[\];,]+\s*$)/.test(line);
      if (code) {
        c.lines[1]++;
        if (count[off + m.index] > 0) c.lines[0]++;
      }
      off += line.length + 1;
    }
  }
  return c;
}

main().catch((e) => {
  idle();
  parentPort!.postMessage({
    type: "done",
    execs: index,
    ms: 0,
    failure: { kind: "exception", message: `harness: ${String((e as Error)?.stack ?? e)}`, input: new Uint8Array(0), path: "" },
  });
});
