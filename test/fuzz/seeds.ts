// Seed corpus: the project's own captures and rules, the captures the tests
// craft, and the BSD-3-Clause and MIT captures of test/corpus (read in place;
// the LGPL nDPI folder and the unlicensed captures that may sit beside the
// repository are not used: see docs/fuzzing.md).

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { CORPUS } from "../lib/corpus";
import * as craft from "../../tools/lib/craft";
import { edgeCasePackets, fragmentPackets, ipv6ChainPackets, linkTypeCaptures, tcpDnsPackets } from "../lib/edgecases";
import { packetLayout, pcapLayout, pcapngLayout } from "./mutate";

export const ROOT = resolve(__dirname, "..", "..", "..");
/** BSD-3-Clause and MIT sources of the corpus (test/corpus/manifest.json, NOTICE) */
const PERMISSIVE = ["tcpdump", "suricata-verify", "zeek", "libpcap", "pcapng-test-generator"];
/** records kept of each seed capture: small seeds keep executions fast */
const MAX_RECORDS = 24;

function files(dir: string, re: RegExp): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p, re));
    else if (re.test(f)) out.push(p);
  }
  return out;
}

/** a pcap cut to its first n records */
function trimPcap(b: Buffer, n: number): Buffer {
  const L = pcapLayout(b);
  if (!L || L.recs.length <= n) return b;
  return b.subarray(0, L.recs[n].hdr);
}

function trimPcapng(b: Buffer, n: number): Buffer {
  const L = pcapngLayout(b);
  if (!L) return b;
  let packets = 0;
  for (const blk of L.blocks) {
    if (blk.type === 6 || blk.type === 3 || blk.type === 2) packets++;
    if (packets > n) return b.subarray(0, blk.off);
  }
  return b;
}

let cache: { pcap: Buffer[]; pcapng: Buffer[] } | null = null;

/** seed captures, both formats */
export function captureSeeds(): { pcap: Buffer[]; pcapng: Buffer[] } {
  if (cache) return cache;
  const pcap: Buffer[] = [];
  const pcapng: Buffer[] = [];
  const add = (b: Buffer) => {
    if (b.length >= 4 && b.readUInt32BE(0) === 0x0a0d0d0a) pcapng.push(trimPcapng(b, MAX_RECORDS));
    else pcap.push(trimPcap(b, MAX_RECORDS));
  };
  add(readFileSync(join(ROOT, "examples", "dns-lo.pcap")));
  // what the tests craft
  add(craft.pcapFile(1, edgeCasePackets()));
  add(craft.pcapFile(1, ipv6ChainPackets()));
  add(craft.pcapFile(1, tcpDnsPackets()));
  add(craft.pcapFile(1, fragmentPackets()));
  for (const c of linkTypeCaptures()) add(craft.pcapFile(c.linkType, c.packets));
  for (const src of PERMISSIVE) for (const f of files(join(CORPUS, src), /\.(pcap|pcapng)$/)) add(readFileSync(f));
  cache = { pcap, pcapng };
  return cache;
}

/** link type and frame of every record of the seed pcaps */
export function frameSeeds(): { linkType: number; frame: Buffer }[] {
  const out: { linkType: number; frame: Buffer }[] = [];
  for (const b of captureSeeds().pcap) {
    const L = pcapLayout(b);
    if (!L) continue;
    for (const r of L.recs) out.push({ linkType: L.linkType, frame: Buffer.from(b.subarray(r.data, r.data + r.caplen)) });
  }
  return out;
}

/** DNS messages found in the seed frames (UDP payloads on port 53/5353/5355) */
export function dnsSeeds(): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const { linkType, frame } of frameSeeds()) {
    const L = packetLayout(frame, linkType);
    if (!L || L.app < 0 || L.proto !== 17) continue;
    const sp = frame.readUInt16BE(L.l4),
      dp = frame.readUInt16BE(L.l4 + 2);
    if (![53, 5353, 5355].includes(sp) && ![53, 5353, 5355].includes(dp)) continue;
    const m = frame.subarray(L.app);
    const k = m.toString("latin1");
    if (m.length < 12 || seen.has(k)) continue;
    seen.add(k);
    out.push(Buffer.from(m));
  }
  return out;
}

/** the shipped rules, the Sigma rules (SigmaHQ's Zeek and DNS rules too), and the rule fixtures the tests use */
export function ruleSeeds(): string[] {
  const out = [...files(join(ROOT, "rules"), /\.ya?ml$/), ...files(join(ROOT, "test", "sigmahq"), /\.ya?ml$/)].map((f) =>
    readFileSync(f, "utf8"),
  );
  out.push(
    "id: t1\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: .example.com\n  condition: s\noutput: 'query %dns.query'\n",
    "id: t2\nevents: [net_packet_tcp]\nseverity: 2\ndetection:\n  a:\n    args.src|cidr: 10.0.0.0/8\n  b:\n    args.dst_port: [22, 23]\n  condition: a and not b\n",
    "list: names\nitems: [a.test, b.test]\n---\nid: t3\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|in: names\n  condition: s\n",
    "id: t4\nevents: [net_packet_icmp]\ndetection:\n  s:\n    args.proto_icmp.typeCode|re: '^Echo'\n  condition: 1 of s*\nsuppress:\n  by: [args.src]\n  for: 60s\n",
  );
  return out;
}

/** config files: the examples of the docs and a few of the tests' */
export function configSeeds(): string[] {
  const out = files(join(ROOT, "examples"), /\.ya?ml$/)
    .map((f) => readFileSync(f, "utf8"))
    .filter((t) => /^(iface|signatures|rules|webhook|spool-dir|listen):/m.test(t));
  out.push(
    "iface: lo\nbpf: udp port 53\nsignatures: [./sigs]\nrules: [./rules]\noutput: json\nmin-severity: 2\n",
    "webhook:\n  - url: https://siem.example/_bulk\n    format: ecs\n    token-env: SIEM_TOKEN\n    min-severity: 3\n  - https://falcosidekick:2801/\nwebhook-format: ecs\nspool-dir: /tmp/spool\nwebhook-wait: 5\n",
    "listen: 127.0.0.1:9464\nlog-format: json\nquiet-findings: true\nevents: net_packet_dns,net_packet_tcp\nfilter:\n  - net_packet_dns.args.src=8.8.8.8\n",
  );
  return out;
}
