// Crafted packets for the differential test: the corners the corpus (test/corpus)
// does not reach (odd label bytes, IPv4-mapped AAAA, TTLs with the top bit set,
// every RDATA shape netsig prints, mDNS/LLMNR bits, EDNS extended RCODE, TCP
// flags and options, ICMP types whose bytes 4-7 are not id/seq, IPv6
// extension headers, fragmented datagrams), written as pcaps that tshark and
// netsig both read.

import * as craft from "../../tools/lib/craft";

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** a DNS name on the wire from its labels (strings are UTF-8, Buffers raw) and an optional trailing pointer */
export function dnsName(labels: (string | Buffer)[], pointer?: number): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = typeof l === "string" ? Buffer.from(l, "utf8") : l;
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(pointer === undefined ? Buffer.from([0]) : u16(0xc000 | pointer));
  return Buffer.concat(parts);
}

export function question(name: Buffer, type: number, klass = 1): Buffer {
  return Buffer.concat([name, u16(type), u16(klass)]);
}

export function record(name: Buffer, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  return Buffer.concat([name, u16(type), u16(klass), u32(ttl), u16(rdata.length), rdata]);
}

export function message(id: number, flags: number, qd: Buffer[], an: Buffer[] = [], ns: Buffer[] = [], ar: Buffer[] = []): Buffer {
  return Buffer.concat([u16(id), u16(flags), u16(qd.length), u16(an.length), u16(ns.length), u16(ar.length), ...qd, ...an, ...ns, ...ar]);
}

const charStrings = (...s: (string | Buffer)[]): Buffer =>
  Buffer.concat(
    s.map((x) => {
      const b = typeof x === "string" ? Buffer.from(x, "utf8") : x;
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );

const ip4 = (s: string): Buffer => craft.ipBytes(s);
const ip6 = (s: string): Buffer => craft.ipBytes(s);

const A = "10.0.0.1",
  B = "10.0.0.2";
const eth4 = (proto: number, l4: Buffer, f: Partial<craft.IPv4Fields> = {}): Buffer =>
  craft.ethernet(craft.ipv4({ src: A, dst: B, protocol: proto, ...f }, l4));
const eth6 = (next: number, payload: Buffer, f: Partial<craft.IPv6Fields> = {}): Buffer =>
  craft.ethernet(craft.ipv6({ src: "2001:db8::1", dst: "2001:db8::2", nextHeader: next, ...f }, payload), 0x86dd);
const udp4 = (sport: number, dport: number, msg: Buffer): Buffer =>
  eth4(17, craft.udp({ srcPort: sport, dstPort: dport, checksum: 0x1234 }, msg));

/** the response with every RDATA shape and odd text netsig handles */
function zooResponse(): Buffer {
  const q = dnsName(["we.ird", "sp ace", "back\\slash", "café", Buffer.from([0x41, 0xff, 0x42]), "test"]);
  const at12 = dnsName([], 12); // pointer to the question name
  const zone = dnsName(["zone", "test"]);
  const opt = Buffer.concat([
    u16(10),
    u16(8),
    Buffer.from("0102030405060708", "hex"), // cookie
    u16(65001),
    u16(4),
    Buffer.from([0x61, 0xe9, 0xff, 0x7f]), // unknown, with bytes that are not UTF-8
    u16(3),
    u16(0), // NSID, empty
  ]);
  return message(
    0xbeef,
    0x8580 | 0x20 | 0x10,
    [question(q, 1)],
    [
      record(at12, 1, 1, 300, ip4("192.0.2.1")),
      record(at12, 28, 1, 0x80000001, ip6("::ffff:198.51.100.7")),
      record(at12, 28, 1, 7, ip6("2001:db8:0:0:1:0:0:1")),
      record(at12, 28, 1, 7, ip6("fe80::")),
      record(at12, 5, 1, 60, dnsName(["alias"], 12)),
      record(zone, 2, 1, 60, dnsName(["ns1", "zone", "test"])),
      record(dnsName(["1", "2", "0", "192", "in-addr", "arpa"]), 12, 1, 60, dnsName(["host", "zone", "test"])),
      record(zone, 15, 1, 60, Buffer.concat([u16(10), dnsName(["mx", "zone", "test"])])),
      record(
        zone,
        6,
        1,
        60,
        Buffer.concat([
          dnsName(["ns1", "zone", "test"]),
          dnsName(["john.doe", "zone", "test"]),
          u32(2024010101),
          u32(7200),
          u32(3600),
          u32(1209600),
          u32(300),
        ]),
      ),
      record(
        dnsName(["_sip", "_tcp", "zone", "test"]),
        33,
        1,
        60,
        Buffer.concat([u16(10), u16(20), u16(5060), dnsName(["sip", "zone", "test"])]),
      ),
      record(zone, 16, 1, 60, charStrings("", "v=spf1 -all", "x".repeat(200), 'quote" back\\ <html> & tab\t')),
      record(zone, 13, 1, 60, charStrings("INTEL", "LINUX")),
      record(zone, 256, 1, 60, Buffer.concat([u16(1), u16(2), Buffer.from("https://zone.test/")])),
      record(zone, 257, 1, 60, Buffer.concat([Buffer.from([0, 5]), Buffer.from("issueca.test")])), // CAA: gopacket "Unknown"
      record(zone, 10, 1, 60, Buffer.from([0, 1, 2, 0xff])), // NULL
      record(zone, 16, 1, 60, Buffer.alloc(0)), // TXT without strings
      record(zone, 15, 1, 60, Buffer.concat([u16(0), dnsName([])])), // "null MX" (RFC 7505): the root
      record(dnsName(["plain", "zone", "test"]), 33, 1, 60, Buffer.concat([u16(0), u16(0), u16(0), dnsName([])])), // SRV, plain owner, root target
    ],
    [
      record(
        zone,
        6,
        1,
        60,
        Buffer.concat([dnsName(["ns1", "zone", "test"]), dnsName(["hostmaster", "zone", "test"]), u32(1), u32(2), u32(3), u32(4), u32(5)]),
      ),
    ],
    [
      record(dnsName([]), 41, 1232, (1 << 24) | (0 << 16) | 0x8000, opt), // extended RCODE 1 (with header 0: BADVERS), DO
    ],
  );
}

/** a name of exactly 255 octets on the wire (the most RFC 1035 allows), and one of 256 */
function longName(wire: number): Buffer {
  const labels: string[] = [];
  let left = wire - 1; // the root's zero byte
  while (left > 0) {
    const n = Math.min(63, left - 1);
    labels.push("a".repeat(n));
    left -= n + 1;
  }
  return dnsName(labels);
}

/** hop-by-hop, destination options and an atomic fragment header (offset 0, M=0) before UDP */
function v6Chain(udpSeg: Buffer): Buffer {
  const hop = Buffer.from([60, 0, 1, 4, 0, 0, 0, 0]);
  const dst = Buffer.from([44, 0, 1, 4, 0, 0, 0, 0]);
  const frag = Buffer.from([17, 0, 0, 0, 0, 0, 0x12, 0x34]);
  return Buffer.concat([hop, dst, frag, udpSeg]);
}

export function edgeCasePackets(): craft.PcapPacket[] {
  const q1 = message(0x0101, 0x0100, [question(dnsName(["www", "example", "test"]), 1)]);
  const frames: Buffer[] = [
    // 1: the zoo
    udp4(53, 40000, zooResponse()),
    // 2: opcode STATUS, TC, Z/AD/CD bits, class CH, type ANY
    udp4(40000, 53, message(2, (2 << 11) | 0x0200 | 0x0100 | 0x0070, [question(dnsName(["version", "bind"]), 255, 3)])),
    // 3: class HS and NONE, several questions (no dns_request: it needs exactly one)
    udp4(40001, 53, message(3, 0, [question(dnsName(["a", "test"]), 1, 4), question(dnsName(["b", "test"]), 28, 254)])),
    // 4, 5: mDNS query with the QU bit, answer with the cache-flush bit
    udp4(5353, 5353, message(0, 0, [question(dnsName(["printer", "local"]), 1, 0x8001)])),
    udp4(5353, 5353, message(0, 0x8400, [], [record(dnsName(["printer", "local"]), 1, 0x8001, 120, ip4("10.0.0.9"))])),
    // 6: LLMNR
    udp4(49152, 5355, message(6, 0, [question(dnsName(["wpad"]), 1)])),
    // 7, 8: the longest legal name, and one octet more
    udp4(40002, 53, message(7, 0x0100, [question(longName(255), 1)])),
    udp4(40003, 53, message(8, 0x0100, [question(longName(256), 1)])),
    // 9: UDP length shorter than the datagram: the DNS message ends where UDP says
    eth4(17, Buffer.concat([craft.udp({ srcPort: 40004, dstPort: 53, length: 8 + q1.length, checksum: 0 }, q1), Buffer.from("trailing")])),
    // 10: DNS over TCP, two messages in one segment
    eth4(
      6,
      craft.tcp(
        { srcPort: 40005, dstPort: 53, seq: 0xfffffff0, ack: 0x80000000, flags: 0x18, window: 512 },
        Buffer.concat([u16(q1.length), q1, u16(q1.length), q1]),
      ),
    ),
    // 11: IPv4 options (record route), TOS, DF, TTL 1; TCP with NS, CWR, ECE, URG, SYN, urgent pointer, options
    eth4(
      6,
      craft.tcp({
        srcPort: 1,
        dstPort: 65535,
        seq: 1,
        ack: 2,
        flags: 0x100 | 0x80 | 0x40 | 0x20 | 0x02,
        urgent: 7,
        window: 1234,
        dataOffset: 6,
        checksum: 0xfeed,
      }),
      { tos: 0xb9, id: 0xbeef, ttl: 1, flags: 2, options: Buffer.from([7, 7, 4, 0, 0, 0, 0, 1]) },
    ),
    // 12: a first IPv4 fragment (MF) carrying a UDP header: only the IPv4 event
    eth4(17, craft.udp({ srcPort: 53, dstPort: 40006, length: 400, checksum: 0 }, Buffer.alloc(64)), { flags: 1, id: 77 }),
    // 13: the last fragment, which completes it: the IPv4 event, then UDP (its length field says more than there is) and DNS
    eth4(17, Buffer.alloc(64), { flags: 0, fragOffset: 9, id: 77 }),
    // 14-17: ICMP echo, redirect (bytes 4-7 are the gateway), fragmentation needed (MTU), timestamp request
    eth4(1, craft.icmp({ type: 8, code: 0, id: 0x1234, seq: 0x5678, checksum: 0xabcd }, Buffer.alloc(8))),
    eth4(1, Buffer.concat([Buffer.from([5, 1, 0x12, 0x34]), ip4("10.9.8.7"), Buffer.alloc(28)])),
    eth4(1, craft.icmp({ type: 3, code: 4, id: 0, seq: 1400, checksum: 0x4321 }, Buffer.alloc(28))),
    eth4(1, craft.icmp({ type: 13, code: 0, id: 9, seq: 10 }, Buffer.alloc(12))),
    // 18, 19: ICMPv6 echo request and neighbour solicitation
    eth6(58, craft.icmp({ type: 128, code: 0, id: 1, seq: 2, checksum: 0x1111 }, Buffer.alloc(4)), {
      trafficClass: 0xa5,
      flowLabel: 0xbcdef,
      hopLimit: 255,
    }),
    eth6(58, Buffer.concat([Buffer.from([135, 0, 0x22, 0x22, 0, 0, 0, 0]), ip6("2001:db8::2")]), { hopLimit: 255 }),
    // 20: IPv6 extension headers (hop-by-hop, destination options, atomic fragment) before UDP/DNS
    eth6(0, v6Chain(craft.udp({ srcPort: 40007, dstPort: 53, checksum: 0x7777 }, q1))),
    // 21: IPv4-mapped IPv6 addresses in the IPv6 header itself
    craft.ethernet(
      craft.ipv6({ src: "::ffff:10.1.2.3", dst: "::1", nextHeader: 17 }, craft.udp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(4))),
      0x86dd,
    ),
    // 22: QinQ (802.1ad + 802.1Q) around IPv4/UDP
    (() => {
      const f = craft.ethernet(
        craft.ipv4({ src: A, dst: B, protocol: 17 }, craft.udp({ srcPort: 7, dstPort: 9 }, Buffer.alloc(2))),
        0x0800,
        [200, 2001],
      );
      f.writeUInt16BE(0x88a8, 12);
      return f;
    })(),
  ];
  return frames.map((data, i) => ({ tsSec: 1700000000 + i, tsUsec: (i * 12345) % 1000000, data }));
}

/** one crafted capture per link type netsig reads: LOOP (108) has no capture in the corpus at all */
export interface CraftedCapture {
  name: string;
  linkType: number;
  packets: craft.PcapPacket[];
}

const stamp = (frames: Buffer[], base: number): craft.PcapPacket[] => frames.map((data, i) => ({ tsSec: base + i, tsUsec: i, data }));

function family(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v);
  else b.writeUInt32BE(v);
  return b;
}

export function linkTypeCaptures(): CraftedCapture[] {
  const q = message(9, 0x0100, [question(dnsName(["link", "test"]), 28)]);
  const v4 = craft.ipv4({ src: "192.0.2.1", dst: "192.0.2.53", protocol: 17 }, craft.udp({ srcPort: 33000, dstPort: 53 }, q));
  const v6 = craft.ipv6({ src: "2001:db8::a", dst: "2001:db8::35", nextHeader: 17 }, craft.udp({ srcPort: 33001, dstPort: 53 }, q));
  const sll = (proto: number): Buffer => {
    const h = Buffer.alloc(16);
    h.writeUInt16BE(4, 0);
    h.writeUInt16BE(1, 2);
    h.writeUInt16BE(6, 4);
    h.writeUInt16BE(proto, 14);
    return h;
  };
  const sll2 = (proto: number): Buffer => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(proto, 0);
    h.writeUInt32BE(3, 4);
    h.writeUInt16BE(1, 8);
    h[10] = 4;
    h[11] = 6;
    return h;
  };
  return [
    // BSD loopback: the family in the writer's byte order; AF_INET6 is 24, 28 or 30 depending on the BSD
    {
      name: "null.pcap",
      linkType: 0,
      packets: stamp(
        [
          Buffer.concat([family(2, true), v4]),
          Buffer.concat([family(2, false), v4]),
          Buffer.concat([family(24, true), v6]),
          Buffer.concat([family(28, true), v6]),
          Buffer.concat([family(30, false), v6]),
        ],
        1700001000,
      ),
    },
    // OpenBSD loopback: always network byte order
    {
      name: "loop.pcap",
      linkType: 108,
      packets: stamp([Buffer.concat([family(2, false), v4]), Buffer.concat([family(24, false), v6])], 1700002000),
    },
    { name: "raw.pcap", linkType: 101, packets: stamp([v4, v6], 1700003000) },
    { name: "ipv4.pcap", linkType: 228, packets: stamp([v4], 1700004000) },
    { name: "ipv6.pcap", linkType: 229, packets: stamp([v6], 1700005000) },
    { name: "sll.pcap", linkType: 113, packets: stamp([Buffer.concat([sll(0x0800), v4]), Buffer.concat([sll(0x86dd), v6])], 1700006000) },
    {
      name: "sll2.pcap",
      linkType: 276,
      packets: stamp([Buffer.concat([sll2(0x0800), v4]), Buffer.concat([sll2(0x86dd), v6])], 1700007000),
    },
  ];
}

/** IPv6 header chains: AH before TCP, routing before ICMPv6, destination options then "no next header" */
export function ipv6ChainPackets(): craft.PcapPacket[] {
  const e6 = (next: number, payload: Buffer): Buffer =>
    craft.ethernet(craft.ipv6({ src: "2001:db8::1", dst: "2001:db8::2", nextHeader: next }, payload), 0x86dd);
  const ah = Buffer.concat([Buffer.from([6, 4, 0, 0]), Buffer.alloc(20, 0xaa)]); // payload length 4: (4+2)*4 = 24 bytes
  const routing = Buffer.from([58, 2, 0, 1, 0, 0, 0, 0, ...craft.ipBytes("2001:db8::99")]); // type 0, one address
  const dstNone = Buffer.from([59, 0, 1, 4, 0, 0, 0, 0]);
  return stamp(
    [
      e6(51, Buffer.concat([ah, craft.tcp({ srcPort: 443, dstPort: 50000, seq: 7, ack: 8, flags: 0x11, window: 9 })])),
      e6(43, Buffer.concat([routing, craft.icmp({ type: 129, code: 0, id: 3, seq: 4, checksum: 0x5555 })])),
      e6(60, Buffer.concat([dstNone, Buffer.alloc(8)])),
    ],
    1700008000,
  );
}

/**
 * DNS over TCP the hard ways: a retransmitted segment, the length prefix split
 * 1 + rest, a message joined mid-stream (no SYN seen), and a segment that
 * completes one message and carries the whole next one.
 */
export function tcpDnsPackets(): craft.PcapPacket[] {
  const m1 = message(
    0x1111,
    0x8180,
    [question(dnsName(["one", "test"]), 1)],
    [record(dnsName([], 12), 1, 1, 30, craft.ipBytes("192.0.2.11"))],
  );
  const m2 = message(
    0x2222,
    0x8180,
    [question(dnsName(["two", "test"]), 16)],
    [record(dnsName([], 12), 16, 1, 30, charStrings("hello", "world"))],
  );
  const m3 = message(0x3333, 0x0100, [question(dnsName(["three", "test"]), 28)]);
  const framed = (m: Buffer): Buffer => Buffer.concat([u16(m.length), m]);
  const stream = Buffer.concat([framed(m1), framed(m2), framed(m3)]);
  const seg = (seq: number, payload: Buffer, flags = 0x18, sport = 53, dport = 41000): Buffer =>
    craft.ethernet(
      craft.ipv4(
        { src: "192.0.2.53", dst: "192.0.2.1", protocol: 6 },
        craft.tcp({ srcPort: sport, dstPort: dport, seq, ack: 1, flags }, payload),
      ),
    );
  const isn = 1000;
  const a = 1 + 10,
    b = 1 + m1.length + 2 + 5; // cut points in the stream
  const mid = message(0x4444, 0x8180, [question(dnsName(["mid", "test"]), 1)]);
  return stamp(
    [
      seg(isn, Buffer.alloc(0), 0x12), // SYN-ACK
      seg(isn + 1, stream.subarray(0, 1)), // half the first length prefix
      seg(isn + 2, stream.subarray(1, a)),
      seg(isn + 2, stream.subarray(1, a)), // retransmission
      seg(isn + 1 + a, stream.subarray(a, b)), // completes m1, starts m2
      seg(isn + 1 + b, stream.subarray(b)), // completes m2, carries all of m3
      seg(5000, framed(mid), 0x18, 53, 41001), // another flow, joined mid-stream
    ],
    1700009000,
  );
}

/** IPv4 fragments of `ip`'s payload at the given byte cuts (multiples of 8), each with its own header */
export function ipv4Fragments(f: craft.IPv4Fields, payload: Buffer, cuts: number[]): Buffer[] {
  const bounds = [0, ...cuts, payload.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const last = i + 2 === bounds.length;
    out.push(craft.ipv4({ ...f, flags: last ? 0 : 1, fragOffset: bounds[i] / 8 }, payload.subarray(bounds[i], bounds[i + 1])));
  }
  return out;
}

/**
 * IPv6 fragments: `unfrag` (the fixed header's chain before the fragment
 * header, its first byte's next header already 44 where it is not empty),
 * then a fragment header and the piece of `payload` (whose first header is `next`).
 */
export function ipv6Fragments(f: craft.IPv6Fields, unfrag: Buffer, next: number, id: number, payload: Buffer, cuts: number[]): Buffer[] {
  const bounds = [0, ...cuts, payload.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const more = i + 2 < bounds.length ? 1 : 0;
    const fh = Buffer.concat([Buffer.from([next, 0]), u16(bounds[i] | more), u32(id)]);
    out.push(craft.ipv6(f, Buffer.concat([unfrag, fh, payload.subarray(bounds[i], bounds[i + 1])])));
  }
  return out;
}

/**
 * Fragmented datagrams netsig and tshark both reassemble: a DNS response over
 * IPv4 in three fragments, out of order, one of them twice; DNS over IPv6 with
 * a hop-by-hop header before the fragment header and destination options after
 * it; an ICMP echo; a TCP segment cut inside its header; a train whose last
 * fragment never comes.
 */
export function fragmentPackets(): craft.PcapPacket[] {
  const resp = message(
    0x0f0f,
    0x8180,
    [question(dnsName(["frag", "test"]), 16)],
    [
      record(dnsName([], 12), 16, 1, 60, charStrings("a".repeat(200), "b".repeat(200))),
      record(dnsName([], 12), 16, 1, 60, charStrings("c".repeat(250))),
    ],
  );
  const e4 = (b: Buffer): Buffer => craft.ethernet(b);
  const e6 = (b: Buffer): Buffer => craft.ethernet(b, 0x86dd);
  const v4 = { src: "192.0.2.53", dst: "192.0.2.1", protocol: 17, id: 0x1234 };
  const [a, b, c] = ipv4Fragments(v4, craft.udp({ srcPort: 53, dstPort: 41000, checksum: 0 }, resp), [264, 528]);
  const hop = Buffer.from([44, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop, then the fragment header
  const dstOpts = Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]); // destination options (fragmentable), then UDP
  const v6 = { src: "2001:db8::53", dst: "2001:db8::1", nextHeader: 0 };
  const v6frags = ipv6Fragments(v6, hop, 60, 0xabcdef01, Buffer.concat([dstOpts, craft.udp({ srcPort: 53, dstPort: 41001 }, resp)]), [304]);
  const echo = craft.icmp({ type: 8, code: 0, id: 7, seq: 1, checksum: 0x0bad }, Buffer.alloc(1400, 0x61));
  const icmp = ipv4Fragments({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 1, id: 99 }, echo, [1000]);
  const seg = craft.tcp({ srcPort: 12345, dstPort: 443, seq: 0x01020304, flags: 0x18, window: 4096 }, Buffer.alloc(100, 0x16));
  const tcp = ipv4Fragments({ src: "10.0.0.3", dst: "10.0.0.4", protocol: 6, id: 7 }, seg, [8, 64]);
  const lost = ipv4Fragments(
    { src: "10.0.0.5", dst: "10.0.0.6", protocol: 17, id: 5 },
    craft.udp({ srcPort: 53, dstPort: 9 }, resp),
    [256],
  );
  return stamp(
    [
      e4(b),
      e4(a),
      e4(b), // a duplicate
      e4(c), // completes the DNS response
      e6(v6frags[0]),
      e6(v6frags[1]),
      e4(icmp[1]), // the last fragment first
      e4(icmp[0]),
      ...tcp.map(e4),
      e4(lost[0]), // never completed
    ],
    1700010000,
  );
}
