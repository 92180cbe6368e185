// `netsig replay FILE`: capture file -> decode -> events -> stdout.

import { statSync } from "node:fs";
import { hostname } from "node:os";
import { parseCommand } from "../app/args";
import { handleSignals, unfinishedWork } from "../app/signals";
import { readCapture } from "../capture/reader";
import type { ReadSummary } from "../capture/types";
import type { DecodeStats } from "../decode/decoder";
import { EventFilter, parseEventNames } from "../events/filter";
import { UsageError } from "../types/errors";
import type { EventPipeline } from "../events/pipeline";
import type { SignatureEngine } from "../detect/engine";
import { EVENT_NAMES } from "../types/events";
import { EVENT_OUTPUT_OPTIONS } from "../app/event-output";
import { closeWebhooks, WEBHOOK_OPTIONS, WEBHOOK_USAGE, type webhooksFrom } from "../app/webhook-options";
import { startSession } from "../app/session";
import { FILE_OUTPUT_OPTIONS, FILE_OUTPUT_USAGE, fileOutputSummary, type FileOutputValues } from "../app/file-output";
import { withConfig } from "../app/config";
import { log, setLogFormat } from "../app/log";
import type { SignatureSet } from "../app/detection";
import { POD_INFO_OPTIONS, POD_INFO_USAGE, startPodInfo } from "../app/podinfo";
import { skippedCount } from "../types/sources";
import { FLOW_OPTIONS, FLOW_USAGE, flowSettingsFrom, flowSummary } from "../app/flow-options";
import type { FlowSettings } from "../events/pipeline";

export const REPLAY_USAGE = `
replay options:
  --events NAMES     events to print, comma-separated, net_packet_* wildcards (default: all nine)
  --filter EXPR      Tracee-style filter, repeatable: net_packet_dns.args.src=8.8.8.8 (also !=, <, >, <=, >=)
  --output FORMAT    json (one Tracee event per line, default) or table
  --signatures DIR   run the signatures in DIR (repeatable) and print their findings
                     (with --events also given: the events and the findings, in order)
  --rules DIR        run the YAML rules (native and Sigma) under DIR (repeatable; @shipped:
                     the shipped rule pack) and print their findings
  --unsandboxed      run signatures in-process, without the sandbox (benchmarks, authoring)
  --quiet            no summary on stderr
  --config FILE      options from a YAML file (keys: the long options above; flags win)
  --log-format F     text (default) or json: one pino JSON object per line on stderr
${FILE_OUTPUT_USAGE}
${FLOW_USAGE}
${POD_INFO_USAGE}
${WEBHOOK_USAGE}`;

export interface ReplayResult {
  summary: ReadSummary;
  pipeline: EventPipeline;
  elapsedMs: number;
}

function eventCounts(counts: readonly number[]): string {
  return EVENT_NAMES.map((n, i) => [n, counts[i] ?? 0] as const)
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n.replace("net_packet_", "")}=${c}`)
    .join(" ");
}

/** ", 7 IP fragments: 2 datagrams reassembled, 1 fragment dropped (overlap 1), 1 held", or "" without fragments */
export function fragmentSummary(s: DecodeStats, held: number): string {
  if (s.fragments === 0) return "";
  const drops = Object.entries(s.fragmentDrops).filter(([, n]) => n > 0);
  const dropped = drops.reduce((a, [, n]) => a + n, 0);
  return (
    `, ${s.fragments} IP fragments: ${s.reassembled} datagram${s.reassembled === 1 ? "" : "s"} reassembled` +
    (dropped ? `, ${dropped} fragment${dropped === 1 ? "" : "s"} dropped (${drops.map(([k, n]) => `${k} ${n}`).join(", ")})` : "") +
    (held ? `, ${held} held` : "")
  );
}

/** the summary line; with signatures, the events they received are counted too */
export function formatSummary(
  file: string,
  r: { pipeline: EventPipeline; elapsedMs: number; engine?: { events: readonly number[] } },
): string {
  const s = r.pipeline.decoder.stats;
  const secs = r.elapsedMs / 1000;
  const rate = secs > 0 ? Math.round(s.packets / secs) : 0;
  const printed = eventCounts(r.pipeline.eventCounts) || "none";
  const events = r.engine
    ? `events printed: ${printed}; events to signatures: ${eventCounts(r.engine.events) || "none"}`
    : `events: ${printed}`;
  const flows = flowSummary(r.pipeline.flows);
  return (
    `netsig: ${file}: ${s.packets} packets read, ${s.decoded} decoded, ${s.malformed} malformed` +
    (s.malformedDns ? ` (${s.malformedDns} DNS)` : "") +
    (s.unsupported ? `, ${s.unsupported} not IP` : "") +
    fragmentSummary(s, r.pipeline.decoder.defrag.fragmentsHeld) +
    `; ${events}` +
    (flows ? `; ${flows}` : "") +
    `; ${secs.toFixed(2)} s, ${rate} packets/s\n`
  );
}

export const REPLAY_OPTIONS = {
  ...EVENT_OUTPUT_OPTIONS,
  signatures: { type: "string", multiple: true },
  rules: { type: "string", multiple: true },
  unsandboxed: { type: "boolean", default: false },
  "log-format": { type: "string" },
  ...FILE_OUTPUT_OPTIONS,
  ...FLOW_OPTIONS,
  ...WEBHOOK_OPTIONS,
  ...POD_INFO_OPTIONS,
} as const;

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    "netsig replay",
    {
      args: withConfig(argv, REPLAY_OPTIONS),
      allowPositionals: true,
      options: REPLAY_OPTIONS,
    },
    { also: ["config"] },
  );
  if (values.help) {
    process.stdout.write(`usage: netsig replay FILE [options]\n${REPLAY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("replay needs exactly one capture file (or - for standard input)");
  setLogFormat(values["log-format"]);
  const pod = startPodInfo(values["pod-info"], (l) => log(l, /last good/.test(l) ? "warn" : "info"));
  try {
    return (
      await replay({
        file: positionals[0],
        events: values.events,
        filters: values.filter ?? [],
        format: values.output,
        quiet: values.quiet,
        signatures:
          values.signatures || values.rules
            ? { dirs: values.signatures ?? [], ruleDirs: values.rules ?? [], sandboxed: !values.unsandboxed, watch: true }
            : undefined,
        webhooks: values,
        fileOutput: values,
        flows: flowSettingsFrom(values),
      })
    ).code;
  } finally {
    pod.close();
  }
}

/** "N findings, M signature errors[, K findings dropped ...]": the summary's counts, run and replay alike */
export function signatureCounts(st: SignatureEngine["stats"]): string {
  return (
    `${st.findings} findings, ${st.errors} signature errors` +
    (st.findingsDropped ? `, ${st.findingsDropped} findings dropped (over a signature's limit)` : "")
  );
}

export interface ReplayOptions {
  file: string;
  /** --events (undefined: all nine, or none when signatures run) */
  events?: string;
  filters: string[];
  format: string;
  quiet: boolean;
  /** run signatures and rules: the folders, or single files (`signatures test`, `rules test`) */
  signatures?: SignatureSet;
  /** the webhook options (engine/cli/webhooks.ts) */
  webhooks?: Parameters<typeof webhooksFrom>[0];
  /** --output-file and its options */
  fileOutput?: FileOutputValues;
  /** --max-flows, --dns-cache-size */
  flows?: FlowSettings;
}

/** replay a capture; with signatures, the engine is returned (closed) for its stats and problems */
export async function replay(o: ReplayOptions): Promise<{ code: number; engine?: SignatureEngine }> {
  const file = o.file;
  const withSignatures = o.signatures !== undefined;
  // with signatures, events are printed only when asked for
  const mask = withSignatures && o.events === undefined ? 0 : parseEventNames(o.events);
  const filter = new EventFilter(o.filters);
  const format = o.format;
  if (format !== "json" && format !== "table") throw new UsageError(`unknown --output "${format}": use json or table`);
  const {
    pipeline,
    engine,
    watcher,
    findings,
    out,
    webhooks,
    file: outFile,
  } = await startSession({
    mask,
    filter,
    format,
    hostName: hostname(),
    signatures: o.signatures,
    webhooks: o.webhooks,
    file: o.fileOutput,
    flows: o.flows,
  });

  const progress = startProgress(file, pipeline, o.quiet);
  const t0 = performance.now();
  let summary: ReadSummary;
  // SIGINT/SIGTERM: stop reading, then drain as at the end of the file
  const abort = new AbortController();
  const stopped = new Error("stopped by a signal");
  const signals = handleSignals({
    stop: () => abort.abort(stopped),
    flush: () => out.flush(),
    unfinished: () => unfinishedWork(engine, webhooks),
    hupIgnored: "replay reads a capture once (hot reload of the signature and rule folders is on)",
  });
  try {
    // each chunk read goes to the signatures at once (a slow source, like a paced
    // standard input, is not held back until a batch fills)
    const between = engine
      ? () => {
          engine!.sendPartial();
          return engine!.drain();
        }
      : undefined;
    summary = await readCapture(file, pipeline.onPacket, { signal: abort.signal, between }).catch((e: unknown) => {
      if (e !== stopped) throw e;
      const st = pipeline.decoder.stats;
      return { format: "unknown", packets: st.packets, bytes: 0 } satisfies ReadSummary;
    });
    // the flows still open end (their end events, to the output and the signatures)
    pipeline.finish();
    watcher?.close();
    if (engine) {
      await engine.signal({ type: "source_complete" });
      await engine.close();
    }
  } finally {
    signals.close();
    watcher?.close();
    progress.stop();
    out.flush();
    findings?.finish();
    outFile?.close();
    if (webhooks) await closeWebhooks(webhooks, o.quiet);
  }
  const result: ReplayResult = { summary, pipeline, elapsedMs: performance.now() - t0 };
  if (!o.quiet) {
    const s = pipeline.decoder.stats;
    log(formatSummary(file, { ...result, engine }), "info", { packets: s.packets, decoded: s.decoded, malformed: s.malformed });
    if (engine) {
      const st = engine.stats;
      const all = [...engine.signatures.values()].filter((s) => s.state === "active");
      const withRules = (o.signatures?.ruleDirs?.length ?? 0) + (o.signatures?.ruleFiles?.length ?? 0) > 0;
      const sigs = all.filter((s) => s.source.kind !== "rule").length;
      const rules = all.length - sigs;
      const ruleProblems = skippedCount(engine.problems.filter((p) => p.kind === "rule"));
      log(
        `netsig: signatures: ${sigs} active, ${skippedCount(engine.problems.filter((p) => p.kind !== "rule"))} skipped` +
          (withRules ? `; rules: ${rules} active, ${ruleProblems} skipped` : "") +
          `; ${signatureCounts(st)}`,
        "info",
        { findings: st.findings, signatureErrors: st.errors, findingsDropped: st.findingsDropped },
      );
    }
  }
  if (outFile) {
    const l = fileOutputSummary(outFile, o.quiet);
    if (l) log(l, outFile.droppedLines ? "warn" : "info");
  }
  if (summary.error) {
    log(`netsig: error: ${summary.error.message}`, "error");
    // nothing readable at all (missing file, not a capture): a usage error
    return { code: summary.packets === 0 && summary.error.offset === 0 ? 2 : 1, engine };
  }
  return { code: 0, engine };
}

/** a progress line on stderr, once a second, only when stderr is a terminal */
function startProgress(file: string, pipeline: EventPipeline, quiet: boolean): { stop(): void } {
  if (quiet || !process.stderr.isTTY || file === "-") return { stop() {} };
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    /* reported by the reader */
  }
  const t0 = performance.now();
  const timer = setInterval(() => {
    const n = pipeline.decoder.stats.packets;
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(
      `\rnetsig: ${n} packets, ${Math.round(n / secs)} packets/s` + (size ? `, ${file} (${(size / 1e6).toFixed(0)} MB)` : "") + "   ",
    );
  }, 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (performance.now() - t0 > 1000) process.stderr.write("\r\x1b[K");
    },
  };
}
