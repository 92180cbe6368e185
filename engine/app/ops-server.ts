// Operations endpoints of `netsig run` (--listen ADDR), plain HTTP:
//   /healthz  200 while the process answers and the signature engine has not
//             failed for good; 503 {"status":"failed","reason":...} otherwise
//   /readyz   200 once the capture is open and the signatures loaded; 503
//             before ("starting") and while draining at SIGINT/SIGTERM
//   /metrics  Prometheus text (prom-client)
// Every netsig metric is read from counters the pipeline, the capture, the
// signature engine and the webhooks keep anyway, at scrape time (collect()):
// nothing is added per packet. Webhooks are named by URL without user info
// and query string (safeURL), so no secret reaches a label.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { UsageError } from "../types/errors";
import type { EventPipeline } from "../events/pipeline";
import { EVENT_NAMES } from "../types/events";
import type { SignatureEngine } from "../detect/engine";
import type { KernelDrops } from "../capture/drops";
import type { Webhooks } from "./webhook-options";
import { log, setLogFormat } from "./log";

export const OPS_OPTIONS = {
  listen: { type: "string" },
  "log-format": { type: "string" },
} as const;

export const OPS_USAGE = `  --listen ADDR      serve /healthz, /readyz and /metrics (Prometheus) over HTTP on ADDR:
                     127.0.0.1:9464, [::1]:9464, or :9464 for every address
  --log-format F     text (default) or json: one pino JSON object per line on stderr`;

/** what the metrics read; given once the capture is open */
export interface OpsSources {
  pipeline: EventPipeline;
  /** the live captures, one per interface */
  captures: { iface: string; packets: number; kernel: KernelDrops }[];
  engine?: SignatureEngine;
  webhooks?: Webhooks;
}

/** `host:port`, `[v6]:port` or `:port` (every address) */
export function parseListen(s: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen "${s}": give host:port, [IPv6]:port or :port (e.g. 127.0.0.1:9464)`);
  const host = m[1] ?? m[2];
  if (m[1] !== undefined && isIP(m[1]) !== 6) throw new UsageError(`--listen "${s}": ${m[1]} is not an IPv6 address`);
  return { host: host === "" ? undefined : host, port };
}

const BIND_ERRORS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "not an address of this machine",
  EACCES: "permission denied (ports below 1024 need root)",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "unknown host",
};

export class Ops {
  private state: "starting" | "ready" | "draining" = "starting";
  private src: OpsSources | null = null;
  private readonly registry = new Registry();

  private constructor(
    private readonly server: Server | null,
    readonly address: string,
  ) {}

  /** set the log format; with --listen, bind (a bind error is a UsageError) and serve */
  static async start(v: { listen?: string; "log-format"?: string }, quiet: boolean): Promise<Ops> {
    setLogFormat(v["log-format"]);
    if (v.listen === undefined) return new Ops(null, "");
    const { host, port } = parseListen(v.listen);
    let ops: Ops | null = null;
    const server = createServer((req, res) => {
      void ops!.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => {
        reject(new UsageError(`--listen ${v.listen}: ${BIND_ERRORS[e.code ?? ""] ?? e.code ?? e.message}`));
      });
      server.listen({ host, port }, () => resolve());
    });
    server.unref();
    const a = server.address() as AddressInfo;
    const address = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    ops = new Ops(server, address);
    collectDefaultMetrics({ register: ops.registry });
    if (!quiet) log(`netsig: serving /healthz, /readyz and /metrics on http://${address}`, "info", { listen: address });
    return ops;
  }

  /** the capture is open and the signatures loaded: ready, and the metrics have their sources */
  attach(src: OpsSources): void {
    if (this.server === null) return;
    this.src = src;
    this.metrics(src);
    this.state = "ready";
  }

  /** stopping: /readyz answers 503 from now on */
  drain(): void {
    this.state = "draining";
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private failure(): string | null {
    return this.src?.engine?.failed ?? null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const json = (status: number, o: object) => send(status, "application/json", JSON.stringify(o) + "\n");
    if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics")
      return json(404, { error: "not found: use /healthz, /readyz or /metrics" });
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return json(405, { error: "method not allowed" });
    }
    const failed = this.failure();
    if (path === "/healthz") return failed ? json(503, { status: "failed", reason: failed }) : json(200, { status: "ok" });
    if (path === "/readyz") {
      if (failed) return json(503, { status: "failed", reason: failed });
      return json(this.state === "ready" ? 200 : 503, { status: this.state });
    }
    try {
      send(200, this.registry.contentType, await this.registry.metrics());
    } catch (e) {
      json(500, { error: String((e as Error).message) });
    }
  }

  /** netsig's metrics, each read from existing counters at scrape time */
  private metrics(src: OpsSources): void {
    const registers = [this.registry];
    const { pipeline, captures, engine, webhooks } = src;
    const stats = pipeline.decoder.stats;
    // a counter whose value is read when scraped
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const labelled = <L extends string>(name: string, help: string, labelNames: L[], read: () => Iterable<[Record<L, string>, number]>) =>
      new Counter({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const [l, n] of read()) this.inc(l, n);
        },
      });

    labelled("netsig_packets_captured_total", "packets the live capture received, per interface", ["iface"], () =>
      captures.map((c) => [{ iface: c.iface }, c.packets] as [Record<"iface", string>, number]),
    );
    if (captures.every((c) => c.kernel.available)) {
      labelled(
        "netsig_packets_dropped_total",
        "packets the kernel dropped, per interface (capture ring full; read each second; on lo each lost packet counts twice)",
        ["iface"],
        () => captures.map((c) => [{ iface: c.iface }, c.kernel.drops] as [Record<"iface", string>, number]),
      );
    }
    counter(
      "netsig_packets_malformed_total",
      "captured packets with a layer that could not be decoded (DNS included)",
      () => stats.malformed,
    );
    counter("netsig_ip_fragments_total", "IPv4/IPv6 fragments captured (each yields its IP event)", () => stats.fragments);
    counter(
      "netsig_ip_reassembled_total",
      "datagrams reassembled from fragments (decoded on the fragment that completed them)",
      () => stats.reassembled,
    );
    labelled(
      "netsig_ip_fragments_dropped_total",
      "fragments not reassembled, per reason (overlap, duplicate, oversize, inconsistent, truncated, timeout, evicted, memory, tooMany)",
      ["reason"],
      () => Object.entries(stats.fragmentDrops).map(([reason, n]) => [{ reason }, n] as [Record<"reason", string>, number]),
    );
    new Gauge({
      name: "netsig_ip_fragment_bytes",
      help: "bytes held by datagrams being reassembled (bounded: 4 MiB)",
      registers,
      collect() {
        this.set(pipeline.decoder.defrag.bytesHeld);
      },
    });
    labelled("netsig_events_total", "events written to the event output (--events, after --filter), per Tracee event name", ["event"], () =>
      EVENT_NAMES.map((n, i) => [{ event: n }, pipeline.eventCounts[i]] as [Record<"event", string>, number]),
    );
    // the flow stage (engine/flows/): on while a flow, HTTP or TLS event is wanted; read at scrape time
    const fs = () => pipeline.flows?.stats;
    labelled("netsig_flows_total", "TCP and UDP flows followed, per protocol", ["proto"], () => [
      [{ proto: "tcp" }, fs()?.tcpFlows ?? 0],
      [{ proto: "udp" }, fs()?.udpFlows ?? 0],
    ]);
    new Gauge({
      name: "netsig_flows_active",
      help: "flows in the flow table (at most --max-flows)",
      registers,
      collect() {
        this.set(fs()?.active ?? 0);
      },
    });
    counter("netsig_flows_closed_total", "TCP flows removed after a FIN or RST (and the closing timeout)", () => fs()?.closed ?? 0);
    const perState =
      (pick: (s: NonNullable<ReturnType<typeof fs>>) => Record<string, number>) => (): [Record<"state", string>, number][] => {
        const s = fs();
        return s ? Object.entries(pick(s)).map(([state, n]) => [{ state }, n]) : [];
      };
    labelled(
      "netsig_flows_timed_out_total",
      "flows removed idle past their state's timeout (opening, established, closing, udp)",
      ["state"],
      perState((s) => ({ opening: s.timedOut.opening, established: s.timedOut.established, udp: s.timedOut.udp })),
    );
    labelled(
      "netsig_flows_evicted_total",
      "flows evicted because the table was full (--max-flows), per state",
      ["state"],
      perState((s) => s.evicted),
    );
    counter("netsig_flows_flushed_total", "flows still open when the capture stopped", () => fs()?.flushed ?? 0);
    counter(
      "netsig_flow_gaps_total",
      "TCP directions no longer parsed: a gap in the sequence numbers never filled (out-of-order bound reached)",
      () => fs()?.gaps ?? 0,
    );
    counter("netsig_flow_messages_cut_total", "HTTP/TLS messages cut at their parser's size bound", () => fs()?.cut ?? 0);
    new Gauge({
      name: "netsig_dns_cache_entries",
      help: "names and addresses the DNS cache holds to name flows (at most --dns-cache-size)",
      registers,
      collect() {
        this.set(pipeline.flows?.dns?.size ?? 0);
      },
    });
    counter(
      "netsig_dns_cache_evicted_total",
      "names and addresses evicted from the DNS cache (least recently used)",
      () => pipeline.flows?.dns?.stats.evicted ?? 0,
    );
    if (engine) {
      labelled(
        "netsig_signature_events_total",
        "events built for the signatures (the types they select), per Tracee event name",
        ["event"],
        () => EVENT_NAMES.map((n, i) => [{ event: n }, engine.events[i]] as [Record<"event", string>, number]),
      );
      labelled("netsig_findings_total", "findings, per signature id and Tracee severity", ["signature", "severity"], () =>
        [...engine.findingsBy].map(([k, n]) => {
          const [signature, severity] = k.split("\t");
          return [{ signature, severity }, n] as [Record<"signature" | "severity", string>, number];
        }),
      );
      labelled("netsig_signature_errors_total", "exceptions thrown by signatures, per signature id", ["signature"], () =>
        [...engine.errorsBy].map(([signature, n]) => [{ signature }, n] as [Record<"signature", string>, number]),
      );
      labelled(
        "netsig_findings_dropped_total",
        "findings dropped over a signature's per-batch limit (realm.ts FINDING_LIMITS), per signature id",
        ["signature"],
        () => [...engine.droppedBy].map(([signature, n]) => [{ signature }, n] as [Record<"signature", string>, number]),
      );
      counter("netsig_signature_packets_total", "packets handed to the signatures", () => engine.stats.packetsSent);
      counter(
        "netsig_packets_shed_total",
        "packets that skipped the signatures because they were 32 batches (256k packets) behind",
        () => engine.stats.shed,
      );
      counter("netsig_sandbox_restarts_total", "sandbox workers replaced (died or stopped answering)", () => engine.stats.restarts);
      new Gauge({
        name: "netsig_sandbox_queue_batches",
        help: "batches of packets sent to the signatures and not answered yet",
        registers,
        collect() {
          this.set(engine.queued);
        },
      });
      new Gauge({
        name: "netsig_signatures",
        help: "loaded signatures by state (active, disabled after errors, quarantined)",
        labelNames: ["state"],
        registers,
        collect() {
          const n = { active: 0, disabled: 0, quarantined: 0 };
          for (const s of engine.signatures.values()) n[s.state]++;
          for (const [state, v] of Object.entries(n)) this.set({ state }, v);
        },
      });
      const h = new Histogram({
        name: "netsig_signature_batch_seconds",
        help: "time the signatures took for one batch of packets (building the events and every signature's onEvent), measured in the sandbox",
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      });
      engine.onBatchTime = (s) => h.observe(s);
    }
    if (webhooks) {
      const outs = webhooks.outputs;
      const per = (name: string, help: string, read: (c: (typeof outs)[number]["counters"]) => number) =>
        labelled(name, help, ["output"], () =>
          outs.map((o) => [{ output: o.name }, read(o.counters)] as [Record<"output", string>, number]),
        );
      per("netsig_output_sent_total", "findings delivered (2xx), per webhook", (c) => c.sent);
      per("netsig_output_retried_total", "requests retried (network error, timeout, 429, 5xx), per webhook", (c) => c.retried);
      per("netsig_output_rejected_total", "findings rejected by the receiver (other 4xx), per webhook", (c) => c.rejected);
      per(
        "netsig_output_dropped_total",
        "findings dropped because the spool was full (--spool-max-bytes) or the disk full or not writable, per webhook",
        (c) => c.spoolDropped,
      );
      per(
        "netsig_output_dropped_disk_total",
        "of netsig_output_dropped_total: findings dropped because the disk was full or not writable, per webhook",
        (c) => c.spoolDroppedDisk,
      );
      per("netsig_output_damaged_total", "damaged spool lines not delivered (quarantined), per webhook", (c) => c.damaged);
      per("netsig_output_late_total", "2xx answers after --webhook-timeout (the batch counted as delivered), per webhook", (c) => c.late);
      per(
        "netsig_output_responses_cut_total",
        "answers whose body was cut (over 64 KiB or still coming at the timeout), per webhook",
        (c) => c.responsesCut,
      );
      new Gauge({
        name: "netsig_spool_bytes",
        help: "undelivered bytes in the spool, per webhook",
        labelNames: ["output"],
        registers,
        collect() {
          for (const o of outs) this.set({ output: o.name }, o.counters.spoolBytes);
        },
      });
    }
  }
}
