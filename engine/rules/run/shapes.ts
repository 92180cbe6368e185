// What a field path can reach in each netsig event (the shapes of
// events/types.ts), so that a rule naming a field that no selected event has
// is an error with a suggestion, not a rule that silently never fires.
// Host side only.

import type { EventName } from "../../types/events";

/** "s" string, "n" number, "b" boolean, [T] array of T, {..} object, "any" unchecked */
export type Shape = "s" | "n" | "b" | "any" | Shape[] | { [k: string]: Shape };

const PROTO_IPV4: Shape = { version: "n", IHL: "n", TOS: "n", length: "n", id: "n", flags: "n", fragOffset: "n", TTL: "n", protocol: "s", checksum: "n", srcIP: "s", dstIP: "s" };
const PROTO_IPV6: Shape = { version: "n", trafficClass: "n", flowLabel: "n", length: "n", nextHeader: "s", hopLimit: "n", srcIP: "s", dstIP: "s" };
const PROTO_TCP: Shape = {
  srcPort: "n", dstPort: "n", seq: "n", ack: "n", dataOffset: "n", FIN: "n", SYN: "n", RST: "n", PSH: "n", ACK: "n", URG: "n",
  ECE: "n", CWR: "n", NS: "n", window: "n", checksum: "n", urgent: "n",
};
const PROTO_UDP: Shape = { srcPort: "n", dstPort: "n", length: "n", checksum: "n" };
const PROTO_ICMP: Shape = { typeCode: "s", checksum: "n", id: "n", seq: "n" };
const PROTO_ICMPV6: Shape = { typeCode: "s", checksum: "n" };
const RR: Shape = {
  name: "s", type: "s", class: "s", TTL: "n", IP: "s", NS: "s", CNAME: "s", PTR: "s", TXTs: ["s"],
  SOA: { MName: "s", RName: "s", serial: "n", refresh: "n", retry: "n", expire: "n", minimum: "n" },
  SRV: { priority: "n", weight: "n", port: "n", name: "s" }, MX: { preference: "n", name: "s" },
  OPT: [{ code: "s", data: "s" }], URI: { priority: "n", weight: "n", target: "s" }, TXT: "s",
};
const PROTO_DNS: Shape = {
  ID: "n", QR: "n", opCode: "s", AA: "n", TC: "n", RD: "n", RA: "n", Z: "n", responseCode: "s", QDCount: "n", ANCount: "n",
  NSCount: "n", ARCount: "n", questions: [{ name: "s", type: "s", class: "s" }], answers: [RR], authorities: [RR], additionals: [RR],
};
const META: Shape = { src_ip: "s", dst_ip: "s", src_port: "n", dst_port: "n", protocol: "n", packet_len: "n", iface: "s" };
const QUERY: Shape = { query: "s", query_type: "s", query_class: "s" };

/** each event's args and their shapes */
export const ARG_SHAPES: Record<EventName, Record<string, Shape>> = {
  net_packet_ipv4: { src: "s", dst: "s", proto_ipv4: PROTO_IPV4 },
  net_packet_ipv6: { src: "s", dst: "s", proto_ipv6: PROTO_IPV6 },
  net_packet_tcp: { src: "s", dst: "s", proto_tcp: PROTO_TCP },
  net_packet_udp: { src: "s", dst: "s", proto_udp: PROTO_UDP },
  net_packet_icmp: { src: "s", dst: "s", proto_icmp: PROTO_ICMP },
  net_packet_icmpv6: { src: "s", dst: "s", proto_icmpv6: PROTO_ICMPV6 },
  net_packet_dns: { src: "s", dst: "s", src_port: "n", dst_port: "n", proto_dns: PROTO_DNS },
  net_packet_dns_request: { metadata: META, dns_questions: [QUERY] },
  net_packet_dns_response: { metadata: META, dns_response: [{ query_data: QUERY, dns_answer: [{ answer_type: "s", ttl: "n", answer: "s" }] }] },
};

/** the envelope's fields (the top level of every event) */
export const TOP_SHAPES: Record<string, Shape> = {
  timestamp: "n", threadStartTime: "n", processorId: "n", processId: "n", cgroupId: "n", threadId: "n", parentProcessId: "n",
  hostProcessId: "n", hostThreadId: "n", hostParentProcessId: "n", userId: "n", mountNamespace: "n", pidNamespace: "n",
  processName: "s", executable: { path: "s" }, hostName: "s", containerId: "s", container: "any", kubernetes: "any",
  eventId: "s", eventName: "s", matchedPolicies: ["s"], argsNum: "n", returnValue: "n", syscall: "s", stackAddresses: ["n"],
  contextFlags: { containerStarted: "b", isCompat: "b" }, threadEntityId: "n", processEntityId: "n", parentEntityId: "n",
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

/** events that carry DNS (where the dns.* fields have values) */
export const DNS_EVENTS: EventName[] = ["net_packet_dns", "net_packet_dns_request", "net_packet_dns_response"];

export function shapeName(s: Shape): string {
  if (s === "s") return "text";
  if (s === "n") return "a number";
  if (s === "b") return "true/false";
  if (s === "any") return "anything";
  if (Array.isArray(s)) return "a list";
  return "an object";
}
