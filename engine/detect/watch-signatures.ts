// Hot reload: watch the signature folders and load, replace or unload a
// signature when its file is added, changed or deleted, while events flow.
//
// fs.watch (inotify) says that something changed in a folder; the folder is
// then read again after a short quiet time (editors write a temporary file
// and rename it, or write in several steps) and compared with what is loaded
// by content, so a touched but unchanged file is left alone. Where fs.watch
// is not available (inotify watches exhausted, some network file systems) the
// folders are polled.

import { readdirSync, watch, type FSWatcher } from "node:fs";
import { readBoundedText, SIGNATURE_FILE_MAX_BYTES } from "../bounded";
import { join, resolve } from "node:path";
import type { SignatureEngine } from "./engine";
import { isSignatureFile, transpileSignature } from "../sandbox/loader";

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
  /** folder -> its fs.watch, or its polling timer */
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly pollers = new Map<string, NodeJS.Timeout>();
  private busy: Promise<void> = Promise.resolve();
  private closed = false;
  private dirs: string[];
  private readonly settleMs: number;
  private readonly pollMs: number;
  private readonly log: (line: string, level?: "info" | "warn") => void;

  /** `loaded`: file -> the text the engine was started with */
  constructor(
    dirs: string[],
    private readonly engine: SignatureEngine,
    loaded: Map<string, string>,
    opts: WatchOptions = {},
  ) {
    this.dirs = dirs.map((d) => resolve(d));
    this.settleMs = opts.settleMs ?? 100;
    this.pollMs = opts.pollMs ?? 500;
    this.log = opts.log ?? ((l) => process.stderr.write(l + "\n"));
    for (const [f, text] of loaded) this.seen.set(f, text);
    const polled = this.dirs.filter((d) => !this.watchDir(d));
    for (const d of polled) this.poll(d);
    // files changed between the engine's start and now
    for (const d of this.dirs) this.changed(d);
  }

  /** false where fs.watch cannot watch the folder */
  private watchDir(d: string): boolean {
    try {
      const w = watch(d, { persistent: false }, () => this.changed(d));
      w.on("error", () => {
        w.close();
        this.watchers.delete(d);
        this.poll(d);
      });
      this.watchers.set(d, w);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Watch these folders from now on (a configuration reload): the signatures
   * of folders no longer given are unloaded, those of new folders loaded.
   * Resolves once that is done.
   */
  setDirs(dirs: string[]): Promise<void> {
    const next = [...new Set(dirs.map((d) => resolve(d)))];
    const removed = this.dirs.filter((d) => !next.includes(d));
    const added = next.filter((d) => !this.dirs.includes(d));
    this.dirs = next;
    for (const d of removed) {
      this.watchers.get(d)?.close();
      this.watchers.delete(d);
      clearInterval(this.pollers.get(d));
      this.pollers.delete(d);
      clearTimeout(this.timers.get(d));
      this.timers.delete(d);
    }
    this.busy = this.busy.then(async () => {
      for (const f of [...this.seen.keys()]) {
        if (this.dirs.some((d) => f.startsWith(d + "/"))) continue;
        this.seen.delete(f);
        await this.engine.unload(f);
      }
    });
    for (const d of added) {
      if (!this.watchDir(d)) this.poll(d);
      this.busy = this.busy.then(() => this.sync(d));
    }
    this.busy = this.busy.catch((e: unknown) => {
      this.log(`netsig: could not apply the new signature folders: ${(e as Error)?.message ?? e}`);
    });
    return this.busy;
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
        files.set(f, readBoundedText(f, SIGNATURE_FILE_MAX_BYTES));
      } catch {
        /* deleted meanwhile, a folder, or past the cap (reported when loaded): left out */
      }
    }
    return files;
  }

  private poll(dir: string): void {
    if (this.closed) return;
    this.log(`netsig: cannot watch ${dir} for changes; checking it every ${this.pollMs} ms`, "warn");
    const timer = setInterval(() => this.changed(dir), this.pollMs);
    timer.unref();
    this.pollers.set(dir, timer);
  }

  /** read every folder again now (SIGHUP): what changed is applied as when it is seen */
  rescan(): void {
    for (const d of this.dirs) this.changed(d);
  }

  private changed(dir: string): void {
    if (this.closed) return;
    const t = this.timers.get(dir);
    if (t) clearTimeout(t);
    this.timers.set(
      dir,
      setTimeout(() => {
        this.timers.delete(dir);
        // (a failed change is reported and must not stop the ones after it)
        this.busy = this.busy
          .then(() => this.sync(dir))
          .catch((e: unknown) => {
            this.log(`netsig: could not apply a change in ${dir}: ${(e as Error)?.message ?? e}`, "warn");
          });
      }, this.settleMs),
    );
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
    for (const w of this.watchers.values()) w.close();
    for (const t of this.timers.values()) clearTimeout(t);
    for (const p of this.pollers.values()) clearInterval(p);
  }
}
