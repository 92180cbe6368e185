// Field paths over a Tracee event, e.g. `args.dns_questions[].query`:
//   NAME          an envelope field (hostName, eventName, timestamp, ...)
//   args.NAME     the value of the arg named NAME
//   .key          descend into an object
//   []            any element of a list (with the `all` modifier: every element)
//   [N]           element N
//   dns.NAME      a derived DNS field (engine/rules/shapes.ts VIRTUAL_FIELDS)
// and, for the fields of Sigma's log sources (compile/logsources.ts) only,
// the fields derived.ts derives (shapes.ts DERIVED_FIELDS: zeek.dns.query ...).
// parseFieldPath() is the host's (it checks the path against the selected
// events' shapes); the rest reads events, built ones in the sandbox realm or
// LazyEvents in netsig's process (rules/run/backend.ts): no allocation per event but
// the strings the DNS fields derive.

import type { DnsMessage } from "../../decode/dnstypes";
import type { FieldIR } from "../../types/rule-ir";
import { Ev } from "../../types/events";
import { DNS_EVENTS as DNS_MASK } from "../../events/registry";
import { argShapes, DERIVED_FIELDS, DNS_EVENTS, shapeName, TOP_SHAPES, VIRTUAL_FIELDS, type Shape } from "./shapes";
import { DERIVED_BASE, derivedCode, derivedScan, joinedTxt, ONLY } from "./derived";
import { suggest } from "./suggest";
import { registeredDomain } from "../../sdk/helpers";
import type { DnsQueryData, DnsResponseData, PktMeta, ProtoDNS, ProtoDNSResourceRecord, TraceeEvent } from "../../types/events";
import { LazyEvent } from "./lazy";
import { answerText, responseCode } from "../../events/build";
import { txtJoinedFromRaw } from "./txt";
import { dnsResponseCodeName, dnsTypeName } from "../../events/vocab";
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
  DNS_TYPE_URI,
  type DnsMX,
  type DnsRecord,
  type DnsSOA,
  type DnsSRV,
  type DnsURI,
} from "../../decode/dnstypes";

// ---- host: parsing and checking

/** a field path error: `offset` is where in the path text it is */
export class FieldError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * parse and check a field path against the events a rule selects; returns
 * the field and the shape it reaches. `derived`: the path may name a field of
 * DERIVED_FIELDS (the fields a Sigma log source maps to)
 */
export function parseFieldPath(text: string, events: readonly string[], derived = false): { f: FieldIR; shape: Shape } {
  if (text === "") throw new FieldError(0, "empty field name");
  const dv = derived ? DERIVED_FIELDS[text] : undefined;
  if (dv !== undefined) {
    if (!events.some((e) => dv.events.includes(e)))
      throw new FieldError(0, `${text} is a field of ${dv.events.join(", ")}, which the rule does not select`);
    return { f: { h: "virt", n: text, s: [], text }, shape: dv.shape };
  }
  if (VIRTUAL_FIELDS[text]) {
    if (!events.some((e) => (DNS_EVENTS as readonly string[]).includes(e))) {
      throw new FieldError(0, `${text} is a DNS field, but the rule selects no DNS event (${DNS_EVENTS.join(", ")})`);
    }
    return { f: { h: "virt", n: text, s: [], text }, shape: VIRTUAL_FIELDS[text].shape };
  }
  const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text);
  if (!m) throw new FieldError(0, `bad field "${text}": a field starts with a name`);
  let i = m[0].length;
  const head = m[0];
  let f: FieldIR;
  // one shape per selected event that has the field
  let shapes: Shape[];
  if (head === "args") {
    const a = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    if (!a)
      throw new FieldError(i, `"args" needs an arg name: args.NAME (e.g. args.${Object.keys(argShapes(events[0]) ?? { src: 1 })[0]})`);
    const name = a[1];
    shapes = events.map((e) => argShapes(e)?.[name]).filter((s): s is Shape => s !== undefined);
    if (shapes.length === 0) {
      const known = new Set(events.flatMap((e) => Object.keys(argShapes(e) ?? {})));
      throw new FieldError(
        i + 1,
        `no selected event (${events.join(", ")}) has an arg "${name}"${suggest(name, known)}; its args: ${[...known].join(", ")}`,
      );
    }
    f = { h: "arg", n: name, s: [], text };
    i += a[0].length;
  } else if (head === "dns" && text[i] === ".") {
    throw new FieldError(
      0,
      `unknown DNS field "${text}"${suggest(text, Object.keys(VIRTUAL_FIELDS))}; the DNS fields: ${Object.keys(VIRTUAL_FIELDS).join(", ")}`,
    );
  } else {
    const s = TOP_SHAPES[head];
    if (s === undefined) {
      const hint = VIRTUAL_FIELDS[`dns.${head}`]
        ? ` (did you mean "dns.${head}"?)`
        : suggest(head, [...Object.keys(TOP_SHAPES), "args", ...Object.keys(VIRTUAL_FIELDS)]);
      throw new FieldError(0, `unknown field "${head}"${hint} (fields: the envelope's, args.NAME, dns.NAME)`);
    }
    shapes = [s];
    f = { h: "top", n: head, s: [], text };
  }
  while (i < text.length) {
    const rest = text.slice(i);
    let seg: string | number;
    let len: number;
    // a key may hold "-" after its first character: HTTP header names (args.http_request.headers.User-Agent)
    const key = /^\.([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    const idx = /^\[(\d*)\]/.exec(rest);
    if (key) {
      seg = key[1];
      len = key[0].length;
    } else if (idx) {
      seg = idx[1] === "" ? -1 : Number(idx[1]);
      len = idx[0].length;
    } else {
      throw new FieldError(i, `bad field path at "${rest}": expected .key, [] or [N]`);
    }
    const next: Shape[] = [];
    for (const s of shapes) {
      if (s === "any") {
        next.push("any");
        continue;
      }
      if (typeof seg === "string") {
        if (Array.isArray(s))
          throw new FieldError(i, `${text.slice(0, i)} is a list: use ${text.slice(0, i)}[].${seg} (any element) or [N]`);
        if (typeof s === "object") {
          const v = s[seg];
          if (v !== undefined) next.push(v);
          continue;
        }
        throw new FieldError(i, `${text.slice(0, i)} is ${shapeName(s)}, it has no .${seg}`);
      }
      if (!Array.isArray(s))
        throw new FieldError(i, `${text.slice(0, i)} is ${shapeName(s)}, not a list: remove the [${seg < 0 ? "" : seg}]`);
      next.push(s[0]);
    }
    if (next.length === 0 && typeof seg === "string") {
      const keys = new Set<string>();
      for (const s of shapes) if (typeof s === "object" && !Array.isArray(s)) for (const k of Object.keys(s)) keys.add(k);
      throw new FieldError(i + 1, `${text.slice(0, i)} has no "${seg}"${suggest(seg, keys)}; its keys: ${[...keys].join(", ")}`);
    }
    shapes = next;
    f.s.push(seg);
    i += len;
  }
  // a TXT record's text: its strings are also matched joined (a word split across two strings)
  if (f.h === "arg") {
    const segs = JSON.stringify(f.s);
    if (f.n === "proto_dns" && /^\["(answers|authorities|additionals)",-1,"TXTs",-1\]$/.test(segs)) f.j = 1;
    else if (f.n === "proto_dns" && /^\["(answers|authorities|additionals)",-1,"TXT"\]$/.test(segs)) f.j = 2;
    else if (f.n === "dns_response" && segs === '[-1,"dns_answer",-1,"answer"]') f.j = 3;
  }
  // a leaf that is an object or a list is compared as a whole: only exists/null make sense then
  return { f, shape: shapes[0] };
}

// ---- realm: reading values

/** something that tests one value */
export interface ValueTest {
  test(v: unknown): boolean;
}

function argValue(ev: TraceeEvent, name: string): unknown {
  if (ev instanceof LazyEvent) return (ev as LazyEvent).arg(name);
  const args = ev.args;
  for (let i = 0; i < args.length; i++) if (args[i].name === name) return args[i].value;
  return undefined;
}

/** some value at the path (from segment i) passes */
function walkAny(v: unknown, s: (string | number)[], i: number, t: ValueTest): boolean {
  if (i === s.length) return t.test(v);
  if (v === null || typeof v !== "object") return t.test(undefined);
  const seg = s[i];
  if (seg === -1) {
    if (!Array.isArray(v)) return false;
    if (v === ONLY.arr) return ONLY.i < v.length && walkAny(v[ONLY.i], s, i + 1, t);
    for (let j = 0; j < v.length; j++) if (walkAny(v[j], s, i + 1, t)) return true;
    return false;
  }
  return walkAny((v as Record<string, unknown>)[seg as string], s, i + 1, t);
}

/** every value at the path passes, and there is at least one */
function walkAll(v: unknown, s: (string | number)[], i: number, t: ValueTest): boolean {
  if (i === s.length) return t.test(v);
  if (v === null || typeof v !== "object") return t.test(undefined);
  const seg = s[i];
  if (seg === -1) {
    if (!Array.isArray(v) || v.length === 0) return false;
    if (v === ONLY.arr) return ONLY.i < v.length && walkAll(v[ONLY.i], s, i + 1, t);
    for (let j = 0; j < v.length; j++) if (!walkAll(v[j], s, i + 1, t)) return false;
    return true;
  }
  return walkAll((v as Record<string, unknown>)[seg as string], s, i + 1, t);
}

/** the first value at the path (undefined when none) */
function walkFirst(v: unknown, s: (string | number)[], i: number): unknown {
  for (; i < s.length; i++) {
    if (v === null || typeof v !== "object") return undefined;
    const seg = s[i];
    if (seg === -1) {
      if (!Array.isArray(v) || v.length === 0) return undefined;
      v = v === ONLY.arr ? v[ONLY.i] : v[0];
    } else v = (v as Record<string, unknown>)[seg as string];
  }
  return v;
}

// Derived DNS fields: each has a code, and its values are tested as they are
// found in the event (no list is built). A scan's state lives in a small pool
// of reusable objects (a fieldref test reads a second field during a scan).

const RCODES: Record<string, string> = {
  "no error": "NOERROR",
  "format error": "FORMERR",
  "server failure ": "SERVFAIL",
  "non-existent domain": "NXDOMAIN",
  "not implemented": "NOTIMP",
  "query refused": "REFUSED",
  "name exists when it should not": "YXDOMAIN",
  "rr set exists when it should not": "YXRRSET",
  "rr set that should exist does not": "NXRRSET",
  "server not authoritative for zone": "NOTAUTH",
  "name not contained in zone": "NOTZONE",
  "bad opt version": "BADVERS",
  "key not recognized": "BADKEY",
  "signature out of time window": "BADTIME",
  "bad tkey mode": "BADMODE",
  "duplicate key name": "BADNAME",
  "algorithm not supported": "BADALG",
  "bad truncation": "BADTRUNC",
  "bad cookie": "BADCOOKIE",
};
/** Sigma/RFC names of response codes, by number */
export const RCODE_BY_NUMBER: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
  16: "BADVERS",
  17: "BADKEY",
  18: "BADTIME",
  19: "BADMODE",
  20: "BADNAME",
  21: "BADALG",
  22: "BADTRUNC",
  23: "BADCOOKIE",
};

/** codes of the derived DNS fields */
const enum V {
  Query,
  RecordType,
  Answer,
  AnswerType,
  SrcIp,
  DstIp,
  SrcPort,
  DstPort,
  Rcode,
  ParentDomain,
  Qr,
}
const CODES: Record<string, V> = {
  "dns.query": V.Query,
  "dns.record_type": V.RecordType,
  "dns.answer": V.Answer,
  "dns.answer_type": V.AnswerType,
  "dns.src_ip": V.SrcIp,
  "dns.dst_ip": V.DstIp,
  "dns.src_port": V.SrcPort,
  "dns.dst_port": V.DstPort,
  "dns.rcode": V.Rcode,
  "dns.parent_domain": V.ParentDomain,
  "dns.qr": V.Qr,
};

/** the code of a derived field (-1: not one): a dns.* field (V), or one of derived.ts */
export function virtualCode(name: string): number {
  const c = CODES[name];
  return c === undefined ? derivedCode(name) : c;
}

/** the codes whose value a LazyEvent remembers (a bit each in vhave) */
export const REMEMBERED = 31;

class Scan {
  t: ValueTest | null = null;
  all = false;
  /** take the first value only */
  first = false;
  seen = 0;
  stopped = false;
  result = false;
  value: unknown = undefined;
  /** count the values, keeping the first (stopped at the second) */
  count = false;
  /** one value; true when the scan is decided */
  visit(v: unknown): boolean {
    this.seen++;
    if (this.first) {
      this.value = v;
      this.stopped = true;
      return true;
    }
    if (this.count) {
      if (this.seen === 1) {
        this.value = v;
        return false;
      }
      this.stopped = true;
      return true;
    }
    const ok = this.t!.test(v);
    if (this.all ? ok : !ok) return false;
    this.result = ok;
    this.stopped = true;
    return true;
  }
}
const POOL = [new Scan(), new Scan(), new Scan(), new Scan()];
let depth = 0;

function rrScan(r: ProtoDNSResourceRecord, s: Scan): boolean {
  switch (r.type) {
    case "A":
    case "AAAA":
      return s.visit(r.IP);
    case "CNAME":
      return s.visit(r.CNAME);
    case "NS":
      return s.visit(r.NS);
    case "PTR":
      return s.visit(r.PTR);
    case "MX":
      return s.visit(r.MX.name);
    case "SRV":
      return s.visit(r.SRV.name);
    case "SOA":
      return s.visit(r.SOA.MName);
    case "TXT": {
      const t = r.TXTs;
      if (t) for (let i = 0; i < t.length; i++) if (s.visit(t[i])) return true;
      // (and joined: a word split across two strings)
      return t !== null && t.length > 1 && !s.all && s.visit(t.join(""));
    }
    case "URI":
      return s.visit(r.URI.target);
    default:
      return r.IP ? s.visit(r.IP) : false;
  }
}

/** (built events only: dnsScan sends a LazyEvent to lazyScan) */
function arg(ev: TraceeEvent, i: number, name: string): unknown {
  const a = ev.args[i];
  return a !== undefined && a.name === name ? a.value : argValue(ev, name);
}

/** the values of an answer record that dns.answer names (rrScan's, from the decoded record) */
function recordScan(rr: DnsRecord, s: Scan): boolean {
  switch (rr.type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_NS:
    case DNS_TYPE_PTR:
      return s.visit(rr.data);
    case DNS_TYPE_MX:
      return s.visit((rr.data as DnsMX).exchange);
    case DNS_TYPE_SRV:
      return s.visit((rr.data as DnsSRV).target);
    case DNS_TYPE_SOA:
      return s.visit((rr.data as DnsSOA).mname);
    case DNS_TYPE_URI:
      return s.visit((rr.data as DnsURI).target);
    case DNS_TYPE_TXT: {
      const t = rr.data as string[];
      for (let i = 0; i < t.length; i++) if (s.visit(t[i])) return true;
      // (and joined: a word split across two strings)
      return t.length > 1 && !s.all && s.visit(t.join(""));
    }
    default:
      return false;
  }
}

/**
 * dns.src_ip, dst_ip, src_port, dst_port and qr of a message sent from
 * `src` to `dst` (the client's side is src_*, whichever way it goes); false
 * when `code` is none of them
 */
function endpointScan(s: Scan, code: V, resp: boolean, srcIp: unknown, dstIp: unknown, srcPort: unknown, dstPort: unknown): boolean {
  switch (code) {
    case V.SrcIp:
      s.visit(resp ? dstIp : srcIp);
      return true;
    case V.DstIp:
      s.visit(resp ? srcIp : dstIp);
      return true;
    case V.SrcPort:
      s.visit(resp ? dstPort : srcPort);
      return true;
    case V.DstPort:
      s.visit(resp ? srcPort : dstPort);
      return true;
    case V.Qr:
      s.visit(resp ? 1 : 0);
      return true;
    default:
      return false;
  }
}

/** dnsScan of an event not built: the same values, read from the decoded message */
function lazyScan(ev: LazyEvent, code: V, s: Scan): void {
  if (code >= DERIVED_BASE) {
    derivedScan(ev as unknown as TraceeEvent, code, s);
    return;
  }
  // a rule may select DNS and other events together (events: ["*"]): the DNS
  // fields of a non-DNS event have no value, as a built event's (no proto_dns)
  if ((DNS_MASK & (1 << ev.kind)) === 0 || ev.m === null) return;
  const p = ev.p;
  const m = ev.m as DnsMessage;
  const resp = m.flags >>> 15 === 1;
  if (endpointScan(s, code, resp, p.srcIP, p.dstIP, p.srcPort, p.dstPort)) return;
  const full = ev.kind === Ev.DNS;
  if (code === V.Rcode) {
    if (full && resp) {
      const n = dnsResponseCodeName(responseCode(m));
      s.visit(RCODES[n] ?? n.toUpperCase());
    }
    return;
  }
  if (code === V.Answer || code === V.AnswerType) {
    if (!resp && !full) return;
    const as = m.answers;
    for (let i = 0; i < as.length; i++) {
      const rr = as[i];
      if (code === V.AnswerType ? s.visit(dnsTypeName(rr.type)) : full ? recordScan(rr, s) : s.visit(answerText(rr))) return;
      if (code === V.Answer && !full && !s.all) {
        const j = joinedTxt(rr);
        if (j !== null && s.visit(j)) return;
      }
    }
    return;
  }
  // a dns_response event holds its first question only
  const qs = m.questions;
  const n = full || !resp ? qs.length : Math.min(qs.length, 1);
  for (let i = 0; i < n; i++) {
    const q = qs[i];
    if (
      s.visit(
        code === V.Query ? q.name : code === V.RecordType ? dnsTypeName(q.type) : i === 0 ? ev.parentDomain() : registeredDomain(q.name),
      )
    )
      return;
  }
}

// A derived field of an event read in-process has one value nearly always
// (one question, one answer): several rules read it, so it is found once.
export const NONE = Object.freeze({ none: true });
export const MULTI = Object.freeze({ multi: true });

/** the value of a derived field of a LazyEvent when it has one (found once per event), NONE, or MULTI for several */
export function lazyOne(ev: LazyEvent, code: V): unknown {
  const bit = code < REMEMBERED ? 1 << code : 0;
  if ((ev.vhave & bit) !== 0) return ev.vval[code];
  const s = POOL[depth++];
  s.t = null;
  s.all = false;
  s.first = false;
  s.count = true;
  s.seen = 0;
  s.stopped = false;
  s.value = undefined;
  try {
    lazyScan(ev, code, s);
    const v = s.seen === 0 ? NONE : s.seen === 1 ? s.value : MULTI;
    if (bit !== 0) {
      ev.vval[code] = v;
      ev.vhave |= bit;
    }
    return v;
  } finally {
    s.count = false;
    s.value = undefined;
    depth--;
  }
}

/** visit the values of a derived DNS field of an event, until the scan is decided */
function dnsScan(ev: TraceeEvent, code: V, s: Scan): void {
  if (ev instanceof LazyEvent) {
    lazyScan(ev as LazyEvent, code, s);
    return;
  }
  if (code >= DERIVED_BASE) {
    derivedScan(ev, code, s);
    return;
  }
  const name = ev.eventName;
  if (name === "net_packet_dns_request" || name === "net_packet_dns_response") {
    const meta = arg(ev, 0, "metadata") as PktMeta | undefined;
    if (meta === undefined) return;
    const resp = name === "net_packet_dns_response";
    if (code === V.Rcode || endpointScan(s, code, resp, meta.src_ip, meta.dst_ip, meta.src_port, meta.dst_port)) return;
    if (!resp) {
      const qs = arg(ev, 1, "dns_questions") as DnsQueryData[] | undefined;
      if (!Array.isArray(qs) || code === V.Answer || code === V.AnswerType) return;
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i];
        if (s.visit(code === V.Query ? q.query : code === V.RecordType ? q.query_type : registeredDomain(q.query))) return;
      }
      return;
    }
    const rs = arg(ev, 1, "dns_response") as DnsResponseData[] | undefined;
    if (!Array.isArray(rs)) return;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (code === V.Answer || code === V.AnswerType) {
        const as = r.dns_answer;
        if (!as) continue;
        const lo = as === ONLY.arr ? ONLY.i : 0;
        const hi = as === ONLY.arr ? Math.min(ONLY.i + 1, as.length) : as.length;
        for (let j = lo; j < hi; j++) {
          const a = as[j];
          if (s.visit(code === V.Answer ? a.answer : a.answer_type)) return;
          // (a TXT record's strings joined: its text is the RDATA, read back by txt.ts)
          if (code === V.Answer && a.answer_type === "TXT" && !s.all) {
            const joined = txtJoinedFromRaw(a.answer);
            if (joined !== null && s.visit(joined)) return;
          }
        }
        continue;
      }
      const q = r.query_data;
      if (s.visit(code === V.Query ? q.query : code === V.RecordType ? q.query_type : registeredDomain(q.query))) return;
    }
    return;
  }
  const d = arg(ev, 4, "proto_dns") as ProtoDNS | undefined;
  if (d === undefined || d === null) return;
  const response = d.QR === 1;
  switch (code) {
    case V.SrcIp:
      s.visit(arg(ev, response ? 1 : 0, response ? "dst" : "src"));
      return;
    case V.DstIp:
      s.visit(arg(ev, response ? 0 : 1, response ? "src" : "dst"));
      return;
    case V.SrcPort:
      s.visit(arg(ev, response ? 3 : 2, response ? "dst_port" : "src_port"));
      return;
    case V.DstPort:
      s.visit(arg(ev, response ? 2 : 3, response ? "src_port" : "dst_port"));
      return;
    case V.Qr:
      s.visit(d.QR);
      return;
    case V.Rcode:
      if (response) s.visit(RCODES[d.responseCode] ?? d.responseCode.toUpperCase());
      return;
    case V.Answer:
    case V.AnswerType: {
      const as = d.answers;
      const lo = as === ONLY.arr ? ONLY.i : 0;
      const hi = as === ONLY.arr ? Math.min(ONLY.i + 1, as.length) : as.length;
      for (let i = lo; i < hi; i++) if (code === V.Answer ? rrScan(as[i], s) : s.visit(as[i].type)) return;
      return;
    }
    default: {
      const qs = d.questions;
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i];
        if (s.visit(code === V.Query ? q.name : code === V.RecordType ? q.type : registeredDomain(q.name))) return;
      }
    }
  }
}

/** `t` passes for some value of a derived field ("any") or for every one ("all") */
export function testVirtual(ev: TraceeEvent, code: number, t: ValueTest, all: boolean): boolean {
  if (ev instanceof LazyEvent) {
    const v = lazyOne(ev as LazyEvent, code as V);
    // (a test of no value: false for "all", as for "any" what the test says of nothing)
    if (v !== MULTI) return v === NONE ? !all && t.test(undefined) : t.test(v);
  }
  const s = POOL[depth++];
  s.t = t;
  s.all = all;
  s.first = false;
  s.count = false;
  s.seen = 0;
  s.stopped = false;
  s.result = false;
  try {
    dnsScan(ev, code as V, s);
    if (s.stopped) return s.result;
    return all ? s.seen > 0 : s.seen === 0 ? t.test(undefined) : false;
  } finally {
    s.t = null;
    depth--;
  }
}

function root(ev: TraceeEvent, f: FieldIR): unknown {
  if (f.h === "arg") return argValue(ev, f.n);
  return ev instanceof LazyEvent ? (ev as LazyEvent).top(f.n) : (ev as unknown as Record<string, unknown>)[f.n];
}

/** `t` passes for some value of the field ("any") or for every one ("all") */
export function testField(ev: TraceeEvent, f: FieldIR, t: ValueTest, all: boolean): boolean {
  if (f.h === "virt") return testVirtual(ev, virtualCode(f.n), t, all);
  return testPath(ev, f, t, all);
}

/** `t` passes for some value at a path ("any") or for every one ("all") */
export function testPath(ev: TraceeEvent, f: FieldIR, t: ValueTest, all: boolean): boolean {
  const v = root(ev, f);
  if (all) return walkAll(v, f.s, 0, t);
  return f.j === undefined ? walkAny(v, f.s, 0, t) : walkJoin(v, f.s, 0, t, f.j);
}

/**
 * walkAny, for the text of a TXT record (FieldIR.j): at the path's last
 * segment, the record's strings joined are tested too (1: its list of
 * strings; 2: a resource record's TXT; 3: a DnsAnswer's answer)
 */
function walkJoin(v: unknown, s: (string | number)[], i: number, t: ValueTest, j: number): boolean {
  if (i === s.length) return t.test(v);
  if (v === null || typeof v !== "object") return t.test(undefined);
  const seg = s[i];
  if (i === s.length - 1) {
    if (walkAny(v, s, i, t)) return true;
    const o = v as Record<string, unknown>;
    let joined: string | null = null;
    if (j === 1 && Array.isArray(v) && v.length > 1 && v !== ONLY.arr) joined = v.join("");
    else if (j === 2 && o.type === "TXT" && Array.isArray(o.TXTs) && o.TXTs.length > 1) joined = o.TXTs.join("");
    else if (j === 3 && o.answer_type === "TXT" && typeof o.answer === "string") joined = txtJoinedFromRaw(o.answer);
    return joined !== null && t.test(joined);
  }
  if (seg === -1) {
    if (!Array.isArray(v)) return false;
    if (v === ONLY.arr) return ONLY.i < v.length && walkJoin(v[ONLY.i], s, i + 1, t, j);
    for (let k = 0; k < v.length; k++) if (walkJoin(v[k], s, i + 1, t, j)) return true;
    return false;
  }
  return walkJoin((v as Record<string, unknown>)[seg as string], s, i + 1, t, j);
}

/** the field's first value (undefined when it has none) */
export function firstValue(ev: TraceeEvent, f: FieldIR): unknown {
  if (f.h === "virt") {
    if (ev instanceof LazyEvent) {
      const v = lazyOne(ev as LazyEvent, virtualCode(f.n) as V);
      if (v !== MULTI) return v === NONE ? undefined : v;
    }
    const s = POOL[depth++];
    s.all = false;
    s.first = true;
    s.count = false;
    s.seen = 0;
    s.stopped = false;
    s.value = undefined;
    try {
      dnsScan(ev, virtualCode(f.n) as V, s);
      const v = s.value;
      s.value = undefined;
      return v;
    } finally {
      depth--;
    }
  }
  return walkFirst(root(ev, f), f.s, 0);
}
