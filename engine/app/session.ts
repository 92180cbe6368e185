// What `replay` and `run` share: the event pipeline, and with signatures the
// signature engine (hot reload on), the findings output, the webhooks and
// the --output-file.

import type { EventFilter } from "../events/filter";
import { EventPipeline, type EventConsumer, type FlowSettings } from "../events/pipeline";
import type { SignatureEngine } from "../detect/engine";
import type { RotatingFile } from "../outputs/rotating";
import { fileOutputFrom, type FileOutputValues } from "./file-output";
import { eventOutput } from "./event-output";
import { FindingsOutput, startSignatures, type SignatureSet, type Watchers } from "./detection";
import { webhooksFrom, type Webhooks } from "./webhook-options";

export interface SessionOptions {
  mask: number;
  filter: EventFilter;
  format: string;
  hostName: string;
  signatures?: SignatureSet;
  webhooks?: Parameters<typeof webhooksFrom>[0];
  /** --output-file and its options */
  file?: FileOutputValues;
  /** the flow stage's bounds (--max-flows, --dns-cache-size) */
  flows?: FlowSettings;
}

export interface Session {
  pipeline: EventPipeline;
  engine?: SignatureEngine;
  watcher: Watchers | null;
  findings?: FindingsOutput;
  out: { consumer: EventConsumer; flush(): void };
  webhooks?: Webhooks;
  /** --output-file (flushed by out.flush(); close it last) */
  file?: RotatingFile;
}

export async function startSession(o: SessionOptions): Promise<Session> {
  const webhooks: Webhooks | undefined = o.webhooks ? webhooksFrom(o.webhooks, o.signatures !== undefined) : undefined;
  const file = o.file ? fileOutputFrom(o.file) : undefined;
  if (!o.signatures) {
    const out = eventOutput(o.format, o.hostName, 1, file);
    const pipeline = new EventPipeline(o.mask, o.hostName, out.consumer, o.filter);
    if (o.flows) pipeline.configureFlows(o.flows);
    return { pipeline, watcher: null, out, webhooks, file };
  }
  const { engine, watcher } = await startSignatures(o.signatures, o.hostName);
  let findings: FindingsOutput | undefined;
  const consumer: EventConsumer = (ev, kind, p) => findings!.consumer(ev, kind, p);
  const pipeline = new EventPipeline(o.mask, o.hostName, consumer, o.filter);
  if (o.flows) pipeline.configureFlows(o.flows);
  const f = (findings = new FindingsOutput(engine, pipeline, o.hostName, o.format, o.mask !== 0, file ?? null));
  f.print = !o.webhooks?.["quiet-findings"];
  if (webhooks) {
    const outs = webhooks.outputs;
    f.sink = (json, severity) => {
      for (const w of outs) w.add(json, severity);
    };
  }
  // DNS is decoded, and flows followed, only while a signature selects their events (the set changes on reload)
  pipeline.setTapMask(engine.mask);
  engine.onChange = () => {
    pipeline.setTapMask(engine.mask);
  };
  pipeline.tap = (p, n) => {
    engine.push(p, n);
  };
  return { pipeline, engine, watcher, findings, out: { consumer, flush: () => f.flush() }, webhooks, file };
}
