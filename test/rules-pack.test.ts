// The shipped rule pack (rules/): each rule fires on a capture where it must
// (asserting its finding) and stays quiet on another; the same detections
// written as YAML rules and as the shipped TypeScript signatures give the
// same findings on every corpus capture; and the project's Sigma-format DNS
// rules (rules/sigma/) fire on real dig/dnsmasq traffic recorded here.
// Captures are read in place (test/corpus; lib/corpus.ts); the engine runs in-process
// (the realm unsandboxed) except where the CLI is the point.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadRules } from "../engine/rules/compile/load";
import { transpileSignature } from "../engine/sandbox/loader";
import type { SignatureSource } from "../engine/types/sources";
import { engineRun, query, ping, type EngineHit, type Packet } from "./lib/rules";
import { pcapFile } from "../tools/lib/craft";
import { writeFileSync } from "node:fs";
import { captureFiles } from "./lib/replay";
import { corpusFile, needsOutside } from "./lib/corpus";
import { netsig } from "./lib/run";
import { missingTools, recordDnsSession } from "../tools/lab/dnslab";

const ROOT = join(__dirname, "..", "..");
const PACK = join(ROOT, "rules");
const EXAMPLE = join(ROOT, "examples", "dns-lo.pcap");
const c = (p: string) => corpusFile(p);
const work = mkdtempSync(join(tmpdir(), "netsig-rules-pack-"));
after(() => rmSync(work, { recursive: true, force: true }));

function crafted(name: string, packets: Packet[]): string {
  const f = join(work, name);
  writeFileSync(
    f,
    pcapFile(
      1,
      packets.map((p) => ({ tsSec: 1_700_000_000 + Math.floor(p.t), tsUsec: Math.round((p.t % 1) * 1e6), data: p.data })),
    ),
  );
  return f;
}

const pack = loadRules([PACK]);
const cache = new Map<string, EngineHit[]>();
/** the pack's findings on a capture */
async function packOn(capture: string): Promise<EngineHit[]> {
  let h = cache.get(capture);
  if (!h) {
    const r = await engineRun(capture, pack.sources);
    assert.deepEqual(r.problems, []);
    h = r.hits;
    cache.set(capture, h);
  }
  return h;
}
const only = (hits: EngineHit[], id: string) => hits.filter((h) => h.id === id);

test("the pack compiles cleanly: 10 native rules and correlations, 6 Sigma rules and a Sigma correlation", () => {
  assert.deepEqual(pack.problems, []);
  const kinds = pack.result.units.map((u) => `${u.kind}:${u.id}`).sort();
  assert.deepEqual(
    kinds.filter((k) => !k.startsWith("sigma") && !k.includes("6f0b8a1e")),
    [
      "correlation:dns-nxdomain-burst",
      "correlation:dns-txt-heavy-client",
      "correlation:tcp-syn-scan",
      "rule:dns-encoded-label",
      "rule:dns-long-label",
      "rule:dns-oob-interaction",
      "rule:dns-public-name-private-answer",
      "rule:dns-suspicious-tld",
      "rule:dns-unapproved-resolver",
      "rule:icmp-oversized",
    ],
  );
  assert.equal(kinds.filter((k) => k.startsWith("sigma:")).length, 5);
  assert.equal(kinds.filter((k) => k.startsWith("correlation:6f0b8a1e")).length, 1);
});

describe("each pack rule fires where it must and stays quiet elsewhere", () => {
  const oob = () =>
    crafted("oob.pcap", [
      query("10.0.0.5", "10.0.0.53", "a1b2c3.oast.fun", "A", { t: 1 }),
      query("10.0.0.5", "10.0.0.53", "a1b2c3.oast.fun", "AAAA", { t: 2 }), // same name again: suppressed for 10 minutes
      query("10.0.0.6", "10.0.0.53", "cve-2021-44228.x.interact.sh", "A", { t: 3 }),
      query("10.0.0.6", "10.0.0.53", "interact.sh.example.com", "A", { t: 4 }), // not under interact.sh
      query("10.0.0.7", "10.0.0.53", "login-update.top", "A", { t: 5 }),
      query("10.0.0.7", "10.0.0.53", "cdn.login-update.top", "A", { t: 6 }), // same registered domain within the hour
      query("10.0.0.7", "10.0.0.53", "stop.example.com", "A", { t: 7 }),
      query("10.0.0.7", "10.0.0.53", "photos.zip", "A", { t: 8 }),
    ]);

  // needs: a capture only the corpus beside the repository has (the case skips without it)
  const cases: { id: string; fires: () => string; check: (h: EngineHit[]) => void; quiet: string[]; needs?: string }[] = [
    {
      id: "dns-long-label",
      fires: () => c("ndpi/dns-exf.pcap"),
      quiet: [EXAMPLE, c("zeek/dns-edns-ecs.pcap")],
      check: (h) => {
        assert.equal(h.length, 1);
        assert.equal(h[0].data.client, "192.168.2.225");
        assert.match(h[0].data.query, /^H4sICN03/);
      },
    },
    {
      id: "dns-encoded-label",
      fires: () => c("ndpi/dns_exfiltration.pcap"),
      quiet: [EXAMPLE, c("zeek/dns-edns-ecs.pcap"), c("ndpi/dns_fragmented.pcap")],
      // dnscat's 150 queries within 60 s: once per client per minute
      check: (h) => {
        assert.equal(h.length, 1);
        assert.deepEqual(
          h.map((x) => x.data.client),
          ["192.168.220.56"],
        );
        assert.match(h[0].data.query, /^dnscat\.[0-9a-f]{60}\./);
      },
    },
    {
      id: "dns-txt-heavy-client",
      fires: () => c("pcap-attack/c2-cmds-over-dns-txt.pcap"),
      quiet: [EXAMPLE, c("ndpi/dns-exf.pcap")],
      needs: "pcap-attack/c2-cmds-over-dns-txt.pcap",
      check: (h) => {
        assert.equal(h.length, 1);
        assert.deepEqual([h[0].data["dns.src_ip"], h[0].data.count, h[0].data.window_seconds], ["192.168.100.121", 30, 60]);
      },
    },
    {
      id: "dns-nxdomain-burst",
      fires: () => c("pcap-attack/c2-cmds-over-dns-txt.pcap"),
      quiet: [EXAMPLE, c("zeek/nmap-vsn.pcap")],
      needs: "pcap-attack/c2-cmds-over-dns-txt.pcap",
      check: (h) => {
        assert.equal(h.length, 1);
        assert.deepEqual([h[0].data["dns.src_ip"], h[0].data.count], ["192.168.100.121", 20]);
        assert.equal(h[0].trigger, "net_packet_dns");
      },
    },
    {
      id: "dns-unapproved-resolver",
      fires: () => c("ndpi/bad-dns-traffic.pcap"),
      quiet: [EXAMPLE],
      check: (h) => {
        assert.equal(h.length, 1);
        assert.deepEqual([h[0].data.client, h[0].data.resolver], ["192.168.43.91", "4.2.2.4"]);
      },
    },
    {
      id: "dns-public-name-private-answer",
      fires: () => EXAMPLE,
      quiet: [c("zeek/dns-edns-ecs.pcap"), c("tcpdump/dns_udp.pcap")],
      check: (h) =>
        assert.deepEqual(
          h.map((x) => [x.data.query, x.data.answer, x.data.client]),
          [
            ["www.uol.com.br", "127.0.0.11", "127.0.0.1"],
            ["netsig.test", "fd00:6e73::20", "127.0.0.1"],
          ],
        ),
    },
    {
      id: "icmp-oversized",
      fires: () => c("ndpi/icmp-tunnel.pcap"),
      quiet: [c("zeek/icmp_dot1q.pcap"), c("zeek/linux_dlt_sll2.pcap"), EXAMPLE],
      // SSH in ICMP: once per direction per 10 minutes over its 18 minutes
      check: (h) =>
        assert.deepEqual(
          h.map((x) => [x.data.src, x.data.ipv4_length]),
          [
            ["192.168.154.131", 872],
            ["192.168.154.132", 864],
            ["192.168.154.131", 1056],
            ["192.168.154.132", 1056],
          ],
        ),
    },
    {
      id: "tcp-syn-scan",
      fires: () => c("ndpi/synscan.pcap"),
      quiet: [c("zeek/http_get.pcap"), c("ndpi/tcp_scan.pcapng")],
      check: (h) => {
        assert.equal(h.length, 1);
        assert.deepEqual([h[0].data["args.src"], h[0].data["args.dst"], h[0].data.count], ["172.16.0.8", "64.13.134.52", 20]);
      },
    },
    {
      id: "dns-oob-interaction",
      fires: oob,
      quiet: [EXAMPLE, c("ndpi/dns_exfiltration.pcap")],
      check: (h) =>
        assert.deepEqual(
          h.map((x) => [x.data.query, x.data.client, x.data.domain]),
          [
            ["a1b2c3.oast.fun", "10.0.0.5", "oast.fun"],
            ["cve-2021-44228.x.interact.sh", "10.0.0.6", "interact.sh"],
          ],
        ),
    },
    {
      id: "dns-suspicious-tld",
      fires: oob,
      quiet: [EXAMPLE, c("zeek/dns-edns-ecs.pcap")],
      check: (h) =>
        assert.deepEqual(
          h.map((x) => x.data.query),
          ["login-update.top", "photos.zip"],
        ),
    },
  ];
  for (const k of cases) {
    test(k.id, { skip: k.needs === undefined ? false : needsOutside(k.needs) }, async () => {
      const hits = only(await packOn(k.fires()), k.id);
      k.check(hits);
      for (const q of k.quiet) assert.deepEqual(only(await packOn(q), k.id), [], `${k.id} on ${q}`);
    });
  }

  test("IPv6: an oversized ICMPv6 packet fires; a 1240-byte one does not", async () => {
    const hits = only(
      await packOn(crafted("icmp6.pcap", [ping("fd00::1", "fd00::2", 1232 - 8, 1), ping("fd00::1", "fd00::3", 1400, 2)])),
      "icmp-oversized",
    );
    assert.deepEqual(
      hits.map((h) => [h.data.dst, h.data.ipv6_payload_length]),
      [["fd00::3", 1408]],
    );
  });

  test("a list extended from another folder changes what a pack rule allows", async () => {
    const dir = mkdtempSync(join(work, "site-"));
    writeFileSync(join(dir, "site.yaml"), "list: approved_resolvers\nappend: true\nitems: [4.2.2.4]\n");
    const r = loadRules([PACK, dir]);
    assert.deepEqual(r.problems, []);
    const hits = (await engineRun(c("ndpi/bad-dns-traffic.pcap"), r.sources)).hits;
    assert.deepEqual(only(hits, "dns-unapproved-resolver"), []);
  });
});

describe("the same detection as a YAML rule and as a TypeScript signature", () => {
  const sigs = ["dns-rebinding.ts", "dns-unapproved-resolver.ts"].map(
    (f) => transpileSignature(join(ROOT, "signatures", f)) as SignatureSource,
  );
  const rules = loadRules(
    [],
    ["dns-rebinding.yaml", "dns-unapproved-resolver.yaml", "lists.yaml"].map((f) => join(PACK, f)),
  );
  const kind = (id: string) => (/REBIND|private-answer/.test(id) ? "rebinding" : "resolver");
  const key = (h: EngineHit) =>
    JSON.stringify([h.ts, kind(h.id), h.trigger, h.data.client, h.data.resolver, h.data.query, h.data.answer ?? null]);

  test("equal findings on every corpus capture and the examples", async () => {
    assert.deepEqual(rules.problems, []);
    let total = 0;
    const kinds = new Set<string>();
    for (const f of captureFiles()) {
      const r = await engineRun(f, [...sigs, ...rules.sources]);
      const fromSigs = r.hits.filter((h) => h.id.startsWith("NETSIG-")).map(key);
      const fromRules = r.hits.filter((h) => !h.id.startsWith("NETSIG-")).map(key);
      assert.deepEqual(fromRules, fromSigs, f);
      total += fromSigs.length;
      for (const h of r.hits) kinds.add(kind(h.id));
    }
    // not equal by being empty: both detections fire, many times
    assert.ok(total >= 40, `only ${total} findings`);
    assert.deepEqual([...kinds].sort(), ["rebinding", "resolver"]);
  });
});

// ---- Sigma rules on real traffic

const missing = missingTools();
const labSkip = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let lab = "";
const SPRAY = Array.from({ length: 110 }, (_, i) => `c${i.toString(36)}x${(i * 7919).toString(16)}.spray.netsig.test`);

before(
  async () => {
    if (labSkip) return;
    // dnsmasq on 127.0.0.2 answers like a resolver (--address, --txt-record);
    // 127.0.0.1 is the lab's authoritative-only address (NXDOMAIN in its zones, REFUSED elsewhere)
    lab = (
      await recordDnsSession({
        queries: [
          { args: ["x1.duckdns.org", "A"], server: "127.0.0.2" },
          { args: ["cmd.c2.example", "TXT"], server: "127.0.0.2" },
          { args: ["wpad.netsig.test", "A"] },
          { args: ["example.org", "A"] },
          { args: ["zz.interact.sh", "A"], server: "127.0.0.2" },
          { args: ["loop6.example", "AAAA"], server: "127.0.0.2" },
          { args: ["www.uol.com.br", "A"] },
          { args: SPRAY, server: "127.0.0.1" },
        ],
        dnsmasq: {
          extraArgs: [
            "--listen-address=127.0.0.2",
            "--address=/duckdns.org/127.0.0.9",
            "--address=/interact.sh/127.0.0.9",
            "--address=/loop6.example/::1",
            "--txt-record=cmd.c2.example,powershell -nop -w hidden -enc SQBFAFgA",
          ],
        },
      })
    ).path;
  },
  { timeout: 120_000 },
);

describe("Sigma rules (logsource category dns) on real dig/dnsmasq traffic, through the sandbox", () => {
  type F = { eventName: string; data: Record<string, any>; trig: string; props: Record<string, any> };
  const parse = (stdout: string): F[] =>
    stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const j = JSON.parse(l);
        const data: Record<string, any> = {};
        let trig = "";
        for (const a of j.args)
          if (a.name === "triggeredBy") trig = a.value.name;
          else data[a.name] = a.value;
        return { eventName: j.eventName, data, trig, props: j.metadata.Properties };
      });

  test("each rule fires on the traffic made for it, with Sigma's fields (the client is src_ip, also in responses)", {
    skip: labSkip,
  }, () => {
    const r = netsig(["replay", lab, "--rules", join(PACK, "sigma")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rules: 6 active, 0 skipped; 9 findings, 0 signature errors/);
    const found = parse(r.stdout);
    const by = (n: string) => found.filter((f) => f.eventName === n);
    assert.deepEqual(
      by("netsig_dns_dynamic_dns").map((f) => [f.data.query, f.data.src_ip, f.data.dst_ip, f.trig]),
      [["x1.duckdns.org", "127.0.0.1", "127.0.0.2", "net_packet_dns_request"]],
    );
    const txt = by("netsig_dns_txt_script");
    assert.deepEqual(
      txt.map((f) => [f.data.query, f.data.record_type, f.data.src_ip, f.data.dst_ip]),
      [["cmd.c2.example", "TXT", "127.0.0.1", "127.0.0.2"]],
    );
    assert.match(txt[0].data.answer, /^powershell -nop/);
    assert.equal(txt[0].props.Severity, 3);
    assert.equal(txt[0].props.external_id, "T1071.004");
    assert.equal(txt[0].props.signatureName, "DNS TXT Answer Carrying a Script Command");
    assert.deepEqual(
      by("netsig_dns_loopback_answer").map((f) => [f.data.query, f.data.answer]),
      [
        ["x1.duckdns.org", "127.0.0.9"],
        ["zz.interact.sh", "127.0.0.9"],
        ["loop6.example", "::1"],
        ["www.uol.com.br", "127.0.0.11"],
      ],
    );
    assert.deepEqual(
      by("netsig_dns_wpad").map((f) => f.data.query),
      ["wpad.netsig.test"],
    );
    assert.deepEqual(
      by("netsig_dns_refused").map((f) => [f.data.query, f.data.rcode, f.data.src_ip, f.data.dst_ip]),
      [["example.org", "REFUSED", "127.0.0.1", "127.0.0.1"]],
    );
    const many = by("netsig_dns_many_subdomains");
    assert.deepEqual(
      many.map((f) => [f.data.src_ip, f.data.parent_domain, f.data.count]),
      [["127.0.0.1", "netsig.test", 100]],
    );
    assert.equal(many[0].props.Severity, 3);
  });

  test("the native pack's out-of-band rule fires on the same real traffic", { skip: labSkip }, async () => {
    const hits = only(await packOn(lab), "dns-oob-interaction");
    assert.deepEqual(
      hits.map((h) => [h.data.query, h.data.client]),
      [["zz.interact.sh", "127.0.0.1"]],
    );
  });

  for (const rel of ["zeek/dns-edns-ecs.pcap", "tcpdump/dns_udp.pcap", "chrissanders-packets/dns_tcp.pcapng"]) {
    test(`quiet on ordinary resolver traffic: ${rel}`, { skip: needsOutside(rel) }, async () => {
      const sigma = loadRules([join(PACK, "sigma")]);
      assert.deepEqual((await engineRun(c(rel), sigma.sources)).hits, [], rel);
    });
  }

  test("rules test: one Sigma file on the capture, counts on stderr", { skip: labSkip }, () => {
    const r = netsig(["rules", "test", join(PACK, "sigma", "dns_query_wpad.yml"), "--pcap", lab]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parse(r.stdout).length, 1);
    assert.match(r.stderr, /dns_query_wpad\.yml: 1 rules loaded, 0 skipped; 1 findings \(6f0b8a1e-5d1c-4e0a-9a55-2c1e0d7b3a04: 1\)/);
    assert.ok(readFileSync(lab).length > 0);
  });
});
