// Event selection (--events) and Tracee-style argument filters (--filter).
//
//   --events net_packet_dns,net_packet_tcp      names, comma-separated; net_packet_* wildcards
//   --filter net_packet_dns.args.src=8.8.8.8    Tracee's form: EVENT.args.ARG OP VALUE[,VALUE...]
//
// OP is =, !=, <, >, <= or >=. A value may start or end with * (prefix/suffix
// match, as Tracee's string filters). ARG may descend into a struct
// (net_packet_dns_request.args.metadata.dst_port=53). `=` with several values
// matches any of them; `!=` none of them. A filter only applies to events of
// its own type; the filters of one type must all hold.

import type { Ev, TraceeEvent } from "../types/events";
import { DEFAULT_EVENTS, EVENT_NAMES, perKind, type EventMask } from "./registry";
import { UsageError } from "../types/errors";

function globToRegExp(glob: string): RegExp {
  return new RegExp("^" + glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
}

/**
 * Parse --events: names or globs, comma-separated. Unknown names are errors.
 * Without a value: every event type but the opt-in flow events (registry.ts).
 */
export function parseEventNames(spec: string | undefined): EventMask {
  if (spec === undefined || spec.trim() === "") return DEFAULT_EVENTS;
  let mask = 0;
  for (const raw of spec.split(",")) {
    const name = raw.trim();
    if (name === "") continue;
    const re = globToRegExp(name);
    let hit = false;
    EVENT_NAMES.forEach((n, i) => {
      if (re.test(n)) {
        mask |= 1 << i;
        hit = true;
      }
    });
    if (!hit) {
      throw new UsageError(`--events: unknown event "${name}"; known events: ${EVENT_NAMES.join(", ")} (net_packet_* wildcards allowed)`);
    }
  }
  return mask;
}

type Op = "=" | "!=" | "<" | ">" | "<=" | ">=";

interface ArgFilter {
  text: string;
  kind: Ev;
  argName: string;
  path: string[];
  op: Op;
  values: string[];
  matchers: ((s: string) => boolean)[];
  numbers: number[];
}

const FILTER_RE = /^([A-Za-z0-9_*]+)\.args\.([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)*)\s*(!=|<=|>=|=|<|>)\s*(.*)$/;

function valueMatcher(v: string): (s: string) => boolean {
  if (v.length > 1 && v.startsWith("*") && v.endsWith("*")) {
    const m = v.slice(1, -1);
    return (s) => s.includes(m);
  }
  if (v.startsWith("*")) {
    const m = v.slice(1);
    return (s) => s.endsWith(m);
  }
  if (v.endsWith("*")) {
    const m = v.slice(0, -1);
    return (s) => s.startsWith(m);
  }
  return (s) => s === v;
}

export function parseFilter(text: string): ArgFilter[] {
  const m = FILTER_RE.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `--filter: bad filter "${text}": expected EVENT.args.ARG=VALUE (also !=, <, >, <=, >=), e.g. net_packet_dns.args.src=8.8.8.8`,
    );
  }
  const [, ev, argName, rest, op, valueText] = m;
  const kinds: Ev[] = [];
  const re = globToRegExp(ev);
  EVENT_NAMES.forEach((n, i) => {
    if (re.test(n)) kinds.push(i as Ev);
  });
  if (kinds.length === 0)
    throw new UsageError(`--filter: bad filter "${text}": unknown event "${ev}"; known events: ${EVENT_NAMES.join(", ")}`);
  const values = valueText.split(",").map((v) => v.trim());
  if (values.length === 0 || values.some((v) => v === ""))
    throw new UsageError(`--filter: bad filter "${text}": missing value after ${op}`);
  const numbers = values.map(Number);
  if (op !== "=" && op !== "!=" && numbers.some((n) => Number.isNaN(n))) {
    throw new UsageError(`--filter: bad filter "${text}": ${op} needs a number`);
  }
  return kinds.map((kind) => ({
    text,
    kind,
    argName,
    path: rest === "" ? [] : rest.slice(1).split("."),
    op: op as Op,
    values,
    matchers: values.map(valueMatcher),
    numbers,
  }));
}

function lookup(ev: TraceeEvent, f: ArgFilter): unknown {
  let v: unknown;
  const args = ev.args;
  for (let i = 0; i < args.length; i++)
    if (args[i].name === f.argName) {
      v = args[i].value;
      break;
    }
  for (const k of f.path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function holds(f: ArgFilter, v: unknown): boolean {
  if (v === undefined) return f.op === "!=";
  if (f.op === "=" || f.op === "!=") {
    const s = typeof v === "object" ? JSON.stringify(v) : String(v);
    let any = false;
    for (const m of f.matchers)
      if (m(s)) {
        any = true;
        break;
      }
    return f.op === "=" ? any : !any;
  }
  const n = Number(v);
  if (Number.isNaN(n)) return false;
  const x = f.numbers[0];
  switch (f.op) {
    case "<":
      return n < x;
    case ">":
      return n > x;
    case "<=":
      return n <= x;
    default:
      return n >= x;
  }
}

export class EventFilter {
  private byKind: ArgFilter[][] = perKind(() => []);
  readonly empty: boolean;

  constructor(filters: string[]) {
    for (const t of filters) for (const f of parseFilter(t)) this.byKind[f.kind].push(f);
    this.empty = this.byKind.every((l) => l.length === 0);
  }

  accept(ev: TraceeEvent, kind: Ev): boolean {
    const fs = this.byKind[kind];
    for (let i = 0; i < fs.length; i++) if (!holds(fs[i], lookup(ev, fs[i]))) return false;
    return true;
  }
}
