// Field paths over a Tracee event, e.g. `args.dns_questions[].query`:
//   NAME          an envelope field (hostName, eventName, timestamp, ...)
//   args.NAME     the value of the arg named NAME
//   .key          descend into an object
//   []            any element of a list (with the `all` modifier: every element)
//   [N]           element N
//   dns.NAME      a derived DNS field (engine/rules/shapes.ts VIRTUAL_FIELDS)
// parseFieldPath() is the host's (it checks the path against the selected
// events' shapes); the rest runs in the sandbox realm: no allocation per
// event but the strings the DNS fields derive.

import type { FieldIR } from "./ir";
import type { EventName } from "../events/types";
import { ARG_SHAPES, DNS_EVENTS, shapeName, TOP_SHAPES, VIRTUAL_FIELDS, type Shape } from "./shapes";
import { suggest } from "./condition";
import { registeredDomain } from "../sdk/helpers";
import type { DnsQueryData, DnsResponseData, PktMeta, ProtoDNS, ProtoDNSResourceRecord, TraceeEvent } from "../events/types";

// ---- host: parsing and checking

/** a field path error: `offset` is where in the path text it is */
export class FieldError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/** parse and check a field path against the events a rule selects; returns the field and the shape it reaches */
export function parseFieldPath(text: string, events: readonly EventName[]): { f: FieldIR; shape: Shape } {
  if (text === "") throw new FieldError(0, "empty field name");
  if (VIRTUAL_FIELDS[text]) {
    if (!events.some((e) => DNS_EVENTS.includes(e))) {
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
    if (!a) throw new FieldError(i, `"args" needs an arg name: args.NAME (e.g. args.${Object.keys(ARG_SHAPES[events[0]] ?? { src: 1 })[0]})`);
    const name = a[1];
    shapes = events.map((e) => ARG_SHAPES[e][name]).filter((s): s is Shape => s !== undefined);
    if (shapes.length === 0) {
      const known = new Set(events.flatMap((e) => Object.keys(ARG_SHAPES[e])));
      throw new FieldError(i + 1, `no selected event (${events.join(", ")}) has an arg "${name}"${suggest(name, known)}; its args: ${[...known].join(", ")}`);
    }
    f = { h: "arg", n: name, s: [], text };
    i += a[0].length;
  } else if (head === "dns" && text[i] === ".") {
    throw new FieldError(0, `unknown DNS field "${text}"${suggest(text, Object.keys(VIRTUAL_FIELDS))}; the DNS fields: ${Object.keys(VIRTUAL_FIELDS).join(", ")}`);
  } else {
    const s = TOP_SHAPES[head];
    if (s === undefined) {
      const hint = VIRTUAL_FIELDS[`dns.${head}`] ? ` (did you mean "dns.${head}"?)` : suggest(head, [...Object.keys(TOP_SHAPES), "args", ...Object.keys(VIRTUAL_FIELDS)]);
      throw new FieldError(0, `unknown field "${head}"${hint} (fields: the envelope's, args.NAME, dns.NAME)`);
    }
    shapes = [s];
    f = { h: "top", n: head, s: [], text };
  }
  while (i < text.length) {
    const rest = text.slice(i);
    let seg: string | number;
    let len: number;
    const key = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    const idx = /^\[(\d*)\]/.exec(rest);
    if (key) { seg = key[1]; len = key[0].length; } else if (idx) { seg = idx[1] === "" ? -1 : Number(idx[1]); len = idx[0].length; } else {
      throw new FieldError(i, `bad field path at "${rest}": expected .key, [] or [N]`);
    }
    const next: Shape[] = [];
    for (const s of shapes) {
      if (s === "any") { next.push("any"); continue; }
      if (typeof seg === "string") {
        if (Array.isArray(s)) throw new FieldError(i, `${text.slice(0, i)} is a list: use ${text.slice(0, i)}[].${seg} (any element) or [N]`);
        if (typeof s === "object") { const v = s[seg]; if (v !== undefined) next.push(v); continue; }
        throw new FieldError(i, `${text.slice(0, i)} is ${shapeName(s)}, it has no .${seg}`);
      }
      if (!Array.isArray(s)) throw new FieldError(i, `${text.slice(0, i)} is ${shapeName(s)}, not a list: remove the [${seg < 0 ? "" : seg}]`);
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
  // a leaf that is an object or a list is compared as a whole: only exists/null make sense then
  return { f, shape: shapes[0] };
}

// ---- realm: reading values

/** something that tests one value */
export interface ValueTest { test(v: unknown): boolean }

function argValue(ev: TraceeEvent, name: string): unknown {
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
      v = v[0];
    } else v = (v as Record<string, unknown>)[seg as string];
  }
  return v;
}

// Derived DNS fields are gathered into a reusable list (two: a fieldref
// test reads a second field while the first is being tested).
const SCRATCH: unknown[][] = [[], []];
let depth = 0;

const RCODES: Record<string, string> = {
  "no error": "NOERROR", "format error": "FORMERR", "server failure ": "SERVFAIL", "non-existent domain": "NXDOMAIN",
  "not implemented": "NOTIMP", "query refused": "REFUSED", "name exists when it should not": "YXDOMAIN",
  "rr set exists when it should not": "YXRRSET", "rr set that should exist does not": "NXRRSET",
  "server not authoritative for zone": "NOTAUTH", "name not contained in zone": "NOTZONE", "bad opt version": "BADVERS",
  "key not recognized": "BADKEY", "signature out of time window": "BADTIME", "bad tkey mode": "BADMODE",
  "duplicate key name": "BADNAME", "algorithm not supported": "BADALG", "bad truncation": "BADTRUNC", "bad cookie": "BADCOOKIE",
};
/** Sigma/RFC names of response codes, by number */
export const RCODE_BY_NUMBER: Record<number, string> = {
  0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET",
  9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
};

function rrData(r: ProtoDNSResourceRecord, out: unknown[]): void {
  switch (r.type) {
    case "A": case "AAAA": out.push(r.IP); return;
    case "CNAME": out.push(r.CNAME); return;
    case "NS": out.push(r.NS); return;
    case "PTR": out.push(r.PTR); return;
    case "MX": out.push(r.MX.name); return;
    case "SRV": out.push(r.SRV.name); return;
    case "SOA": out.push(r.SOA.MName); return;
    case "TXT": { const t = r.TXTs; if (t) for (let i = 0; i < t.length; i++) out.push(t[i]); return; }
    case "URI": out.push(r.URI.target); return;
    default: if (r.IP) out.push(r.IP); return;
  }
}

/** the values of a derived DNS field of an event */
function dnsValues(ev: TraceeEvent, name: string, out: unknown[]): void {
  const meta = argValue(ev, "metadata") as PktMeta | undefined;
  if (meta !== undefined) {
    // the simple request/response events
    const isResponse = ev.eventName === "net_packet_dns_response";
    switch (name) {
      case "dns.src_ip": out.push(isResponse ? meta.dst_ip : meta.src_ip); return;
      case "dns.dst_ip": out.push(isResponse ? meta.src_ip : meta.dst_ip); return;
      case "dns.src_port": out.push(isResponse ? meta.dst_port : meta.src_port); return;
      case "dns.dst_port": out.push(isResponse ? meta.src_port : meta.dst_port); return;
      case "dns.qr": out.push(isResponse ? 1 : 0); return;
      case "dns.rcode": return;
      default: break;
    }
    if (!isResponse) {
      const qs = argValue(ev, "dns_questions") as DnsQueryData[] | undefined;
      if (!Array.isArray(qs)) return;
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i];
        if (name === "dns.query") out.push(q.query);
        else if (name === "dns.record_type") out.push(q.query_type);
        else if (name === "dns.parent_domain") out.push(registeredDomain(q.query));
      }
      return;
    }
    const rs = argValue(ev, "dns_response") as DnsResponseData[] | undefined;
    if (!Array.isArray(rs)) return;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i];
      if (name === "dns.query") out.push(r.query_data.query);
      else if (name === "dns.record_type") out.push(r.query_data.query_type);
      else if (name === "dns.parent_domain") out.push(registeredDomain(r.query_data.query));
      else if (name === "dns.answer" || name === "dns.answer_type") {
        const as = r.dns_answer;
        if (as) for (let j = 0; j < as.length; j++) out.push(name === "dns.answer" ? as[j].answer : as[j].answer_type);
      }
    }
    return;
  }
  const d = argValue(ev, "proto_dns") as ProtoDNS | undefined;
  if (d === undefined || d === null) return;
  const response = d.QR === 1;
  switch (name) {
    case "dns.src_ip": out.push(argValue(ev, response ? "dst" : "src")); return;
    case "dns.dst_ip": out.push(argValue(ev, response ? "src" : "dst")); return;
    case "dns.src_port": out.push(argValue(ev, response ? "dst_port" : "src_port")); return;
    case "dns.dst_port": out.push(argValue(ev, response ? "src_port" : "dst_port")); return;
    case "dns.qr": out.push(d.QR); return;
    case "dns.rcode": if (response) out.push(RCODES[d.responseCode] ?? d.responseCode.toUpperCase()); return;
    case "dns.answer": case "dns.answer_type": {
      const as = d.answers;
      for (let i = 0; i < as.length; i++) if (name === "dns.answer") rrData(as[i], out); else out.push(as[i].type);
      return;
    }
    default: {
      const qs = d.questions;
      for (let i = 0; i < qs.length; i++) {
        const q = qs[i];
        if (name === "dns.query") out.push(q.name);
        else if (name === "dns.record_type") out.push(q.type);
        else if (name === "dns.parent_domain") out.push(registeredDomain(q.name));
      }
    }
  }
}

function virtualTest(ev: TraceeEvent, f: FieldIR, t: ValueTest, all: boolean): boolean {
  const out = SCRATCH[depth++];
  try {
    out.length = 0;
    dnsValues(ev, f.n, out);
    if (out.length === 0) return all ? false : t.test(undefined);
    for (let i = 0; i < out.length; i++) {
      if (t.test(out[i]) !== all) return !all;
    }
    return all;
  } finally {
    out.length = 0;
    depth--;
  }
}

function root(ev: TraceeEvent, f: FieldIR): unknown {
  return f.h === "arg" ? argValue(ev, f.n) : (ev as unknown as Record<string, unknown>)[f.n];
}

/** `t` passes for some value of the field ("any") or for every one ("all") */
export function testField(ev: TraceeEvent, f: FieldIR, t: ValueTest, all: boolean): boolean {
  if (f.h === "virt") return virtualTest(ev, f, t, all);
  const v = root(ev, f);
  return all ? walkAll(v, f.s, 0, t) : walkAny(v, f.s, 0, t);
}

/** the field's first value (undefined when it has none) */
export function firstValue(ev: TraceeEvent, f: FieldIR): unknown {
  if (f.h === "virt") {
    const out = SCRATCH[depth++];
    try {
      out.length = 0;
      dnsValues(ev, f.n, out);
      return out[0];
    } finally {
      out.length = 0;
      depth--;
    }
  }
  return walkFirst(root(ev, f), f.s, 0);
}
