// `netsig run`: live capture -> decode -> events -> stdout; with --signatures,
// the signatures (hot reload on) and their findings to stdout and webhooks.
// Runs until SIGINT/SIGTERM, then drains: what was captured goes through the
// signatures, findings are printed and delivered (or kept in the spool).
// Several --iface: one capture each, all into the same pipeline (each packet
// is decoded by its own interface's link type). SIGHUP reloads --config.

import { hostname } from "node:os";
import { parseCommand } from "../app/args";
import { nativeBuildCommand } from "../capture/drops";
import { LiveCapture } from "../capture/live";
import { EventFilter, parseEventNames } from "../events/filter";
import { UsageError } from "../types/errors";
import { EVENT_OUTPUT_OPTIONS } from "../app/event-output";
import { formatSummary, signatureCounts } from "./replay";
import { startSession } from "../app/session";
import { withConfig } from "../app/config";
import { closeWebhooks, WEBHOOK_OPTIONS, WEBHOOK_USAGE } from "../app/webhook-options";
import { log } from "../app/log";
import { Ops, OPS_OPTIONS, OPS_USAGE } from "../app/ops-server";
import { FILE_OUTPUT_OPTIONS, FILE_OUTPUT_USAGE, fileOutputSummary } from "../app/file-output";
import { reloadOnSighup } from "../app/reload";
import { handleSignals, unfinishedWork } from "../app/signals";
import { POD_INFO_OPTIONS, POD_INFO_USAGE, startPodInfo } from "../app/podinfo";
import { FLOW_OPTIONS, FLOW_USAGE, flowSettingsFrom } from "../app/flow-options";

export const RUN_USAGE = `
run options:
  --iface NAME       interface to capture on, repeatable (default: any)
  --bpf FILTER       capture filter in tcpdump syntax, e.g. "port 53"
  --buffer-size MB   kernel capture buffer (default 64)
  --snaplen BYTES    bytes kept of each packet (default 8192); the kernel buffer holds
                     about MB*1M/(BYTES+100) packets, so a smaller one rides out longer bursts
  --events NAMES     as for replay
  --filter EXPR      as for replay
  --output FORMAT    json (default) or table
  --signatures DIR   run the signatures in DIR (repeatable; files added, changed or
                     deleted there are loaded, replaced or unloaded while running)
  --rules DIR        run the YAML rules under DIR (repeatable; @shipped: the shipped
                     pack; reloaded as for --signatures)
  --quiet            no summary on stderr at exit
  --config FILE      options from a YAML file (keys: the long options above; flags win);
                     SIGHUP reads it again: signature folders, --min-severity and
                     --quiet-findings change at once, other options need a restart
${FILE_OUTPUT_USAGE}
${FLOW_USAGE}
${POD_INFO_USAGE}
${OPS_USAGE}
${WEBHOOK_USAGE}`;

export const RUN_OPTIONS = {
  iface: { type: "string", multiple: true, default: ["any"] as string[] },
  bpf: { type: "string" },
  "buffer-size": { type: "string", default: "64" },
  snaplen: { type: "string" },
  signatures: { type: "string", multiple: true },
  rules: { type: "string", multiple: true },
  ...EVENT_OUTPUT_OPTIONS,
  ...FILE_OUTPUT_OPTIONS,
  ...FLOW_OPTIONS,
  ...WEBHOOK_OPTIONS,
  ...OPS_OPTIONS,
  ...POD_INFO_OPTIONS,
} as const;

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    "netsig run",
    {
      args: withConfig(argv, RUN_OPTIONS),
      allowPositionals: true,
      options: RUN_OPTIONS,
    },
    { also: ["config"] },
  );
  if (values.help) {
    process.stdout.write(`usage: netsig run [options]\n${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`run takes no file (did you mean netsig replay ${positionals[0]}?)`);
  const mb = Number(values["buffer-size"]);
  if (!Number.isFinite(mb) || mb < 1 || mb > 4096)
    throw new UsageError(`--buffer-size must be 1..4096 (MB), got "${values["buffer-size"]}"`);
  const withSignatures = values.signatures !== undefined || values.rules !== undefined;
  const mask = withSignatures && values.events === undefined ? 0 : parseEventNames(values.events);
  const filter = new EventFilter(values.filter ?? []);
  if (values.output !== "json" && values.output !== "table") throw new UsageError(`unknown --output "${values.output}": use json or table`);
  const snaplen = values.snaplen === undefined ? undefined : Number(values.snaplen);
  if (snaplen !== undefined && !(Number.isInteger(snaplen) && snaplen >= 64 && snaplen <= 65535))
    throw new UsageError(`--snaplen must be a whole number from 64 to 65535, not "${values.snaplen}"`);
  const pod = startPodInfo(values["pod-info"], (l) => log(l, /last good/.test(l) ? "warn" : "info"));
  const ops = await Ops.start(values, values.quiet);
  const ifaces = values.iface!;
  const twice = ifaces.find((n, i) => ifaces.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--iface ${twice} is given twice`);
  if (ifaces.length > 1 && ifaces.includes("any"))
    throw new UsageError("--iface any already captures on every interface: give it alone, or name the interfaces");
  const { pipeline, engine, watcher, findings, out, webhooks, file } = await startSession({
    mask,
    filter,
    format: values.output,
    hostName: hostname(),
    webhooks: values,
    file: values,
    flows: flowSettingsFrom(values, ifaces),
    signatures: withSignatures ? { dirs: values.signatures ?? [], ruleDirs: values.rules ?? [], sandboxed: true, watch: true } : undefined,
  });
  const t0 = performance.now();
  const captures: LiveCapture[] = [];
  try {
    for (const iface of ifaces)
      captures.push(
        new LiveCapture(
          { iface, bpf: values.bpf, bufferSize: mb << 20, snaplen, snaplenRequired: values.snaplen !== undefined },
          pipeline.onPacket,
        ),
      );
  } catch (e) {
    for (const c of captures) c.close();
    watcher?.close();
    pod.close();
    await engine?.close();
    await ops.close();
    throw e;
  }
  ops.attach({ pipeline, captures, engine, webhooks });
  const reload = reloadOnSighup({
    argv,
    options: RUN_OPTIONS,
    values,
    watcher: watcher?.signatures ?? null,
    findings,
    webhooks,
    log: (l) => log(l, /error/.test(l) ? "error" : "info"),
  });
  // live output is flushed, and packets go to the signatures, at least every 100 ms
  const flusher = setInterval(() => {
    engine?.sendPartial();
    out.flush();
  }, 100);
  const poller = setInterval(() => {
    for (const c of captures) c.kernel.poll();
  }, 1000);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      ops.drain();
      clearInterval(flusher);
      clearInterval(poller);
      reload?.close();
      pod.close();
      for (const c of captures) c.close();
      watcher?.close();
      // the flows still open end (their end events, to the output and the signatures)
      pipeline.finish();
      if (engine) {
        await engine.signal({ type: "source_complete" });
        await engine.close();
      }
      out.flush();
      findings?.finish();
      file?.close();
      if (webhooks) await closeWebhooks(webhooks, values.quiet);
      if (file) {
        const l = fileOutputSummary(file, values.quiet);
        if (l) log(l, file.droppedLines ? "warn" : "info");
      }
      if (!values.quiet) {
        const st = pipeline.decoder.stats;
        log(formatSummary(ifaces.join(","), { pipeline, elapsedMs: performance.now() - t0 }), "info", {
          packets: st.packets,
          decoded: st.decoded,
          malformed: st.malformed,
        });
        for (const c of captures) {
          log(
            `netsig: ${c.iface}: ${c.packets} packets captured` +
              (c.truncated ? ` (${c.truncated} cut at ${c.snaplen} bytes)` : "") +
              ", " +
              (c.kernel.available
                ? `${c.kernel.drops} dropped by the kernel`
                : `kernel drop count unavailable (native/pktstats not built: ${nativeBuildCommand()})`),
            "info",
            { iface: c.iface, captured: c.packets, kernelDrops: c.kernel.available ? c.kernel.drops : null },
          );
        }
        if (captures.length > 1 && captures.every((c) => c.kernel.available)) {
          const captured = captures.reduce((n, c) => n + c.packets, 0);
          const drops = captures.reduce((n, c) => n + c.kernel.drops, 0);
          log(`netsig: all interfaces: ${captured} packets captured, ${drops} dropped by the kernel`, "info", {
            captured,
            kernelDrops: drops,
          });
        }
        if (engine) {
          log(
            `netsig: signatures: ${signatureCounts(engine.stats)}` +
              (engine.stats.shed ? `, ${engine.stats.shed} packets not checked (the signatures fell behind)` : "") +
              "\n",
            "info",
            { findings: engine.stats.findings, signatureErrors: engine.stats.errors, shed: engine.stats.shed },
          );
        }
      }
      await ops.close();
      resolve(0);
    };
    const signals = handleSignals({
      stop: () => void stop().finally(() => signals.close()),
      flush: () => {
        out.flush();
      },
      unfinished: () => unfinishedWork(engine, webhooks),
      // with --config, reload.ts answers SIGHUP; without, the folders are read again
      hup: reload
        ? () => undefined
        : watcher
          ? () => {
              log("netsig: SIGHUP: reading the signature and rule folders again (no --config to reload)", "info");
              watcher.rescan();
            }
          : undefined,
      hupIgnored: "no --config, --signatures or --rules to reload",
    });
    // (said once the signals are netsig's: a SIGHUP sent as soon as this line is seen must not kill it)
    if (!values.quiet)
      log(`netsig: capturing on ${ifaces.join(", ")}${values.bpf ? ` (${values.bpf})` : ""}; Ctrl-C to stop`, "info", {
        iface: ifaces,
        bpf: values.bpf,
      });
  });
}
