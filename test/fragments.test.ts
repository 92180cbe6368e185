// IP fragment reassembly (engine/decode/fragments.ts).
//
// - Datagrams fragmented by scapy (fragment(), fragment6()): DNS responses over
//   IPv4 and IPv6, in order, out of order and with duplicates, compared field by
//   field with tshark's defragmentation of the same file; a TCP segment carrying
//   a 3000-byte TLS ClientHello, whose reassembled payload must be the original.
// - The corpus captures with fragments, against their oracles (Zeek's log of
//   zeek/ipv6-fragmented-dns.pcap, Suricata's reassembled packet for
//   suricata-verify/defrag-eth-vlan-ipv4-tcp-syn.pcap).
// - Evasion and damage, crafted byte by byte: overlaps (Teardrop, the RFC 5722
//   header rewrite), duplicates, ping of death, conflicting lengths, timeouts,
//   the bounds, and a flood of 100,000 incomplete trains.
// Each fragment not reassembled must be counted once under its reason, or be
// still held (accounted()).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { readCapture } from "../engine/capture/reader";
import { LinkType, type PacketRecord } from "../engine/capture/types";
import { Decoder } from "../engine/decode/decoder";
import { DEFAULT_EVENTS } from "../engine/events/registry";
import { EventJSONWriter } from "../engine/events/json";
import { EventPipeline } from "../engine/events/pipeline";
import { FRAGMENT_LIMITS, type FragmentLimits } from "../engine/decode/fragments";
import { Ev } from "../engine/types/events";
import * as craft from "../tools/lib/craft";
import { corpusFile } from "./lib/corpus";
import { compareFrame, expectFrame, netsigFrames, type Disagreement, type FieldStats } from "./lib/differential";
import { ipv4Fragments } from "./lib/edgecases";
import { HOST, netsig, type Emitted } from "./lib/run";
import { runTshark, tsharkVersion } from "./lib/tshark";

const DIR = mkdtempSync(join(tmpdir(), "netsig-fragments-"));
after(() => rmSync(DIR, { recursive: true, force: true }));

/** every fragment the decoder saw went into a datagram, was counted dropped, or is still held */
function accounted(d: Decoder): void {
  const s = d.stats;
  const dropped = Object.values(s.fragmentDrops).reduce((a, b) => a + b, 0);
  assert.equal(
    d.defrag.fragmentsUsed + dropped + d.defrag.fragmentsHeld,
    s.fragments,
    `fragments ${s.fragments} = used ${d.defrag.fragmentsUsed} + dropped ${dropped} ${JSON.stringify(s.fragmentDrops)} + held ${d.defrag.fragmentsHeld}`,
  );
}

/** the drop counters that are not zero */
const drops = (d: Decoder): Record<string, number> => Object.fromEntries(Object.entries(d.stats.fragmentDrops).filter(([, n]) => n > 0));

/** raw IP packets through the event pipeline, --events' default (a microsecond apart unless told): each packet's event kinds */
function run(packets: (Buffer | { data: Buffer; tsSec: number })[]): { kinds: Ev[][]; decoder: Decoder; events: Emitted[] } {
  const events: Emitted[] = [];
  const json = new EventJSONWriter(HOST);
  const pipeline = new EventPipeline(DEFAULT_EVENTS, HOST, (ev, kind, p) => {
    events.push({ ev, kind, json: json.write(ev, kind, p.timestampString()) });
  });
  const kinds: Ev[][] = [];
  packets.forEach((x, i) => {
    const n = events.length;
    pipeline.onPacket(Buffer.isBuffer(x) ? rec(x, 1700000000, i * 1000) : rec(x.data, x.tsSec));
    kinds.push(events.slice(n).map((e) => e.kind));
  });
  return { kinds, decoder: pipeline.decoder, events };
}

function rec(data: Buffer, tsSec: number, tsNsec = 0): PacketRecord {
  return {
    tsSec,
    tsNsec,
    linkType: LinkType.RAW,
    iface: "",
    buf: data,
    offset: 0,
    caplen: data.length,
    origLen: data.length,
    fileOffset: 0,
  };
}

/** one IPv4 fragment: `offset` in bytes */
function v4frag(id: number, offset: number, more: boolean, data: Buffer, protocol = 17): Buffer {
  return craft.ipv4({ ...V4, protocol, id, flags: more ? 1 : 0, fragOffset: offset / 8 }, data);
}

/** one IPv6 fragment (no other extension header): `offset` in bytes, `next` the header after the fragment header */
function v6frag(id: number, offset: number, more: boolean, data: Buffer, next = 17): Buffer {
  const fh = Buffer.alloc(8);
  fh[0] = next;
  fh.writeUInt16BE(offset | (more ? 1 : 0), 2);
  fh.writeUInt32BE(id, 4);
  return craft.ipv6(V6, Buffer.concat([fh, data]));
}

const V4 = { src: "192.0.2.53", dst: "192.0.2.1", protocol: 17 };
const V6 = { src: "2001:db8::53", dst: "2001:db8::1", nextHeader: 44 };
const DNS_RESPONSE = craft.dns({
  type: "response",
  id: 0x5151,
  flags: 0x8180,
  questions: [{ type: "TXT", name: "frag.netsig.test" }],
  answers: [
    { type: "TXT", name: "frag.netsig.test", ttl: 60, data: ["x".repeat(200)] },
    { type: "TXT", name: "frag.netsig.test", ttl: 60, data: ["y".repeat(200)] },
  ],
});
const udpDns = (dport = 40000, msg = DNS_RESPONSE): Buffer => craft.udp({ srcPort: 53, dstPort: dport }, msg);

// ------------------------------------------------------------------ scapy

/** a python3 that has scapy (Debian's python3-scapy is for /usr/bin/python3) */
function scapyPython(): string | null {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const r = spawnSync(py, ["-c", "import scapy.all"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return null;
}

const SCAPY_SCRIPT = String.raw`
import json, sys
from functools import reduce
from scapy.all import DNS, DNSQR, DNSRR, IP, IPv6, IPv6ExtHdrFragment, TCP, UDP, Ether, Raw, fragment, fragment6, wrpcap

out = sys.argv[1]
name = "frag.netsig.test"

def response(i):
    an = reduce(lambda a, b: a / b, [DNSRR(rrname=name, type="TXT", ttl=300 + k, rdata=[chr(97 + k) * 200]) for k in range(8)])
    return DNS(id=0x4400 + i, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype="TXT"), an=an,
               ar=DNSRR(rrname=name, type="A", ttl=5, rdata="192.0.2.7"))

def save(file, frags, t0):
    pkts = []
    for k, f in enumerate(frags):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / f  # (addresses given: no ARP lookup on the network)
        p.time = t0 + k / 1000
        pkts.append(p)
    wrpcap(out + "/" + file, pkts)
    return len(pkts)

meta = {}
udp4 = lambda i, port: IP(src="192.0.2.53", dst="192.0.2.1", id=0x1110 + i) / UDP(sport=53, dport=port) / response(i)
meta["v4-dns.pcap"] = save("v4-dns.pcap", fragment(udp4(1, 40001), fragsize=600), 1700000000)
meta["v4-reversed.pcap"] = save("v4-reversed.pcap", fragment(udp4(2, 40002), fragsize=600)[::-1], 1700000100)
f = fragment(udp4(3, 40003), fragsize=600)
meta["v4-duplicates.pcap"] = save("v4-duplicates.pcap", [f[0], f[1], f[0], f[1]] + f[2:], 1700000200)
v6 = IPv6(src="2001:db8::53", dst="2001:db8::1") / IPv6ExtHdrFragment(id=0xdead) / UDP(sport=53, dport=40004) / response(4)
meta["v6-dns.pcap"] = save("v6-dns.pcap", fragment6(v6, 600), 1700000300)
v6r = IPv6(src="2001:db8::53", dst="2001:db8::1") / IPv6ExtHdrFragment(id=0xbeef) / UDP(sport=53, dport=40005) / response(5)
meta["v6-reversed.pcap"] = save("v6-reversed.pcap", fragment6(v6r, 600)[::-1], 1700000400)

# a TLS record holding a ClientHello with SNI and a padding extension: about 3000 bytes
sni = name.encode()
ext_sni = b"\x00\x00" + (len(sni) + 5).to_bytes(2, "big") + (len(sni) + 3).to_bytes(2, "big") + b"\x00" + len(sni).to_bytes(2, "big") + sni
pad = bytes((k * 7 + 3) & 0xff for k in range(3000))
ext_pad = b"\x00\x15" + len(pad).to_bytes(2, "big") + pad
exts = ext_sni + ext_pad
body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + len(exts).to_bytes(2, "big") + exts
hs = b"\x01" + len(body).to_bytes(3, "big") + body
record = b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
seg = IP(src="10.0.0.1", dst="10.0.0.2", id=0x5555) / TCP(sport=50000, dport=443, flags="PA", seq=1000, ack=1) / Raw(record)
meta["tcp-tls.pcap"] = save("tcp-tls.pcap", fragment(seg, fragsize=1000), 1700000500)
meta["tls"] = record.hex()
print(json.dumps(meta))
`;

/** a tool the test needs is missing: skip, except in CI (which installs it: .ci/run), where that fails */
function missing(t: { skip(why: string): void }, why: string): void {
  assert.ok(!process.env.CI, `${why} (CI installs it: .ci/run)`);
  t.skip(why);
}

let scapyMeta: Record<string, number | string> | null | undefined;
/** the scapy captures (made once), or why not */
function scapyCaptures(): Record<string, number | string> | string {
  if (scapyMeta === undefined) {
    const py = scapyPython();
    if (py === null) scapyMeta = null;
    else {
      const script = join(DIR, "make.py");
      writeFileSync(script, SCAPY_SCRIPT);
      const r = spawnSync(py, [script, DIR], { encoding: "utf8" });
      assert.equal(r.status, 0, `scapy: ${r.stderr}`);
      scapyMeta = JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, number | string>;
    }
  }
  return scapyMeta ?? "python3 with scapy is not installed (Debian: python3-scapy)";
}

/** decode a capture with a fresh decoder; per packet: reassembled?, the transport payload of a reassembled TCP segment */
async function decodeFile(path: string, limits?: Partial<FragmentLimits>) {
  const d = new Decoder(limits);
  const out: { reassembled: boolean; count: number; last: number; payload: Buffer | null; datagram: Buffer | null }[] = [];
  await readCapture(path, (r) => {
    const p = d.decode(r);
    out.push({
      reassembled: p.reassembled,
      count: p.reassembled ? p.fragmentCount : 0,
      last: p.last,
      payload: p.reassembled ? Buffer.from(p.buf.subarray(p.appOff, p.appEnd)) : null,
      datagram: p.reassembled ? Buffer.from(p.buf.subarray(p.ipOff, p.ipEnd)) : null,
    });
  });
  return { decoder: d, packets: out };
}

test("scapy: DNS responses in 4+ IPv4 and IPv6 fragments (in order, reversed, with duplicates) decode as tshark reassembles them", async (t) => {
  const meta = scapyCaptures();
  if (typeof meta === "string") return missing(t, meta);
  if ((await tsharkVersion()) === null) return missing(t, "tshark is not installed");
  const stats: FieldStats = new Map();
  const found: Disagreement[] = [];
  const names = ["v4-dns.pcap", "v4-reversed.pcap", "v4-duplicates.pcap", "v6-dns.pcap", "v6-reversed.pcap"];
  const runs = await Promise.all(names.map((name) => Promise.all([runTshark(join(DIR, name), "ip"), netsigFrames(join(DIR, name))])));
  for (const [i, name] of names.entries()) {
    const path = join(DIR, name);
    const n = meta[name] as number;
    const [ts, ns] = runs[i];
    assert.equal(ts.length, n, name);
    assert.ok(n >= 4, `${name}: ${n} fragments`);
    // every packet, every event, field by field, against tshark's defragmentation
    for (const fr of ts) compareFrame(name, fr.number, ns.frames[fr.number - 1], expectFrame(fr), stats, found);
    // the shape: an IP event per fragment, the rest once, on the last packet (the one completing the datagram)
    const kinds = ns.frames.map((f) => f.events.map((e) => e.kind).filter((k) => k !== "dns_wire"));
    for (let i = 0; i < n - 1; i++) assert.deepEqual(kinds[i], [name.startsWith("v6") ? "ipv6" : "ipv4"], `${name} #${i + 1}`);
    assert.deepEqual(kinds[n - 1], [name.startsWith("v6") ? "ipv6" : "ipv4", "udp", "dns", "dns_response"], `${name} #${n}`);
    const dns = ns.frames[n - 1].events.find((e) => e.kind === "dns")!.args.proto_dns as { answers: { TXTs: string[] }[] };
    assert.deepEqual(
      dns.answers.slice(0, 8).map((a) => a.TXTs[0]),
      [..."abcdefgh"].map((c) => c.repeat(200)),
      name,
    );
    const { decoder } = await decodeFile(path);
    assert.equal(decoder.stats.reassembled, 1, name);
    assert.equal(decoder.stats.fragmentDrops.duplicate, name === "v4-duplicates.pcap" ? 2 : 0, name);
    assert.equal(decoder.defrag.datagramCount, 0, name);
    accounted(decoder);
  }
  assert.deepEqual(
    found.map((d) => `${d.file} #${d.frame} ${d.field}: netsig ${d.netsig}, tshark ${d.tshark}`),
    [],
  );
  // the summary line counts them
  const summary = netsig(["replay", join(DIR, "v4-duplicates.pcap"), "--output", "json"]).stderr;
  assert.match(summary, /, 6 IP fragments: 1 datagram reassembled, 2 fragments dropped \(duplicate 2\);/);
  for (const path of ["events.dns", "dns[].proto_dns.answers[].TXTs[]", "udp.length", "dns_response[].metadata.packet_len", "ipv6.length"])
    assert.ok((stats.get(path)?.compared ?? 0) >= 2, `${path} was compared`);
});

test("scapy: a TCP segment with a 3000-byte TLS ClientHello in 4 fragments reassembles to the original bytes", async (t) => {
  const meta = scapyCaptures();
  if (typeof meta === "string") return missing(t, meta);
  const original = Buffer.from(meta.tls as string, "hex");
  assert.ok(original.length > 3000 && original[0] === 0x16 && original[5] === 0x01, "a TLS handshake record with a ClientHello");
  const { decoder, packets } = await decodeFile(join(DIR, "tcp-tls.pcap"));
  assert.equal(packets.length, 4);
  const done = packets.filter((p) => p.reassembled);
  assert.equal(done.length, 1);
  assert.equal(packets.indexOf(done[0]), 3, "the last fragment completes it");
  assert.equal(done[0].count, 4);
  assert.equal(done[0].payload!.length, original.length);
  assert.ok(done[0].payload!.equals(original), "the reassembled TCP payload is the ClientHello as sent");
  // the events: one TCP event, with the segment's header
  const { frames } = await netsigFrames(join(DIR, "tcp-tls.pcap"));
  const tcp = frames.flatMap((f) => f.events).filter((e) => e.kind === "tcp");
  assert.equal(tcp.length, 1);
  assert.deepEqual(
    (({ srcPort, dstPort, seq, PSH, ACK }) => ({ srcPort, dstPort, seq, PSH, ACK }))(tcp[0].args.proto_tcp as Record<string, number>),
    { srcPort: 50000, dstPort: 443, seq: 1000, PSH: 1, ACK: 1 },
  );
  accounted(decoder);
});

// ------------------------------------------------------------------ corpus

test("zeek/ipv6-fragmented-dns.pcap: the UDP datagrams and the reassembled DNS response of Zeek's oracle", async () => {
  const pcap = corpusFile("zeek/ipv6-fragmented-dns.pcap");
  // Zeek prints one line per UDP datagram it saw, reassembled ones whole: "udp = [sport=53/udp, dport=51851/udp, ulen=3238]"
  const zeekUdp = [
    ...readFileSync(corpusFile("zeek/ipv6-fragmented-dns.zeek-baseline.core.ipv6-frag.output"), "utf8").matchAll(
      /udp = \[sport=(\d+)\/udp, dport=(\d+)\/udp, ulen=(\d+)\]/g,
    ),
  ].map((m) => ({ srcPort: Number(m[1]), dstPort: Number(m[2]), length: Number(m[3]) }));
  assert.equal(zeekUdp.length, 5);
  const { frames } = await netsigFrames(pcap);
  const udp = frames.flatMap((f, i) =>
    f.events.filter((e) => e.kind === "udp").map((e) => ({ n: i + 1, ...(e.args.proto_udp as object) })),
  );
  assert.deepEqual(
    udp.map(({ srcPort, dstPort, length }: any) => ({ srcPort, dstPort, length })),
    zeekUdp,
  );
  assert.deepEqual(
    udp.map((u) => u.n),
    [1, 2, 3, 5, 8],
    "packet 4 (a last fragment whose others were not captured) and 6-7 (first fragments) give no UDP event",
  );
  // the DNS response of packet 8: Zeek's dns.log lists its TXT answers as "TXT <length> <text>"
  const log = readFileSync(corpusFile("zeek/ipv6-fragmented-dns.zeek-baseline.core.ipv6-frag.dns.log"), "utf8");
  const row = log.split("\n").find((l) => l.includes("txtpadding_3230") && l.includes("TXT 33"))!;
  const fields = row.split("\t");
  const zeekAnswers = fields[21].split(",");
  assert.equal(Number(fields[7]), 40849, "trans_id");
  const dns = frames[7].events.find((e) => e.kind === "dns")!.args.proto_dns as {
    ID: number;
    answers: { type: string; TXTs: string[] }[];
  };
  assert.equal(dns.ID, 40849);
  assert.deepEqual(
    dns.answers.filter((a) => a.type === "TXT").map((a) => a.TXTs.map((x) => `TXT ${x.length} ${x}`).join(" ")),
    zeekAnswers,
  );
  const { decoder } = await decodeFile(pcap);
  assert.equal(decoder.stats.reassembled, 1);
  assert.equal(decoder.defrag.datagramCount, 1, "packet 4's datagram is still waiting for its first fragment");
  accounted(decoder);
});

test("suricata-verify/defrag-eth-vlan-ipv4-tcp-syn.pcap: the TCP SYN of Suricata's oracle, its reassembled packet byte for byte", async () => {
  const yaml = readFileSync(corpusFile("suricata-verify/defrag-eth-vlan-ipv4-tcp-syn.test.yaml"), "utf8");
  // Suricata's alert on the SYN carries the packet it matched: Ethernet, 802.1Q, then the reassembled IPv4 datagram
  const suricata = Buffer.from(/packet: "([^"]+)"/.exec(yaml)![1], "base64");
  const pcap = corpusFile("suricata-verify/defrag-eth-vlan-ipv4-tcp-syn.pcap");
  const { decoder, packets } = await decodeFile(pcap);
  assert.deepEqual(
    packets.map((p) => p.reassembled),
    [false, false, true],
  );
  assert.ok(
    packets[2].datagram!.equals(suricata.subarray(18)),
    `${packets[2].datagram!.toString("hex")} vs ${suricata.subarray(18).toString("hex")}`,
  );
  const { frames } = await netsigFrames(pcap);
  const tcp = frames.map((f) => f.events.filter((e) => e.kind === "tcp"));
  assert.deepEqual(
    tcp.map((x) => x.length),
    [0, 0, 1],
  );
  const t = tcp[2][0].args.proto_tcp as Record<string, number>;
  assert.deepEqual({ src: t.srcPort, dst: t.dstPort, SYN: t.SYN, ACK: t.ACK }, { src: 12345, dst: 8080, SYN: 1, ACK: 0 });
  accounted(decoder);
});

// ------------------------------------------------------------------ evasion and damage

test("overlaps discard the whole datagram (Teardrop; RFC 5722's rewritten transport header, IPv4 and IPv6); later fragments start anew", () => {
  // Teardrop-style: the second fragment starts inside the first and runs past it
  const seg = udpDns(40000);
  const tear = [v4frag(1, 0, true, seg.subarray(0, 32)), v4frag(1, 24, true, seg.subarray(24, 56)), v4frag(1, 56, false, seg.subarray(56))];
  let r = run(tear);
  assert.deepEqual(r.kinds, [[Ev.IPv4], [Ev.IPv4], [Ev.IPv4]]);
  assert.deepEqual(drops(r.decoder), { overlap: 2 });
  assert.equal(r.decoder.defrag.datagramCount, 1, "the last fragment waits in a new datagram (it will time out)");
  accounted(r.decoder);
  // (the same fragments without the overlap reassemble: the test can fail)
  r = run([tear[0], v4frag(1, 32, true, seg.subarray(32, 56)), tear[2]]);
  assert.deepEqual(r.kinds[2], [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSResponse]);

  // RFC 5722: a later fragment rewrites the transport header (here: the destination port, 9 -> 53, and the source)
  const benign = craft.udp({ srcPort: 40000, dstPort: 9 }, DNS_RESPONSE);
  const evil = craft.udp({ srcPort: 40000, dstPort: 53 }, DNS_RESPONSE);
  for (const v6 of [false, true]) {
    const frag = (from: number, to: number, b: Buffer, more: boolean): Buffer =>
      v6 ? v6frag(7, from, more, b.subarray(from, to)) : v4frag(7, from, more, b.subarray(from, to));
    const first = frag(0, 24, benign, true);
    const rewrite = frag(0, 48, evil, true); // starts at 0 and runs further: overlaps the first
    const rest = frag(48, benign.length, benign, false);
    r = run([first, rewrite, rest]);
    const ip = v6 ? Ev.IPv6 : Ev.IPv4;
    assert.deepEqual(r.kinds, [[ip], [ip], [ip]], v6 ? "IPv6" : "IPv4");
    assert.deepEqual(drops(r.decoder), { overlap: 2 });
    accounted(r.decoder);
    // without the rewrite the datagram reassembles: port 9 UDP, no DNS
    r = run([first, frag(24, 48, benign, true), rest]);
    assert.deepEqual(r.kinds[2], [ip, Ev.UDP], v6 ? "IPv6" : "IPv4");
    // and the rewrite alone (its own first fragment) would have been DNS: what the overlap tried to smuggle
    r = run([rewrite, frag(48, evil.length, evil, false)]);
    assert.deepEqual(r.kinds[1], [ip, Ev.UDP, Ev.DNS, Ev.DNSResponse], v6 ? "IPv6" : "IPv4");
  }
});

test("a fragment inside what is held is a duplicate: dropped, the first copy wins, the datagram completes (Linux's rule)", () => {
  const seg = udpDns(40000);
  const forged = udpDns(40000, Buffer.from(DNS_RESPONSE).fill(0x7a, 60, 120)); // other TXT bytes in the middle
  const a = v4frag(3, 0, true, seg.subarray(0, 128));
  const dupInside = v4frag(3, 64, true, forged.subarray(64, 112)); // inside a: ignored
  const b = v4frag(3, 128, false, seg.subarray(128));
  const r = run([a, dupInside, a, b]);
  assert.deepEqual(r.kinds[3], [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSResponse]);
  assert.deepEqual(drops(r.decoder), { duplicate: 2 });
  const dns = r.events.find((e) => e.kind === Ev.DNS)!.ev.args[4].value as { answers: { TXTs: string[] }[] };
  assert.equal(dns.answers[0].TXTs[0], "x".repeat(200), "the first copy of the bytes");
  accounted(r.decoder);
});

test("ping of death: a datagram past 65535 bytes is not reassembled (IPv4: discarded; IPv6: the fragment is dropped)", () => {
  const echo = craft.icmp({ type: 8, code: 0, id: 1, seq: 1 }, Buffer.alloc(1472));
  const first = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 1, id: 9, flags: 1 }, echo.subarray(0, 1480));
  const deadly = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 1, id: 9, flags: 0, fragOffset: 8189 }, Buffer.alloc(100));
  let r = run([first, deadly]);
  assert.deepEqual(r.kinds, [[Ev.IPv4], [Ev.IPv4]]);
  assert.deepEqual(drops(r.decoder), { oversize: 2 });
  assert.equal(r.decoder.defrag.datagramCount, 0);
  accounted(r.decoder);
  // IPv6: offset 65528 + 16 bytes; Linux drops that fragment (ICMPv6 parameter problem), the datagram goes on
  r = run([v6frag(9, 0, true, echo.subarray(0, 1480), 58), v6frag(9, 65528, false, Buffer.alloc(16), 58)]);
  assert.deepEqual(drops(r.decoder), { oversize: 1 });
  assert.equal(r.decoder.defrag.datagramCount, 1);
  accounted(r.decoder);
});

test("timeout: 30 s of capture time from the first fragment (the packets' clock, as live); a late last fragment starts anew", () => {
  const seg = udpDns(40000);
  const [a, b] = ipv4Fragments({ ...V4, id: 11 }, seg, [64]);
  let r = run([
    { data: a, tsSec: 1000 },
    { data: b, tsSec: 1029 },
  ]);
  assert.deepEqual(r.kinds[1], [Ev.IPv4, Ev.UDP, Ev.DNS, Ev.DNSResponse], "29 s: in time");
  r = run([
    { data: a, tsSec: 1000 },
    { data: b, tsSec: 1030 },
  ]);
  assert.deepEqual(r.kinds[1], [Ev.IPv4], "30 s: too late");
  assert.deepEqual(drops(r.decoder), { timeout: 1 });
  assert.equal(r.decoder.defrag.datagramCount, 1, "the late fragment waits in a datagram of its own");
  accounted(r.decoder);
  // a partial train of another datagram times out when any later fragment arrives
  const [c] = ipv4Fragments({ ...V4, id: 12 }, seg, [64]);
  r = run([
    { data: a, tsSec: 1000 },
    { data: c, tsSec: 1100 },
  ]);
  assert.deepEqual(drops(r.decoder), { timeout: 1 });
  assert.equal(r.decoder.defrag.datagramCount, 1);
  accounted(r.decoder);
});

test("inconsistent lengths, an empty fragment, a capture cut short, an IPv6 first fragment without its header chain", () => {
  const seg = udpDns(40000);
  const [a, b] = ipv4Fragments({ ...V4, id: 13 }, seg, [64]);
  const otherLast = v4frag(13, 64, false, seg.subarray(64, 200)); // a last fragment ending at 200, not at the end
  // two last fragments with different ends
  let r = run([b, otherLast, a]);
  assert.deepEqual(drops(r.decoder), { inconsistent: 2 });
  assert.deepEqual(r.kinds[2], [Ev.IPv4], "the first fragment starts a new datagram");
  accounted(r.decoder);
  // an empty fragment discards the datagram
  r = run([a, v4frag(13, 64, true, Buffer.alloc(0)), b]);
  assert.deepEqual(drops(r.decoder), { inconsistent: 2 });
  accounted(r.decoder);
  // cut by the snap length: this fragment cannot be used, the datagram never completes
  const cut = b.subarray(0, b.length - 10);
  r = run([a, cut]);
  assert.deepEqual(drops(r.decoder), { truncated: 1 });
  assert.deepEqual(r.kinds[1], [Ev.IPv4]);
  accounted(r.decoder);
  // IPv6: a first fragment that ends before the UDP header does (RFC 7112) is dropped
  const dstOpts = Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]);
  const withOpts = Buffer.concat([dstOpts, seg]);
  r = run([v6frag(5, 0, true, seg.subarray(0, 8)), v6frag(5, 8, false, seg.subarray(8))]);
  assert.deepEqual(r.kinds[1], [Ev.IPv6, Ev.UDP, Ev.DNS, Ev.DNSResponse], "8 bytes hold the UDP header");
  r = run([v6frag(5, 0, true, withOpts.subarray(0, 8), 60), v6frag(5, 8, false, withOpts.subarray(8), 60)]);
  assert.deepEqual(drops(r.decoder), { inconsistent: 1 }, "8 bytes hold the destination options, not the UDP header");
  assert.deepEqual(r.kinds[1], [Ev.IPv6]);
  accounted(r.decoder);
  r = run([v6frag(5, 0, true, withOpts.subarray(0, 16), 60), v6frag(5, 16, false, withOpts.subarray(16), 60)]);
  assert.deepEqual(r.kinds[1], [Ev.IPv6, Ev.UDP, Ev.DNS, Ev.DNSResponse], "options and UDP header in the first fragment");
});

test("an atomic IPv6 fragment (offset 0, M=0, RFC 6946) is a whole datagram, not queued", () => {
  const atomic = craft.ipv6(V6, Buffer.concat([Buffer.from([17, 0, 0, 0, 0, 0, 0, 42]), udpDns(40000)]));
  const r = run([atomic]);
  assert.deepEqual(r.kinds, [[Ev.IPv6, Ev.UDP, Ev.DNS, Ev.DNSResponse]]);
  assert.equal(r.decoder.stats.fragments, 0);
  assert.equal(r.decoder.defrag.datagramCount, 0);
});

test("bounds: 64 fragments reassemble, 65 do not; datagrams and bytes in progress stay within their limits", () => {
  const seg = udpDns(40000, Buffer.alloc(64 * 8 - 8)); // 64 x 8 bytes (UDP header included)
  const cuts = (n: number, len: number): number[] => Array.from({ length: n - 1 }, (_, i) => Math.ceil((len * (i + 1)) / n / 8) * 8);
  let r = run(ipv4Fragments({ ...V4, protocol: 17, id: 21 }, seg, cuts(64, seg.length)));
  assert.equal(r.decoder.stats.reassembled, 1, "64 fragments");
  const seg65 = udpDns(40000, Buffer.alloc(65 * 8 - 8));
  r = run(ipv4Fragments({ ...V4, protocol: 17, id: 22 }, seg65, cuts(65, seg65.length)));
  assert.equal(r.decoder.stats.reassembled, 0, "65 fragments");
  assert.deepEqual(drops(r.decoder), { tooMany: 65 });
  accounted(r.decoder);

  // small limits: 3 datagrams, 8 KiB
  const d = new Decoder({ maxDatagrams: 3, maxBytes: 8192 });
  for (let i = 0; i < 10; i++) d.decode(rec(craft.ipv4({ ...V4, id: 100 + i, flags: 1 }, Buffer.alloc(1000)), 1000 + i));
  assert.equal(d.defrag.datagramCount, 3);
  assert.equal(d.stats.fragmentDrops.evicted, 7);
  for (let i = 0; i < 10; i++) d.decode(rec(craft.ipv4({ ...V4, id: 200, flags: 1, fragOffset: i * 250 }, Buffer.alloc(2000)), 1100));
  assert.ok(d.defrag.bytesHeld <= 8192, `${d.defrag.bytesHeld} bytes held`);
  assert.ok(d.stats.fragmentDrops.memory > 0);
  accounted(d);
});

/** a function that runs a full garbage collection */
function gcFunction(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

test("a flood of 100,000 incomplete trains (first fragments, distinct sources and ids) stays within the bounds", () => {
  const gc = gcFunction();
  const d = new Decoder();
  const frag = craft.ipv4({ src: "10.0.0.0", dst: "192.0.2.1", protocol: 17, id: 0, flags: 1 }, Buffer.alloc(1480, 0x55));
  const r = rec(frag, 1700000000);
  gc();
  const before = process.memoryUsage();
  const N = 100_000;
  for (let i = 0; i < N; i++) {
    frag.writeUInt16BE(i & 0xffff, 4); // id
    frag.writeUInt32BE((0x0a000000 + (i >> 8)) >>> 0, 12); // source 10.x.y.z
    r.tsNsec = i * 1000; // 0.1 s in all: no timeout
    d.decode(r);
  }
  // and trains of three fragments each, which the byte bound stops first
  for (let i = 0; i < 5000; i++) {
    frag.writeUInt16BE(i & 0xffff, 4);
    frag.writeUInt32BE((0x0b000000 + i) >>> 0, 12);
    for (let k = 0; k < 3; k++) {
      frag.writeUInt16BE(0x2000 | (k * 185), 6); // MF, offset k * 1480 bytes
      d.decode(r);
    }
  }
  gc();
  const afterFlood = process.memoryUsage();
  const L = FRAGMENT_LIMITS;
  assert.equal(d.stats.fragments, N + 15000);
  assert.ok(d.defrag.datagramCount <= L.maxDatagrams, `${d.defrag.datagramCount} datagrams`);
  assert.ok(d.defrag.bytesHeld <= L.maxBytes, `${d.defrag.bytesHeld} bytes`);
  assert.ok(d.stats.fragmentDrops.evicted >= N - L.maxDatagrams, `evicted ${d.stats.fragmentDrops.evicted}`);
  assert.ok(d.stats.fragmentDrops.memory > 0, "the byte bound evicted too");
  accounted(d);
  // what the process holds: the 100,000 x 1480 bytes (148 MB) are not kept
  const grown = afterFlood.heapUsed + afterFlood.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  assert.ok(grown < 32 * 1024 * 1024, `heap and buffers grew by ${(grown / 1048576).toFixed(1)} MiB`);
  // clearing gives everything back, counted
  d.defrag.clear();
  assert.equal(d.defrag.bytesHeld, 0);
  assert.equal(d.defrag.datagramCount, 0);
  accounted(d);
});
