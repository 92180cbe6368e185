// Layer decoders on crafted packets: each test states the bytes on the wire
// and what netsig must make of them.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LinkType } from "../engine/capture/types";
import { Decoder } from "../engine/decode/decoder";
import { ipv6String } from "../engine/decode/ipaddr";
import { Ev } from "../engine/types/events";
import * as craft from "../tools/lib/craft";
import { eventsOf } from "./lib/run";

const A_QUERY = craft.dns({ type: "query", id: 7, flags: 1 << 8, questions: [{ type: "A", name: "www.netsig.test" }] });
const A_RESPONSE = craft.dns({
  type: "response",
  id: 7,
  flags: (1 << 8) | (1 << 7),
  questions: [{ type: "A", name: "www.netsig.test" }],
  answers: [{ type: "A", name: "www.netsig.test", ttl: 60, data: "10.0.0.1" }],
});

function udpDns(msg: Buffer, v6 = false): Buffer {
  const seg = craft.udp({ srcPort: 40000, dstPort: 53 }, msg);
  return v6
    ? craft.ipv6({ src: "::1", dst: "::1", nextHeader: 17 }, seg)
    : craft.ipv4({ src: "127.0.0.1", dst: "127.0.0.1", protocol: 17 }, seg);
}

function kinds(out: { kind: Ev }[]): Ev[] {
  return out.map((e) => e.kind);
}

test("Ethernet, 802.1Q and 802.1ad+802.1Q (QinQ) all reach the DNS layer", () => {
  for (const vlans of [[], [100], [200, 2001]]) {
    const frame = craft.ethernet(udpDns(A_QUERY), 0x0800, vlans);
    if (vlans.length === 2) frame.writeUInt16BE(0x88a8, 12); // outer S-tag
    const { out } = eventsOf(LinkType.ETHERNET, [{ data: frame }]);
    assert.deepEqual(kinds(out), [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSRequest], `vlans ${vlans}`);
  }
});

test("Linux cooked SLL and SLL2 headers", () => {
  const ip = udpDns(A_QUERY);
  const sll = Buffer.alloc(16);
  sll.writeUInt16BE(0x0800, 14);
  const sll2 = Buffer.alloc(20);
  sll2.writeUInt16BE(0x0800, 0);
  assert.deepEqual(kinds(eventsOf(LinkType.LINUX_SLL, [{ data: Buffer.concat([sll, ip]) }]).out), [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSRequest]);
  assert.deepEqual(kinds(eventsOf(LinkType.LINUX_SLL2, [{ data: Buffer.concat([sll2, ip]) }]).out), [
    Ev.IPv4,
    Ev.UDP,
    Ev.DNS,
    Ev.DNSRequest,
  ]);
});

test("BSD loopback NULL in either byte order, and LOOP", () => {
  const ip6 = udpDns(A_QUERY, true);
  for (const [family, le] of [
    [2, true],
    [2, false],
    [30, true],
    [24, false],
    [28, true],
  ] as const) {
    const h = Buffer.alloc(4);
    if (le) h.writeUInt32LE(family);
    else h.writeUInt32BE(family);
    const payload = family === 2 ? udpDns(A_QUERY) : ip6;
    const { out } = eventsOf(LinkType.NULL, [{ data: Buffer.concat([h, payload]) }]);
    assert.equal(out[0].kind, family === 2 ? Ev.IPv4 : Ev.IPv6, `family ${family} ${le ? "LE" : "BE"}`);
  }
  const loop = Buffer.alloc(4);
  loop.writeUInt32BE(2);
  assert.equal(eventsOf(LinkType.LOOP, [{ data: Buffer.concat([loop, udpDns(A_QUERY)]) }]).out[0].kind, Ev.IPv4);
});

test("raw IPv4/IPv6 link types", () => {
  assert.equal(eventsOf(LinkType.RAW, [{ data: udpDns(A_QUERY, true) }]).out[0].kind, Ev.IPv6);
  assert.equal(eventsOf(LinkType.IPV4, [{ data: udpDns(A_QUERY) }]).out[0].kind, Ev.IPv4);
  assert.equal(eventsOf(LinkType.IPV6, [{ data: udpDns(A_QUERY, true) }]).out[0].kind, Ev.IPv6);
});

test("IPv4 options are skipped; Ethernet padding is not payload", () => {
  const seg = craft.udp({ srcPort: 40000, dstPort: 53 }, A_QUERY);
  const ip = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, options: Buffer.from([148, 4, 0, 0]) }, seg);
  const frame = Buffer.concat([craft.ethernet(ip), Buffer.alloc(20, 0xee)]); // trailer padding
  const { out } = eventsOf(LinkType.ETHERNET, [{ data: frame }]);
  const v4 = out[0].ev.args[2].value as { IHL: number; length: number };
  assert.equal(v4.IHL, 6);
  assert.equal(v4.length, 24 + 8 + A_QUERY.length);
  assert.deepEqual(kinds(out), [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSRequest]);
});

test("IPv4 fragments: each gives its IP event; the one completing the datagram gives the transport and DNS events", () => {
  const seg = craft.udp({ srcPort: 53, dstPort: 40000 }, A_RESPONSE);
  const first = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, flags: 1, fragOffset: 0 }, seg.subarray(0, 16));
  const later = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, flags: 0, fragOffset: 2 }, seg.subarray(16));
  const { out, pipeline } = eventsOf(LinkType.RAW, [{ data: first }, { data: later }]);
  assert.deepEqual(kinds(out), [Ev.IPv4, Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSResponse]);
  assert.equal(pipeline.decoder.stats.fragments, 2);
  assert.equal(pipeline.decoder.stats.laterFragments, 1);
  assert.equal(pipeline.decoder.stats.reassembled, 1);
  // the IP event is the fragment's own header; the UDP event the reassembled datagram's
  assert.equal((out[1].ev.args[2].value as { fragOffset: number }).fragOffset, 2);
  assert.equal((out[2].ev.args[2].value as { length: number }).length, seg.length);
  // a first fragment alone: its IP event only
  assert.deepEqual(kinds(eventsOf(LinkType.RAW, [{ data: first }]).out), [Ev.IPv4]);
});

test("IPv6 extension headers: hop-by-hop, destination options, routing, then fragment and UDP", () => {
  const seg = craft.udp({ srcPort: 40000, dstPort: 53 }, A_QUERY);
  const hop = Buffer.from([60, 0, 1, 4, 0, 0, 0, 0]); // next: dest opts, PadN
  const dst = Buffer.from([43, 0, 1, 4, 0, 0, 0, 0]); // next: routing
  const rt = Buffer.from([17, 0, 0, 0, 0, 0, 0, 0]); // next: UDP, type 0, segments left 0
  const ip = craft.ipv6({ src: "2001:db8::1", dst: "2001:db8::2", nextHeader: 0 }, Buffer.concat([hop, dst, rt, seg]));
  const { out } = eventsOf(LinkType.RAW, [{ data: ip }]);
  assert.deepEqual(kinds(out), [Ev.IPv6, Ev.UDP, Ev.DNS, Ev.DNSRequest]);
  const v6 = out[0].ev.args[2].value as { nextHeader: string; length: number };
  assert.equal(v6.length, 24 + seg.length, "length is the payload length field");
  // a later IPv6 fragment (its first never came): no transport
  const frag = Buffer.from([17, 0, 0, 0x10, 0, 0, 0, 1]); // offset 2 (16 bytes), M=0
  const later = craft.ipv6({ src: "2001:db8::1", dst: "2001:db8::2", nextHeader: 44 }, Buffer.concat([frag, Buffer.alloc(16)]));
  assert.deepEqual(kinds(eventsOf(LinkType.RAW, [{ data: later }]).out), [Ev.IPv6]);
});

test("IPv6 text form is Go's: longest zero run, first on a tie, IPv4-mapped as IPv4", () => {
  const b = (s: string) => craft.ipBytes(s);
  assert.equal(ipv6String(b("2001:db8:0:0:1:0:0:1"), 0), "2001:db8::1:0:0:1");
  assert.equal(ipv6String(b("2001:0:0:1:0:0:0:1"), 0), "2001:0:0:1::1");
  assert.equal(ipv6String(b("::1"), 0), "::1");
  assert.equal(ipv6String(b("::"), 0), "::");
  assert.equal(ipv6String(b("fe80::"), 0), "fe80::");
  assert.equal(ipv6String(b("2001:db8:1:1:1:1:0:1"), 0), "2001:db8:1:1:1:1:0:1", "a single zero group is not shortened");
  assert.equal(ipv6String(b("::ffff:10.1.2.3"), 0), "10.1.2.3");
  assert.equal(ipv6String(b("fd6e:a63d:71f:2000::1"), 0), "fd6e:a63d:71f:2000::1");
});

test("UDP length bounds the payload (zlip trap): length 8 means no DNS message", () => {
  const seg = craft.udp({ srcPort: 40000, dstPort: 53, length: 8 }, A_QUERY);
  const { out, pipeline } = eventsOf(LinkType.RAW, [{ data: craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17 }, seg) }]);
  assert.deepEqual(kinds(out), [Ev.IPv4, Ev.UDP]);
  assert.equal(pipeline.decoder.stats.malformedDns, 1, "a 0-byte DNS message is malformed");
});

test("malformed DNS: pointer loop, forward pointer, truncated record, absurd counts are counted, never fatal", () => {
  const header = (qd: number, an = 0) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(1, 0);
    h.writeUInt16BE(qd, 4);
    h.writeUInt16BE(an, 6);
    return h;
  };
  const cases = [
    Buffer.concat([header(1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), // pointer to itself
    Buffer.concat([header(1), Buffer.from([0xc0, 0x0e, 0xc0, 0x0c, 0, 1, 0, 1])]), // A->B->A
    Buffer.concat([header(1), Buffer.from([0xc0, 0x20, 0, 1, 0, 1]), Buffer.alloc(30)]), // forward pointer
    A_RESPONSE.subarray(0, A_RESPONSE.length - 2), // last record truncated
    Buffer.concat([header(65535, 65535), Buffer.alloc(10)]), // counts that cannot fit
    Buffer.concat([header(1), Buffer.from([63]), Buffer.alloc(10)]), // label runs past the end
  ];
  const packets = cases.map((m) => ({ data: udpDns(m) }));
  const { out, pipeline } = eventsOf(LinkType.RAW, packets);
  assert.equal(pipeline.decoder.stats.malformedDns, cases.length);
  assert.equal(out.filter((e) => e.kind === Ev.DNS).length, 0);
  assert.equal(out.filter((e) => e.kind === Ev.UDP).length, cases.length, "the UDP layer is still reported");
});

test("DNS over TCP: one message split across three segments, length prefix split too", () => {
  const framed = Buffer.concat([Buffer.from([A_RESPONSE.length >> 8, A_RESPONSE.length & 0xff]), A_RESPONSE]);
  const seg = (seq: number, payload: Buffer, flags = 0x18) =>
    craft.ipv4({ src: "127.0.0.1", dst: "127.0.0.1", protocol: 6 }, craft.tcp({ srcPort: 53, dstPort: 41000, seq, flags }, payload));
  const syn = craft.ipv4(
    { src: "127.0.0.1", dst: "127.0.0.1", protocol: 6 },
    craft.tcp({ srcPort: 53, dstPort: 41000, seq: 999, flags: 0x12 }),
  );
  const parts = [framed.subarray(0, 1), framed.subarray(1, 20), framed.subarray(20)];
  const packets = [
    { data: syn },
    { data: seg(1000, parts[0]) },
    { data: seg(1001, parts[1]) },
    { data: seg(1001, parts[1]) }, // a retransmission is ignored
    { data: seg(1020, parts[2]) },
  ];
  const { out } = eventsOf(LinkType.RAW, packets);
  const dns = out.filter((e) => e.kind === Ev.DNS);
  assert.equal(dns.length, 1, "one message, emitted once");
  assert.equal(out.indexOf(dns[0]), out.length - 2, "on the segment that completed it");
  const resp = out.find((e) => e.kind === Ev.DNSResponse)!;
  const meta = resp.ev.args[0].value as { protocol: number; src_port: number };
  assert.equal(meta.protocol, 6);
  assert.equal(meta.src_port, 53);
});

test("DNS over TCP: two messages in one segment give two DNS events", () => {
  const framed = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
  const payload = Buffer.concat([framed(A_QUERY), framed(A_QUERY)]);
  const ip = craft.ipv4(
    { src: "127.0.0.1", dst: "127.0.0.1", protocol: 6 },
    craft.tcp({ srcPort: 41000, dstPort: 53, seq: 1, flags: 0x18 }, payload),
  );
  const { out } = eventsOf(LinkType.RAW, [{ data: ip }]);
  assert.deepEqual(kinds(out), [Ev.IPv4, Ev.TCP, Ev.DNS, Ev.DNSRequest, Ev.DNS, Ev.DNSRequest]);
});

test("DNS over TCP memory is bounded: flows beyond the cap are evicted and counted", () => {
  const d = new Decoder();
  const big = Buffer.from([0x40, 0x00, 1, 2, 3]); // announces a 16 KiB message, sends 3 bytes
  for (let port = 1; port <= 5000; port++) {
    const ip = craft.ipv4(
      { src: "127.0.0.1", dst: "127.0.0.1", protocol: 6 },
      craft.tcp({ srcPort: 53, dstPort: port, seq: 1, flags: 0x18 }, big),
    );
    d.decode({
      tsSec: 0,
      tsNsec: 0,
      linkType: LinkType.RAW,
      iface: "",
      buf: ip,
      offset: 0,
      caplen: ip.length,
      origLen: ip.length,
      fileOffset: 0,
    });
  }
  assert.ok(d.tcpDns.flowCount <= 4096, `flows ${d.tcpDns.flowCount}`);
  assert.ok(d.tcpDns.bytesHeld <= 16 << 20, `bytes ${d.tcpDns.bytesHeld}`);
  assert.ok(d.tcpDns.stats.flowsEvicted > 0);
});

test("mDNS (5353) and LLMNR (5355) are decoded as DNS; other ports are not", () => {
  const on = (port: number) =>
    craft.ipv4({ src: "10.0.0.1", dst: "224.0.0.251", protocol: 17 }, craft.udp({ srcPort: port, dstPort: port }, A_QUERY));
  assert.ok(kinds(eventsOf(LinkType.RAW, [{ data: on(5353) }]).out).includes(Ev.DNS));
  assert.ok(kinds(eventsOf(LinkType.RAW, [{ data: on(5355) }]).out).includes(Ev.DNS));
  assert.ok(!kinds(eventsOf(LinkType.RAW, [{ data: on(5354) }]).out).includes(Ev.DNS));
});

test("truncated headers are malformed, not fatal, at every cut of a packet", () => {
  const frame = craft.ethernet(udpDns(A_RESPONSE));
  const d = new Decoder();
  for (let cut = 0; cut < frame.length; cut++) {
    d.decode({
      tsSec: 0,
      tsNsec: 0,
      linkType: LinkType.ETHERNET,
      iface: "",
      buf: frame,
      offset: 0,
      caplen: cut,
      origLen: frame.length,
      fileOffset: 0,
    });
  }
  assert.equal(d.stats.packets, frame.length);
  assert.ok(d.stats.malformed > 0);
});

test("only the asked-for events are built, and DNS is not decoded when no DNS event is wanted", () => {
  const { out, pipeline } = eventsOf(LinkType.RAW, [{ data: udpDns(A_QUERY) }], 1 << Ev.UDP);
  assert.deepEqual(kinds(out), [Ev.UDP]);
  assert.equal(pipeline.decoder.stats.dns, 0);
});
