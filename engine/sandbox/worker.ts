// A sandbox worker thread: holds no capture handle and no secret, runs one
// vm2 VM (no require, no process, no eval, no async, no wasm) with the realm
// (realm.ts + the event builder + netsig/helpers, bundled) and the signatures
// it was given. Every call into the VM goes through vm.run with a timeout, so
// a signature that loops forever is stopped, reported and quarantined while
// the others keep their state. Memory is bounded by the worker's
// resourceLimits; a worker that dies anyway is replaced by the host
// (sandbox/backend.ts), which reads here, in shared memory, which signature was
// running.

import { randomBytes } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { VM, VMScript } from "vm2";
import { withLocalGlobals } from "./globals";

/** `rule`: a module the rule compiler wrote (engine/rules/compile.ts), not user code */
export interface WorkerSignature {
  index: number;
  file: string;
  code: string;
  rule?: boolean;
}

export interface WorkerInit {
  /** the realm's scripts, run in this order (bundle.ts) */
  bundle: string[];
  hostName: string;
  timeoutMs: number;
  /** Int32Array over a SharedArrayBuffer: [0] = the signature running now (-1 none), [1] = a heartbeat */
  progress: SharedArrayBuffer;
}

export type ToWorker =
  // the signatures to start with (sent once, after init: the VM is built while netsig transpiles them); answered by "ready"
  | { type: "load"; id: number; signatures: WorkerSignature[] }
  | { type: "batch"; id: number; data: string; packets?: number }
  | { type: "signal"; id: number; data: string }
  | { type: "add"; id: number; sig: WorkerSignature }
  | { type: "remove"; id: number; index: number; close: boolean }
  | { type: "close"; id: number };

export type FromWorker =
  | { type: "ready"; loaded: string[] }
  | { type: "result"; id: number; result: string; hung: number[]; ms?: number }
  | { type: "added"; id: number; loaded: string }
  | { type: "fatal"; message: string };

function main(): void {
  const init = workerData as WorkerInit;
  const progress = new Int32Array(init.progress);
  // the realm answers only to this key (realm-entry.ts): it appears in the
  // scripts below, never in the global signatures can read
  const key = randomBytes(16).toString("hex");
  const R = `__netsig(${JSON.stringify(key)})`;
  const vm = new VM({
    // (bufferAllocLimit is a vm2 3.12 option its typings do not list yet)
    ...({ bufferAllocLimit: 1 << 20 } as object),
    timeout: init.timeoutMs,
    allowAsync: false,
    eval: false,
    wasm: false,
    sandbox: {
      __hostName: init.hostName,
      __key: key,
      __mark: (i: number) => {
        Atomics.store(progress, 0, i);
        Atomics.add(progress, 1, 1);
      },
    },
  });
  // (the realm's scripts: realm/guard.ts, then the rest: bundle.ts)
  init.bundle.forEach((code, i) => {
    vm.run(code, i === init.bundle.length - 1 ? "netsig-realm.js" : "netsig-realm-guard.js");
  });

  const batchScript = new VMScript(`${R}.batch(__in)`, "netsig-batch.js");
  const resumeScript = new VMScript(`${R}.resume()`, "netsig-resume.js");
  const signalScript = new VMScript(`${R}.signal(__in)`, "netsig-signal.js");
  const closeScript = new VMScript(`${R}.closeAll()`, "netsig-close.js");

  const isTimeout = (e: unknown) => /timed out/i.test(String((e as Error)?.message));

  /** run a script; when a signature hangs, stop it, skip it and carry on */
  const runGuarded = (script: VMScript, hung: number[]): string => {
    let out: string;
    try {
      out = vm.run(script) as string;
    } catch (e) {
      if (!isTimeout(e)) throw e;
      const sig = vm.run(`${R}.running()`) as number;
      hung.push(sig);
      vm.run(`${R}.skipCurrent()`);
      // the rest of the batch, for the other signatures
      out = runGuarded(resumeScript, hung);
    }
    return typeof out === "string" ? out : "{}";
  };

  const register = (s: WorkerSignature): string => {
    // the module wrapper keeps the code on its own lines, so stack lines are the file's
    // (and sees the common globals as locals, as the realm does: bundle.ts)
    const script = new VMScript(
      `${R}.register(${s.index}, ${JSON.stringify(s.file)}, function (module, exports, require) {${withLocalGlobals(s.code)}\n}, ${s.rule === true})`,
      s.file,
    );
    try {
      return vm.run(script) as string;
    } catch (e) {
      return JSON.stringify({
        ok: false,
        message: isTimeout(e) ? "loading the file took too long (endless loop at load time?)" : String((e as Error)?.message),
        stack: String((e as Error)?.stack ?? ""),
      });
    }
  };

  parentPort!.on("message", (m: ToWorker) => {
    Atomics.add(progress, 1, 1);
    try {
      switch (m.type) {
        case "load":
          // (the realm froze its intrinsics before any signature code runs)
          parentPort!.postMessage({ type: "ready", loaded: m.signatures.map(register) } satisfies FromWorker);
          break;
        case "batch":
        case "signal": {
          vm.setGlobal("__in", m.data);
          const hung: number[] = [];
          // a batch has the time budget of a call per 1024 packets (vm2's timeout covers a whole run)
          if (m.type === "batch") vm.timeout = init.timeoutMs * Math.max(1, Math.ceil((m.packets ?? 1024) / 1024));
          const t0 = performance.now();
          let result: string;
          try {
            result = runGuarded(m.type === "batch" ? batchScript : signalScript, hung);
          } finally {
            vm.timeout = init.timeoutMs;
          }
          const ms = performance.now() - t0;
          vm.setGlobal("__in", "");
          parentPort!.postMessage({ type: "result", id: m.id, result, hung, ms } satisfies FromWorker);
          break;
        }
        case "add":
          parentPort!.postMessage({ type: "added", id: m.id, loaded: register(m.sig) } satisfies FromWorker);
          break;
        case "remove": {
          const hung: number[] = [];
          const result = runGuarded(new VMScript(`${R}.unregister(${m.index}, ${m.close})`, "netsig-remove.js"), hung);
          parentPort!.postMessage({ type: "result", id: m.id, result, hung } satisfies FromWorker);
          break;
        }
        case "close": {
          const hung: number[] = [];
          const result = runGuarded(closeScript, hung);
          parentPort!.postMessage({ type: "result", id: m.id, result, hung } satisfies FromWorker);
          break;
        }
      }
    } catch (e) {
      parentPort!.postMessage({ type: "fatal", message: String((e as Error)?.message ?? e) } satisfies FromWorker);
    }
  });
}

main();
