// The flow stage (engine/flows/): Community ID v1 against the spec's published
// vectors, the DNS name cache (Tracee's order, TTLs, bounds), the flow table
// (Tracee's begin/end semantics, timeouts in capture time, eviction, out-of-
// order reassembly) and its bounds under a SYN flood and a UDP flood.

import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { LinkType, type PacketRecord } from "../engine/capture/types";
import type { DnsMessage, DnsRecord } from "../engine/decode/dnstypes";
import { EventPipeline, TCP_FLOW_EVENTS, UDP_FLOW_EVENTS } from "../engine/events/pipeline";
import { addressBytes, communityId, communityIdBytes } from "../engine/flows/communityid";
import { DnsCache, MAX_PARENTS } from "../engine/flows/dnscache";
import { FlowTracker, isPrivateAddress } from "../engine/flows/tracker";
import { Decoder } from "../engine/decode/decoder";
import type { TraceeEvent } from "../engine/types/events";
import { type AppParser, NEED_MORE, type StreamDirection } from "../engine/types/parser";
import type { AppRecord } from "../engine/types/records";
import * as craft from "../tools/lib/craft";
import { netsig } from "./lib/run";

// ---- Community ID

// corelight/community-id-spec (BSD-3-Clause, Copyright (c) 2017-2018 by
// Corelight, Inc): baseline/README.md's "Default settings" table and
// baseline/baseline_deflt.json (community-id-pcap over pcaps/combined.pcap.gz).
// [proto, src, dst, sport, dport, community id]; ICMP rows give type and code as the ports; null: no ports
const SPEC_TABLE: [number, string, string, number | null, number | null, string][] = [
  [6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="],
  [6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="],
  [17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="],
  [17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="],
  [132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="],
  [132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="],
  [1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="],
  [1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="],
  [1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="],
  [58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="],
  [58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="],
  [58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10="],
  [46, "1.2.3.4", "5.6.7.8", null, null, "1:ikv3kmf89luf73WPz1jOs49S768="],
  [46, "5.6.7.8", "1.2.3.4", null, null, "1:ikv3kmf89luf73WPz1jOs49S768="],
  [46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", null, null, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="],
  [46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", null, null, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="],
  // baseline_deflt.json
  [58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="],
  [58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="],
  [58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="],
  [58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck="],
  [58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="],
  [58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="],
  [58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="],
  [58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="],
  [58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="],
  [58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="],
  [1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
  [1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="],
  [1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="],
  [6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
  [6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="],
  [132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
  [132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="],
  [6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  [6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="],
  [17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
  [17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="],
  [46, "10.1.12.1", "10.1.12.2", null, null, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
  [46, "10.1.12.2", "10.1.12.1", null, null, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="],
];

test("Community ID v1: every vector of the spec's baseline (default seed, base64)", () => {
  for (const [proto, src, dst, sp, dp, want] of SPEC_TABLE) {
    assert.equal(communityId(proto, src, dst, sp ?? 0, dp ?? 0), want, `${proto} ${src} ${dst} ${sp} ${dp}`);
  }
  // seed=1 (the README's second table): the seed is hashed
  assert.equal(
    communityIdBytes(6, addressBytes("1.2.3.4")!, addressBytes("5.6.7.8")!, 1122, 3344, true, 1),
    "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
  );
  // not addresses: no id
  assert.equal(communityId(6, "1.2.3", "5.6.7.8", 1, 2), "");
  assert.equal(communityId(6, "1.2.3.4", "::1", 1, 2), "");
  assert.deepEqual([...addressBytes("::ffff:1.2.3.4")!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  assert.equal(addressBytes("1::2::3"), null);
  assert.equal(addressBytes("1.2.3.256"), null);
});

// ---- the DNS cache

function rr(name: string, type: number, data: string, ttl = 300): DnsRecord {
  return { name, type, class: 1, ttl, data, raw: "" };
}

function response(q: string, answers: DnsRecord[], qtype = 1): DnsMessage {
  return {
    id: 1,
    flags: 0x8180,
    qdCount: 1,
    anCount: answers.length,
    nsCount: 0,
    arCount: 0,
    questions: [{ name: q, type: qtype, class: 1 }],
    answers,
    authorities: [],
    additionals: [],
  };
}

test("DNS cache: a CNAME chain names the address with the question first (Tracee's order); TTLs in capture time", () => {
  const c = new DnsCache();
  c.add(response("www.example.com", [rr("www.example.com", 5, "cdn.x.net", 60), rr("cdn.x.net", 1, "192.0.2.1", 30)]), 1000);
  assert.deepEqual(c.lookup("192.0.2.1", 1000), ["www.example.com", "cdn.x.net"]);
  assert.deepEqual(c.lookup("192.0.2.1", 1030), ["www.example.com", "cdn.x.net"]);
  // the address's answer expired: not named (Tracee's ErrDNSRecordExpired gives [])
  assert.deepEqual(c.lookup("192.0.2.1", 1031), []);
  // a new answer renews it; a second name for the same address goes first (the latest name first)
  c.add(response("other.example.org", [rr("other.example.org", 28, "192.0.2.1", 100)]), 1040);
  assert.deepEqual(c.lookup("192.0.2.1", 1040), ["other.example.org", "www.example.com", "cdn.x.net"]);
  // the CNAME's own TTL (60 s from 1000) has run out: Tracee then skips the names above it but keeps it
  // (it checks the child's expiry before each parent: see dnscache.ts)
  assert.deepEqual(c.lookup("192.0.2.1", 1061), ["other.example.org", "cdn.x.net"]);
  // unknown addresses, names, queries and non-responses
  assert.deepEqual(c.lookup("192.0.2.2", 2000), []);
  assert.deepEqual(c.lookup("www.example.com", 2000), []);
  const query = { ...response("q.test", [rr("q.test", 1, "192.0.2.9")]), flags: 0x0100 };
  c.add(query, 2000);
  assert.deepEqual(c.lookup("192.0.2.9", 2000), []);
  // two questions: Tracee refuses the message
  c.add(
    {
      ...response("a.test", [rr("a.test", 1, "192.0.2.10")]),
      questions: [
        { name: "a.test", type: 1, class: 1 },
        { name: "b.test", type: 1, class: 1 },
      ],
    },
    2000,
  );
  assert.deepEqual(c.lookup("192.0.2.10", 2000), []);
  // PTR questions are not kept (Tracee keys them by the reversed text no lookup finds)
  c.add(response("1.2.0.192.in-addr.arpa", [rr("1.2.0.192.in-addr.arpa", 12, "ptr.test")], 12), 2000);
  assert.equal(c.lookup("ptr.test", 2000).length, 0);
});

test("DNS cache: bounded (LRU over names and addresses, counted); names per address capped; CNAME loops end", () => {
  const c = new DnsCache(100);
  for (let i = 0; i < 1000; i++) c.add(response(`n${i}.test`, [rr(`n${i}.test`, 1, `10.0.${i >> 8}.${i & 255}`)]), 10);
  assert.equal(c.size, 100);
  assert.equal(c.stats.evicted, 2000 - 100);
  // the latest are kept, the oldest forgotten
  assert.deepEqual(c.lookup("10.0.3.231", 10), ["n999.test"]);
  assert.deepEqual(c.lookup("10.0.0.1", 10), []);
  // a shared address keeps MAX_PARENTS names
  const d = new DnsCache();
  for (let i = 0; i < MAX_PARENTS + 5; i++) d.add(response(`s${i}.test`, [rr(`s${i}.test`, 1, "192.0.2.50")]), 10);
  assert.equal(d.lookup("192.0.2.50", 10).length, MAX_PARENTS);
  assert.equal(d.stats.parentsDropped, 5);
  // a CNAME loop (a -> b, b -> a) still answers, bounded
  const e = new DnsCache();
  e.add(response("a.test", [rr("a.test", 5, "b.test"), rr("b.test", 1, "192.0.2.60")]), 10);
  e.add(response("b.test", [rr("b.test", 5, "a.test")]), 10);
  const names = e.lookup("192.0.2.60", 10);
  assert.ok(names.length > 0 && names.length <= 32, String(names.length));
  assert.equal(names[names.length - 1], "b.test");
});

// ---- the flow table, on crafted packets

const T0 = 1_700_000_000;
const SYN = 2;
const ACK = 16;
const FIN = 1;
const RST = 4;
const PSH = 8;

interface Pk {
  data: Buffer;
  t: number;
}

function tcp4(src: string, sp: number, dst: string, dp: number, flags: number, t: number, seq = 0, payload?: Buffer): Pk {
  return { data: craft.ipv4({ src, dst, protocol: 6 }, craft.tcp({ srcPort: sp, dstPort: dp, flags, seq }, payload)), t };
}

function tcp6(src: string, sp: number, dst: string, dp: number, flags: number, t: number, seq = 0): Pk {
  return { data: craft.ipv6({ src, dst, nextHeader: 6 }, craft.tcp({ srcPort: sp, dstPort: dp, flags, seq })), t };
}

function udp4(src: string, sp: number, dst: string, dp: number, t: number, payload = Buffer.from("x")): Pk {
  return { data: craft.ipv4({ src, dst, protocol: 17 }, craft.udp({ srcPort: sp, dstPort: dp }, payload)), t };
}

function record(data: Buffer, t: number): PacketRecord {
  const sec = Math.floor(t);
  return {
    tsSec: T0 + sec,
    tsNsec: Math.round((t - sec) * 1e9),
    linkType: LinkType.RAW,
    iface: "",
    buf: data,
    offset: 0,
    caplen: data.length,
    origLen: data.length,
    fileOffset: 0,
  };
}

interface Seen {
  name: string;
  ts: number;
  args: Record<string, unknown>;
}

/** run packets through a pipeline printing the flow events; the input ends (flush) unless told not to */
function flowEvents(
  pks: Pk[],
  o: { mask?: number; maxFlows?: number; finish?: boolean; dns?: Pk[] } = {},
): { seen: Seen[]; pipeline: EventPipeline } {
  const seen: Seen[] = [];
  const pipeline = new EventPipeline(o.mask ?? TCP_FLOW_EVENTS | UDP_FLOW_EVENTS, "h", (ev: TraceeEvent) => {
    seen.push({ name: ev.eventName, ts: ev.timestamp, args: Object.fromEntries(ev.args.map((a) => [a.name, a.value])) });
  });
  if (o.maxFlows !== undefined) pipeline.configureFlows({ maxFlows: o.maxFlows });
  for (const p of pks) pipeline.onPacket(record(p.data, p.t));
  if (o.finish !== false) pipeline.finish();
  return { seen, pipeline };
}

const ts = (t: number) => (T0 + Math.floor(t)) * 1e9 + Math.round((t - Math.floor(t)) * 1e9);

test("TCP flow events follow Tracee: begin at the SYN-ACK, end at the first FIN, src the originator; args in Tracee's order", () => {
  const c = "10.1.1.1";
  const s = "93.184.216.34";
  const { seen } = flowEvents([
    tcp4(c, 40000, s, 443, SYN, 0),
    tcp4(s, 443, c, 40000, SYN | ACK, 0.5),
    tcp4(c, 40000, s, 443, ACK, 0.6),
    tcp4(s, 443, c, 40000, FIN | ACK, 2),
    tcp4(c, 40000, s, 443, FIN | ACK, 2.1),
    tcp4(s, 443, c, 40000, ACK, 2.2),
  ]);
  assert.deepEqual(
    seen.map((e) => [e.name, e.ts]),
    [
      ["net_flow_tcp_begin", ts(0.5)],
      ["net_flow_tcp_end", ts(2)],
    ],
  );
  const cid = communityId(6, c, s, 40000, 443);
  for (const e of seen) {
    assert.deepEqual(Object.keys(e.args), ["conn_direction", "src", "dst", "src_port", "dst_port", "src_dns", "dst_dns", "community_id"]);
    assert.deepEqual(e.args, {
      conn_direction: "outgoing",
      src: c,
      dst: s,
      src_port: 40000,
      dst_port: 443,
      src_dns: [],
      dst_dns: [],
      community_id: cid,
    });
  }
});

test("TCP: an RST ends a begun flow; no SYN-ACK (refused, or picked up mid-stream) means no flow events; conn_direction incoming", () => {
  const { seen } = flowEvents([
    // refused: SYN, RST-ACK
    tcp4("10.0.0.1", 1000, "10.0.0.2", 22, SYN, 0),
    tcp4("10.0.0.2", 22, "10.0.0.1", 1000, RST | ACK, 0.1),
    // mid-stream: data both ways, a FIN
    tcp4("10.0.0.1", 1001, "10.0.0.2", 80, ACK | PSH, 1, 5, Buffer.from("abc")),
    tcp4("10.0.0.2", 80, "10.0.0.1", 1001, ACK | FIN, 1.1),
    // from outside to a local server, reset after the handshake
    tcp4("198.51.100.7", 5555, "10.0.0.2", 8080, SYN, 2),
    tcp4("10.0.0.2", 8080, "198.51.100.7", 5555, SYN | ACK, 2.1),
    tcp4("198.51.100.7", 5555, "10.0.0.2", 8080, RST, 2.2),
  ]);
  assert.deepEqual(
    seen.map((e) => [e.name, e.ts, e.args.src, e.args.dst_port, e.args.conn_direction]),
    [
      ["net_flow_tcp_begin", ts(2.1), "198.51.100.7", 8080, "incoming"],
      ["net_flow_tcp_end", ts(2.2), "198.51.100.7", 8080, "incoming"],
    ],
  );
  // IPv6; an IPv4-mapped address prints as IPv4 (Go's net.IP) but is hashed as the 16 bytes it was
  const v6 = flowEvents([
    tcp6("fd00::1", 7000, "2001:db8::5", 443, SYN, 3),
    tcp6("2001:db8::5", 443, "fd00::1", 7000, SYN | ACK, 3.1),
  ]).seen;
  assert.deepEqual(
    v6.map((e) => [e.name, e.args.src, e.args.dst, e.args.community_id]),
    [
      ["net_flow_tcp_begin", "fd00::1", "2001:db8::5", communityId(6, "fd00::1", "2001:db8::5", 7000, 443)],
      ["net_flow_tcp_end", "fd00::1", "2001:db8::5", communityId(6, "fd00::1", "2001:db8::5", 7000, 443)],
    ],
  );
  const mapped = flowEvents([
    tcp6("::ffff:10.0.0.1", 7000, "::ffff:10.0.0.2", 80, SYN, 3),
    tcp6("::ffff:10.0.0.2", 80, "::ffff:10.0.0.1", 7000, SYN | ACK, 3.1),
  ]).seen;
  assert.equal(mapped[0].args.src, "10.0.0.1");
  assert.equal(mapped[0].args.community_id, communityId(6, "::ffff:10.0.0.1", "::ffff:10.0.0.2", 7000, 80));
  assert.notEqual(mapped[0].args.community_id, communityId(6, "10.0.0.1", "10.0.0.2", 7000, 80));
  assert.equal(isPrivateAddress("172.31.0.1"), true);
  assert.equal(isPrivateAddress("172.32.0.1"), false);
  assert.equal(isPrivateAddress("fd00::1"), true);
  assert.equal(isPrivateAddress("2001:db8::1"), false);
});

test("idle timeouts in capture time: a begun flow that goes quiet ends at the first packet past its timeout; the rest flush at the end", () => {
  const { seen, pipeline } = flowEvents([
    tcp4("10.0.0.1", 1000, "10.0.0.2", 80, SYN, 0),
    tcp4("10.0.0.2", 80, "10.0.0.1", 1000, SYN | ACK, 0.1),
    udp4("10.0.0.1", 5000, "10.0.0.3", 53, 1),
    udp4("10.0.0.3", 53, "10.0.0.1", 5000, 1.1),
    // a half-open flow: opening timeout (60 s)
    tcp4("10.0.0.1", 1001, "10.0.0.9", 80, SYN, 1.5),
    // 60.5 s later: the UDP flow (60 s) and the half-open one time out; the TCP flow (600 s) stays
    udp4("10.0.0.1", 5001, "10.0.0.3", 53, 62),
    // 601 s after its last packet the established TCP flow times out (and the second UDP flow)
    udp4("10.0.0.1", 5002, "10.0.0.3", 53, 601.2),
    // a begun flow still open at the end of the input ends there (the flush)
    tcp4("10.0.0.1", 1002, "10.0.0.2", 80, SYN, 700),
    tcp4("10.0.0.2", 80, "10.0.0.1", 1002, SYN | ACK, 700.5),
  ]);
  // (timeouts are checked once a second of capture time: the third UDP flow, idle since 601.2, is found at 700)
  assert.deepEqual(
    seen.map((e) => `${e.name} ${e.args.src_port} ${(e.ts / 1e9 - T0).toFixed(1)}`),
    [
      "net_flow_tcp_begin 1000 0.1",
      "net_flow_udp_begin 5000 1.0",
      "net_flow_udp_end 5000 62.0",
      "net_flow_udp_begin 5001 62.0",
      "net_flow_tcp_end 1000 601.2",
      "net_flow_udp_end 5001 601.2",
      "net_flow_udp_begin 5002 601.2",
      "net_flow_udp_end 5002 700.0",
      "net_flow_tcp_begin 1002 700.5",
      "net_flow_tcp_end 1002 700.5",
    ],
  );
  const st = pipeline.flows!.stats;
  assert.deepEqual(st.timedOut, { opening: 1, established: 1, closing: 0, udp: 3 });
  assert.equal(st.flushed, 1);
  assert.equal(pipeline.flows!.size, 0);
});

test("a full table evicts the oldest flow of the least valuable state first (closing, half-open, UDP, established), counted", () => {
  const pks: Pk[] = [
    // an established flow (begun), a closed one, a UDP one, then half-open ones
    tcp4("10.0.0.1", 1, "10.0.0.2", 80, SYN, 0),
    tcp4("10.0.0.2", 80, "10.0.0.1", 1, SYN | ACK, 0.1),
    tcp4("10.0.0.1", 2, "10.0.0.2", 80, SYN, 0.2),
    tcp4("10.0.0.2", 80, "10.0.0.1", 2, SYN | ACK, 0.3),
    tcp4("10.0.0.1", 2, "10.0.0.2", 80, FIN | ACK, 0.4),
    udp4("10.0.0.1", 3, "10.0.0.3", 53, 0.5),
    tcp4("10.0.0.1", 4, "10.0.0.2", 80, SYN, 0.6),
  ];
  // the table holds 4: each new half-open flow evicts first the closed one, then the oldest half-open ones, then UDP...
  for (let i = 0; i < 3; i++) pks.push(tcp4("10.0.0.1", 100 + i, "10.0.0.2", 80, SYN, 0.7 + i / 10));
  const { seen, pipeline } = flowEvents(pks, { maxFlows: 4, finish: false });
  const st = pipeline.flows!.stats;
  assert.equal(pipeline.flows!.size, 4);
  assert.deepEqual(st.evicted, { opening: 2, established: 0, closing: 1, udp: 0 });
  // the established flow is kept (its end comes at the flush); the evicted UDP flow would have ended then
  assert.deepEqual(
    seen.map((e) => `${e.name} ${e.args.src_port}`),
    ["net_flow_tcp_begin 1", "net_flow_tcp_begin 2", "net_flow_tcp_end 2", "net_flow_udp_begin 3"],
  );
  pipeline.onPacket(record(udp4("10.0.0.1", 7, "10.0.0.3", 53, 2).data, 2));
  pipeline.onPacket(record(udp4("10.0.0.1", 8, "10.0.0.3", 53, 2).data, 2));
  pipeline.onPacket(record(udp4("10.0.0.1", 9, "10.0.0.3", 53, 2).data, 2));
  // the two half-open ones went first, then the oldest UDP flow (3, which ends: evicted)
  assert.deepEqual(st.evicted, { opening: 4, established: 0, closing: 1, udp: 1 });
  assert.deepEqual(
    seen.slice(4).map((e) => `${e.name} ${e.args.src_port}`),
    ["net_flow_udp_begin 7", "net_flow_udp_begin 8", "net_flow_udp_end 3", "net_flow_udp_begin 9"],
  );
  // with nothing else left, the established flow goes too
  const one = flowEvents(
    [
      tcp4("10.0.0.1", 1, "10.0.0.2", 80, SYN, 0),
      tcp4("10.0.0.2", 80, "10.0.0.1", 1, SYN | ACK, 0.1),
      tcp4("10.0.0.1", 2, "10.0.0.2", 80, SYN, 0.2),
    ],
    {
      maxFlows: 1,
      finish: false,
    },
  );
  assert.deepEqual(one.pipeline.flows!.stats.evicted, { opening: 0, established: 1, closing: 0, udp: 0 });
  assert.deepEqual(
    one.seen.map((e) => `${e.name} ${e.args.src_port}`),
    ["net_flow_tcp_begin 1", "net_flow_tcp_end 1"],
  );
});

// ---- TCP reassembly for the parsers: out of order, bounded

/** a parser for the test: a direction starting "L" holds lines; each complete line is a record (its text as the method) */
const LINES: AppParser = {
  name: "lines",
  maxHold: 4096,
  detect: (b, off, end) => (end - off < 1 ? NEED_MORE : b[off] === 0x4c),
  parse(b, off, end, dir: StreamDirection, out: AppRecord[]) {
    const nl = Buffer.from(b.buffer, b.byteOffset + off, end - off).indexOf(10);
    if (nl < 0) return NEED_MORE;
    const line = Buffer.from(b.subarray(off, off + nl)).toString("latin1");
    out.push({
      t: "http",
      src: dir.src,
      dst: dir.dst,
      srcPort: dir.srcPort,
      dstPort: dir.dstPort,
      proto: 6,
      http: {
        direction: "request",
        method: line,
        protocol: "",
        host: "",
        uri_path: "",
        status: "",
        status_code: 0,
        headers: {},
        content_length: 0,
      },
    });
    return nl + 1;
  },
};

function linesOf(pks: Pk[], options: ConstructorParameters<typeof FlowTracker>[1] = {}): { lines: string[]; tracker: FlowTracker } {
  const tracker = new FlowTracker([LINES], options);
  const decoder = new Decoder();
  const lines: string[] = [];
  for (const pk of pks) {
    const p = decoder.decode(record(pk.data, pk.t));
    tracker.track(p);
    for (const r of p.records ?? []) if (r.t === "http") lines.push(`${r.srcPort}>${r.dstPort} ${r.http.method}`);
  }
  return { lines, tracker };
}

test("TCP reassembly: segments out of order are held and parsed once the gap fills; retransmissions and overlaps are cut", () => {
  const c = "10.0.0.1";
  const s = "10.0.0.2";
  const seg = (seq: number, text: string, t: number) => tcp4(c, 999, s, 7, ACK | PSH, t, seq, Buffer.from(text));
  const { lines, tracker } = linesOf([
    tcp4(c, 999, s, 7, SYN, 0, 100),
    tcp4(s, 7, c, 999, SYN | ACK, 0.1, 500),
    // "Lone\nLtwo\nLthree\n" in four segments: the 3rd, 2nd and 4th before the 1st; one retransmitted, one overlapping
    seg(101 + 8, "o\nLt", 1),
    seg(101 + 4, "\nLtw", 1.1),
    seg(101 + 4, "\nLtw", 1.2),
    seg(101 + 10, "Lthree\n", 1.3),
    seg(101, "Lone", 1.4),
    // the server's direction, in order
    tcp4(s, 7, c, 999, ACK | PSH, 1.5, 501, Buffer.from("Lreply\n")),
  ]);
  assert.deepEqual(lines, ["999>7 Lone", "999>7 Ltwo", "999>7 Lthree", "7>999 Lreply"]);
  assert.equal(tracker.stats.reordered, 3);
  assert.equal(tracker.stats.gaps, 0);
});

test("TCP reassembly: a gap never filled stops the direction once its out-of-order bound is reached (counted); the other direction goes on", () => {
  const c = "10.0.0.1";
  const s = "10.0.0.2";
  const pks: Pk[] = [
    tcp4(c, 999, s, 7, SYN, 0, 100),
    tcp4(s, 7, c, 999, SYN | ACK, 0.1, 500),
    tcp4(c, 999, s, 7, ACK | PSH, 0.2, 101, Buffer.from("Lfirst\n")),
  ];
  // bytes 108..109 never arrive; 5 segments after the gap fit the bound (4 segments), the 5th stops the direction
  for (let i = 0; i < 5; i++) pks.push(tcp4(c, 999, s, 7, ACK | PSH, 1 + i, 110 + i * 4, Buffer.from("Lxx\n")));
  pks.push(tcp4(c, 999, s, 7, ACK | PSH, 7, 108, Buffer.from("L\n")));
  pks.push(tcp4(s, 7, c, 999, ACK | PSH, 8, 501, Buffer.from("Lstill\n")));
  const { lines, tracker } = linesOf(pks, { oooSegments: 4 });
  assert.deepEqual(lines, ["999>7 Lfirst", "7>999 Lstill"]);
  assert.equal(tracker.stats.gaps, 1);
  assert.equal(tracker.stats.reordered, 4);
  // a bound in bytes (per direction) works alike
  const small = linesOf(pks, { oooBytes: 10 });
  assert.deepEqual(small.lines, ["999>7 Lfirst", "7>999 Lstill"]);
  assert.equal(small.tracker.stats.gaps, 1);
  assert.equal(small.tracker.stats.reordered, 2);
  // and when it is large enough, the late segment fills the gap and everything is parsed
  const big = linesOf(pks, { oooSegments: 8 });
  assert.deepEqual(big.lines, ["999>7 Lfirst", "999>7 L", "999>7 Lxx", "999>7 Lxx", "999>7 Lxx", "999>7 Lxx", "999>7 Lxx", "7>999 Lstill"]);
});

// ---- bounds under abuse

function gc(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** one IPv4 packet rewritten in place per flow: the input costs no heap */
function flood(proto: 6 | 17, n: number, pipeline: EventPipeline, sample: (i: number) => void): void {
  const base =
    proto === 6
      ? craft.ipv4({ src: "198.18.0.1", dst: "10.0.0.2", protocol: 6 }, craft.tcp({ srcPort: 1, dstPort: 80, flags: SYN, seq: 1 }))
      : craft.ipv4({ src: "198.18.0.1", dst: "10.0.0.2", protocol: 17 }, craft.udp({ srcPort: 1, dstPort: 5353 }, Buffer.from("q")));
  const rec = record(base, 0);
  for (let i = 0; i < n; i++) {
    // a distinct source address and port per packet (198.18.0.0/15: benchmarking space)
    base[13] = 18 + ((i >> 16) & 1);
    base[14] = (i >> 8) & 255;
    base[15] = i & 255;
    base.writeUInt16BE(1024 + (i % 60000), 20);
    rec.tsSec = T0 + Math.floor(i / 10000);
    rec.tsNsec = (i % 10000) * 100000;
    pipeline.onPacket(rec);
    if (i % 10000 === 0) sample(i);
  }
}

test("a SYN flood of 100,000 half-open flows: the table stays at its limit, every extra flow evicts one (counted), the heap stays bounded", () => {
  for (const max of [65536, 5000]) {
    gc();
    const before = process.memoryUsage().heapUsed;
    let events = 0;
    const pipeline = new EventPipeline(TCP_FLOW_EVENTS, "h", () => events++);
    pipeline.configureFlows({ maxFlows: max });
    let most = 0;
    flood(6, 100_000, pipeline, () => {
      most = Math.max(most, pipeline.flows!.size);
    });
    const f = pipeline.flows!;
    gc();
    const grew = process.memoryUsage().heapUsed - before;
    assert.equal(f.size, max);
    assert.ok(most <= max);
    assert.equal(f.stats.tcpFlows, 100_000);
    assert.equal(f.stats.evicted.opening, 100_000 - max);
    // no SYN-ACK: no flow event (Tracee's semantics), so a flood prints nothing
    assert.equal(events, 0);
    // 65536 half-open flows: a few hundred bytes each; a generous bound, not a measurement
    assert.ok(grew < 96 * 1024 * 1024, `heap grew ${(grew / 1048576).toFixed(1)} MiB for ${max} flows`);
    pipeline.finish();
    assert.equal(f.size, 0);
  }
});

test("a UDP flood from distinct source ports: the table stays at its limit, each new flow evicts the oldest (its end event)", () => {
  gc();
  const before = process.memoryUsage().heapUsed;
  const counts = new Map<string, number>();
  const pipeline = new EventPipeline(UDP_FLOW_EVENTS, "h", (ev) => counts.set(ev.eventName, (counts.get(ev.eventName) ?? 0) + 1));
  pipeline.configureFlows({ maxFlows: 20_000 });
  flood(17, 100_000, pipeline, () => assert.ok(pipeline.flows!.size <= 20_000));
  const f = pipeline.flows!;
  assert.equal(f.size, 20_000);
  assert.equal(f.stats.evicted.udp, 80_000);
  // (10 s of capture time: no UDP flow timed out)
  assert.equal(f.stats.timedOut.udp, 0);
  assert.equal(counts.get("net_flow_udp_begin"), 100_000);
  assert.equal(counts.get("net_flow_udp_end"), 80_000);
  gc();
  const grew = process.memoryUsage().heapUsed - before;
  assert.ok(grew < 64 * 1024 * 1024, `heap grew ${(grew / 1048576).toFixed(1)} MiB`);
  pipeline.finish();
  assert.equal(counts.get("net_flow_udp_end"), 100_000);
});

test("--max-flows and --dns-cache-size: options and config keys, checked; the summary counts what the bound evicted", () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-flowopts-"));
  try {
    const pks = [
      tcp4("10.0.0.1", 1, "10.0.0.2", 80, SYN, 0),
      tcp4("10.0.0.1", 2, "10.0.0.2", 80, SYN, 1),
      tcp4("10.0.0.1", 3, "10.0.0.2", 80, SYN, 2),
    ];
    const file = craft.writePcap(
      join(dir, "syns.pcap"),
      LinkType.RAW,
      pks.map((p) => ({ data: p.data, tsSec: T0 + p.t, tsUsec: 0 })),
    );
    const bad = netsig(["replay", file, "--max-flows", "0"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-flows must be a whole number from 1 to/);
    assert.match(netsig(["replay", file, "--dns-cache-size", "x"]).stderr, /--dns-cache-size must be a whole number/);
    writeFileSync(join(dir, "netsig.yaml"), "max-flows: 2\ndns-cache-size: 10\nevents: net_flow_tcp_begin\n");
    const r = netsig(["replay", file, "--config", join(dir, "netsig.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /flows: 3 TCP, 0 UDP, 1 evicted \(table full: --max-flows 2\), 2 open at the end/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
