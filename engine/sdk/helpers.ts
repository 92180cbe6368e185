// `netsig/helpers`: what Tracee's signatures/helpers package offers, for
// netsig's events, plus DNS/IP utilities detections need.
//
// This file runs inside the signature sandbox (it is loaded into each
// sandbox realm as source), so it uses no Node.js API and imports only types
// and sdk/addr.ts (which uses none either).

import type {
  Arg,
  DnsQueryData,
  DnsResponseData,
  PktMeta,
  ProtoDNS,
  ProtoHTTP,
  ProtoHTTPRequest,
  ProtoHTTPResponse,
  ProtoICMP,
  ProtoICMPv6,
  ProtoIPv4,
  ProtoIPv6,
  ProtoTCP,
  ProtoUDP,
  TraceeEvent,
} from "../types/events";
import { in4, in6, parse4, parse6, type Prefix4, type Prefix6 } from "./addr";

/**
 * the arg named `name`, or undefined (a scan: events have at most five args,
 * and their names are the same interned strings; a table of where each arg
 * sits, looked at first, was slower)
 */
export function getArg(event: TraceeEvent, name: string): Arg | undefined {
  const args = event.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.name === name) return a;
  }
  return undefined;
}

/** the value of the arg named `name`; throws when the event has none (like Tracee's helpers) */
export function getArgValue<T = unknown>(event: TraceeEvent, name: string): T {
  const a = getArg(event, name);
  if (a === undefined) throw new Error(`event ${event.eventName} has no arg "${name}"`);
  return a.value as T;
}

export const getProtoIPv4 = (e: TraceeEvent): ProtoIPv4 => getArgValue<ProtoIPv4>(e, "proto_ipv4");
export const getProtoIPv6 = (e: TraceeEvent): ProtoIPv6 => getArgValue<ProtoIPv6>(e, "proto_ipv6");
export const getProtoTCP = (e: TraceeEvent): ProtoTCP => getArgValue<ProtoTCP>(e, "proto_tcp");
export const getProtoUDP = (e: TraceeEvent): ProtoUDP => getArgValue<ProtoUDP>(e, "proto_udp");
export const getProtoICMP = (e: TraceeEvent): ProtoICMP => getArgValue<ProtoICMP>(e, "proto_icmp");
export const getProtoICMPv6 = (e: TraceeEvent): ProtoICMPv6 => getArgValue<ProtoICMPv6>(e, "proto_icmpv6");
export const getProtoDNS = (e: TraceeEvent): ProtoDNS => getArgValue<ProtoDNS>(e, "proto_dns");
export const getDNSQuestions = (e: TraceeEvent): DnsQueryData[] => getArgValue<DnsQueryData[]>(e, "dns_questions");
export const getDNSResponse = (e: TraceeEvent): DnsResponseData[] => getArgValue<DnsResponseData[]>(e, "dns_response");
export const getProtoHTTP = (e: TraceeEvent): ProtoHTTP => getArgValue<ProtoHTTP>(e, "proto_http");
export const getHTTPRequest = (e: TraceeEvent): ProtoHTTPRequest => getArgValue<ProtoHTTPRequest>(e, "http_request");
export const getHTTPResponse = (e: TraceeEvent): ProtoHTTPResponse => getArgValue<ProtoHTTPResponse>(e, "http_response");

// ---- HTTP

/**
 * The HTTP request an event carries: net_packet_http_request's, or
 * net_packet_http's when it is a request; undefined for any other event
 */
export function httpRequestOf(e: TraceeEvent): ProtoHTTPRequest | undefined {
  const r = getArg(e, "http_request");
  if (r !== undefined) return r.value as ProtoHTTPRequest;
  const h = getArg(e, "proto_http")?.value as ProtoHTTP | undefined;
  return h !== undefined && h.direction === "request" ? h : undefined;
}

/**
 * The HTTP response an event carries: net_packet_http_response's, or
 * net_packet_http's when it is a response; undefined for any other event
 */
export function httpResponseOf(e: TraceeEvent): ProtoHTTPResponse | undefined {
  const r = getArg(e, "http_response");
  if (r !== undefined) return r.value as ProtoHTTPResponse;
  const h = getArg(e, "proto_http")?.value as ProtoHTTP | undefined;
  return h !== undefined && h.direction === "response" ? h : undefined;
}

/** every value of header `name` (any case: "user-agent" finds User-Agent), in order; [] without it */
export function headerValues(headers: Readonly<Record<string, readonly string[]>> | null | undefined, name: string): string[] {
  if (headers === null || headers === undefined) return [];
  const exact = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (exact !== undefined) return [...exact];
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) out.push(...headers[k]);
  return out;
}

/** the first value of header `name` (any case), or undefined */
export function headerValue(headers: Readonly<Record<string, readonly string[]>> | null | undefined, name: string): string | undefined {
  return headerValues(headers, name)[0];
}

/**
 * The host of an HTTP Host value without its port: "a.test:8080" -> "a.test",
 * "[::1]:80" -> "::1", "10.0.0.1" -> "10.0.0.1" (lower-cased)
 */
export function hostWithoutPort(host: string): string {
  const h = host.trim();
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    return (close < 0 ? h.slice(1) : h.slice(1, close)).toLowerCase();
  }
  const colon = h.indexOf(":");
  // one colon: a port; more: a bare IPv6 address
  if (colon >= 0 && h.indexOf(":", colon + 1) < 0) return h.slice(0, colon).toLowerCase();
  return h.toLowerCase();
}

/** whether an HTTP Host value names an IP address (v4, or v6 in brackets or bare), not a DNS name */
export function isIPHost(host: string): boolean {
  const h = hostWithoutPort(host);
  return parseIPv4(h) !== null || (h.includes(":") && parseIPv6(h) !== null);
}

/** a flow event (net_flow_tcp_begin/_end, net_flow_udp_begin/_end) as one typed object */
export interface NetFlow {
  proto: "tcp" | "udp";
  phase: "begin" | "end";
  /** Tracee's conn_direction: "outgoing" when the originator is local (docs/events.md), else "incoming" */
  direction: string;
  /** the originator (a TCP SYN's sender, a UDP flow's first packet's) and the responder */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** names of src and dst in DNS answers seen on the wire (a CNAME chain: the question first); [] when none */
  srcDns: string[];
  dstDns: string[];
  /** Community ID v1 ("1:...") of the flow: the same as Zeek's, Suricata's, Wireshark's */
  communityId: string;
}

/** is it one of the four flow events? */
export function isFlowEvent(e: TraceeEvent): boolean {
  return e.eventName.startsWith("net_flow_");
}

/** a flow event's args, typed; throws for another event (like getArgValue) */
export function getFlow(e: TraceeEvent): NetFlow {
  const m = /^net_flow_(tcp|udp)_(begin|end)$/.exec(e.eventName);
  if (m === null) throw new Error(`event ${e.eventName} is not a flow event`);
  return {
    proto: m[1] as NetFlow["proto"],
    phase: m[2] as NetFlow["phase"],
    direction: getArgValue<string>(e, "conn_direction"),
    src: getArgValue<string>(e, "src"),
    dst: getArgValue<string>(e, "dst"),
    srcPort: getArgValue<number>(e, "src_port"),
    dstPort: getArgValue<number>(e, "dst_port"),
    srcDns: getArgValue<string[] | null>(e, "src_dns") ?? [],
    dstDns: getArgValue<string[] | null>(e, "dst_dns") ?? [],
    communityId: String(getArg(e, "community_id")?.value ?? ""),
  };
}

/**
 * Addresses and ports of any netsig event: the PktMeta of the simple DNS
 * events, or one made from src/dst and the transport ports of the others
 * (ports 0 and protocol 0 where the event has none).
 */
export function getPacketMetadata(e: TraceeEvent): PktMeta {
  const meta = getArg(e, "metadata");
  if (meta !== undefined) return meta.value as PktMeta;
  const src = String(getArg(e, "src")?.value ?? "");
  const dst = String(getArg(e, "dst")?.value ?? "");
  let srcPort = 0,
    dstPort = 0,
    protocol = 0,
    len = 0;
  const v = (getArg(e, "proto_tcp") ?? getArg(e, "proto_udp"))?.value as { srcPort: number; dstPort: number } | undefined;
  if (v) {
    srcPort = v.srcPort;
    dstPort = v.dstPort;
    protocol = getArg(e, "proto_tcp") ? 6 : 17;
  }
  const sp = getArg(e, "src_port");
  if (sp) {
    srcPort = Number(sp.value);
    dstPort = Number(getArg(e, "dst_port")?.value ?? 0);
    protocol = e.eventName.startsWith("net_flow_tcp") ? 6 : 17;
  }
  if (getArg(e, "proto_http")) protocol = 6;
  if (getArg(e, "proto_icmp")) protocol = 1;
  if (getArg(e, "proto_icmpv6")) protocol = 58;
  const ip4 = getArg(e, "proto_ipv4")?.value as ProtoIPv4 | undefined;
  if (ip4) len = ip4.length;
  const ip6 = getArg(e, "proto_ipv6")?.value as ProtoIPv6 | undefined;
  if (ip6) len = ip6.length;
  return { src_ip: src, dst_ip: dst, src_port: srcPort, dst_port: dstPort, protocol, packet_len: len, iface: "any" };
}

// ---- IP addresses

function parseIPv4(s: string): number[] | null {
  // (a character loop: split and a regex per part made this the costliest
  // helper of the shipped signatures)
  const out = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return null;
      out[part++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57 || digits === 3) return null;
    v = v * 10 + (c - 48);
    digits++;
  }
  if (part !== 3 || digits === 0 || v > 255 || out[0] > 255 || out[1] > 255 || out[2] > 255) return null;
  out[3] = v;
  return out;
}

/** 16-bit groups of an IPv6 address (embedded IPv4 allowed), or null */
export function parseIPv6(s: string): number[] | null {
  let text = s;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = parseIPv4(v4[1]);
    if (!b) return null;
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    text = text.slice(0, -v4[1].length) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null;
  const groups = [...head, ...new Array(fill).fill("0"), ...rest];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const words = groups.map((g) => parseInt(g, 16));
  if (tail.length) words.splice(6, 2, ...tail);
  return words;
}

/** loopback: 127.0.0.0/8, ::1 */
export function isLoopbackIP(ip: string): boolean {
  const v4 = parseIPv4(ip);
  if (v4) return v4[0] === 127;
  const v6 = parseIPv6(ip);
  if (v6 === null) return false;
  return v6.slice(0, 7).every((w) => w === 0) && v6[7] === 1;
}

/**
 * Not globally routable: RFC 1918, loopback, link-local, CGNAT (100.64/10),
 * 0/8, unique-local fc00::/7, link-local fe80::/10, IPv4-mapped private.
 */
export function isPrivateIP(ip: string): boolean {
  const v4 = parseIPv4(ip);
  if (v4) {
    const [a, b] = v4;
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const v6 = parseIPv6(ip);
  if (!v6) return false;
  if (v6.slice(0, 5).every((w) => w === 0) && v6[5] === 0xffff) {
    return isPrivateIP(`${v6[6] >> 8}.${v6[6] & 255}.${v6[7] >> 8}.${v6[7] & 255}`);
  }
  if (v6.every((w, i) => (i < 7 ? w === 0 : w <= 1))) return true; // :: and ::1
  return (v6[0] & 0xfe00) === 0xfc00 || (v6[0] & 0xffc0) === 0xfe80;
}

/**
 * Whether `ip` is inside `cidr` ("10.0.0.0/8", "fc00::/7", or a bare address
 * for a single host). IPv4 never matches an IPv6 prefix (and the reverse);
 * a malformed address or prefix matches nothing.
 */
export function ipInCidr(ip: string, cidr: string): boolean {
  const c = parsedCidr(cidr);
  if (c === null) return false;
  const a = c.v4 ? parseIPv4(ip) : ip.includes(":") ? parseIPv6(ip) : null;
  return a !== null && inCidr(a, c);
}

/**
 * A set of prefixes parsed once, for testing many addresses against the same
 * list (an allow-list, the private ranges): each address is parsed once per
 * test, not once per prefix. Malformed prefixes are left out (see `invalid`).
 */
export class CidrSet {
  // (the prefixes as sdk/addr.ts tests them: an address is parsed without making anything)
  private readonly v4: Prefix4[] = [];
  private readonly v6: Prefix6[] = [];
  /** the prefixes that did not parse */
  readonly invalid: string[] = [];
  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const c = parsedCidr(text);
      if (c === null) this.invalid.push(text);
      else if (c.v4) this.v4.push({ base: ((c.base[0] << 24) >>> 0) + (c.base[1] << 16) + (c.base[2] << 8) + c.base[3], bits: c.bits });
      else this.v6.push({ base: Uint16Array.from(c.base), bits: c.bits });
    }
  }
  has(ip: string): boolean {
    if (typeof ip !== "string") return false;
    if (ip.includes(":")) {
      const list = this.v6;
      if (list.length === 0 || !parse6(ip)) return false;
      for (let i = 0; i < list.length; i++) if (in6(list[i])) return true;
      return false;
    }
    const list = this.v4;
    if (list.length === 0) return false;
    const a = parse4(ip, 0, ip.length);
    if (a < 0) return false;
    for (let i = 0; i < list.length; i++) if (in4(a, list[i])) return true;
    return false;
  }
}

function inCidr(a: readonly number[], c: Cidr): boolean {
  let bits = c.bits;
  for (let i = 0; i < a.length && bits > 0; i++, bits -= c.width) {
    const take = Math.min(bits, c.width);
    const mask = ((1 << take) - 1) << (c.width - take);
    if ((a[i] & mask) !== (c.base[i] & mask)) return false;
  }
  return true;
}

interface Cidr {
  v4: boolean;
  base: number[];
  bits: number;
  width: number;
}

// Signatures test the same few prefixes again and again (allow-lists): parse each once.
const CIDRS = new Map<string, Cidr | null>();

function parsedCidr(cidr: string): Cidr | null {
  let c = CIDRS.get(cidr);
  if (c !== undefined) return c;
  const slash = cidr.indexOf("/");
  const baseText = slash < 0 ? cidr : cidr.slice(0, slash);
  const b4 = parseIPv4(baseText);
  const base = b4 ?? parseIPv6(baseText.includes(":") ? baseText : "");
  c = null;
  if (base) {
    const width = b4 ? 8 : 16; // bits per element
    const maxBits = base.length * width;
    const bitsText = slash < 0 ? String(maxBits) : cidr.slice(slash + 1);
    const bits = Number(bitsText);
    if (/^\d{1,3}$/.test(bitsText) && bits <= maxBits) c = { v4: b4 !== null, base, bits, width };
  }
  if (CIDRS.size >= 1024) CIDRS.clear();
  CIDRS.set(cidr, c);
  return c;
}

// ---- DNS names

/**
 * Public suffixes of more than one label that netsig knows (a compact list
 * of the common second-level registries; not the full Public Suffix List).
 */
const MULTI_LABEL_SUFFIXES = new Set([
  "co.uk",
  "org.uk",
  "ac.uk",
  "gov.uk",
  "ltd.uk",
  "plc.uk",
  "me.uk",
  "net.uk",
  "com.au",
  "net.au",
  "org.au",
  "edu.au",
  "gov.au",
  "com.br",
  "net.br",
  "org.br",
  "gov.br",
  "edu.br",
  "co.jp",
  "ne.jp",
  "or.jp",
  "ac.jp",
  "go.jp",
  "co.kr",
  "or.kr",
  "co.nz",
  "org.nz",
  "net.nz",
  "co.za",
  "org.za",
  "com.cn",
  "net.cn",
  "org.cn",
  "gov.cn",
  "com.tw",
  "org.tw",
  "com.hk",
  "org.hk",
  "com.mx",
  "org.mx",
  "com.ar",
  "com.tr",
  "org.tr",
  "com.sg",
  "com.my",
  "co.in",
  "net.in",
  "org.in",
  "co.id",
  "or.id",
  "com.pl",
  "com.ru",
  "com.ua",
  "co.il",
  "org.il",
  "com.es",
  "com.pt",
  "co.th",
  "in-addr.arpa",
  "ip6.arpa",
]);

/** "a.b.example.co.uk" -> "example.co.uk"; a name with fewer labels is returned as is */
// Traffic asks the same names again and again: remember the last few thousand answers.
const REGISTERED = new Map<string, string>();

export function registeredDomain(name: string): string {
  let r = REGISTERED.get(name);
  if (r === undefined) {
    r = computeRegisteredDomain(name);
    if (REGISTERED.size >= 8192) REGISTERED.clear();
    REGISTERED.set(name, r);
  }
  return r;
}

function computeRegisteredDomain(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  // the last two (or three) labels, found from the end without splitting
  const d1 = n.lastIndexOf(".");
  if (d1 < 0) return n;
  const d2 = n.lastIndexOf(".", d1 - 1);
  if (d2 < 0) return n;
  if (!MULTI_LABEL_SUFFIXES.has(n.slice(d2 + 1))) return n.slice(d2 + 1);
  const d3 = n.lastIndexOf(".", d2 - 1);
  return d3 < 0 ? n : n.slice(d3 + 1);
}

/** the labels left of the registered domain ("" when none) */
export function subdomainOf(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, "");
  const reg = registeredDomain(n);
  return n.length > reg.length ? n.slice(0, n.length - reg.length - 1) : "";
}

/** Shannon entropy in bits per character */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  // Latin-1 text (DNS names) is counted in a table; anything else in a map
  const counts = ENTROPY_COUNTS;
  let h = 0;
  let wide: Map<number, number> | null = null;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 256) counts[c]++;
    else (wide ??= new Map()).set(c, (wide.get(c) ?? 0) + 1);
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 256 || counts[c] === 0) continue;
    const p = counts[c] / n;
    h -= p * Math.log2(p);
    counts[c] = 0;
  }
  if (wide !== null)
    for (const k of wide.values()) {
      const p = k / n;
      h -= p * Math.log2(p);
    }
  return h;
}
const ENTROPY_COUNTS = new Uint32Array(256);

/** entropy of the subdomain part of a name (the labels a tunnel encodes data in) */
export function labelEntropy(name: string): number {
  return shannonEntropy(subdomainOf(name).replace(/\./g, ""));
}

/** the longest label of a name */
export function longestLabel(name: string): number {
  let max = 0;
  for (const l of name.split(".")) if (l.length > max) max = l.length;
  return max;
}

// ---- state

/**
 * "Report this once per window": remembers when each key (a pair of
 * addresses, a name...) was last reported, in packet time (event timestamps,
 * nanoseconds), for at most `maxKeys` keys (the oldest forgotten first), so a
 * signature's memory stays bounded on traffic that runs for days.
 */
export class ReportLimiter {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly windowSeconds: number,
    private readonly maxKeys = 4096,
  ) {}

  /** true when `key` was reported within the window before `nowNs`; otherwise records it and returns false */
  seen(key: string, nowNs: number): boolean {
    const last = this.last.get(key);
    if (last !== undefined && nowNs >= last && nowNs - last <= this.windowSeconds * 1e9) return true;
    this.last.delete(key);
    if (this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    this.last.set(key, nowNs);
    return false;
  }

  get size(): number {
    return this.last.size;
  }

  clear(): void {
    this.last.clear();
  }
}
