// Hot reload of rule folders: as sandbox/watch.ts does for signatures, but a
// change to any rule file recompiles all of them (a list or macro one file
// defines may be used by the rules of another), and each rule is then
// loaded, replaced or unloaded by its key (file#id) when its compiled module
// changed. A file that is no longer valid YAML keeps its rules running; a
// rule that no longer compiles keeps its previous version. Problems are
// reported once, when they appear.

import { watch, type FSWatcher } from "node:fs";
import { resolve } from "node:path";
import type { SignatureEngine } from "../sandbox/host";
import { formatProblem, type LoadProblem } from "../sandbox/loader";
import { listRuleFiles, readRuleFiles, unitSource } from "./load";
import { compileRuleFiles } from "./compile";

export interface RuleWatchOptions {
  settleMs?: number;
  pollMs?: number;
  log?: (line: string, level?: "info" | "warn") => void;
}

export class RuleWatcher {
  private texts: Map<string, string>;
  /** unit key -> the module loaded */
  private readonly loaded = new Map<string, string>();
  private reported: Set<string>;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly dirs: string[];
  private readonly settleMs: number;
  private readonly log: (line: string, level?: "info" | "warn") => void;

  constructor(dirs: string[], private readonly engine: SignatureEngine,
    start: { texts: Map<string, string>; units: { key: string; code: string }[]; problems: LoadProblem[] }, opts: RuleWatchOptions = {}) {
    this.dirs = dirs.map((d) => resolve(d));
    this.settleMs = opts.settleMs ?? 100;
    this.log = opts.log ?? ((l) => process.stderr.write(l + "\n"));
    this.texts = new Map(start.texts);
    for (const u of start.units) this.loaded.set(u.key, u.code);
    this.reported = new Set(start.problems.map(formatProblem));
    let polled = false;
    for (const d of this.dirs) {
      try {
        const w = watch(d, { persistent: false, recursive: true }, () => this.changed());
        w.on("error", () => { w.close(); this.poll(opts.pollMs ?? 500); });
        this.watchers.push(w);
      } catch {
        polled = true;
      }
    }
    if (polled) this.poll(opts.pollMs ?? 500);
    this.changed();
  }

  private poll(ms: number): void {
    if (this.closed || this.poller) return;
    this.log(`netsig: cannot watch the rules folders for changes; checking them every ${ms} ms`, "warn");
    this.poller = setInterval(() => this.changed(), ms);
    this.poller.unref();
  }

  /** read the folders again now (SIGHUP) */
  rescan(): void {
    this.changed();
  }

  private changed(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.busy = this.busy.then(() => this.sync()).catch((e: unknown) => {
        this.log(`netsig: could not apply a change to the rules: ${(e as Error)?.message ?? e}`, "warn");
      });
    }, this.settleMs);
  }

  private async sync(): Promise<void> {
    if (this.closed) return;
    const listed = listRuleFiles(this.dirs);
    const read = readRuleFiles(listed.files);
    const texts = new Map(read.files.map((f) => [f.file, f.text]));
    if (texts.size === this.texts.size && [...texts].every(([f, t]) => this.texts.get(f) === t)) return;
    this.texts = texts;
    const result = compileRuleFiles(read.files);
    const problems = [...listed.problems, ...read.problems, ...result.problems];
    const now = new Set(problems.map(formatProblem));
    for (const p of problems) if (!this.reported.has(formatProblem(p))) await this.engine.load(p);
    this.reported = now;
    const keys = new Set<string>();
    for (const u of result.units) {
      keys.add(u.key);
      if (this.loaded.get(u.key) === u.code) continue;
      this.loaded.set(u.key, u.code);
      await this.engine.load(unitSource(u, texts.get(u.file) ?? ""));
    }
    for (const key of [...this.loaded.keys()]) {
      if (keys.has(key)) continue;
      const file = key.slice(0, key.lastIndexOf("#"));
      // a broken file or rule keeps its running version; a deleted one goes
      if (texts.has(file) && (result.brokenFiles.has(file) || result.failedKeys.has(key))) continue;
      this.loaded.delete(key);
      await this.engine.unload(key);
    }
  }

  /** wait for changes being applied */
  settled(): Promise<void> {
    return this.busy;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
  }
}
