// Fields of the Sigma log sources that no event holds as such
// (rules/compile/logsources.ts): Zeek's dns, http, ssl and conn logs and
// Sigma's network category, derived from netsig's events. Each has a code
// (after the dns.* codes of fields.ts) and a scan that visits its values,
// read from a LazyEvent (the decoded packet, in netsig's process) or from a
// built event (the sandbox realm, tests). Both give the same values
// (test/lazy.test.ts) except where a built event lost what the packet said:
// a DNS type or class gopacket has no name for, and whether a DNS message
// came over UDP or TCP.
//
// How each value is made is Zeek's (scripts/base/protocols/dns/main.zeek,
// ssl/consts.zeek): test/zeek.test.ts writes down each choice.
// No Node API: the sandbox realm bundles this.

import {
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_CNAME,
  DNS_TYPE_MX,
  DNS_TYPE_NS,
  DNS_TYPE_PTR,
  DNS_TYPE_SOA,
  DNS_TYPE_SRV,
  DNS_TYPE_TXT,
  type DnsMessage,
  type DnsMX,
  type DnsRecord,
  type DnsSOA,
  type DnsSRV,
} from "../../decode/dnstypes";
import { Ev, type PktMeta, type ProtoDNS, type ProtoDNSResourceRecord, type TraceeEvent } from "../../types/events";
import { dnsClassName, dnsOpCodeName, dnsResponseCodeName, dnsTypeName } from "../../events/vocab";
import { LazyEvent } from "./lazy";
import { TLS_CIPHER_NAMES } from "./tls-ciphers";

/** what a scan hands the values to (fields.ts Scan): true when the scan is decided */
export interface Visitor {
  all: boolean;
  visit(v: unknown): boolean;
}

/**
 * The answer a finding shows (runtime.ts): while `arr` is an event's list of
 * answers, every field reads its element `i` only.
 */
export const ONLY: { arr: unknown; i: number } = { arr: null, i: -1 };

/** the first derived code (fields.ts's dns.* fields are 0-10) */
export const DERIVED_BASE = 11;

/**
 * The derived fields, in code order. The DNS ones come first: the values a
 * LazyEvent remembers are those of codes 0-30 (a bit each).
 */
export const DERIVED_NAMES: readonly string[] = [
  // Zeek's dns.log, over net_packet_dns (11-28)
  "zeek.dns.query",
  "zeek.dns.qtype",
  "zeek.dns.qtype_name",
  "zeek.dns.qclass",
  "zeek.dns.qclass_name",
  "zeek.dns.rcode",
  "zeek.dns.rcode_name",
  "zeek.dns.answers",
  "zeek.dns.TTLs",
  "zeek.dns.rejected",
  "zeek.dns.Z",
  "zeek.dns.AA",
  "zeek.dns.TC",
  "zeek.dns.RD",
  "zeek.dns.RA",
  "zeek.dns.trans_id",
  "zeek.dns.opcode",
  "zeek.dns.opcode_name",
  // Sigma's network category, service dns (29-33)
  "net.dns.question.class",
  "net.dns.answers.name",
  "net.dns.answers.class",
  "net.dns.answers.ttl",
  "net.dns.header.flags",
  // a connection's endpoints, Zeek's way (the originator is the client), and its transport
  "conn.proto",
  "conn.orig_h",
  "conn.orig_p",
  "conn.resp_h",
  "conn.resp_p",
  "conn.ip_version",
  // HTTP
  "http.user_agent",
  "http.referrer",
  "http.origin",
  "http.status_msg",
  "http.version",
  "http.client_header_names",
  "http.server_header_names",
  // TLS
  "ssl.server_name",
  "ssl.version",
  "ssl.cipher",
  "ssl.next_protocol",
];

const enum D {
  Query = 11,
  QType,
  QTypeName,
  QClass,
  QClassName,
  Rcode,
  RcodeName,
  Answers,
  TTLs,
  Rejected,
  Z,
  AA,
  TC,
  RD,
  RA,
  TransId,
  Opcode,
  OpcodeName,
  QuestionClass,
  AnswerName,
  AnswerClass,
  AnswerTTL,
  HeaderFlags,
  Proto,
  OrigH,
  OrigP,
  RespH,
  RespP,
  IpVersion,
  UserAgent,
  Referrer,
  Origin,
  StatusMsg,
  HttpVersion,
  ClientHeaderNames,
  ServerHeaderNames,
  ServerName,
  TlsVersion,
  Cipher,
  NextProtocol,
}

const CODES: Record<string, number> = Object.fromEntries(DERIVED_NAMES.map((n, i) => [n, DERIVED_BASE + i]));

/** the code of a derived field (-1: not one) */
export function derivedCode(name: string): number {
  const c = CODES[name];
  return c === undefined ? -1 : c;
}

// ---- text as Zeek writes it

/** `s` with ASCII capitals lowercased (Zeek lowercases a question's name byte by byte) */
function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return s;
}

/** a character Zeek writes as it is: printable ASCII, or \b \f \n \r \t */
function plainChar(c: number): boolean {
  return (c >= 32 && c < 127) || c === 8 || c === 9 || c === 10 || c === 12 || c === 13;
}

/** a character Zeek's escaping takes for a bad byte: a control character, private use, U+FFF0-FFFF, or an invalid byte (U+DC80-DCFF: decode/text.ts) */
function badChar(c: number): boolean {
  return c < 32 || c === 127 || (c >= 0x80 && c <= 0x9f) || (c >= 0xe000 && c <= 0xf8ff) || c >= 0xfff0 || (c >= 0xdc80 && c <= 0xdcff);
}

const HEX = "0123456789abcdef";

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/** the UTF-8 bytes of the character at i (a surrogate pair: both halves), as Zeek's \xNN escapes */
function escapeChar(s: string, i: number): string {
  const c = s.charCodeAt(i);
  if (c >= 0xdc80 && c <= 0xdcff) return hexByte(c & 0xff);
  const cp = s.codePointAt(i)!;
  if (cp < 0x80) return hexByte(cp);
  if (cp < 0x800) return hexByte(0xc0 | (cp >> 6)) + hexByte(0x80 | (cp & 63));
  if (cp < 0x10000) return hexByte(0xe0 | (cp >> 12)) + hexByte(0x80 | ((cp >> 6) & 63)) + hexByte(0x80 | (cp & 63));
  return hexByte(0xf0 | (cp >> 18)) + hexByte(0x80 | ((cp >> 12) & 63)) + hexByte(0x80 | ((cp >> 6) & 63)) + hexByte(0x80 | (cp & 63));
}

/**
 * Bytes of the wire as Zeek's JSON logs write them (its default hex escape
 * policy): as they are when they are printable ASCII or valid UTF-8; when a
 * byte is not (an invalid byte, a control character), every byte outside
 * printable ASCII is written \xNN.
 */
export function zeekText(s: string): string {
  let bad = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (plainChar(c)) continue;
    if (badChar(c)) {
      bad = true;
      break;
    }
  }
  if (!bad) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (plainChar(c)) {
      out += s[i];
      continue;
    }
    out += escapeChar(s, i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
  }
  return out;
}

/** how many bytes the wire held for this text (decode/text.ts: U+DC80-DCFF stand for one byte each) */
export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) n += 1;
    else n += 3;
  }
  return n;
}

// ---- Zeek's names (scripts/base/protocols/dns/consts.zeek)

/** IANA's RR type mnemonics as Zeek names them ("*" for 255; others "query-N") */
const QUERY_TYPES: Record<number, string> = {
  1: "A",
  2: "NS",
  3: "MD",
  4: "MF",
  5: "CNAME",
  6: "SOA",
  7: "MB",
  8: "MG",
  9: "MR",
  10: "NULL",
  11: "WKS",
  12: "PTR",
  13: "HINFO",
  14: "MINFO",
  15: "MX",
  16: "TXT",
  17: "RP",
  18: "AFSDB",
  19: "X25",
  20: "ISDN",
  21: "RT",
  22: "NSAP",
  23: "NSAP-PTR",
  24: "SIG",
  25: "KEY",
  26: "PX",
  27: "GPOS",
  28: "AAAA",
  29: "LOC",
  30: "NXT",
  31: "EID",
  32: "NIMLOC",
  33: "SRV",
  34: "ATMA",
  35: "NAPTR",
  36: "KX",
  37: "CERT",
  38: "A6",
  39: "DNAME",
  40: "SINK",
  41: "OPT",
  42: "APL",
  43: "DS",
  44: "SSHFP",
  45: "IPSECKEY",
  46: "RRSIG",
  47: "NSEC",
  48: "DNSKEY",
  49: "DHCID",
  50: "NSEC3",
  51: "NSEC3PARAM",
  52: "TLSA",
  53: "SMIMEA",
  55: "HIP",
  56: "NINFO",
  57: "RKEY",
  58: "TALINK",
  59: "CDS",
  60: "CDNSKEY",
  61: "OPENPGPKEY",
  62: "CSYNC",
  63: "ZONEMD",
  64: "SVCB",
  65: "HTTPS",
  99: "SPF",
  100: "UINFO",
  101: "UID",
  102: "GID",
  103: "UNSPEC",
  104: "NID",
  105: "L32",
  106: "L64",
  107: "LP",
  108: "EUI48",
  109: "EUI64",
  249: "TKEY",
  250: "TSIG",
  251: "IXFR",
  252: "AXFR",
  253: "MAILB",
  254: "MAILA",
  255: "*",
  256: "URI",
  257: "CAA",
  32768: "TA",
  32769: "DLV",
  65281: "WINS",
  65282: "WINS-R",
  65422: "XPF",
  65521: "INTEGRITY",
};

export function zeekQueryType(t: number): string {
  return QUERY_TYPES[t] ?? `query-${t}`;
}

const CLASSES: Record<number, string> = { 1: "C_INTERNET", 2: "C_CSNET", 3: "C_CHAOS", 4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY" };

export function zeekClass(c: number): string {
  return CLASSES[c] ?? `qclass-${c}`;
}

/** Zeek's names of the header's 4-bit RCODE (its odd "NXRRSet" included) */
const RCODES: readonly string[] = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSet",
  "NOTAUTH",
  "NOTZONE",
  "unassigned-11",
  "unassigned-12",
  "unassigned-13",
  "unassigned-14",
  "unassigned-15",
];

const OPCODES: Record<number, string> = { 0: "query", 1: "iquery", 2: "server-status", 4: "notify", 5: "dynamic-update", 6: "dso" };

/** RFC 1035's class mnemonics (Sigma's network category, as ECS writes dns.question.class) */
function classMnemonic(c: number): string {
  switch (c) {
    case 1:
      return "IN";
    case 3:
      return "CH";
    case 4:
      return "HS";
    case 254:
      return "NONE";
    case 255:
      return "ANY";
    default:
      return `CLASS${c}`;
  }
}

/**
 * the RR types whose answers Zeek's dns.log does not list (no reply string:
 * OPT, HINFO, NB, SVCB, HTTPS, CAA, TKEY, TSIG), and a type a built event
 * does not name (gopacket names none of SVCB, HTTPS, CAA)
 */
function noReply(t: number): boolean {
  return t < 0 || t === 41 || t === 13 || t === 32 || t === 64 || t === 65 || t === 257 || t === 249 || t === 250;
}

/** the RR types Zeek's analyzer decodes (each has its own form in dns.log); the others are "<unknown type=N>" */
function zeekDecodes(t: number): boolean {
  switch (t) {
    case 1:
    case 2:
    case 5:
    case 6:
    case 11:
    case 12:
    case 13:
    case 15:
    case 16:
    case 28:
    case 29:
    case 32:
    case 33:
    case 35:
    case 38:
    case 41:
    case 43:
    case 44:
    case 46:
    case 47:
    case 48:
    case 50:
    case 51:
    case 64:
    case 65:
    case 99:
    case 249:
    case 250:
    case 257:
    case 65534:
      return true;
    default:
      return false;
  }
}

/**
 * An answer as Zeek's dns.log lists it: the address, the name (NS, CNAME,
 * PTR, MX's exchange, SRV's target, SOA's MNAME), each TXT string as
 * "TXT <bytes> <text>" joined by spaces, "<unknown type=N>" for a type
 * Zeek does not decode; null when Zeek lists nothing for it (an empty TXT,
 * OPT, HINFO, ...) or it is one netsig does not decode as Zeek writes it
 * (DNSSEC records, NAPTR, SSHFP, LOC, SPF, A6, WKS).
 */
function zeekAnswer(rr: DnsRecord): string | null {
  switch (rr.type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
      return rr.data as string;
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
      return zeekText(rr.data as string);
    case DNS_TYPE_MX:
      return zeekText((rr.data as DnsMX).exchange);
    case DNS_TYPE_SRV:
      return zeekText((rr.data as DnsSRV).target);
    case DNS_TYPE_SOA:
      return zeekText((rr.data as DnsSOA).mname);
    case DNS_TYPE_TXT: {
      const t = rr.data as string[];
      let out = "";
      for (let i = 0; i < t.length; i++) out += `${i > 0 ? " " : ""}TXT ${byteLength(t[i])} ${zeekText(t[i])}`;
      return t.length > 0 ? out : null;
    }
    default:
      if (rr.type < 0 || zeekDecodes(rr.type)) return null;
      return `<unknown type=${rr.type}>`;
  }
}

/** a TXT record's strings joined (visited besides the strings one by one: a word split across two strings is matched too) */
export function joinedTxt(rr: DnsRecord): string | null {
  if (rr.type !== DNS_TYPE_TXT) return null;
  const t = rr.data as string[];
  return t.length > 1 ? t.join("") : null;
}

// ---- a DNS message, from a LazyEvent or a built net_packet_dns event

const RCODE_NUMBERS = new Map<string, number>();
const TYPE_NUMBERS = new Map<string, number>();
const CLASS_NUMBERS = new Map<string, number>();
const OPCODE_NUMBERS = new Map<string, number>();

/** the number of a gopacket name (as Tracee prints them), -1 when gopacket has none for it */
function numberOf(map: Map<string, number>, name: string, fill: (m: Map<string, number>) => void): number {
  if (map.size === 0) fill(map);
  const n = map.get(name);
  return n === undefined ? -1 : n;
}

function fillNames(m: Map<string, number>, max: number, name: (n: number) => string): void {
  for (let n = max; n >= 0; n--) {
    const s = name(n);
    if (s !== "Unknown" && s !== "unknown") m.set(s, n);
  }
}

const typeNumber = (s: string) => numberOf(TYPE_NUMBERS, s, (m) => fillNames(m, 65535, dnsTypeName));
const classNumber = (s: string) => numberOf(CLASS_NUMBERS, s, (m) => fillNames(m, 65535, dnsClassName));
const rcodeNumber = (s: string) => numberOf(RCODE_NUMBERS, s, (m) => fillNames(m, 255, dnsResponseCodeName));
const opcodeNumber = (s: string) => numberOf(OPCODE_NUMBERS, s, (m) => fillNames(m, 15, dnsOpCodeName));

function recordOf(r: ProtoDNSResourceRecord): DnsRecord {
  const type = typeNumber(r.type);
  let data: unknown = null;
  switch (type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
      data = r.IP;
      break;
    case DNS_TYPE_NS:
      data = r.NS;
      break;
    case DNS_TYPE_CNAME:
      data = r.CNAME;
      break;
    case DNS_TYPE_PTR:
      data = r.PTR;
      break;
    case DNS_TYPE_MX:
      data = { preference: r.MX.preference, exchange: r.MX.name };
      break;
    case DNS_TYPE_SRV:
      data = { priority: r.SRV.priority, weight: r.SRV.weight, port: r.SRV.port, target: r.SRV.name };
      break;
    case DNS_TYPE_SOA:
      data = { mname: r.SOA.MName };
      break;
    case DNS_TYPE_TXT:
      data = r.TXTs ?? [];
      break;
    default:
      break;
  }
  return { name: r.name, type, class: classNumber(r.class), ttl: r.TTL, data, raw: r.TXT };
}

/** a built net_packet_dns event's message, as the decoder holds it (made once per event) */
const BUILT = new WeakMap<object, DnsMessage>();

function builtMessage(d: ProtoDNS): DnsMessage {
  let m = BUILT.get(d);
  if (m !== undefined) return m;
  const rc = rcodeNumber(d.responseCode);
  const op = opcodeNumber(d.opCode);
  const flags =
    (d.QR << 15) | (Math.max(op, 0) << 11) | (d.AA << 10) | (d.TC << 9) | (d.RD << 8) | (d.RA << 7) | (d.Z << 4) | (rc < 0 ? 0 : rc & 15);
  m = {
    id: d.ID,
    flags,
    qdCount: d.QDCount,
    anCount: d.ANCount,
    nsCount: d.NSCount,
    arCount: d.ARCount,
    questions: d.questions.map((q) => ({ name: q.name, type: typeNumber(q.type), class: classNumber(q.class) })),
    answers: d.answers.map(recordOf),
    authorities: [],
    additionals: d.additionals.map(recordOf),
  };
  BUILT.set(d, m);
  return m;
}

function argOf(ev: TraceeEvent, name: string): unknown {
  if (ev instanceof LazyEvent) return (ev as LazyEvent).arg(name);
  const args = ev.args;
  for (let i = 0; i < args.length; i++) if (args[i].name === name) return args[i].value;
  return undefined;
}

/** the values of a DNS field of a message (`tcp`: its transport, null when the event does not say; `only`: the answer a finding shows, or -1) */
function dnsDerived(m: DnsMessage, tcp: boolean | null, code: number, s: Visitor, only: number): void {
  const f = m.flags;
  const resp = f >>> 15 === 1;
  switch (code) {
    case D.Query:
    case D.QType:
    case D.QTypeName:
    case D.QClass:
    case D.QClassName:
    case D.QuestionClass: {
      const qs = m.questions;
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i];
        let v: unknown;
        if (code === D.Query) v = zeekText(asciiLower(q.name));
        else if (code === D.QType || code === D.QTypeName) {
          if (q.type < 0) continue;
          v = code === D.QType ? q.type : zeekQueryType(q.type);
        } else {
          if (q.class < 0) continue;
          v = code === D.QClass ? q.class : code === D.QClassName ? zeekClass(q.class) : classMnemonic(q.class);
        }
        if (s.visit(v)) return;
      }
      return;
    }
    case D.Rcode:
      if (resp) s.visit(f & 15);
      return;
    case D.RcodeName:
      if (resp) s.visit(RCODES[f & 15]);
      return;
    case D.Answers:
    case D.TTLs:
    case D.AnswerName:
    case D.AnswerClass:
    case D.AnswerTTL: {
      if (!resp) return;
      const as = m.answers;
      const lo = Math.max(only, 0);
      const hi = only < 0 ? as.length : Math.min(only + 1, as.length);
      for (let i = lo; i < hi; i++) {
        const rr = as[i];
        if (code === D.Answers || code === D.TTLs) {
          const a = zeekAnswer(rr);
          if (a === null) continue;
          if (s.visit(code === D.Answers ? a : rr.ttl)) return;
          if (code === D.Answers && !s.all) {
            const j = joinedTxt(rr);
            if (j !== null && s.visit(zeekText(j))) return;
          }
          continue;
        }
        if (code === D.AnswerClass && rr.class < 0) continue;
        if (s.visit(code === D.AnswerName ? rr.name : code === D.AnswerClass ? classMnemonic(rr.class) : rr.ttl)) return;
      }
      return;
    }
    case D.Rejected:
      s.visit(resp && ((m.qdCount > 0 && m.anCount === 0 && m.nsCount === 0 && m.arCount === 0) || ((f & 15) !== 0 && m.qdCount === 0)));
      return;
    case D.Z:
      s.visit((f >> 4) & 7);
      return;
    case D.AA:
    case D.RA: {
      // (Zeek takes AA and RA from a response when it lists an answer)
      let answered = false;
      if (resp) for (let i = 0; i < m.answers.length && !answered; i++) answered = !noReply(m.answers[i].type);
      s.visit(answered && ((f >> (code === D.AA ? 10 : 7)) & 1) === 1);
      return;
    }
    case D.TC:
      s.visit(((f >> 9) & 1) === 1);
      return;
    case D.RD:
      s.visit(((f >> 8) & 1) === 1);
      return;
    case D.TransId:
      s.visit(m.id);
      return;
    case D.Opcode:
    case D.OpcodeName: {
      const op = (f >> 11) & 15;
      s.visit(code === D.Opcode ? op : (OPCODES[op] ?? `opcode-${op}`));
      return;
    }
    case D.HeaderFlags: {
      if ((f >> 10) & 1 && s.visit("AA")) return;
      if ((f >> 9) & 1 && s.visit("TC")) return;
      if ((f >> 8) & 1 && s.visit("RD")) return;
      if ((f >> 7) & 1 && s.visit("RA")) return;
      if ((f >> 5) & 1 && s.visit("AD")) return;
      if ((f >> 4) & 1 && s.visit("CD")) return;
      const add = m.additionals;
      for (let i = 0; i < add.length; i++) {
        if (add[i].type === 41) {
          if ((add[i].ttl >>> 15) & 1) s.visit("DO");
          return;
        }
      }
      return;
    }
    case D.Proto:
      if (tcp !== null) s.visit(tcp ? "tcp" : "udp");
      return;
    default:
      return;
  }
}

// ---- HTTP, TLS and flows (events of the arg contract in rules/run/shapes.ts PENDING_ARG_SHAPES)

/** the events whose source is the responder (the originator is their destination) */
function fromResponder(name: string): boolean {
  return name === "net_packet_http_response" || name === "net_packet_tls_server_hello";
}

/** an endpoint of a connection, the originator's (orig) or the responder's */
function endpoint(ev: TraceeEvent, orig: boolean, port: boolean): unknown {
  const name = ev.eventName;
  const src = orig !== fromResponder(name);
  if (name === "net_packet_http_request" || name === "net_packet_http_response") {
    const meta = argOf(ev, "metadata") as PktMeta | undefined;
    if (meta === undefined || meta === null) return undefined;
    return port ? (src ? meta.src_port : meta.dst_port) : src ? meta.src_ip : meta.dst_ip;
  }
  return argOf(ev, port ? (src ? "src_port" : "dst_port") : src ? "src" : "dst");
}

/** a header's values (the headers map is Go's: canonical names to lists of values) */
function header(obj: unknown, name: string, s: Visitor): void {
  const h = obj !== null && typeof obj === "object" ? (obj as { headers?: Record<string, unknown> }).headers : undefined;
  const vs = h !== null && typeof h === "object" ? h[name] : undefined;
  if (Array.isArray(vs)) {
    for (let i = 0; i < vs.length; i++) if (s.visit(vs[i])) return;
  } else if (typeof vs === "string") s.visit(vs);
}

/** a key of an object (undefined when the value is not one) */
function key(obj: unknown, k: string): unknown {
  return obj !== null && typeof obj === "object" ? (obj as Record<string, unknown>)[k] : undefined;
}

/** Zeek's name of an SSL/TLS version (ssl/consts.zeek version_strings) */
export function zeekTlsVersion(v: number): string {
  switch (v) {
    case 0x0002:
      return "SSLv2";
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv10";
    case 0x0302:
      return "TLSv11";
    case 0x0303:
      return "TLSv12";
    case 0x0304:
      return "TLSv13";
    case 0xfeff:
      return "DTLSv10";
    case 0xfefd:
      return "DTLSv12";
    case 0xfefc:
      return "DTLSv13";
    default:
      // (Zeek's test for a TLS 1.3 draft: v / 255 == 127, and the draft's number v % 127)
      return Math.floor(v / 255) === 127 ? `TLSv13-draft${v % 127}` : `unknown-${v}`;
  }
}

/** Zeek's name of a cipher suite: IANA's (tls-ciphers.ts), unknown-N for those it lacks */
export function zeekCipher(c: number): string {
  return TLS_CIPHER_NAMES[c] ?? `unknown-${c}`;
}

function otherDerived(ev: TraceeEvent, code: number, s: Visitor): void {
  const name = ev.eventName;
  switch (code) {
    case D.Proto:
      if (name === "net_flow_udp_begin" || name === "net_flow_udp_end") s.visit("udp");
      else if (name.startsWith("net_flow_tcp_") || name.startsWith("net_packet_http_") || name.startsWith("net_packet_tls_"))
        s.visit("tcp");
      return;
    case D.OrigH:
    case D.OrigP:
    case D.RespH:
    case D.RespP: {
      const v = endpoint(ev, code === D.OrigH || code === D.OrigP, code === D.OrigP || code === D.RespP);
      if (v !== undefined) s.visit(v);
      return;
    }
    case D.IpVersion: {
      const a = endpoint(ev, true, false);
      if (typeof a === "string" && a !== "") s.visit(a.includes(":") ? "ipv6" : "ipv4");
      return;
    }
    case D.UserAgent:
    case D.Referrer:
    case D.Origin:
      if (name === "net_packet_http_request")
        header(argOf(ev, "http_request"), code === D.UserAgent ? "User-Agent" : code === D.Referrer ? "Referer" : "Origin", s);
      return;
    case D.StatusMsg: {
      const st = key(argOf(ev, "http_response"), "status");
      if (typeof st === "string") {
        const sp = st.indexOf(" ");
        s.visit(sp < 0 ? "" : st.slice(sp + 1));
      }
      return;
    }
    case D.HttpVersion: {
      const p = key(argOf(ev, name === "net_packet_http_response" ? "http_response" : "http_request"), "protocol");
      if (typeof p === "string" && p !== "") s.visit(p.startsWith("HTTP/") ? p.slice(5) : p);
      return;
    }
    case D.ClientHeaderNames:
    case D.ServerHeaderNames: {
      const h = key(argOf(ev, code === D.ClientHeaderNames ? "http_request" : "http_response"), "headers");
      if (h === null || typeof h !== "object") return;
      // (Zeek's names are the headers' names in capitals)
      for (const k of Object.keys(h)) if (s.visit(k.toUpperCase())) return;
      return;
    }
    case D.ServerName: {
      const sni = key(argOf(ev, "tls_client_hello"), "sni");
      if (typeof sni === "string" && sni !== "") s.visit(sni);
      return;
    }
    case D.TlsVersion:
    case D.Cipher:
    case D.NextProtocol: {
      const sh = argOf(ev, "tls_server_hello");
      if (sh === null || typeof sh !== "object") return;
      if (code === D.TlsVersion) {
        const sel = key(sh, "selected_version");
        const v = typeof sel === "number" && sel !== 0 ? sel : key(sh, "version");
        if (typeof v === "number") s.visit(zeekTlsVersion(v));
      } else if (code === D.Cipher) {
        const c = key(sh, "cipher_suite");
        if (typeof c === "number") s.visit(zeekCipher(c));
      } else {
        // the server hello's alpn is the one protocol it chose ("" when none)
        const a = key(sh, "alpn");
        if (typeof a === "string" && a !== "") s.visit(a);
      }
      return;
    }
    default:
      return;
  }
}

/** visit the values of a derived field of an event */
export function derivedScan(ev: TraceeEvent, code: number, s: Visitor): void {
  if (code < D.Proto || code === D.Proto) {
    // a DNS field: of net_packet_dns events
    if (ev instanceof LazyEvent) {
      const lazy = ev as LazyEvent;
      if (lazy.kind === Ev.DNS && lazy.m !== null) {
        dnsDerived(lazy.m as DnsMessage, lazy.p.l4Protocol === 6, code, s, -1);
        return;
      }
    } else if (ev.eventName === "net_packet_dns") {
      const d = argOf(ev, "proto_dns") as ProtoDNS | undefined;
      if (d === undefined || d === null) return;
      dnsDerived(builtMessage(d), null, code, s, ONLY.arr !== null && ONLY.arr === d.answers ? ONLY.i : -1);
      return;
    }
    if (code !== D.Proto) return;
  }
  otherDerived(ev, code, s);
}
