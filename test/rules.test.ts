// The YAML rule language, in-process: each modifier, each condition form,
// lists and macros, output templates, suppression, and every error path
// with the line and column it reports. Rules are compiled as the host does
// and run with the realm's runtime (the IR through JSON, as into the
// sandbox) on events of crafted packets.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileTexts, ping, problemLines, query, response, RuleRunner, runRules, syn } from "./lib/rules";
import { buildTest } from "../engine/rules/run/matchers";

/** one native rule over DNS requests with this detection (YAML lines, indented by 2) */
const rule = (id: string, detection: string, extra = "", events = "[net_packet_dns_request]") =>
  `id: ${id}\nevents: ${events}\n${extra}detection:\n${detection}\n`;

/** the names (of these queries) that a detection matches */
function matching(detection: string, names: string[], extra = "", lists = ""): string[] {
  const r = runRules(
    { "a.yaml": rule("r", detection, extra) + (lists ? `---\n${lists}` : "") },
    names.map((n, i) => query("10.0.0.1", "10.0.0.53", n, "A", { t: i })),
  );
  return r.hits.map((h) => h.ev!.args[1].value[0].query);
}

const NAMES = ["www.Example.com", "mail.example.com", "EXAMPLE.org", "a*b.example.net", "x.interact.sh", "run-cmd.example.com"];

describe("modifiers", () => {
  test("equality is case-insensitive; cased makes it exact; wildcards * and ?; \\* is a literal *", () => {
    assert.deepEqual(matching("  s:\n    dns.query: www.example.COM\n  condition: s", NAMES), ["www.Example.com"]);
    assert.deepEqual(matching("  s:\n    dns.query|cased: www.example.com\n  condition: s", NAMES), []);
    assert.deepEqual(matching("  s:\n    dns.query|cased: www.Example.com\n  condition: s", NAMES), ["www.Example.com"]);
    assert.deepEqual(matching("  s:\n    dns.query: '*.example.com'\n  condition: s", NAMES), [
      "www.Example.com",
      "mail.example.com",
      "run-cmd.example.com",
    ]);
    assert.deepEqual(matching("  s:\n    dns.query: 'mai?.example.com'\n  condition: s", NAMES), ["mail.example.com"]);
    assert.deepEqual(matching("  s:\n    dns.query: 'a\\*b.example.net'\n  condition: s", NAMES), ["a*b.example.net"]);
    assert.deepEqual(matching("  s:\n    dns.query: 'a\\*c.example.net'\n  condition: s", ["a*c.example.net", "abc.example.net"]), [
      "a*c.example.net",
    ]);
  });

  test("contains, startswith, endswith; a list ORs its values, all ANDs them", () => {
    assert.deepEqual(matching("  s:\n    args.dns_questions[].query|contains: EXAMPLE\n  condition: s", NAMES), [
      "www.Example.com",
      "mail.example.com",
      "EXAMPLE.org",
      "a*b.example.net",
      "run-cmd.example.com",
    ]);
    assert.deepEqual(matching("  s:\n    dns.query|startswith: [mail., x.]\n  condition: s", NAMES), ["mail.example.com", "x.interact.sh"]);
    assert.deepEqual(matching("  s:\n    dns.query|endswith: [.org, .sh]\n  condition: s", NAMES), ["EXAMPLE.org", "x.interact.sh"]);
    assert.deepEqual(matching("  s:\n    dns.query|contains|all: [mail, example]\n  condition: s", NAMES), ["mail.example.com"]);
    assert.deepEqual(matching("  s:\n    dns.query|contains|all: [mail, org]\n  condition: s", NAMES), []);
  });

  test("[] is any element; with all, every element (and there must be one)", () => {
    // a response with two answers: one private, one public
    const pk = [
      response(
        "10.0.0.53",
        "10.0.0.1",
        "two.example.com",
        "A",
        [
          ["A", "10.1.1.1"],
          ["A", "8.8.8.8"],
        ],
        { t: 1 },
      ),
      response("10.0.0.53", "10.0.0.1", "one.example.com", "A", [["A", "10.2.2.2"]], { t: 2 }),
      response("10.0.0.53", "10.0.0.1", "none.example.com", "A", [], { t: 3, rcode: 3 }),
    ];
    const names = (det: string) =>
      runRules({ "a.yaml": rule("r", det, "", "[net_packet_dns_response]") }, pk).hits.map((h) => h.ev!.args[1].value[0].query_data.query);
    assert.deepEqual(names("  s:\n    args.dns_response[].dns_answer[].answer|cidr: 10.0.0.0/8\n  condition: s"), [
      "two.example.com",
      "one.example.com",
    ]);
    assert.deepEqual(names("  s:\n    args.dns_response[].dns_answer[].answer|cidr|all: 10.0.0.0/8\n  condition: s"), ["one.example.com"]);
    assert.deepEqual(names("  s:\n    args.dns_response[0].dns_answer[1].answer: 8.8.8.8\n  condition: s"), ["two.example.com"]);
    assert.deepEqual(names("  s:\n    dns.answer|all|cidr: 10.0.0.0/8\n  condition: s"), ["one.example.com"]);
  });

  test("re with i, m and s; re is case-sensitive by default", () => {
    const long = "a".repeat(52);
    const names = [`${long}.t.example.com`, `${long.toUpperCase()}.t.example.com`, "short.example.com"];
    assert.deepEqual(matching("  s:\n    dns.query|re: '(^|\\.)[a-z]{50,}\\.'\n  condition: s", names), [names[0]]);
    assert.deepEqual(matching("  s:\n    dns.query|re|i: '(^|\\.)[a-z]{50,}\\.'\n  condition: s", names), [names[0], names[1]]);
    // m: ^ after a newline; s: . across one (label bytes of a tunnel may hold any byte)
    const nl = ["ab\ncd.example.com"];
    assert.deepEqual(matching("  s:\n    dns.query|re: '^cd'\n  condition: s", nl), []);
    assert.deepEqual(matching("  s:\n    dns.query|re|m: '^cd'\n  condition: s", nl), nl);
    assert.deepEqual(matching("  s:\n    dns.query|re: 'ab.cd'\n  condition: s", nl), []);
    assert.deepEqual(matching("  s:\n    dns.query|re|s: 'ab.cd'\n  condition: s", nl), nl);
  });

  test("cidr: IPv4 and IPv6 edge cases", () => {
    const clients = ["10.0.0.1", "172.32.0.1", "fe80::1", "fd00::5", "2001:db8::1", "::ffff:10.0.0.7", "::1", "2001:db8::"];
    const hits = (cidrs: string) =>
      runRules(
        { "a.yaml": rule("r", `  s:\n    args.metadata.src_ip|cidr: ${cidrs}\n  condition: s`) },
        clients.map((c, i) => query(c, c.includes(":") ? "fd00::53" : "10.0.0.53", "x.example.com", "A", { t: i })),
      ).hits.map((h) => h.ev!.args[0].value.src_ip);
    // events print an IPv4-mapped address as Go does, as IPv4 (10.0.0.7)
    assert.deepEqual(
      hits("'::/0'"),
      ["fe80::1", "fd00::5", "2001:db8::1", "::1", "2001:db8::"],
      "::/0 is every IPv6 address and no IPv4 one",
    );
    assert.deepEqual(hits("0.0.0.0/0"), ["10.0.0.1", "172.32.0.1", "10.0.0.7"], "0.0.0.0/0 is every IPv4 address and no IPv6 one");
    assert.deepEqual(hits("[fc00::/7, fe80::/10]"), ["fe80::1", "fd00::5"]);
    assert.deepEqual(hits("'::ffff:10.0.0.4/126'"), ["10.0.0.7"], "an IPv4-mapped prefix matches the mapped address");
    assert.deepEqual(hits("'::ffff:10.0.0.0/104'"), ["10.0.0.1", "10.0.0.7"]);
    assert.deepEqual(hits("'::ffff:0:0/96'"), ["10.0.0.1", "172.32.0.1", "10.0.0.7"], "::ffff:0:0/96 is every IPv4 address");
    assert.deepEqual(hits("10.0.0.0/8"), ["10.0.0.1", "10.0.0.7"]);
    assert.deepEqual(hits("'2001:db8::/128'"), ["2001:db8::"], "/128 is one address");
    assert.deepEqual(hits("'2001:db8::/32'"), ["2001:db8::1", "2001:db8::"]);
    assert.deepEqual(hits("'::1'"), ["::1"], "a bare address");
    assert.deepEqual(hits("172.16.0.0/12"), []);
    const bad = compileTexts({
      "a.yaml": rule("r", "  s:\n    args.metadata.src_ip|cidr: ['fe80::/10', 'fe80::/129', '10.0.0.0/8']\n  condition: s"),
    });
    assert.deepEqual(problemLines(bad), [
      `a.yaml:5:47: bad CIDR "fe80::/129": expected an IPv4 or IPv6 prefix like 10.0.0.0/8 or fc00::/7 (prefix length 0-32 / 0-128)`,
    ]);
    for (const c of ["1.2.3.4/33", "zzz", "1.2.3/8", "2001:db8:::/32", "::ffff:1.2.3.4/129", "10.0.0.0/-1"]) {
      assert.equal(
        compileTexts({ "a.yaml": rule("r", `  s:\n    args.metadata.src_ip|cidr: '${c}'\n  condition: s`) }).problems.length,
        1,
        c,
      );
    }
  });

  test("base64, base64offset (and wide) find an encoded value; windash; expand", () => {
    const b64 = Buffer.from("xsecretdata").toString("base64").replace(/=+$/, "");
    const wide = Buffer.from("yysecret", "utf16le").toString("base64").replace(/=+$/, "");
    const names = [`${b64}.t.example.com`, `${wide}.t.example.com`, "c2VjcmV0.example.com", "plain.example.com"];
    assert.deepEqual(matching("  s:\n    dns.query|base64offset|contains: secret\n  condition: s", names), [names[0], names[2]]);
    assert.deepEqual(matching("  s:\n    dns.query|wide|base64offset|contains: secret\n  condition: s", names), [names[1]]);
    assert.deepEqual(matching("  s:\n    dns.query|base64|startswith: secret\n  condition: s", names), [names[2]]);
    assert.deepEqual(matching("  s:\n    dns.query|windash|startswith: 'run/cmd.'\n  condition: s", NAMES), ["run-cmd.example.com"]);
    assert.deepEqual(
      matching("  s:\n    dns.query|expand|endswith: '.%tlds%'\n  condition: s", NAMES, "", "list: tlds\nitems: [org, sh]\n"),
      ["EXAMPLE.org", "x.interact.sh"],
    );
  });

  test("exists, null, neq, lt/lte/gt/gte, numbers as text, booleans, fieldref", () => {
    const pk = [
      query("10.0.0.1", "10.0.0.53", "a.example.com", "A", { t: 1, dport: 53 }),
      query("10.0.0.2", "10.0.0.53", "b.example.com", "A", { t: 2, dport: 5353 }),
      query("127.0.0.1", "127.0.0.1", "c.example.com", "A", { t: 3, dport: 53 }),
    ];
    const q = (det: string) => runRules({ "a.yaml": rule("r", det) }, pk).hits.map((h) => h.ev!.args[1].value[0].query[0]);
    assert.deepEqual(q("  s:\n    dns.rcode|exists: false\n  condition: s"), ["a", "b", "c"], "requests have no rcode");
    assert.deepEqual(q("  s:\n    dns.query|exists: true\n  condition: s"), ["a", "b", "c"]);
    assert.deepEqual(q("  s:\n    dns.rcode: null\n  condition: s"), ["a", "b", "c"]);
    assert.deepEqual(q("  s:\n    dns.query: null\n  condition: s"), []);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|neq: 53\n  condition: s"), ["b"]);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|neq: [53, 5353]\n  condition: s"), []);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|gt: 53\n  condition: s"), ["b"]);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|gte: 53\n  condition: s"), ["a", "b", "c"]);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|lt: 5353\n  condition: s"), ["a", "c"]);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port|lte: '5353'\n  condition: s"), ["a", "b", "c"]);
    assert.deepEqual(q("  s:\n    args.metadata.dst_port: '5353'\n  condition: s"), ["b"], "a number in quotes matches the number");
    assert.deepEqual(q("  s:\n    contextFlags.isCompat: false\n  condition: s"), ["a", "b", "c"]);
    assert.deepEqual(q("  s:\n    contextFlags.isCompat: true\n  condition: s"), []);
    assert.deepEqual(q("  s:\n    args.metadata.src_ip|fieldref: args.metadata.dst_ip\n  condition: s"), ["c"]);
    assert.deepEqual(q("  s:\n    dns.src_ip|fieldref|neq: dns.dst_ip\n  condition: s"), ["a", "b"]);
  });
});

describe("conditions", () => {
  const det = `  sel_a:\n    dns.query|startswith: a.\n  sel_b:\n    dns.query|startswith: b.\n  _skip:\n    dns.query|endswith: .org\n  any_com:\n    dns.query|endswith: .com\n  condition: COND`;
  const names = ["a.example.com", "b.example.com", "c.example.com", "a.example.org"];
  const c = (cond: string) => matching(det.replace("COND", cond), names).map((n) => n.replace(".example", ""));
  test("and, or, not, parentheses, precedence (not > and > or)", () => {
    assert.deepEqual(c("sel_a and any_com"), ["a.com"]);
    assert.deepEqual(c("sel_a or sel_b"), ["a.com", "b.com", "a.org"]);
    assert.deepEqual(c("any_com and not sel_a"), ["b.com", "c.com"]);
    assert.deepEqual(c("not (sel_a or sel_b)"), ["c.com"]);
    assert.deepEqual(c("sel_b or sel_a and _skip"), ["b.com", "a.org"], "and binds tighter than or");
    assert.deepEqual(c("(sel_b or sel_a) and _skip"), ["a.org"]);
    assert.deepEqual(c("not not sel_b"), ["b.com"]);
    assert.deepEqual(c("SEL_A".toLowerCase() + " AND any_com"), ["a.com"], "keywords in any case");
  });
  test("1 of X*, any of X*, all of X*, 1 of them, all of them (them leaves out _names)", () => {
    assert.deepEqual(c("1 of sel_*"), ["a.com", "b.com", "a.org"]);
    assert.deepEqual(c("any of sel_*"), ["a.com", "b.com", "a.org"]);
    assert.deepEqual(c("all of sel_*"), []);
    assert.deepEqual(c("all of *_a"), ["a.com", "a.org"]);
    assert.deepEqual(c("1 of them"), ["a.com", "b.com", "c.com", "a.org"]);
    assert.deepEqual(c("all of them"), [], "sel_a and sel_b never both hold");
    assert.deepEqual(c("1 of them and not _skip"), ["a.com", "b.com", "c.com"]);
  });
  test("a list of conditions ORs them; a list of mappings ORs them; a mapping ANDs its fields", () => {
    assert.deepEqual(matching(`  s1:\n    dns.query|startswith: a.\n  s2:\n    dns.query|startswith: b.\n  condition: [s1, s2]`, names), [
      "a.example.com",
      "b.example.com",
      "a.example.org",
    ]);
    assert.deepEqual(
      matching(
        `  s:\n    - dns.query|startswith: a.\n      dns.query|endswith: .org\n    - dns.query: c.example.com\n  condition: s`,
        names,
      ),
      ["c.example.com", "a.example.org"],
    );
  });
  test("macros: %name in a condition, compiled for the rule's events; lists extended by another file", () => {
    const r = runRules(
      {
        "macros.yaml":
          "macro: is_oob\ndetection:\n  oob:\n    dns.query|endswith: '%oob'\n  condition: oob\n---\nlist: oob\nitems: [.interact.sh]\n",
        "more.yaml": "list: oob\nappend: true\nitems: [.oast.fun]\n",
        "a.yaml": rule("r", "  ours:\n    dns.query|endswith: .corp.example\n  condition: '%is_oob and not ours'"),
      },
      ["x.interact.sh", "y.oast.fun", "z.oast.fun.corp.example", "w.example.com"].map((n, i) =>
        query("10.0.0.1", "10.0.0.53", n, "A", { t: i }),
      ),
    );
    assert.deepEqual(r.hits.length, 2);
    assert.deepEqual(
      r.hits.map((h) => h.ev!.args[1].value[0].query),
      ["x.interact.sh", "y.oast.fun"],
    );
  });
});

describe("findings", () => {
  test("metadata, output template and fields: a Tracee-shaped finding", () => {
    const r = runRules(
      {
        "a.yaml": `id: dns-long-label
name: DNS query with a very long label
description: A label of 50+ characters is typical of DNS tunneling.
severity: high
tags: [attack.exfiltration, attack.t1048.003]
events: [net_packet_dns_request]
detection:
  long:
    args.dns_questions[].query|re: '(^|\\.)[^.]{50,}\\.'
  local:
    args.dns_questions[].query|endswith: ['.local', '.internal']
  condition: long and not local
output: 'long label in {args.dns_questions[0].query} from {args.metadata.src_ip} {{literal}} {dns.rcode}'
fields: {client: args.metadata.src_ip, type: dns.record_type}
`,
      },
      [
        query("10.9.9.9", "10.0.0.53", `${"q".repeat(55)}.ex.com`, "TXT", { t: 5 }),
        query("10.9.9.9", "10.0.0.53", `${"q".repeat(55)}.x.local`, "A", { t: 6 }),
      ],
    );
    assert.equal(r.hits.length, 1);
    assert.deepEqual(r.hits[0].data, {
      client: "10.9.9.9",
      type: "TXT",
      output: `long label in ${"q".repeat(55)}.ex.com from 10.9.9.9 {literal} <NA>`,
    });
    const meta = r.sigs[0].sig.getMetadata();
    assert.deepEqual(meta, {
      id: "dns-long-label",
      version: "1.0",
      name: "DNS query with a very long label",
      eventName: "dns-long-label",
      description: "A label of 50+ characters is typical of DNS tunneling.",
      tags: ["attack.exfiltration", "attack.t1048.003"],
      properties: { Severity: 3, Category: "exfiltration", external_id: "T1048.003" },
    });
  });

  test("suppress: the same key within the window counts once; a rate limit per rule (packet time)", () => {
    const pk = [0, 10, 20, 61, 62, 200].flatMap((t) => [
      query("10.0.0.1", "8.8.8.8", `a${t}.example.com`, "A", { t }),
      query("10.0.0.2", "8.8.8.8", `b${t}.example.com`, "A", { t: t + 0.5 }),
    ]);
    const det = "  s:\n    dns.dst_ip: 8.8.8.8\n  condition: s";
    const keyed = runRules({ "a.yaml": rule("r", det, "suppress:\n  by: [args.metadata.src_ip]\n  window: 60s\n") }, pk).end();
    assert.deepEqual(
      keyed.hits.map((h) => [h.ts / 1e9, h.ev!.args[0].value.src_ip]),
      [
        [0, "10.0.0.1"],
        [0.5, "10.0.0.2"],
        [61, "10.0.0.1"],
        [61.5, "10.0.0.2"],
        [200, "10.0.0.1"],
        [200.5, "10.0.0.2"],
      ],
    );
    assert.match(keyed.logs.join("\n"), /r: 6 findings suppressed/);
    const rated = runRules({ "a.yaml": rule("r", det, "suppress:\n  rate: 3/m\n") }, pk);
    assert.deepEqual(
      rated.hits.map((h) => h.ts / 1e9),
      [0, 0.5, 10, 61, 61.5, 62, 200, 200.5],
    );
  });
});

describe("correlations (packet time)", () => {
  const base = "id: txt\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.record_type: TXT\n  condition: s\n";
  const corr = (body: string) => `---\ntitle: corr\nid: corr\n${body}`;

  test("event_count: fires once per window at the threshold, again in a later window; per group", () => {
    const pk = [
      ...Array.from({ length: 12 }, (_, i) => query("10.0.0.1", "10.0.0.53", `t${i}.example.com`, "TXT", { t: i })),
      ...Array.from({ length: 9 }, (_, i) => query("10.0.0.2", "10.0.0.53", `u${i}.example.com`, "TXT", { t: i + 0.5 })),
      ...Array.from({ length: 10 }, (_, i) => query("10.0.0.1", "10.0.0.53", `v${i}.example.com`, "TXT", { t: 100 + i })),
      query("10.0.0.1", "10.0.0.53", "w.example.com", "A", { t: 120 }),
    ];
    const r = runRules(
      {
        "a.yaml":
          base +
          corr(
            "correlation:\n  type: event_count\n  rules: [txt]\n  group-by: [args.metadata.src_ip]\n  timespan: 1m\n  condition: {gte: 10}\n",
          ),
      },
      pk,
    );
    assert.deepEqual(
      r.hits.map((h) => [h.id, h.ts / 1e9, h.data["args.metadata.src_ip"], h.data.count]),
      [
        ["corr", 9, "10.0.0.1", 10],
        ["corr", 109, "10.0.0.1", 10],
      ],
    );
    assert.equal(r.sigs.length, 1, "the referenced rule does not run alone (generate: false)");
    const gen = compileTexts({
      "a.yaml": base + corr("generate: true\ncorrelation:\n  type: event_count\n  rules: [txt]\n  timespan: 1m\n  condition: {gte: 10}\n"),
    });
    assert.deepEqual(
      gen.units.map((u) => u.id),
      ["txt", "corr"],
    );
  });

  test("the window: 60 s after the group's first event, inclusive; a later event opens a new one", () => {
    const at = (ts: number[]) =>
      runRules(
        { "a.yaml": base + corr("correlation:\n  type: event_count\n  rules: [txt]\n  timespan: 60s\n  condition: {gte: 3}\n") },
        ts.map((t, i) => query("10.0.0.1", "10.0.0.53", `t${i}.example.com`, "TXT", { t })),
      ).hits.map((h) => h.ts / 1e9);
    assert.deepEqual(at([0, 30, 60]), [60]);
    assert.deepEqual(at([0, 30, 60.001]), []);
    assert.deepEqual(at([0, 30, 60.001, 61, 62]), [62]);
  });

  test("value_count: distinct values per group; lt decided when the window closes (or at the end)", () => {
    const pk = Array.from({ length: 25 }, (_, i) => query("10.0.0.1", "10.0.0.53", `s${i % 21}.tunnel.example`, "A", { t: i }));
    pk.push(query("10.0.0.3", "10.0.0.53", "one.quiet.example", "A", { t: 1 }));
    const vc = runRules(
      {
        "a.yaml":
          "id: q\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|exists: true\n  condition: s\n" +
          corr(
            "correlation:\n  type: value_count\n  rules: [q]\n  group-by: [dns.parent_domain]\n  timespan: 5m\n  condition: {field: dns.query, gt: 20}\n",
          ),
      },
      pk,
    );
    assert.deepEqual(
      vc.hits.map((h) => [h.ts / 1e9, h.data["dns.parent_domain"], h.data.count]),
      [[20, "tunnel.example", 21]],
    );
    const few = runRules(
      {
        "a.yaml":
          "id: q\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|exists: true\n  condition: s\n" +
          corr("correlation:\n  type: event_count\n  rules: [q]\n  group-by: [dns.src_ip]\n  timespan: 10s\n  condition: {lt: 3}\n"),
      },
      [0, 1, 2, 3, 4]
        .map((t) => query("10.0.0.1", "10.0.0.53", `a${t}.example.com`, "A", { t }))
        .concat([
          query("10.0.0.2", "10.0.0.53", "b.example.com", "A", { t: 2 }),
          query("10.0.0.1", "10.0.0.53", "late.example.com", "A", { t: 30 }),
        ]),
    );
    // 10.0.0.1 had 5 in its first window (no), 1 in the next (decided at the end); 10.0.0.2 had 1 (decided when 10.0.0.1's t=30 event expired it)
    assert.deepEqual(
      few.hits.map((h) => [h.ts / 1e9, h.data["dns.src_ip"], h.data.count]),
      [
        [2, "10.0.0.2", 1],
        [30, "10.0.0.1", 1],
      ],
    );
  });

  test("temporal and temporal_ordered", () => {
    const rules =
      "id: txt\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.record_type: TXT\n  condition: s\n---\n" +
      "id: nx\nevents: [net_packet_dns_response]\ndetection:\n  s:\n    args.dns_response[].dns_answer|exists: true\n    dns.answer: null\n  condition: s\n";
    const pk = [
      response("10.0.0.53", "10.0.0.1", "gone.example.com", "A", [], { t: 1 }),
      query("10.0.0.1", "10.0.0.53", "t.example.com", "TXT", { t: 2 }),
      query("10.0.0.2", "10.0.0.53", "t.example.com", "TXT", { t: 3 }),
      response("10.0.0.53", "10.0.0.2", "gone.example.com", "A", [], { t: 200 }),
    ];
    const t = runRules(
      { "a.yaml": rules + corr("correlation:\n  type: temporal\n  rules: [txt, nx]\n  group-by: [dns.src_ip]\n  timespan: 1m\n") },
      pk,
    );
    assert.deepEqual(
      t.hits.map((h) => [h.ts / 1e9, h.data["dns.src_ip"]]),
      [[2, "10.0.0.1"]],
    );
    const o = runRules(
      { "a.yaml": rules + corr("correlation:\n  type: temporal_ordered\n  rules: [txt, nx]\n  group-by: [dns.src_ip]\n  timespan: 1m\n") },
      pk,
    );
    assert.deepEqual(o.hits.length, 0, "nx came before txt for 10.0.0.1, and too late for 10.0.0.2");
    const o2 = runRules(
      { "a.yaml": rules + corr("correlation:\n  type: temporal_ordered\n  rules: [nx, txt]\n  group-by: [dns.src_ip]\n  timespan: 1m\n") },
      pk,
    );
    assert.deepEqual(
      o2.hits.map((h) => [h.ts / 1e9, h.data["dns.src_ip"]]),
      [[2, "10.0.0.1"]],
    );
  });

  test("memory: at most max_groups groups under 50000 sources; evictions counted and reported", () => {
    const c = compileTexts({
      "a.yaml":
        base +
        corr(
          "max_groups: 1000\ncorrelation:\n  type: event_count\n  rules: [txt]\n  group-by: [dns.src_ip]\n  timespan: 1h\n  condition: {gte: 2}\n",
        ),
    });
    const r = new RuleRunner(c.units);
    const sig = r.sigs[0].sig as unknown as { groups: Map<string, unknown>; index: Map<string, unknown>; evicted: number };
    let maxSize = 0;
    for (let b = 0; b < 50; b++) {
      r.feed(
        Array.from({ length: 1000 }, (_, i) => {
          const n = b * 1000 + i;
          return query(`10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`, "10.255.0.53", "t.example.com", "TXT", { t: n / 1000 });
        }),
      );
      maxSize = Math.max(maxSize, sig.groups.size);
    }
    assert.equal(maxSize, 1000);
    assert.equal(leaves(sig.index), sig.groups.size, "the groups' index holds what the groups hold");
    assert.equal(sig.evicted, 49_000);
    // the most recent groups are the ones kept: a second query from the last source fires
    r.feed([query("10.0.195.79", "10.255.0.53", "t.example.com", "TXT", { t: 60 })]);
    assert.deepEqual(
      r.hits.map((h) => h.data["dns.src_ip"]),
      ["10.0.195.79"],
    );
    r.end();
    assert.match(r.logs.join("\n"), /corr: 49000 groups evicted before their window closed \(at most 1000 groups; 0 closed by age\)/);
    assert.equal(sig.groups.size, 0);
    assert.equal(sig.index.size, 0);
  });

  test("memory: groups whose window closed are dropped by age, counted", () => {
    // (grouped by two fields: the groups' index has a level per field)
    const c = compileTexts({
      "a.yaml":
        base +
        corr(
          "correlation:\n  type: event_count\n  rules: [txt]\n  group-by: [dns.src_ip, dns.query]\n  timespan: 10s\n  condition: {gte: 2}\n",
        ),
    });
    const r = new RuleRunner(c.units);
    const sig = r.sigs[0].sig as unknown as { groups: Map<string, unknown>; index: Map<string, unknown>; evicted: number; expired: number };
    // 100 sources, one a second: at any time only the last ~10 s of them are open
    r.feed(Array.from({ length: 100 }, (_, i) => query(`10.0.0.${i}`, "10.255.0.53", `t${i % 3}.example.com`, "TXT", { t: i })));
    assert.ok(sig.groups.size <= 11, `${sig.groups.size} groups open`);
    assert.equal(sig.expired + sig.groups.size, 100);
    assert.equal(sig.evicted, 0);
    assert.equal(leaves(sig.index), sig.groups.size);
    assert.equal(sig.index.size, sig.groups.size, "one source per group: no empty level is left behind");
  });
});

/** the groups in a correlation's index (a Map level per group-by field) */
function leaves(m: Map<string, unknown>): number {
  let n = 0;
  for (const v of m.values()) n += v instanceof Map ? leaves(v as Map<string, unknown>) : 1;
  return n;
}

describe("errors: file:line:column, the offending text, a suggestion; the other rules load", () => {
  const cases: [string, string, string, number?][] = [
    ["malformed YAML", "id: x\nevents: [a, b\ndetection: {}\n", "a.yaml:3:1: malformed YAML: "],
    [
      "unknown key",
      rule("r", "  s: {dns.query: x}\n  condition: s", "severty: 2\n"),
      `a.yaml:3:1: unknown key "severty" in a rule (did you mean "severity"?)`,
    ],
    [
      "unknown modifier",
      rule("r", "  s:\n    dns.query|endwith: x\n  condition: s"),
      `a.yaml:5:15: unknown modifier "endwith" (did you mean "endswith"?) in "dns.query|endwith"`,
    ],
    [
      "bad regex",
      rule("r", "  s:\n    dns.query|re: 'a(b'\n  condition: s"),
      `a.yaml:5:20: bad regular expression "a(b": Unterminated group`,
    ],
    [
      "bad regex (a lone quantifier)",
      rule("r", "  s:\n    dns.query|re:\n      - ok\n      - '*x'\n  condition: s"),
      `a.yaml:7:10: bad regular expression "*x": Nothing to repeat`,
    ],
    ["bad CIDR", rule("r", "  s:\n    dns.dst_ip|cidr: 10.0.0.0/40\n  condition: s"), `a.yaml:5:22: bad CIDR "10.0.0.0/40"`],
    [
      "undefined list",
      rule("r", "  s:\n    dns.query|endswith: '%oob_domain'\n  condition: s") + "---\nlist: oob_domains\nitems: [x]\n",
      `a.yaml:5:26: undefined list "%oob_domain" (did you mean "oob_domains"?)`,
    ],
    [
      "missing selection",
      rule("r", "  selection:\n    dns.query: x\n  condition: selction and not filter"),
      `a.yaml:6:14: condition "selction and not filter" names "selction", which is not a selection of this detection (did you mean "selection"?)`,
      2,
    ], // (and "filter": both names)
    [
      "missing selection (later in the condition)",
      rule("r", "  selection:\n    dns.query: x\n  condition: selection and not filter"),
      `a.yaml:6:32: condition "selection and not filter" names "filter"`,
    ],
    [
      "pattern matching nothing",
      rule("r", "  selection:\n    dns.query: x\n  condition: 1 of filter_*"),
      `a.yaml:6:19: condition "1 of filter_*": "filter_*" matches no selection (selections: selection)`,
    ],
    [
      "unbalanced parenthesis",
      rule("r", "  s:\n    dns.query: x\n  condition: (s or s"),
      `a.yaml:6:21: condition "(s or s": missing ")" for the "(" at column 1 of the condition`,
    ],
    [
      "dangling operator",
      rule("r", "  s:\n    dns.query: x\n  condition: s and"),
      `a.yaml:6:19: condition "s and": the condition ends too early`,
    ],
    [
      "two names in a row",
      rule("r", "  s:\n    dns.query: x\n  t:\n    dns.query: y\n  condition: s t"),
      `a.yaml:8:16: condition "s t": expected "and" or "or" before "t"`,
    ],
    [
      "unknown arg",
      rule("r", "  s:\n    args.dns_question[].query: x\n  condition: s"),
      `a.yaml:5:10: no selected event (net_packet_dns_request) has an arg "dns_question" (did you mean "dns_questions"?)`,
    ],
    [
      "unknown key in a field path",
      rule("r", "  s:\n    args.metadata.dst_prot: 53\n  condition: s"),
      `a.yaml:5:19: args.metadata has no "dst_prot" (did you mean "dst_port"?)`,
    ],
    [
      "a list without []",
      rule("r", "  s:\n    args.dns_questions.query: x\n  condition: s"),
      `a.yaml:5:23: args.dns_questions is a list: use args.dns_questions[].query (any element) or [N]`,
    ],
    [
      "unknown event",
      "id: r\nevents: [net_packet_dns_requets]\ndetection:\n  s: {dns.query: x}\n  condition: s\n",
      `a.yaml:2:10: events.0: "net_packet_dns_requets" is not one of`,
    ],
    [
      "a DNS field on TCP events",
      rule("r", "  s:\n    dns.query: x\n  condition: s", "", "[net_packet_tcp]"),
      `a.yaml:5:5: dns.query is a DNS field, but the rule selects no DNS event`,
    ],
    ["gt on text", rule("r", "  s:\n    dns.query|gt: 5\n  condition: s"), `a.yaml:5:5: "gt" compares numbers, but dns.query is text`],
    [
      "gt with text",
      rule("r", "  s:\n    args.metadata.dst_port|gt: many\n  condition: s"),
      `a.yaml:5:32: "gt" compares numbers; "many" is not a number`,
    ],
    [
      "contradicting modifiers",
      rule("r", "  s:\n    dns.query|re|contains: x\n  condition: s"),
      `a.yaml:5:14: "re" cannot be combined with "contains" (in "dns.query|re|contains")`,
    ],
    ["flag without re", rule("r", "  s:\n    dns.query|i: x\n  condition: s"), `a.yaml:5:14: "i" is a flag of "re" and needs it`],
    [
      "severity",
      rule("r", "  s: {dns.query: x}\n  condition: s", "severity: hgih\n"),
      `a.yaml:3:11: severity: "hgih" is not one of informational, info, low, medium, high, critical (did you mean "high"?)`,
    ],
    [
      "duplicate id",
      rule("r", "  s: {dns.query: x}\n  condition: s") + "---\n" + rule("r", "  s: {dns.query: y}\n  condition: s"),
      `a.yaml:7:5: duplicate rule id "r" (already defined at a.yaml:1)`,
    ],
    ["duplicate key", "id: r\nid: s\n", `a.yaml:2:1: duplicate key "id" (first at line 1)`],
    [
      "list defined twice",
      "list: l\nitems: [a]\n---\nlist: l\nitems: [b]\n",
      `a.yaml:4:7: list "l" is already defined (a.yaml:1); to add to it, write append: true`,
    ],
    ["append to no list", "list: l\nappend: true\nitems: [b]\n", `a.yaml:1:7: append: list "l" is not defined in any rules file`],
    [
      "macro using itself",
      "macro: m\ndetection:\n  s: {dns.query: x}\n  condition: s and %m\n---\n" + rule("r", "  s: {dns.query: y}\n  condition: s or %m"),
      `a.yaml:4:20: in macro "%m" (used here for this rule's events): macro "%m" uses itself (m -> m)`,
      2,
    ],
    [
      "undefined macro",
      rule("r", "  s: {dns.query: y}\n  condition: s or %mac"),
      `a.yaml:5:19: condition "s or %mac" names macro "%mac", which is not defined`,
    ],
    ["empty selection", rule("r", "  s: {}\n  condition: s"), `a.yaml:4:6: selection "s" is empty`],
    ["a keyword list", rule("r", "  s: [evil, bad]\n  condition: s"), `a.yaml:4:6: selection "s" is a keyword list`],
    [
      "bad output placeholder",
      rule("r", "  s: {dns.query: x}\n  condition: s", "output: 'q {dns.qurey}'\n"),
      `a.yaml:3:13: output: unknown DNS field "dns.qurey" (did you mean "dns.query"?)`,
    ],
    [
      "correlation naming no rule",
      rule("r", "  s: {dns.query: x}\n  condition: s") +
        "---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [rr]\n  timespan: 1m\n  condition: {gte: 2}\n",
      `a.yaml:10:11: correlation: rule "rr" is not loaded (a rule's id or name) (did you mean "r"?)`,
    ],
    [
      "value_count without field",
      rule("r", "  s: {dns.query: x}\n  condition: s") +
        "---\ntitle: c\ncorrelation:\n  type: value_count\n  rules: [r]\n  timespan: 1m\n  condition: {gte: 2}\n",
      `a.yaml:12:14: correlation value_count needs condition.field`,
    ],
    [
      "bad timespan",
      rule("r", "  s: {dns.query: x}\n  condition: s") +
        "---\ntitle: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 1 minute\n  condition: {gte: 2}\n",
      `a.yaml:11:13: correlation.timespan: a duration is seconds or a number with s, m, h or d (e.g. 10m)`,
    ],
    [
      "Sigma v1 aggregation",
      "title: t\nlogsource: {category: dns}\ndetection:\n  s: {query: x}\n  condition: s | count() > 5\n",
      `a.yaml:5:16: not supported: "| count() > 5": aggregations in the condition are Sigma v1; write a correlation rule`,
    ],
    [
      "Sigma logsource",
      "title: t\nlogsource: {category: process_creation, product: windows}\ndetection:\n  s: {Image: x}\n  condition: s\n",
      `a.yaml:2:1: not supported: logsource {category: process_creation, product: windows}: netsig serves Sigma rules of logsource category dns`,
    ],
    [
      "Sigma field",
      "title: t\nlogsource: {category: dns}\ndetection:\n  s: {QueryName: x}\n  condition: s\n",
      `a.yaml:4:7: not supported: field "QueryName" is not in netsig's dns logsource (its fields: query, record_type, answer, src_ip, dst_ip, src_port, dst_port, rcode, parent_domain)`,
    ],
  ];
  for (const [what, text, want, count = 1] of cases) {
    test(what, () => {
      const good = "id: good\nevents: [net_packet_dns_request]\ndetection:\n  s: {dns.query: ok.example.com}\n  condition: s\n";
      const r = compileTexts({ "a.yaml": text, "z-good.yaml": good });
      const lines = problemLines(r);
      assert.equal(lines.length, count, lines.join("\n"));
      assert.ok(lines[0].startsWith(want), `\n got: ${lines[0]}\nwant: ${want}...`);
      assert.ok(
        r.units.some((u) => u.id === "good"),
        "the other file's rule still loads",
      );
      assert.doesNotMatch(lines[0], /\n\s+at /, "no stack trace");
    });
  }

  test("one bad rule in a file: the file's other rules load", () => {
    const r = compileTexts({
      "a.yaml":
        rule("ok1", "  s: {dns.query: x}\n  condition: s") +
        "---\n" +
        rule("bad", "  s: {dns.query|nope: x}\n  condition: s") +
        "---\n" +
        rule("ok2", "  s: {dns.query: y}\n  condition: s"),
    });
    assert.deepEqual(
      r.units.map((u) => u.id),
      ["ok1", "ok2"],
    );
    assert.deepEqual([...r.failedKeys], ["/rules/a.yaml#bad"]);
  });

  test("every problem of a rule, each once: a macro's problems are said once however many rules use it, and at each use", () => {
    const r = compileTexts({
      "a.yaml":
        "macro: m\ndetection:\n  s: {dns.query|re: '(x', dns.qurey: y}\n  condition: s\n---\n" +
        rule("r1", "  s: {dns.query: y}\n  condition: s or %m") +
        "---\n" +
        rule("r2", "  s: {dns.query|cidr: x}\n  condition: s and %m and t"),
    });
    assert.deepEqual(
      problemLines(r).map((l) => l.replace(/: (the rule's|in macro|condition|bad|unknown|"cidr").*/, ": $1")),
      [
        "a.yaml:3:22: in macro",
        "a.yaml:3:27: in macro",
        "a.yaml:10:19: the rule's",
        "a.yaml:15:23: bad",
        "a.yaml:16:20: the rule's",
        "a.yaml:16:27: condition",
      ],
    );
    assert.deepEqual([...r.failedKeys].sort(), ["/rules/a.yaml#r1", "/rules/a.yaml#r2"]);
  });

  test("a Sigma field name in a native rule says which field to use", () => {
    const r = compileTexts({ "a.yaml": rule("r", "  s:\n    query: x\n  condition: s") });
    assert.match(problemLines(r)[0], /^a\.yaml:5:5: unknown field "query" \(did you mean "dns\.query"\?\)/);
    assert.match(
      problemLines(
        compileTexts({
          "a.yaml":
            "macro: m\ndetection:\n  s: {dns.query: x}\n  condition: s and %m\n---\n" +
            rule("r", "  s: {dns.query: y}\n  condition: s or %m"),
        }),
      )[1],
      /^a\.yaml:10:19: the rule's macro failed \(see a\.yaml:4:20\)/,
    );
  });
});

test("ICMP and TCP: rules over other events", () => {
  const r = runRules(
    {
      "a.yaml":
        "id: big-icmp\nevents: [net_packet_ipv4]\ndetection:\n  s:\n    args.proto_ipv4.protocol: ICMPv4\n    args.proto_ipv4.length|gt: 576\n  condition: s\n---\n" +
        "id: syn\nevents: [net_packet_tcp]\ndetection:\n  s:\n    args.proto_tcp.SYN: 1\n    args.proto_tcp.ACK: 0\n  condition: s\n",
    },
    [
      ping("10.0.0.1", "10.0.0.2", 56),
      ping("10.0.0.1", "10.0.0.2", 1000, 1),
      syn("10.0.0.1", "10.0.0.2", 80, 2),
      syn("10.0.0.2", "10.0.0.1", 40080, 3, 0x12),
    ],
  );
  assert.deepEqual(r.ids(), ["big-icmp", "syn"]);
});

test("the rules' CIDR test agrees with the SDK's CidrSet (addresses parsed without allocation)", async () => {
  const { cidrMatcher } = await import("../engine/rules/run/matchers");
  const { CidrSet } = await import("../engine/sdk/helpers");
  const prefixes = [
    "10.0.0.0/8",
    "0.0.0.0/0",
    "192.168.1.128/25",
    "8.8.8.8",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "::/0",
    "::1",
    "fe80::/10",
    "2001:db8::/32",
    "2001:db8:0:0:8:800:200c:417a/128",
    "::ffff:0:0/96",
    "fc00::/7",
    "1::/16",
    "ffff:ffff::/33",
  ];
  const addrs = [
    "10.1.2.3",
    "11.0.0.1",
    "192.168.1.200",
    "192.168.1.127",
    "8.8.8.8",
    "8.8.8.9",
    "0.0.0.0",
    "255.255.255.255",
    "127.0.0.1",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "",
    "::",
    "::1",
    "fe80::1%eth0",
    "febf:ffff::1",
    "fec0::1",
    "2001:db8::1",
    "2001:0db8:0000:0000:0008:0800:200c:417a",
    "2001:db8::8:800:200c:417a",
    "::ffff:10.0.0.1",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":1::",
    "1:2:3:4:5:6:1.2.3.4",
    "::1.2.3.4",
    "ffff:ffff:8000::",
    "ffff:ffff:7fff::",
    "12345::",
    "g::1",
    "fd00::5",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1:",
    "::ffff:1.2.3.256",
  ];
  let n = 0;
  for (const p of prefixes) {
    const mine = cidrMatcher([p]);
    const ref = new CidrSet([p]);
    for (const a of addrs) {
      assert.equal(mine(a), ref.has(a), `${a} in ${p}`);
      n++;
    }
  }
  const all = cidrMatcher(prefixes);
  const refAll = new CidrSet(prefixes);
  for (const a of addrs) assert.equal(all(a), refAll.has(a), `${a} in any`);
  assert.ok(n > 500);
});

test("the rules' text tests agree with lowercase-then-compare on mixed-case, non-ASCII and odd texts (every operator, short and long value lists, cased or not)", () => {
  const texts = [
    "",
    "a",
    "A",
    ".",
    "www.Example.COM",
    "xn--bcher-kva.example",
    "WPAD.lan",
    "\u212Aelvin.com",
    "\u0130stanbul.tr",
    "a.b.c",
    "iex(New-Object",
    "x.DUCKDNS.ORG",
    "duckdns.org",
    "..",
    "caf\u00e9.fr",
    "CAF\u00c9.FR",
  ];
  const lists = [
    ["."],
    ["k"],
    [".com", ".org"],
    [".duckdns.org", ".no-ip.org", ".ddns.net", ".hopto.org", ".zapto.org", ".com"],
    ["www", "wpad.", "xn--", "iex(", "\u0130", "caf\u00e9"],
    ["-", "(", ".", "..", ".fr", "a.b"],
  ];
  const ops = ["eq", "contains", "startswith", "endswith"] as const;
  let checked = 0;
  for (const op of ops) {
    for (const vals of lists) {
      for (const cased of [false, true]) {
        const want = cased ? vals : vals.map((v) => v.toLowerCase());
        const t = buildTest({ k: "str", op, vals: want, cased, all: false });
        for (const s of texts) {
          const x = cased ? s : s.toLowerCase();
          const expect = want.some((w) =>
            op === "eq" ? x === w : op === "contains" ? x.includes(w) : op === "startswith" ? x.startsWith(w) : x.endsWith(w),
          );
          assert.equal(t.test(s), expect, `${op} ${JSON.stringify(want)} ${cased ? "cased" : ""} on ${JSON.stringify(s)}`);
          checked++;
        }
      }
    }
  }
  assert.equal(checked, ops.length * lists.length * 2 * texts.length);
});
