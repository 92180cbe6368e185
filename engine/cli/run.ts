// `netsig run`: live capture -> decode -> events -> stdout, until SIGINT/SIGTERM.
// (The detection sidecar — signatures, webhooks, metrics — builds on this.)

import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { LiveCapture } from "../capture/live";
import { EventFilter, parseEventNames, UsageError } from "../events/filter";
import { EventPipeline } from "../events/pipeline";
import { EVENT_OUTPUT_OPTIONS, eventOutput } from "./output";
import { formatSummary } from "./replay";

export const RUN_USAGE = `
run options:
  --iface NAME       interface to capture on (default: any)
  --bpf FILTER       capture filter in tcpdump syntax, e.g. "port 53"
  --buffer-size MB   kernel capture buffer (default 64)
  --events NAMES     as for replay
  --filter EXPR      as for replay
  --output FORMAT    json (default) or table
  --quiet            no summary on stderr at exit`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      iface: { type: "string", default: "any" },
      bpf: { type: "string" },
      "buffer-size": { type: "string", default: "64" },
      ...EVENT_OUTPUT_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(`usage: netsig run [options]\n${RUN_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`run takes no file (did you mean netsig replay ${positionals[0]}?)`);
  const mb = Number(values["buffer-size"]);
  if (!Number.isFinite(mb) || mb < 1 || mb > 4096) throw new UsageError(`--buffer-size must be 1..4096 (MB), got "${values["buffer-size"]}"`);
  const mask = parseEventNames(values.events);
  const filter = new EventFilter(values.filter ?? []);
  const host = hostname();
  const out = eventOutput(values.output, host);
  const pipeline = new EventPipeline(mask, host, out.consumer, filter);
  const t0 = performance.now();
  const capture = new LiveCapture({ iface: values.iface!, bpf: values.bpf, bufferSize: mb << 20 }, pipeline.onPacket);
  if (!values.quiet) process.stderr.write(`netsig: capturing on ${values.iface}${values.bpf ? ` (${values.bpf})` : ""}; Ctrl-C to stop\n`);
  // live output is flushed at least every 200 ms
  const flusher = setInterval(() => out.flush(), 200);
  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(flusher);
      capture.close();
      out.flush();
      if (!values.quiet) process.stderr.write(formatSummary(values.iface!, { pipeline, elapsedMs: performance.now() - t0 }));
      resolve(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
