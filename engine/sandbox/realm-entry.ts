// Entry point of the sandbox bundle (see bundle.ts): makes the realm the
// global `__netsig` of the VM. `__hostName` and `__mark` are given by the
// worker; `__netsig_freeze()` is called once the signatures are loaded.

import { freezeIntrinsics, Realm } from "./realm";

declare const __hostName: string;
declare const __mark: (sig: number) => void;

const g = globalThis as unknown as Record<string, unknown>;
const realm = new Realm(__hostName, (i) => __mark(i));
Object.defineProperty(g, "__netsig", { value: realm, writable: false, configurable: false, enumerable: false });
Object.defineProperty(g, "__netsig_freeze", {
  value: () => freezeIntrinsics(g),
  writable: false, configurable: false, enumerable: false,
});
