// JSON text exactly as Tracee (Go's encoding/json) prints it.
//
// Differences from JSON.stringify that matter to the byte: Go escapes <, > and
// & as \u003c \u003e \u0026 and U+2028/U+2029 as \u2028 \u2029 (HTML-safe
// default), and replaces invalid text with U+FFFD. Integers above 2^53 (the
// nanosecond timestamp) are written from their exact decimal string.
//
// The per-event hot path is in jsonbytes.ts.

import { ByteWriter, EventBytesWriter } from "./jsonbytes";
import type { Ev, TraceeEvent } from "../types/events";

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

/**
 * Events netsig built from packets as JSON lines (strings). The hot path
 * writes bytes (EventBytesWriter); this wrapper serves tests and callers that
 * want one line at a time.
 */
export class EventJSONWriter {
  private readonly bytes: EventBytesWriter;
  private out = "";
  private readonly w = new ByteWriter((b) => { this.out += b.toString("utf8"); }, 64 * 1024);

  constructor(hostName: string) {
    this.bytes = new EventBytesWriter(hostName, goJSON);
  }

  /** one event as a JSON line (without newline); `ts` is the exact timestamp literal */
  write(ev: TraceeEvent, kind: Ev, ts: string): string {
    this.bytes.write(this.w, ev, kind, ts);
    this.w.flush();
    const line = this.out;
    this.out = "";
    return line.slice(0, -1);
  }
}

/** Any Tracee-shaped event (e.g. a finding) as Go's encoding/json writes it, fields in order. */
export function eventJSON(ev: TraceeEvent, ts?: string): string {
  const s = goJSON(ev);
  return ts === undefined ? s : s.replace(/^\{"timestamp":[0-9.e+]+/, '{"timestamp":' + ts);
}
