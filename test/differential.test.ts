// Differential test: netsig against a peer decoder, tshark (Wireshark 4.0).
//
// Every capture of the corpus (read in place: test/corpus, plus the captures
// only the full corpus beside the repository has) and every capture under
// examples/ is decoded by netsig in-process and dissected by tshark once; for
// every packet, each value netsig prints (addresses, IP/TCP/UDP/ICMP header
// fields, DNS header, questions, records and their data, the simple DNS
// events) is compared with what tshark says about the same packet. See
// test/lib/differential.ts for how tshark's fields map to netsig's events.
//
// tshark runs without reassembly or defragmentation, so every field belongs to
// the packet that carries it. The captures with DNS over TCP get a second pass
// with tshark's TCP reassembly, against which netsig's reassembled messages are
// checked (same message, same packet). Likewise IP fragments: the first pass
// holds each fragment's IP event to its own header, a pass with tshark's
// defragmentation the transport and DNS events of the reassembled datagram,
// on the fragment that completes it. Crafted captures (test/lib/edgecases.ts)
// cover what the corpus does not: odd label bytes, every RDATA shape, mDNS and
// LLMNR bits, every link type, IPv6 header chains, DNS over TCP the hard ways.
//
// A disagreement is either a netsig bug (fixed, with a regression case) or a
// legitimate difference, listed in ALLOWED below with the reason. An entry
// that no longer matches anything fails the test, so the list stays exact.
// A self-check proves that wrong values on either side are caught.
//
// DIFF_VERBOSE=1 prints every disagreement and the per-field table.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { LinkType } from "../engine/capture/types";
import {
  compareFrame,
  DNS_KINDS,
  expectFrame,
  goBytesText,
  IP_KINDS,
  isFragmentFrame,
  KINDS,
  goIPv6,
  NON_IP_KINDS,
  netsigFrames,
  type Disagreement,
  type FieldStats,
  type Frame,
} from "./lib/differential";
import * as craft from "../tools/lib/craft";
import { edgeCasePackets, fragmentPackets, ipv6ChainPackets, linkTypeCaptures, tcpDnsPackets, type CraftedCapture } from "./lib/edgecases";
import { corpusCapturesSorted, corpusFile, corpusLabel, haveCorpusFile } from "./lib/corpus";
import { Obj, parseOrderedJSON, runTshark, tsharkVersion, type TsFrame } from "./lib/tshark";

const EXAMPLES = join(__dirname, "..", "..", "examples");

interface Allowed {
  /** capture path relative to the corpus, or "examples/NAME" */
  file: string;
  /** packet numbers (tshark's frame numbers, less any pcapng Custom Blocks) */
  frames: number[];
  /** the compared path ("dns[0].proto_dns.ID", "events.dns": how many DNS events), or a pattern */
  field: string | RegExp;
  reason: string;
  /** when given, the two values must also pass this check (the difference is exactly the one explained) */
  only?: (netsig: string, tshark: string) => boolean;
}

/** equal once each run of U+FFFD is one: tshark replaces a maximal invalid UTF-8 subsequence once, Go each byte */
const sameUpToReplacementRuns = (a: string, b: string): boolean =>
  a !== b && a.replace(/\uFFFD+/g, "\uFFFD") === b.replace(/\uFFFD+/g, "\uFFFD");

const DNS_OVER_TCP_REASSEMBLY =
  "DNS over TCP split across segments: netsig reassembles the stream and reports the message on the segment that " +
  "completes it; tshark, run without reassembly so that every field belongs to its own packet, sees no whole DNS PDU " +
  "there (the second pass, with tshark's reassembly, finds the same message on the same packet)";

// Legitimate differences. Each entry is as narrow as the difference it explains.
const ALL_ALLOWED: Allowed[] = [
  {
    file: "chrissanders-packets/dns_axfr.pcapng",
    frames: [6],
    field: /^events\.dns(_request)?$/,
    reason: DNS_OVER_TCP_REASSEMBLY + " (the 2-byte length prefix came alone in packet 4, the 33-byte AXFR query in packet 6)",
  },
  {
    file: "chrissanders-packets/dns_tcp.pcapng",
    frames: [10],
    field: /^events\.dns(_response)?$/,
    reason: DNS_OVER_TCP_REASSEMBLY + " (the length prefix is split 1 + 1: its first byte alone in packet 8)",
  },
  {
    file: "pcap-attack/sigred-cve-2020-1350.pcapng",
    frames: [50],
    field: /^events\.dns(_response)?$/,
    reason: DNS_OVER_TCP_REASSEMBLY + " (the ~64 KB SIGRed response spans packets 4-50; tshark shows packet 4's start as unreassembled)",
  },
  {
    file: "libpcap/ipv6_ext_headers.pcap",
    frames: [1],
    field: "events.udp",
    reason:
      "a chain of ~100 IPv6 extension headers: netsig stops after 16 (bounded work per packet; counted malformed, " +
      "the IPv6 event is still emitted), tshark walks all of them to the UDP header",
  },
  {
    file: "zeek/ipv4_fragmented-1.pcap",
    frames: [3],
    field: "events.udp",
    reason:
      "a second first fragment (bytes 0-304) running past the end the last fragment set (164): netsig, like Linux " +
      "(ip_fragment.c), discards the datagram as inconsistent (Zeek's oracle says fragment_inconsistency); tshark " +
      "reassembles it anyway, marking the overlap and the conflicting data",
  },
  {
    file: "tcpdump/ip_printroute_asan.pcap",
    frames: [1],
    field: "events.ipv4",
    reason:
      "fuzzed IPv4 header with 40 bytes of options cut by the capture length: netsig reports no IPv4 event for a " +
      "header it cannot read whole; tshark shows the fixed part",
  },
  {
    file: "suricata-verify/dns-forward-pointer.pcap",
    frames: [1],
    field: "events.dns",
    reason:
      "a compression pointer that points forward: netsig (dns-packet's name codec) rejects the message as malformed, " +
      "on purpose (decode.test.ts pins it); tshark follows the pointer",
  },
  {
    file: "ndpi/dns-tunnel-iodine.pcap",
    frames: [49, 52, 53, 56, 57, 59, 60, 61, 62, 63, 64, 66, 67, 69],
    field:
      /^(dns\[0\]\.proto_dns\.(questions|answers)\[0\]\.name|dns_request\[0\]\.dns_questions\[0\]\.query|dns_response\[0\]\.dns_response\[0\]\.query_data\.query)$/,
    only: sameUpToReplacementRuns,
    reason:
      "iodine's raw 8-bit labels: netsig prints U+FFFD for every byte that is not valid UTF-8, as Go's " +
      "encoding/json (so Tracee) does; tshark prints one U+FFFD per maximal invalid subsequence (e.g. bytes ec be = 2 vs 1)",
  },
];

// the entries for the captures at hand: those of a capture only the corpus beside the repository has apply when it is there
const ALLOWED = ALL_ALLOWED.filter((a) => a.file.startsWith("examples/") || haveCorpusFile(a.file));

function captures(): string[] {
  const out = corpusCapturesSorted().map((c) => c.file);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng)$/.test(name)) out.push(p);
    }
  };
  if (existsSync(EXAMPLES)) walk(EXAMPLES);
  return out;
}

function label(file: string): string {
  return file.startsWith(EXAMPLES) ? "examples/" + relative(EXAMPLES, file) : corpusLabel(file);
}

/** run `fn` over `items` with at most `n` at a time, results in order */
async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** compare one capture: tshark's frames against netsig's packets, aligned by packet number */
function compareCapture(
  file: string,
  ts: TsFrame[],
  ns: Frame[],
  stats: FieldStats,
  out: Disagreement[],
  kinds: (fr: TsFrame) => string[] = (fr) => (isFragmentFrame(fr) ? IP_KINDS : KINDS),
): number {
  if (ts.length !== ns.length) out.push({ file, frame: 0, field: "frame.count", netsig: String(ns.length), tshark: String(ts.length) });
  for (const fr of ts) compareFrame(file, fr.number, ns[fr.number - 1], expectFrame(fr), stats, out, kinds(fr));
  return ts.length;
}

const NON_DNS_KINDS = KINDS.filter((k) => !DNS_KINDS.includes(k));

/**
 * Compare the fragments of a capture again with tshark's defragmentation on:
 * the transport and DNS events netsig reports for a reassembled datagram must
 * be tshark's, on the same packet (and none on a fragment that completes nothing).
 */
async function compareDefragmented(
  file: string,
  path: string,
  first: TsFrame[],
  ns: Frame[],
  stats: FieldStats,
  out: Disagreement[],
): Promise<number> {
  const fragments = new Set(first.filter(isFragmentFrame).map((fr) => fr.number));
  if (fragments.size === 0) return 0;
  for (const fr of await runTshark(path, "ip")) {
    if (fragments.has(fr.number)) compareFrame(file, fr.number, ns[fr.number - 1], expectFrame(fr), stats, out, NON_IP_KINDS);
  }
  return fragments.size;
}

/** a TCP segment to or from a DNS port (53, mDNS 5353, LLMNR 5355) */
function isDnsOverTcp(fr: TsFrame): boolean {
  const tcp = fr.layers.find(([n]) => n === "tcp")?.[1];
  if (tcp === undefined) return false;
  const ports = [tcp.str("tcp.srcport"), tcp.str("tcp.dstport")];
  return ports.some((p) => p === "53" || p === "5353" || p === "5355");
}

function allowedBy(d: Disagreement, list: Allowed[] = ALLOWED): Allowed | undefined {
  return list.find(
    (a) =>
      a.file === d.file &&
      a.frames.includes(d.frame) &&
      (typeof a.field === "string" ? d.field === a.field : a.field.test(d.field)) &&
      (a.only === undefined || a.only(text(d.netsig), text(d.tshark))),
  );
}

/** a compared value (JSON text) as the string it holds */
function text(v: string): string {
  try {
    const x: unknown = JSON.parse(v);
    return typeof x === "string" ? x : v;
  } catch {
    return v;
  }
}

/** values compared and agreeing, per event kind */
function summary(stats: FieldStats): string[] {
  const by = new Map<string, { compared: number; differ: number }>();
  for (const [field, s] of stats) {
    const k = field.split(/[.[]/)[0] + (field.startsWith("events.") || field.startsWith("frame.") ? "." + field.split(".")[1] : "");
    const g = by.get(k) ?? { compared: 0, differ: 0 };
    g.compared += s.compared;
    g.differ += s.differ;
    by.set(k, g);
  }
  return [...by].sort().map(([k, s]) => `  ${k}: ${s.compared - s.differ}/${s.compared} agree`);
}

const cut = (s: string): string => (s.length > 120 ? s.slice(0, 117) + "..." : s);
const show = (d: Disagreement): string => `${d.file} #${d.frame} ${d.field}: netsig ${cut(d.netsig)}, tshark ${cut(d.tshark)}`;

test("netsig agrees with tshark on every packet of the corpus and the examples", async (t) => {
  const version = await tsharkVersion();
  if (version === null) {
    t.skip("tshark is not installed");
    return;
  }
  const files = captures();
  assert.ok(files.length >= 79, `expected the 78 captures of test/corpus and the example, found ${files.length} captures`);
  const absent = ALL_ALLOWED.filter((a) => !ALLOWED.includes(a)).map((a) => a.file);
  if (absent.length)
    t.diagnostic(`allow-list entries not checked, their captures are only beside the repository: ${[...new Set(absent)].join(", ")}`);

  const stats: FieldStats = new Map();
  const found: Disagreement[] = [];
  let packets = 0;
  // tshark (~0.4 s of start-up per file) runs as child processes, one more than there are CPUs; netsig decodes here meanwhile
  const results = await pool(files, availableParallelism() + 1, async (f) => {
    const [ts, ns] = await Promise.all([runTshark(f), netsigFrames(f)]);
    return { f, ts, ns };
  });
  for (const { f, ts, ns } of results) packets += compareCapture(label(f), ts, ns.frames, stats, found);

  // IP fragments again, with tshark's defragmentation on (their disagreements are held to the same allow-list)
  const withFragments = results.filter(({ ts }) => ts.some(isFragmentFrame));
  const fragmentCounts = await pool(withFragments, availableParallelism() + 1, ({ f, ts, ns }) =>
    compareDefragmented(label(f), f, ts, ns.frames, stats, found),
  );
  t.diagnostic(
    `IP fragments with tshark's defragmentation: ${withFragments.length} captures, ${fragmentCounts.reduce((a, b) => a + b, 0)} fragments`,
  );

  // DNS over TCP again, with tshark's reassembly on: the messages netsig reassembled must be tshark's too, on the
  // same packet (the allow-list's reassembly entries are thereby checked, not just excused)
  const tcpDns = results.filter(({ ts }) => ts.some(isDnsOverTcp));
  const reassembled: Disagreement[] = [];
  const rStats: FieldStats = new Map();
  const second = await pool(tcpDns, availableParallelism() + 1, async ({ f }) => ({ f, ts: await runTshark(f, "tcp") }));
  const withDns = new Set<string>();
  for (const { f, ts } of second) {
    const ns = results.find((r) => r.f === f)!.ns.frames;
    for (const fr of ts) {
      if (!fr.layers.some(([n]) => n === "tcp")) continue;
      const exp = expectFrame(fr);
      if (exp.events.some((e) => e.kind === "dns")) withDns.add(`${label(f)}#${fr.number}`);
      compareFrame(label(f), fr.number, ns[fr.number - 1], exp, rStats, reassembled, DNS_KINDS);
    }
  }
  let rCompared = 0;
  for (const s of rStats.values()) rCompared += s.compared;
  t.diagnostic(
    `DNS over TCP with tshark's reassembly: ${tcpDns.length} captures, ${rCompared} values compared, ${reassembled.length} disagreements`,
  );
  assert.deepEqual(reassembled.slice(0, 40).map(show), [], "DNS over TCP differs from tshark's reassembly");
  for (const a of ALLOWED.filter((x) => x.reason.startsWith(DNS_OVER_TCP_REASSEMBLY))) {
    for (const n of a.frames)
      assert.ok(withDns.has(`${a.file}#${n}`), `${a.file} #${n}: tshark's reassembly has the DNS message there too`);
  }

  const unexplained = found.filter((d) => allowedBy(d) === undefined);
  const stale = ALLOWED.filter((a) => !found.some((d) => allowedBy(d) === a));
  let compared = 0;
  for (const s of stats.values()) compared += s.compared;

  t.diagnostic(
    `${version}: ${files.length} captures, ${packets} packets, ${compared} values compared, ` +
      `${found.length} disagreements (${found.length - unexplained.length} allowed, ${unexplained.length} not)`,
  );
  for (const line of summary(stats)) t.diagnostic(line);
  if (process.env.DIFF_VERBOSE) {
    for (const [field, s] of [...stats].sort()) t.diagnostic(`${field}: ${s.compared - s.differ}/${s.compared}`);
    for (const d of found) t.diagnostic((allowedBy(d) ? "allowed: " : "DIFFERS: ") + show(d));
  }
  assert.deepEqual(unexplained.slice(0, 40).map(show), [], `${unexplained.length} disagreements with tshark are not explained`);
  assert.deepEqual(
    stale.map((a) => `${a.file} ${a.frames} ${a.field}`),
    [],
    "allow-list entries that match nothing",
  );
});

test("crafted corner cases agree with tshark: odd label bytes, every RDATA shape, mDNS/LLMNR bits, EDNS, TCP flags, ICMP, IPv6 chains, every link type, DNS over TCP the hard ways", async (t) => {
  if ((await tsharkVersion()) === null) {
    t.skip("tshark is not installed");
    return;
  }
  const captures: CraftedCapture[] = [
    { name: "corner-cases.pcap", linkType: LinkType.ETHERNET, packets: edgeCasePackets() },
    { name: "ipv6-chains.pcap", linkType: LinkType.ETHERNET, packets: ipv6ChainPackets() },
    { name: "tcp-dns.pcap", linkType: LinkType.ETHERNET, packets: tcpDnsPackets() },
    { name: "fragments.pcap", linkType: LinkType.ETHERNET, packets: fragmentPackets() },
    ...linkTypeCaptures(),
  ];
  const dir = mkdtempSync(join(tmpdir(), "netsig-differential-"));
  try {
    const stats: FieldStats = new Map();
    const found: Disagreement[] = [];
    let packets = 0;
    await pool(captures, availableParallelism() + 1, async (c) => {
      const path = craft.writePcap(join(dir, c.name), c.linkType, c.packets);
      const [ts, ns] = await Promise.all([runTshark(path), netsigFrames(path)]);
      assert.equal(ts.length, c.packets.length, c.name);
      packets += ts.length;
      // DNS over TCP is held to tshark's reassembly, fragments to its defragmentation, everything else to the
      // per-packet dissection
      compareCapture(c.name, ts, ns.frames, stats, found, (fr) =>
        isFragmentFrame(fr) ? IP_KINDS : isDnsOverTcp(fr) ? NON_DNS_KINDS : KINDS,
      );
      await compareDefragmented(c.name, path, ts, ns.frames, stats, found);
      if (!ts.some(isDnsOverTcp)) return;
      for (const fr of await runTshark(path, "tcp")) {
        if (isDnsOverTcp(fr)) compareFrame(c.name, fr.number, ns.frames[fr.number - 1], expectFrame(fr), stats, found, DNS_KINDS);
      }
    });
    let compared = 0;
    for (const s of stats.values()) compared += s.compared;
    t.diagnostic(`${captures.length} crafted captures, ${packets} packets, ${compared} values compared`);
    for (const line of summary(stats)) t.diagnostic(line);
    assert.deepEqual(found.map(show), []);
    // the corners were reached, not skipped: values that only these packets carry were compared
    for (const path of [
      "dns[].proto_dns.answers[].URI.target",
      "dns[].proto_dns.answers[].TXTs[]",
      "dns[].proto_dns.additionals[].OPT[].data",
      "dns[].proto_dns.answers[].SOA.RName",
      "dns[].proto_dns.answers[].SRV.port",
      "dns_wire[].questions[].class",
      "icmp.id",
      "icmpv6.typeCode",
      "ipv6.flowLabel",
      "tcp.NS",
      "tcp.urgent",
      "dns_request[].metadata.packet_len",
      "events.dns",
    ]) {
      assert.ok((stats.get(path)?.compared ?? 0) > 0, `${path} was compared`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the test can fail: deliberate errors on either side are caught, and the allow-list does not hide them

/** set the first field named `key` in a tshark tree (depth first) */
function setField(o: Obj, key: string, value: string): boolean {
  for (const e of o.entries) {
    if (e[0] === key && typeof e[1] === "string") {
      e[1] = value;
      return true;
    }
    if (e[1] instanceof Obj && setField(e[1], key, value)) return true;
  }
  return false;
}

const layer = (fr: TsFrame, name: string): Obj => fr.layers.find(([n]) => n === name)![1];

test("self-check: a wrong value on either side, a missing or extra event, is reported and not allowed", async (t) => {
  if ((await tsharkVersion()) === null) {
    t.skip("tshark is not installed");
    return;
  }
  const path = corpusFile("tcpdump/dns_udp.pcap"); // a query (packet 1) and its response with A/AAAA/NS/OPT (packet 2)
  const file = label(path);
  const run = async (): Promise<[TsFrame[], Frame[]]> => [await runTshark(path), (await netsigFrames(path)).frames];
  const diff = (ts: TsFrame[], ns: Frame[]): string[] => {
    const out: Disagreement[] = [];
    compareCapture(file, ts, ns, new Map(), out);
    assert.ok(
      out.every((d) => allowedBy(d) === undefined),
      "no allow-list entry covers this capture",
    );
    return out.map((d) => `#${d.frame} ${d.field}: netsig ${d.netsig}, tshark ${d.tshark}`);
  };

  let [ts, ns] = await run();
  assert.deepEqual(diff(ts, ns), [], "the capture agrees as it is");

  // deliberately wrong expectations (tshark's side)
  assert.ok(setField(layer(ts[0], "ip"), "ip.ttl", "63"));
  assert.ok(setField(layer(ts[1], "dns"), "dns.a", "192.139.46.67"));
  assert.ok(setField(layer(ts[1], "dns"), "dns.aaaa", "::ffff:209.87.249.18")); // the IPv4-mapped form is printed as IPv4
  assert.ok(setField(layer(ts[1], "udp"), "udp.checksum", "0x0000"));
  assert.deepEqual(diff(ts, ns), [
    "#1 ipv4.proto_ipv4.TTL: netsig 64, tshark 63",
    "#2 udp.proto_udp.checksum: netsig 50260, tshark 0",
    '#2 dns[0].proto_dns.answers[0].IP: netsig "192.139.46.66", tshark "192.139.46.67"',
    '#2 dns[0].proto_dns.additionals[1].IP: netsig "2607:f0b0:f::babe:f00d", tshark "209.87.249.18"',
    '#2 dns_response[0].dns_response[0].dns_answer[0].answer: netsig "192.139.46.66", tshark "192.139.46.67"',
  ]);

  // netsig's side: a wrong value, a dropped event, an extra event
  [ts, ns] = await run();
  const dns = ns[1].events.find((e) => e.kind === "dns")!.args.proto_dns as { answers: { TTL: number }[]; ANCount: number };
  dns.answers[1].TTL = 61;
  ns[0].events = ns[0].events.filter((e) => e.kind !== "udp");
  ns[1].events.push({ kind: "icmp", args: {} });
  assert.deepEqual(diff(ts, ns), [
    "#1 events.udp: netsig 0, tshark 1",
    "#2 events.icmp: netsig 1, tshark 0",
    "#2 dns[0].proto_dns.answers[1].TTL: netsig 61, tshark 60",
  ]);

  // a packet netsig never saw, and the allow-list's exactness: an entry for another packet or field does not match
  ns.pop();
  const lost = diff(ts, ns);
  for (const line of [
    "#0 frame.count: netsig 1, tshark 2",
    "#2 frame.timestamp: netsig <no packet>, tshark 1591780794870361000",
    "#2 events.ipv4: netsig 0, tshark 1",
    "#2 events.dns: netsig 0, tshark 1",
  ])
    assert.ok(lost.includes(line), line);
  const d: Disagreement = { file, frame: 2, field: "dns[0].proto_dns.ID", netsig: "1", tshark: "2" };
  const entry: Allowed = { file, frames: [1], field: "dns[0].proto_dns.ID", reason: "test" };
  assert.equal(allowedBy(d, [entry]), undefined, "another packet");
  assert.equal(allowedBy(d, [{ ...entry, frames: [2], field: "dns[0].proto_dns.QR" }]), undefined, "another field");
  const exact = { ...entry, frames: [2] };
  assert.equal(allowedBy(d, [exact]), exact, "the same packet and field");
  assert.equal(
    allowedBy({ ...d, field: "dns[0].proto_dns.questions[0].name", netsig: '"a\\ufffd\\ufffdb"', tshark: '"a\\ufffdc"' }, [
      { ...entry, frames: [2], field: /name$/, only: sameUpToReplacementRuns },
    ]),
    undefined,
    "a difference other than the one explained",
  );
});

test("tshark's JSON is read with every repeated key kept, in order", () => {
  const v = parseOrderedJSON('{"a": "1", "b": {"x": "y"}, "a": "2", "c": ["3", {"a": "4"}], "d": "\\u00e9\\"", "n": null}') as Obj;
  assert.deepEqual(v.all("a"), ["1", "2"]);
  assert.equal(v.str("a"), "1");
  assert.equal(v.obj("b")!.str("x"), "y");
  assert.equal(v.find("x"), "y");
  assert.equal(v.str("d"), 'é"');
  assert.equal(v.get("n"), null);
  assert.throws(() => parseOrderedJSON('{"a": "1",}'), SyntaxError);
});

test("expected-side text helpers: Go's U+FFFD per invalid byte, Go's IPv4-mapped addresses", () => {
  assert.equal(goBytesText(Buffer.from([0x61, 0xc3, 0xa9, 0xec, 0xbe, 0x66, 0xbf, 0xf0, 0x9f, 0x98, 0x80])), "aé\ufffd\ufffdf\ufffd😀");
  assert.equal(goIPv6("::ffff:10.1.2.3"), "10.1.2.3");
  assert.equal(goIPv6("::ffff:a01:203"), "10.1.2.3");
  assert.equal(goIPv6("2001:db8::1"), "2001:db8::1");
});
