// Request bodies for webhook outputs: finding events (the exact JSON lines
// netsig prints) turned into what a receiver expects. Pure functions.
//
//   tracee         a JSON array of the finding events, as printed (timestamps exact)
//   falcosidekick  Falco's output payload, ONE per request (Falcosidekick takes
//                  one payload per POST and rejects one without rule, priority,
//                  time or output_fields): output, priority, rule, time (RFC 3339,
//                  nanoseconds), output_fields (flat: "netsig.src" ...), source,
//                  tags, hostname
//   splunk-hec     HTTP Event Collector event objects {time, host, source,
//                  sourcetype, event}, a batch concatenated (one per line)
//   ecs            Elasticsearch _bulk NDJSON: a `create` action whose _id is the
//                  findingID (a redelivered finding is not indexed twice), then an
//                  ECS document (source.ip, destination.port, dns.question.name,
//                  dns.answers, rule.name, event.severity, network.community_id ...),
//                  each line ended by \n
//
// Every format but tracee carries the Community ID v1 of the triggering
// event's flow (findingCommunityId): ECS network.community_id, Falco output
// field netsig.community_id, a HEC indexed field community_id.
//
// Severity: Tracee signatures give metadata.Properties.Severity 0-4.
//
//   Tracee Severity   Falco priority   ECS event.severity   log.level
//   (none)            Informational    0                    informational
//   0                 Informational    0                    informational
//   1                 Notice           1                    notice
//   2                 Warning          2                    warning
//   3                 Error            3                    error
//   4                 Critical         4                    critical
//
// ECS leaves event.severity's scale to the source; netsig keeps Tracee's 0-4.
// Falco's Emergency and Alert are not used: no signature knows the host is down.

// biome-ignore-all lint/suspicious/noExplicitAny: the finding events are read back from the JSON netsig printed, field by field

import { icmpv4TypeCodeName, icmpv6TypeCodeName } from "../events/vocab";
import { communityId } from "../flows/communityid";

export const WEBHOOK_FORMATS = ["tracee", "falcosidekick", "splunk-hec", "ecs"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const FALCO_PRIORITIES = ["Informational", "Notice", "Warning", "Error", "Critical"] as const;

/**
 * What the formats add about the pod besides Tracee's envelope (which every
 * finding carries: its kubernetes and container objects): the pod's labels
 * and annotations, node, service account and cluster (engine/cli/podinfo.ts).
 * They are the ones netsig has when a request is made (a label changed while
 * a finding waited in the spool shows its new value).
 */
export interface PodContext {
  readonly nodeName?: string;
  readonly serviceAccount?: string;
  readonly clusterName?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export const NO_POD_CONTEXT: PodContext = Object.freeze({ labels: Object.freeze({}), annotations: Object.freeze({}) });

/** an annotation kubectl writes with the whole manifest: too big and too revealing for every finding */
const SKIPPED_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);

interface Pod {
  podName?: string;
  namespace?: string;
  uid?: string;
  containerId?: string;
  containerName?: string;
  image?: string;
  imageDigest?: string;
  ctx: PodContext;
  /** the node's name, else the event's hostName */
  host: string;
  annotations: [string, string][];
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** the finding's pod: Tracee's envelope fields of the event, and the context */
function podOf(ev: Record<string, any>, ctx: PodContext): Pod {
  const k = ev.kubernetes ?? {};
  const c = ev.container ?? {};
  return {
    podName: str(k.podName),
    namespace: str(k.podNamespace),
    uid: str(k.podUID),
    containerId: str(c.id) ?? str(ev.containerId),
    containerName: str(c.name),
    image: str(c.image),
    imageDigest: str(c.imageDigest),
    ctx,
    host: ctx.nodeName ?? String(ev.hostName ?? ""),
    annotations: Object.entries(ctx.annotations).filter(([key]) => !SKIPPED_ANNOTATIONS.has(key)),
  };
}

/** Beats' dedot (kubernetes.labels.*): a dot in a key would make Elasticsearch map an object */
const dedot = (o: Readonly<Record<string, string>> | [string, string][]): Record<string, string> =>
  Object.fromEntries((Array.isArray(o) ? o : Object.entries(o)).map(([k, v]) => [k.replace(/\./g, "_"), v]));

export interface RequestBody {
  body: string;
  contentType: string;
}

interface Arg {
  name: string;
  type?: string;
  value: unknown;
}

/** a finding event parsed from its JSON line; the timestamp kept exact (nanoseconds) */
export interface ParsedFinding {
  line: string;
  ev: Record<string, any>;
  tsNs: bigint;
}

export function parseFinding(line: string): ParsedFinding {
  const m = /^\{"timestamp":(\d+)/.exec(line);
  return { line, ev: JSON.parse(line) as Record<string, any>, tsNs: m ? BigInt(m[1]) : 0n };
}

/** Tracee Severity (0-4) of a finding; none given counts as 0 */
export function severityOf(ev: Record<string, any>): number {
  const s = Number(ev.metadata?.Properties?.Severity);
  return Number.isInteger(s) && s >= 0 ? Math.min(s, 4) : 0;
}

export function falcoPriority(severity: number): string {
  return FALCO_PRIORITIES[Math.max(0, Math.min(4, severity))];
}

/** RFC 3339 with nanoseconds, as Falco prints `time` */
export function rfc3339Nano(tsNs: bigint): string {
  const ms = Number(tsNs / 1_000_000n);
  const ns = (tsNs % 1_000_000_000n).toString().padStart(9, "0");
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${ns}Z`);
}

function args(ev: Record<string, any>): Arg[] {
  return Array.isArray(ev.args) ? (ev.args as Arg[]) : [];
}

function trigger(ev: Record<string, any>): { name: string; args: Arg[] } {
  const t = args(ev).find((a) => a.name === "triggeredBy")?.value as { name?: string; args?: Arg[] } | undefined;
  return { name: t?.name ?? "", args: Array.isArray(t?.args) ? t!.args : [] };
}

function argValue(list: Arg[], name: string): any {
  return list.find((a) => a.name === name)?.value;
}

/** the finding's own data args (everything but triggeredBy) as an object */
function dataArgs(ev: Record<string, any>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const a of args(ev)) if (a.name !== "triggeredBy") o[a.name] = a.value;
  return o;
}

/** addresses and ports of the triggering packet */
function endpoints(ev: Record<string, any>) {
  const t = trigger(ev);
  const l4 = argValue(t.args, "proto_tcp") ?? argValue(t.args, "proto_udp");
  const dns = argValue(t.args, "proto_dns") as Record<string, any> | undefined;
  // net_packet_dns_request/_response have no src/dst args: their `metadata` (PktMeta) has the packet's addresses
  const meta = argValue(t.args, "metadata") as Record<string, any> | undefined;
  // net_packet_dns carries src_port/dst_port (DNS over UDP or TCP: the transport is not said); PktMeta the IP protocol number
  const transport =
    argValue(t.args, "proto_tcp") || meta?.protocol === 6
      ? "tcp"
      : argValue(t.args, "proto_udp") || meta?.protocol === 17
        ? "udp"
        : undefined;
  const port = (v: unknown, alt: unknown) => (typeof v === "number" ? v : typeof alt === "number" ? alt : undefined);
  return {
    src: (argValue(t.args, "src") ?? str(meta?.src_ip)) as string | undefined,
    dst: (argValue(t.args, "dst") ?? str(meta?.dst_ip)) as string | undefined,
    srcPort: port(l4?.srcPort, argValue(t.args, "src_port") ?? meta?.src_port),
    dstPort: port(l4?.dstPort, argValue(t.args, "dst_port") ?? meta?.dst_port),
    transport,
    dns,
    trigger: t.name,
  };
}

/** ICMP typeCode names (events/vocab.ts) back to [type, code], made on first use */
let icmpCodes: [Map<string, [number, number]>, Map<string, [number, number]>] | null = null;

function icmpTypeCode(v6: boolean, name: unknown): [number, number] | undefined {
  if (typeof name !== "string") return undefined;
  if (icmpCodes === null) {
    const v4m = new Map<string, [number, number]>();
    const v6m = new Map<string, [number, number]>();
    for (let t = 0; t < 256; t++)
      for (let c = 0; c < 256; c++) {
        v4m.set(icmpv4TypeCodeName(t, c), [t, c]);
        v6m.set(icmpv6TypeCodeName(t, c), [t, c]);
      }
    icmpCodes = [v4m, v6m];
  }
  return icmpCodes[v6 ? 1 : 0].get(name);
}

/**
 * Community ID v1 (flows/communityid.ts) of the triggering event's flow, so a
 * SIEM can join the finding with Zeek's, Suricata's or Elastic's records of
 * it: a flow event's own community_id; else from the event's addresses, ports
 * (ICMP: type and code) and transport. net_packet_dns does not say its
 * transport: UDP is assumed (DNS over TCP is rare; dns_request/_response say
 * theirs). "" when the event has no flow (an IP-only event).
 */
export function findingCommunityId(ev: Record<string, any>): string {
  const t = trigger(ev);
  const given = argValue(t.args, "community_id");
  if (typeof given === "string") return given;
  const e = endpoints(ev);
  if (typeof e.src !== "string" || typeof e.dst !== "string") return "";
  const icmp = argValue(t.args, "proto_icmp") ?? argValue(t.args, "proto_icmpv6");
  if (icmp !== undefined) {
    const v6 = argValue(t.args, "proto_icmpv6") !== undefined;
    const tc = icmpTypeCode(v6, icmp?.typeCode);
    return tc ? communityId(v6 ? 58 : 1, e.src, e.dst, tc[0], tc[1]) : "";
  }
  const proto =
    e.transport === "tcp" || /^net_(packet_http|packet_tls|flow_tcp)/.test(t.name)
      ? 6
      : e.transport === "udp" || t.name === "net_packet_dns" || t.name.startsWith("net_flow_udp")
        ? 17
        : 0;
  if (proto === 0 || e.srcPort === undefined || e.dstPort === undefined) return "";
  return communityId(proto, e.src, e.dst, e.srcPort, e.dstPort);
}

function props(ev: Record<string, any>): Record<string, any> {
  return ev.metadata?.Properties ?? {};
}

// ---------------------------------------------------------------------------

export function traceeBody(lines: string[]): RequestBody {
  return { body: `[${lines.join(",")}]`, contentType: "application/json" };
}

/** a rule's rendered `output:` template (rules/runtime.ts puts it in the finding's data) */
function ruleOutput(data: Record<string, unknown>): string | undefined {
  return typeof data.output === "string" && data.output !== "" ? data.output : undefined;
}

export function falcoPayload(f: ParsedFinding, ctx: PodContext = NO_POD_CONTEXT): Record<string, unknown> {
  const ev = f.ev;
  const p = props(ev);
  const e = endpoints(ev);
  const pod = podOf(ev, ctx);
  const data = dataArgs(ev);
  const output = ruleOutput(data);
  const fields: Record<string, unknown> = {
    "netsig.signature_id": p.signatureID ?? "",
    "netsig.finding_id": p.findingID ?? "",
    "netsig.event": ev.eventName ?? "",
    "netsig.triggered_by": e.trigger,
  };
  if (e.src !== undefined) fields["fd.sip"] = e.src;
  if (e.dst !== undefined) fields["fd.dip"] = e.dst;
  if (e.srcPort !== undefined) fields["fd.sport"] = e.srcPort;
  if (e.dstPort !== undefined) fields["fd.dport"] = e.dstPort;
  if (e.transport) fields["fd.l4proto"] = e.transport;
  const cid = findingCommunityId(ev);
  if (cid) fields["netsig.community_id"] = cid;
  // Falco's own container and Kubernetes fields (container.id: the 12-character short id, as Falco prints it)
  if (pod.containerId) {
    fields["container.id"] = pod.containerId.slice(0, 12);
    fields["container.full_id"] = pod.containerId;
  }
  if (pod.containerName) fields["container.name"] = pod.containerName;
  if (pod.image) fields["container.image"] = pod.image;
  if (pod.imageDigest) fields["container.image.digest"] = pod.imageDigest;
  if (pod.namespace) fields["k8s.ns.name"] = pod.namespace;
  if (pod.podName) fields["k8s.pod.name"] = pod.podName;
  if (pod.uid) fields["k8s.pod.uid"] = pod.uid;
  const labels = Object.entries(ctx.labels);
  if (labels.length) fields["k8s.pod.labels"] = labels.map(([k, v]) => `${k}:${v}`).join(", ");
  for (const [k, v] of labels) fields[`k8s.pod.label[${k}]`] = v;
  for (const [k, v] of Object.entries(data)) {
    if (k === "output" && output !== undefined) continue; // (it is the payload's output)
    fields[`netsig.${k}`] = typeof v === "object" && v !== null ? JSON.stringify(v) : v;
  }
  const time = rfc3339Nano(f.tsNs);
  const flow = e.src
    ? ` (src=${e.src}${e.srcPort !== undefined ? `:${e.srcPort}` : ""} dst=${e.dst}${e.dstPort !== undefined ? `:${e.dstPort}` : ""})`
    : "";
  const where = pod.podName ? ` k8s.ns=${pod.namespace ?? ""} k8s.pod=${pod.podName}` : "";
  return {
    // Falco's output: "<time>: <Priority> <message>"; a rule's output: template is the message
    output: `${time}: ${falcoPriority(severityOf(ev))} ${output ?? `${p.signatureName ?? ev.eventName}: ${ev.metadata?.Description ?? ""}${flow}`}${where}`,
    priority: falcoPriority(severityOf(ev)),
    rule: String(p.signatureName ?? ev.eventName ?? "netsig"),
    time,
    output_fields: fields,
    source: "netsig",
    tags: Array.isArray(ev.metadata?.Tags) ? ev.metadata.Tags : [],
    hostname: pod.host,
  };
}

/** one request per finding */
export function falcosidekickBodies(findings: ParsedFinding[], ctx: PodContext = NO_POD_CONTEXT): RequestBody[] {
  return findings.map((f) => ({ body: JSON.stringify(falcoPayload(f, ctx)), contentType: "application/json" }));
}

/**
 * A HEC event. `host`: the node's name when known (what Splunk's own
 * Kubernetes collectors put there: host is the machine), else the event's
 * hostName; the pod is in `fields` (indexed fields, named as Splunk Connect
 * for Kubernetes names them) and in the event's kubernetes object.
 */
export function splunkEvent(f: ParsedFinding, ctx: PodContext = NO_POD_CONTEXT): Record<string, unknown> {
  // HEC time: epoch seconds with a fraction (milliseconds kept)
  const ms = Number(f.tsNs / 1_000_000n);
  const pod = podOf(f.ev, ctx);
  const fields: Record<string, string> = {};
  if (pod.podName) fields.pod = pod.podName;
  if (pod.namespace) fields.namespace = pod.namespace;
  if (pod.uid) fields.pod_uid = pod.uid;
  if (pod.containerName) fields.container_name = pod.containerName;
  if (pod.containerId) fields.container_id = pod.containerId;
  if (pod.image) fields.container_image = pod.image;
  if (ctx.nodeName) fields.node = ctx.nodeName;
  if (ctx.clusterName) fields.cluster_name = ctx.clusterName;
  for (const [k, v] of Object.entries(ctx.labels)) fields[`label.${k}`] = v;
  const cid = findingCommunityId(f.ev);
  if (cid) fields.community_id = cid;
  return {
    time: ms / 1000,
    host: pod.host,
    source: "netsig",
    sourcetype: "netsig:finding",
    ...(Object.keys(fields).length ? { fields } : {}),
    event: f.ev,
  };
}

/** the HEC events, each with the finding line itself as `event` (its timestamp keeps its nanoseconds) */
export function splunkBody(findings: ParsedFinding[], ctx: PodContext = NO_POD_CONTEXT): RequestBody {
  return {
    body: findings
      .map((f) => {
        const { event: _, ...rest } = splunkEvent(f, ctx);
        return JSON.stringify(rest).slice(0, -1) + ',"event":' + f.line + "}";
      })
      .join("\n"),
    contentType: "application/json",
  };
}

export function ecsDocument(f: ParsedFinding, ctx: PodContext = NO_POD_CONTEXT): Record<string, unknown> {
  const ev = f.ev;
  const p = props(ev);
  const e = endpoints(ev);
  const pod = podOf(ev, ctx);
  const sev = severityOf(ev);
  const data = dataArgs(ev);
  const output = ruleOutput(data);
  if (output !== undefined) delete data.output;
  const doc: Record<string, any> = {
    "@timestamp": rfc3339Nano(f.tsNs),
    ecs: { version: "8.11.0" },
    event: {
      kind: "alert",
      category: ["network", "intrusion_detection"],
      type: ["info"],
      module: "netsig",
      dataset: "netsig.finding",
      severity: sev,
      id: p.findingID,
      action: ev.eventName,
    },
    log: { level: falcoPriority(sev).toLowerCase() },
    rule: {
      id: p.signatureID,
      name: p.signatureName,
      description: ev.metadata?.Description,
      version: ev.metadata?.Version,
      ruleset: "netsig",
    },
    // (host: the node the pod runs on, when known)
    host: { hostname: pod.host, name: pod.host },
    tags: Array.isArray(ev.metadata?.Tags) ? ev.metadata.Tags : [],
    labels: { triggered_by: e.trigger },
    netsig: { finding: data },
  };
  if (output !== undefined) doc.message = output;
  if (p.Category) doc.rule.category = p.Category;
  if (p.external_id || p.Technique) doc.threat = { framework: "MITRE ATT&CK", technique: { id: p.external_id, name: p.Technique } };
  if (e.src !== undefined) doc.source = { ip: e.src, ...(e.srcPort !== undefined ? { port: e.srcPort } : {}) };
  if (e.dst !== undefined) doc.destination = { ip: e.dst, ...(e.dstPort !== undefined ? { port: e.dstPort } : {}) };
  const isDns = e.dns !== undefined || e.trigger === "net_packet_dns_request" || e.trigger === "net_packet_dns_response";
  const cid = findingCommunityId(ev);
  if (e.transport || isDns || cid)
    doc.network = {
      ...(e.transport ? { transport: e.transport } : {}),
      ...(isDns ? { protocol: "dns" } : {}),
      ...(cid ? { community_id: cid } : {}),
    };
  if (e.dns) {
    const q = Array.isArray(e.dns.questions) ? e.dns.questions[0] : undefined;
    doc.dns = {
      id: String(e.dns.ID ?? ""),
      type: e.dns.QR === 1 ? "answer" : "query",
      op_code: e.dns.opCode,
      response_code: e.dns.responseCode,
      ...(q ? { question: { name: q.name, type: q.type, class: q.class } } : {}),
      answers: (Array.isArray(e.dns.answers) ? e.dns.answers : []).map((a: Record<string, any>) => ({
        name: a.name,
        type: a.type,
        class: a.class,
        ttl: a.TTL,
        data: answerData(a),
      })),
    };
  } else if (isDns) {
    // the simple DNS events: their question, and (dns_response) the answers as Tracee gives them
    const t = trigger(ev);
    const resp = (argValue(t.args, "dns_response") as Record<string, any>[] | undefined)?.[0];
    const q = resp?.query_data ?? (argValue(t.args, "dns_questions") as Record<string, any>[] | undefined)?.[0];
    doc.dns = {
      type: resp ? "answer" : "query",
      ...(q ? { question: { name: q.query, type: q.query_type, class: q.query_class } } : {}),
      ...(resp
        ? {
            answers: (Array.isArray(resp.dns_answer) ? resp.dns_answer : []).map((a: Record<string, any>) => ({
              name: q?.query,
              type: a.answer_type,
              ttl: a.ttl,
              data: a.answer,
            })),
          }
        : {}),
    };
  }
  // the pod: ECS orchestrator.* and container.*, and the kubernetes.* fields of Elastic's Kubernetes integrations
  if (pod.podName || pod.namespace) {
    doc.orchestrator = {
      type: "kubernetes",
      ...(pod.namespace ? { namespace: pod.namespace } : {}),
      resource: {
        type: "pod",
        ...(pod.podName ? { name: pod.podName } : {}),
        ...(pod.uid ? { id: pod.uid } : {}),
        ...(Object.keys(ctx.labels).length ? { label: Object.entries(ctx.labels).map(([k, v]) => `${k}:${v}`) } : {}),
        ...(pod.annotations.length ? { annotation: pod.annotations.map(([k, v]) => `${k}:${v}`) } : {}),
      },
      ...(ctx.clusterName ? { cluster: { name: ctx.clusterName } } : {}),
    };
    doc.kubernetes = {
      pod: { ...(pod.podName ? { name: pod.podName } : {}), ...(pod.uid ? { uid: pod.uid } : {}) },
      ...(pod.namespace ? { namespace: pod.namespace } : {}),
      ...(ctx.nodeName ? { node: { name: ctx.nodeName } } : {}),
      ...(Object.keys(ctx.labels).length ? { labels: dedot(ctx.labels) } : {}),
      ...(pod.annotations.length ? { annotations: dedot(pod.annotations) } : {}),
      ...(ctx.serviceAccount ? { serviceaccount: { name: ctx.serviceAccount } } : {}),
      ...(pod.containerName ? { container: { name: pod.containerName } } : {}),
    };
  }
  if (pod.containerId || pod.containerName || pod.image) {
    doc.container = {
      ...(pod.containerId ? { id: pod.containerId } : {}),
      ...(pod.containerName ? { name: pod.containerName } : {}),
      ...(pod.image ? { image: { name: pod.image, ...(pod.imageDigest ? { hash: { all: [pod.imageDigest] } } : {}) } } : {}),
    };
  }
  return doc;
}

/** the value of a DNS answer, by type */
function answerData(a: Record<string, any>): string {
  switch (a.type) {
    case "A":
    case "AAAA":
      return a.IP ?? "";
    case "NS":
      return a.NS ?? "";
    case "CNAME":
      return a.CNAME ?? "";
    case "PTR":
      return a.PTR ?? "";
    case "MX":
      return `${a.MX?.preference ?? ""} ${a.MX?.name ?? ""}`;
    case "TXT":
      return Array.isArray(a.TXTs) ? a.TXTs.join("") : (a.TXT ?? "");
    case "SOA":
      return `${a.SOA?.MName ?? ""} ${a.SOA?.RName ?? ""} ${a.SOA?.serial ?? ""}`;
    case "SRV":
      return `${a.SRV?.priority ?? ""} ${a.SRV?.weight ?? ""} ${a.SRV?.port ?? ""} ${a.SRV?.name ?? ""}`;
    default:
      return a.IP || a.NS || a.CNAME || a.PTR || "";
  }
}

export function ecsBulkBody(findings: ParsedFinding[], ctx: PodContext = NO_POD_CONTEXT): RequestBody {
  let body = "";
  for (const f of findings) {
    body += JSON.stringify({ create: { _id: props(f.ev).findingID } }) + "\n" + JSON.stringify(ecsDocument(f, ctx)) + "\n";
  }
  return { body, contentType: "application/x-ndjson" };
}

/** the requests for one batch of finding lines in the given format */
export function requestBodies(format: WebhookFormat, lines: string[], ctx: PodContext = NO_POD_CONTEXT): RequestBody[] {
  if (lines.length === 0) return [];
  if (format === "tracee") return [traceeBody(lines)];
  const parsed = lines.map(parseFinding);
  switch (format) {
    case "falcosidekick":
      return falcosidekickBodies(parsed, ctx);
    case "splunk-hec":
      return [splunkBody(parsed, ctx)];
    case "ecs":
      return [ecsBulkBody(parsed, ctx)];
  }
}
