// What a field path can reach in each netsig event (the shapes of
// events/registry.ts), so that a rule naming a field that no selected event has
// is an error with a suggestion, not a rule that silently never fires.
// Host side only.

import type { Shape } from "../../types/events";
import { DNS_EVENTS as DNS_MASK, EVENT_NAMES, EVENTS, type EventName } from "../../events/registry";

export type { Shape };

/** each event's args and their shapes (its declaration's: events/registry.ts) */
export const ARG_SHAPES: Readonly<Record<EventName, Readonly<Record<string, Shape>>>> = Object.fromEntries(
  EVENTS.map((d) => [d.name, Object.fromEntries(d.args.map((a) => [a.name, a.shape]))]),
) as Record<EventName, Record<string, Shape>>;

/** the envelope's fields (the top level of every event) */
export const TOP_SHAPES: Record<string, Shape> = {
  timestamp: "n",
  threadStartTime: "n",
  processorId: "n",
  processId: "n",
  cgroupId: "n",
  threadId: "n",
  parentProcessId: "n",
  hostProcessId: "n",
  hostThreadId: "n",
  hostParentProcessId: "n",
  userId: "n",
  mountNamespace: "n",
  pidNamespace: "n",
  processName: "s",
  executable: { path: "s" },
  hostName: "s",
  containerId: "s",
  container: "any",
  kubernetes: "any",
  eventId: "s",
  eventName: "s",
  matchedPolicies: ["s"],
  argsNum: "n",
  returnValue: "n",
  syscall: "s",
  stackAddresses: ["n"],
  contextFlags: { containerStarted: "b", isCompat: "b" },
  threadEntityId: "n",
  processEntityId: "n",
  parentEntityId: "n",
};

/**
 * Derived DNS fields, for any DNS event (the names of Sigma's dns
 * logsource): the client is src, the server dst, for queries and responses.
 */
export const VIRTUAL_FIELDS: Record<string, { shape: Shape; what: string }> = {
  "dns.query": { shape: "s", what: "the queried name" },
  "dns.record_type": { shape: "s", what: "the queried record type (A, TXT, ...)" },
  "dns.answer": { shape: "s", what: "each answer's data (address, name or text)" },
  "dns.answer_type": { shape: "s", what: "each answer's record type" },
  "dns.src_ip": { shape: "s", what: "the client's address" },
  "dns.dst_ip": { shape: "s", what: "the server's address" },
  "dns.src_port": { shape: "n", what: "the client's port" },
  "dns.dst_port": { shape: "n", what: "the server's port" },
  "dns.rcode": { shape: "s", what: "the response code (NOERROR, NXDOMAIN, SERVFAIL, ...; net_packet_dns only)" },
  "dns.parent_domain": { shape: "s", what: "the registered domain of the queried name" },
  "dns.qr": { shape: "n", what: "0 for a query, 1 for a response" },
};

// ---- the events netsig is being given: HTTP, TLS and flows

const PKT_META: Shape = { src_ip: "s", dst_ip: "s", src_port: "n", dst_port: "n", protocol: "n", packet_len: "n", iface: "s" };
const ENDPOINTS = { src: "s", dst: "s", src_port: "n", dst_port: "n" } as const;
const FLOW: Record<string, Shape> = {
  conn_direction: "s",
  ...ENDPOINTS,
  src_dns: ["s"],
  dst_dns: ["s"],
  community_id: "s",
};

/**
 * The args of the events the Sigma log sources of HTTP, TLS and flows read
 * (compile/logsources.ts), as agreed for their builders. Until an event is
 * in the registry these are its shapes, so that rules for it compile; a
 * rule selecting it then sees no event of it (runtime.ts says so). Once the
 * registry declares it, its declaration's shapes are the ones used
 * (test/zeek.test.ts checks that they have these args).
 */
export const PENDING_ARG_SHAPES: Readonly<Record<string, Readonly<Record<string, Shape>>>> = {
  net_packet_http_request: {
    metadata: PKT_META,
    http_request: { method: "s", protocol: "s", host: "s", uri_path: "s", headers: "any", content_length: "n" },
  },
  net_packet_http_response: {
    metadata: PKT_META,
    http_response: { status: "s", status_code: "n", protocol: "s", headers: "any", content_length: "n" },
  },
  net_packet_tls_client_hello: {
    ...ENDPOINTS,
    tls_client_hello: {
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
    },
  },
  net_packet_tls_server_hello: {
    ...ENDPOINTS,
    tls_server_hello: {
      version: "n",
      selected_version: "n",
      cipher_suite: "n",
      extensions: ["n"],
      alpn: "s",
      ja3s: "s",
      ja3s_hash: "s",
    },
  },
  net_flow_tcp_begin: FLOW,
  net_flow_tcp_end: FLOW,
  net_flow_udp_begin: FLOW,
  net_flow_udp_end: FLOW,
};

/** an event's args and their shapes: the registry's, else the pending contract's (undefined for an unknown event) */
export function argShapes(event: string): Readonly<Record<string, Shape>> | undefined {
  return (ARG_SHAPES as Record<string, Readonly<Record<string, Shape>>>)[event] ?? PENDING_ARG_SHAPES[event];
}

const HTTP_EVENTS = ["net_packet_http_request", "net_packet_http_response"];
const TLS_EVENTS = ["net_packet_tls_client_hello", "net_packet_tls_server_hello"];
const FLOW_EVENTS = ["net_flow_tcp_begin", "net_flow_tcp_end", "net_flow_udp_begin", "net_flow_udp_end"];

/**
 * The fields derived.ts derives, for the fields of Sigma's log sources
 * (compile/logsources.ts maps Zeek's and the network category's names to
 * them): what each is, and the events it has values in.
 */
export const DERIVED_FIELDS: Record<string, { shape: Shape; events: readonly string[]; what: string }> = {
  "zeek.dns.query": { shape: "s", events: ["net_packet_dns"], what: "the question's name, ASCII lowercased and escaped as Zeek writes it" },
  "zeek.dns.qtype": { shape: "n", events: ["net_packet_dns"], what: "the question's type number" },
  "zeek.dns.qtype_name": { shape: "s", events: ["net_packet_dns"], what: "Zeek's name of the question's type (A, TXT, *, query-N)" },
  "zeek.dns.qclass": { shape: "n", events: ["net_packet_dns"], what: "the question's class number" },
  "zeek.dns.qclass_name": { shape: "s", events: ["net_packet_dns"], what: "Zeek's name of the question's class (C_INTERNET, ...)" },
  "zeek.dns.rcode": { shape: "n", events: ["net_packet_dns"], what: "a response's header RCODE" },
  "zeek.dns.rcode_name": { shape: "s", events: ["net_packet_dns"], what: "Zeek's name of the RCODE (NOERROR, NXDOMAIN, ...)" },
  "zeek.dns.answers": { shape: "s", events: ["net_packet_dns"], what: "each answer as Zeek lists it" },
  "zeek.dns.TTLs": { shape: "n", events: ["net_packet_dns"], what: "the TTL of each listed answer" },
  "zeek.dns.rejected": { shape: "b", events: ["net_packet_dns"], what: "a response Zeek calls rejected" },
  "zeek.dns.Z": { shape: "n", events: ["net_packet_dns"], what: "the header's 3-bit Z field (Z, AD, CD)" },
  "zeek.dns.AA": { shape: "b", events: ["net_packet_dns"], what: "the AA bit of a response listing an answer" },
  "zeek.dns.TC": { shape: "b", events: ["net_packet_dns"], what: "the TC bit" },
  "zeek.dns.RD": { shape: "b", events: ["net_packet_dns"], what: "the RD bit" },
  "zeek.dns.RA": { shape: "b", events: ["net_packet_dns"], what: "the RA bit of a response listing an answer" },
  "zeek.dns.trans_id": { shape: "n", events: ["net_packet_dns"], what: "the message's ID" },
  "zeek.dns.opcode": { shape: "n", events: ["net_packet_dns"], what: "the header's opcode" },
  "zeek.dns.opcode_name": { shape: "s", events: ["net_packet_dns"], what: "Zeek's name of the opcode" },
  "net.dns.question.class": { shape: "s", events: ["net_packet_dns"], what: "the question's class mnemonic (IN)" },
  "net.dns.answers.name": { shape: "s", events: ["net_packet_dns"], what: "each answer's owner name" },
  "net.dns.answers.class": { shape: "s", events: ["net_packet_dns"], what: "each answer's class mnemonic" },
  "net.dns.answers.ttl": { shape: "n", events: ["net_packet_dns"], what: "each answer's TTL" },
  "net.dns.header.flags": { shape: "s", events: ["net_packet_dns"], what: "the header flags set (AA, TC, RD, RA, AD, CD, DO)" },
  "conn.proto": {
    shape: "s",
    events: ["net_packet_dns", ...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS],
    what: "the transport, udp or tcp",
  },
  "conn.orig_h": { shape: "s", events: [...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS], what: "the originator's (client's) address" },
  "conn.orig_p": { shape: "n", events: [...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS], what: "the originator's port" },
  "conn.resp_h": { shape: "s", events: [...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS], what: "the responder's (server's) address" },
  "conn.resp_p": { shape: "n", events: [...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS], what: "the responder's port" },
  "conn.ip_version": { shape: "s", events: [...HTTP_EVENTS, ...TLS_EVENTS, ...FLOW_EVENTS], what: "ipv4 or ipv6" },
  "http.user_agent": { shape: "s", events: HTTP_EVENTS, what: "the request's User-Agent" },
  "http.referrer": { shape: "s", events: HTTP_EVENTS, what: "the request's Referer" },
  "http.origin": { shape: "s", events: HTTP_EVENTS, what: "the request's Origin" },
  "http.status_msg": { shape: "s", events: HTTP_EVENTS, what: "the response's reason phrase" },
  "http.version": { shape: "s", events: HTTP_EVENTS, what: "the HTTP version (1.1)" },
  "http.client_header_names": { shape: "s", events: HTTP_EVENTS, what: "the request's header names, in capitals" },
  "http.server_header_names": { shape: "s", events: HTTP_EVENTS, what: "the response's header names, in capitals" },
  "ssl.server_name": { shape: "s", events: TLS_EVENTS, what: "the client hello's SNI" },
  "ssl.version": { shape: "s", events: TLS_EVENTS, what: "the version the server chose, as Zeek names it (TLSv12)" },
  "ssl.cipher": { shape: "s", events: TLS_EVENTS, what: "the cipher suite the server chose, by IANA's name" },
  "ssl.next_protocol": { shape: "s", events: TLS_EVENTS, what: "the ALPN protocol the server chose" },
};

/** events that carry DNS (where the dns.* fields have values) */
export const DNS_EVENTS: readonly EventName[] = EVENT_NAMES.filter((_, k) => DNS_MASK & (1 << k));

export function shapeName(s: Shape): string {
  if (s === "s") return "text";
  if (s === "n") return "a number";
  if (s === "b") return "true/false";
  if (s === "any") return "anything";
  if (Array.isArray(s)) return "a list";
  return "an object";
}
