// The Tracee event shapes netsig emits (Tracee's newer, 2023 envelope; each
// event type's args exactly as Tracee's network-events documentation shows).

export interface Arg<T = unknown> {
  name: string;
  type: string;
  value: T;
}

export interface TraceeEvent {
  /** capture time, nanoseconds since the epoch (a double in memory; exact in JSON output) */
  timestamp: number;
  threadStartTime: number;
  processorId: number;
  processId: number;
  cgroupId: number;
  threadId: number;
  parentProcessId: number;
  hostProcessId: number;
  hostThreadId: number;
  hostParentProcessId: number;
  userId: number;
  mountNamespace: number;
  pidNamespace: number;
  processName: string;
  executable: { path: string };
  hostName: string;
  containerId: string;
  /** Tracee's Container {id, name, image, imageDigest}: only the keys with a value (engine/events/envelope.ts) */
  container: Readonly<Record<string, unknown>>;
  /** Tracee's Kubernetes {podName, podNamespace, podUID}: likewise */
  kubernetes: Readonly<Record<string, unknown>>;
  eventId: string;
  eventName: string;
  matchedPolicies: string[];
  argsNum: number;
  returnValue: number;
  syscall: string;
  stackAddresses: number[];
  contextFlags: { containerStarted: boolean; isCompat: boolean };
  threadEntityId: number;
  processEntityId: number;
  parentEntityId: number;
  args: Arg[];
}

export interface ProtoIPv4 {
  version: number;
  IHL: number;
  TOS: number;
  length: number;
  id: number;
  flags: number;
  fragOffset: number;
  TTL: number;
  protocol: string;
  checksum: number;
  srcIP: string;
  dstIP: string;
}
export interface ProtoIPv6 {
  version: number;
  trafficClass: number;
  flowLabel: number;
  length: number;
  nextHeader: string;
  hopLimit: number;
  srcIP: string;
  dstIP: string;
}
export interface ProtoTCP {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  dataOffset: number;
  FIN: number;
  SYN: number;
  RST: number;
  PSH: number;
  ACK: number;
  URG: number;
  ECE: number;
  CWR: number;
  NS: number;
  window: number;
  checksum: number;
  urgent: number;
}
export interface ProtoUDP {
  srcPort: number;
  dstPort: number;
  length: number;
  checksum: number;
}
export interface ProtoICMP {
  typeCode: string;
  checksum: number;
  id: number;
  seq: number;
}
export interface ProtoICMPv6 {
  typeCode: string;
  checksum: number;
}

export interface ProtoDNSQuestion {
  name: string;
  type: string;
  class: string;
}
export interface ProtoDNSSOA {
  MName: string;
  RName: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface ProtoDNSSRV {
  priority: number;
  weight: number;
  port: number;
  name: string;
}
export interface ProtoDNSMX {
  preference: number;
  name: string;
}
export interface ProtoDNSURI {
  priority: number;
  weight: number;
  target: string;
}
export interface ProtoDNSOPT {
  code: string;
  data: string;
}
export interface ProtoDNSResourceRecord {
  name: string;
  type: string;
  class: string;
  TTL: number;
  IP: string;
  NS: string;
  CNAME: string;
  PTR: string;
  TXTs: string[] | null;
  SOA: ProtoDNSSOA;
  SRV: ProtoDNSSRV;
  MX: ProtoDNSMX;
  OPT: ProtoDNSOPT[];
  URI: ProtoDNSURI;
  TXT: string;
}
export interface ProtoDNS {
  ID: number;
  QR: number;
  opCode: string;
  AA: number;
  TC: number;
  RD: number;
  RA: number;
  Z: number;
  responseCode: string;
  QDCount: number;
  ANCount: number;
  NSCount: number;
  ARCount: number;
  questions: ProtoDNSQuestion[];
  answers: ProtoDNSResourceRecord[];
  authorities: ProtoDNSResourceRecord[];
  additionals: ProtoDNSResourceRecord[];
}

export interface PktMeta {
  src_ip: string;
  dst_ip: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  packet_len: number;
  iface: string;
}
export interface DnsQueryData {
  query: string;
  query_type: string;
  query_class: string;
}
export interface DnsAnswer {
  answer_type: string;
  ttl: number;
  answer: string;
}
export interface DnsResponseData {
  query_data: DnsQueryData;
  dns_answer: DnsAnswer[] | null;
}

/** Tracee's trace.ProtoHTTP (types/trace/network_trace.go; fields in Go's order) */
export interface ProtoHTTP {
  /** "request" or "response" */
  direction: string;
  method: string;
  protocol: string;
  host: string;
  uri_path: string;
  status: string;
  status_code: number;
  /** Go's http.Header: canonical names, each with its values in order (JSON: names sorted) */
  headers: Record<string, string[]>;
  content_length: number;
}
export interface ProtoHTTPRequest {
  method: string;
  protocol: string;
  host: string;
  uri_path: string;
  headers: Record<string, string[]>;
  content_length: number;
}
export interface ProtoHTTPResponse {
  status: string;
  status_code: number;
  protocol: string;
  headers: Record<string, string[]>;
  content_length: number;
}

/** a TLS ClientHello as netsig shows it (netsig's own event: no Tracee type exists) */
export interface TLSClientHello {
  /** legacy_version of the hello (0x0303 for TLS 1.2 and 1.3) */
  version: number;
  /** the supported_versions extension's list, in order (GREASE included), [] without it */
  versions: number[];
  /** server_name (SNI), "" without it */
  sni: string;
  /** ALPN protocol names, in order */
  alpn: string[];
  cipher_suites: number[];
  /** extension types in order (GREASE included) */
  extensions: number[];
  supported_groups: number[];
  ec_point_formats: number[];
  signature_algorithms: number[];
  /** the JA3 string and its MD5 */
  ja3: string;
  ja3_hash: string;
  /** the JA4 fingerprint (FoxIO's JA4 specification) */
  ja4: string;
}
/** a TLS ServerHello as netsig shows it */
export interface TLSServerHello {
  version: number;
  /** the supported_versions extension's choice (TLS 1.3), else 0 */
  selected_version: number;
  cipher_suite: number;
  extensions: number[];
  /** the ALPN protocol chosen, "" without it */
  alpn: string;
  /** the JA3S string and its MD5 */
  ja3s: string;
  ja3s_hash: string;
}

/**
 * The event types netsig emits, in Tracee's ID order: each one's name, and
 * its number (its place here, and its bit in an event mask). Everything else
 * about an event type (Tracee's ID, its args, what yields it) is its
 * declaration in engine/events/registry.ts, and every table keyed by event
 * type is derived from those.
 */
export const EVENT_NAMES = [
  "net_packet_ipv4",
  "net_packet_ipv6",
  "net_packet_tcp",
  "net_packet_udp",
  "net_packet_icmp",
  "net_packet_icmpv6",
  "net_packet_dns",
  "net_packet_dns_request",
  "net_packet_dns_response",
  "net_packet_http",
  "net_packet_http_request",
  "net_packet_http_response",
  "net_flow_tcp_begin",
  "net_flow_tcp_end",
  "net_packet_tls_client_hello",
  "net_packet_tls_server_hello",
  "net_flow_udp_begin",
  "net_flow_udp_end",
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** the number of each event type (the place of its name in EVENT_NAMES) */
export const enum Ev {
  IPv4 = 0,
  IPv6,
  TCP,
  UDP,
  ICMP,
  ICMPv6,
  DNS,
  DNSRequest,
  DNSResponse,
  HTTP,
  HTTPRequest,
  HTTPResponse,
  FlowTCPBegin,
  FlowTCPEnd,
  TLSClientHello,
  TLSServerHello,
  FlowUDPBegin,
  FlowUDPEnd,
}

/** what a field path may reach in a value: "s" string, "n" number, "b" boolean, [T] array of T, {..} object, "any" unchecked */
export type Shape = "s" | "n" | "b" | "any" | Shape[] | { [k: string]: Shape };
