// The event types netsig emits, each declared once, here: its name, Tracee's
// event ID, its args (name, Tracee's Go type string, what a rule may reach in
// the value, and how the value is made from the decoded packet) and what part
// of a decoded packet yields it. Every table keyed by event type (names, IDs,
// masks, counters, the JSON writer's arg layout, the rules' field shapes, the
// schemas' index, metrics labels, which packets the signatures need) is
// derived from EVENTS; test/registry.test.ts checks the builder, the JSON
// writer, the lazy events of the rules and the JSON schema of each type
// against its declaration.
//
// Adding an event type: its name and number (EVENT_NAMES and Ev in
// types/events.ts: the contract signatures see), its declaration in DECLS
// (tsc fails while one is missing), what its args' values are made of
// (values.ts, and the decoder that fills the Packet), and its JSON schema
// (schemas/<name>.schema.json, imported in schemas/index.ts).
//
// Pure data and small functions, no Node API: the sandbox realm bundles this
// (through events/build.ts).

import type { DnsMessage } from "../decode/dnstypes";
import { Layer, type Packet } from "../decode/packet";
import { EVENT_NAMES, type Ev, type EventName, type Shape } from "../types/events";
import type { AppRecord, FlowRecord, HttpRecord, RecordType, TlsClientHelloRecord, TlsServerHelloRecord } from "../types/records";
import {
  httpRequest,
  httpResponse,
  pktMeta,
  protoDNS,
  protoICMP,
  protoICMPv6,
  protoIPv4,
  protoIPv6,
  protoTCP,
  protoUDP,
  queryData,
  recordMeta,
  responseData,
} from "./values";

/** what an event is of, beyond its packet: a DNS message, a record of the flow stage, or nothing */
export type EventUnit = DnsMessage | AppRecord | null;

/** one arg of an event type, in Tracee's order */
export interface ArgDecl {
  readonly name: string;
  /** Tracee's Go type string ("const char*", "u16", "trace.ProtoDNS", ...) */
  readonly type: string;
  /** what a rule's field path may reach in the value (rules/run/shapes.ts) */
  readonly shape: Shape;
  /** the value, from the decoded packet (and, for an event of a DNS message or a record, that) */
  readonly value: (p: Packet, u: EventUnit) => unknown;
}

/**
 * What part of a decoded packet yields an event type: its IP header (by
 * version), its transport header (the packet's last layer), or each of its
 * DNS messages the predicate accepts (a TCP segment may carry several).
 * Events come in Tracee's order: the packet's (IP, then transport) in the
 * order of the declarations, then each message's, likewise.
 */
export type EventSource =
  | { readonly ip: 4 | 6 }
  | { readonly layer: Layer }
  | { readonly dns: (m: DnsMessage) => boolean }
  | { readonly record: RecordType; readonly accepts: (r: AppRecord) => boolean };

/** what is declared of an event type (DECLS) */
export interface Declaration {
  /** Tracee's event ID (pkg/events/core.go: `NetPacketIPv4 ID = iota + 2000` ...) */
  readonly id: number;
  readonly from: EventSource;
  readonly args: readonly ArgDecl[];
  /**
   * Not in the default event set (--events without a value): derived
   * events a user asks for by name, like Tracee's "flows" set
   */
  readonly optIn?: true;
}

/** an event type: its declaration, its name and its number (EVENT_NAMES, Ev) */
export interface EventDecl extends Declaration {
  /** its place in EVENTS and EVENT_NAMES, and its bit in every EventMask */
  readonly kind: Ev;
  readonly name: EventName;
}

// ---- the Tracee types of the args: Go type string and rule shape

const PROTO_IPV4: Shape = {
  version: "n",
  IHL: "n",
  TOS: "n",
  length: "n",
  id: "n",
  flags: "n",
  fragOffset: "n",
  TTL: "n",
  protocol: "s",
  checksum: "n",
  srcIP: "s",
  dstIP: "s",
};
const PROTO_IPV6: Shape = {
  version: "n",
  trafficClass: "n",
  flowLabel: "n",
  length: "n",
  nextHeader: "s",
  hopLimit: "n",
  srcIP: "s",
  dstIP: "s",
};
const PROTO_TCP: Shape = {
  srcPort: "n",
  dstPort: "n",
  seq: "n",
  ack: "n",
  dataOffset: "n",
  FIN: "n",
  SYN: "n",
  RST: "n",
  PSH: "n",
  ACK: "n",
  URG: "n",
  ECE: "n",
  CWR: "n",
  NS: "n",
  window: "n",
  checksum: "n",
  urgent: "n",
};
const PROTO_UDP: Shape = { srcPort: "n", dstPort: "n", length: "n", checksum: "n" };
const PROTO_ICMP: Shape = { typeCode: "s", checksum: "n", id: "n", seq: "n" };
const PROTO_ICMPV6: Shape = { typeCode: "s", checksum: "n" };
const RR: Shape = {
  name: "s",
  type: "s",
  class: "s",
  TTL: "n",
  IP: "s",
  NS: "s",
  CNAME: "s",
  PTR: "s",
  TXTs: ["s"],
  SOA: { MName: "s", RName: "s", serial: "n", refresh: "n", retry: "n", expire: "n", minimum: "n" },
  SRV: { priority: "n", weight: "n", port: "n", name: "s" },
  MX: { preference: "n", name: "s" },
  OPT: [{ code: "s", data: "s" }],
  URI: { priority: "n", weight: "n", target: "s" },
  TXT: "s",
};
const PROTO_DNS: Shape = {
  ID: "n",
  QR: "n",
  opCode: "s",
  AA: "n",
  TC: "n",
  RD: "n",
  RA: "n",
  Z: "n",
  responseCode: "s",
  QDCount: "n",
  ANCount: "n",
  NSCount: "n",
  ARCount: "n",
  questions: [{ name: "s", type: "s", class: "s" }],
  answers: [RR],
  authorities: [RR],
  additionals: [RR],
};
const PKT_META: Shape = { src_ip: "s", dst_ip: "s", src_port: "n", dst_port: "n", protocol: "n", packet_len: "n", iface: "s" };
const QUERY: Shape = { query: "s", query_type: "s", query_class: "s" };
const RESPONSE: Shape = { query_data: QUERY, dns_answer: [{ answer_type: "s", ttl: "n", answer: "s" }] };

const PROTO_HTTP: Shape = {
  direction: "s",
  method: "s",
  protocol: "s",
  host: "s",
  uri_path: "s",
  status: "s",
  status_code: "n",
  headers: "any",
  content_length: "n",
};
const HTTP_REQUEST: Shape = { method: "s", protocol: "s", host: "s", uri_path: "s", headers: "any", content_length: "n" };
const HTTP_RESPONSE: Shape = { status: "s", status_code: "n", protocol: "s", headers: "any", content_length: "n" };
const TLS_CLIENT_HELLO: Shape = {
  version: "n",
  versions: ["n"],
  sni: "s",
  alpn: ["s"],
  cipher_suites: ["n"],
  extensions: ["n"],
  supported_groups: ["n"],
  ec_point_formats: ["n"],
  signature_algorithms: ["n"],
  ja3: "s",
  ja3_hash: "s",
  ja4: "s",
};
const TLS_SERVER_HELLO: Shape = {
  version: "n",
  selected_version: "n",
  cipher_suite: "n",
  extensions: ["n"],
  alpn: "s",
  ja3s: "s",
  ja3s_hash: "s",
};

// ---- the args several event types share (the builder shares one src/dst pair per packet: build.ts)

/** the packet's source and destination addresses */
export const SRC_ARG: ArgDecl = { name: "src", type: "const char*", shape: "s", value: (p) => p.srcIP };
export const DST_ARG: ArgDecl = { name: "dst", type: "const char*", shape: "s", value: (p) => p.dstIP };
const METADATA_ARG: ArgDecl = { name: "metadata", type: "trace.PktMeta", shape: PKT_META, value: (p) => pktMeta(p) };

const dnsMessage = (m: EventUnit) => m as DnsMessage;
const http = (u: EventUnit) => (u as HttpRecord).http;
const rec = (u: EventUnit) => u as AppRecord;
const flow = (u: EventUnit) => u as FlowRecord;

/** the sender's and receiver's addresses and ports of a record (net_packet_dns's arg types) */
const RECORD_ADDRESSES: readonly ArgDecl[] = [
  { name: "src", type: "const char*", shape: "s", value: (_, u) => rec(u).src },
  { name: "dst", type: "const char*", shape: "s", value: (_, u) => rec(u).dst },
  { name: "src_port", type: "u16", shape: "n", value: (_, u) => rec(u).srcPort },
  { name: "dst_port", type: "u16", shape: "n", value: (_, u) => rec(u).dstPort },
];
const RECORD_META: ArgDecl = { name: "metadata", type: "trace.PktMeta", shape: PKT_META, value: (p, u) => recordMeta(p, rec(u)) };
/** the args of the flow events: Tracee's (pkg/events/core.go, Dec 2023: its arg types of that time), then netsig's community_id */
const FLOW_ARGS: readonly ArgDecl[] = [
  { name: "conn_direction", type: "const char*", shape: "s", value: (_, u) => flow(u).direction },
  { name: "src", type: "const char*", shape: "s", value: (_, u) => flow(u).src },
  { name: "dst", type: "const char*", shape: "s", value: (_, u) => flow(u).dst },
  { name: "src_port", type: "u16", shape: "n", value: (_, u) => flow(u).srcPort },
  { name: "dst_port", type: "u16", shape: "n", value: (_, u) => flow(u).dstPort },
  { name: "src_dns", type: "const char **", shape: ["s"], value: (_, u) => flow(u).srcDns },
  { name: "dst_dns", type: "const char **", shape: ["s"], value: (_, u) => flow(u).dstDns },
  { name: "community_id", type: "const char*", shape: "s", value: (_, u) => flow(u).communityId },
];
const isFlow = (proto: number, phase: FlowRecord["phase"]) => (r: AppRecord) =>
  (r as FlowRecord).proto === proto && (r as FlowRecord).phase === phase;
/** Tracee emits the simple DNS events only for a message with exactly one question */
const oneQuestion = (m: DnsMessage, qr: number) => m.questions.length === 1 && m.flags >>> 15 === qr;

// ---- the declarations, by name (types/events.ts orders them)

const DECLS: { readonly [N in EventName]: Declaration } = {
  net_packet_ipv4: {
    id: 2000,
    from: { ip: 4 },
    args: [SRC_ARG, DST_ARG, { name: "proto_ipv4", type: "trace.ProtoIPv4", shape: PROTO_IPV4, value: (p) => protoIPv4(p) }],
  },
  net_packet_ipv6: {
    id: 2001,
    from: { ip: 6 },
    args: [SRC_ARG, DST_ARG, { name: "proto_ipv6", type: "trace.ProtoIPv6", shape: PROTO_IPV6, value: (p) => protoIPv6(p) }],
  },
  net_packet_tcp: {
    id: 2002,
    from: { layer: Layer.TCP },
    args: [SRC_ARG, DST_ARG, { name: "proto_tcp", type: "trace.ProtoTCP", shape: PROTO_TCP, value: (p) => protoTCP(p) }],
  },
  net_packet_udp: {
    id: 2003,
    from: { layer: Layer.UDP },
    args: [SRC_ARG, DST_ARG, { name: "proto_udp", type: "trace.ProtoUDP", shape: PROTO_UDP, value: (p) => protoUDP(p) }],
  },
  net_packet_icmp: {
    id: 2004,
    from: { layer: Layer.ICMPv4 },
    args: [SRC_ARG, DST_ARG, { name: "proto_icmp", type: "trace.ProtoICMP", shape: PROTO_ICMP, value: (p) => protoICMP(p) }],
  },
  net_packet_icmpv6: {
    id: 2005,
    from: { layer: Layer.ICMPv6 },
    args: [SRC_ARG, DST_ARG, { name: "proto_icmpv6", type: "trace.ProtoICMPv6", shape: PROTO_ICMPV6, value: (p) => protoICMPv6(p) }],
  },
  net_packet_dns: {
    // every DNS message, whole
    id: 2006,
    from: { dns: () => true },
    args: [
      SRC_ARG,
      DST_ARG,
      { name: "src_port", type: "u16", shape: "n", value: (p) => p.srcPort },
      { name: "dst_port", type: "u16", shape: "n", value: (p) => p.dstPort },
      { name: "proto_dns", type: "trace.ProtoDNS", shape: PROTO_DNS, value: (_, m) => protoDNS(dnsMessage(m)) },
    ],
  },
  net_packet_dns_request: {
    // a query (QR=0) with one question
    id: 2007,
    from: { dns: (m) => oneQuestion(m, 0) },
    args: [
      METADATA_ARG,
      { name: "dns_questions", type: "[]trace.DnsQueryData", shape: [QUERY], value: (_, m) => queryData(dnsMessage(m)) },
    ],
  },
  net_packet_dns_response: {
    // a response (QR=1) with one question
    id: 2008,
    from: { dns: (m) => oneQuestion(m, 1) },
    args: [
      METADATA_ARG,
      { name: "dns_response", type: "[]trace.DnsResponseData", shape: [RESPONSE], value: (_, m) => responseData(dnsMessage(m)) },
    ],
  },
  net_packet_http: {
    // every HTTP/1.x request and response (its header block), from the flow's reassembled stream
    id: 2009,
    from: { record: "http", accepts: () => true },
    args: [...RECORD_ADDRESSES, { name: "proto_http", type: "trace.ProtoHTTP", shape: PROTO_HTTP, value: (_, u) => http(u) }],
  },
  net_packet_http_request: {
    id: 2010,
    from: { record: "http", accepts: (r) => (r as HttpRecord).http.direction === "request" },
    args: [
      RECORD_META,
      { name: "http_request", type: "trace.ProtoHTTPRequest", shape: HTTP_REQUEST, value: (_, u) => httpRequest(http(u)) },
    ],
  },
  net_packet_http_response: {
    id: 2011,
    from: { record: "http", accepts: (r) => (r as HttpRecord).http.direction === "response" },
    args: [
      RECORD_META,
      { name: "http_response", type: "trace.ProtoHTTPResponse", shape: HTTP_RESPONSE, value: (_, u) => httpResponse(http(u)) },
    ],
  },
  net_flow_tcp_begin: { id: 2012, from: { record: "flow", accepts: isFlow(6, "begin") }, args: FLOW_ARGS, optIn: true },
  net_flow_tcp_end: { id: 2013, from: { record: "flow", accepts: isFlow(6, "end") }, args: FLOW_ARGS, optIn: true },
  // netsig's own event types take IDs from Tracee's user-space extension range (3000-3499)
  net_packet_tls_client_hello: {
    id: 3000,
    from: { record: "tls_client_hello", accepts: () => true },
    args: [
      ...RECORD_ADDRESSES,
      {
        name: "tls_client_hello",
        type: "netsig.TLSClientHello",
        shape: TLS_CLIENT_HELLO,
        value: (_, u) => (u as TlsClientHelloRecord).hello,
      },
    ],
  },
  net_packet_tls_server_hello: {
    id: 3001,
    from: { record: "tls_server_hello", accepts: () => true },
    args: [
      ...RECORD_ADDRESSES,
      {
        name: "tls_server_hello",
        type: "netsig.TLSServerHello",
        shape: TLS_SERVER_HELLO,
        value: (_, u) => (u as TlsServerHelloRecord).hello,
      },
    ],
  },
  net_flow_udp_begin: { id: 3002, from: { record: "flow", accepts: isFlow(17, "begin") }, args: FLOW_ARGS, optIn: true },
  net_flow_udp_end: { id: 3003, from: { record: "flow", accepts: isFlow(17, "end") }, args: FLOW_ARGS, optIn: true },
};

/** every event type netsig emits, indexed by its Ev */
export const EVENTS: readonly EventDecl[] = EVENT_NAMES.map((name, kind) => ({ kind: kind as Ev, name, ...DECLS[name] }));

// ---- the tables derived from the declarations

export { EVENT_NAMES, type EventName };
/** how many event types there are (the length of every per-type table) */
export const EVENT_COUNT = EVENTS.length;
/** the eventId strings, indexed by Ev */
export const EVENT_IDS: readonly string[] = EVENTS.map((d) => String(d.id));

/** Tracee's event ID of a kind, as the eventId field prints it */
export function eventId(ev: Ev): string {
  return EVENT_IDS[ev];
}

/** the kind of an event name (-1: not a netsig event) */
export function kindOfName(name: string): Ev | -1 {
  return (EVENT_NAMES as readonly string[]).indexOf(name) as Ev | -1;
}

/** A bit per event type: bit Ev.X set when that event is wanted. */
export type EventMask = number;
export const ALL_EVENTS: EventMask = (1 << EVENT_COUNT) - 1;

/** one value per event type (the per-type tables: counters, lists) */
export function perKind<T>(make: (kind: Ev) => T): T[] {
  return Array.from({ length: EVENT_COUNT }, (_, k) => make(k as Ev));
}

const maskOf = (pred: (d: EventDecl) => boolean): EventMask => EVENTS.reduce((m, d) => (pred(d) ? m | (1 << d.kind) : m), 0);

/** the event types of DNS messages */
export const DNS_EVENTS: EventMask = maskOf((d) => "dns" in d.from);
/** the event types made from the flow stage's records (types/records.ts) */
export const RECORD_EVENTS: EventMask = maskOf((d) => "record" in d.from);
/** the event types of the default set (--events without a value): all but the opt-in ones */
export const DEFAULT_EVENTS: EventMask = maskOf((d) => d.optIn !== true);
/** the event types made from each type of record */
export const RECORD_TYPE_EVENTS: Readonly<Record<RecordType, EventMask>> = {
  http: maskOf((d) => "record" in d.from && d.from.record === "http"),
  tls_client_hello: maskOf((d) => "record" in d.from && d.from.record === "tls_client_hello"),
  tls_server_hello: maskOf((d) => "record" in d.from && d.from.record === "tls_server_hello"),
  flow: maskOf((d) => "record" in d.from && d.from.record === "flow"),
};
/** the event types whose args start with the packet's src/dst pair */
export const ADDRESS_EVENTS: EventMask = maskOf((d) => d.args[0] === SRC_ARG && d.args[1] === DST_ARG);

/** per IP version (0, 4, 6): the event types its header yields */
export const IP_KINDS = new Int32Array(7);
/** per Layer (a packet's last): the event types its transport header yields */
export const LAYER_KINDS = new Int32Array(32);
/** the event types of DNS messages, in order, with the messages each accepts */
export const MESSAGE_EVENTS: readonly { kind: Ev; bit: number; accepts: (m: DnsMessage) => boolean }[] = EVENTS.flatMap((d) =>
  "dns" in d.from ? [{ kind: d.kind, bit: 1 << d.kind, accepts: d.from.dns }] : [],
);
/** the event types of records, in order, with the type of record and the records each accepts */
export const RECORD_KINDS: readonly { kind: Ev; bit: number; record: RecordType; accepts: (r: AppRecord) => boolean }[] = EVENTS.flatMap(
  (d) => ("record" in d.from ? [{ kind: d.kind, bit: 1 << d.kind, record: d.from.record, accepts: d.from.accepts }] : []),
);
for (const d of EVENTS) {
  const f = d.from;
  if ("ip" in f) IP_KINDS[f.ip] |= 1 << d.kind;
  else if ("layer" in f) LAYER_KINDS[f.layer] |= 1 << d.kind;
}

/**
 * The event types a decoded packet may yield (a DNS message yields its
 * simple events only when it has one question: all of them are counted)
 */
export function kindsOf(p: Packet): EventMask {
  let k = IP_KINDS[p.ipVersion] | LAYER_KINDS[p.last] | (p.dns !== null ? DNS_EVENTS : 0);
  const rs = p.records;
  if (rs !== null) for (let i = 0; i < rs.length; i++) k |= RECORD_TYPE_EVENTS[rs[i].t];
  return k;
}

/** the (name, Tracee type) of each event type's args, in order */
export const ARG_LAYOUT: readonly (readonly [string, string][])[] = EVENTS.map((d) =>
  d.args.map((a): [string, string] => [a.name, a.type]),
);
