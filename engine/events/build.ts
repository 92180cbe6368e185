// Events stage: turn a decoded Packet into the Tracee events that were asked for.
//
// Only the requested event types are built. The envelope fields that only an
// eBPF tracer knows (process, cgroup, namespaces, container) carry the neutral
// values Tracee prints for an unknown context; the objects they hold are shared,
// frozen constants, as are the empty SOA/SRV/MX/URI sub-records of DNS answers.
// The pod's container and kubernetes objects are the process's (envelope.ts).

import {
  DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_HINFO, DNS_TYPE_MX, DNS_TYPE_NS, DNS_TYPE_OPT, DNS_TYPE_PTR,
  DNS_TYPE_SOA, DNS_TYPE_SRV, DNS_TYPE_TXT, DNS_TYPE_URI,
  type DnsMessage, type DnsMX, type DnsOption, type DnsRecord, type DnsSOA, type DnsSRV, type DnsURI,
} from "../decode/dnstypes";
import { Layer, type Packet } from "../decode/packet";
import {
  dnsClassName, dnsOpCodeName, dnsOptionCodeName, dnsResponseCodeName, dnsTypeName, icmpv4TypeCodeName, icmpv6TypeCodeName,
  ipProtocolName,
} from "./vocab";
import { POD } from "./envelope";
import {
  Ev, EVENT_NAMES, eventId,
  type Arg, type DnsAnswer, type DnsQueryData, type DnsResponseData, type PktMeta, type ProtoDNS,
  type ProtoDNSOPT, type ProtoDNSQuestion, type ProtoDNSResourceRecord, type TraceeEvent,
} from "../types/events";

const EXECUTABLE = Object.freeze({ path: "" });
const MATCHED_POLICIES = Object.freeze([""]) as string[];
const STACK = Object.freeze([0]) as number[];
const CONTEXT_FLAGS = Object.freeze({ containerStarted: false, isCompat: false });
const EMPTY_SOA = Object.freeze({ MName: "", RName: "", serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0 });
const EMPTY_SRV = Object.freeze({ priority: 0, weight: 0, port: 0, name: "" });
const EMPTY_MX = Object.freeze({ preference: 0, name: "" });
const EMPTY_URI = Object.freeze({ priority: 0, weight: 0, target: "" });
const EMPTY_OPT = Object.freeze([]) as unknown as ProtoDNSOPT[];

/** A bit per event type: bit Ev.X set when that event is wanted. */
export type EventMask = number;
export const ALL_EVENTS: EventMask = (1 << EVENT_NAMES.length) - 1;
const DNS_EVENTS = (1 << Ev.DNS) | (1 << Ev.DNSRequest) | (1 << Ev.DNSResponse);

export interface EventContext {
  hostName: string;
}

export type EventSink = (ev: TraceeEvent, kind: Ev, p: Packet) => void;

function envelope(kind: Ev, ts: number, hostName: string, args: Arg[]): TraceeEvent {
  const pod = POD.envelope;
  return {
    timestamp: ts,
    threadStartTime: 0,
    processorId: 0,
    processId: 0,
    cgroupId: 0,
    threadId: 0,
    parentProcessId: 0,
    hostProcessId: 0,
    hostThreadId: 0,
    hostParentProcessId: 0,
    userId: 0,
    mountNamespace: 0,
    pidNamespace: 0,
    processName: "",
    executable: EXECUTABLE,
    hostName,
    containerId: pod.containerId,
    container: pod.container,
    kubernetes: pod.kubernetes,
    eventId: EVENT_IDS[kind],
    eventName: EVENT_NAMES[kind],
    matchedPolicies: MATCHED_POLICIES,
    argsNum: args.length,
    returnValue: 0,
    syscall: "",
    stackAddresses: STACK,
    contextFlags: CONTEXT_FLAGS,
    threadEntityId: 0,
    processEntityId: 0,
    parentEntityId: 0,
    args,
  };
}
const EVENT_IDS = EVENT_NAMES.map((_, i) => eventId(i as Ev));

const srcArg = (v: string): Arg => ({ name: "src", type: "const char*", value: v });
const dstArg = (v: string): Arg => ({ name: "dst", type: "const char*", value: v });

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
    case DNS_TYPE_A: case DNS_TYPE_AAAA: r.IP = rr.data as string; break;
    case DNS_TYPE_NS: r.NS = rr.data as string; break;
    case DNS_TYPE_CNAME: r.CNAME = rr.data as string; break;
    case DNS_TYPE_PTR: r.PTR = rr.data as string; break;
    case DNS_TYPE_TXT: case DNS_TYPE_HINFO: {
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
      r.SOA = { MName: s.mname, RName: s.rname, serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire, minimum: s.minimum };
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
    case DNS_TYPE_OPT: r.OPT = optEntries(rr.data as DnsOption[]); break;
    case DNS_TYPE_URI: {
      const u = rr.data as DnsURI;
      r.URI = { priority: u.priority, weight: u.weight, target: u.target };
      break;
    }
    default: break;
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
    if (add[i].type === DNS_TYPE_OPT) { rc |= (add[i].ttl >>> 20) & 0xf0; break; }
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
    case DNS_TYPE_A: case DNS_TYPE_AAAA: case DNS_TYPE_NS: case DNS_TYPE_CNAME: case DNS_TYPE_PTR:
      return rr.data as string;
    case DNS_TYPE_MX: return (rr.data as DnsMX).exchange;
    case DNS_TYPE_TXT: return rr.raw;
    default: return "not implemented";
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
    version: 4, IHL: p.ihl, TOS: p.tos, length: p.ipTotalLen, id: p.ipId, flags: p.ipFlags,
    fragOffset: p.fragOffset, TTL: p.ttl, protocol: ipProtocolName(p.ipProtocol), checksum: p.ipChecksum,
    srcIP: p.srcIP, dstIP: p.dstIP,
  };
}

export function protoIPv6(p: Packet): Record<string, unknown> {
  return {
    version: 6, trafficClass: p.trafficClass, flowLabel: p.flowLabel, length: p.payloadLen,
    nextHeader: ipProtocolName(p.ipProtocol), hopLimit: p.hopLimit, srcIP: p.srcIP, dstIP: p.dstIP,
  };
}

export function protoTCP(p: Packet): Record<string, unknown> {
  const f = p.tcpFlags;
  return {
    srcPort: p.srcPort, dstPort: p.dstPort, seq: p.tcpSeq, ack: p.tcpAck, dataOffset: p.tcpDataOffset,
    FIN: f & 1, SYN: (f >> 1) & 1, RST: (f >> 2) & 1, PSH: (f >> 3) & 1, ACK: (f >> 4) & 1,
    URG: (f >> 5) & 1, ECE: (f >> 6) & 1, CWR: (f >> 7) & 1, NS: (f >> 8) & 1,
    window: p.tcpWindow, checksum: p.tcpChecksum, urgent: p.tcpUrgent,
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

/**
 * The args of one event of a packet (`m`: the DNS message of a DNS event).
 * `src`/`dst`: the packet's address args, when one pair serves all its
 * events (EventBuilder.shareAddresses); made here otherwise.
 */
export function eventArgs(kind: Ev, p: Packet, m: DnsMessage | null, src: Arg | null = null, dst: Arg | null = null): Arg[] {
  switch (kind) {
    case Ev.IPv4: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_ipv4", type: "trace.ProtoIPv4", value: protoIPv4(p) }];
    case Ev.IPv6: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_ipv6", type: "trace.ProtoIPv6", value: protoIPv6(p) }];
    case Ev.TCP: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_tcp", type: "trace.ProtoTCP", value: protoTCP(p) }];
    case Ev.UDP: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_udp", type: "trace.ProtoUDP", value: protoUDP(p) }];
    case Ev.ICMP: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_icmp", type: "trace.ProtoICMP", value: protoICMP(p) }];
    case Ev.ICMPv6: return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_icmpv6", type: "trace.ProtoICMPv6", value: protoICMPv6(p) }];
    case Ev.DNS: return [
      src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP),
      { name: "src_port", type: "u16", value: p.srcPort },
      { name: "dst_port", type: "u16", value: p.dstPort },
      { name: "proto_dns", type: "trace.ProtoDNS", value: protoDNS(m as DnsMessage) },
    ];
    case Ev.DNSRequest: return [
      { name: "metadata", type: "trace.PktMeta", value: pktMeta(p) },
      { name: "dns_questions", type: "[]trace.DnsQueryData", value: queryData(m as DnsMessage) },
    ];
    case Ev.DNSResponse: return [
      { name: "metadata", type: "trace.PktMeta", value: pktMeta(p) },
      { name: "dns_response", type: "[]trace.DnsResponseData", value: responseData(m as DnsMessage) },
    ];
    default: return [];
  }
}

/** one event of a packet, built whole (`m`: the DNS message of a DNS event) */
export function buildEvent(kind: Ev, p: Packet, m: DnsMessage | null, hostName: string): TraceeEvent {
  return envelope(kind, p.timestampNumber(), hostName, eventArgs(kind, p, m));
}

/** what visitEvents hands each event of a packet to (`m`: the DNS message of a DNS event) */
export interface EventVisitor {
  visit(kind: Ev, p: Packet, m: DnsMessage | null, ts: number): void;
}

/**
 * The events of a decoded packet that `mask` asks for, in Tracee's order (IP,
 * then transport, then the DNS events of each message), one visit each; the
 * event builder builds them, the in-process rules read them (rules/run/backend.ts).
 * While the extra DNS messages of one TCP segment are visited, p.dns is that
 * message.
 */
export function visitEvents(p: Packet, mask: EventMask, v: EventVisitor): void {
  if (p.ipVersion === 0) return;
  const ts = p.timestampNumber();
  if (p.ipVersion === 4) { if (mask & (1 << Ev.IPv4)) v.visit(Ev.IPv4, p, null, ts); } else if (mask & (1 << Ev.IPv6)) v.visit(Ev.IPv6, p, null, ts);
  // (transport events are not repeated for the extra DNS messages)
  switch (p.last) {
    case Layer.TCP: if (mask & (1 << Ev.TCP)) v.visit(Ev.TCP, p, null, ts); break;
    case Layer.UDP: if (mask & (1 << Ev.UDP)) v.visit(Ev.UDP, p, null, ts); break;
    case Layer.ICMPv4: if (mask & (1 << Ev.ICMP)) v.visit(Ev.ICMP, p, null, ts); break;
    case Layer.ICMPv6: if (mask & (1 << Ev.ICMPv6)) v.visit(Ev.ICMPv6, p, null, ts); break;
    default: break;
  }
  if (p.dns === null || (mask & DNS_EVENTS) === 0) return;
  visitDns(p, p.dns, mask, ts, v);
  const more = p.dnsMore;
  if (more !== null) {
    const first = p.dns;
    for (let i = 0; i < more.length; i++) { p.dns = more[i]; visitDns(p, more[i], mask, ts, v); }
    p.dns = first;
  }
}

function visitDns(p: Packet, m: DnsMessage, mask: EventMask, ts: number, v: EventVisitor): void {
  if (mask & (1 << Ev.DNS)) v.visit(Ev.DNS, p, m, ts);
  // Tracee emits the simple DNS events only for a message with exactly one question
  if (m.questions.length !== 1) return;
  const qr = m.flags >>> 15;
  if (qr === 0 && mask & (1 << Ev.DNSRequest)) v.visit(Ev.DNSRequest, p, m, ts);
  if (qr === 1 && mask & (1 << Ev.DNSResponse)) v.visit(Ev.DNSResponse, p, m, ts);
}

/** builds every wanted event of a decoded packet, in Tracee's order, handing each to the sink */
export class EventBuilder implements EventVisitor {
  /** the sink of the packet being built */
  private sink: EventSink | null = null;
  /**
   * One frozen pair of src/dst args for all the events of a packet (the
   * sandbox realm, which keeps signatures apart by freezing or building twice
   * what two or more see: two objects a packet, frozen once, instead of two
   * an event)
   */
  shareAddresses = false;
  private src: Arg | null = null;
  private dst: Arg | null = null;
  // the event being handed to the sink (again())
  private kind: Ev = Ev.IPv4;
  private p: Packet | null = null;
  private m: DnsMessage | null = null;
  private ts = 0;

  constructor(public mask: EventMask, private readonly ctx: EventContext) {}

  /** does this mask need DNS decoded? */
  get wantsDns(): boolean { return (this.mask & DNS_EVENTS) !== 0; }

  build(p: Packet, sink: EventSink): void {
    this.sink = sink;
    this.src = null;
    this.dst = null;
    visitEvents(p, this.mask, this);
    // (no reference to the packet is kept)
    this.sink = null;
    this.p = null;
    this.m = null;
  }

  visit(kind: Ev, p: Packet, m: DnsMessage | null, ts: number): void {
    if (this.shareAddresses && kind <= Ev.DNS && this.src === null) {
      this.src = Object.freeze(srcArg(p.srcIP));
      this.dst = Object.freeze(dstArg(p.dstIP));
    }
    this.kind = kind;
    this.p = p;
    this.m = m;
    this.ts = ts;
    this.sink!(envelope(kind, ts, this.ctx.hostName, eventArgs(kind, p, m, this.src, this.dst)), kind, p);
  }

  /**
   * The event being handed to the sink, built once more (from the sink only):
   * equal to it, and sharing no object with it but frozen ones (the envelope's
   * constants, the packet's src/dst pair when shared)
   */
  again(): TraceeEvent {
    return envelope(this.kind, this.ts, this.ctx.hostName, eventArgs(this.kind, this.p!, this.m, this.src, this.dst));
  }
}
