// JSON Schemas (draft 2020-12) of the events netsig prints, one per event type
// plus the shared envelope (net_packet_envelope.schema.json) they reference by
// $ref. The .json files are the published artefact (for editors, SIEMs, other
// languages); importing them here is also what makes tsc ship them in dist/.
//
// validateEvent() checks one parsed event (the JSON text form, as users get
// it) against the schema of its eventName. The validators are compiled once,
// on first use.

import Ajv2020, { type ErrorObject, type SchemaObject, type ValidateFunction } from "ajv/dist/2020";
import { EVENT_NAMES, type EventName } from "../registry";
import envelope from "./net_packet_envelope.schema.json";
import dns from "./net_packet_dns.schema.json";
import dnsRequest from "./net_packet_dns_request.schema.json";
import dnsResponse from "./net_packet_dns_response.schema.json";
import icmp from "./net_packet_icmp.schema.json";
import icmpv6 from "./net_packet_icmpv6.schema.json";
import ipv4 from "./net_packet_ipv4.schema.json";
import ipv6 from "./net_packet_ipv6.schema.json";
import tcp from "./net_packet_tcp.schema.json";
import udp from "./net_packet_udp.schema.json";
import http from "./net_packet_http.schema.json";
import httpRequest from "./net_packet_http_request.schema.json";
import httpResponse from "./net_packet_http_response.schema.json";
import tcpBegin from "./net_flow_tcp_begin.schema.json";
import tcpEnd from "./net_flow_tcp_end.schema.json";
import clientHello from "./net_packet_tls_client_hello.schema.json";
import serverHello from "./net_packet_tls_server_hello.schema.json";
import udpBegin from "./net_flow_udp_begin.schema.json";
import udpEnd from "./net_flow_udp_end.schema.json";

/** the shared envelope schema ($id "net_packet_envelope.schema.json") */
export const ENVELOPE_SCHEMA: SchemaObject = envelope;

/** every event schema file (each event type's: its $id is "<name>.schema.json") */
const FILES: readonly SchemaObject[] = [
  ipv4,
  ipv6,
  tcp,
  udp,
  icmp,
  icmpv6,
  dns,
  dnsRequest,
  dnsResponse,
  http,
  httpRequest,
  httpResponse,
  tcpBegin,
  tcpEnd,
  clientHello,
  serverHello,
  udpBegin,
  udpEnd,
];

/** each event type's schema, by its declaration's name (events/registry.ts): one file each, no file left over */
export const EVENT_SCHEMAS: Readonly<Record<EventName, SchemaObject>> = (() => {
  const byId = new Map(FILES.map((f) => [f.$id as string, f]));
  const out = {} as Record<EventName, SchemaObject>;
  for (const name of EVENT_NAMES) {
    const s = byId.get(`${name}.schema.json`);
    if (s === undefined) throw new Error(`events/schemas: no ${name}.schema.json for the declared event ${name}`);
    out[name] = s;
    byId.delete(`${name}.schema.json`);
  }
  if (byId.size > 0) throw new Error(`events/schemas: ${[...byId.keys()].join(", ")} declare no event type (events/registry.ts)`);
  return out;
})();

interface Compiled {
  events: Map<string, ValidateFunction>;
  args: Map<string, ValidateFunction>;
}

let compiled: Compiled | undefined;

function validators(): Compiled {
  if (compiled !== undefined) return compiled;
  const ajv = new Ajv2020({ strict: true, allErrors: false, verbose: true });
  ajv.addSchema(ENVELOPE_SCHEMA);
  for (const name of EVENT_NAMES) ajv.addSchema(EVENT_SCHEMAS[name]);
  const events = new Map<string, ValidateFunction>();
  const args = new Map<string, ValidateFunction>();
  for (const name of EVENT_NAMES) {
    events.set(name, ajv.getSchema(`${name}.schema.json`) as ValidateFunction);
    // the args tuple alone: for events whose envelope is not netsig's (Tracee's own examples)
    args.set(name, ajv.compile({ $ref: `${name}.schema.json#/properties/args` }));
  }
  compiled = { events, args };
  return compiled;
}

/** a short rendering of the offending value */
function shown(v: unknown): string {
  const s = v === undefined ? "undefined" : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** one line: where (JSON pointer into the event), what is wrong, and the value found */
function describe(errors: ErrorObject[] | null | undefined, prefix = ""): string {
  if (!errors || errors.length === 0) return `${prefix || "/"}: invalid`;
  // ajv lists the errors of the alternatives of anyOf/oneOf before the anyOf/oneOf itself
  let e = errors[errors.length - 1];
  if (e.keyword === "anyOf" || e.keyword === "oneOf") {
    // an alternative that got further into the value is the useful message (["a", 1]: item 1 is not a string)
    const deeper = errors.filter((x) => x.instancePath.startsWith(e.instancePath + "/"));
    if (deeper.length > 0) e = deeper.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
  }
  let what = e.message ?? "invalid";
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      what += ` ("${String(p.additionalProperty)}")`;
      break;
    case "unevaluatedProperties":
      what += ` ("${String(p.unevaluatedProperty)}")`;
      break;
    case "required":
    case "minItems":
    case "maxItems":
    case "items":
      break;
    case "pattern": {
      // name the address form instead of printing the regular expression
      const def = /\$defs\/(\w+)\/pattern$/.exec(e.schemaPath);
      what = def ? `must be ${def[1]} text` : what;
      what += ` (got ${shown(e.data)})`;
      break;
    }
    case "anyOf":
    case "oneOf": {
      // name the alternatives that failed at this same place
      const alts = new Set<string>();
      for (const x of errors.slice(0, -1)) {
        if (x.instancePath !== e.instancePath) continue;
        const xp = x.params as Record<string, unknown>;
        if (x.keyword === "pattern") alts.add(`${/\$defs\/(\w+)\/pattern$/.exec(x.schemaPath)?.[1] ?? "matching"} text`);
        else if (x.keyword === "type") alts.add(String(xp.type));
        else if (x.keyword === "const") alts.add(JSON.stringify(xp.allowedValue));
        else if (x.keyword === "minItems") alts.add(`an array of at least ${String(xp.limit)} items`);
      }
      if (alts.size > 0) what = `must be ${[...alts].join(" or ")}`;
      what += ` (got ${shown(e.data)})`;
      break;
    }
    case "const":
      what += ` ${shown(p.allowedValue)} (got ${shown(e.data)})`;
      break;
    default:
      what += ` (got ${shown(e.data)})`;
  }
  return `${prefix + e.instancePath || "/"}: ${what}`;
}

function nameOf(ev: unknown): string | null {
  if (typeof ev !== "object" || ev === null || Array.isArray(ev)) return null;
  const n = (ev as Record<string, unknown>).eventName;
  return typeof n === "string" ? n : null;
}

/**
 * Validate one event (parsed from netsig's JSON output) against the schema of
 * its eventName. Returns null when it is valid, else a one-line error that
 * starts with the JSON pointer of the offending value.
 */
export function validateEvent(ev: unknown): string | null {
  const name = nameOf(ev);
  if (name === null) {
    if (typeof ev !== "object" || ev === null || Array.isArray(ev)) return "/: must be an object";
    return "eventName" in ev
      ? `/eventName: must be a string naming a net_packet_* event (got ${shown((ev as Record<string, unknown>).eventName)})`
      : "/: must have required property 'eventName'";
  }
  const v = validators().events.get(name);
  if (v === undefined) return `/eventName: unknown event "${name}" (known: ${EVENT_NAMES.join(", ")})`;
  return v(ev) ? null : describe(v.errors);
}

/**
 * Validate only the args array of an event of type `eventName` (for Tracee's
 * own events, whose envelope may be the older one). Same result convention.
 */
export function validateArgs(eventName: string, args: unknown): string | null {
  const v = validators().args.get(eventName);
  if (v === undefined) return `/eventName: unknown event "${eventName}" (known: ${EVENT_NAMES.join(", ")})`;
  return v(args) ? null : describe(v.errors, "/args");
}
