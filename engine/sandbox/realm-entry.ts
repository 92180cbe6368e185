// Entry point of the sandbox bundle (see bundle.ts). `__hostName`, `__mark`
// and `__key` are given by the worker.
//
// Signatures run in the same global as this realm, so nothing here may be
// reachable from a signature by name: a signature holding the realm could
// disable the others, drop their findings, or point `running` at another one
// so that the host quarantines it when the hostile one hangs (all three were
// done by test/escapes.test.ts before this was closed). So:
//  - the worker's hooks are taken into this closure and deleted from the global;
//  - the realm is reachable only through `__netsig(key)`, the key being a random
//    string the worker writes into its own scripts and never into the global;
//  - the intrinsics and the global's bindings are frozen here, before any
//    signature code runs (a signature's module code or init() ran before the
//    freeze when it came after registration, and could pollute Array.prototype
//    for the others).

import { freezeIntrinsics, Realm } from "../realm/realm";
import { compileRules } from "../rules/run/runtime";

declare const __hostName: string;
declare const __mark: (sig: number) => void;
declare const __key: string;

const g = globalThis as unknown as Record<string, unknown>;
const hostName = __hostName;
const mark = __mark;
const key = __key;
delete g.__hostName;
delete g.__mark;
delete g.__key;
// (realm/guard.ts's functions, taken by the bundle's first lines: bundle.ts)
delete g.__netsigGuard;
const realm = new Realm(hostName, (i) => mark(i), Object.freeze({ compileRules }));
Object.defineProperty(g, "__netsig", {
  value: (k: unknown): Realm => {
    if (k !== key) throw new Error("not available to signatures");
    return realm;
  },
  writable: false,
  configurable: false,
  enumerable: false,
});
freezeIntrinsics(g);

// (a module, so that esbuild bundles it without a CommonJS wrapper, whose try/catch vm2 would rewrite: bundle.ts)
// biome-ignore lint/complexity/noUselessEmptyExport: deliberate, see the line above
export {};
