// Each event type is declared once (engine/events/registry.ts) and every table
// keyed by event type is derived from the declarations. This test is the
// checklist of adding an event type: every derived table has exactly one
// entry per declared type, and the builder, the JSON writer, the rules' lazy
// events, the rule field shapes and the JSON schema of each type agree with
// its declaration, on every event of the corpus.

import assert from "node:assert/strict";
import { test } from "node:test";
import { readCapture } from "../engine/capture/reader";
import { Decoder } from "../engine/decode/decoder";
import type { DnsMessage } from "../engine/decode/dnstypes";
import { Packet } from "../engine/decode/packet";
import { FlowTracker } from "../engine/flows/tracker";
import { DnsCache } from "../engine/flows/dnscache";
import type { AppRecord } from "../engine/types/records";
import { ALL_EVENTS, declaredArgs, eventArgs, EventBuilder } from "../engine/events/build";
import { EventFilter, parseEventNames } from "../engine/events/filter";
import { eventJSON, EventJSONWriter } from "../engine/events/json";
import { VALUE_WRITERS } from "../engine/events/jsonbytes";
import { EventPipeline } from "../engine/events/pipeline";
import {
  ARG_LAYOUT,
  DNS_EVENTS,
  EVENT_COUNT,
  EVENT_IDS,
  EVENTS,
  eventId,
  kindOfName,
  kindsOf,
  MESSAGE_EVENTS,
  RECORD_EVENTS,
  RECORD_KINDS,
  perKind,
  type EventDecl,
} from "../engine/events/registry";
import { EVENT_SCHEMAS, validateEvent } from "../engine/events/schemas";
import { selectorMask } from "../engine/realm/realm";
import { HostRules } from "../engine/rules/run/backend";
import { LazyEvent } from "../engine/rules/run/lazy";
import { ARG_SHAPES, DNS_EVENTS as DNS_EVENT_NAMES } from "../engine/rules/run/shapes";
import { maskNames } from "../engine/cli/signatures";
import { Ev, EVENT_NAMES, type Shape, type TraceeEvent } from "../engine/types/events";
import { captureFiles } from "./lib/replay";

test("every event type is declared once, in EVENT_NAMES order, with its own name and Tracee ID", () => {
  assert.equal(EVENT_COUNT, EVENT_NAMES.length);
  assert.ok(EVENT_COUNT <= 31, "an event mask is a 32-bit integer");
  assert.deepEqual(
    EVENTS.map((d) => d.name),
    [...EVENT_NAMES],
  );
  assert.deepEqual(
    EVENTS.map((d) => d.kind),
    EVENT_NAMES.map((_, i) => i),
  );
  assert.equal(new Set(EVENTS.map((d) => d.id)).size, EVENT_COUNT, "Tracee IDs are unique");
  // Tracee: `NetPacketIPv4 ID = iota + 2000` ... `NetFlowTCPEnd` (2013) in pkg/events/core.go; netsig's own
  // event types (TLS hellos, UDP flows) take theirs from Tracee's user-space extension range (3000-3499)
  const TRACEE_TYPES = 14;
  assert.deepEqual(
    EVENTS.map((d) => d.id),
    EVENT_NAMES.map((_, i) => (i < TRACEE_TYPES ? 2000 + i : 3000 + i - TRACEE_TYPES)),
  );
  assert.equal(EVENT_NAMES[TRACEE_TYPES - 1], "net_flow_tcp_end");
  for (const d of EVENTS) {
    assert.ok(d.args.length > 0, `${d.name}: Tracee events have args`);
    assert.equal(new Set(d.args.map((a) => a.name)).size, d.args.length, `${d.name}: arg names are unique`);
    assert.equal(kindOfName(d.name), d.kind);
  }
  assert.equal(kindOfName("net_packet_nope"), -1);
  // the const enum the hot paths switch on names the same types
  const ev: [Ev, string][] = [
    [Ev.IPv4, "net_packet_ipv4"],
    [Ev.IPv6, "net_packet_ipv6"],
    [Ev.TCP, "net_packet_tcp"],
    [Ev.UDP, "net_packet_udp"],
    [Ev.ICMP, "net_packet_icmp"],
    [Ev.ICMPv6, "net_packet_icmpv6"],
    [Ev.DNS, "net_packet_dns"],
    [Ev.DNSRequest, "net_packet_dns_request"],
    [Ev.DNSResponse, "net_packet_dns_response"],
  ];
  for (const [k, name] of ev) assert.equal(EVENT_NAMES[k], name);
});

test("every table keyed by event type has exactly one entry per declared type", () => {
  const names = [...EVENT_NAMES];
  assert.equal(EVENT_IDS.length, EVENT_COUNT);
  assert.deepEqual(
    EVENTS.map((d) => eventId(d.kind)),
    EVENTS.map((d) => String(d.id)),
  );
  assert.equal(ARG_LAYOUT.length, EVENT_COUNT);
  for (const d of EVENTS)
    assert.deepEqual(
      ARG_LAYOUT[d.kind],
      d.args.map((a) => [a.name, a.type]),
    );
  assert.deepEqual(Object.keys(ARG_SHAPES), names);
  assert.deepEqual(Object.keys(EVENT_SCHEMAS), names);
  assert.deepEqual(
    perKind((k) => k),
    EVENT_NAMES.map((_, i) => i),
  );
  assert.equal(ALL_EVENTS, 2 ** EVENT_COUNT - 1);
  // --events, selectors, the signatures list
  // without a value: all but the opt-in flow events (like Tracee's "flows" set, asked for by name)
  const flows = EVENTS.filter((d) => d.name.startsWith("net_flow_")).reduce((m, d) => m | (1 << d.kind), 0);
  assert.equal(flows.toString(2).replace(/0/g, "").length, 4);
  assert.equal(parseEventNames(undefined), ALL_EVENTS & ~flows);
  assert.equal(parseEventNames("net_packet_*"), ALL_EVENTS & ~flows);
  assert.equal(parseEventNames("net_packet_*,net_flow_*"), ALL_EVENTS);
  for (const d of EVENTS) assert.equal(parseEventNames(d.name), 1 << d.kind);
  assert.equal(selectorMask([{ source: "tracee", name: "*", origin: "*" }]), ALL_EVENTS);
  for (const d of EVENTS) assert.equal(selectorMask([{ source: "tracee", name: d.name, origin: "*" }]), 1 << d.kind);
  assert.equal(maskNames(ALL_EVENTS), "*");
  assert.equal(maskNames(ALL_EVENTS & ~1), names.slice(1).join(","));
  // --filter reaches every type
  for (const d of EVENTS) assert.doesNotThrow(() => new EventFilter([`${d.name}.args.${d.args[0].name}=x`]));
  // the per-type counters
  assert.equal(new EventPipeline(ALL_EVENTS, "h", () => undefined).eventCounts.length, EVENT_COUNT);
  // (a result of the in-process rules: a cut has none before a packet, a signal's has the counters)
  assert.equal(new HostRules("h").signal({ type: "count" }).events!.length, EVENT_COUNT);
  // the DNS events (dns.* rule fields) are the ones DNS messages yield
  assert.deepEqual(
    [...DNS_EVENT_NAMES],
    EVENTS.filter((d) => "dns" in d.from).map((d) => d.name),
  );
  assert.equal(
    DNS_EVENTS,
    MESSAGE_EVENTS.reduce((m, e) => m | e.bit, 0),
  );
  // every type comes from some part of a packet, or from a record of the flow stage
  for (const d of EVENTS) assert.ok("ip" in d.from || "layer" in d.from || "dns" in d.from || "record" in d.from, d.name);
  assert.equal(
    RECORD_EVENTS,
    RECORD_KINDS.reduce((m, e) => m | e.bit, 0),
  );
});

/** does a value have the shape a declaration gives rules? (a list may be null: Tracee prints nil slices as null) */
function shapeProblem(v: unknown, s: Shape, at: string): string | null {
  if (s === "any") return null;
  if (s === "s") return typeof v === "string" ? null : `${at}: not text`;
  if (s === "n") return typeof v === "number" ? null : `${at}: not a number`;
  if (s === "b") return typeof v === "boolean" ? null : `${at}: not a boolean`;
  if (Array.isArray(s)) {
    if (v === null) return null;
    if (!Array.isArray(v)) return `${at}: not a list`;
    for (let i = 0; i < v.length; i++) {
      const p = shapeProblem(v[i], s[0], `${at}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return `${at}: not an object`;
  const keys = Object.keys(v);
  if (keys.join() !== Object.keys(s).join()) return `${at}: keys ${keys.join()} but declared ${Object.keys(s).join()}`;
  for (const k of keys) {
    const p = shapeProblem((v as Record<string, unknown>)[k], s[k], `${at}.${k}`);
    if (p) return p;
  }
  return null;
}

/** a schema object with its $ref followed (within the event schema and the envelope schema) */
function resolve(s: Record<string, unknown>, own: Record<string, unknown>): Record<string, unknown> {
  const ref = s.$ref as string | undefined;
  if (ref === undefined) return s;
  const [file, pointer] = ref.split("#");
  const root = (
    file === ""
      ? own
      : file === "net_packet_envelope.schema.json"
        ? require("../engine/events/schemas/net_packet_envelope.schema.json")
        : null
  ) as Record<string, unknown> | null;
  assert.ok(root, `unresolved $ref ${ref}`);
  let at: unknown = root;
  for (const seg of pointer.split("/").filter((x) => x !== "")) at = (at as Record<string, unknown>)[seg];
  return resolve(at as Record<string, unknown>, file === "" ? own : (root as Record<string, unknown>));
}

test("each event type's JSON schema pins the ID, name, argsNum and the args (names and types) its declaration gives", () => {
  for (const d of EVENTS) {
    const s = EVENT_SCHEMAS[d.name] as Record<string, any>;
    assert.equal(s.$id, `${d.name}.schema.json`);
    assert.equal(s.properties.eventId.const, String(d.id), d.name);
    assert.equal(s.properties.eventName.const, d.name);
    assert.equal(s.properties.argsNum.const, d.args.length, d.name);
    const items = s.properties.args.prefixItems as Record<string, unknown>[];
    assert.equal(items.length, d.args.length, d.name);
    assert.equal(s.properties.args.minItems, d.args.length, d.name);
    assert.equal(s.properties.args.maxItems, d.args.length, d.name);
    d.args.forEach((a, i) => {
      const item = resolve(items[i], s) as Record<string, any>;
      assert.equal(item.properties.name.const, a.name, `${d.name} arg ${i}`);
      assert.equal(item.properties.type.const, a.type, `${d.name} arg ${i}`);
    });
  }
});

test("the JSON writer's fast writers are for declared arg types only", () => {
  const declared = new Set(EVENTS.flatMap((d) => d.args.map((a) => a.type)));
  for (const t of Object.keys(VALUE_WRITERS)) assert.ok(declared.has(t), `a writer for "${t}", which no event type declares`);
});

test("on every corpus packet, the events built, written and read lazily are what their declarations say", async () => {
  const seen = new Set<number>();
  const json = new EventJSONWriter("h");
  const lazies = perKind((k) => new LazyEvent(k, "h"));
  let n = 0;
  for (const file of captureFiles()) {
    const dec = new Decoder();
    dec.dnsEnabled = true;
    const b = new EventBuilder(ALL_EVENTS, { hostName: "h" });
    // the flow stage, as the pipeline runs it with every event wanted: its records make the record events
    const flows = new FlowTracker();
    flows.tcpEvents = true;
    flows.udpEvents = true;
    flows.dns = new DnsCache();
    const check = (p: Packet) => {
      const kinds = kindsOf(p);
      const got: number[] = [];
      // the record of each record event, in the order visitEvents visits them
      const units: AppRecord[] = [];
      for (const r of p.records ?? []) for (const e of RECORD_KINDS) if (e.record === r.t && e.accepts(r)) units.push(r);
      let u = 0;
      b.build(p, (ev: TraceeEvent, kind: Ev) => {
        n++;
        const d: EventDecl = EVENTS[kind];
        const at = `${file} packet ${dec.stats.packets} ${d.name}`;
        seen.add(kind);
        got.push(kind);
        assert.ok(kinds & (1 << kind), `${at}: kindsOf does not include it`);
        const m = "dns" in d.from ? (p.dns as DnsMessage) : "record" in d.from ? units[u++] : null;
        if ("dns" in d.from) assert.ok(d.from.dns(m as DnsMessage), `${at}: a message its declaration does not accept`);
        if ("record" in d.from)
          assert.ok(m !== undefined && d.from.accepts(m as AppRecord), `${at}: a record its declaration does not accept`);
        assert.equal(ev.eventName, d.name, at);
        assert.equal(ev.eventId, String(d.id), at);
        assert.equal(ev.argsNum, d.args.length, at);
        assert.deepEqual(
          ev.args.map((a) => [a.name, a.type]),
          d.args.map((a) => [a.name, a.type]),
          at,
        );
        d.args.forEach((a, i) => {
          assert.equal(shapeProblem(ev.args[i].value, a.shape, `${at} args.${a.name}`), null);
          assert.deepEqual(a.value(p, m), ev.args[i].value, `${at} args.${a.name}`);
        });
        // the builder's own case for the type makes what the declaration's args make
        assert.deepEqual(eventArgs(kind, p, m), declaredArgs(kind, p, m), at);
        // the rules' lazy event reads the declared args
        const lazy = lazies[kind];
        lazy.reset(p, m, p.timestampNumber());
        for (const a of d.args)
          assert.deepEqual(lazy.arg(a.name), ev.args.find((x) => x.name === a.name)!.value, `${at} lazy args.${a.name}`);
        // the fast writer writes what Go's encoding/json would (every 7th event: the corpus is large)
        if (n % 7 === 0) {
          const ts = String(BigInt(Math.round(ev.timestamp)));
          const line = json.write(ev, kind, ts);
          assert.equal(line, eventJSON(ev, ts), at);
          assert.equal(validateEvent(JSON.parse(line)), null, at);
        }
      });
      // IP and transport events: exactly the ones the packet's headers yield
      const packetLevel = got.filter((k) => !("dns" in EVENTS[k].from) && !("record" in EVENTS[k].from));
      assert.deepEqual(
        packetLevel,
        EVENTS.filter((d) => !("dns" in d.from) && !("record" in d.from) && kinds & (1 << d.kind)).map((d) => d.kind),
      );
      assert.equal(u, units.length, "every record's events");
    };
    await readCapture(file, (rec) => {
      const p = dec.decode(rec);
      flows.track(p);
      check(p);
    });
    // the flows open at the end: their records ride on a packet of no layer (EventPipeline.finish)
    const end = new Packet();
    end.records = flows.flush();
    if (end.records.length > 0) check(end);
  }
  assert.ok(n > 1000);
  assert.deepEqual(
    [...seen].sort((a, b) => a - b),
    EVENTS.map((d) => d.kind),
    "the corpus has events of every declared type",
  );
});
