// The rules that run in netsig's process read LazyEvents (engine/rules/lazy.ts):
// every arg, every derived DNS field and the whole event must be what the
// event builder makes, on every packet of the corpus. And the regexp rules
// that run there cannot hang netsig: the linear-time fallback, and the
// sandbox for the patterns it cannot run.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readCapture } from "../engine/capture/reader";
import { Decoder } from "../engine/decode/decoder";
import { ALL_EVENTS, EventBuilder } from "../engine/events/build";
import type { Ev, TraceeEvent } from "../engine/types/events";
import { LazyEvent, pin } from "../engine/rules/run/lazy";
import { firstValue, testVirtual, virtualCode, type ValueTest } from "../engine/rules/run/fields";
import { DERIVED_FIELDS } from "../engine/rules/run/shapes";
import type { FieldIR } from "../engine/types/rule-ir";
import { expandCounts, minMatchLength } from "../engine/rules/run/regex";
import { linearSafe, sandboxReason } from "../engine/rules/compile/linear";
import { loadRules } from "../engine/rules/compile/load";
import { compileRuleFiles } from "../engine/rules/compile/compile";
import { compileCondition, type LazyCondition } from "../engine/rules/run/codegen";
import { buildPred, current, type Pred } from "../engine/rules/run/matchers";
import { captureFiles } from "./lib/replay";
import { CLI } from "./lib/run";
import { pcapFile } from "../tools/lib/craft";
import { query } from "./lib/rules";

const HOST = "lazy-test";

/** the compiled units of a rule file's text (its problems fail the test) */
function compileRules(text: string) {
  const r = compileRuleFiles([{ file: "/rules/kinds.yaml", text }]);
  assert.deepEqual(
    r.problems.map((p) => `${p.line}:${p.column}: ${p.message}`),
    [],
  );
  return r.units;
}
const DNS_FIELDS = [
  "dns.query",
  "dns.record_type",
  "dns.answer",
  "dns.answer_type",
  "dns.src_ip",
  "dns.dst_ip",
  "dns.src_port",
  "dns.dst_port",
  "dns.rcode",
  "dns.parent_domain",
  "dns.qr",
];

/** the fields of Sigma's log sources derived from a DNS message (rules/run/derived.ts) */
const DNS_DERIVED = Object.keys(DERIVED_FIELDS).filter((f) => DERIVED_FIELDS[f].events.includes("net_packet_dns"));

/**
 * A built event keeps a DNS type or class only by gopacket's name of it, and
 * not whether the message came over UDP or TCP: the derived fields that need
 * those have no value there (derived.ts). On a message with such a type or
 * class, the LazyEvent may have more.
 */
function namesLost(ev: TraceeEvent): boolean {
  const d = ev.args.find((a) => a.name === "proto_dns")?.value as
    | { questions: { type: string; class: string }[]; answers: { type: string; class: string }[] }
    | undefined;
  if (!d) return false;
  return [...d.questions, ...d.answers].some((x) => x.type === "Unknown" || x.class === "Unknown");
}

/** the derived fields that need no type or class number: compared on every message */
const NAMELESS = [
  "zeek.dns.query",
  "zeek.dns.trans_id",
  "zeek.dns.rcode",
  "zeek.dns.rcode_name",
  "zeek.dns.rejected",
  "zeek.dns.Z",
  "zeek.dns.TC",
  "zeek.dns.RD",
  "zeek.dns.opcode",
  "zeek.dns.opcode_name",
  "net.dns.answers.name",
  "net.dns.answers.ttl",
  "net.dns.header.flags",
];

/** every value a derived field has on an event, in scan order */
function values(ev: TraceeEvent, field: string): unknown[] {
  const seen: unknown[] = [];
  const t: ValueTest = {
    test: (v) => {
      seen.push(v);
      return false;
    },
  };
  testVirtual(ev, virtualCode(field), t, false);
  // (with no value at all, the scan tests undefined once: keep that too)
  return seen;
}

type BuiltPacket = Parameters<EventBuilder["build"]>[0];

/**
 * every event of every corpus capture as the builder makes it, with the
 * LazyEvent of its type pointed at the same packet (one LazyEvent per type,
 * reused from event to event as the rules host does)
 */
async function eachCorpusEvent(fn: (ev: TraceeEvent, kind: Ev, p: BuiltPacket, lazy: LazyEvent, at: string) => void): Promise<void> {
  for (const file of captureFiles()) {
    const d = new Decoder();
    d.dnsEnabled = true;
    const b = new EventBuilder(ALL_EVENTS, { hostName: HOST });
    const reused = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((k) => new LazyEvent(k as Ev, HOST));
    await readCapture(file, (rec) =>
      b.build(d.decode(rec), (ev, kind, p) => {
        const lazy = reused[kind];
        lazy.reset(p, kind >= 6 ? p.dns : null, p.timestampNumber());
        fn(ev, kind, p, lazy, `${file} packet ${d.stats.packets} ${ev.eventName}`);
      }),
    );
  }
}

test("a LazyEvent reads the same args, DNS fields and event as the builder makes, on every corpus packet", async () => {
  let events = 0;
  let dnsEvents = 0;
  let lostNames = 0;
  await eachCorpusEvent((ev, kind, p, lazy, at) => {
    events++;
    const m = kind >= 6 ? p.dns : null;
    assert.equal(lazy.eventName, ev.eventName, at);
    assert.equal(lazy.timestamp, ev.timestamp, at);
    // args.NAME.KEY first (read without making the arg), on a LazyEvent of its own
    const keys = new LazyEvent(kind, HOST);
    keys.reset(p, m, p.timestampNumber());
    for (const a of ev.args) {
      if (a.value === null || typeof a.value !== "object" || Array.isArray(a.value)) continue;
      for (const k of [...Object.keys(a.value), "no_such_key"]) {
        assert.deepEqual(keys.argKey(a.name, k), (a.value as Record<string, unknown>)[k], `${at} args.${a.name}.${k}`);
      }
    }
    assert.equal(keys.argKey("no_such_arg", "x"), undefined, at);
    for (const a of ev.args) assert.deepEqual(lazy.arg(a.name), a.value, `${at} args.${a.name}`);
    assert.equal(lazy.arg("no_such_arg"), undefined, at);
    for (const top of ["hostName", "processName", "eventId", "argsNum", "timestamp"]) {
      assert.deepEqual(lazy.top(top), (ev as unknown as Record<string, unknown>)[top], `${at} ${top}`);
    }
    if (kind >= 6) {
      dnsEvents++;
      const yes: ValueTest = { test: () => true };
      const lost = kind === 6 && namesLost(ev);
      if (lost) lostNames++;
      for (const f of kind === 6 ? [...DNS_FIELDS, ...DNS_DERIVED] : DNS_FIELDS) {
        if (f === "conn.proto") {
          // (a built event does not say UDP or TCP; the packet does)
          assert.deepEqual(values(ev, f), [undefined], at);
          assert.deepEqual(values(lazy as unknown as TraceeEvent, f), [p.l4Protocol === 6 ? "tcp" : "udp"], at);
          continue;
        }
        if (lost && DNS_DERIVED.includes(f) && !NAMELESS.includes(f)) continue;
        const want = values(ev, f);
        // (twice: the second read of a field is remembered for the event)
        assert.deepEqual(values(lazy as unknown as TraceeEvent, f), want, `${at} ${f}`);
        assert.deepEqual(values(lazy as unknown as TraceeEvent, f), want, `${at} ${f} again`);
        const fi: FieldIR = { h: "virt", n: f, s: [], text: f };
        assert.deepEqual(firstValue(lazy as unknown as TraceeEvent, fi), firstValue(ev, fi), `${at} first ${f}`);
        assert.equal(
          testVirtual(lazy as unknown as TraceeEvent, virtualCode(f), yes, true),
          testVirtual(ev, virtualCode(f), yes, true),
          `${at} all ${f}`,
        );
      }
    }
    // the whole event: after parts were read, and from nothing
    assert.deepEqual(lazy.event(), ev, at);
    const fresh = new LazyEvent(kind, HOST);
    fresh.reset(p, m, p.timestampNumber());
    assert.deepEqual(pin(fresh as unknown as TraceeEvent), ev, at);
  });
  assert.ok(events > 10_000, `only ${events} events`);
  assert.ok(dnsEvents > 2_000, `only ${dnsEvents} DNS events`);
  // (the messages whose derived fields are not compared in full are few)
  assert.ok(lostNames < dnsEvents / 20, `${lostNames} of ${dnsEvents} DNS events have a type or class gopacket does not name`);
});

test("a rule's condition compiled to code answers as the predicate tree does, on every corpus event (the pack, Sigma rules and every kind of test)", async () => {
  // every selection as a rule of its own too (a combined condition can hide one that answers wrongly)
  const kinds: [string, string, Record<string, string>, string][] = [
    [
      "kinds-dns",
      "[net_packet_dns, net_packet_dns_request, net_packet_dns_response]",
      {
        a: "dns.answer|cidr: '%nets'",
        b: "dns.answer|all|cidr: '%nets'",
        c: "dns.rcode: [NXDOMAIN, REFUSED]",
        d: "{dns.qr: 1, dns.record_type: [A, AAAA, MX]}",
        e: "dns.query|fieldref|endswith: dns.parent_domain",
        f: "dns.answer_type: CNAME",
        g: "dns.query|contains|all: [e, o]",
        h: "{dns.src_port|gte: 1024, dns.dst_port: 53}",
        i: "dns.answer: null",
        j: "dns.answer|endswith: ['.1', '.com']",
      },
      "(a and not b) or (c and d) or (e and not f) or (g and h) or (1 of i) or j",
    ],
    [
      "kinds-args",
      "[net_packet_ipv4, net_packet_ipv6, net_packet_tcp, net_packet_udp, net_packet_icmp, net_packet_icmpv6]",
      {
        a: "args.src|cidr: '%nets'",
        b: "{args.proto_tcp.SYN: 1, args.proto_tcp.ACK: 0}",
        c: "args.proto_ipv4.TTL|lt: 64",
        d: "args.proto_ipv6.nextHeader: [ICMPv6, UDP]",
        e: "hostName|startswith: lazy",
        f: "args.proto_udp.length|gt: 100",
        g: "args.proto_icmp.typeCode|re: '^Echo'",
        h: "args.proto_tcp: null",
      },
      "(a and (b or c)) or (d and not e) or f or g or h",
    ],
    [
      "kinds-lists",
      "[net_packet_dns_request, net_packet_dns_response, net_packet_dns]",
      {
        q: "args.dns_questions[].query|endswith: [.com, .net, .org, .br, .arpa]",
        r: "args.dns_response[].dns_answer[].answer|cidr: '%nets'",
        s: "args.proto_dns.answers[].type: [A, PTR]",
        t: "args.metadata.dst_port: 53",
        u: "args.dns_response[].dns_answer[].answer: null",
        v: "args.dns_response[].query_data.query|endswith: [.com, .br, .arpa]",
        w: "args.dns_questions[].query|contains: [www, mail, '.']",
        x: "args.dns_response[].dns_answer[].answer|endswith: ['.1', '.com', '.']",
      },
      "(q and t) or r or s or (u and not v) or (w and x)",
    ],
  ];
  let extra = 'list: nets\nitems: [127.0.0.0/8, "::1", 10.0.0.0/8]\n';
  const rule = (id: string, events: string, sels: Record<string, string>, cond: string) =>
    `---\nid: ${id}\nevents: ${events}\ndetection:\n${Object.entries(sels)
      .map(([k, v]) => `  ${k}:\n    ${v}\n`)
      .join("")}  condition: ${cond}\n`;
  for (const [id, events, sels, cond] of kinds) {
    extra += rule(id, events, sels, cond);
    for (const [k, v] of Object.entries(sels)) extra += rule(`${id}-${k}`, events, { [k]: v }, k);
  }
  // Sigma rules of Zeek's dns log and the network category (their fields derived.ts makes; not proto, which a built event lacks)
  extra +=
    "---\ntitle: zeek-q\nid: zeek-q\nlogsource: {product: zeek, service: dns}\ndetection:\n" +
    "  s: {qtype_name: [A, AAAA, PTR, TXT], RD: true, qclass_name: C_INTERNET}\n  t:\n    query|endswith: [.br, .com, .arpa, .org]\n  u: {Z|gte: 1}\n  condition: s and (t or u)\n" +
    "---\ntitle: zeek-r\nid: zeek-r\nlogsource: {product: zeek, service: dns}\ndetection:\n" +
    "  a:\n    answers|cidr: '%nets'\n  b: {rcode_name: NXDOMAIN}\n  c: {rejected: true}\n  d: {TTLs|lt: 600, AA: true}\n  e:\n    answers|contains: [TXT, .com]\n  condition: a or b or c or d or e\n" +
    "---\ntitle: net-r\nid: net-r\nlogsource: {category: network, service: dns}\ndetection:\n" +
    "  a: {dns.header.flags: RD, dns.answers.class: IN}\n  b: {dns.answers.ttl|gt: 0, dns.question.class: IN}\n  condition: a and b\n";
  const units = [...loadRules(["rules"]).result.units, ...compileRules(extra)];
  const conds: { id: string; events: string[]; tree: Pred; code: LazyCondition }[] = [];
  for (const u of units) {
    const rules = u.ir.kind === "correlation" ? u.ir.rules : [u.ir];
    for (const r of rules) {
      const code = compileCondition(r.match);
      assert.ok(code !== null, `${u.id}: no code`);
      conds.push({ id: u.id, events: r.events, tree: buildPred(r.match), code });
    }
  }
  assert.ok(conds.length >= 19, `${conds.length} conditions`);
  const hits = new Map<string, number>();
  let evs = 0;
  await eachCorpusEvent((ev, _kind, _p, lazy, at) => {
    evs++;
    for (const c of conds) {
      if (!c.events.includes(ev.eventName)) continue;
      current.ev = ev;
      const want = c.tree.eval(ev);
      current.ev = lazy as unknown as TraceeEvent;
      const got = c.code(lazy);
      const tree = c.tree.eval(lazy as unknown as TraceeEvent);
      current.ev = null;
      assert.equal(got, want, `${at}: ${c.id} as code`);
      assert.equal(tree, want, `${at}: ${c.id} as a tree on a LazyEvent`);
      if (got) hits.set(c.id, (hits.get(c.id) ?? 0) + 1);
    }
  });
  assert.ok(evs > 10_000);
  // the comparison means something only if the conditions hold on some events
  for (const id of [
    "kinds-dns",
    "kinds-args",
    "kinds-lists",
    "dns-public-name-private-answer",
    "dns-txt-heavy-client",
    "tcp-syn-scan",
    "dns-long-label",
    "icmp-oversized",
    "zeek-q",
    "zeek-r",
    "net-r",
  ])
    assert.ok((hits.get(id) ?? 0) > 0, `${id} never held`);
});

test("counted repetitions are split for the linear-time engine, matching the same texts", () => {
  const cases = [
    "(^|\\.)[^.]{48,}(\\.|$)",
    "[0-9a-fA-F]{24,}",
    "a{17}",
    "a{3,40}?b",
    "\\d{20,30}",
    "x{2}",
    "[\\]a]{20}",
    "\\u0041{17}",
    "\\.{17,}",
    "[^]{20,}",
    "x[^]{17}]",
  ];
  for (const c of cases) {
    const e = expandCounts(c);
    assert.ok(linearSafe(c, ""), `${c} (as ${e}) should run in linear time`);
    const r1 = new RegExp(`^(?:${c})$`);
    const r2 = new RegExp(`^(?:${e})$`);
    for (let n = 0; n < 60; n++) {
      for (const ch of ["a", "0", ".", "]", "A", "b", "ab"]) {
        const s = ch.repeat(n) + (n % 3 ? "b" : "");
        assert.equal(r2.test(s), r1.test(s), `${c} vs ${e} on ${JSON.stringify(s)}`);
      }
    }
  }
  // a group's count is left alone; backreferences, lookaround and the i flag cannot run in linear time
  assert.equal(expandCounts("(ab){20}"), "(ab){20}");
  for (const [src, flags] of [
    ["(a)\\1", ""],
    ["a(?=b)", ""],
    ["(?<!a)b", ""],
    ["abc", "i"],
  ])
    assert.equal(linearSafe(src, flags), false, src);
});

test("a regexp is skipped for a value shorter than any of its matches (a lower bound, never too high)", () => {
  const exact: [string, number][] = [
    ["(^|\\.)[^.]{48,}(\\.|$)", 48],
    ["(^|\\.)(?:[^.]{16}[^.]{16}[^.]{16}[^.]*)(\\.|$)", 48],
    ["[0-9a-f]{24,}=*", 24],
    ["a|bc", 1],
    ["(?:ab|cde)f?", 2],
    ["(?=abc)", 0],
    ["(?<!ab)c", 1],
    ["(a)\\1", 1],
    ["(?<n>ab)\\k<n>", 2],
    ["x{3,5}y?", 3],
    ["^$", 0],
    ["\\bab\\B", 2],
    ["[]]", 2],
    ["\\u{0}", 0],
    ["\\u0041{2}", 2],
    ["\\x4", 2],
    ["\\012", 1],
    ["\\08", 2],
    ["a{,3}", 5],
    ["\\p{0}", 0],
    ["(a", 0],
    ["a)", 0],
    ["(?i:a)", 0],
  ];
  for (const [src, n] of exact) assert.equal(minMatchLength(src), n, src);
  assert.equal(minMatchLength("abc", "u"), 0);
  // nesting deeper than 100 groups: unread (0), not a stack overflow; 100 are read
  assert.equal(minMatchLength("(".repeat(5000) + "ab" + ")".repeat(5000)), 0);
  assert.equal(minMatchLength("(".repeat(100) + "ab" + ")".repeat(100)), 2);
  // soundness: no text shorter than the bound matches (every text over a small alphabet up to 5 characters)
  const alphabet = ["a", "b", "c", ".", "0", "u", "k", "x", "{", "}", ",", "3", "\0"];
  const texts: string[] = [""];
  for (let len = 1, from = 0; len <= 4; len++) {
    const to = texts.length;
    for (let i = from; i < to; i++) for (const ch of alphabet) texts.push(texts[i] + ch);
    from = to;
  }
  const patterns = [
    ...exact.map((e) => e[0]),
    "(?:a|b{0})c",
    "a*b+c?",
    "(a|)b",
    "[^.]{2,}\\.",
    "a{2}{0}",
    "\\u{3}",
    "\\k",
    "\\c",
    "\\cx",
    "(?:)",
    "\\0{3}",
    "x(?=.{9})",
  ];
  for (const src of patterns) {
    let re: RegExp;
    try {
      re = new RegExp(src, "s");
    } catch {
      continue;
    }
    const min = minMatchLength(src);
    for (const t of texts) if (t.length < min) assert.equal(re.test(t), false, `${src} (bound ${min}) matches ${JSON.stringify(t)}`);
  }
});

const work = mkdtempSync(join(tmpdir(), "netsig-lazy-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("a catastrophic regexp: in-process it falls back to the linear engine; with the i flag it runs in the sandbox and is stopped there", () => {
  const dir = join(work, "rules");
  mkdirSync(dir);
  const rule = (id: string, sel: string) => `id: ${id}\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    ${sel}\n  condition: s\n`;
  writeFileSync(
    join(dir, "a.yaml"),
    [
      rule("nested-plus", "dns.query|re: '^(a+)+$'"),
      rule("nested-plus-i", "dns.query|re|i: '^(a+)+$'"),
      rule("control", "dns.query|endswith: '.example'"),
    ].join("---\n"),
  );
  const loaded = loadRules([dir]);
  assert.deepEqual(loaded.problems, []);
  const reason = new Map(loaded.result.units.map((u) => [u.id, sandboxReason(u.ir)]));
  assert.equal(reason.get("nested-plus"), "");
  assert.equal(reason.get("control"), "");
  assert.match(reason.get("nested-plus-i")!, /with the i flag may backtrack without bound/);
  // 40 a's then a b: 2^40 backtracking steps for a backtracking engine
  const pcap = join(work, "evil.pcap");
  const name = `${"a".repeat(40)}b.example`;
  writeFileSync(
    pcap,
    pcapFile(
      1,
      [query("10.0.0.5", "10.0.0.53", name, "A", { t: 1 })].map((p) => ({ tsSec: 1_700_000_000, tsUsec: 0, data: p.data })),
    ),
  );
  const r = spawnSync(process.execPath, [CLI, "replay", pcap, "--rules", dir, "--output", "json"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `replay did not finish: ${r.signal ?? ""} ${r.stderr}`);
  assert.match(r.stderr, /nested-plus-i runs in the signature sandbox/);
  assert.match(r.stderr, /nested-plus-i .* quarantined: it ran longer than/);
  const findings = r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { eventName: string });
  assert.deepEqual(
    findings.map((f) => f.eventName),
    ["control"],
  );
});
