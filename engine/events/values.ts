// Each arg's value, from the decoded packet: the functions an event type's
// declaration (registry.ts) names for its args. The event builder (build.ts)
// and the rules' LazyEvent (rules/run/lazy.ts) both call them, so an arg is
// made one way only. The empty SOA/SRV/MX/URI sub-records of DNS answers are
// shared, frozen constants. No Node API: the sandbox realm bundles this.

import {
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_CNAME,
  DNS_TYPE_HINFO,
  DNS_TYPE_MX,
  DNS_TYPE_NS,
  DNS_TYPE_OPT,
  DNS_TYPE_PTR,
  DNS_TYPE_SOA,
  DNS_TYPE_SRV,
  DNS_TYPE_TXT,
  DNS_TYPE_URI,
  type DnsMessage,
  type DnsMX,
  type DnsOption,
  type DnsRecord,
  type DnsSOA,
  type DnsSRV,
  type DnsURI,
} from "../decode/dnstypes";
import type { Packet } from "../decode/packet";
import {
  dnsClassName,
  dnsOpCodeName,
  dnsOptionCodeName,
  dnsResponseCodeName,
  dnsTypeName,
  icmpv4TypeCodeName,
  icmpv6TypeCodeName,
  ipProtocolName,
} from "./vocab";
import type {
  DnsAnswer,
  DnsQueryData,
  DnsResponseData,
  PktMeta,
  ProtoDNS,
  ProtoDNSOPT,
  ProtoDNSQuestion,
  ProtoDNSResourceRecord,
  ProtoHTTP,
  ProtoHTTPRequest,
  ProtoHTTPResponse,
} from "../types/events";
import type { AppRecord } from "../types/records";

const EMPTY_SOA = Object.freeze({ MName: "", RName: "", serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 });
const EMPTY_SRV = Object.freeze({ priority: 0, weight: 0, port: 0, name: "" });
const EMPTY_MX = Object.freeze({ preference: 0, name: "" });
const EMPTY_URI = Object.freeze({ priority: 0, weight: 0, target: "" });
const EMPTY_OPT = Object.freeze([]) as unknown as ProtoDNSOPT[];

// ---- DNS records in Tracee's shape (types/trace ProtoDNSResourceRecord)

function optEntries(opts: DnsOption[]): ProtoDNSOPT[] {
  if (opts.length === 0) return EMPTY_OPT;
  return opts.map((o) => ({ code: dnsOptionCodeName(o.code), data: o.data }));
}

function resourceRecord(rr: DnsRecord): ProtoDNSResourceRecord {
  const r: ProtoDNSResourceRecord = {
    name: rr.name,
    type: dnsTypeName(rr.type),
    class: dnsClassName(rr.class),
    TTL: rr.ttl,
    IP: "",
    NS: "",
    CNAME: "",
    PTR: "",
    TXTs: null,
    SOA: EMPTY_SOA,
    SRV: EMPTY_SRV,
    MX: EMPTY_MX,
    OPT: EMPTY_OPT,
    URI: EMPTY_URI,
    TXT: "",
  };
  switch (rr.type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
      r.IP = rr.data as string;
      break;
    case DNS_TYPE_NS:
      r.NS = rr.data as string;
      break;
    case DNS_TYPE_CNAME:
      r.CNAME = rr.data as string;
      break;
    case DNS_TYPE_PTR:
      r.PTR = rr.data as string;
      break;
    case DNS_TYPE_TXT:
    case DNS_TYPE_HINFO: {
      // Tracee: TXTs lists the character-strings (null when there are none); TXT is the raw RDATA
      // (a copy: two builds of one event share no object: EventBuilder.again)
      const parts = rr.data as string[];
      let txts: string[] | null = null;
      if (parts.length > 0) {
        txts = new Array<string>(parts.length);
        for (let i = 0; i < parts.length; i++) txts[i] = parts[i];
      }
      r.TXTs = txts;
      r.TXT = rr.raw;
      break;
    }
    case DNS_TYPE_SOA: {
      const s = rr.data as DnsSOA;
      r.SOA = {
        MName: s.mname,
        RName: s.rname,
        serial: s.serial,
        refresh: s.refresh,
        retry: s.retry,
        expire: s.expire,
        minimum: s.minimum,
      };
      break;
    }
    case DNS_TYPE_SRV: {
      const s = rr.data as DnsSRV;
      r.SRV = { priority: s.priority, weight: s.weight, port: s.port, name: s.target };
      break;
    }
    case DNS_TYPE_MX: {
      const m = rr.data as DnsMX;
      r.MX = { preference: m.preference, name: m.exchange };
      break;
    }
    case DNS_TYPE_OPT:
      r.OPT = optEntries(rr.data as DnsOption[]);
      break;
    case DNS_TYPE_URI: {
      const u = rr.data as DnsURI;
      r.URI = { priority: u.priority, weight: u.weight, target: u.target };
      break;
    }
    default:
      break;
  }
  return r;
}

function resourceRecords(rrs: DnsRecord[]): ProtoDNSResourceRecord[] {
  const out = new Array<ProtoDNSResourceRecord>(rrs.length);
  for (let i = 0; i < rrs.length; i++) out[i] = resourceRecord(rrs[i]);
  return out;
}

/**
 * The response code as gopacket computes it: the header's 4 bits, plus the
 * extended RCODE bits of an OPT record's TTL ((TTL >> 20) & 0xF0), as a byte.
 */
export function responseCode(m: DnsMessage): number {
  let rc = m.flags & 0xf;
  const add = m.additionals;
  for (let i = 0; i < add.length; i++) {
    if (add[i].type === DNS_TYPE_OPT) {
      rc |= (add[i].ttl >>> 20) & 0xf0;
      break;
    }
  }
  return rc & 0xff;
}

export function protoDNS(m: DnsMessage): ProtoDNS {
  const f = m.flags;
  const questions = new Array<ProtoDNSQuestion>(m.questions.length);
  for (let i = 0; i < questions.length; i++) {
    const q = m.questions[i];
    questions[i] = { name: q.name, type: dnsTypeName(q.type), class: dnsClassName(q.class) };
  }
  return {
    ID: m.id,
    QR: f >>> 15,
    opCode: dnsOpCodeName((f >> 11) & 0xf),
    AA: (f >> 10) & 1,
    TC: (f >> 9) & 1,
    RD: (f >> 8) & 1,
    RA: (f >> 7) & 1,
    Z: (f >> 4) & 7,
    responseCode: dnsResponseCodeName(responseCode(m)),
    QDCount: m.qdCount,
    ANCount: m.anCount,
    NSCount: m.nsCount,
    ARCount: m.arCount,
    questions,
    answers: resourceRecords(m.answers),
    authorities: resourceRecords(m.authorities),
    additionals: resourceRecords(m.additionals),
  };
}

// ---- the simpler dns_request / dns_response args (types/trace DnsQueryData...)

export function queryData(m: DnsMessage): DnsQueryData[] {
  const out = new Array<DnsQueryData>(m.questions.length);
  for (let i = 0; i < out.length; i++) {
    const q = m.questions[i];
    out[i] = { query: q.name, query_type: dnsTypeName(q.type), query_class: dnsClassName(q.class) };
  }
  return out;
}

/**
 * The "answer" string of a DnsAnswer, as Tracee fills it: the address for
 * A/AAAA, the target name for NS/CNAME/PTR/MX, the raw RDATA for TXT, and the
 * literal "not implemented" for every other type.
 */
export function answerText(rr: DnsRecord): string {
  switch (rr.type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
      return rr.data as string;
    case DNS_TYPE_MX:
      return (rr.data as DnsMX).exchange;
    case DNS_TYPE_TXT:
      return rr.raw;
    default:
      return "not implemented";
  }
}

/** Tracee's dns_response value: one element, the question and the answer section (null when empty) */
export function responseData(m: DnsMessage): DnsResponseData[] {
  let answers: DnsAnswer[] | null = null;
  if (m.answers.length > 0) {
    answers = new Array<DnsAnswer>(m.answers.length);
    for (let i = 0; i < answers.length; i++) {
      const rr = m.answers[i];
      answers[i] = { answer_type: dnsTypeName(rr.type), ttl: rr.ttl, answer: answerText(rr) };
    }
  }
  return [{ query_data: queryData(m)[0], dns_answer: answers }];
}

export function pktMeta(p: Packet): PktMeta {
  return {
    src_ip: p.srcIP,
    dst_ip: p.dstIP,
    src_port: p.srcPort,
    dst_port: p.dstPort,
    protocol: p.l4Protocol,
    // the IP header's own length field: IPv4 total length, IPv6 payload length
    packet_len: p.ipVersion === 4 ? p.ipTotalLen : p.payloadLen,
    // Tracee always prints "any"; netsig names the interface when the capture says which
    iface: p.iface === "" ? "any" : p.iface,
  };
}

// ---- each arg's value, from the decoded packet (also read one by one: rules/lazy.ts)

export function protoIPv4(p: Packet): Record<string, unknown> {
  return {
    version: 4,
    IHL: p.ihl,
    TOS: p.tos,
    length: p.ipTotalLen,
    id: p.ipId,
    flags: p.ipFlags,
    fragOffset: p.fragOffset,
    TTL: p.ttl,
    protocol: ipProtocolName(p.ipProtocol),
    checksum: p.ipChecksum,
    srcIP: p.srcIP,
    dstIP: p.dstIP,
  };
}

export function protoIPv6(p: Packet): Record<string, unknown> {
  return {
    version: 6,
    trafficClass: p.trafficClass,
    flowLabel: p.flowLabel,
    length: p.payloadLen,
    nextHeader: ipProtocolName(p.ipProtocol),
    hopLimit: p.hopLimit,
    srcIP: p.srcIP,
    dstIP: p.dstIP,
  };
}

export function protoTCP(p: Packet): Record<string, unknown> {
  const f = p.tcpFlags;
  return {
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    seq: p.tcpSeq,
    ack: p.tcpAck,
    dataOffset: p.tcpDataOffset,
    FIN: f & 1,
    SYN: (f >> 1) & 1,
    RST: (f >> 2) & 1,
    PSH: (f >> 3) & 1,
    ACK: (f >> 4) & 1,
    URG: (f >> 5) & 1,
    ECE: (f >> 6) & 1,
    CWR: (f >> 7) & 1,
    NS: (f >> 8) & 1,
    window: p.tcpWindow,
    checksum: p.tcpChecksum,
    urgent: p.tcpUrgent,
  };
}

export function protoUDP(p: Packet): Record<string, unknown> {
  return { srcPort: p.srcPort, dstPort: p.dstPort, length: p.udpLength, checksum: p.udpChecksum };
}

export function protoICMP(p: Packet): Record<string, unknown> {
  return { typeCode: icmpv4TypeCodeName(p.icmpType, p.icmpCode), checksum: p.icmpChecksum, id: p.icmpId, seq: p.icmpSeq };
}

export function protoICMPv6(p: Packet): Record<string, unknown> {
  return { typeCode: icmpv6TypeCodeName(p.icmpType, p.icmpCode), checksum: p.icmpChecksum };
}

// ---- the args of the events made from records (types/records.ts): the flow stage made the values

/** Tracee's PktMeta of a record's event: the record's addresses, the length and interface of the packet that completed it */
export function recordMeta(p: Packet, r: AppRecord): PktMeta {
  return {
    src_ip: r.src,
    dst_ip: r.dst,
    src_port: r.srcPort,
    dst_port: r.dstPort,
    protocol: r.proto,
    packet_len: p.ipVersion === 4 ? p.ipTotalLen : p.payloadLen,
    iface: p.iface === "" ? "any" : p.iface,
  };
}

/** Tracee's ProtoHTTPRequest: the request fields of a ProtoHTTP, in Go's order */
export function httpRequest(h: ProtoHTTP): ProtoHTTPRequest {
  return {
    method: h.method,
    protocol: h.protocol,
    host: h.host,
    uri_path: h.uri_path,
    headers: h.headers,
    content_length: h.content_length,
  };
}

/** Tracee's ProtoHTTPResponse: the response fields of a ProtoHTTP, in Go's order */
export function httpResponse(h: ProtoHTTP): ProtoHTTPResponse {
  return { status: h.status, status_code: h.status_code, protocol: h.protocol, headers: h.headers, content_length: h.content_length };
}
