// An event the rules read without building it (the rules run in netsig's own
// process, on the packet being decoded): a rule asks for `args.metadata` or
// `dns.query`, and only that is made, from the decoded packet. The whole
// Tracee event is built only when a rule fires (its finding carries it) or
// when a correlation keeps it for later (pin()). A LazyEvent is valid only
// while its packet is being handled: the decoder reuses the Packet.
// test/lazy.test.ts checks every arg, every derived DNS field and the whole
// event against the built events on the corpus.

import type { Packet } from "../decode/packet";
import type { DnsMessage } from "../decode/dnstypes";
import { buildEvent, protoDNS, protoICMP, protoICMPv6, protoIPv4, protoIPv6, protoTCP, protoUDP, pktMeta, queryData, responseData } from "../events/build";
import { Ev, EVENT_NAMES, type TraceeEvent } from "../events/types";

/** the args of each event type, by name, in Tracee's order */
const ARG_NAMES: readonly (readonly string[])[] = [
  ["src", "dst", "proto_ipv4"],
  ["src", "dst", "proto_ipv6"],
  ["src", "dst", "proto_tcp"],
  ["src", "dst", "proto_udp"],
  ["src", "dst", "proto_icmp"],
  ["src", "dst", "proto_icmpv6"],
  ["src", "dst", "src_port", "dst_port", "proto_dns"],
  ["metadata", "dns_questions"],
  ["metadata", "dns_response"],
];

export class LazyEvent {
  eventName: string;
  timestamp = 0;
  /** the packet (valid while it is handled) and, for DNS events, the message */
  p: Packet = null as unknown as Packet;
  m: DnsMessage | null = null;
  private readonly names: readonly string[];
  // what was made of it so far
  private obj: unknown = undefined;
  private list: unknown = undefined;
  private full: TraceeEvent | null = null;

  constructor(readonly kind: Ev, private readonly hostName: string) {
    this.eventName = EVENT_NAMES[kind];
    this.names = ARG_NAMES[kind];
  }

  /** point it at the next packet (and DNS message) */
  reset(p: Packet, m: DnsMessage | null, ts: number): void {
    this.p = p;
    this.m = m;
    this.timestamp = ts;
    this.obj = undefined;
    this.list = undefined;
    this.full = null;
  }

  /** the value of the arg with this name (undefined when the event has none) */
  arg(name: string): unknown {
    const p = this.p;
    switch (name) {
      case "src": return this.kind <= Ev.DNS ? p.srcIP : undefined;
      case "dst": return this.kind <= Ev.DNS ? p.dstIP : undefined;
      case "src_port": return this.kind === Ev.DNS ? p.srcPort : undefined;
      case "dst_port": return this.kind === Ev.DNS ? p.dstPort : undefined;
      default: break;
    }
    if (this.names.indexOf(name) < 0) return undefined;
    // one object arg (proto_*, metadata) and one list arg (dns_questions, dns_response) at most
    if (name === "dns_questions" || name === "dns_response") {
      if (this.list === undefined) this.list = name === "dns_questions" ? queryData(this.m as DnsMessage) : responseData(this.m as DnsMessage);
      return this.list;
    }
    if (this.obj === undefined) this.obj = this.object(name);
    return this.obj;
  }

  private object(name: string): unknown {
    const p = this.p;
    switch (name) {
      case "proto_ipv4": return protoIPv4(p);
      case "proto_ipv6": return protoIPv6(p);
      case "proto_tcp": return protoTCP(p);
      case "proto_udp": return protoUDP(p);
      case "proto_icmp": return protoICMP(p);
      case "proto_icmpv6": return protoICMPv6(p);
      case "proto_dns": return protoDNS(this.m as DnsMessage);
      case "metadata": return pktMeta(p);
      default: return undefined;
    }
  }

  /** an envelope field (timestamp, hostName, processName, ...) */
  top(name: string): unknown {
    if (name === "eventName") return this.eventName;
    if (name === "timestamp") return this.timestamp;
    if (name === "hostName") return this.hostName;
    return (this.event() as unknown as Record<string, unknown>)[name];
  }

  /** the whole Tracee event (built once) */
  event(): TraceeEvent {
    if (this.full === null) {
      this.full = buildEvent(this.kind, this.p, this.m, this.hostName);
      // the same values as the parts already read (a rule's data may hold them)
      if (this.obj !== undefined || this.list !== undefined) {
        const args = this.full.args;
        for (let i = 0; i < args.length; i++) {
          const n = args[i].name;
          if (n === "dns_questions" || n === "dns_response") { if (this.list !== undefined) args[i].value = this.list; }
          else if (this.obj !== undefined && (n === "metadata" || n.startsWith("proto_"))) args[i].value = this.obj;
        }
      }
    }
    return this.full;
  }
}

/** an event to keep past its packet: a LazyEvent becomes the built event */
export function pin(ev: TraceeEvent): TraceeEvent {
  return ev instanceof LazyEvent ? (ev as LazyEvent).event() : ev;
}
