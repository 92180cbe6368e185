// A sandbox worker thread: holds no capture handle and no secret, runs one
// vm2 VM (no require, no process, no eval, no async, no wasm) with the realm
// (realm.ts + the event builder + netsig/helpers, bundled) and the signatures
// it was given. Every call into the VM goes through vm.run with a timeout, so
// a signature that loops forever is stopped, reported and quarantined while
// the others keep their state. Memory is bounded by the worker's
// resourceLimits; a worker that dies anyway is replaced by the host
// (sandbox/host.ts), which reads here, in shared memory, which signature was
// running.

import { parentPort, workerData } from "node:worker_threads";
import { VM, VMScript } from "vm2";

export interface WorkerSignature { index: number; file: string; code: string }

export interface WorkerInit {
  bundle: string;
  hostName: string;
  timeoutMs: number;
  /** Int32Array over a SharedArrayBuffer: [0] = the signature running now (-1 none) */
  progress: SharedArrayBuffer;
  signatures: WorkerSignature[];
}

export type ToWorker =
  | { type: "batch"; id: number; data: string }
  | { type: "signal"; id: number; data: string }
  | { type: "add"; id: number; sig: WorkerSignature }
  | { type: "remove"; id: number; index: number; close: boolean }
  | { type: "close"; id: number };

export type FromWorker =
  | { type: "ready"; loaded: string[] }
  | { type: "result"; id: number; result: string; hung: number[] }
  | { type: "added"; id: number; loaded: string }
  | { type: "fatal"; message: string };

function main(): void {
  const init = workerData as WorkerInit;
  const progress = new Int32Array(init.progress);
  const vm = new VM({
    // (bufferAllocLimit is a vm2 3.12 option its typings do not list yet)
    ...({ bufferAllocLimit: 1 << 20 } as object),
    timeout: init.timeoutMs,
    allowAsync: false,
    eval: false,
    wasm: false,
    sandbox: {
      __hostName: init.hostName,
      __mark: (i: number) => { Atomics.store(progress, 0, i); },
    },
  });
  vm.run(init.bundle, "netsig-realm.js");

  const batchScript = new VMScript("__netsig.batch(__in)", "netsig-batch.js");
  const resumeScript = new VMScript("__netsig.resume()", "netsig-resume.js");
  const signalScript = new VMScript("__netsig.signal(__in)", "netsig-signal.js");
  const closeScript = new VMScript("__netsig.closeAll()", "netsig-close.js");

  const isTimeout = (e: unknown) => /timed out/i.test(String((e as Error)?.message));

  /** run a script; when a signature hangs, stop it, skip it and carry on */
  const runGuarded = (script: VMScript, hung: number[]): string => {
    let out: string;
    try {
      out = vm.run(script) as string;
    } catch (e) {
      if (!isTimeout(e)) throw e;
      const sig = vm.run("__netsig.running()") as number;
      hung.push(sig);
      vm.run("__netsig.skipCurrent()");
      // the rest of the batch, for the other signatures
      out = runGuarded(resumeScript, hung);
    }
    return typeof out === "string" ? out : "{}";
  };

  const register = (s: WorkerSignature): string => {
    // the module wrapper keeps the code on its own lines, so stack lines are the file's
    const script = new VMScript(`__netsig.register(${s.index}, ${JSON.stringify(s.file)}, function (module, exports, require) {${s.code}\n})`, s.file);
    try {
      return vm.run(script) as string;
    } catch (e) {
      return JSON.stringify({ ok: false, message: isTimeout(e) ? "loading the file took too long (endless loop at load time?)" : String((e as Error)?.message), stack: String((e as Error)?.stack ?? "") });
    }
  };

  const loaded = init.signatures.map(register);
  // nothing else may change the realm's shared objects once signatures exist
  vm.run("__netsig_freeze()");
  parentPort!.postMessage({ type: "ready", loaded } satisfies FromWorker);

  parentPort!.on("message", (m: ToWorker) => {
    try {
      switch (m.type) {
        case "batch":
        case "signal": {
          vm.setGlobal("__in", m.data);
          const hung: number[] = [];
          const result = runGuarded(m.type === "batch" ? batchScript : signalScript, hung);
          vm.setGlobal("__in", "");
          parentPort!.postMessage({ type: "result", id: m.id, result, hung } satisfies FromWorker);
          break;
        }
        case "add":
          parentPort!.postMessage({ type: "added", id: m.id, loaded: register(m.sig) } satisfies FromWorker);
          break;
        case "remove": {
          const hung: number[] = [];
          const result = runGuarded(new VMScript(`__netsig.unregister(${m.index}, ${m.close})`, "netsig-remove.js"), hung);
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
