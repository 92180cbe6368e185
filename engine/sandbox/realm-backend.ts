// Unsandboxed mode (benchmarks, authoring): the sandbox's realm run in
// netsig's own process, as a backend of the signature engine
// (types/backend.ts). The same packed batches and the same answers as the
// sandbox process (backend.ts), without the process, the worker or vm2: a
// signature here can do anything netsig can.

import { Realm } from "../realm/realm";
import { compileRules } from "../rules/run/runtime";
import type { Packet } from "../decode/packet";
import { BatchPacker } from "../wire/compact";
import type { Backend, BackendEvents, Cut, Outcome, Registration } from "../types/backend";
import type { LoadedSignature } from "../types/findings";
import { outcome, registration } from "./backend";

/** a transpiled CommonJS module as a function (unsandboxed runs only) */
function moduleFunction(code: string): Parameters<Realm["register"]>[2] {
  return new Function("module", "exports", "require", code) as Parameters<Realm["register"]>[2];
}

export class RealmBackend implements Backend<Packet> {
  /** (in-process: it cannot fail apart, and every call is answered at once) */
  readonly failed = null;
  readonly inFlight = 0;
  private readonly realm: Realm;
  private readonly batch = new BatchPacker();

  constructor(
    hostName: string,
    private readonly on: BackendEvents,
  ) {
    this.realm = new Realm(hostName, undefined, Object.freeze({ compileRules }));
  }

  get held(): number {
    return this.batch.count;
  }

  async boot(units: LoadedSignature[]): Promise<(Registration | null)[]> {
    return units.map((u) => this.register(u));
  }

  register(u: LoadedSignature): Registration | null {
    return registration(this.realm.register(u.index, u.file, moduleFunction(u.source.code), u.source.kind === "rule"));
  }

  remove(unit: LoadedSignature, close: boolean): Promise<Outcome> {
    return Promise.resolve(outcome(this.realm.unregister(unit.index, close)));
  }

  add(p: Packet, seq: number): void {
    this.batch.add(p, seq);
  }

  take(): Cut | null {
    const packets = this.batch.count;
    if (packets === 0) return null;
    const data = this.batch.take();
    return {
      packets,
      send: () => {
        const t0 = performance.now();
        const out = this.realm.batch(data);
        this.on.batchTime((performance.now() - t0) / 1000);
        return Promise.resolve(outcome(out));
      },
    };
  }

  signal(signal: { type: string }): Promise<Outcome> {
    return Promise.resolve(outcome(this.realm.signal(JSON.stringify(signal))));
  }

  close(): Promise<Outcome> {
    return Promise.resolve(outcome(this.realm.closeAll()));
  }
}
