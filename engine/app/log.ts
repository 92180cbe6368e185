// netsig's log lines on standard error. `text` (the default) writes each line
// as netsig always has ("netsig: ..."); `json` (--log-format json) writes one
// pino JSON object per line: level, time, pid, hostname, msg (the text line
// without "netsig: ") and the line's fields, if any.
// Secrets registered with addSecret() are replaced by "[redacted]" in every
// line and field, whatever the format (a second guard: call sites never log
// them in the first place).

import pino from "pino";
import { UsageError } from "../types/errors";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";
export type Log = (line: string, level?: LogLevel, fields?: Record<string, unknown>) => void;

export const LOG_FORMATS: LogFormat[] = ["text", "json"];

let format: LogFormat = "text";
let json: pino.Logger | null = null;
const secrets = new Set<string>();

/** --log-format: text or json (undefined: text) */
export function setLogFormat(f: string | undefined): void {
  if (f === undefined) f = "text";
  if (f !== "text" && f !== "json") throw new UsageError(`unknown --log-format "${f}": use text or json`);
  format = f;
  json =
    f === "json"
      ? pino({ level: "debug", formatters: { level: (label) => ({ level: label }) } }, pino.destination({ dest: 2, sync: true }))
      : null;
}

export function logFormat(): LogFormat {
  return format;
}

/** a value that must never be logged (webhook tokens, HMAC keys) */
export function addSecret(s: string | undefined): void {
  if (s && s.length >= 4) secrets.add(s);
}

function scrub(s: string): string {
  for (const v of secrets) if (s.includes(v)) s = s.split(v).join("[redacted]");
  return s;
}

/**
 * Log one line as written in text mode ("netsig: ...", a trailing newline
 * optional). In JSON mode the "netsig: " prefix is dropped and `fields` are
 * added to the object.
 */
export const log: Log = (line, level = "info", fields) => {
  if (secrets.size) line = scrub(line);
  if (json === null) {
    process.stderr.write(line.endsWith("\n") ? line : line + "\n");
    return;
  }
  const msg = line.replace(/\n$/, "").replace(/^netsig: /, "");
  let obj = fields;
  if (obj && secrets.size) obj = JSON.parse(scrub(JSON.stringify(obj))) as Record<string, unknown>;
  if (obj) json[level](obj, msg);
  else json[level](msg);
};
