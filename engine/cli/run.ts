// `netsig run`: live capture -> decode -> events -> stdout; with --signatures,
// the signatures (hot reload on) and their findings to stdout and webhooks.
// Runs until SIGINT/SIGTERM, then drains: what was captured goes through the
// signatures, findings are printed and delivered (or kept in the spool).

import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { LiveCapture } from "../capture/live";
import { EventFilter, parseEventNames, UsageError } from "../events/filter";
import { EVENT_OUTPUT_OPTIONS } from "./output";
import { formatSummary } from "./replay";
import { startSession } from "./session";
import { withConfig } from "./config";
import { closeWebhooks, WEBHOOK_OPTIONS, WEBHOOK_USAGE } from "./webhooks";
import { log } from "./log";
import { Ops, OPS_OPTIONS, OPS_USAGE } from "./ops";

export const RUN_USAGE = `
run options:
  --iface NAME       interface to capture on (default: any)
  --bpf FILTER       capture filter in tcpdump syntax, e.g. "port 53"
  --buffer-size MB   kernel capture buffer (default 64)
  --events NAMES     as for replay
  --filter EXPR      as for replay
  --output FORMAT    json (default) or table
  --signatures DIR   run the signatures in DIR (repeatable; files added, changed or
                     deleted there are loaded, replaced or unloaded while running)
  --rules DIR        run the YAML rules under DIR (repeatable; @shipped: the shipped
                     pack; reloaded as for --signatures)
  --quiet            no summary on stderr at exit
  --config FILE      options from a YAML file (keys: the long options above; flags win)
${OPS_USAGE}
${WEBHOOK_USAGE}`;

export const RUN_OPTIONS = {
  iface: { type: "string", default: "any" },
  bpf: { type: "string" },
  "buffer-size": { type: "string", default: "64" },
  signatures: { type: "string", multiple: true },
  rules: { type: "string", multiple: true },
  ...EVENT_OUTPUT_OPTIONS,
  ...WEBHOOK_OPTIONS,
  ...OPS_OPTIONS,
} as const;

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: withConfig(argv, RUN_OPTIONS),
    allowPositionals: true,
    options: RUN_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(`usage: netsig run [options]\n${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`run takes no file (did you mean netsig replay ${positionals[0]}?)`);
  const mb = Number(values["buffer-size"]);
  if (!Number.isFinite(mb) || mb < 1 || mb > 4096) throw new UsageError(`--buffer-size must be 1..4096 (MB), got "${values["buffer-size"]}"`);
  const withSignatures = values.signatures !== undefined || values.rules !== undefined;
  const mask = withSignatures && values.events === undefined ? 0 : parseEventNames(values.events);
  const filter = new EventFilter(values.filter ?? []);
  if (values.output !== "json" && values.output !== "table") throw new UsageError(`unknown --output "${values.output}": use json or table`);
  const ops = await Ops.start(values, values.quiet);
  const { pipeline, engine, watcher, findings, out, webhooks } = await startSession({
    mask, filter, format: values.output, hostName: hostname(), webhooks: values,
    signatures: withSignatures ? { dirs: values.signatures ?? [], ruleDirs: values.rules ?? [], sandboxed: true, watch: true } : undefined,
  });
  const t0 = performance.now();
  let capture: LiveCapture;
  try {
    capture = new LiveCapture({ iface: values.iface!, bpf: values.bpf, bufferSize: mb << 20 }, pipeline.onPacket);
  } catch (e) {
    watcher?.close();
    await engine?.close();
    await ops.close();
    throw e;
  }
  ops.attach({ pipeline, capture, engine, webhooks });
  if (!values.quiet) log(`netsig: capturing on ${values.iface}${values.bpf ? ` (${values.bpf})` : ""}; Ctrl-C to stop`, "info", { iface: values.iface, bpf: values.bpf });
  // live output is flushed, and packets go to the signatures, at least every 100 ms
  const flusher = setInterval(() => { engine?.sendPartial(); out.flush(); }, 100);
  const poller = setInterval(() => capture.kernel.poll(), 1000);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      ops.drain();
      clearInterval(flusher);
      clearInterval(poller);
      capture.close();
      watcher?.close();
      if (engine) {
        await engine.signal({ type: "source_complete" });
        await engine.close();
      }
      out.flush();
      findings?.finish();
      if (webhooks) await closeWebhooks(webhooks, values.quiet);
      if (!values.quiet) {
        const st = pipeline.decoder.stats;
        log(formatSummary(values.iface!, { pipeline, elapsedMs: performance.now() - t0 }), "info", { packets: st.packets, decoded: st.decoded, malformed: st.malformed });
        log(`netsig: ${values.iface}: ${capture.packets} packets captured, ` + (capture.kernel.available
          ? `${capture.kernel.drops} dropped by the kernel\n`
          : "kernel drop count unavailable (native/pktstats not built: npm run native)\n"),
        "info", { captured: capture.packets, kernelDrops: capture.kernel.available ? capture.kernel.drops : null });
        if (engine) {
          log(`netsig: signatures: ${engine.stats.findings} findings, ${engine.stats.errors} signature errors` +
            (engine.stats.shed ? `, ${engine.stats.shed} packets not checked (the signatures fell behind)` : "") + "\n",
          "info", { findings: engine.stats.findings, signatureErrors: engine.stats.errors, shed: engine.stats.shed });
        }
      }
      await ops.close();
      resolve(0);
    };
    process.once("SIGINT", () => void stop());
    process.once("SIGTERM", () => void stop());
  });
}
