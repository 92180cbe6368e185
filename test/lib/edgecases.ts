// Crafted packets for the differential test: the corners the shared corpus
// does not reach (odd label bytes, IPv4-mapped AAAA, TTLs with the top bit set,
// every RDATA shape netsig prints, mDNS/LLMNR bits, EDNS extended RCODE, TCP
// flags and options, ICMP types whose bytes 4-7 are not id/seq, IPv6
// extension headers), written as one pcap that tshark and netsig both read.

import * as craft from "./craft";

const u16 = (n: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };

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
  Buffer.concat(s.map((x) => { const b = typeof x === "string" ? Buffer.from(x, "utf8") : x; return Buffer.concat([Buffer.from([b.length]), b]); }));

const ip4 = (s: string): Buffer => craft.ipBytes(s);
const ip6 = (s: string): Buffer => craft.ipBytes(s);

const A = "10.0.0.1", B = "10.0.0.2";
const eth4 = (proto: number, l4: Buffer, f: Partial<craft.IPv4Fields> = {}): Buffer =>
  craft.ethernet(craft.ipv4({ src: A, dst: B, protocol: proto, ...f }, l4));
const eth6 = (next: number, payload: Buffer, f: Partial<craft.IPv6Fields> = {}): Buffer =>
  craft.ethernet(craft.ipv6({ src: "2001:db8::1", dst: "2001:db8::2", nextHeader: next, ...f }, payload), 0x86dd);
const udp4 = (sport: number, dport: number, msg: Buffer): Buffer => eth4(17, craft.udp({ srcPort: sport, dstPort: dport, checksum: 0x1234 }, msg));

/** the response with every RDATA shape and odd text netsig handles */
function zooResponse(): Buffer {
  const q = dnsName(["we.ird", "sp ace", "back\\slash", "café", Buffer.from([0x41, 0xff, 0x42]), "test"]);
  const at12 = dnsName([], 12); // pointer to the question name
  const zone = dnsName(["zone", "test"]);
  const opt = Buffer.concat([
    u16(10), u16(8), Buffer.from("0102030405060708", "hex"), // cookie
    u16(65001), u16(4), Buffer.from([0x61, 0xe9, 0xff, 0x7f]), // unknown, with bytes that are not UTF-8
    u16(3), u16(0), // NSID, empty
  ]);
  return message(0xbeef, 0x8580 | 0x20 | 0x10, [question(q, 1)], [
    record(at12, 1, 1, 300, ip4("192.0.2.1")),
    record(at12, 28, 1, 0x80000001, ip6("::ffff:198.51.100.7")),
    record(at12, 28, 1, 7, ip6("2001:db8:0:0:1:0:0:1")),
    record(at12, 28, 1, 7, ip6("fe80::")),
    record(at12, 5, 1, 60, dnsName(["alias"], 12)),
    record(zone, 2, 1, 60, dnsName(["ns1", "zone", "test"])),
    record(dnsName(["1", "2", "0", "192", "in-addr", "arpa"]), 12, 1, 60, dnsName(["host", "zone", "test"])),
    record(zone, 15, 1, 60, Buffer.concat([u16(10), dnsName(["mx", "zone", "test"])])),
    record(zone, 6, 1, 60, Buffer.concat([dnsName(["ns1", "zone", "test"]), dnsName(["john.doe", "zone", "test"]),
      u32(2024010101), u32(7200), u32(3600), u32(1209600), u32(300)])),
    record(dnsName(["_sip", "_tcp", "zone", "test"]), 33, 1, 60, Buffer.concat([u16(10), u16(20), u16(5060), dnsName(["sip", "zone", "test"])])),
    record(zone, 16, 1, 60, charStrings("", "v=spf1 -all", "x".repeat(200), "quote\" back\\ <html> & tab\t")),
    record(zone, 13, 1, 60, charStrings("INTEL", "LINUX")),
    record(zone, 256, 1, 60, Buffer.concat([u16(1), u16(2), Buffer.from("https://zone.test/")])),
    record(zone, 257, 1, 60, Buffer.concat([Buffer.from([0, 5]), Buffer.from("issueca.test")])), // CAA: gopacket "Unknown"
    record(zone, 10, 1, 60, Buffer.from([0, 1, 2, 0xff])), // NULL
    record(zone, 16, 1, 60, Buffer.alloc(0)), // TXT without strings
    record(zone, 15, 1, 60, Buffer.concat([u16(0), dnsName([])])), // "null MX" (RFC 7505): the root
    record(dnsName(["plain", "zone", "test"]), 33, 1, 60, Buffer.concat([u16(0), u16(0), u16(0), dnsName([])])), // SRV, plain owner, root target
  ], [
    record(zone, 6, 1, 60, Buffer.concat([dnsName(["ns1", "zone", "test"]), dnsName(["hostmaster", "zone", "test"]),
      u32(1), u32(2), u32(3), u32(4), u32(5)])),
  ], [
    record(dnsName([]), 41, 1232, (1 << 24) | (0 << 16) | 0x8000, opt), // extended RCODE 1 (with header 0: BADVERS), DO
  ]);
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
    eth4(6, craft.tcp({ srcPort: 40005, dstPort: 53, seq: 0xfffffff0, ack: 0x80000000, flags: 0x18, window: 512 },
      Buffer.concat([u16(q1.length), q1, u16(q1.length), q1]))),
    // 11: IPv4 options (record route), TOS, DF, TTL 1; TCP with NS, CWR, ECE, URG, SYN, urgent pointer, options
    eth4(6, craft.tcp({ srcPort: 1, dstPort: 65535, seq: 1, ack: 2, flags: 0x100 | 0x80 | 0x40 | 0x20 | 0x02, urgent: 7, window: 1234, dataOffset: 6, checksum: 0xfeed }),
      { tos: 0xb9, id: 0xbeef, ttl: 1, flags: 2, options: Buffer.from([7, 7, 4, 0, 0, 0, 0, 1]) }),
    // 12: a first IPv4 fragment (MF) carrying a UDP header: transport yes, DNS no
    eth4(17, craft.udp({ srcPort: 53, dstPort: 40006, length: 400, checksum: 0 }, Buffer.alloc(64)), { flags: 1, id: 77 }),
    // 13: a later fragment: only the IPv4 event
    eth4(17, Buffer.alloc(64), { flags: 0, fragOffset: 9, id: 77 }),
    // 14-17: ICMP echo, redirect (bytes 4-7 are the gateway), fragmentation needed (MTU), timestamp request
    eth4(1, craft.icmp({ type: 8, code: 0, id: 0x1234, seq: 0x5678, checksum: 0xabcd }, Buffer.alloc(8))),
    eth4(1, Buffer.concat([Buffer.from([5, 1, 0x12, 0x34]), ip4("10.9.8.7"), Buffer.alloc(28)])),
    eth4(1, craft.icmp({ type: 3, code: 4, id: 0, seq: 1400, checksum: 0x4321 }, Buffer.alloc(28))),
    eth4(1, craft.icmp({ type: 13, code: 0, id: 9, seq: 10 }, Buffer.alloc(12))),
    // 18, 19: ICMPv6 echo request and neighbour solicitation
    eth6(58, craft.icmp({ type: 128, code: 0, id: 1, seq: 2, checksum: 0x1111 }, Buffer.alloc(4)), { trafficClass: 0xa5, flowLabel: 0xbcdef, hopLimit: 255 }),
    eth6(58, Buffer.concat([Buffer.from([135, 0, 0x22, 0x22, 0, 0, 0, 0]), ip6("2001:db8::2")]), { hopLimit: 255 }),
    // 20: IPv6 extension headers (hop-by-hop, destination options, atomic fragment) before UDP/DNS
    eth6(0, v6Chain(craft.udp({ srcPort: 40007, dstPort: 53, checksum: 0x7777 }, q1))),
    // 21: IPv4-mapped IPv6 addresses in the IPv6 header itself
    craft.ethernet(craft.ipv6({ src: "::ffff:10.1.2.3", dst: "::1", nextHeader: 17 }, craft.udp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(4))), 0x86dd),
    // 22: QinQ (802.1ad + 802.1Q) around IPv4/UDP
    (() => { const f = craft.ethernet(craft.ipv4({ src: A, dst: B, protocol: 17 }, craft.udp({ srcPort: 7, dstPort: 9 }, Buffer.alloc(2))), 0x0800, [200, 2001]); f.writeUInt16BE(0x88a8, 12); return f; })(),
  ];
  return frames.map((data, i) => ({ tsSec: 1700000000 + i, tsUsec: (i * 12345) % 1000000, data }));
}
