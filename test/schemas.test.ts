// The JSON Schemas of engine/events/schemas: every event netsig emits for the
// whole corpus (and the bundled examples) validates in its JSON text form;
// the args of Tracee's own 47 documented examples validate; the schemas are
// strict throughout (every object closed, every key required, every integer
// bounded); and broken events are rejected with the right JSON pointer: a
// systematic mutation of every value, key and object of real events, plus
// named cases (a port of 70000, a missing key, an extra key, a wrong type...).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import { ENVELOPE_SCHEMA, EVENT_SCHEMAS, validateArgs, validateEvent } from "../engine/events/schemas";
import { EVENTS } from "../engine/events/registry";
import { EVENT_NAMES } from "../engine/types/events";
import { captureFiles, replayFile } from "./lib/replay";
import { SPEC } from "./lib/run";

type Json = any;

/** the schema files tsc shipped next to the compiled validator, and their sources */
const SHIPPED_DIR = join(__dirname, "..", "engine", "events", "schemas");
const SOURCE_DIR = join(__dirname, "..", "..", "engine", "events", "schemas");
const ALL_SCHEMAS: [string, Json][] = [
  ["net_packet_envelope.schema.json", ENVELOPE_SCHEMA],
  ...EVENT_NAMES.map((n): [string, Json] => [`${n}.schema.json`, EVENT_SCHEMAS[n]]),
];

// ---------------------------------------------------------------- the files

test("schemas: one file per event type plus the envelope, shipped next to the compiled validator", () => {
  for (const [file, schema] of ALL_SCHEMAS) {
    assert.ok(existsSync(join(SHIPPED_DIR, file)), `${file} is in the build output`);
    const source = JSON.parse(readFileSync(join(SOURCE_DIR, file), "utf8"));
    assert.deepEqual(JSON.parse(readFileSync(join(SHIPPED_DIR, file), "utf8")), source, `${file} shipped is its source`);
    assert.deepEqual(schema, source, `${file} is the schema the validator uses`);
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.equal(schema.$id, file);
  }
  for (const [i, name] of EVENT_NAMES.entries()) {
    const s = EVENT_SCHEMAS[name];
    assert.equal(s.$ref, "net_packet_envelope.schema.json", `${name} uses the shared envelope`);
    assert.equal(s.properties.eventName.const, name);
    assert.equal(s.properties.eventId.const, String(EVENTS[i].id));
    assert.equal(s.unevaluatedProperties, false);
    const args = s.properties.args;
    assert.equal(args.items, false);
    assert.equal(args.minItems, args.prefixItems.length);
    assert.equal(args.maxItems, args.prefixItems.length);
    assert.equal(s.properties.argsNum.const, args.prefixItems.length);
  }
});

/** every subschema, with its JSON pointer */
function* subschemas(s: Json, path = "#"): Generator<[string, Json]> {
  if (s === null || typeof s !== "object") return;
  if (Array.isArray(s)) {
    for (const [i, x] of s.entries()) yield* subschemas(x, `${path}/${i}`);
    return;
  }
  yield [path, s];
  for (const [k, v] of Object.entries(s)) {
    if (k === "const" || k === "required" || k === "description") continue;
    if (k === "properties" || k === "$defs") {
      for (const [name, x] of Object.entries(v as object)) yield* subschemas(x, `${path}/${k}/${name}`);
    } else yield* subschemas(v, `${path}/${k}`);
  }
}

// Tracee omits the fields of its container and kubernetes objects when they are
// empty (Go omitempty); netsig always prints both as {}.
const OPTIONAL_KEYS_OK = new Set(["#/properties/container", "#/properties/kubernetes"]);

test("schemas are strict: closed objects, every key required, bounded integers, fixed-length args", () => {
  let objects = 0;
  let integers = 0;
  for (const [file, schema] of ALL_SCHEMAS) {
    for (const [path, s] of subschemas(schema)) {
      const where = `${file}${path}`;
      if (s.properties !== undefined) {
        objects++;
        assert.equal(s.type, "object", `${where} says it is an object`);
        if (s.unevaluatedProperties === false && s.$ref !== undefined) continue; // event root: the envelope lists the keys
        assert.equal(s.additionalProperties, false, `${where} is closed`);
        if (!OPTIONAL_KEYS_OK.has(path)) assert.deepEqual(s.required, Object.keys(s.properties), `${where} requires every key, in order`);
      }
      if (s.type === "integer") {
        integers++;
        if (path !== "#/properties/returnValue") {
          assert.equal(typeof s.minimum, "number", `${where} has a minimum`);
          assert.equal(typeof s.maximum, "number", `${where} has a maximum`);
        }
      }
      if (s.type === "array" && s.prefixItems === undefined) assert.ok(s.items !== undefined, `${where} says what its items are`);
    }
  }
  assert.ok(objects > 20 && integers > 5);
});

// ------------------------------------------------ what netsig emits validates

/** the first events of each type seen in the corpus, kept for the mutation tests */
const samples = new Map<string, Json[]>();
const counts = new Map<string, number>();
const rrTypesSeen = new Set<string>();

function keepSample(ev: Json): void {
  const list = samples.get(ev.eventName) ?? [];
  if (ev.eventName === "net_packet_dns") {
    // one DNS event per RR type not yet sampled (every RR shape gets mutated)
    const d = ev.args[4].value;
    const types = [...d.answers, ...d.authorities, ...d.additionals].map((r: Json) => r.type);
    if (types.some((t: string) => !rrTypesSeen.has(t)) || list.length === 0) {
      for (const t of types) rrTypesSeen.add(t);
      list.push(ev);
    }
  } else if (ev.eventName === "net_packet_dns_response") {
    // one with answers, one with dns_answer null
    const nullAnswer = ev.args[1].value[0].dns_answer === null;
    if (!list.some((x) => (x.args[1].value[0].dns_answer === null) === nullAnswer)) list.push(ev);
  } else if (list.length < 2) {
    list.push(ev);
  }
  samples.set(ev.eventName, list);
}

for (const file of captureFiles()) {
  test(`every event of ${basename(file)} validates (JSON text form)`, async () => {
    const { lines } = await replayFile(file);
    const bad: string[] = [];
    for (const line of lines) {
      assert.match(line, /^\{"timestamp":\d+,/, "the timestamp is an exact integer literal");
      const ev = JSON.parse(line);
      const err = validateEvent(ev);
      if (err !== null) {
        if (bad.length < 5) bad.push(`${ev.eventName} ${err}\n  ${line.length > 600 ? line.slice(0, 600) + "..." : line}`);
        continue;
      }
      counts.set(ev.eventName, (counts.get(ev.eventName) ?? 0) + 1);
      keepSample(ev);
    }
    assert.deepEqual(bad, [], `${file}: events that do not validate`);
  });
}

test("the corpus exercised every event type's schema", () => {
  for (const name of EVENT_NAMES) assert.ok((counts.get(name) ?? 0) > 0, `no ${name} event validated`);
  for (const t of ["A", "AAAA", "NS", "CNAME", "SOA", "MX", "TXT", "OPT", "SRV", "PTR"]) {
    assert.ok(rrTypesSeen.has(t), `a ${t} record was validated`);
  }
});

// ------------------------------------------------------ Tracee's own examples

const specLines = readFileSync(SPEC, "utf8").trim().split("\n");

test("the args of the 47 Tracee examples validate against the args of the schemas", () => {
  assert.equal(specLines.length, 47);
  for (const [i, line] of specLines.entries()) {
    const ex = JSON.parse(line);
    assert.equal(validateArgs(ex.eventName, ex.args), null, `spec line ${i + 1} (${ex.eventName})`);
  }
});

test("the 2023 examples (spec lines 45-47) validate whole: Tracee's own envelope fits the envelope schema", () => {
  for (const line of specLines.slice(44)) {
    const ex = JSON.parse(line);
    assert.equal(validateEvent(ex), null);
  }
});

// ------------------------------------------------------------ mutations

type Path = (string | number)[];

const pointer = (p: Path): string => (p.length === 0 ? "/" : "/" + p.join("/"));

function at(root: Json, p: Path): Json {
  return p.reduce((v, k) => v[k], root);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v));
}

/** every value in an event with its path (the event itself excluded) */
function* values(v: Json, p: Path = []): Generator<[Path, Json]> {
  if (p.length > 0) yield [p, v];
  if (v !== null && typeof v === "object") {
    for (const [k, x] of Array.isArray(v) ? v.entries() : Object.entries(v)) yield* values(x, [...p, k]);
  }
}

const NULLABLE = new Set(["TXTs", "dns_answer"]);

/** replacement values of a different JSON type (or out of range), each of which must be rejected */
function wrongValues(p: Path, v: Json): [string, Json][] {
  const key = p[p.length - 1];
  const out: [string, Json][] = [];
  if (typeof v === "number") {
    out.push(["a string", String(v)], ["null", null], ["a boolean", true], ["a fraction", Number.isSafeInteger(v) ? v + 0.5 : 0.5]);
    // Go's ContentLength is -1 when unknown (net_packet_http*): below that is out of range
    if (key === "content_length") out.push(["below -1", -2]);
    else if (key !== "returnValue") out.push(["negative", -1]);
  } else if (typeof v === "string") {
    out.push(["a number", 1], ["null", null], ["an array", [v]]);
  } else if (typeof v === "boolean") {
    out.push(["a string", String(v)], ["a number", 0]);
  } else if (v === null) {
    out.push(["a number", 0], ["a string", ""], ["an empty array", []]);
  } else if (Array.isArray(v)) {
    out.push(["an object", {}], ["a string", "[]"]);
    if (!NULLABLE.has(String(key))) out.push(["null", null]);
  } else {
    out.push(["an array", []], ["null", null], ["a string", "{}"]);
  }
  return out;
}

function rejects(ev: Json, where: Path, what: string): void {
  const err = validateEvent(ev);
  assert.notEqual(err, null, `${ev.eventName}: ${what} at ${pointer(where)} was accepted`);
  assert.ok(!err!.includes("\n"), "one line");
  assert.ok(err!.startsWith(pointer(where) + ":"), `${ev.eventName}: ${what}: error names ${pointer(where)}: ${err}`);
}

test("every value of real events, made a wrong type or out of range, is rejected at its JSON pointer", () => {
  let mutations = 0;
  for (const name of EVENT_NAMES) {
    for (const ev of samples.get(name) ?? []) {
      assert.equal(validateEvent(ev), null);
      for (const [p, v] of values(ev)) {
        for (const [what, bad] of wrongValues(p, v)) {
          const m = clone(ev);
          const parent = at(m, p.slice(0, -1));
          parent[p[p.length - 1]] = bad;
          // a wrong eventName selects no schema (or another one): reported at /eventName
          rejects(m, p[0] === "eventName" ? ["eventName"] : p, `${pointer(p)} = ${what}`);
          mutations++;
        }
      }
    }
  }
  assert.ok(mutations > 2000, `${mutations} mutations`);
});

test("every key of real events, removed, is rejected; every object given an extra key is rejected", () => {
  let mutations = 0;
  for (const name of EVENT_NAMES) {
    for (const ev of samples.get(name) ?? []) {
      for (const [p, v] of [[[], ev] as [Path, Json], ...values(ev)]) {
        if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
        // an HTTP message's headers are a map (Go's http.Header): any name may be missing
        if (p[p.length - 1] !== "headers")
          for (const k of Object.keys(v)) {
            const m = clone(ev);
            delete at(m, p)[k];
            rejects(m, p, `missing ${k}`);
            mutations++;
          }
        const m = clone(ev);
        at(m, p).netsigExtra = 0;
        rejects(m, p[p.length - 1] === "headers" ? [...p, "netsigExtra"] : p, "an extra key");
        mutations++;
      }
    }
  }
  assert.ok(mutations > 500, `${mutations} mutations`);
});

/** the first sample of an event type, copied */
function sample(name: string, pick: (ev: Json) => boolean = () => true): Json {
  const ev = (samples.get(name) ?? []).find(pick);
  assert.ok(ev, `a ${name} sample`);
  return clone(ev);
}

const argValue = (ev: Json, name: string): Json => ev.args.find((a: Json) => a.name === name).value;

test("named cases: out-of-range fields, wrong types, missing/extra keys, args shape", () => {
  const cases: [string, string, (ev: Json) => void, string][] = [
    [
      "net_packet_tcp",
      "a port of 70000",
      (e) => {
        argValue(e, "proto_tcp").dstPort = 70000;
      },
      "/args/2/value/dstPort",
    ],
    [
      "net_packet_udp",
      "a port of 65536",
      (e) => {
        argValue(e, "proto_udp").srcPort = 65536;
      },
      "/args/2/value/srcPort",
    ],
    [
      "net_packet_dns",
      "a dst_port arg of 70000",
      (e) => {
        argValue(e, "dst_port");
        e.args[3].value = 70000;
      },
      "/args/3/value",
    ],
    [
      "net_packet_dns_request",
      "a metadata port of 70000",
      (e) => {
        argValue(e, "metadata").src_port = 70000;
      },
      "/args/0/value/src_port",
    ],
    [
      "net_packet_ipv4",
      "a TTL of 256",
      (e) => {
        argValue(e, "proto_ipv4").TTL = 256;
      },
      "/args/2/value/TTL",
    ],
    [
      "net_packet_ipv4",
      "an IHL of 4",
      (e) => {
        argValue(e, "proto_ipv4").IHL = 4;
      },
      "/args/2/value/IHL",
    ],
    [
      "net_packet_ipv4",
      "a fragment offset of 8192",
      (e) => {
        argValue(e, "proto_ipv4").fragOffset = 8192;
      },
      "/args/2/value/fragOffset",
    ],
    [
      "net_packet_ipv4",
      "version 6 in proto_ipv4",
      (e) => {
        argValue(e, "proto_ipv4").version = 6;
      },
      "/args/2/value/version",
    ],
    [
      "net_packet_ipv4",
      "an IPv6 src",
      (e) => {
        e.args[0].value = "::1";
      },
      "/args/0/value",
    ],
    [
      "net_packet_ipv6",
      "a flow label of 2^20",
      (e) => {
        argValue(e, "proto_ipv6").flowLabel = 1 << 20;
      },
      "/args/2/value/flowLabel",
    ],
    [
      "net_packet_ipv6",
      "an upper-case IPv6 address",
      (e) => {
        e.args[0].value = "FE80::1";
      },
      "/args/0/value",
    ],
    [
      "net_packet_ipv6",
      "an IPv6 address with a leading zero",
      (e) => {
        e.args[1].value = "fe80::01";
      },
      "/args/1/value",
    ],
    [
      "net_packet_ipv6",
      "an IPv6 address with two ::",
      (e) => {
        argValue(e, "proto_ipv6").srcIP = "1::2::3";
      },
      "/args/2/value/srcIP",
    ],
    [
      "net_packet_ipv6",
      "an IPv6 address of 9 groups",
      (e) => {
        e.args[0].value = "1:2:3:4:5:6:7:8:9";
      },
      "/args/0/value",
    ],
    [
      "net_packet_ipv6",
      "an IPv4 octet of 256",
      (e) => {
        e.args[0].value = "10.0.0.256";
      },
      "/args/0/value",
    ],
    [
      "net_packet_tcp",
      "a seq of 2^32",
      (e) => {
        argValue(e, "proto_tcp").seq = 2 ** 32;
      },
      "/args/2/value/seq",
    ],
    [
      "net_packet_tcp",
      "a flag of 2",
      (e) => {
        argValue(e, "proto_tcp").SYN = 2;
      },
      "/args/2/value/SYN",
    ],
    [
      "net_packet_tcp",
      "a port as a string",
      (e) => {
        argValue(e, "proto_tcp").srcPort = "443";
      },
      "/args/2/value/srcPort",
    ],
    [
      "net_packet_tcp",
      "a missing checksum",
      (e) => {
        delete argValue(e, "proto_tcp").checksum;
      },
      "/args/2/value",
    ],
    [
      "net_packet_tcp",
      "an extra key in proto_tcp",
      (e) => {
        argValue(e, "proto_tcp").options = [];
      },
      "/args/2/value",
    ],
    [
      "net_packet_tcp",
      "a fourth arg",
      (e) => {
        e.args.push(clone(e.args[0]));
      },
      "/args",
    ],
    [
      "net_packet_tcp",
      "args in the wrong order",
      (e) => {
        e.args.reverse();
      },
      "/args/0/name",
    ],
    [
      "net_packet_tcp",
      "argsNum 2",
      (e) => {
        e.argsNum = 2;
      },
      "/argsNum",
    ],
    [
      "net_packet_udp",
      "a wrong arg name",
      (e) => {
        e.args[0].name = "source";
      },
      "/args/0/name",
    ],
    [
      "net_packet_dns",
      "a wrong arg type",
      (e) => {
        e.args[2].type = "u32";
      },
      "/args/2/type",
    ],
    [
      "net_packet_icmp",
      "another event's eventId",
      (e) => {
        e.eventId = "2005";
      },
      "/eventId",
    ],
    [
      "net_packet_icmpv6",
      "an unknown eventName",
      (e) => {
        e.eventName = "net_packet_sctp";
      },
      "/eventName",
    ],
    [
      "net_packet_icmp",
      "an ICMP id of 65536",
      (e) => {
        argValue(e, "proto_icmp").id = 65536;
      },
      "/args/2/value/id",
    ],
    [
      "net_packet_icmpv6",
      "an empty typeCode",
      (e) => {
        argValue(e, "proto_icmpv6").typeCode = "";
      },
      "/args/2/value/typeCode",
    ],
    [
      "net_packet_dns",
      "a DNS Z of 8",
      (e) => {
        argValue(e, "proto_dns").Z = 8;
      },
      "/args/4/value/Z",
    ],
    [
      "net_packet_dns",
      "a question without class",
      (e) => {
        delete argValue(e, "proto_dns").questions[0].class;
      },
      "/args/4/value/questions/0",
    ],
    [
      "net_packet_dns_request",
      "an empty dns_questions",
      (e) => {
        e.args[1].value = [];
      },
      "/args/1/value",
    ],
    [
      "net_packet_dns_response",
      "dns_answer [] (Tracee prints null)",
      (e) => {
        e.args[1].value[0].dns_answer = [];
      },
      "/args/1/value/0/dns_answer",
    ],
    [
      "net_packet_dns_response",
      "a TTL of 2^32",
      (e) => {
        const r = e.args[1].value[0];
        r.dns_answer = [{ answer_type: "A", ttl: 2 ** 32, answer: "1.2.3.4" }];
      },
      "/args/1/value/0/dns_answer/0/ttl",
    ],
    [
      "net_packet_ipv4",
      "a timestamp string",
      (e) => {
        e.timestamp = String(e.timestamp);
      },
      "/timestamp",
    ],
    [
      "net_packet_ipv4",
      "a missing hostName",
      (e) => {
        delete e.hostName;
      },
      "/",
    ],
    [
      "net_packet_ipv4",
      "an extra envelope key",
      (e) => {
        e.severity = 1;
      },
      "/",
    ],
    [
      "net_packet_ipv4",
      "a container with an unknown key",
      (e) => {
        e.container = { pod: "x" };
      },
      "/container",
    ],
  ];
  for (const [name, what, mutate, where] of cases) {
    const ev = sample(name);
    assert.equal(validateEvent(ev), null, `${name} sample is valid before: ${what}`);
    mutate(ev);
    const err = validateEvent(ev);
    assert.notEqual(err, null, `${name}: ${what} was accepted`);
    assert.ok(err!.startsWith(where + ":"), `${name}: ${what}: error at ${where}, got: ${err}`);
  }
});

test("DNS resource records: TXTs null or non-empty strings, IP as Go prints it, OPT entries closed", () => {
  const ev = sample("net_packet_dns", (e) => argValue(e, "proto_dns").answers.length > 0);
  const rr = argValue(ev, "proto_dns").answers[0];
  const path = "/args/4/value/answers/0";
  const check = (mutate: () => void, ok: boolean, what: string, where = path): void => {
    const saved = clone(rr);
    mutate();
    const err = validateEvent(ev);
    if (ok) assert.equal(err, null, what);
    else assert.ok(err?.startsWith(where), `${what}: ${err}`);
    Object.assign(rr, saved);
    for (const k of Object.keys(rr)) if (!(k in saved)) delete rr[k];
  };
  check(
    () => {
      rr.TXTs = ["a", "b"];
    },
    true,
    "TXTs strings",
  );
  check(
    () => {
      rr.TXTs = null;
    },
    true,
    "TXTs null",
  );
  check(
    () => {
      rr.TXTs = [];
    },
    false,
    "TXTs [] (Tracee prints null)",
    `${path}/TXTs`,
  );
  check(
    () => {
      rr.TXTs = ["a", 1];
    },
    false,
    "TXTs with a number",
    `${path}/TXTs`,
  );
  check(
    () => {
      rr.IP = "";
    },
    true,
    "IP empty (not an address record)",
  );
  check(
    () => {
      rr.IP = "2001:db8::1";
    },
    true,
    "IP v6",
  );
  check(
    () => {
      rr.IP = "<nil>";
    },
    true,
    "IP of empty RDATA, as Go prints it",
  );
  check(
    () => {
      rr.IP = "?0102";
    },
    true,
    "IP of 2-byte RDATA, as Go prints it",
  );
  check(
    () => {
      rr.IP = "1.2.3.4.5";
    },
    false,
    "IP 5 octets",
    `${path}/IP`,
  );
  check(
    () => {
      rr.OPT = [{ code: "Cookie", data: "x" }];
    },
    true,
    "an OPT entry",
  );
  check(
    () => {
      rr.OPT = [{ code: "Cookie" }];
    },
    false,
    "an OPT entry without data",
    `${path}/OPT/0`,
  );
  check(
    () => {
      rr.SOA = { ...rr.SOA, serial: 2 ** 32 };
    },
    false,
    "SOA serial 2^32",
    `${path}/SOA/serial`,
  );
  check(
    () => {
      rr.SRV = { ...rr.SRV, port: 65536 };
    },
    false,
    "SRV port 65536",
    `${path}/SRV/port`,
  );
  check(
    () => {
      rr.MX = { preference: 1 };
    },
    false,
    "MX without name",
    `${path}/MX`,
  );
  check(
    () => {
      rr.URI = { ...rr.URI, weight: -1 };
    },
    false,
    "URI weight -1",
    `${path}/URI/weight`,
  );
  check(
    () => {
      rr.TTL = 2 ** 32 - 1;
    },
    true,
    "TTL 2^32-1",
  );
  check(
    () => {
      rr.TTL = 2 ** 32;
    },
    false,
    "TTL 2^32",
    `${path}/TTL`,
  );
});

test("address texts: the forms Go prints are accepted, others are not", () => {
  const ev = sample("net_packet_tcp");
  const good = [
    "0.0.0.0",
    "255.255.255.255",
    "10.1.2.3",
    "::",
    "::1",
    "fe80::1",
    "2001:db8::",
    "1:2:3:4:5:6:7:8",
    "2001:db8:0:1:1:1:1:1",
    "ff02::1:ff00:1",
    "1::",
    "a:b::c:d",
  ];
  const bad = [
    "",
    "1.2.3",
    "01.2.3.4",
    "1.2.3.4 ",
    "256.1.1.1",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "::ffff:1.2.3.4",
    "FE80::1",
    "fe80::0001",
    "g::1",
    "1:2:3:4:5:6:7::8:9",
    "localhost",
  ];
  for (const a of good) {
    ev.args[0].value = a;
    assert.equal(validateEvent(ev), null, a);
  }
  for (const a of bad) {
    ev.args[0].value = a;
    assert.match(validateEvent(ev) ?? "accepted", /^\/args\/0\/value:/, JSON.stringify(a));
  }
});

test("validateEvent: non-events are rejected with one line", () => {
  assert.equal(validateEvent(null), "/: must be an object");
  assert.equal(validateEvent([1]), "/: must be an object");
  assert.equal(validateEvent({}), "/: must have required property 'eventName'");
  assert.match(validateEvent({ eventName: 7 }) ?? "", /^\/eventName: must be a string naming a net_packet_\* event \(got 7\)$/);
  assert.match(validateEvent({ eventName: "net_packet_tcp" }) ?? "", /^\/: must have required property/);
  assert.match(validateArgs("net_packet_tcp", []) ?? "", /^\/args: must NOT have fewer than 3 items/);
  assert.match(validateArgs("nope", []) ?? "", /^\/eventName: unknown event/);
});
