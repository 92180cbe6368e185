// Values the spec's examples never show, and what netsig prints for them.
// Each follows what Tracee does (it fills its structs from gopacket v1.1.19;
// sources in docs/tracee-mapping.md) unless the comment says netsig departs
// from it, and why.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LinkType } from "../engine/capture/types";
import { Ev } from "../engine/types/events";
import { join } from "node:path";
import * as craft from "../tools/lib/craft";
import { craftedHttp, type Segment } from "./lib/httplab";
import { EXAMPLES, eventsOf, netsig } from "./lib/run";

type Json = Record<string, any>;

function dnsPacket(msg: Buffer, v6 = false, srcPort = 53, dstPort = 40000): Buffer {
  const seg = craft.udp({ srcPort, dstPort }, msg);
  return v6
    ? craft.ipv6({ src: "::1", dst: "::1", nextHeader: 17 }, seg)
    : craft.ipv4({ src: "127.0.0.1", dst: "127.0.0.1", protocol: 17 }, seg);
}

function eventJson(bytes: Buffer, kind: Ev): Json | undefined {
  const e = eventsOf(LinkType.RAW, [{ data: bytes }]).out.find((x) => x.kind === kind);
  return e && JSON.parse(e.json);
}

function lineOf(bytes: Buffer, kind: Ev): string {
  return eventsOf(LinkType.RAW, [{ data: bytes }]).out.find((x) => x.kind === kind)!.json;
}

const arg = (ev: Json, name: string) => ev.args.find((a: Json) => a.name === name).value;

test("TXT: TXTs lists the strings; TXT is the raw RDATA, length bytes included (Tracee's TXT field)", () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    questions: [{ type: "TXT", name: "uol.com.br" }],
    answers: [{ type: "TXT", name: "uol.com.br", ttl: 60, data: ["v=spf1 include:spf.uol.com.br ~all", "two"] }],
  });
  const dns = arg(eventJson(dnsPacket(msg), Ev.DNS)!, "proto_dns");
  assert.deepEqual(dns.answers[0].TXTs, ["v=spf1 include:spf.uol.com.br ~all", "two"]);
  assert.equal(dns.answers[0].TXT, "\u0022v=spf1 include:spf.uol.com.br ~all\u0003two");
  // and in the JSON text the length byte is a \u00XX escape, as Go writes it
  assert.match(lineOf(dnsPacket(msg), Ev.DNS), /"TXT":"\\"v=spf1 include:spf\.uol\.com\.br ~all\\u0003two"/);
  // dns_response's answer for TXT is that raw TXT text
  const resp = arg(eventJson(dnsPacket(msg), Ev.DNSResponse)!, "dns_response");
  assert.equal(resp[0].dns_answer[0].answer, dns.answers[0].TXT);
});

test('an empty TXT record has TXTs null; non-TXT records have TXTs null and TXT ""', () => {
  const empty = Buffer.concat([
    craft.dns({ type: "response", id: 1, questions: [{ type: "TXT", name: "t.test" }] }),
    Buffer.from([0, 0, 16, 0, 1, 0, 0, 0, 9, 0, 0]),
  ]); // root-named TXT RR with RDLENGTH 0
  empty.writeUInt16BE(1, 6);
  const rr = arg(eventJson(dnsPacket(empty), Ev.DNS)!, "proto_dns").answers[0];
  assert.equal(rr.type, "TXT");
  assert.equal(rr.TXTs, null);
  assert.equal(rr.TXT, "");
});

test("HINFO fills TXTs and TXT like TXT (gopacket decodes both as character-strings)", () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    questions: [{ type: "HINFO", name: "h.test" }],
    answers: [{ type: "HINFO", name: "h.test", ttl: 5, data: { cpu: "x86", os: "linux" } }],
  });
  const rr = arg(eventJson(dnsPacket(msg), Ev.DNS)!, "proto_dns").answers[0];
  assert.equal(rr.type, "HINFO");
  assert.deepEqual(rr.TXTs, ["x86", "linux"]);
  assert.equal(rr.TXT, "\u0003x86\u0005linux");
});

test('dns_response answers: MX gives the exchange, SOA/SRV/other types "not implemented"; no answers gives null', () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    questions: [{ type: "ANY" as any, name: "netsig.test" }],
    answers: [
      { type: "MX", name: "netsig.test", ttl: 1, data: { preference: 10, exchange: "mx.netsig.test" } },
      { type: "SRV", name: "netsig.test", ttl: 1, data: { priority: 1, weight: 2, port: 5060, target: "sip.netsig.test" } },
      {
        type: "SOA",
        name: "netsig.test",
        ttl: 1,
        data: { mname: "ns.netsig.test", rname: "root.netsig.test", serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 },
      },
    ],
  });
  const resp = arg(eventJson(dnsPacket(msg), Ev.DNSResponse)!, "dns_response");
  assert.deepEqual(
    resp[0].dns_answer.map((a: Json) => a.answer),
    ["mx.netsig.test", "not implemented", "not implemented"],
  );
  assert.deepEqual(
    resp[0].query_data,
    { query: "netsig.test", query_type: "Unknown", query_class: "IN" },
    "ANY (255) is not named by gopacket's DNSType",
  );
  const nx = craft.dns({ type: "response", id: 2, flags: 3, questions: [{ type: "A", name: "nope.netsig.test" }] });
  const nxResp = arg(eventJson(dnsPacket(nx), Ev.DNSResponse)!, "dns_response");
  assert.equal(nxResp[0].dns_answer, null);
  assert.equal(arg(eventJson(dnsPacket(nx), Ev.DNS)!, "proto_dns").responseCode, "non-existent domain");
});

test("SOA mailbox, SRV and MX sub-objects carry their values", () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    questions: [{ type: "SOA", name: "uol.com.br" }],
    answers: [
      {
        type: "SOA",
        name: "uol.com.br",
        ttl: 9,
        data: {
          mname: "eliot.uol.com.br",
          rname: "root.uol.com.br",
          serial: 2024,
          refresh: 7200,
          retry: 900,
          expire: 1209600,
          minimum: 86400,
        },
      },
      { type: "SRV", name: "_sip._tcp.netsig.test", ttl: 9, data: { priority: 10, weight: 60, port: 5060, target: "sip.netsig.test" } },
    ],
  });
  const ans = arg(eventJson(dnsPacket(msg), Ev.DNS)!, "proto_dns").answers;
  assert.deepEqual(ans[0].SOA, {
    MName: "eliot.uol.com.br",
    RName: "root.uol.com.br",
    serial: 2024,
    refresh: 7200,
    retry: 900,
    expire: 1209600,
    minimum: 86400,
  });
  assert.deepEqual(ans[1].SRV, { priority: 10, weight: 60, port: 5060, name: "sip.netsig.test" });
});

test('EDNS: OPT has class "Unknown" (it holds the UDP size), raw TTL, options as {code, data}; extended RCODE joins the header\'s', () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    flags: 0,
    questions: [{ type: "A", name: "a.test" }],
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: 1232,
        extendedRcode: 1,
        ednsVersion: 0,
        flags: 0x8000,
        options: [
          { code: 10, data: Buffer.from("abcdefgh") },
          { code: 77, data: Buffer.from([0xff]) },
        ],
      } as any,
    ],
  });
  const dns = arg(eventJson(dnsPacket(msg), Ev.DNS)!, "proto_dns");
  const opt = dns.additionals[0];
  assert.equal(opt.name, "");
  assert.equal(opt.class, "Unknown");
  assert.equal(opt.TTL, (1 << 24) | 0x8000, "TTL is raw: extended rcode, version, DO bit");
  assert.deepEqual(
    opt.OPT,
    [
      { code: "Cookie", data: "abcdefgh" },
      { code: "Unknown", data: "\ufffd" },
    ],
    "parsed JSON: the invalid byte reads as U+FFFD",
  );
  assert.equal(dns.responseCode, "bad opt version", "rcode 0 | extended 1<<4 = 16 (BADVERS)");
  assert.match(
    lineOf(dnsPacket(msg), Ev.DNS),
    /\{"code":"Unknown","data":"\\ufffd"\}/,
    "an invalid byte is written as \\ufffd, as Go does",
  );
});

test("names with bytes that are not UTF-8 keep one character per byte and print \\ufffd per byte (Go)", () => {
  const msg = Buffer.from(craft.dns({ type: "query", id: 1, questions: [{ type: "A", name: "xxxx.test" }] }));
  msg[13] = 0xe2;
  msg[14] = 0x82; // an incomplete 3-byte sequence followed by "xx"
  const req = eventJson(dnsPacket(msg, false, 40000, 53), Ev.DNSRequest)!;
  const q = arg(req, "dns_questions")[0].query;
  assert.equal(q.length, "xxxx.test".length);
  assert.match(lineOf(dnsPacket(msg, false, 40000, 53), Ev.DNSRequest), /"query":"\\ufffd\\ufffdxx\.test"/);
});

test("HTML-sensitive characters are escaped as Go's encoding/json does", () => {
  const msg = craft.dns({
    type: "response",
    id: 1,
    questions: [{ type: "TXT", name: "t.test" }],
    answers: [{ type: "TXT", name: "t.test", ttl: 1, data: ["<a&b>\u2028"] }],
  });
  assert.match(lineOf(dnsPacket(msg), Ev.DNS), /"TXTs":\["\\u003ca\\u0026b\\u003e\\u2028"\]/);
});

test("A/AAAA RDATA of an odd length prints as Go's net.IP does", () => {
  const base = craft.dns({ type: "response", id: 1, questions: [{ type: "A", name: "a.test" }] });
  const rr = Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]); // A with 3-byte RDATA
  const msg = Buffer.concat([base, rr]);
  msg.writeUInt16BE(1, 6);
  const ans = arg(eventJson(dnsPacket(msg), Ev.DNS)!, "proto_dns").answers[0];
  assert.equal(ans.IP, "?010203");
});

test("dns_request/dns_response need exactly one question; net_packet_dns does not", () => {
  const two = craft.dns({
    type: "query",
    id: 1,
    questions: [
      { type: "A", name: "a.test" },
      { type: "A", name: "b.test" },
    ],
  });
  const { out } = eventsOf(LinkType.RAW, [{ data: dnsPacket(two, false, 40000, 53) }]);
  assert.deepEqual(
    out.map((e) => e.kind),
    [Ev.IPv4, Ev.UDP, Ev.DNS],
  );
});

test('PktMeta.packet_len is the IP header\'s length field: IPv4 total length, IPv6 payload length; iface "any" when unknown', () => {
  const q = craft.dns({ type: "query", id: 1, questions: [{ type: "A", name: "a.test" }] });
  const v4 = arg(eventJson(dnsPacket(q, false, 40000, 53), Ev.DNSRequest)!, "metadata");
  const v6 = arg(eventJson(dnsPacket(q, true, 40000, 53), Ev.DNSRequest)!, "metadata");
  assert.equal(v4.packet_len, 20 + 8 + q.length);
  assert.equal(v6.packet_len, 8 + q.length);
  assert.equal(v4.iface, "any");
  const named = eventsOf(LinkType.RAW, [{ data: dnsPacket(q, false, 40000, 53), iface: "lo" }]).out.find((e) => e.kind === Ev.DNSRequest)!;
  assert.equal((named.ev.args[0].value as Json).iface, "lo", "netsig names the interface when the capture does");
});

test("ICMP typeCode names and id/seq for every type; ICMPv6 only typeCode and checksum", () => {
  const unreach = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 1 }, craft.icmp({ type: 3, code: 4, id: 0, seq: 1400 }));
  const icmp = arg(eventJson(unreach, Ev.ICMP)!, "proto_icmp");
  assert.equal(icmp.typeCode, "DestinationUnreachable(FragmentationNeeded)");
  assert.equal(icmp.seq, 1400, "seq is bytes 6-7 whatever the type (the next-hop MTU here)");
  const ns = craft.ipv6({ src: "fe80::1", dst: "ff02::1", nextHeader: 58 }, craft.icmp({ type: 135, code: 0 }, Buffer.alloc(16)));
  assert.deepEqual(Object.keys(arg(eventJson(ns, Ev.ICMPv6)!, "proto_icmpv6")), ["typeCode", "checksum"]);
  assert.equal(arg(eventJson(ns, Ev.ICMPv6)!, "proto_icmpv6").typeCode, "NeighborSolicitation");
});

test("TCP CWR: netsig reports the flag's real value (Tracee's copy never sets it: a Tracee bug netsig does not copy)", () => {
  const seg = craft.ipv4(
    { src: "10.0.0.1", dst: "10.0.0.2", protocol: 6 },
    craft.tcp({ srcPort: 1, dstPort: 2, flags: 0x80 | 0x40 | 0x02 }),
  );
  const t = arg(eventJson(seg, Ev.TCP)!, "proto_tcp");
  assert.equal(t.CWR, 1);
  assert.equal(t.ECE, 1);
  assert.equal(t.SYN, 1);
});

test("IPv4 protocol names follow gopacket; IP events are emitted for every IP packet (Tracee's eBPF only passes TCP/UDP/ICMP)", () => {
  const igmp = craft.ipv4({ src: "10.0.0.1", dst: "224.0.0.1", protocol: 2 }, Buffer.alloc(8));
  const v = arg(eventJson(igmp, Ev.IPv4)!, "proto_ipv4");
  assert.equal(v.protocol, "IGMP");
  const unknown = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 253 }, Buffer.alloc(8));
  assert.equal(arg(eventJson(unknown, Ev.IPv4)!, "proto_ipv4").protocol, "UnknownIPProtocol");
});

test("IP fragments: every fragment's IP event with its own header; transport and DNS once, from the fragment completing the datagram (Tracee's hooks see whole datagrams; gopacket alone would give no transport layer to a fragment)", () => {
  const q = craft.dns({
    type: "response",
    id: 9,
    questions: [{ type: "A", name: "f.test" }],
    answers: [{ type: "A", name: "f.test", ttl: 5, data: "192.0.2.9" }],
  });
  const seg = craft.udp({ srcPort: 53, dstPort: 40000 }, q);
  const ip = { src: "127.0.0.1", dst: "127.0.0.1", protocol: 17, id: 77 };
  const first = craft.ipv4({ ...ip, flags: 1 }, seg.subarray(0, 24));
  const last = craft.ipv4({ ...ip, flags: 0, fragOffset: 3 }, seg.subarray(24));
  const { out } = eventsOf(LinkType.RAW, [{ data: first }, { data: last }]);
  const lines = out.map((e) => JSON.parse(e.json) as Json);
  assert.deepEqual(
    lines.map((l) => l.eventName),
    ["net_packet_ipv4", "net_packet_ipv4", "net_packet_udp", "net_packet_dns", "net_packet_dns_response"],
  );
  // the IP events: each fragment's header (length, flags, offset) as captured
  assert.deepEqual(
    lines.slice(0, 2).map((l) => (({ length, flags, fragOffset }) => ({ length, flags, fragOffset }))(arg(l, "proto_ipv4"))),
    [
      { length: 20 + 24, flags: 1, fragOffset: 0 },
      { length: 20 + seg.length - 24, flags: 0, fragOffset: 3 },
    ],
  );
  // the rest: the reassembled datagram, at the completing fragment's time; packet_len stays that fragment's header field
  assert.equal(arg(lines[2], "proto_udp").length, seg.length);
  assert.equal(lines[2].timestamp, lines[1].timestamp);
  assert.equal(arg(lines[4], "metadata").packet_len, 20 + seg.length - 24);
  assert.equal(arg(lines[4], "dns_response")[0].dns_answer[0].answer, "192.0.2.9");
});

// ---- the pod's identity (engine/events/envelope.ts): Tracee's Container and
// Kubernetes structs (types/trace/trace.go, v0.13.0 to v0.24.1), every field
// `omitempty`, the structs themselves always printed

const POD_ENV = {
  POD_NAME: "web-7d4b9c-x2x5q",
  POD_NAMESPACE: "shop",
  POD_UID: "3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6b",
  NETSIG_CONTAINER_ID: "8d5f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
  NETSIG_CONTAINER_NAME: "app",
  NETSIG_CONTAINER_IMAGE: "nginx:1.27",
  NETSIG_CONTAINER_IMAGE_DIGEST: "sha256:0123abcd",
};
const FULL_ENVELOPE =
  '"hostName":HOST,"containerId":"8d5f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",' +
  '"container":{"id":"8d5f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f","name":"app","image":"nginx:1.27","imageDigest":"sha256:0123abcd"},' +
  '"kubernetes":{"podName":"web-7d4b9c-x2x5q","podNamespace":"shop","podUID":"3f1c2a9e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"},"eventId":';

/** every line's text from hostName to eventId, with the host name taken out */
function envelopes(stdout: string): string[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => {
      const m = /"hostName":("[^"]*"),.*?"eventId":/.exec(l);
      assert.ok(m, l.slice(0, 300));
      return m[0].replace(m[1], "HOST");
    });
}

test("pod envelope: containerId, container {id, name, image, imageDigest}, kubernetes {podName, podNamespace, podUID} in Tracee's order, containerId = container.id, podSandbox never printed (netsig is never the pause container); events, sandboxed signatures' findings, in-process rules' findings", () => {
  const dns = join(EXAMPLES, "dns-lo.pcap");
  const runs = [
    netsig(["replay", dns, "--quiet"], undefined, POD_ENV),
    netsig(["replay", dns, "--quiet", "--signatures", join(__dirname, "..", "..", "signatures")], undefined, POD_ENV),
    netsig(["replay", dns, "--quiet", "--signatures", join(__dirname, "..", "..", "signatures"), "--unsandboxed"], undefined, POD_ENV),
    netsig(["replay", dns, "--quiet", "--rules", "@shipped"], undefined, POD_ENV),
  ];
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const all = envelopes(r.stdout);
    assert.ok(all.length > 0);
    for (const e of all) assert.equal(e, FULL_ENVELOPE);
  }
  assert.ok(runs[1].stdout.includes('"eventName":"dns_rebinding"'), "signature findings among them");
});

test("pod envelope: only what is known is printed (omitempty); nothing known is Tracee's {} and {}; a plain CONTAINER_NAME is not read", () => {
  const dns = join(EXAMPLES, "dns-lo.pcap");
  const some = netsig(
    ["replay", dns, "--quiet", "--events", "net_packet_dns_request", "--signatures", join(__dirname, "..", "..", "signatures")],
    undefined,
    { POD_NAME: "web-1", POD_NAMESPACE: "", CONTAINER_NAME: "not-netsigs", NETSIG_CONTAINER_IMAGE: "nginx:1.27" },
  );
  assert.equal(some.code, 0, some.stderr);
  for (const e of envelopes(some.stdout))
    assert.equal(e, '"hostName":HOST,"containerId":"","container":{"image":"nginx:1.27"},"kubernetes":{"podName":"web-1"},"eventId":');
  const none = netsig(["replay", dns, "--quiet", "--events", "net_packet_dns_request"], undefined, { CONTAINER_NAME: "not-netsigs" });
  for (const e of envelopes(none.stdout)) assert.equal(e, '"hostName":HOST,"containerId":"","container":{},"kubernetes":{},"eventId":');
});

test("pod envelope: values are Go-escaped like every string netsig prints (<, >, & and non-ASCII)", () => {
  const r = netsig(["replay", join(EXAMPLES, "dns-lo.pcap"), "--quiet", "--events", "net_packet_dns_request"], undefined, {
    POD_NAME: 'a<b>&\u00e9"q',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes('"kubernetes":{"podName":"a\\u003cb\\u003e\\u0026\u00e9\\"q"}'), r.stdout.slice(0, 600));
});

// ---- flows (engine/flows/; Tracee: pkg/ebpf/c/tracee.bpf.c cgroup_skb_submit_flow, pkg/events/derive/net_flow.go)

function flowPackets(): { data: Buffer; tsSec: number; tsNsec: number }[] {
  const seg = (src: string, dst: string, sp: number, dp: number, flags: number, t: number) => ({
    data: craft.ipv4({ src, dst, protocol: 6 }, craft.tcp({ srcPort: sp, dstPort: dp, flags })),
    tsSec: 1700000000 + t,
    tsNsec: 0,
  });
  const a = "10.0.0.1";
  const b = "203.0.113.9";
  const dnsAnswer = craft.dns({
    type: "response",
    id: 7,
    flags: 0x8180,
    questions: [{ type: "A", name: "www.example.com" }],
    answers: [
      { type: "CNAME", name: "www.example.com", ttl: 60, data: "edge.cdn.example.net" },
      { type: "A", name: "edge.cdn.example.net", ttl: 60, data: b },
    ],
  });
  return [
    { data: dnsPacket(dnsAnswer), tsSec: 1700000000, tsNsec: 0 },
    seg(a, b, 40000, 443, 2, 1), // SYN
    seg(b, a, 443, 40000, 18, 2), // SYN-ACK: begin
    seg(a, b, 40000, 443, 17, 3), // FIN-ACK: end
    seg(b, a, 443, 40000, 17, 4), // the other FIN: nothing
    seg(a, b, 40001, 80, 2, 5), // SYN, refused: nothing
    seg(b, a, 80, 40001, 20, 6),
    seg(a, b, 40002, 443, 2, 100), // begun, then the input ends: netsig's end
    seg(b, a, 443, 40002, 18, 101),
  ];
}

test("net_flow_tcp_*: begin at the SYN-ACK, end at the first FIN or RST (Tracee); none without a SYN-ACK; netsig ends a begun flow open at the end of the input", () => {
  const { out, pipeline } = eventsOf(LinkType.RAW, flowPackets(), (1 << Ev.FlowTCPBegin) | (1 << Ev.FlowTCPEnd));
  pipeline.finish();
  assert.deepEqual(
    out.map((e) => [e.ev.eventName, e.ev.timestamp / 1e9 - 1700000000, (e.ev.args[3] as { value: number }).value]),
    [
      ["net_flow_tcp_begin", 2, 40000],
      ["net_flow_tcp_end", 3, 40000],
      ["net_flow_tcp_begin", 101, 40002],
      ["net_flow_tcp_end", 101, 40002],
    ],
  );
});

test("net_flow_*: Tracee's args (its arg types of Dec 2023) then community_id; src is the originator on both; names in Tracee's CNAME order; [] (never null) when none", () => {
  const { out } = eventsOf(LinkType.RAW, flowPackets(), (1 << Ev.FlowTCPBegin) | (1 << Ev.FlowTCPEnd));
  const line = out[0].json;
  assert.ok(
    line.includes(
      '"args":[{"name":"conn_direction","type":"const char*","value":"outgoing"},{"name":"src","type":"const char*","value":"10.0.0.1"},' +
        '{"name":"dst","type":"const char*","value":"203.0.113.9"},{"name":"src_port","type":"u16","value":40000},{"name":"dst_port","type":"u16","value":443},' +
        '{"name":"src_dns","type":"const char **","value":[]},{"name":"dst_dns","type":"const char **","value":["www.example.com","edge.cdn.example.net"]},' +
        '{"name":"community_id","type":"const char*","value":"1:',
    ),
    line,
  );
  assert.equal(out[1].ev.args[1].value, "10.0.0.1", "the end's src is the originator too, though the FIN came from it");
});

test("DNS names in capture time: an answer's TTL runs out by packet timestamps (Tracee compares with the wall clock)", () => {
  // the same capture with the connection 61 s after the 60 s answer: no names
  const late = flowPackets().map((p, i) => (i > 0 ? { ...p, tsSec: p.tsSec + 60 } : p));
  const { out } = eventsOf(LinkType.RAW, late, 1 << Ev.FlowTCPBegin);
  assert.deepEqual(out[0].ev.args[6].value, []);
});

// ---- HTTP (net_packet_http, _request, _response). Tracee (pkg/events/derive/net_packet_helpers.go,
// getProtoHTTPFromRequestPacket / ...ResponsePacket; first in e46dd1ed7, Jan 2023) runs Go's
// http.ReadRequest and http.ReadResponse(r, nil) on one packet's payload and copies Method, Proto,
// Host, URL.Path, Header, ContentLength, Status, StatusCode. netsig gives what those Go functions
// give (net/http request.go readRequest, response.go ReadResponse, transfer.go readTransfer,
// fixLength, parseTransferEncoding, fixTrailer, shouldClose, header.go fixPragmaCacheControl;
// net/textproto reader.go readMIMEHeader, CanonicalMIMEHeaderKey; net/url ParseRequestURI; Go 1.21+).

/** net_packet_http's ProtoHTTP values for a client stream (and a server stream) */
function httpValues(client: string, server?: string): Json[] {
  const segs: Segment[] = [[true, client]];
  if (server !== undefined) segs.push([false, server]);
  return craftedHttp(segs).http;
}
const req1 = (head: string): Json => {
  const r = httpValues(head);
  assert.equal(r.length, 1, JSON.stringify(head));
  return r[0];
};

test("HTTP uri_path is Go's URL.Path: no query, percent-decoded ('+' kept), '*' for OPTIONS *, an absolute URI's path", () => {
  assert.equal(req1("GET /a/b?x=1&y=%41 HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "/a/b");
  assert.equal(req1("GET /a%20b/c+d%2Fe HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "/a b/c+d/e");
  assert.equal(req1("GET /only? HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "/only");
  assert.equal(req1("GET //double HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "//double", "no scheme: // is path, not authority");
  assert.equal(req1("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "*");
  assert.equal(req1("GET /caf%C3%A9 HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "/caf\u00e9");
  // invalid UTF-8 after decoding: Go keeps the bytes; encoding/json writes each as \ufffd (as DNS names: decode/text.ts)
  assert.equal(req1("GET /%FF HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "/\udcff");
  // Go rejects (no event): a bad escape, a relative target, an empty scheme, a control byte
  for (const t of ["/%zz", "/%4", "rel/path", ":x", "/a\x01b"]) assert.deepEqual(httpValues(`GET ${t} HTTP/1.1\r\nHost: h\r\n\r\n`), [], t);
});

test("HTTP host is Go's Request.Host: an absolute URI's host, else the Host header (removed from headers); two Host headers: no event", () => {
  const abs = req1("GET http://user:pw@example.test:8080/p?q HTTP/1.1\r\nHost: other\r\nAccept: */*\r\n\r\n");
  assert.deepEqual([abs.host, abs.uri_path, abs.headers], ["example.test:8080", "/p", { Accept: ["*/*"] }]);
  assert.deepEqual([req1("GET http://h2 HTTP/1.1\r\n\r\n").host, req1("GET http://h2 HTTP/1.1\r\n\r\n").uri_path], ["h2", ""]);
  assert.equal(req1("GET HTTP://[::1]:80/x HTTP/1.1\r\n\r\n").host, "[::1]:80", "the scheme is case-insensitive");
  assert.equal(req1("GET mailto:x HTTP/1.1\r\nHost: h\r\n\r\n").uri_path, "", "opaque: Path is empty");
  const connect = req1("CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n");
  assert.deepEqual([connect.host, connect.uri_path], ["example.test:443", ""], "CONNECT's authority form");
  const plain = req1("GET / HTTP/1.1\r\nhost:  a.test:81 \r\n\r\n");
  assert.deepEqual([plain.host, plain.headers], ["a.test:81", {}]);
  assert.equal(req1("GET / HTTP/1.0\r\n\r\n").host, "", "no Host");
  assert.deepEqual(httpValues("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), []);
  assert.deepEqual(httpValues("GET http://h:port/ HTTP/1.1\r\n\r\n"), [], "a bad port in the URI");
});

test("HTTP headers are Go's http.Header: canonical names, trimmed values, repeats in order, folded lines joined; JSON names sorted", () => {
  const h = req1(
    "GET / HTTP/1.1\r\nHost: h\r\nuser-agent: curl/8.0 \r\nX-DUP: 1\r\nx-dup:2\r\nwww-authenticate: a\r\nX-Fold: one\r\n  two\r\n\tthree\r\nX-Empty:\r\nSpace Name: v\r\n\r\n",
  ).headers;
  assert.deepEqual(h, {
    "Space Name": ["v"],
    "User-Agent": ["curl/8.0"],
    "Www-Authenticate": ["a"],
    "X-Dup": ["1", "2"],
    "X-Empty": [""],
    "X-Fold": ["one two three"],
  });
  // names Go leaves as they are when they hold a space; sorted bytewise in the JSON text
  const line = craftedHttp([[true, "GET / HTTP/1.1\r\nHost: h\r\nb: 1\r\n10: x\r\n9: y\r\n!x: z\r\nA: 2\r\n\r\n"]]).out.find(
    (e) => e.kind === Ev.HTTP,
  )!.json;
  assert.match(line, /"headers":\{"!x":\["z"\],"10":\["x"\],"9":\["y"\],"A":\["2"\],"B":\["1"\]\}/);
  // < > & escaped as Go's encoding/json does
  assert.match(
    craftedHttp([[true, "GET / HTTP/1.1\r\nHost: h\r\nX: <a&b>\r\n\r\n"]]).out.find((e) => e.kind === Ev.HTTP)!.json,
    /"X":\["\\u003ca\\u0026b\\u003e"\]/,
  );
  // bare LF line ends are accepted (bufio.ReadLine)
  assert.deepEqual(req1("GET / HTTP/1.1\nHost: h\nA: b\n\n").headers, { A: ["b"] });
  // Go rejects: a first field line that is folded, a line without a colon, a control byte, a bad name, an empty name
  assert.deepEqual(httpValues("GET / HTTP/1.1\r\n Lead: x\r\nHost: h\r\n\r\n"), [], "a folded first field line");
  assert.equal(req1("GET / HTTP/1.1\r\nHost: h\r\n more\r\n\r\n").host, "h more", "a later one continues its field");
  for (const bad of ["NoColon", "A: b\x01c", "B@d: x", ": x"])
    assert.deepEqual(httpValues(`GET / HTTP/1.1\r\nHost: h\r\n${bad}\r\n\r\n`), [], JSON.stringify(bad));
});

test("HTTP content_length is Go's ContentLength: 0 without a body on a request, -1 unknown, chunked -1; Transfer-Encoding goes", () => {
  assert.equal(req1("GET / HTTP/1.1\r\nHost: h\r\n\r\n").content_length, 0);
  assert.equal(req1("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345").content_length, 5);
  const chunked = req1("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\nContent-Length: 9\r\nTrailer: X-T\r\n\r\n0\r\n\r\n");
  assert.deepEqual([chunked.content_length, chunked.headers], [-1, {}], "TE, and beside it Content-Length and Trailer, removed");
  const old = req1("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nab");
  assert.deepEqual([old.content_length, old.headers], [2, { "Content-Length": ["2"] }], "HTTP/1.0: TE removed and ignored");
  const dup = req1("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length:  3\r\n\r\nabc");
  assert.deepEqual([dup.content_length, dup.headers["Content-Length"]], [3, ["3"]], "equal repeats folded into one");
  const empty = req1("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n");
  assert.deepEqual([empty.content_length, empty.headers], [0, {}], "an empty Content-Length is removed");
  for (const bad of [
    "Content-Length: 1\r\nContent-Length: 2",
    "Content-Length: -1",
    "Content-Length: +1",
    "Content-Length: 0x10",
    "Transfer-Encoding: gzip",
  ])
    assert.deepEqual(httpValues(`POST / HTTP/1.1\r\nHost: h\r\n${bad}\r\n\r\n`), [], bad);
  // netsig departs: Go's int64 above 2^53-1 cannot be a JSON-exact number in JavaScript; netsig prints 2^53-1
  assert.equal(req1("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n").content_length, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(httpValues("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n"), [], "over int64");
});

test("HTTP responses: status is the line after the version, status_code its number; no body for 1xx/204/304; -1 until close", () => {
  const r = httpValues(
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "HTTP/1.1   200 All Good \r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204\r\nContent-Length: 7\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody",
  ).slice(1);
  assert.deepEqual(
    r.map((h) => [h.status, h.status_code, h.content_length, h.direction, h.method, h.host, h.uri_path]),
    [
      ["200 All Good ", 200, 2, "response", "", "", ""],
      ["204", 204, 0, "response", "", "", ""],
      ["304 Not Modified", 304, 0, "response", "", "", ""],
      ["200 OK", 200, -1, "response", "", "", ""],
    ],
  );
  // the request's fields of a response, and the response's of a request, are Go's zero values
  const q = req1("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  assert.deepEqual([q.status, q.status_code], ["", 0]);
  // Go rejects: a code not of 3 characters, a negative code, no space
  for (const bad of ["HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 -01 x", "HTTP/1.1"])
    assert.deepEqual(httpValues("GET / HTTP/1.1\r\nHost: h\r\n\r\n", `${bad}\r\n\r\n`).length, 1, bad);
});

test("HTTP responses: to HEAD, content_length is the header's (ReadResponse without the request); 1.1's Connection: close goes", () => {
  const r = httpValues(
    "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: keep-alive, Close\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
  );
  assert.deepEqual(
    r.slice(2).map((h) => [h.content_length, h.headers]),
    [
      [1234, { "Content-Length": ["1234"] }],
      [0, { Connection: ["close"], "Content-Length": ["0"] }],
    ],
  );
  // Pragma: no-cache without Cache-Control gets one (fixPragmaCacheControl), requests and responses
  assert.deepEqual(req1("GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n").headers, {
    "Cache-Control": ["no-cache"],
    Pragma: ["no-cache"],
  });
  assert.deepEqual(req1("GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\nCache-Control: max-age=0\r\n\r\n").headers["Cache-Control"], [
    "max-age=0",
  ]);
});

test("HTTP: netsig departs from Tracee by reassembling: a header block over several segments is one message (Tracee: none)", () => {
  // Tracee parses each packet alone: ReadRequest on a partial header block fails and it emits nothing.
  const head = "GET /split HTTP/1.1\r\nHost: h\r\nX-Long: " + "l".repeat(3000) + "\r\n\r\n";
  const segs: Segment[] = [];
  for (let i = 0; i < head.length; i += 1000) segs.push([true, head.slice(i, i + 1000)]);
  const r = craftedHttp(segs);
  assert.equal(r.http.length, 1);
  assert.equal(r.http[0].headers["X-Long"][0].length, 3000);
  // its PktMeta is the packet that completed the block (the last segment: 20 + 20 + its bytes)
  const meta = r.out.find((e) => e.kind === Ev.HTTPRequest)!.ev.args[0].value as Json;
  assert.equal(meta.packet_len, 40 + (head.length % 1000 || 1000));
  // Tracee's src/dst/src_port/dst_port of net_packet_http are the sender's; so are netsig's
  const ev = r.out.find((e) => e.kind === Ev.HTTP)!.ev;
  assert.deepEqual(
    ev.args.slice(0, 4).map((a) => a.value),
    ["127.0.0.1", "127.0.0.1", 40000, 8080],
  );
});
