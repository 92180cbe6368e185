// Hot reload of rule folders: as sandbox/watch.ts does for signatures, but a
// change to any rule file recompiles all of them (a list or macro one file
// defines may be used by the rules of another), and each rule is then
// loaded, replaced or unloaded by its key (file#id) when its compiled module
// changed. A file that is no longer valid YAML keeps its rules running; a
// rule that no longer compiles keeps its previous version. Problems are
// reported once, when they appear.

import { readdirSync, statSync, watch, type FSWatcher, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import type { SignatureEngine } from "./engine";
import { formatProblem, type LoadProblem } from "../types/sources";
import { listRuleFiles, readRuleFiles, unitSource } from "../rules/compile/load";
import { compileRuleFiles } from "../rules/compile/compile";

export interface RuleWatchOptions {
  settleMs?: number;
  pollMs?: number;
  log?: (line: string, level?: "info" | "warn") => void;
}

export class RuleWatcher {
  private texts: Map<string, string>;
  /** unit key -> the module loaded */
  private readonly loaded = new Map<string, string>();
  /** unit key -> a module the engine would not load (not tried again) */
  private readonly failed = new Map<string, string>();
  private reported: Set<string>;
  /** folder -> its watch (and the folder's inode: a folder replaced is watched again) */
  private readonly watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
  private timer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly dirs: string[];
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly log: (line: string, level?: "info" | "warn") => void;

  constructor(
    dirs: string[],
    private readonly engine: SignatureEngine,
    start: { texts: Map<string, string>; units: { key: string; code: string }[]; problems: LoadProblem[] },
    opts: RuleWatchOptions = {},
  ) {
    this.dirs = dirs.map((d) => resolve(d));
    this.settleMs = opts.settleMs ?? 100;
    this.pollMs = opts.pollMs ?? 500;
    this.log = opts.log ?? ((l) => process.stderr.write(l + "\n"));
    this.texts = new Map(start.texts);
    for (const u of start.units) this.loaded.set(u.key, u.code);
    this.reported = new Set(start.problems.map(formatProblem));
    if (!this.watchTrees()) this.poll(this.pollMs);
    this.changed();
  }

  /**
   * Watch the rules folders and their subfolders, each on its own (not
   * recursive: Node 20's recursive fs.watch on Linux watches each file's
   * inode, and once a file was replaced — `sed -i`, an editor's save — its
   * later edits went unseen). A folder's watch reports what happens to the
   * files in it, whatever their inode. Called again on each change, for new,
   * deleted and replaced subfolders. False where a folder cannot be watched
   * (then they are polled).
   */
  private watchTrees(): boolean {
    let ok = true;
    const seen = new Set<string>();
    const walk = (dir: string, depth: number): void => {
      let st: Stats;
      try {
        st = statSync(dir);
      } catch {
        if (depth === 0) ok = false;
        return;
      }
      if (!st.isDirectory() || seen.has(dir)) return;
      seen.add(dir);
      const w = this.watchers.get(dir);
      if (!w || w.ino !== st.ino) {
        w?.watcher.close();
        try {
          const watcher = watch(dir, { persistent: false }, () => this.changed());
          watcher.on("error", () => {
            watcher.close();
            if (this.watchers.get(dir)?.watcher === watcher) this.watchers.delete(dir);
            this.changed();
          });
          this.watchers.set(dir, { watcher, ino: st.ino });
        } catch {
          this.watchers.delete(dir);
          ok = false;
          return;
        }
      }
      if (depth >= 8) return;
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const n of names) if (!n.startsWith(".")) walk(join(dir, n), depth + 1);
    };
    for (const d of this.dirs) walk(d, 0);
    for (const [dir, w] of this.watchers)
      if (!seen.has(dir)) {
        w.watcher.close();
        this.watchers.delete(dir);
      }
    return ok;
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
      this.busy = this.busy
        .then(() => this.sync())
        .catch((e: unknown) => {
          this.log(`netsig: could not apply a change to the rules: ${(e as Error)?.message ?? e}`, "warn");
        });
    }, this.settleMs);
  }

  private async sync(): Promise<void> {
    if (this.closed) return;
    if (!this.poller && !this.watchTrees()) this.poll(this.pollMs);
    const listed = listRuleFiles(this.dirs);
    const read = readRuleFiles(listed.files);
    const texts = new Map(read.files.map((f) => [f.file, f.text]));
    if (texts.size === this.texts.size && [...texts].every(([f, t]) => this.texts.get(f) === t)) return;
    const edited = [...texts.keys()].filter((f) => this.texts.get(f) !== texts.get(f));
    this.texts = texts;
    const result = compileRuleFiles(read.files);
    const problems = [...listed.problems, ...read.problems, ...result.problems];
    const now = new Set(problems.map(formatProblem));
    /** the ids of the loaded rules of a file */
    const running = (file: string): string[] =>
      [...this.loaded.keys()].filter((k) => k.slice(0, k.lastIndexOf("#")) === file).map((k) => k.slice(k.lastIndexOf("#") + 1));
    let said = false;
    for (const p of problems) {
      if (this.reported.has(formatProblem(p))) continue;
      // a broken file, or rule, keeps its running version: say so
      const keeps = result.brokenFiles.has(p.file)
        ? running(p.file)
        : p.key && this.loaded.has(p.key)
          ? [p.key.slice(p.key.lastIndexOf("#") + 1)]
          : [];
      await this.engine.load(keeps.length ? { ...p, keeps: keeps.join(", ") } : p);
      said = true;
    }
    this.reported = now;
    const keys = new Set<string>();
    for (const u of result.units) {
      keys.add(u.key);
      if ((this.loaded.get(u.key) ?? this.failed.get(u.key)) === u.code) continue;
      said = true;
      // (a version the engine refused is remembered as such, not as loaded:
      // the running one, if any, stays what is compared with next time)
      if (await this.engine.load(unitSource(u, texts.get(u.file) ?? ""))) {
        this.loaded.set(u.key, u.code);
        this.failed.delete(u.key);
      } else {
        this.failed.set(u.key, u.code);
      }
    }
    for (const key of [...this.failed.keys()]) if (!keys.has(key)) this.failed.delete(key);
    for (const key of [...this.loaded.keys()]) {
      if (keys.has(key)) continue;
      const file = key.slice(0, key.lastIndexOf("#"));
      // a broken file or rule keeps its running version; a deleted one goes
      if (texts.has(file) && (result.brokenFiles.has(file) || result.failedKeys.has(key))) continue;
      this.loaded.delete(key);
      await this.engine.unload(key);
      said = true;
    }
    // an edit that changed no rule (a comment, or a fix back to what runs) is said too
    if (!said) {
      for (const f of edited) {
        const n = running(f).length;
        this.log(`netsig: rules: ${f} changed: no rule changed${n ? ` (${n} running)` : ""}`, "info");
      }
    }
  }

  /** wait for changes being applied */
  settled(): Promise<void> {
    return this.busy;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.watcher.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
  }
}
