// The units the signature engine runs (signatures and rules), whichever
// backend runs them: what loaded and what did not (problems), their state
// (active, disabled, quarantined), and the event types the active ones
// selected, per backend (masks), which route the packets.

import { formatProblem, lineOf, type LoadProblem, type SignatureSource } from "../types/sources";
import { mapStack } from "../sandbox/sourcemap";
import type { Registration } from "../types/backend";
import type { LoadedSignature } from "../types/findings";
import type { RealmResult } from "../types/results";

export interface UnitsOptions {
  log: (line: string, level?: "debug" | "info" | "warn" | "error") => void;
}

/** what the units need of the engine */
export interface UnitsHost {
  /** take a unit out of its backend (close: its close() is called) */
  remove(s: LoadedSignature, close: boolean): Promise<void>;
  /** what a unit's init() produced */
  collect(r: RealmResult): void;
  /** why the sandbox cannot run (null: it can) */
  failed(): string | null;
}

export class Units {
  readonly signatures = new Map<number, LoadedSignature>();
  readonly problems: LoadProblem[] = [];
  /** [every active unit's events, the in-process rules', the sandbox's] (null: count again: the set or a state changed) */
  masks: [number, number, number] | null = null;
  private nextIndex = 0;

  constructor(
    private readonly opts: UnitsOptions,
    private readonly host: UnitsHost,
  ) {}

  unit(s: SignatureSource): LoadedSignature {
    const host = s.kind === "rule" && s.ir !== undefined && s.sandboxReason === "";
    if (s.kind === "rule" && !host && s.sandboxReason)
      this.opts.log(`netsig: rule ${s.key ?? s.file} runs in the signature sandbox: ${s.sandboxReason}`, "info");
    return {
      index: this.nextIndex++,
      file: s.file,
      meta: { id: "", version: "", name: "", description: "" },
      mask: 0,
      source: s,
      errors: [],
      state: "active",
      host,
    };
  }

  countMasks(): [number, number, number] {
    let all = 0;
    let rules = 0;
    let sandbox = 0;
    for (const s of this.signatures.values()) {
      if (s.state !== "active") continue;
      all |= s.mask;
      if (s.host) rules |= s.mask;
      else sandbox |= s.mask;
    }
    return (this.masks = [all, rules, sandbox]);
  }

  problem(p: LoadProblem): void {
    this.problems.push(p);
    const what = p.kind === "rule" ? "rule" : "signature";
    this.opts.log(
      p.keeps
        ? `netsig: ${what} not reloaded: ${formatProblem(p)}; the previous version keeps running (${p.keeps})`
        : `netsig: ${what} skipped: ${formatProblem(p)}`,
      "warn",
    );
  }

  /** what a loaded unit is called in messages */
  what(s: LoadedSignature): string {
    return s.source.kind === "rule" ? "rule" : "signature";
  }

  /** the active signature loaded from this file (or, for rules, this file#id key) */
  byFile(key: string): LoadedSignature | undefined {
    for (const s of this.signatures.values()) if ((s.source.key ?? s.file) === key && s.state === "active") return s;
    return undefined;
  }

  /** record a unit its backend registered (or report why not); `replacing` is the index it takes over from */
  registered(s: LoadedSignature, r: Registration | null, replacing?: number): boolean {
    if (r === null) {
      this.problem({
        file: s.file,
        line: 1,
        column: 1,
        message: `not loaded: ${this.host.failed() ?? "the sandbox is not running"}`,
        kind: s.source.kind,
      });
      return false;
    }
    // (a reload that fails: the version it was to replace keeps running)
    const old = replacing === undefined ? undefined : this.signatures.get(replacing);
    const keeps = old ? { keeps: old.meta.id } : {};
    if (!r.ok) {
      const at = mapStack(s.source, r.stack ?? "");
      this.problem({
        file: s.file,
        line: at?.line ?? s.source.line ?? lineOf(s.source.text),
        column: at?.column ?? 1,
        message: r.message ?? "failed to load",
        kind: s.source.kind,
        ...keeps,
      });
      return false;
    }
    const dup = [...this.signatures.values()].find((o) => o.meta.id === r.meta!.id && o.state !== "quarantined" && o.index !== replacing);
    if (dup) {
      this.problem({
        file: s.file,
        line: s.source.line ?? lineOf(s.source.text, "getMetadata"),
        column: 1,
        message: `duplicate ${this.what(s)} id "${r.meta!.id}" (already loaded from ${dup.file})`,
        kind: s.source.kind,
        ...keeps,
      });
      void this.host.remove(s, true);
      return false;
    }
    s.meta = r.meta!;
    s.mask = r.mask!;
    this.signatures.set(s.index, s);
    this.masks = null;
    // what init() logged or reported
    if (r.out) this.host.collect(r.out);
    return true;
  }

  /** a unit that hung or stopped the sandbox: it runs no more (what the sandbox still holds of it is removed) */
  quarantine(index: number, why: string): void {
    const s = this.signatures.get(index);
    if (!s || s.state === "quarantined") return;
    s.state = "quarantined";
    this.masks = null;
    this.opts.log(`netsig: signature ${s.meta.id || "?"} (${s.file}) quarantined: it ${why}; the others keep running`, "warn");
    // (a sandbox that stopped has nothing to remove: answered at once)
    void this.host.remove(s, false);
  }

  /** the sandbox's active units, taken out (it restarts: they are loaded again) */
  takeSandboxed(): LoadedSignature[] {
    // (the rules that run in-process are not the sandbox's)
    const active = [...this.signatures.values()].filter((s) => s.state === "active" && !s.host);
    for (const s of active) this.signatures.delete(s.index);
    this.masks = null;
    return active;
  }

  /** a unit that is no longer loaded */
  forget(s: LoadedSignature): void {
    this.signatures.delete(s.index);
    this.masks = null;
  }
}
