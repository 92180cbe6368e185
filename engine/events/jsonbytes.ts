// The hot path of `--output json`: events written straight into a byte
// buffer, Go's encoding/json text to the byte (see json.ts for the rules).
//
// Building one string per event and encoding it costs a rope of hundreds of
// concatenations, a flattening copy and an encoding copy per event, and the
// garbage of all three. Here constant text (the envelope, keys, empty
// sub-records) is encoded once and copied with TypedArray.set, numbers are
// written digit by digit, and ASCII strings byte by byte; only strings that
// need escaping or are not ASCII go through goString.

import { POD, type PodEnvelope } from "./envelope";
import { goString } from "./gostring";
import { ARG_LAYOUT, EVENT_NAMES, eventId } from "./registry";
import type {
  Arg,
  DnsQueryData,
  DnsResponseData,
  Ev,
  PktMeta,
  ProtoDNS,
  ProtoDNSResourceRecord,
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

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  /** `drain` takes the filled part of the buffer (it must be done with it when it returns) */
  constructor(
    private readonly drain: (bytes: Buffer) => void,
    size = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  flush(): void {
    if (this.pos > 0) {
      this.drain(this.buf.subarray(0, this.pos));
      this.pos = 0;
    }
  }

  /** make room for n more bytes */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n * 2);
  }

  raw(b: Uint8Array): void {
    const n = b.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const buf = this.buf;
    const p = this.pos;
    if (n > 48)
      buf.set(b, p); // a memcpy pays off only for longer runs
    else for (let i = 0; i < n; i++) buf[p + i] = b[i];
    this.pos = p + n;
  }

  byte(c: number): void {
    if (this.pos + 1 > this.buf.length) this.room(1);
    this.buf[this.pos++] = c;
  }

  /** a non-negative integer (up to 2^53) */
  uint(n: number): void {
    if (this.pos + 16 > this.buf.length) this.room(16);
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let len = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    b[--p] = 48 + n;
  }

  /** a JSON string literal, Go style */
  str(s: string): void {
    const n = s.length;
    if (this.pos + n + 2 > this.buf.length) this.room(n + 2);
    const b = this.buf;
    const start = this.pos;
    let p = start;
    b[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c === 60 || c === 62 || c === 38 || c > 0x7e) {
        // escapes or non-ASCII: the general path
        this.pos = start;
        const lit = goString(s);
        this.room(lit.length * 3);
        this.pos += this.buf.write(lit, this.pos, "utf8");
        return;
      }
      b[p++] = c;
    }
    b[p++] = 34;
    this.pos = p;
  }

  /** text known to be plain ASCII without characters JSON escapes */
  ascii(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }
}

// ---- constant text
const K = {
  ipv4: [
    ',"IHL":',
    ',"TOS":',
    ',"length":',
    ',"id":',
    ',"flags":',
    ',"fragOffset":',
    ',"TTL":',
    ',"protocol":',
    ',"checksum":',
    ',"srcIP":',
    ',"dstIP":',
  ].map(enc),
  ipv6: [',"trafficClass":', ',"flowLabel":', ',"length":', ',"nextHeader":', ',"hopLimit":', ',"srcIP":', ',"dstIP":'].map(enc),
  tcp: [
    ',"dstPort":',
    ',"seq":',
    ',"ack":',
    ',"dataOffset":',
    ',"FIN":',
    ',"SYN":',
    ',"RST":',
    ',"PSH":',
    ',"ACK":',
    ',"URG":',
    ',"ECE":',
    ',"CWR":',
    ',"NS":',
    ',"window":',
    ',"checksum":',
    ',"urgent":',
  ].map(enc),
  udp: [',"dstPort":', ',"length":', ',"checksum":'].map(enc),
  icmp: [',"checksum":', ',"id":', ',"seq":'].map(enc),
  dns: [
    ',"QR":',
    ',"opCode":',
    ',"AA":',
    ',"TC":',
    ',"RD":',
    ',"RA":',
    ',"Z":',
    ',"responseCode":',
    ',"QDCount":',
    ',"ANCount":',
    ',"NSCount":',
    ',"ARCount":',
  ].map(enc),
};
const V4_OPEN = enc('{"version":4');
const V6_OPEN = enc('{"version":6');
const TCP_OPEN = enc('{"srcPort":');
const ICMP_OPEN = enc('{"typeCode":');
const DNS_OPEN = enc('{"ID":');
const Q_NAME = enc('{"name":');
const Q_TYPE = enc(',"type":');
const Q_CLASS = enc(',"class":');
const RR_TTL = enc(',"TTL":');
const RR_IP = enc(',"IP":');
const RR_NS = enc(',"NS":');
const RR_CNAME = enc(',"CNAME":');
const RR_PTR = enc(',"PTR":');
const RR_TXTS = enc(',"TXTs":');
const NULL = enc("null");
const RR_SOA = enc(',"SOA":{"MName":');
const SOA_KEYS = [',"RName":', ',"serial":', ',"refresh":', ',"retry":', ',"expire":', ',"minimum":'].map(enc);
const SOA_EMPTY = enc(',"SOA":{"MName":"","RName":"","serial":0,"refresh":0,"retry":0,"expire":0,"minimum":0}');
const SRV_EMPTY = enc(',"SRV":{"priority":0,"weight":0,"port":0,"name":""}');
const MX_EMPTY = enc(',"MX":{"preference":0,"name":""}');
const URI_EMPTY = enc(',"URI":{"priority":0,"weight":0,"target":""}');
const SRV_OPEN = enc(',"SRV":{"priority":');
const SRV_KEYS = [',"weight":', ',"port":', ',"name":'].map(enc);
const MX_OPEN = enc(',"MX":{"preference":');
const MX_NAME = enc(',"name":');
const URI_OPEN = enc(',"URI":{"priority":');
const URI_KEYS = [',"weight":', ',"target":'].map(enc);
const OPT_OPEN = enc(',"OPT":[');
const OPT_CODE = enc('{"code":');
const OPT_DATA = enc(',"data":');
const RR_TXT_KEY = enc(',"TXT":');
const QUESTIONS = enc(',"questions":[');
const ANSWERS = enc('],"answers":');
const AUTHORITIES = enc(',"authorities":');
const ADDITIONALS = enc(',"additionals":');
const META_KEYS = ['{"src_ip":', ',"dst_ip":', ',"src_port":', ',"dst_port":', ',"protocol":', ',"packet_len":', ',"iface":'].map(enc);
const QUERY_KEYS = ['{"query":', ',"query_type":', ',"query_class":'].map(enc);
const QUERY_DATA = enc('{"query_data":');
const DNS_ANSWER = enc(',"dns_answer":');
const ANSWER_KEYS = ['{"answer_type":', ',"ttl":', ',"answer":'].map(enc);
const ARG_NAME = enc('{"name":');
const ARG_TYPE = enc(',"type":');
const ARG_VALUE = enc(',"value":');
const COMMA = 44,
  OPEN_BRACKET = 91,
  CLOSE_BRACKET = 93,
  CLOSE_BRACE = 125;

function ipv4(w: ByteWriter, v: ProtoIPv4): void {
  const k = K.ipv4;
  w.raw(V4_OPEN);
  w.raw(k[0]);
  w.uint(v.IHL);
  w.raw(k[1]);
  w.uint(v.TOS);
  w.raw(k[2]);
  w.uint(v.length);
  w.raw(k[3]);
  w.uint(v.id);
  w.raw(k[4]);
  w.uint(v.flags);
  w.raw(k[5]);
  w.uint(v.fragOffset);
  w.raw(k[6]);
  w.uint(v.TTL);
  w.raw(k[7]);
  w.str(v.protocol);
  w.raw(k[8]);
  w.uint(v.checksum);
  w.raw(k[9]);
  w.str(v.srcIP);
  w.raw(k[10]);
  w.str(v.dstIP);
  w.byte(CLOSE_BRACE);
}

function ipv6(w: ByteWriter, v: ProtoIPv6): void {
  const k = K.ipv6;
  w.raw(V6_OPEN);
  w.raw(k[0]);
  w.uint(v.trafficClass);
  w.raw(k[1]);
  w.uint(v.flowLabel);
  w.raw(k[2]);
  w.uint(v.length);
  w.raw(k[3]);
  w.str(v.nextHeader);
  w.raw(k[4]);
  w.uint(v.hopLimit);
  w.raw(k[5]);
  w.str(v.srcIP);
  w.raw(k[6]);
  w.str(v.dstIP);
  w.byte(CLOSE_BRACE);
}

function tcp(w: ByteWriter, v: ProtoTCP): void {
  const k = K.tcp;
  w.raw(TCP_OPEN);
  w.uint(v.srcPort);
  w.raw(k[0]);
  w.uint(v.dstPort);
  w.raw(k[1]);
  w.uint(v.seq);
  w.raw(k[2]);
  w.uint(v.ack);
  w.raw(k[3]);
  w.uint(v.dataOffset);
  w.raw(k[4]);
  w.uint(v.FIN);
  w.raw(k[5]);
  w.uint(v.SYN);
  w.raw(k[6]);
  w.uint(v.RST);
  w.raw(k[7]);
  w.uint(v.PSH);
  w.raw(k[8]);
  w.uint(v.ACK);
  w.raw(k[9]);
  w.uint(v.URG);
  w.raw(k[10]);
  w.uint(v.ECE);
  w.raw(k[11]);
  w.uint(v.CWR);
  w.raw(k[12]);
  w.uint(v.NS);
  w.raw(k[13]);
  w.uint(v.window);
  w.raw(k[14]);
  w.uint(v.checksum);
  w.raw(k[15]);
  w.uint(v.urgent);
  w.byte(CLOSE_BRACE);
}

function udp(w: ByteWriter, v: ProtoUDP): void {
  const k = K.udp;
  w.raw(TCP_OPEN);
  w.uint(v.srcPort);
  w.raw(k[0]);
  w.uint(v.dstPort);
  w.raw(k[1]);
  w.uint(v.length);
  w.raw(k[2]);
  w.uint(v.checksum);
  w.byte(CLOSE_BRACE);
}

function icmp(w: ByteWriter, v: ProtoICMP): void {
  const k = K.icmp;
  w.raw(ICMP_OPEN);
  w.str(v.typeCode);
  w.raw(k[0]);
  w.uint(v.checksum);
  w.raw(k[1]);
  w.uint(v.id);
  w.raw(k[2]);
  w.uint(v.seq);
  w.byte(CLOSE_BRACE);
}

function icmpv6(w: ByteWriter, v: ProtoICMPv6): void {
  w.raw(ICMP_OPEN);
  w.str(v.typeCode);
  w.raw(K.icmp[0]);
  w.uint(v.checksum);
  w.byte(CLOSE_BRACE);
}

function rr(w: ByteWriter, r: ProtoDNSResourceRecord): void {
  w.raw(Q_NAME);
  w.str(r.name);
  w.raw(Q_TYPE);
  w.str(r.type);
  w.raw(Q_CLASS);
  w.str(r.class);
  w.raw(RR_TTL);
  w.uint(r.TTL);
  w.raw(RR_IP);
  w.str(r.IP);
  w.raw(RR_NS);
  w.str(r.NS);
  w.raw(RR_CNAME);
  w.str(r.CNAME);
  w.raw(RR_PTR);
  w.str(r.PTR);
  w.raw(RR_TXTS);
  if (r.TXTs === null) w.raw(NULL);
  else {
    w.byte(OPEN_BRACKET);
    for (let i = 0; i < r.TXTs.length; i++) {
      if (i) w.byte(COMMA);
      w.str(r.TXTs[i]);
    }
    w.byte(CLOSE_BRACKET);
  }
  const soa = r.SOA;
  if (
    soa.MName === "" &&
    soa.RName === "" &&
    soa.serial === 0 &&
    soa.refresh === 0 &&
    soa.retry === 0 &&
    soa.expire === 0 &&
    soa.minimum === 0
  )
    w.raw(SOA_EMPTY);
  else {
    w.raw(RR_SOA);
    w.str(soa.MName);
    w.raw(SOA_KEYS[0]);
    w.str(soa.RName);
    w.raw(SOA_KEYS[1]);
    w.uint(soa.serial);
    w.raw(SOA_KEYS[2]);
    w.uint(soa.refresh);
    w.raw(SOA_KEYS[3]);
    w.uint(soa.retry);
    w.raw(SOA_KEYS[4]);
    w.uint(soa.expire);
    w.raw(SOA_KEYS[5]);
    w.uint(soa.minimum);
    w.byte(CLOSE_BRACE);
  }
  const srv = r.SRV;
  if (srv.priority === 0 && srv.weight === 0 && srv.port === 0 && srv.name === "") w.raw(SRV_EMPTY);
  else {
    w.raw(SRV_OPEN);
    w.uint(srv.priority);
    w.raw(SRV_KEYS[0]);
    w.uint(srv.weight);
    w.raw(SRV_KEYS[1]);
    w.uint(srv.port);
    w.raw(SRV_KEYS[2]);
    w.str(srv.name);
    w.byte(CLOSE_BRACE);
  }
  const mx = r.MX;
  if (mx.preference === 0 && mx.name === "") w.raw(MX_EMPTY);
  else {
    w.raw(MX_OPEN);
    w.uint(mx.preference);
    w.raw(MX_NAME);
    w.str(mx.name);
    w.byte(CLOSE_BRACE);
  }
  w.raw(OPT_OPEN);
  for (let i = 0; i < r.OPT.length; i++) {
    if (i) w.byte(COMMA);
    w.raw(OPT_CODE);
    w.str(r.OPT[i].code);
    w.raw(OPT_DATA);
    w.str(r.OPT[i].data);
    w.byte(CLOSE_BRACE);
  }
  w.byte(CLOSE_BRACKET);
  const uri = r.URI;
  if (uri.priority === 0 && uri.weight === 0 && uri.target === "") w.raw(URI_EMPTY);
  else {
    w.raw(URI_OPEN);
    w.uint(uri.priority);
    w.raw(URI_KEYS[0]);
    w.uint(uri.weight);
    w.raw(URI_KEYS[1]);
    w.str(uri.target);
    w.byte(CLOSE_BRACE);
  }
  w.raw(RR_TXT_KEY);
  w.str(r.TXT);
  w.byte(CLOSE_BRACE);
}

function rrs(w: ByteWriter, list: ProtoDNSResourceRecord[]): void {
  w.byte(OPEN_BRACKET);
  for (let i = 0; i < list.length; i++) {
    if (i) w.byte(COMMA);
    rr(w, list[i]);
  }
  w.byte(CLOSE_BRACKET);
}

function dns(w: ByteWriter, v: ProtoDNS): void {
  const k = K.dns;
  w.raw(DNS_OPEN);
  w.uint(v.ID);
  w.raw(k[0]);
  w.uint(v.QR);
  w.raw(k[1]);
  w.str(v.opCode);
  w.raw(k[2]);
  w.uint(v.AA);
  w.raw(k[3]);
  w.uint(v.TC);
  w.raw(k[4]);
  w.uint(v.RD);
  w.raw(k[5]);
  w.uint(v.RA);
  w.raw(k[6]);
  w.uint(v.Z);
  w.raw(k[7]);
  w.str(v.responseCode);
  w.raw(k[8]);
  w.uint(v.QDCount);
  w.raw(k[9]);
  w.uint(v.ANCount);
  w.raw(k[10]);
  w.uint(v.NSCount);
  w.raw(k[11]);
  w.uint(v.ARCount);
  w.raw(QUESTIONS);
  for (let i = 0; i < v.questions.length; i++) {
    const q = v.questions[i];
    if (i) w.byte(COMMA);
    w.raw(Q_NAME);
    w.str(q.name);
    w.raw(Q_TYPE);
    w.str(q.type);
    w.raw(Q_CLASS);
    w.str(q.class);
    w.byte(CLOSE_BRACE);
  }
  w.raw(ANSWERS);
  rrs(w, v.answers);
  w.raw(AUTHORITIES);
  rrs(w, v.authorities);
  w.raw(ADDITIONALS);
  rrs(w, v.additionals);
  w.byte(CLOSE_BRACE);
}

function pktMeta(w: ByteWriter, v: PktMeta): void {
  const k = META_KEYS;
  w.raw(k[0]);
  w.str(v.src_ip);
  w.raw(k[1]);
  w.str(v.dst_ip);
  w.raw(k[2]);
  w.uint(v.src_port);
  w.raw(k[3]);
  w.uint(v.dst_port);
  w.raw(k[4]);
  w.uint(v.protocol);
  w.raw(k[5]);
  w.uint(v.packet_len);
  w.raw(k[6]);
  w.str(v.iface);
  w.byte(CLOSE_BRACE);
}

function query(w: ByteWriter, q: DnsQueryData): void {
  w.raw(QUERY_KEYS[0]);
  w.str(q.query);
  w.raw(QUERY_KEYS[1]);
  w.str(q.query_type);
  w.raw(QUERY_KEYS[2]);
  w.str(q.query_class);
  w.byte(CLOSE_BRACE);
}

function questions(w: ByteWriter, v: DnsQueryData[] | null): void {
  if (v === null) {
    w.raw(NULL);
    return;
  }
  w.byte(OPEN_BRACKET);
  for (let i = 0; i < v.length; i++) {
    if (i) w.byte(COMMA);
    query(w, v[i]);
  }
  w.byte(CLOSE_BRACKET);
}

function responses(w: ByteWriter, v: DnsResponseData[]): void {
  w.byte(OPEN_BRACKET);
  for (let i = 0; i < v.length; i++) {
    if (i) w.byte(COMMA);
    const r = v[i];
    w.raw(QUERY_DATA);
    query(w, r.query_data);
    w.raw(DNS_ANSWER);
    const a = r.dns_answer;
    if (a === null) w.raw(NULL);
    else {
      w.byte(OPEN_BRACKET);
      for (let j = 0; j < a.length; j++) {
        if (j) w.byte(COMMA);
        w.raw(ANSWER_KEYS[0]);
        w.str(a[j].answer_type);
        w.raw(ANSWER_KEYS[1]);
        w.uint(a[j].ttl);
        w.raw(ANSWER_KEYS[2]);
        w.str(a[j].answer);
        w.byte(CLOSE_BRACE);
      }
      w.byte(CLOSE_BRACKET);
    }
    w.byte(CLOSE_BRACE);
  }
  w.byte(CLOSE_BRACKET);
}

// ---- HTTP (trace.ProtoHTTP and its request/response halves: fields in Go's order)

const HTTP_KEYS = [
  '{"direction":',
  ',"method":',
  ',"protocol":',
  ',"host":',
  ',"uri_path":',
  ',"status":',
  ',"status_code":',
  ',"headers":',
  ',"content_length":',
].map(enc);
const HTTP_REQUEST_KEYS = ['{"method":', ',"protocol":', ',"host":', ',"uri_path":', ',"headers":', ',"content_length":'].map(enc);
const HTTP_RESPONSE_KEYS = ['{"status":', ',"status_code":', ',"protocol":', ',"headers":', ',"content_length":'].map(enc);

function int(w: ByteWriter, n: number): void {
  if (n < 0) {
    w.byte(0x2d);
    w.uint(-n);
  } else w.uint(n);
}

/** Go's http.Header: a map, so its names sorted (bytewise: they are ASCII), each with its list of values */
function headers(w: ByteWriter, h: Readonly<Record<string, readonly string[]>>): void {
  const names = Object.keys(h);
  // (decode/http.ts makes them in order; a value from elsewhere may not be)
  for (let i = 1; i < names.length; i++)
    if (names[i - 1] > names[i]) {
      names.sort();
      break;
    }
  w.byte(0x7b);
  for (let i = 0; i < names.length; i++) {
    if (i > 0) w.byte(0x2c);
    w.str(names[i]);
    w.byte(0x3a);
    const vs = h[names[i]];
    if (vs === null) {
      w.raw(NULL);
      continue;
    }
    w.byte(0x5b);
    for (let j = 0; j < vs.length; j++) {
      if (j > 0) w.byte(0x2c);
      w.str(vs[j]);
    }
    w.byte(CLOSE_BRACKET);
  }
  w.byte(CLOSE_BRACE);
}

function http(w: ByteWriter, v: ProtoHTTP): void {
  const k = HTTP_KEYS;
  w.raw(k[0]);
  w.str(v.direction);
  w.raw(k[1]);
  w.str(v.method);
  w.raw(k[2]);
  w.str(v.protocol);
  w.raw(k[3]);
  w.str(v.host);
  w.raw(k[4]);
  w.str(v.uri_path);
  w.raw(k[5]);
  w.str(v.status);
  w.raw(k[6]);
  int(w, v.status_code);
  w.raw(k[7]);
  headers(w, v.headers);
  w.raw(k[8]);
  int(w, v.content_length);
  w.byte(CLOSE_BRACE);
}

function httpRequest(w: ByteWriter, v: ProtoHTTPRequest): void {
  const k = HTTP_REQUEST_KEYS;
  w.raw(k[0]);
  w.str(v.method);
  w.raw(k[1]);
  w.str(v.protocol);
  w.raw(k[2]);
  w.str(v.host);
  w.raw(k[3]);
  w.str(v.uri_path);
  w.raw(k[4]);
  headers(w, v.headers);
  w.raw(k[5]);
  int(w, v.content_length);
  w.byte(CLOSE_BRACE);
}

function httpResponse(w: ByteWriter, v: ProtoHTTPResponse): void {
  const k = HTTP_RESPONSE_KEYS;
  w.raw(k[0]);
  w.str(v.status);
  w.raw(k[1]);
  int(w, v.status_code);
  w.raw(k[2]);
  w.str(v.protocol);
  w.raw(k[3]);
  headers(w, v.headers);
  w.raw(k[4]);
  int(w, v.content_length);
  w.byte(CLOSE_BRACE);
}

type ValueWriter = (w: ByteWriter, v: never) => void;
/**
 * The writers of the arg types that are objects, by Tracee type string (an
 * arg type without one is written by the fallback: a new event type's args
 * are written right before they are written fast)
 */
export const VALUE_WRITERS: Readonly<Record<string, ValueWriter>> = {
  "trace.ProtoIPv4": ipv4,
  "trace.ProtoIPv6": ipv6,
  "trace.ProtoTCP": tcp,
  "trace.ProtoUDP": udp,
  "trace.ProtoICMP": icmp,
  "trace.ProtoICMPv6": icmpv6,
  "trace.ProtoDNS": dns,
  "trace.PktMeta": pktMeta,
  "[]trace.DnsQueryData": questions,
  "[]trace.DnsResponseData": responses,
  "trace.ProtoHTTP": http,
  "trace.ProtoHTTPRequest": httpRequest,
  "trace.ProtoHTTPResponse": httpResponse,
};

function argValue(w: ByteWriter, a: Arg, fallback: (v: unknown) => string): void {
  const v = a.value;
  if (typeof v === "string") {
    w.str(v);
    return;
  }
  if (typeof v === "number" && v >= 0 && Number.isInteger(v)) {
    w.uint(v);
    return;
  }
  const write = VALUE_WRITERS[a.type];
  if (write !== undefined && v !== null && typeof v === "object") {
    write(w, v as never);
    return;
  }
  const lit = fallback(v);
  w.room(lit.length * 3);
  w.pos += w.buf.write(lit, w.pos, "utf8");
}

const argHead = (name: string, type: string) => '{"name":' + goString(name) + ',"type":' + goString(type) + ',"value":';

/** `"containerId":...,"container":{...},"kubernetes":{...}` as Go writes them (keys in Tracee's order) */
export function podText(e: PodEnvelope): string {
  const obj = (o: Readonly<Record<string, string>>) =>
    "{" +
    Object.keys(o)
      .map((k) => goString(k) + ":" + goString(o[k]))
      .join(",") +
    "}";
  return '"containerId":' + goString(e.containerId) + ',"container":' + obj(e.container) + ',"kubernetes":' + obj(e.kubernetes);
}

/**
 * Writes the events netsig built from packets, one JSON line each. Everything
 * but the timestamp and the arg values is the same for a run and an event
 * type, so it is encoded once: the envelope up to the first arg's value, and
 * the text between two arg values.
 */
export class EventBytesWriter {
  /** per event type: from after the timestamp to the first arg's value */
  private heads: Uint8Array[] = [];
  /** per event type and arg i > 0: from the end of arg i-1's value to arg i's value */
  private readonly between: Uint8Array[][];
  private readonly open = enc('{"timestamp":');
  private readonly close = enc("}]}\n");
  /** the pod envelope (envelope.ts) the heads were made with */
  private version = -1;

  constructor(
    private readonly hostName: string,
    private readonly fallback: (v: unknown) => string,
  ) {
    this.between = ARG_LAYOUT.map((layout) => layout.map(([n, t], j) => (j === 0 ? new Uint8Array(0) : enc("}," + argHead(n, t)))));
    this.encodeHeads();
  }

  /** the envelope text, once per pod identity (a reload of it makes them again) */
  private encodeHeads(): void {
    this.version = POD.version;
    const pod = podText(POD.envelope);
    this.heads = EVENT_NAMES.map(
      (name, i) =>
        new Uint8Array(
          Buffer.from(
            ',"threadStartTime":0,"processorId":0,"processId":0,"cgroupId":0,"threadId":0,"parentProcessId":0,' +
              '"hostProcessId":0,"hostThreadId":0,"hostParentProcessId":0,"userId":0,"mountNamespace":0,"pidNamespace":0,' +
              '"processName":"","executable":{"path":""},"hostName":' +
              goString(this.hostName) +
              "," +
              pod +
              ',"eventId":"' +
              eventId(i as Ev) +
              '","eventName":"' +
              name +
              '","matchedPolicies":[""],"argsNum":' +
              ARG_LAYOUT[i].length +
              ',"returnValue":0,"syscall":"","stackAddresses":[0],"contextFlags":{"containerStarted":false,"isCompat":false},' +
              '"threadEntityId":0,"processEntityId":0,"parentEntityId":0,"args":[' +
              argHead(...ARG_LAYOUT[i][0]),
            "utf8",
          ),
        ),
    );
  }

  /** one event and its newline; `ts` is the exact timestamp literal (digits only) */
  write(w: ByteWriter, ev: TraceeEvent, kind: Ev, ts: string): void {
    const args = ev.args;
    const layout = ARG_LAYOUT[kind];
    if (args.length !== layout.length) {
      this.writeGeneric(w, ev, kind, ts);
      return;
    }
    for (let i = 0; i < args.length; i++) {
      if (args[i].name !== layout[i][0] || args[i].type !== layout[i][1]) {
        this.writeGeneric(w, ev, kind, ts);
        return;
      }
    }
    if (this.version !== POD.version) this.encodeHeads();
    w.raw(this.open);
    w.ascii(ts);
    w.raw(this.heads[kind]);
    argValue(w, args[0], this.fallback);
    const between = this.between[kind];
    for (let i = 1; i < args.length; i++) {
      w.raw(between[i]);
      argValue(w, args[i], this.fallback);
    }
    w.raw(this.close);
  }

  /** an event whose args are not the standard layout (e.g. changed by a filter or a test) */
  private writeGeneric(w: ByteWriter, ev: TraceeEvent, kind: Ev, ts: string): void {
    if (this.version !== POD.version) this.encodeHeads();
    const head = Buffer.from(this.heads[kind]).toString("utf8");
    const envelope =
      head.slice(0, head.indexOf('"argsNum":') + 10) +
      ev.args.length +
      head.slice(head.indexOf(',"returnValue"'), head.indexOf('"args":[') + 8);
    w.raw(this.open);
    w.ascii(ts);
    w.raw(enc(envelope));
    for (let i = 0; i < ev.args.length; i++) {
      if (i) w.byte(COMMA);
      const a = ev.args[i];
      w.raw(ARG_NAME);
      w.str(a.name);
      w.raw(ARG_TYPE);
      w.str(a.type);
      w.raw(ARG_VALUE);
      argValue(w, a, this.fallback);
      w.byte(CLOSE_BRACE);
    }
    w.raw(enc("]}\n"));
  }
}
