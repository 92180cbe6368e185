// Events stage: turn a decoded Packet into the Tracee events that were asked for.
//
// Only the requested event types are built, as their declarations say
// (registry.ts: which part of the packet yields each, and its args, made by
// values.ts). The envelope fields that only an eBPF tracer knows (process,
// cgroup, namespaces, container) carry the neutral values Tracee prints for
// an unknown context; the objects they hold are shared, frozen constants.
// The pod's container and kubernetes objects are the process's (envelope.ts).

import type { DnsMessage } from "../decode/dnstypes";
import type { Packet } from "../decode/packet";
import type { AppRecord } from "../types/records";
import { POD } from "./envelope";
import { Ev, type Arg, type TraceeEvent } from "../types/events";
import {
  ADDRESS_EVENTS,
  DNS_EVENTS,
  DST_ARG,
  EVENT_IDS,
  EVENT_NAMES,
  EVENTS,
  IP_KINDS,
  LAYER_KINDS,
  MESSAGE_EVENTS,
  RECORD_EVENTS,
  RECORD_KINDS,
  SRC_ARG,
  type EventMask,
  type EventUnit,
} from "./registry";

export { ALL_EVENTS, type EventMask } from "./registry";
import { pktMeta, protoDNS, protoICMP, protoICMPv6, protoIPv4, protoIPv6, protoTCP, protoUDP, queryData, responseData } from "./values";

export {
  answerText,
  pktMeta,
  protoDNS,
  protoICMP,
  protoICMPv6,
  protoIPv4,
  protoIPv6,
  protoTCP,
  protoUDP,
  queryData,
  responseCode,
  responseData,
} from "./values";

const EXECUTABLE = Object.freeze({ path: "" });
const MATCHED_POLICIES = Object.freeze([""]) as string[];
const STACK = Object.freeze([0]) as number[];
const CONTEXT_FLAGS = Object.freeze({ containerStarted: false, isCompat: false });

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

const srcArg = (v: string): Arg => ({ name: "src", type: "const char*", value: v });
const dstArg = (v: string): Arg => ({ name: "dst", type: "const char*", value: v });

/**
 * The args of one event of a packet, as its declaration lists them (`m`: the
 * DNS message of a DNS event). `src`/`dst`: the packet's address args, when
 * one pair serves all its events (EventBuilder.shareAddresses); made here
 * otherwise. The declared types have a case of their own (array literals:
 * replaying 200k DNS packets to JSON took ~8% more CPU with the generic loop,
 * which serves a type without a case); test/registry.test.ts checks each case
 * against its declaration.
 */
export function eventArgs(kind: Ev, p: Packet, m: EventUnit, src: Arg | null = null, dst: Arg | null = null): Arg[] {
  switch (kind) {
    case Ev.IPv4:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_ipv4", type: "trace.ProtoIPv4", value: protoIPv4(p) }];
    case Ev.IPv6:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_ipv6", type: "trace.ProtoIPv6", value: protoIPv6(p) }];
    case Ev.TCP:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_tcp", type: "trace.ProtoTCP", value: protoTCP(p) }];
    case Ev.UDP:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_udp", type: "trace.ProtoUDP", value: protoUDP(p) }];
    case Ev.ICMP:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_icmp", type: "trace.ProtoICMP", value: protoICMP(p) }];
    case Ev.ICMPv6:
      return [src ?? srcArg(p.srcIP), dst ?? dstArg(p.dstIP), { name: "proto_icmpv6", type: "trace.ProtoICMPv6", value: protoICMPv6(p) }];
    case Ev.DNS:
      return [
        src ?? srcArg(p.srcIP),
        dst ?? dstArg(p.dstIP),
        { name: "src_port", type: "u16", value: p.srcPort },
        { name: "dst_port", type: "u16", value: p.dstPort },
        { name: "proto_dns", type: "trace.ProtoDNS", value: protoDNS(m as DnsMessage) },
      ];
    case Ev.DNSRequest:
      return [
        { name: "metadata", type: "trace.PktMeta", value: pktMeta(p) },
        { name: "dns_questions", type: "[]trace.DnsQueryData", value: queryData(m as DnsMessage) },
      ];
    case Ev.DNSResponse:
      return [
        { name: "metadata", type: "trace.PktMeta", value: pktMeta(p) },
        { name: "dns_response", type: "[]trace.DnsResponseData", value: responseData(m as DnsMessage) },
      ];
    default:
      return declaredArgs(kind, p, m, src, dst);
  }
}

/** the args of an event type, made one by one as its declaration lists them */
export function declaredArgs(kind: Ev, p: Packet, m: EventUnit, src: Arg | null = null, dst: Arg | null = null): Arg[] {
  const decl = EVENTS[kind].args;
  const out: Arg[] = [];
  for (let i = 0; i < decl.length; i++) {
    const a = decl[i];
    if (a === SRC_ARG && src !== null) out.push(src);
    else if (a === DST_ARG && dst !== null) out.push(dst);
    else out.push({ name: a.name, type: a.type, value: a.value(p, m) });
  }
  return out;
}

/** one event of a packet, built whole (`m`: the DNS message of a DNS event) */
export function buildEvent(kind: Ev, p: Packet, m: EventUnit, hostName: string): TraceeEvent {
  return envelope(kind, p.timestampNumber(), hostName, eventArgs(kind, p, m));
}

/** what visitEvents hands each event of a packet to (`m`: the DNS message or the record the event is of) */
export interface EventVisitor {
  visit(kind: Ev, p: Packet, m: EventUnit, ts: number): void;
}

/**
 * The events of a decoded packet that `mask` asks for, in Tracee's order (IP,
 * then transport, then the DNS events of each message), one visit each; the
 * event builder builds them, the in-process rules read them (rules/run/backend.ts).
 * While the extra DNS messages of one TCP segment are visited, p.dns is that
 * message.
 */
export function visitEvents(p: Packet, mask: EventMask, v: EventVisitor): void {
  if (p.ipVersion === 0) {
    if (p.records !== null) visitRecords(p, p.records, mask, p.timestampNumber(), v);
    return;
  }
  const ts = p.timestampNumber();
  // the IP and transport events, lowest kind first (transport events are not repeated for the extra DNS messages)
  let k = (IP_KINDS[p.ipVersion] | LAYER_KINDS[p.last]) & mask;
  while (k !== 0) {
    const kind = 31 - Math.clz32(k & -k);
    k ^= 1 << kind;
    v.visit(kind as Ev, p, null, ts);
  }
  if (p.dns !== null && (mask & DNS_EVENTS) !== 0) {
    visitDns(p, p.dns, mask, ts, v);
    const more = p.dnsMore;
    if (more !== null) {
      const first = p.dns;
      for (let i = 0; i < more.length; i++) {
        p.dns = more[i];
        visitDns(p, more[i], mask, ts, v);
      }
      p.dns = first;
    }
  }
  if (p.records !== null) visitRecords(p, p.records, mask, ts, v);
}

/** the events of the flow stage's records, each record's in the order of their declarations */
function visitRecords(p: Packet, rs: readonly AppRecord[], mask: EventMask, ts: number, v: EventVisitor): void {
  if ((mask & RECORD_EVENTS) === 0) return;
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i];
    for (let j = 0; j < RECORD_KINDS.length; j++) {
      const e = RECORD_KINDS[j];
      if (mask & e.bit && e.record === r.t && e.accepts(r)) v.visit(e.kind, p, r, ts);
    }
  }
}

function visitDns(p: Packet, m: DnsMessage, mask: EventMask, ts: number, v: EventVisitor): void {
  for (let i = 0; i < MESSAGE_EVENTS.length; i++) {
    const e = MESSAGE_EVENTS[i];
    if (mask & e.bit && e.accepts(m)) v.visit(e.kind, p, m, ts);
  }
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
  private kind: Ev = 0 as Ev;
  private p: Packet | null = null;
  private m: EventUnit = null;
  private ts = 0;

  constructor(
    public mask: EventMask,
    private readonly ctx: EventContext,
  ) {}

  /** does this mask need DNS decoded? */
  get wantsDns(): boolean {
    return (this.mask & DNS_EVENTS) !== 0;
  }

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

  visit(kind: Ev, p: Packet, m: EventUnit, ts: number): void {
    if (this.shareAddresses && ADDRESS_EVENTS & (1 << kind) && this.src === null) {
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
