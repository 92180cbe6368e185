// `netsig spool deliver DIR --webhook URL [--webhook-* options]`: send what a
// webhook's spool folder holds (one subfolder of --spool-dir, e.g. one left
// by a URL no longer configured, named at start-up) to a receiver, with the
// same batches, retries and at-least-once commit as a running netsig, and
// wait up to --webhook-wait seconds. Exit 0 when the spool is empty at the
// end, 1 when findings are left in it (they stay for a next try).

import { existsSync, readdirSync } from "node:fs";
import { UsageError } from "../types/errors";
import { parseCommand } from "../app/args";
import { log } from "../app/log";
import { closeWebhooks, WEBHOOK_OPTIONS, webhooksFrom } from "../app/webhook-options";

export const SPOOL_USAGE = `
spool deliver DIR --webhook URL [options]
  send the findings a webhook's spool folder holds (a subfolder of --spool-dir, e.g. one left by a
  webhook no longer configured) to URL; every --webhook-* option applies (--webhook-wait: how long
  to try, default 30 s); exit 1 when findings are left in DIR`;

const OPTIONS = { ...WEBHOOK_OPTIONS, help: { type: "boolean", short: "h" } } as const;

export async function spoolCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(`usage: netsig spool deliver DIR --webhook URL [options]\n${SPOOL_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "deliver") throw new UsageError(`unknown spool command "${sub}"; use: netsig spool deliver DIR --webhook URL`);
  const { values, positionals } = parseCommand(
    "netsig spool deliver",
    { args: rest, allowPositionals: true, options: OPTIONS },
    { help: "netsig spool --help" },
  );
  if (values.help) {
    process.stdout.write(`usage: netsig spool deliver DIR --webhook URL [options]\n${SPOOL_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("netsig spool deliver needs one spool folder (a subfolder of --spool-dir)");
  const dir = positionals[0];
  if (!existsSync(dir)) throw new UsageError(`netsig spool deliver: ${dir} does not exist`);
  if (!readdirSync(dir).some((f) => /^seg-\d{16}\.jsonl$/.test(f)))
    throw new UsageError(`netsig spool deliver: ${dir} holds no spool segments (seg-*.jsonl); give a subfolder of --spool-dir`);
  if (values["spool-dir"] !== undefined) throw new UsageError("netsig spool deliver takes the spool folder itself (DIR), not --spool-dir");
  if (!values.webhook?.length) throw new UsageError("netsig spool deliver needs --webhook URL (where to send the findings)");
  const w = webhooksFrom(values, true, { spool: dir })!;
  await closeWebhooks(w, false);
  const left = w.outputs[0].counters.spoolBytes;
  if (left > 0) log(`netsig: spool deliver: ${left} bytes left in ${dir}; run it again`, "warn");
  return left > 0 ? 1 : 0;
}
