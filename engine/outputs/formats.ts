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
//                  dns.answers, rule.name, event.severity ...), each line ended by \n
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

export const WEBHOOK_FORMATS = ["tracee", "falcosidekick", "splunk-hec", "ecs"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const FALCO_PRIORITIES = ["Informational", "Notice", "Warning", "Error", "Critical"] as const;

export interface RequestBody {
  body: string;
  contentType: string;
}

interface Arg { name: string; type?: string; value: unknown }

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
  // net_packet_dns carries src_port/dst_port (DNS over UDP or TCP: the transport is not said)
  const transport = argValue(t.args, "proto_tcp") ? "tcp" : argValue(t.args, "proto_udp") ? "udp" : undefined;
  const port = (v: unknown, alt: unknown) => (typeof v === "number" ? v : typeof alt === "number" ? alt : undefined);
  return {
    src: argValue(t.args, "src") as string | undefined,
    dst: argValue(t.args, "dst") as string | undefined,
    srcPort: port(l4?.srcPort, argValue(t.args, "src_port")),
    dstPort: port(l4?.dstPort, argValue(t.args, "dst_port")),
    transport,
    dns,
    trigger: t.name,
  };
}

function props(ev: Record<string, any>): Record<string, any> {
  return ev.metadata?.Properties ?? {};
}

// ---------------------------------------------------------------------------

export function traceeBody(lines: string[]): RequestBody {
  return { body: `[${lines.join(",")}]`, contentType: "application/json" };
}

export function falcoPayload(f: ParsedFinding): Record<string, unknown> {
  const ev = f.ev;
  const p = props(ev);
  const e = endpoints(ev);
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
  for (const [k, v] of Object.entries(dataArgs(ev))) fields[`netsig.${k}`] = typeof v === "object" && v !== null ? JSON.stringify(v) : v;
  const time = rfc3339Nano(f.tsNs);
  const flow = e.src ? ` (src=${e.src}${e.srcPort !== undefined ? `:${e.srcPort}` : ""} dst=${e.dst}${e.dstPort !== undefined ? `:${e.dstPort}` : ""})` : "";
  return {
    output: `${time}: ${falcoPriority(severityOf(ev))} ${p.signatureName ?? ev.eventName}: ${ev.metadata?.Description ?? ""}${flow}`,
    priority: falcoPriority(severityOf(ev)),
    rule: String(p.signatureName ?? ev.eventName ?? "netsig"),
    time,
    output_fields: fields,
    source: "netsig",
    tags: Array.isArray(ev.metadata?.Tags) ? ev.metadata.Tags : [],
    hostname: String(ev.hostName ?? ""),
  };
}

/** one request per finding */
export function falcosidekickBodies(findings: ParsedFinding[]): RequestBody[] {
  return findings.map((f) => ({ body: JSON.stringify(falcoPayload(f)), contentType: "application/json" }));
}

export function splunkEvent(f: ParsedFinding): Record<string, unknown> {
  // HEC time: epoch seconds with a fraction (milliseconds kept)
  const ms = Number(f.tsNs / 1_000_000n);
  return { time: ms / 1000, host: String(f.ev.hostName ?? ""), source: "netsig", sourcetype: "netsig:finding", event: f.ev };
}

export function splunkBody(findings: ParsedFinding[]): RequestBody {
  return { body: findings.map((f) => JSON.stringify(splunkEvent(f))).join("\n"), contentType: "application/json" };
}

export function ecsDocument(f: ParsedFinding): Record<string, unknown> {
  const ev = f.ev;
  const p = props(ev);
  const e = endpoints(ev);
  const sev = severityOf(ev);
  const doc: Record<string, any> = {
    "@timestamp": rfc3339Nano(f.tsNs),
    ecs: { version: "8.11.0" },
    event: { kind: "alert", category: ["network", "intrusion_detection"], type: ["info"], module: "netsig", dataset: "netsig.finding", severity: sev, id: p.findingID, action: ev.eventName },
    log: { level: falcoPriority(sev).toLowerCase() },
    rule: { id: p.signatureID, name: p.signatureName, description: ev.metadata?.Description, version: ev.metadata?.Version, ruleset: "netsig" },
    host: { hostname: ev.hostName, name: ev.hostName },
    tags: Array.isArray(ev.metadata?.Tags) ? ev.metadata.Tags : [],
    labels: { triggered_by: e.trigger },
    netsig: { finding: dataArgs(ev) },
  };
  if (p.Category) doc.rule.category = p.Category;
  if (p.external_id || p.Technique) doc.threat = { framework: "MITRE ATT&CK", technique: { id: p.external_id, name: p.Technique } };
  if (e.src !== undefined) doc.source = { ip: e.src, ...(e.srcPort !== undefined ? { port: e.srcPort } : {}) };
  if (e.dst !== undefined) doc.destination = { ip: e.dst, ...(e.dstPort !== undefined ? { port: e.dstPort } : {}) };
  if (e.transport || e.dns) doc.network = { ...(e.transport ? { transport: e.transport } : {}), ...(e.dns ? { protocol: "dns" } : {}) };
  if (e.dns) {
    const q = Array.isArray(e.dns.questions) ? e.dns.questions[0] : undefined;
    doc.dns = {
      id: String(e.dns.ID ?? ""),
      type: e.dns.QR === 1 ? "answer" : "query",
      op_code: e.dns.opCode,
      response_code: e.dns.responseCode,
      ...(q ? { question: { name: q.name, type: q.type, class: q.class } } : {}),
      answers: (Array.isArray(e.dns.answers) ? e.dns.answers : []).map((a: Record<string, any>) => ({
        name: a.name, type: a.type, class: a.class, ttl: a.TTL, data: answerData(a),
      })),
    };
  }
  return doc;
}

/** the value of a DNS answer, by type */
function answerData(a: Record<string, any>): string {
  switch (a.type) {
    case "A": case "AAAA": return a.IP ?? "";
    case "NS": return a.NS ?? "";
    case "CNAME": return a.CNAME ?? "";
    case "PTR": return a.PTR ?? "";
    case "MX": return `${a.MX?.preference ?? ""} ${a.MX?.name ?? ""}`;
    case "TXT": return Array.isArray(a.TXTs) ? a.TXTs.join("") : a.TXT ?? "";
    case "SOA": return `${a.SOA?.MName ?? ""} ${a.SOA?.RName ?? ""} ${a.SOA?.serial ?? ""}`;
    case "SRV": return `${a.SRV?.priority ?? ""} ${a.SRV?.weight ?? ""} ${a.SRV?.port ?? ""} ${a.SRV?.name ?? ""}`;
    default: return a.IP || a.NS || a.CNAME || a.PTR || "";
  }
}

export function ecsBulkBody(findings: ParsedFinding[]): RequestBody {
  let body = "";
  for (const f of findings) {
    body += JSON.stringify({ create: { _id: props(f.ev).findingID } }) + "\n" + JSON.stringify(ecsDocument(f)) + "\n";
  }
  return { body, contentType: "application/x-ndjson" };
}

/** the requests for one batch of finding lines in the given format */
export function requestBodies(format: WebhookFormat, lines: string[]): RequestBody[] {
  if (lines.length === 0) return [];
  if (format === "tracee") return [traceeBody(lines)];
  const parsed = lines.map(parseFinding);
  switch (format) {
    case "falcosidekick": return falcosidekickBodies(parsed);
    case "splunk-hec": return [splunkBody(parsed)];
    case "ecs": return [ecsBulkBody(parsed)];
  }
}
