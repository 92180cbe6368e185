// Hot reload: watch the signature folders and load, replace or unload a
// signature when its file is added, changed or deleted, while events flow.
//
// fs.watch (inotify) says that something changed in a folder; the folder is
// then read again after a short quiet time (editors write a temporary file
// and rename it, or write in several steps) and compared with what is loaded
// by content, so a touched but unchanged file is left alone. Where fs.watch
// is not available (inotify watches exhausted, some network file systems) the
// folders are polled.

import { readFileSync, readdirSync, watch, type FSWatcher } from "node:fs";
import { join, resolve } from "node:path";
import type { SignatureEngine } from "./host";
import { isSignatureFile, transpileSignature } from "./loader";

export interface WatchOptions {
  /** quiet time after a change before the folder is read (ms) */
  settleMs?: number;
  /** polling period where fs.watch fails (ms) */
  pollMs?: number;
  log?: (line: string, level?: "info" | "warn") => void;
}

export class SignatureWatcher {
  /** file -> the text last seen (loaded, or reported as broken) */
  private readonly seen = new Map<string, string>();
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly pollers: NodeJS.Timeout[] = [];
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly dirs: string[];
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly log: (line: string, level?: "info" | "warn") => void;

  /** `loaded`: file -> the text the engine was started with */
  constructor(dirs: string[], private readonly engine: SignatureEngine, loaded: Map<string, string>, opts: WatchOptions = {}) {
    this.dirs = dirs.map((d) => resolve(d));
    this.settleMs = opts.settleMs ?? 100;
    this.pollMs = opts.pollMs ?? 500;
    this.log = opts.log ?? ((l) => process.stderr.write(l + "\n"));
    for (const [f, text] of loaded) this.seen.set(f, text);
    const polled: string[] = [];
    for (const d of this.dirs) {
      try {
        const w = watch(d, { persistent: false }, () => this.changed(d));
        w.on("error", () => { w.close(); this.poll(d); });
        this.watchers.push(w);
      } catch {
        polled.push(d);
      }
    }
    for (const d of polled) this.poll(d);
    // files changed between the engine's start and now
    for (const d of this.dirs) this.changed(d);
  }

  /** the signature files of a folder and their texts (unreadable ones are left out) */
  private read(dir: string): Map<string, string> {
    const files = new Map<string, string>();
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return files;
    }
    for (const n of names) {
      if (!isSignatureFile(n)) continue;
      const f = join(dir, n);
      try {
        files.set(f, readFileSync(f, "utf8"));
      } catch {
        /* deleted meanwhile, or a folder: left out */
      }
    }
    return files;
  }

  private poll(dir: string): void {
    if (this.closed) return;
    this.log(`netsig: cannot watch ${dir} for changes; checking it every ${this.pollMs} ms`, "warn");
    const timer = setInterval(() => this.changed(dir), this.pollMs);
    timer.unref();
    this.pollers.push(timer);
  }

  private changed(dir: string): void {
    if (this.closed) return;
    const t = this.timers.get(dir);
    if (t) clearTimeout(t);
    this.timers.set(dir, setTimeout(() => {
      this.timers.delete(dir);
      // (a failed change is reported and must not stop the ones after it)
      this.busy = this.busy.then(() => this.sync(dir)).catch((e: unknown) => {
        this.log(`netsig: could not apply a change in ${dir}: ${(e as Error)?.message ?? e}`, "warn");
      });
    }, this.settleMs));
  }

  /** compare a folder with what is loaded and bring the engine in line */
  private async sync(dir: string): Promise<void> {
    if (this.closed) return;
    const now = this.read(dir);
    for (const [f, text] of now) {
      if (this.seen.get(f) === text) continue;
      this.seen.set(f, text);
      await this.engine.load(transpileSignature(f, text));
    }
    for (const f of [...this.seen.keys()]) {
      if (!f.startsWith(dir + "/") || now.has(f)) continue;
      this.seen.delete(f);
      if (!(await this.engine.unload(f))) this.log(`netsig: ${f} was deleted`);
    }
  }

  /** wait for changes being applied */
  settled(): Promise<void> {
    return this.busy;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    for (const p of this.pollers) clearInterval(p);
  }
}
