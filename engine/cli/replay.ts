// `netsig replay FILE`: capture file -> decode -> events -> stdout.

import { statSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { readCapture } from "../capture/reader";
import type { ReadSummary } from "../capture/types";
import { EventFilter, parseEventNames, UsageError } from "../events/filter";
import { EventPipeline } from "../events/pipeline";
import { EVENT_NAMES } from "../events/types";
import { EVENT_OUTPUT_OPTIONS, eventOutput } from "./output";

export const REPLAY_USAGE = `
replay options:
  --events NAMES     events to print, comma-separated, net_packet_* wildcards (default: all nine)
  --filter EXPR      Tracee-style filter, repeatable: net_packet_dns.args.src=8.8.8.8 (also !=, <, >, <=, >=)
  --output FORMAT    json (one Tracee event per line, default) or table
  --quiet            no summary on stderr`;

export interface ReplayResult {
  summary: ReadSummary;
  pipeline: EventPipeline;
  elapsedMs: number;
}

export function formatSummary(file: string, r: { pipeline: EventPipeline; elapsedMs: number }): string {
  const s = r.pipeline.decoder.stats;
  const secs = r.elapsedMs / 1000;
  const rate = secs > 0 ? Math.round(s.packets / secs) : 0;
  const events = EVENT_NAMES.map((n, i) => [n, r.pipeline.eventCounts[i]] as const)
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n.replace("net_packet_", "")}=${c}`)
    .join(" ");
  return `netsig: ${file}: ${s.packets} packets read, ${s.decoded} decoded, ${s.malformed} malformed` +
    (s.malformedDns ? ` (${s.malformedDns} DNS)` : "") +
    (s.unsupported ? `, ${s.unsupported} not IP` : "") +
    (s.laterFragments ? `, ${s.laterFragments} non-first fragments` : "") +
    `; events: ${events || "none"}; ${secs.toFixed(2)} s, ${rate} packets/s\n`;
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...EVENT_OUTPUT_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`usage: netsig replay FILE [options]\n${REPLAY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("replay needs exactly one capture file (or - for standard input)");
  const file = positionals[0];
  const mask = parseEventNames(values.events);
  const filter = new EventFilter(values.filter ?? []);
  const format = values.output;

  const host = hostname();
  const out = eventOutput(format, host);
  const pipeline = new EventPipeline(mask, host, out.consumer, filter);

  const progress = startProgress(file, pipeline, values.quiet);
  const t0 = performance.now();
  let summary: ReadSummary;
  try {
    summary = await readCapture(file, pipeline.onPacket);
  } finally {
    progress.stop();
    out.flush();
  }
  const result: ReplayResult = { summary, pipeline, elapsedMs: performance.now() - t0 };
  if (!values.quiet) process.stderr.write(formatSummary(file, result));
  if (summary.error) {
    process.stderr.write(`netsig: error: ${summary.error.message}\n`);
    // nothing readable at all (missing file, not a capture): a usage error
    return summary.packets === 0 && summary.error.offset === 0 ? 2 : 1;
  }
  return 0;
}

/** a progress line on stderr, once a second, only when stderr is a terminal */
function startProgress(file: string, pipeline: EventPipeline, quiet: boolean): { stop(): void } {
  if (quiet || !process.stderr.isTTY || file === "-") return { stop() {} };
  let size = 0;
  try { size = statSync(file).size; } catch { /* reported by the reader */ }
  const t0 = performance.now();
  const timer = setInterval(() => {
    const n = pipeline.decoder.stats.packets;
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(`\rnetsig: ${n} packets, ${Math.round(n / secs)} packets/s` + (size ? `, ${file} (${(size / 1e6).toFixed(0)} MB)` : "") + "   ");
  }, 1000);
  timer.unref();
  return { stop() { clearInterval(timer); if (performance.now() - t0 > 1000) process.stderr.write("\r\x1b[K"); } };
}
