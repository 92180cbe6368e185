// The differential test's two sides and their comparison.
//
// netsig side: the capture is read and decoded in-process; every event is
// printed by the real JSON writer and parsed back, and filed under the number
// of the packet that produced it (the decoder's packet counter).
//
// tshark side: each frame's dissection is turned into the events netsig should
// print for it, holding only the values tshark states. The names (DNS types,
// ICMP type/code, IP protocols) come from netsig's vocabulary tables, which
// have their own test against gopacket (vocab.test.ts): what is compared here
// is the numbers and the text on the wire.
//
// Both sides are flattened to "path -> JSON value" and compared path by path:
// every path the tshark side states must be in netsig's event with that value.

import { readCapture } from "../../engine/capture/reader";
import { DEFAULT_EVENTS, RECORD_EVENTS, RECORD_TYPE_EVENTS } from "../../engine/events/registry";
import { EventJSONWriter } from "../../engine/events/json";
import { EventPipeline } from "../../engine/events/pipeline";
import { EVENT_NAMES, Ev } from "../../engine/types/events";
import {
  dnsClassName,
  dnsOpCodeName,
  dnsOptionCodeName,
  dnsResponseCodeName,
  dnsTypeName,
  icmpv4TypeCodeName,
  icmpv6TypeCodeName,
  ipProtocolName,
} from "../../engine/events/vocab";
import { HOST } from "./run";
import { Obj, type TsFrame } from "./tshark";

/** one event, by its short kind ("ipv4", "tcp", "dns", "dns_request"...) with its args by name */
export interface Event {
  kind: string;
  args: Record<string, unknown>;
}
/** what one packet gave (netsig) or should give (expected from tshark) */
export interface Frame {
  ts: string;
  events: Event[];
}

const SHORT = EVENT_NAMES.map((n) => n.replace("net_packet_", ""));
/**
 * The event kinds compared, plus "dns_wire": the type and class numbers of each
 * DNS question and record as netsig decoded them (the events only carry names,
 * and gopacket's names are "Unknown" for RRSIG, DNSKEY, SVCB... alike).
 */
export const KINDS = [...SHORT, "dns_wire"];
export const DNS_KINDS = KINDS.filter((k) => k.startsWith("dns"));
/** the IP events, which every fragment yields with its own header */
export const IP_KINDS = ["ipv4", "ipv6"];
/** the rest: transport and DNS, which a fragmented datagram yields once reassembled */
export const NON_IP_KINDS = KINDS.filter((k) => !IP_KINDS.includes(k));

interface RawRR {
  type: number;
  class: number;
}
const wire = (rrs: RawRR[]): RawRR[] => rrs.map((r) => ({ type: r.type, class: r.class }));

// ---------------------------------------------------------------- netsig side

export async function netsigFrames(file: string): Promise<{ frames: Frame[]; error?: string }> {
  const frames: Frame[] = [];
  const writer = new EventJSONWriter(HOST);
  // (--events' default: the opt-in flow events have no frame of their own to compare)
  const pipeline = new EventPipeline(DEFAULT_EVENTS, HOST, (ev, kind, p) => {
    // the flow stage's TLS hellos have their own differential (test/tls.test.ts); its HTTP messages are
    // compared here, with tshark's single-packet HTTP messages (the flow events are not in the default set)
    if (RECORD_EVENTS & ~RECORD_TYPE_EVENTS.http & (1 << kind)) return;
    const n = pipeline.decoder.stats.packets; // the packet being decoded, counted from 1
    const line = JSON.parse(writer.write(ev, kind, p.timestampString())) as { args: { name: string; value: unknown }[] };
    const args: Record<string, unknown> = {};
    for (const a of line.args) args[a.name] = a.value;
    const f = (frames[n - 1] ??= { ts: "", events: [] });
    f.events.push({ kind: SHORT[kind], args });
    if (kind === Ev.DNS && p.dns !== null) {
      const m = p.dns; // the message of this event (the builder points p.dns at each message of a segment in turn)
      f.events.push({
        kind: "dns_wire",
        args: {
          questions: wire(m.questions),
          answers: wire(m.answers),
          authorities: wire(m.authorities),
          additionals: wire(m.additionals),
        },
      });
    }
  });
  const summary = await readCapture(file, (rec) => {
    pipeline.onPacket(rec);
    const n = pipeline.decoder.stats.packets;
    (frames[n - 1] ??= { ts: "", events: [] }).ts = pipeline.decoder.packet.timestampString();
  });
  return { frames, error: summary.error?.message };
}

// ---------------------------------------------------------------- tshark side

const num = (o: Obj, k: string): number | undefined => {
  const s = o.str(k);
  if (s === undefined || s === "") return undefined;
  const n = s.startsWith("0x") ? parseInt(s, 16) : Number(s);
  return Number.isNaN(n) ? undefined : n;
};

/** tshark prints bytes as "0a:1b:..." */
export function hexBytes(s: string | undefined): Buffer {
  return s === undefined || s === "" ? Buffer.alloc(0) : Buffer.from(s.replace(/:/g, ""), "hex");
}

/**
 * Bytes as Go text after a JSON round trip: valid UTF-8 stays, every byte that
 * is not part of a valid sequence becomes U+FFFD (one per byte). Written here
 * with the platform's strict decoder, independently of engine/decode/text.ts.
 */
const strict = new TextDecoder("utf-8", { fatal: true });
export function goBytesText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; ) {
    if (b[i] < 0x80) {
      s += String.fromCharCode(b[i]);
      i++;
      continue;
    }
    let ok = 0;
    for (let n = 2; n <= 4 && i + n <= b.length && ok === 0; n++) {
      try {
        if ([...strict.decode(b.subarray(i, i + n))].length === 1) ok = n;
      } catch {
        /* not n bytes */
      }
    }
    if (ok === 0) {
      s += "\ufffd";
      i++;
    } else {
      s += strict.decode(b.subarray(i, i + ok));
      i += ok;
    }
  }
  return s;
}

/** an IPv6 address as Go prints it, from tshark's RFC 5952 text (the two differ on IPv4-mapped addresses) */
export function goIPv6(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(s);
  if (hex) {
    const a = parseInt(hex[1], 16),
      b = parseInt(hex[2], 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return s;
}

/** a DNS name as tshark shows it -> as netsig prints it (Go leaves the root empty) */
const dnsName = (s: string | undefined): string | undefined => (s === "<Root>" ? "" : s);

// tshark's markers of a message it could not dissect whole: malformed, cut short, or
// the first fragment of an unreassembled datagram
const INCOMPLETE = new Set(["_ws.malformed", "_ws.short", "_ws.unreassembled"]);

/**
 * Could tshark not decode this DNS message whole? Either a marker (also when it
 * follows the tree as the next top-level layer), or a name tshark shows as
 * "<Name too long>", "<Name contains a pointer that loops>" and the like.
 */
export function isIncomplete(o: Obj): boolean {
  for (const [k, v] of o.entries) {
    if (INCOMPLETE.has(k)) return true;
    if (v instanceof Obj && isIncomplete(v)) return true;
    if (typeof v === "string" && k.startsWith("dns.") && v.startsWith("<") && v.endsWith(">") && v !== "<Root>") return true;
  }
  return false;
}

/** IPv4 MF or offset, or an IPv6 fragment header with M or an offset (an atomic fragment is not one) */
function isFragment(ipName: string, ip: Obj): boolean {
  if (ipName === "ip") return ((num(ip, "ip.flags") ?? 0) & 1) !== 0 || (num(ip, "ip.frag_offset") ?? 0) !== 0;
  return ip.find("ipv6.fraghdr.more") === "1" || Number(ip.find("ipv6.fraghdr.offset") ?? 0) !== 0;
}

/** with defragmentation on: did this fragment complete its datagram (tshark lists the fragments of it there)? */
function reassembledHere(ipName: string, ip: Obj): boolean {
  return ip.get(ipName === "ip" ? "ip.fragments" : "ipv6.fragments") !== undefined;
}

// link layers netsig decodes on the way to IP (tshark's protocol names)
const LINK = new Set(["frame", "eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "raw"]);

/** the frame's own IP header, when it has one: [protocol name, tree] */
function ipLayer(fr: TsFrame): [string, Obj] | undefined {
  const L = fr.layers;
  let k = 0;
  while (k < L.length && LINK.has(L[k][0])) k++;
  return k < L.length && (L[k][0] === "ip" || L[k][0] === "ipv6") ? L[k] : undefined;
}

/**
 * Is the frame an IP fragment (by its own header)? netsig reports a fragment's
 * IP event as it is, and the rest of a fragmented datagram on the fragment
 * that completes it: those are held to tshark's defragmentation.
 */
export function isFragmentFrame(fr: TsFrame): boolean {
  const l = ipLayer(fr);
  return l !== undefined && isFragment(l[0], l[1]);
}
const TRANSPORT: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };
const DNS_LAYERS = new Set(["dns", "mdns", "llmnr"]);

const EMPTY_SOA = { MName: "", RName: "", serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 };
const EMPTY_SRV = { priority: 0, weight: 0, port: 0, name: "" };
const EMPTY_MX = { preference: 0, name: "" };
const EMPTY_URI = { priority: 0, weight: 0, target: "" };

interface ExpRecord {
  type: number;
  klass: number | undefined;
  ttl: number | undefined;
  rec: Record<string, unknown>;
  answer: string | undefined;
}

function expectRecord(r: Obj, mdns: boolean): ExpRecord {
  const type = num(r, "dns.resp.type") as number;
  const opt = type === 41;
  let klass = opt ? num(r, "dns.rr.udp_payload_size") : num(r, "dns.resp.class");
  if (mdns && klass !== undefined && r.str("dns.resp.cache_flush") === "1") klass |= 0x8000;
  let ttl = num(r, "dns.resp.ttl");
  if (opt) {
    const ext = num(r, "dns.resp.ext_rcode"),
      ver = num(r, "dns.resp.edns0_version"),
      z = num(r, "dns.resp.z");
    ttl = ext === undefined || ver === undefined || z === undefined ? undefined : ((ext << 24) | (ver << 16) | z) >>> 0;
  } else if (ttl !== undefined && ttl < 0) ttl = ttl >>> 0; // tshark shows the TTL as signed
  // an SRV owner name "_service._proto.name" is shown in three fields instead of dns.resp.name
  const srvName = [r.str("dns.srv.service"), r.str("dns.srv.proto"), r.str("dns.srv.name")].filter((x) => x !== undefined);
  const rec: Record<string, unknown> = {
    name: dnsName(r.str("dns.resp.name") ?? (srvName.length === 3 ? srvName.join(".") : undefined)),
    type: dnsTypeName(type),
    class: klass === undefined ? undefined : dnsClassName(klass),
    TTL: ttl,
    IP: "",
    NS: "",
    CNAME: "",
    PTR: "",
    TXTs: null,
    SOA: EMPTY_SOA,
    SRV: EMPTY_SRV,
    MX: EMPTY_MX,
    OPT: [],
    URI: EMPTY_URI,
    TXT: "",
  };
  let answer: string | undefined = "not implemented";
  switch (type) {
    case 1:
      rec.IP = answer = r.str("dns.a");
      break;
    case 28:
      rec.IP = answer = goIPv6(r.str("dns.aaaa"));
      break;
    case 2:
      rec.NS = answer = dnsName(r.str("dns.ns"));
      break;
    case 5:
      rec.CNAME = answer = dnsName(r.str("dns.cname"));
      break;
    case 12:
      rec.PTR = answer = dnsName(r.str("dns.ptr.domain_name"));
      break;
    case 15:
      answer = dnsName(r.str("dns.mx.mail_exchange"));
      rec.MX = { preference: num(r, "dns.mx.preference"), name: answer };
      break;
    case 6:
      rec.SOA = {
        MName: dnsName(r.str("dns.soa.mname")),
        RName: dnsName(r.str("dns.soa.rname")),
        serial: num(r, "dns.soa.serial_number"),
        refresh: num(r, "dns.soa.refresh_interval"),
        retry: num(r, "dns.soa.retry_interval"),
        expire: num(r, "dns.soa.expire_limit"),
        minimum: num(r, "dns.soa.minimum_ttl"),
      };
      break;
    case 33:
      rec.SRV = {
        priority: num(r, "dns.srv.priority"),
        weight: num(r, "dns.srv.weight"),
        port: num(r, "dns.srv.port"),
        name: dnsName(r.str("dns.srv.target")),
      };
      break;
    case 16:
    case 13: {
      // character-strings; TXT is the whole RDATA as text, length bytes included
      const parts =
        type === 16
          ? r.all("dns.txt").map(String)
          : ([r.str("dns.hinfo.cpu"), r.str("dns.hinfo.os")].filter((x) => x !== undefined) as string[]);
      rec.TXTs = parts.length > 0 ? parts : null;
      // (rebuilt from ASCII strings only: a length byte >= 0x80 is not UTF-8, so Go prints U+FFFD for it)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: all of ASCII, control characters included
      rec.TXT = parts.every((p) => /^[\x00-\x7f]*$/.test(p))
        ? parts.map((p) => (p.length < 0x80 ? String.fromCharCode(p.length) : "\ufffd") + p).join("")
        : undefined;
      if (type === 16) answer = rec.TXT as string | undefined;
      break;
    }
    case 256: {
      // tshark 4.0 has no URI dissector: its RDATA is dns.data
      const b = hexBytes(r.str("dns.data"));
      if (b.length >= 4) rec.URI = { priority: b.readUInt16BE(0), weight: b.readUInt16BE(2), target: goBytesText(b.subarray(4)) };
      break;
    }
    case 41: {
      const opts: Record<string, unknown>[] = [];
      for (const [k, v] of r.entries) {
        if (!(v instanceof Obj) || k !== "dns.opt") continue;
        const code = num(v, "dns.opt.code") as number;
        const len = num(v, "dns.opt.len") as number;
        const data = hexBytes(v.str("dns.opt.data"));
        opts.push({ code: dnsOptionCodeName(code), data: data.length === len ? goBytesText(data) : undefined });
      }
      rec.OPT = opts;
      break;
    }
    default:
      break;
  }
  return { type, klass, ttl, rec, answer };
}

interface ExpDns {
  proto: Record<string, unknown>;
  wire: Record<string, unknown>;
  qr: number;
  questions: Record<string, unknown>[];
  answers: ExpRecord[];
}

function expectDns(d: Obj, mdns: boolean): ExpDns {
  const flags = num(d, "dns.flags") as number;
  const questions: Record<string, unknown>[] = [];
  const qWire: RawRR[] = [];
  for (const [, q] of d.obj("Queries")?.entries ?? []) {
    if (!(q instanceof Obj)) continue;
    let klass = num(q, "dns.qry.class");
    if (mdns && klass !== undefined && q.str("dns.qry.qu") === "1") klass |= 0x8000;
    const type = num(q, "dns.qry.type") as number;
    questions.push({
      name: dnsName(q.str("dns.qry.name")),
      type: dnsTypeName(type),
      class: klass === undefined ? undefined : dnsClassName(klass),
    });
    qWire.push({ type, class: klass as number });
  }
  const section = (title: string): ExpRecord[] => {
    const out: ExpRecord[] = [];
    for (const [, r] of d.obj(title)?.entries ?? []) if (r instanceof Obj) out.push(expectRecord(r, mdns));
    return out;
  };
  const answers = section("Answers");
  const authorities = section("Authoritative nameservers");
  const additionals = section("Additional records");
  // gopacket's response code: the header's 4 bits and, with an OPT record, its extended RCODE bits
  let rcode = flags & 0xf;
  const opt = additionals.find((r) => r.type === 41);
  if (opt !== undefined && opt.ttl !== undefined) rcode |= (opt.ttl >>> 20) & 0xf0;
  const proto = {
    ID: num(d, "dns.id"),
    QR: flags >>> 15,
    opCode: dnsOpCodeName((flags >> 11) & 0xf),
    AA: (flags >> 10) & 1,
    TC: (flags >> 9) & 1,
    RD: (flags >> 8) & 1,
    RA: (flags >> 7) & 1,
    Z: (flags >> 4) & 7,
    responseCode: dnsResponseCodeName(rcode),
    QDCount: num(d, "dns.count.queries"),
    ANCount: num(d, "dns.count.answers"),
    NSCount: num(d, "dns.count.auth_rr"),
    ARCount: num(d, "dns.count.add_rr"),
    questions,
    answers: answers.map((r) => r.rec),
    authorities: authorities.map((r) => r.rec),
    additionals: additionals.map((r) => r.rec),
  };
  const w = (rrs: ExpRecord[]): RawRR[] => rrs.map((r) => ({ type: r.type, class: r.klass as number }));
  const wireNumbers = { questions: qWire, answers: w(answers), authorities: w(authorities), additionals: w(additionals) };
  return { proto, wire: wireNumbers, qr: flags >>> 15, questions, answers };
}

/** The events netsig should print for one frame, from tshark's dissection of it. */
export function expectFrame(fr: TsFrame): Frame {
  const epoch = fr.frame.str("frame.time_epoch") ?? "";
  const [sec, frac = ""] = epoch.split(".");
  const out: Frame = { ts: (sec + frac.padEnd(9, "0")).replace(/^0+(?=\d)/, ""), events: [] };
  const L = fr.layers;
  let k = 0;
  while (k < L.length && LINK.has(L[k][0])) k++;
  if (k >= L.length || (L[k][0] !== "ip" && L[k][0] !== "ipv6")) return out;
  const [ipName, ip] = L[k];
  let src: string | undefined, dst: string | undefined, packetLen: number | undefined;
  if (ipName === "ip") {
    // with a source-route option tshark shows the final destination as ip.dst and the header's own field as ip.cur_rt
    src = ip.str("ip.src");
    dst = ip.str("ip.cur_rt") ?? ip.str("ip.dst");
    packetLen = num(ip, "ip.len");
    const hl = num(ip, "ip.hdr_len");
    out.events.push({
      kind: "ipv4",
      args: {
        src,
        dst,
        proto_ipv4: {
          version: num(ip, "ip.version"),
          IHL: hl === undefined ? undefined : hl / 4,
          TOS: num(ip, "ip.dsfield"),
          length: packetLen,
          id: num(ip, "ip.id"),
          flags: num(ip, "ip.flags"),
          fragOffset: num(ip, "ip.frag_offset"),
          TTL: num(ip, "ip.ttl"),
          protocol: ipProtocolName(num(ip, "ip.proto") as number),
          checksum: num(ip, "ip.checksum"),
          srcIP: src,
          dstIP: dst,
        },
      },
    });
  } else {
    src = goIPv6(ip.str("ipv6.src"));
    dst = goIPv6(ip.str("ipv6.dst"));
    packetLen = num(ip, "ipv6.plen");
    out.events.push({
      kind: "ipv6",
      args: {
        src,
        dst,
        proto_ipv6: {
          version: num(ip, "ipv6.version"),
          trafficClass: num(ip, "ipv6.tclass"),
          flowLabel: num(ip, "ipv6.flow"),
          length: packetLen,
          nextHeader: ipProtocolName(num(ip, "ipv6.nxt") as number),
          hopLimit: num(ip, "ipv6.hlim"),
          srcIP: src,
          dstIP: dst,
        },
      },
    });
  }
  k++;
  if (k >= L.length || TRANSPORT[L[k][0]] === undefined) return out;
  const [tName, t] = L[k];
  let sport: number | undefined, dport: number | undefined;
  switch (tName) {
    case "tcp": {
      const f = num(t, "tcp.flags") as number;
      const hl = num(t, "tcp.hdr_len");
      sport = num(t, "tcp.srcport");
      dport = num(t, "tcp.dstport");
      out.events.push({
        kind: "tcp",
        args: {
          src,
          dst,
          proto_tcp: {
            srcPort: sport,
            dstPort: dport,
            seq: num(t, "tcp.seq_raw") ?? num(t, "tcp.seq"),
            ack: num(t, "tcp.ack_raw") ?? num(t, "tcp.ack"),
            dataOffset: hl === undefined ? undefined : hl / 4,
            FIN: f & 1,
            SYN: (f >> 1) & 1,
            RST: (f >> 2) & 1,
            PSH: (f >> 3) & 1,
            ACK: (f >> 4) & 1,
            URG: (f >> 5) & 1,
            ECE: (f >> 6) & 1,
            CWR: (f >> 7) & 1,
            NS: (f >> 8) & 1,
            window: num(t, "tcp.window_size_value"),
            checksum: num(t, "tcp.checksum"),
            urgent: num(t, "tcp.urgent_pointer"),
          },
        },
      });
      break;
    }
    case "udp":
      sport = num(t, "udp.srcport");
      dport = num(t, "udp.dstport");
      out.events.push({
        kind: "udp",
        args: {
          src,
          dst,
          proto_udp: {
            srcPort: sport,
            dstPort: dport,
            length: num(t, "udp.length"),
            checksum: num(t, "udp.checksum"),
          },
        },
      });
      break;
    case "icmp": {
      // netsig (like gopacket) reports bytes 4-7 as id/seq whatever the type; tshark names them per type
      let id = num(t, "icmp.ident"),
        seq = num(t, "icmp.seq");
      const unused = hexBytes(t.str("icmp.unused"));
      if (id === undefined && unused.length === 4) {
        id = unused.readUInt16BE(0);
        seq = unused.readUInt16BE(2);
      }
      const gw = t.str("icmp.redir_gw");
      if (id === undefined && gw !== undefined) {
        const b = gw.split(".").map(Number);
        id = (b[0] << 8) | b[1];
        seq = (b[2] << 8) | b[3];
      }
      out.events.push({
        kind: "icmp",
        args: {
          src,
          dst,
          proto_icmp: {
            typeCode: icmpv4TypeCodeName(num(t, "icmp.type") as number, num(t, "icmp.code") as number),
            checksum: num(t, "icmp.checksum"),
            id,
            seq,
          },
        },
      });
      break;
    }
    case "icmpv6":
      out.events.push({
        kind: "icmpv6",
        args: {
          src,
          dst,
          proto_icmpv6: {
            typeCode: icmpv6TypeCodeName(num(t, "icmpv6.type") as number, num(t, "icmpv6.code") as number),
            checksum: num(t, "icmpv6.checksum"),
          },
        },
      });
      break;
    default:
      break;
  }
  // netsig decodes no DNS from a fragment that completes nothing: the first one holds only the start of the message
  if ((tName !== "tcp" && tName !== "udp") || (isFragment(ipName, ip) && !reassembledHere(ipName, ip))) return out;
  // netsig names the pcapng interface, else prints Tracee's "any"; tshark says "unknown" for an unnamed one
  const iface = fr.frame.find("frame.interface_name");
  const meta = {
    src_ip: src,
    dst_ip: dst,
    src_port: sport,
    dst_port: dport,
    protocol: TRANSPORT[tName],
    packet_len: packetLen,
    iface: iface === undefined || iface === "unknown" ? "any" : iface,
  };
  k++;
  if (k < L.length && L[k][0] === "tcp.segments") k++; // (with reassembly on: the segments of the PDU that follows)
  for (; k < L.length && DNS_LAYERS.has(L[k][0]); k++) {
    const d = L[k][1];
    // a message tshark could not decode whole is one netsig counts as malformed: no DNS events
    if (isIncomplete(d) || (k + 1 < L.length && INCOMPLETE.has(L[k + 1][0]))) continue;
    const m = expectDns(d, L[k][0] === "mdns");
    out.events.push({ kind: "dns", args: { src, dst, src_port: sport, dst_port: dport, proto_dns: m.proto } });
    out.events.push({ kind: "dns_wire", args: m.wire });
    if (m.questions.length !== 1) continue; // Tracee's simple DNS events need exactly one question
    const q = m.questions[0];
    const query = { query: q.name, query_type: q.type, query_class: q.class };
    if (m.qr === 0) out.events.push({ kind: "dns_request", args: { metadata: meta, dns_questions: [query] } });
    else {
      const answers =
        m.answers.length === 0 ? null : m.answers.map((r) => ({ answer_type: dnsTypeName(r.type), ttl: r.ttl, answer: r.answer }));
      out.events.push({ kind: "dns_response", args: { metadata: meta, dns_response: [{ query_data: query, dns_answer: answers }] } });
    }
  }
  // HTTP: a request or response whose whole header block is in this packet (the blank line "\r\n"
  // is in it) gives its events here; its values are compared field by field in test/http.test.ts
  for (; k < L.length; k++) {
    if (L[k][0] !== "http") continue;
    const h = L[k][1];
    if (h.get("\\r\\n") === undefined) continue;
    const method = h.find("http.request.method");
    const code = h.find("http.response.code");
    if (method !== undefined) {
      const version = h.find("http.request.version");
      out.events.push({
        kind: "http",
        args: { src, dst, src_port: sport, dst_port: dport, proto_http: { direction: "request", method, protocol: version } },
      });
      out.events.push({ kind: "http_request", args: { metadata: meta, http_request: { method, protocol: version } } });
    } else if (code !== undefined) {
      const version = h.find("http.response.version");
      const status_code = Number(code);
      out.events.push({
        kind: "http",
        args: { src, dst, src_port: sport, dst_port: dport, proto_http: { direction: "response", status_code, protocol: version } },
      });
      out.events.push({ kind: "http_response", args: { metadata: meta, http_response: { status_code, protocol: version } } });
    }
  }
  return out;
}

// ---------------------------------------------------------------- comparison

/** path -> JSON text of the value; `undefined` (tshark does not say) is left out */
export function flatten(prefix: string, v: unknown, out: Map<string, string>): Map<string, string> {
  if (v === undefined) return out;
  if (Array.isArray(v)) {
    out.set(prefix, `array(${v.length})`);
    for (let i = 0; i < v.length; i++) flatten(`${prefix}[${i}]`, v[i], out);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) flatten(prefix === "" ? k : `${prefix}.${k}`, x, out);
  } else out.set(prefix, JSON.stringify(v));
  return out;
}

export interface Disagreement {
  file: string;
  frame: number;
  field: string;
  netsig: string;
  tshark: string;
}

/** per generic field (indices dropped): how many values were compared, how many disagreed */
export type FieldStats = Map<string, { compared: number; differ: number }>;

const generic = (path: string): string => path.replace(/\[\d+\]/g, "[]");

function count(stats: FieldStats, path: string, same: boolean): void {
  const g = generic(path);
  let s = stats.get(g);
  if (s === undefined) stats.set(g, (s = { compared: 0, differ: 0 }));
  s.compared++;
  if (!same) s.differ++;
}

/**
 * Compare one packet. Event kinds are matched first (how many of each); the
 * fields of a kind are compared where both sides have it. Paths: "ipv4.TTL"
 * style for the IP and transport events, "dns[i]..." for the DNS ones.
 */
export function compareFrame(
  file: string,
  frame: number,
  ns: Frame | undefined,
  exp: Frame,
  stats: FieldStats,
  out: Disagreement[],
  kinds: string[] = KINDS,
): void {
  const nsF = ns ?? { ts: "<no packet>", events: [] };
  if (kinds.includes("ipv4")) {
    // (not in a DNS-only comparison)
    count(stats, "frame.timestamp", nsF.ts === exp.ts);
    if (nsF.ts !== exp.ts) out.push({ file, frame, field: "frame.timestamp", netsig: nsF.ts, tshark: exp.ts });
  }
  for (const kind of kinds) {
    const a = nsF.events.filter((e) => e.kind === kind);
    const b = exp.events.filter((e) => e.kind === kind);
    if (a.length === 0 && b.length === 0) continue;
    if (kind !== "dns_wire") {
      // (one per DNS event: its presence is that of the DNS event)
      count(stats, `events.${kind}`, a.length === b.length);
      if (a.length !== b.length) out.push({ file, frame, field: `events.${kind}`, netsig: String(a.length), tshark: String(b.length) });
    }
    const multi = kind.startsWith("dns");
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const prefix = multi ? `${kind}[${i}]` : kind;
      const want = flatten(prefix, b[i].args, new Map());
      const got = flatten(prefix, a[i].args, new Map());
      for (const [path, v] of want) {
        const g = got.get(path) ?? "<absent>";
        count(stats, path.replace(/^(\w+)\.proto_\w+\./, "$1."), g === v);
        if (g !== v) out.push({ file, frame, field: path, netsig: g, tshark: v });
      }
    }
  }
}
