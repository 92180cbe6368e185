// Signals in `run` and `replay`, whatever the process's capabilities:
//   SIGINT/SIGTERM  drain: stop reading, let the signatures finish, flush the
//                   outputs and webhooks, print the summary, exit 0
//   the same again  exit at once, after one line saying what was not finished
//   SIGHUP          the caller's reload (run: --config, else the signature
//                   and rule folders), or ignored with a line saying so;
//                   never the default action, which would kill netsig and
//                   lose what is in memory
// The sandbox process runs in a session of its own (sandbox/channel.ts): a
// Ctrl-C at the terminal reaches netsig only, which ends the sandbox itself.

import { log } from "./log";
import type { SignatureEngine } from "../detect/engine";
import type { Webhooks } from "./webhook-options";

export interface SignalHooks {
  /** the first SIGINT/SIGTERM: start the drain */
  stop(signal: NodeJS.Signals): void;
  /** a second one: what exiting now leaves unfinished (one clause), then netsig exits */
  unfinished(): string;
  /** called before the forced exit: flush what can be flushed synchronously */
  flush?(): void;
  /** SIGHUP; without it SIGHUP is ignored with a line naming `hupIgnored` */
  hup?(): void;
  /** why SIGHUP does nothing here */
  hupIgnored?: string;
}

const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export function handleSignals(h: SignalHooks): { close(): void } {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (!stopping) {
      stopping = true;
      log(`netsig: ${signal}: draining (${signal} again exits at once)`, "info", { signal });
      h.stop(signal);
      return;
    }
    let flushed = "";
    try {
      h.flush?.();
    } catch (e) {
      flushed = ` (flush failed: ${(e as Error)?.message ?? e})`;
    }
    const what = h.unfinished();
    log(`netsig: ${signal} again: exiting now without finishing the drain${what ? `; not finished: ${what}` : ""}${flushed}`, "warn", {
      signal,
    });
    process.exit(EXIT[signal] ?? 1);
  };
  const onHup = (): void => {
    if (h.hup) h.hup();
    else log(`netsig: SIGHUP ignored: ${h.hupIgnored ?? "nothing to reload"}`, "info");
  };
  process.on("SIGINT", onStop);
  process.on("SIGTERM", onStop);
  process.on("SIGHUP", onHup);
  return {
    close() {
      process.off("SIGINT", onStop);
      process.off("SIGTERM", onStop);
      process.off("SIGHUP", onHup);
    },
  };
}

/** what a forced exit leaves undone (a clause for the log line) */
export function unfinishedWork(engine: SignatureEngine | undefined, webhooks: Webhooks | undefined): string {
  const parts: string[] = [];
  if (engine?.queued) parts.push(`${engine.queued} packet batches not checked by the signatures`);
  for (const w of webhooks?.outputs ?? []) {
    const b = w.counters.spoolBytes;
    if (b) parts.push(`webhook ${w.name}: findings not delivered, kept in ${w.spool.dir} (${b} bytes) for the next start`);
  }
  return parts.join("; ");
}
