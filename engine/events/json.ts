// JSON text exactly as Tracee (Go's encoding/json) prints it.
//
// Differences from JSON.stringify that matter to the byte: Go escapes <, > and
// & as \u003c \u003e \u0026 and U+2028/U+2029 as \u2028 \u2029 (HTML-safe
// default), and replaces invalid text with U+FFFD. Integers above 2^53 (the
// nanosecond timestamp) are written from their exact decimal string.
//
// The writers below are specialised per event type: the envelope of an event
// netsig built is the same for a whole run except for its timestamp, so it is
// a precomputed string, and each protocol struct has its own writer.

import type { Ev } from "./types";
import { EVENT_NAMES, eventId } from "./types";
import type {
  Arg, DnsResponseData, DnsQueryData, PktMeta, ProtoDNS, ProtoDNSResourceRecord, ProtoICMP, ProtoICMPv6, ProtoIPv4,
  ProtoIPv6, ProtoTCP, ProtoUDP, TraceeEvent,
} from "./types";

// characters that force the slow path: control chars, '"', '\\', '<', '>', '&', and everything >= 0x7f
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c >= 0x2028) return true;
  }
  return false;
}

const HEX = "0123456789abcdef";

/** A JSON string literal as Go's encoding/json writes it. */
export function goString(s: string): string {
  if (!needsEscape(s)) return '"' + s + '"';
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x0a: rep = "\\n"; break;
        case 0x0d: rep = "\\r"; break;
        case 0x09: rep = "\\t"; break;
        case 0x08: rep = "\\b"; break;
        case 0x0c: rep = "\\f"; break;
        default: rep = "\\u00" + HEX[c >> 4] + HEX[c & 15];
      }
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    else if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate pair passes through; a lone surrogate stands for a byte that was not
      // valid UTF-8 (see decode/text.ts): Go writes each such byte as the escape \ufffd
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { i++; continue; }
      rep = "\\ufffd";
    }
    if (rep !== null) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return out + s.slice(from) + '"';
}

/** Generic Go-style JSON of plain data (objects keep insertion order). */
export function goJSON(v: unknown): string {
  switch (typeof v) {
    case "string": return goString(v);
    case "number": return Number.isFinite(v) ? String(v) : "null";
    case "boolean": return v ? "true" : "false";
    case "bigint": return v.toString();
    case "undefined": return "null";
    case "object": {
      if (v === null) return "null";
      if (Array.isArray(v)) {
        let s = "[";
        for (let i = 0; i < v.length; i++) s += (i ? "," : "") + goJSON(v[i]);
        return s + "]";
      }
      if (Buffer.isBuffer(v)) return goString(v.toString("base64")); // Go marshals []byte as base64
      let s = "{";
      let first = true;
      for (const k of Object.keys(v as object)) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === "function") continue;
        s += (first ? "" : ",") + goString(k) + ":" + goJSON(x);
        first = false;
      }
      return s + "}";
    }
    default: return "null";
  }
}

// ---- per-struct writers (field order is Tracee's struct order)

function ipv4JSON(v: ProtoIPv4): string {
  return '{"version":' + v.version + ',"IHL":' + v.IHL + ',"TOS":' + v.TOS + ',"length":' + v.length + ',"id":' + v.id +
    ',"flags":' + v.flags + ',"fragOffset":' + v.fragOffset + ',"TTL":' + v.TTL + ',"protocol":' + goString(v.protocol) +
    ',"checksum":' + v.checksum + ',"srcIP":' + goString(v.srcIP) + ',"dstIP":' + goString(v.dstIP) + "}";
}

function ipv6JSON(v: ProtoIPv6): string {
  return '{"version":' + v.version + ',"trafficClass":' + v.trafficClass + ',"flowLabel":' + v.flowLabel +
    ',"length":' + v.length + ',"nextHeader":' + goString(v.nextHeader) + ',"hopLimit":' + v.hopLimit +
    ',"srcIP":' + goString(v.srcIP) + ',"dstIP":' + goString(v.dstIP) + "}";
}

function tcpJSON(v: ProtoTCP): string {
  return '{"srcPort":' + v.srcPort + ',"dstPort":' + v.dstPort + ',"seq":' + v.seq + ',"ack":' + v.ack +
    ',"dataOffset":' + v.dataOffset + ',"FIN":' + v.FIN + ',"SYN":' + v.SYN + ',"RST":' + v.RST + ',"PSH":' + v.PSH +
    ',"ACK":' + v.ACK + ',"URG":' + v.URG + ',"ECE":' + v.ECE + ',"CWR":' + v.CWR + ',"NS":' + v.NS +
    ',"window":' + v.window + ',"checksum":' + v.checksum + ',"urgent":' + v.urgent + "}";
}

function udpJSON(v: ProtoUDP): string {
  return '{"srcPort":' + v.srcPort + ',"dstPort":' + v.dstPort + ',"length":' + v.length + ',"checksum":' + v.checksum + "}";
}

function icmpJSON(v: ProtoICMP): string {
  return '{"typeCode":' + goString(v.typeCode) + ',"checksum":' + v.checksum + ',"id":' + v.id + ',"seq":' + v.seq + "}";
}

function icmpv6JSON(v: ProtoICMPv6): string {
  return '{"typeCode":' + goString(v.typeCode) + ',"checksum":' + v.checksum + "}";
}

const EMPTY_RR_TAIL_SOA = '"SOA":{"MName":"","RName":"","serial":0,"refresh":0,"retry":0,"expire":0,"minimum":0}';
const EMPTY_SRV = '"SRV":{"priority":0,"weight":0,"port":0,"name":""}';
const EMPTY_MX = '"MX":{"preference":0,"name":""}';
const EMPTY_URI = '"URI":{"priority":0,"weight":0,"target":""}';

function rrJSON(r: ProtoDNSResourceRecord): string {
  let s = '{"name":' + goString(r.name) + ',"type":' + goString(r.type) + ',"class":' + goString(r.class) +
    ',"TTL":' + r.TTL + ',"IP":' + goString(r.IP) + ',"NS":' + goString(r.NS) + ',"CNAME":' + goString(r.CNAME) +
    ',"PTR":' + goString(r.PTR) + ',"TXTs":';
  if (r.TXTs === null) s += "null";
  else {
    s += "[";
    for (let i = 0; i < r.TXTs.length; i++) s += (i ? "," : "") + goString(r.TXTs[i]);
    s += "]";
  }
  const soa = r.SOA;
  s += "," + (soa.MName === "" && soa.RName === "" && soa.serial === 0 && soa.refresh === 0 && soa.retry === 0 &&
    soa.expire === 0 && soa.minimum === 0 ? EMPTY_RR_TAIL_SOA
    : '"SOA":{"MName":' + goString(soa.MName) + ',"RName":' + goString(soa.RName) + ',"serial":' + soa.serial +
      ',"refresh":' + soa.refresh + ',"retry":' + soa.retry + ',"expire":' + soa.expire + ',"minimum":' + soa.minimum + "}");
  const srv = r.SRV;
  s += "," + (srv.priority === 0 && srv.weight === 0 && srv.port === 0 && srv.name === "" ? EMPTY_SRV
    : '"SRV":{"priority":' + srv.priority + ',"weight":' + srv.weight + ',"port":' + srv.port + ',"name":' + goString(srv.name) + "}");
  const mx = r.MX;
  s += "," + (mx.preference === 0 && mx.name === "" ? EMPTY_MX
    : '"MX":{"preference":' + mx.preference + ',"name":' + goString(mx.name) + "}");
  s += ',"OPT":[';
  for (let i = 0; i < r.OPT.length; i++) {
    const o = r.OPT[i];
    s += (i ? "," : "") + '{"code":' + goString(o.code) + ',"data":' + goString(o.data) + "}";
  }
  s += "]";
  const uri = r.URI;
  s += "," + (uri.priority === 0 && uri.weight === 0 && uri.target === "" ? EMPTY_URI
    : '"URI":{"priority":' + uri.priority + ',"weight":' + uri.weight + ',"target":' + goString(uri.target) + "}");
  return s + ',"TXT":' + goString(r.TXT) + "}";
}

function rrsJSON(rrs: ProtoDNSResourceRecord[]): string {
  let s = "[";
  for (let i = 0; i < rrs.length; i++) s += (i ? "," : "") + rrJSON(rrs[i]);
  return s + "]";
}

function dnsJSON(v: ProtoDNS): string {
  let s = '{"ID":' + v.ID + ',"QR":' + v.QR + ',"opCode":' + goString(v.opCode) + ',"AA":' + v.AA + ',"TC":' + v.TC +
    ',"RD":' + v.RD + ',"RA":' + v.RA + ',"Z":' + v.Z + ',"responseCode":' + goString(v.responseCode) +
    ',"QDCount":' + v.QDCount + ',"ANCount":' + v.ANCount + ',"NSCount":' + v.NSCount + ',"ARCount":' + v.ARCount +
    ',"questions":[';
  for (let i = 0; i < v.questions.length; i++) {
    const q = v.questions[i];
    s += (i ? "," : "") + '{"name":' + goString(q.name) + ',"type":' + goString(q.type) + ',"class":' + goString(q.class) + "}";
  }
  return s + '],"answers":' + rrsJSON(v.answers) + ',"authorities":' + rrsJSON(v.authorities) +
    ',"additionals":' + rrsJSON(v.additionals) + "}";
}

function pktMetaJSON(v: PktMeta): string {
  return '{"src_ip":' + goString(v.src_ip) + ',"dst_ip":' + goString(v.dst_ip) + ',"src_port":' + v.src_port +
    ',"dst_port":' + v.dst_port + ',"protocol":' + v.protocol + ',"packet_len":' + v.packet_len +
    ',"iface":' + goString(v.iface) + "}";
}

function queryJSON(q: DnsQueryData): string {
  return '{"query":' + goString(q.query) + ',"query_type":' + goString(q.query_type) + ',"query_class":' + goString(q.query_class) + "}";
}

function questionsJSON(v: DnsQueryData[]): string {
  let s = "[";
  for (let i = 0; i < v.length; i++) s += (i ? "," : "") + queryJSON(v[i]);
  return s + "]";
}

function responsesJSON(v: DnsResponseData[]): string {
  let s = "[";
  for (let i = 0; i < v.length; i++) {
    const r = v[i];
    s += (i ? "," : "") + '{"query_data":' + queryJSON(r.query_data) + ',"dns_answer":';
    if (r.dns_answer === null) s += "null";
    else {
      s += "[";
      for (let j = 0; j < r.dns_answer.length; j++) {
        const a = r.dns_answer[j];
        s += (j ? "," : "") + '{"answer_type":' + goString(a.answer_type) + ',"ttl":' + a.ttl + ',"answer":' + goString(a.answer) + "}";
      }
      s += "]";
    }
    s += "}";
  }
  return s + "]";
}

const ARG_WRITERS: Record<string, (v: never) => string> = {
  "trace.ProtoIPv4": ipv4JSON,
  "trace.ProtoIPv6": ipv6JSON,
  "trace.ProtoTCP": tcpJSON,
  "trace.ProtoUDP": udpJSON,
  "trace.ProtoICMP": icmpJSON,
  "trace.ProtoICMPv6": icmpv6JSON,
  "trace.ProtoDNS": dnsJSON,
  "trace.PktMeta": pktMetaJSON,
  "[]trace.DnsQueryData": questionsJSON,
  "[]trace.DnsResponseData": responsesJSON,
};

function argValueJSON(a: Arg): string {
  const v = a.value;
  if (typeof v === "string") return goString(v);
  if (typeof v === "number") return String(v);
  const w = ARG_WRITERS[a.type];
  return w !== undefined && v !== null && typeof v === "object" ? w(v as never) : goJSON(v);
}

export function argsJSON(args: Arg[]): string {
  let s = "[";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    s += (i ? "," : "") + '{"name":' + goString(a.name) + ',"type":' + goString(a.type) + ',"value":' + argValueJSON(a) + "}";
  }
  return s + "]";
}

/**
 * Writes the events netsig builds: everything between "timestamp" and "args"
 * is fixed for a run (per event type), so it is computed once.
 */
export class EventJSONWriter {
  private readonly middles: string[];

  constructor(hostName: string) {
    this.middles = EVENT_NAMES.map((name, i) =>
      ',"threadStartTime":0,"processorId":0,"processId":0,"cgroupId":0,"threadId":0,"parentProcessId":0,' +
      '"hostProcessId":0,"hostThreadId":0,"hostParentProcessId":0,"userId":0,"mountNamespace":0,"pidNamespace":0,' +
      '"processName":"","executable":{"path":""},"hostName":' + goString(hostName) +
      ',"containerId":"","container":{},"kubernetes":{},"eventId":"' + eventId(i as Ev) + '","eventName":"' + name +
      '","matchedPolicies":[""],"argsNum":');
  }

  /** one event as a JSON line (without newline); `ts` is the exact timestamp literal */
  write(ev: TraceeEvent, kind: Ev, ts: string): string {
    return '{"timestamp":' + ts + this.middles[kind] + ev.args.length +
      ',"returnValue":0,"syscall":"","stackAddresses":[0],"contextFlags":{"containerStarted":false,"isCompat":false},' +
      '"threadEntityId":0,"processEntityId":0,"parentEntityId":0,"args":' + argsJSON(ev.args) + "}";
  }
}

/** Any Tracee-shaped event (e.g. a finding) in Go's field order. */
export function eventJSON(ev: TraceeEvent, ts?: string): string {
  const copy: Record<string, unknown> = { ...ev };
  delete copy.args;
  let s = goJSON(copy);
  if (ts !== undefined) s = s.replace(/^\{"timestamp":[0-9.e+]+/, '{"timestamp":' + ts);
  return s.slice(0, -1) + ',"args":' + argsJSON(ev.args) + "}";
}
