// SIGHUP in `netsig run` (with --config): the file is read again and what can
// change while capturing is applied — the signature folders (loaded and
// unloaded as hot reload does), --min-severity, --quiet-findings. Other
// changed options (iface, bpf, buffer-size, webhooks, ...) need a restart:
// they are named in one line and left as they are. A file with a mistake is
// one line (file:line), and the running configuration stays.

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError } from "../types/errors";
import type { SignatureWatcher } from "../detect/watch-signatures";
import { configPath, placeConfigError, withConfig } from "./config";
import type { FindingsOutput } from "./detection";
import { int, type Webhooks } from "./webhook-options";

type Options = Parameters<typeof withConfig>[1];
type Values = Record<string, unknown>;

/** what can change without a restart */
const LIVE = ["signatures", "min-severity", "quiet-findings"];

export interface ReloadTargets {
  /** the command line netsig was started with */
  argv: string[];
  options: Options;
  /** the settings running now (updated as changes are applied) */
  values: Values;
  watcher: SignatureWatcher | null;
  findings?: FindingsOutput;
  webhooks?: Webhooks;
  log?: (line: string) => void;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** from now on SIGHUP reloads the --config file; null without --config */
export function reloadOnSighup(t: ReloadTargets): { close(): void; settled(): Promise<void> } | null {
  const file = configPath(t.argv);
  if (file === undefined) return null;
  const log = t.log ?? ((l: string) => process.stderr.write(l + "\n"));
  let chain = Promise.resolve();
  const onHup = (): void => {
    chain = chain.then(() => reload(t, file, log)).catch((e: unknown) => log(`netsig: error: SIGHUP: ${(e as Error)?.message ?? e}`));
  };
  process.on("SIGHUP", onHup);
  return {
    close: () => {
      process.off("SIGHUP", onHup);
    },
    settled: () => chain,
  };
}

async function reload(t: ReloadTargets, file: string, log: (line: string) => void): Promise<void> {
  let next: Values;
  try {
    next = parseArgs({ args: withConfig(t.argv, t.options), allowPositionals: true, options: t.options }).values as Values;
    if (next["min-severity"] !== undefined) int("min-severity", next["min-severity"] as string, 0, 0, 4);
    for (const d of (next.signatures as string[] | undefined) ?? []) {
      let why = "";
      try {
        if (!statSync(d).isDirectory()) why = "not a folder";
      } catch (e) {
        why = (e as NodeJS.ErrnoException).code ?? "cannot read it";
      }
      if (why) throw new UsageError(`--signatures folder ${d}: ${why}`);
    }
  } catch (e) {
    // (a value from the file: its file:line first)
    const msg = placeConfigError((e as Error).message.split("\n")[0]);
    log(`netsig: error: SIGHUP: ${msg}; the running configuration is unchanged`);
    return;
  }
  const cur = t.values;
  const restart = Object.keys(t.options).filter((k) => k !== "help" && !LIVE.includes(k) && !same(cur[k], next[k]));
  const applied: string[] = [];

  const dirsNow = ((cur.signatures as string[] | undefined) ?? []).map((d) => resolve(d));
  const dirsNext = ((next.signatures as string[] | undefined) ?? []).map((d) => resolve(d));
  if (!same(dirsNow, dirsNext)) {
    if (!t.watcher) {
      restart.push("signatures (netsig was started without them)");
    } else {
      await t.watcher.setDirs(dirsNext);
      const add = dirsNext.filter((d) => !dirsNow.includes(d)).map((d) => `+${d}`);
      const rm = dirsNow.filter((d) => !dirsNext.includes(d)).map((d) => `-${d}`);
      applied.push(`signatures ${[...add, ...rm].join(" ")}`);
      cur.signatures = next.signatures;
    }
  }
  if (!same(cur["quiet-findings"] ?? false, next["quiet-findings"] ?? false)) {
    if (t.findings) t.findings.print = !next["quiet-findings"];
    applied.push(`quiet-findings ${next["quiet-findings"] ? "on" : "off"}`);
    cur["quiet-findings"] = next["quiet-findings"];
  }
  if (!same(cur["min-severity"], next["min-severity"])) {
    if (!t.webhooks) {
      restart.push("min-severity (no webhook is running)");
    } else {
      const n = int("min-severity", next["min-severity"] as string | undefined, 0, 0, 4);
      for (const w of t.webhooks.outputs) w.setMinSeverity(n);
      applied.push(`min-severity ${n}`);
      cur["min-severity"] = next["min-severity"];
    }
  }
  log(`netsig: SIGHUP: reloaded ${file}: ${applied.length ? applied.join("; ") : "nothing to apply"}`);
  if (restart.length) log(`netsig: SIGHUP: needs restart: ${restart.join(", ")} (left unchanged)`);
}
