// An event the rules read without building it (the rules run in netsig's own
// process, on the packet being decoded): a rule asks for `args.metadata` or
// `dns.query`, and only that is made, from the decoded packet. The whole
// Tracee event is built only when a rule fires (its finding carries it) or
// when a correlation keeps it for later (pin()). A LazyEvent is valid only
// while its packet is being handled: the decoder reuses the Packet.
// test/lazy.test.ts checks every arg, every derived DNS field and the whole
// event against the built events on the corpus.

import type { Packet } from "../../decode/packet";
import type { DnsMessage } from "../../decode/dnstypes";
import { buildEvent } from "../../events/build";
import { EVENTS, RECORD_EVENTS, type ArgDecl, type EventUnit } from "../../events/registry";
import type { Ev, TraceeEvent } from "../../types/events";
import { ipProtocolName } from "../../events/vocab";
import { registeredDomain } from "../../sdk/helpers";

/** numbers each event a LazyEvent stands for (rules shared by several rules remember their answer per event: matchers.ts) */
let serials = 0;

export class LazyEvent {
  eventName: string;
  /** which event it stands for now (unique in the process) */
  serial = 0;
  /** derived fields read so far (rules/run/fields.ts): a bit per field code (0-30: fields.ts REMEMBERED), and the values */
  vhave = 0;
  readonly vval: unknown[] = new Array<unknown>(31).fill(undefined);
  timestamp = 0;
  /** the packet (valid while it is handled) and, for DNS events, the message */
  p: Packet = null as unknown as Packet;
  m: EventUnit = null;
  /** made from a record of the flow stage (its args' addresses are the record's, not the packet's) */
  private readonly ofRecord: boolean;
  /** its args' names and declarations (events/registry.ts), in Tracee's order */
  private readonly names: readonly string[];
  private readonly args: readonly ArgDecl[];
  // what was made of it so far: a bit per arg made, and the values
  private made = 0;
  private readonly vals: unknown[];
  private full: TraceeEvent | null = null;
  private parent: string | undefined = undefined;

  constructor(
    readonly kind: Ev,
    private readonly hostName: string,
  ) {
    this.eventName = EVENTS[kind].name;
    this.args = EVENTS[kind].args;
    this.names = this.args.map((a) => a.name);
    this.vals = this.args.map(() => undefined);
    this.ofRecord = (RECORD_EVENTS & (1 << kind)) !== 0;
  }

  /** point it at the next packet (and DNS message) */
  reset(p: Packet, m: EventUnit, ts: number): void {
    this.p = p;
    this.m = m;
    this.timestamp = ts;
    this.serial = ++serials;
    this.vhave = 0;
    this.made = 0;
    this.full = null;
    this.parent = undefined;
  }

  /** dns.parent_domain of the first question (several rules and correlations group by it) */
  parentDomain(): string {
    if (this.parent === undefined) this.parent = registeredDomain((this.m as DnsMessage).questions[0].name);
    return this.parent;
  }

  /** the value of the arg with this name (undefined when the event has none), made once */
  arg(name: string): unknown {
    const i = this.names.indexOf(name);
    if (i < 0) return undefined;
    if ((this.made & (1 << i)) === 0) {
      this.vals[i] = this.args[i].value(this.p, this.m);
      this.made |= 1 << i;
    }
    return this.vals[i];
  }

  /**
   * `args.NAME.KEY` (a rule's most common path): for the packet metadata and
   * the IP and TCP headers, the one value, without making the arg's object
   */
  argKey(name: string, key: string): unknown {
    const i = this.names.indexOf(name);
    if (i >= 0 && (this.made & (1 << i)) === 0 && !this.ofRecord) {
      const p = this.p;
      switch (name) {
        case "metadata":
          switch (key) {
            case "src_ip":
              return p.srcIP;
            case "dst_ip":
              return p.dstIP;
            case "src_port":
              return p.srcPort;
            case "dst_port":
              return p.dstPort;
            case "protocol":
              return p.l4Protocol;
            default:
              break;
          }
          break;
        case "proto_ipv4":
          switch (key) {
            case "length":
              return p.ipTotalLen;
            case "protocol":
              return ipProtocolName(p.ipProtocol);
            case "TTL":
              return p.ttl;
            default:
              break;
          }
          break;
        case "proto_ipv6":
          switch (key) {
            case "length":
              return p.payloadLen;
            case "nextHeader":
              return ipProtocolName(p.ipProtocol);
            default:
              break;
          }
          break;
        case "proto_tcp":
          switch (key) {
            case "srcPort":
              return p.srcPort;
            case "dstPort":
              return p.dstPort;
            case "FIN":
              return p.tcpFlags & 1;
            case "SYN":
              return (p.tcpFlags >> 1) & 1;
            case "RST":
              return (p.tcpFlags >> 2) & 1;
            case "PSH":
              return (p.tcpFlags >> 3) & 1;
            case "ACK":
              return (p.tcpFlags >> 4) & 1;
            default:
              break;
          }
          break;
        default:
          break;
      }
    }
    const v = this.arg(name);
    return v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
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
    if (this.full === null) this.full = buildEvent(this.kind, this.p, this.m, this.hostName);
    return this.full;
  }
}

/** an event to keep past its packet: a LazyEvent becomes the built event */
export function pin(ev: TraceeEvent): TraceeEvent {
  return ev instanceof LazyEvent ? (ev as LazyEvent).event() : ev;
}
