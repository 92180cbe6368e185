// The Sigma log sources netsig serves, and how each field of them is read
// from netsig's events. A log source's record is one event: a DNS message, an
// HTTP request or response, a TLS client or server hello, a flow's start.
// Its fields are those of one side of the exchange (the query's, the
// request's, the client's: "first"), of the other ("second"), or of both;
// a rule runs on the first side's events unless it names a field only the
// second side has. A DNS response repeats its question, so a rule on DNS
// responses may name the query's fields too; an HTTP response does not carry
// its request, nor a server hello its client's, so a rule naming fields of
// both sides of those is not supported (netsig matches one event at a time).
// docs/rules.md has the tables; test/zeek.test.ts writes down each choice.
// Host side only.

import { suggest } from "../run/suggest";
import { RuleError, type Pos } from "./parse";

/** which side of an exchange has a field */
export type Side = "both" | "first" | "second";

export interface SigmaField {
  /** the netsig field it reads: a dns.* field, an args path, or a field of rules/run/shapes.ts DERIVED_FIELDS */
  path: string;
  side: Side;
}

/** the events of one side, and the QR bit its DNS messages have (when the events carry both) */
export interface SideEvents {
  events: string[];
  qr?: 0 | 1;
}

export interface Logsource {
  /** for messages: "netsig's dns logsource", "Zeek's dns log" */
  name: string;
  fields: Readonly<Record<string, SigmaField>>;
  /** fields of the log netsig cannot derive, with the reason */
  missing: Readonly<Record<string, string>>;
  first: SideEvents;
  second: SideEvents | null;
  /** the second side's events carry the first side's fields too (a DNS response repeats its question) */
  secondHasFirst: boolean;
  /** what a finding's data holds when the rule lists no fields, for each side */
  data: { first: string[]; second: string[] };
  /** the message for a field it does not have (the dns logsource keeps its original wording) */
  unknownField?: (name: string, pos: Pos) => RuleError;
}

/** an unsupported rule: a RuleError whose message says why */
export function unsupported(pos: Pos, why: string): RuleError {
  return new RuleError(pos, `not supported: ${why}`);
}

const both = (path: string): SigmaField => ({ path, side: "both" });
const first = (path: string): SigmaField => ({ path, side: "first" });
const second = (path: string): SigmaField => ({ path, side: "second" });

// ---- logsource category dns (netsig's own reading of Sigma's DNS fields)

const DNS_FIELDS: Record<string, SigmaField> = {
  query: both("dns.query"),
  record_type: both("dns.record_type"),
  answer: second("dns.answer"),
  src_ip: both("dns.src_ip"),
  dst_ip: both("dns.dst_ip"),
  src_port: both("dns.src_port"),
  dst_port: both("dns.dst_port"),
  rcode: second("dns.rcode"),
  parent_domain: both("dns.parent_domain"),
};

export const CATEGORY_DNS: Logsource = {
  name: "netsig's dns logsource",
  fields: DNS_FIELDS,
  missing: {},
  first: { events: ["net_packet_dns_request"] },
  second: { events: ["net_packet_dns"], qr: 1 },
  secondHasFirst: true,
  data: {
    first: ["query", "record_type", "src_ip", "dst_ip"],
    second: ["query", "record_type", "answer", "rcode", "src_ip", "dst_ip"],
  },
  unknownField: (name, pos) =>
    unsupported(
      pos,
      `field "${name}" is not in netsig's dns logsource${suggest(name, Object.keys(DNS_FIELDS))} (its fields: ${Object.keys(DNS_FIELDS).join(", ")})`,
    ),
};

// ---- Zeek's logs

const ZEEK_ID = {
  "id.orig_h": both("conn.orig_h"),
  "id.orig_p": both("conn.orig_p"),
  "id.resp_h": both("conn.resp_h"),
  "id.resp_p": both("conn.resp_p"),
};
const RECORD = {
  ts: "Zeek's time of the record: a rule matches fields of one event, whose time is the finding's",
  uid: "Zeek's connection ID, which netsig's events do not have",
};

export const ZEEK_DNS: Logsource = {
  name: "Zeek's dns log",
  fields: {
    // the client is the originator, for queries and responses alike
    "id.orig_h": both("dns.src_ip"),
    "id.orig_p": both("dns.src_port"),
    "id.resp_h": both("dns.dst_ip"),
    "id.resp_p": both("dns.dst_port"),
    proto: both("conn.proto"),
    trans_id: both("zeek.dns.trans_id"),
    query: both("zeek.dns.query"),
    qclass: both("zeek.dns.qclass"),
    qclass_name: both("zeek.dns.qclass_name"),
    qtype: both("zeek.dns.qtype"),
    qtype_name: both("zeek.dns.qtype_name"),
    rcode: second("zeek.dns.rcode"),
    rcode_name: second("zeek.dns.rcode_name"),
    AA: second("zeek.dns.AA"),
    TC: both("zeek.dns.TC"),
    RD: both("zeek.dns.RD"),
    RA: second("zeek.dns.RA"),
    Z: both("zeek.dns.Z"),
    answers: second("zeek.dns.answers"),
    TTLs: second("zeek.dns.TTLs"),
    rejected: second("zeek.dns.rejected"),
    opcode: both("zeek.dns.opcode"),
    opcode_name: both("zeek.dns.opcode_name"),
  },
  missing: {
    ...RECORD,
    rtt: "the time from a query to its response: netsig matches each DNS message on its own",
  },
  first: { events: ["net_packet_dns"], qr: 0 },
  second: { events: ["net_packet_dns"], qr: 1 },
  secondHasFirst: true,
  data: {
    first: ["query", "qtype_name", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"],
    second: ["query", "qtype_name", "answers", "rcode_name", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"],
  },
};

const HTTP_REQ = "net_packet_http_request";
const HTTP_RESP = "net_packet_http_response";
const BODIES = "from Zeek's file analysis of the bodies: netsig does not reassemble HTTP bodies";

export const ZEEK_HTTP: Logsource = {
  name: "Zeek's http log",
  fields: {
    ...ZEEK_ID,
    host: first("args.http_request.host"),
    uri: first("args.http_request.uri_path"),
    method: first("args.http_request.method"),
    user_agent: first("http.user_agent"),
    referrer: first("http.referrer"),
    origin: first("http.origin"),
    request_body_len: first("args.http_request.content_length"),
    client_header_names: first("http.client_header_names"),
    version: both("http.version"),
    status_code: second("args.http_response.status_code"),
    status_msg: second("http.status_msg"),
    response_body_len: second("args.http_response.content_length"),
    server_header_names: second("http.server_header_names"),
  },
  missing: {
    ...RECORD,
    trans_depth: "the request's place in its connection, which netsig's HTTP events do not count",
    info_code: "the last 1xx reply before the response: netsig's HTTP events carry each response alone",
    info_msg: "the last 1xx reply before the response: netsig's HTTP events carry each response alone",
    tags: "Zeek's own tags of a request",
    username: "the credentials of an Authorization header, which netsig does not decode",
    password: "the credentials of an Authorization header, which netsig does not decode",
    proxied: "Zeek's list of proxy headers, which netsig does not make",
    orig_fuids: BODIES,
    orig_filenames: BODIES,
    orig_mime_types: BODIES,
    resp_fuids: BODIES,
    resp_filenames: BODIES,
    resp_mime_types: BODIES,
  },
  first: { events: [HTTP_REQ] },
  second: { events: [HTTP_RESP] },
  secondHasFirst: false,
  data: {
    first: ["host", "uri", "method", "user_agent", "id.orig_h", "id.resp_h", "id.resp_p"],
    second: ["status_code", "status_msg", "id.orig_h", "id.resp_h", "id.resp_p"],
  },
};

const LATER = "from handshake messages after the hellos, which netsig's TLS events do not carry";

export const ZEEK_SSL: Logsource = {
  name: "Zeek's ssl log",
  fields: {
    ...ZEEK_ID,
    server_name: first("ssl.server_name"),
    ja3: first("args.tls_client_hello.ja3_hash"),
    ja4: first("args.tls_client_hello.ja4"),
    version: second("ssl.version"),
    cipher: second("ssl.cipher"),
    next_protocol: second("ssl.next_protocol"),
    ja3s: second("args.tls_server_hello.ja3s_hash"),
  },
  missing: {
    ...RECORD,
    curve: LATER,
    resumed: LATER,
    established: LATER,
    ssl_history: LATER,
    last_alert: LATER,
    cert_chain_fps: LATER,
    client_cert_chain_fps: LATER,
    cert_chain_fuids: LATER,
    client_cert_chain_fuids: LATER,
    subject: LATER,
    issuer: LATER,
    client_subject: LATER,
    client_issuer: LATER,
    sni_matches_cert: LATER,
    validation_status: LATER,
    ja4s: "netsig's server hello event carries JA3S, not JA4S",
  },
  first: { events: ["net_packet_tls_client_hello"] },
  second: { events: ["net_packet_tls_server_hello"] },
  secondHasFirst: false,
  data: {
    first: ["server_name", "ja3", "id.orig_h", "id.resp_h", "id.resp_p"],
    second: ["version", "cipher", "ja3s", "id.orig_h", "id.resp_h", "id.resp_p"],
  },
};

const FLOWS = "netsig's flow events carry a flow's endpoints and community ID only";
const FLOW_BEGIN = ["net_flow_tcp_begin", "net_flow_udp_begin"];

export const ZEEK_CONN: Logsource = {
  name: "Zeek's conn log",
  fields: {
    ...ZEEK_ID,
    proto: both("conn.proto"),
    community_id: both("args.community_id"),
  },
  missing: {
    ...RECORD,
    service: "the application protocol Zeek's analyzers found: " + FLOWS,
    history: FLOWS,
    conn_state: FLOWS,
    duration: FLOWS,
    orig_bytes: FLOWS,
    resp_bytes: FLOWS,
    missed_bytes: FLOWS,
    orig_pkts: FLOWS,
    orig_ip_bytes: FLOWS,
    resp_pkts: FLOWS,
    resp_ip_bytes: FLOWS,
    local_orig: "whether the originator is in Zeek's Site::local_nets, which netsig does not have",
    local_resp: "whether the responder is in Zeek's Site::local_nets, which netsig does not have",
    tunnel_parents: FLOWS,
    ip_proto: FLOWS,
  },
  // (a flow's start: one record per connection, as soon as it is seen)
  first: { events: FLOW_BEGIN },
  second: null,
  secondHasFirst: false,
  data: { first: ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"], second: [] },
};

// ---- Sigma's network category (taxonomy appendix, Sigma v2.1)

export const NETWORK_DNS: Logsource = {
  name: "the network category's dns service",
  fields: {
    "source.ip": both("dns.src_ip"),
    "source.port": both("dns.src_port"),
    "destination.ip": both("dns.dst_ip"),
    "destination.port": both("dns.dst_port"),
    "dns.id": both("zeek.dns.trans_id"),
    "dns.question.name": both("dns.query"),
    "dns.question.type": both("dns.record_type"),
    "dns.question.class": both("net.dns.question.class"),
    "dns.answers.name": second("net.dns.answers.name"),
    "dns.answers.type": second("dns.answer_type"),
    "dns.answers.class": second("net.dns.answers.class"),
    "dns.answers.data": second("dns.answer"),
    "dns.answers.ttl": second("net.dns.answers.ttl"),
    "dns.header.flags": both("net.dns.header.flags"),
    "dns.response.code": second("dns.rcode"),
  },
  missing: { "network.community_id": "netsig's DNS events carry no community ID" },
  first: { events: ["net_packet_dns"], qr: 0 },
  second: { events: ["net_packet_dns"], qr: 1 },
  secondHasFirst: true,
  data: {
    first: ["dns.question.name", "dns.question.type", "source.ip", "destination.ip"],
    second: ["dns.question.name", "dns.question.type", "dns.answers.data", "dns.response.code", "source.ip", "destination.ip"],
  },
};

export const NETWORK_CONNECTION: Logsource = {
  name: "the network category's connection service",
  fields: {
    "source.ip": both("conn.orig_h"),
    "source.port": both("conn.orig_p"),
    "destination.ip": both("conn.resp_h"),
    "destination.port": both("conn.resp_p"),
    "network.transport": both("conn.proto"),
    "network.type": both("conn.ip_version"),
    "network.community_id": both("args.community_id"),
  },
  missing: {
    "event.duration": FLOWS,
    "network.protocol": "the application protocol: " + FLOWS,
    "source.packets": FLOWS,
    "destination.packets": FLOWS,
    "source.bytes": FLOWS,
    "destination.bytes": FLOWS,
    "network.state": FLOWS,
    "network.history": FLOWS,
  },
  first: { events: FLOW_BEGIN },
  second: null,
  secondHasFirst: false,
  data: { first: ["source.ip", "source.port", "destination.ip", "destination.port", "network.transport"], second: [] },
};

const SERVED =
  "netsig serves Sigma rules of logsource category dns (its DNS events), category network with service dns or connection, " +
  "and product zeek with service dns, http, ssl (or tls) or conn";

/** the log source of a rule's logsource, or why netsig cannot serve it */
export function resolveLogsource(ls: Record<string, unknown>): Logsource | string {
  const low = (k: string) => (typeof ls[k] === "string" && ls[k] !== "" ? String(ls[k]).toLowerCase() : undefined);
  const category = low("category");
  const product = low("product");
  const service = low("service");
  const what =
    Object.entries(ls)
      .filter(([k]) => k !== "definition")
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(", ") || "none";
  if (category === "dns") {
    if (product !== undefined)
      return `logsource product "${ls.product}": the fields of a product's own DNS log are not netsig's (use category dns alone, or product zeek with service dns)`;
    if (service !== undefined) return `logsource service "${ls.service}": netsig serves category dns alone`;
    return CATEGORY_DNS;
  }
  if (product === "zeek" && (category === undefined || category === "network")) {
    switch (service) {
      case "dns":
        return ZEEK_DNS;
      case "http":
        return ZEEK_HTTP;
      case "ssl":
      case "tls":
        return ZEEK_SSL;
      case "conn":
        return ZEEK_CONN;
      default:
        return `logsource {${what}}: ${SERVED}; ${service === undefined ? "a Zeek rule names its log (service)" : `Zeek's ${service} log is not one netsig derives from its events`}`;
    }
  }
  if (category === "network" && product === undefined) {
    if (service === "dns") return NETWORK_DNS;
    if (service === "connection") return NETWORK_CONNECTION;
    return `logsource {${what}}: ${SERVED}`;
  }
  return (
    `logsource {${what}}: ${SERVED}; ` +
    (category === "dns_query"
      ? "dns_query is the Windows/Sysmon client log (QueryName, Image, ...), whose fields netsig's packets do not have"
      : "other log sources are not network packets")
  );
}

/** the netsig field of a log source's field (a RuleError saying why when there is none) */
export function logsourceField(ls: Logsource, name: string, pos: Pos): SigmaField {
  const f = Object.hasOwn(ls.fields, name) ? ls.fields[name] : undefined;
  if (f !== undefined) return f;
  if (ls.unknownField) throw ls.unknownField(name, pos);
  const why = Object.hasOwn(ls.missing, name) ? ls.missing[name] : undefined;
  if (why !== undefined) throw unsupported(pos, `field "${name}" of ${ls.name}: netsig cannot derive it (${why})`);
  const names = Object.keys(ls.fields);
  throw unsupported(
    pos,
    `field "${name}" is not in ${ls.name}${suggest(name, [...names, ...Object.keys(ls.missing)])} (the fields netsig derives: ${names.join(", ")})`,
  );
}
