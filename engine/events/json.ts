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
import { goString } from "./gostring";

/** Generic Go-style JSON of plain data (objects keep insertion order). */
export function goJSON(v: unknown): string {
  switch (typeof v) {
    case "string":
      return goString(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return v.toString();
    case "undefined":
      return "null";
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
    default:
      return "null";
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
  private readonly w = new ByteWriter((b) => {
    this.out += b.toString("utf8");
  }, 64 * 1024);

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
