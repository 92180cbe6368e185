// The shared fuzz harness: a target's interface, and the supervisor that runs
// a target in a worker thread and watches it.
//
// A target runs in its own worker (worker.ts) with a heap limit. Before each
// input the worker copies the input's bytes and the time into shared memory;
// the supervisor polls it, so an input that runs past the per-input time
// limit (a hang, even a synchronous endless loop) is found: the worker is
// terminated and that input is saved. A worker that dies of its heap limit
// saves the input it was running too. An exception other than the target's
// documented error type is shrunk by fast-check and saved with its seed.
// Crashes go to test/fuzz/crashes/<target>/ (KIND-HASH.bin + .json).

import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type fc from "fast-check";

/** the source tree's test/fuzz (this file runs from dist/test/fuzz) */
export const FUZZ_DIR = resolve(__dirname, "..", "..", "..", "test", "fuzz");
export const CRASH_DIR = join(FUZZ_DIR, "crashes");
export const REGRESSION_DIR = join(FUZZ_DIR, "regressions");
export const TARGETS = ["pcap", "pcapng", "packet", "dns", "dnstcp", "http", "rules", "config", "spool", "webhook"] as const;
export type TargetName = (typeof TARGETS)[number];

export interface Target<T> {
  name: TargetName;
  /** what must hold for every input */
  property: string;
  /** compiled modules whose coverage is reported (paths under dist/, e.g. "engine/capture/pcap.js") */
  modules: string[];
  /** per-input time limit (default 2000 ms) */
  timeLimitMs?: number;
  /** bound on the worker's heap after a batch of inputs, after a GC (default 192 MiB) */
  heapBoundMb?: number;
  setup?(): Promise<void> | void;
  teardown?(): Promise<void> | void;
  arbitrary(strict: boolean): fc.Arbitrary<T>;
  encode(x: T): Buffer;
  decode(b: Buffer): T;
  /**
   * Run one input; throw to fail it. `strict` adds the checks that issue 14's
   * open defects fail (see each target), which are off in CI until fixed.
   */
  run(x: T, strict: boolean): void | Promise<void>;
}

export async function loadTarget(name: string): Promise<Target<unknown>> {
  if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`unknown fuzz target "${name}" (targets: ${TARGETS.join(", ")})`);
  const m = (await import(`./targets/${name}`)) as { target: Target<unknown> };
  return m.target;
}

export interface Coverage {
  lines: [number, number];
  blocks: [number, number];
  functions: [number, number];
  modules: number;
}

export interface Crash {
  kind: "exception" | "hang" | "memory" | "exit";
  message: string;
  file?: string;
  seed: number;
  path?: string;
}

export interface FuzzResult {
  target: string;
  seed: number;
  execs: number;
  ms: number;
  coverage?: Coverage;
  crash?: Crash;
}

export interface FuzzOptions {
  timeMs: number;
  seed?: number;
  strict?: boolean;
  coverage?: boolean;
  /** override the target's per-input limit */
  inputLimitMs?: number;
  /** where crashes go (default test/fuzz/crashes) */
  crashDir?: string;
  /** save crashes at all (default true) */
  save?: boolean;
}

export interface ReplayOutcome {
  file: string;
  ok: boolean;
  kind?: Crash["kind"];
  message?: string;
}

const SHARED_INPUT_BYTES = 8 << 20;
/** Int32 slots of the shared state */
export const S_RUNNING = 0,
  S_LEN = 1,
  S_INDEX = 2;
export const STATE_BYTES = 64;

export function newShared(): { state: SharedArrayBuffer; input: SharedArrayBuffer } {
  return { state: new SharedArrayBuffer(STATE_BYTES), input: new SharedArrayBuffer(SHARED_INPUT_BYTES) };
}

export function saveCrash(dir: string, target: string, kind: Crash["kind"], input: Buffer, meta: Record<string, unknown>): string {
  const d = join(dir, target);
  mkdirSync(d, { recursive: true });
  const hash = createHash("sha1").update(input).digest("hex").slice(0, 12);
  const file = join(d, `${kind}-${hash}.bin`);
  writeFileSync(file, input);
  writeFileSync(file.replace(/\.bin$/, ".json"), JSON.stringify({ target, kind, ...meta }, null, 2) + "\n");
  return file;
}

interface WorkerJob {
  mode: "fuzz" | "replay";
  target: string;
  seed: number;
  timeMs: number;
  strict: boolean;
  coverage: boolean;
  files?: string[];
  state: SharedArrayBuffer;
  input: SharedArrayBuffer;
}

/**
 * Run a worker job and watch it: per-input time limit, heap limit, early exit.
 * Resolves with the worker's message, or a crash the supervisor saw.
 */
function supervise(
  job: WorkerJob,
  limitMs: number,
  heapMb: number,
): Promise<{ msg?: Record<string, unknown>; crash?: { kind: Crash["kind"]; message: string; input: Buffer; index: number } }> {
  return new Promise((resolvePromise) => {
    const worker = new Worker(join(__dirname, "worker.js"), {
      workerData: job,
      // a hard cap well past the soft bound: an explosion kills the worker, not netsig's tests
      resourceLimits: { maxOldGenerationSizeMb: Math.max(512, heapMb * 3), maxYoungGenerationSizeMb: 64 },
      stdout: true,
      stderr: false,
    });
    worker.stdout.resume(); // a target's own console output is not the report
    const state = new Int32Array(job.state);
    const times = new Float64Array(job.state, 32, 1);
    let done = false;
    const current = (): { input: Buffer; index: number } => {
      const len = Math.min(Atomics.load(state, S_LEN), SHARED_INPUT_BYTES);
      return { input: Buffer.from(new Uint8Array(job.input, 0, len)), index: Atomics.load(state, S_INDEX) };
    };
    const finish = (r: Parameters<typeof resolvePromise>[0]) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolvePromise(r);
    };
    const timer = setInterval(() => {
      if (Atomics.load(state, S_RUNNING) === 1 && Date.now() - times[0] > limitMs) {
        const c = current();
        void worker.terminate();
        finish({ crash: { kind: "hang", message: `an input ran past the per-input limit of ${limitMs} ms`, ...c } });
      }
    }, 25);
    worker.on("message", (msg: Record<string, unknown>) => {
      if (msg.type === "done") {
        finish({ msg });
        void worker.terminate();
      }
    });
    worker.on("error", (e: Error & { code?: string }) => {
      const c = current();
      const oom = e.code === "ERR_WORKER_OUT_OF_MEMORY";
      finish({
        crash: {
          kind: oom ? "memory" : "exception",
          message: oom ? `the worker ran out of its heap limit: ${e.message}` : `uncaught in the worker: ${e.stack ?? e.message}`,
          ...c,
        },
      });
    });
    worker.on("exit", (code) => {
      if (!done) {
        const c = current();
        finish({ crash: { kind: "exit", message: `the worker exited (code ${code}) before it finished`, ...c } });
      }
    });
  });
}

/** fuzz one target for opts.timeMs; a crash is shrunk (exceptions) and saved */
export async function fuzzTarget(name: string, opts: FuzzOptions): Promise<FuzzResult> {
  const t = await loadTarget(name);
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const { state, input } = newShared();
  const limit = opts.inputLimitMs ?? t.timeLimitMs ?? 2000;
  const heap = t.heapBoundMb ?? 192;
  const started = Date.now();
  const r = await supervise(
    { mode: "fuzz", target: name, seed, timeMs: opts.timeMs, strict: !!opts.strict, coverage: opts.coverage !== false, state, input },
    limit,
    heap,
  );
  const dir = opts.crashDir ?? CRASH_DIR;
  const res: FuzzResult = { target: name, seed, execs: 0, ms: Date.now() - started };
  if (r.crash) {
    const c = r.crash;
    res.execs = c.index;
    res.crash = { kind: c.kind, message: c.message, seed };
    if (opts.save !== false)
      res.crash.file = saveCrash(dir, name, c.kind, c.input, { seed, index: c.index, strict: !!opts.strict, message: c.message });
    return res;
  }
  const m = r.msg!;
  res.execs = m.execs as number;
  res.ms = m.ms as number;
  if (m.coverage) res.coverage = m.coverage as Coverage;
  if (m.failure) {
    const f = m.failure as { message: string; input: Uint8Array; path: string; kind: Crash["kind"] };
    res.crash = { kind: f.kind, message: f.message, seed, path: f.path };
    if (opts.save !== false)
      res.crash.file = saveCrash(dir, name, f.kind, Buffer.from(f.input), {
        seed,
        path: f.path,
        strict: !!opts.strict,
        message: f.message,
      });
  }
  return res;
}

/** run saved inputs through their target, one worker per input (a hang or OOM is that input's outcome) */
export async function replayFiles(name: string, files: string[], strict: boolean): Promise<ReplayOutcome[]> {
  const t = await loadTarget(name);
  const out: ReplayOutcome[] = [];
  for (const file of files) {
    const { state, input } = newShared();
    const r = await supervise(
      { mode: "replay", target: name, seed: 0, timeMs: 0, strict, coverage: false, files: [file], state, input },
      t.timeLimitMs ?? 2000,
      t.heapBoundMb ?? 192,
    );
    if (r.crash) {
      out.push({ file, ok: false, kind: r.crash.kind, message: r.crash.message });
      continue;
    }
    const res = (r.msg!.results as ReplayOutcome[])[0];
    out.push(res);
  }
  return out;
}
