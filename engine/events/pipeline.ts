// capture -> decode -> events: the part of the data flow every command shares.
// Each packet record is decoded into the reused Packet, the wanted events are
// built and handed to the consumer (an output, or the dispatcher).

import type { PacketRecord } from "../capture/types";
import { Decoder } from "../decode/decoder";
import { Packet } from "../decode/packet";
import { EventBuilder, type EventMask } from "./build";
import type { EventFilter } from "./filter";
import { Ev, type TraceeEvent } from "../types/events";
import { DNS_EVENTS, perKind, RECORD_EVENTS } from "./registry";
import { FlowTracker, type FlowOptions } from "../flows/tracker";
import { DnsCache } from "../flows/dnscache";

/** the flow events (begin/end), TCP's and UDP's */
export const TCP_FLOW_EVENTS: EventMask = (1 << Ev.FlowTCPBegin) | (1 << Ev.FlowTCPEnd);
export const UDP_FLOW_EVENTS: EventMask = (1 << Ev.FlowUDPBegin) | (1 << Ev.FlowUDPEnd);

/** the flow stage's bounds (--max-flows, --dns-cache-size) and the local-address test */
export interface FlowSettings extends Partial<FlowOptions> {
  /** names and addresses the DNS cache holds (flows/dnscache.ts) */
  dnsCacheSize?: number;
}

export type EventConsumer = (ev: TraceeEvent, kind: Ev, p: Packet) => void;

export class EventPipeline {
  readonly decoder = new Decoder();
  readonly builder: EventBuilder;
  readonly eventCounts: number[] = perKind(() => 0);
  private readonly sink: EventConsumer;

  constructor(mask: EventMask, hostName: string, consumer: EventConsumer, filter?: EventFilter) {
    this.builder = new EventBuilder(mask, { hostName });
    this.decoder.dnsEnabled = this.builder.wantsDns;
    this.update();
    const counts = this.eventCounts;
    this.sink =
      filter && !filter.empty
        ? (ev, kind, p) => {
            if (filter.accept(ev, kind)) {
              counts[kind]++;
              consumer(ev, kind, p);
            }
          }
        : (ev, kind, p) => {
            counts[kind]++;
            consumer(ev, kind, p);
          };
  }

  /** called with every decoded packet after its events were built (e.g. the signature engine) */
  tap: ((p: Packet, packetNumber: number) => void) | null = null;

  /** decode DNS even when no DNS event is printed (a tap wants it) */
  set needDns(on: boolean) {
    this.tapDns = on;
    this.update();
  }

  /** the flow stage (engine/flows/): on while an event made from its records is wanted */
  flows: FlowTracker | null = null;

  /** follow flows even when no event of theirs is printed (a tap wants them) */
  set needRecords(on: boolean) {
    this.tapRecords = on ? RECORD_EVENTS : 0;
    this.update();
  }

  /**
   * What a tap (the signatures) wants besides the printed events: DNS decoded
   * when it selects a DNS event, the flow stage when it selects an event of
   * its records, flow records and the DNS cache when it selects a flow event
   */
  setTapMask(mask: EventMask): void {
    this.tapDns = (mask & DNS_EVENTS) !== 0;
    this.tapRecords = mask & RECORD_EVENTS;
    this.update();
  }

  /** the flow stage's bounds (set before the first packet; a later call starts a new table) */
  configureFlows(s: FlowSettings): void {
    this.flowSettings = s;
    this.flows = null;
    this.update();
  }

  private tapDns = false;
  private tapRecords: EventMask = 0;
  private flowSettings: FlowSettings = {};

  private update(): void {
    const records = (this.builder.mask | this.tapRecords) & RECORD_EVENTS;
    const tcp = (records & TCP_FLOW_EVENTS) !== 0;
    const udp = (records & UDP_FLOW_EVENTS) !== 0;
    // the DNS cache names the flows: DNS is decoded while flow events are wanted
    this.decoder.dnsEnabled = this.tapDns || this.builder.wantsDns || tcp || udp;
    if (records === 0) {
      this.flows = null;
      return;
    }
    let f = this.flows;
    if (f === null) {
      const { dnsCacheSize: _, ...opts } = this.flowSettings;
      f = this.flows = new FlowTracker(undefined, opts);
    }
    f.tcpEvents = tcp;
    f.udpEvents = udp;
    if (tcp || udp) f.dns ??= new DnsCache(this.flowSettings.dnsCacheSize);
  }

  /**
   * The input ended (end of file, or a live run stopping): the flows still
   * open end; their records ride on a packet of no layer (visitEvents) at the
   * time of the last packet, through the events and the tap like any other
   */
  finish(): void {
    const f = this.flows;
    if (f === null) return;
    const records = f.flush();
    if (records.length === 0) return;
    const p = new Packet();
    const t = f.time;
    p.tsSec = t.sec;
    p.tsNsec = t.nsec;
    p.records = records;
    this.builder.build(p, this.sink);
    if (this.tap !== null) this.tap(p, this.decoder.stats.packets);
  }

  /** the per-packet entry point (bind once: `source(pipeline.onPacket)`) */
  readonly onPacket = (rec: PacketRecord): void => {
    const p = this.decoder.decode(rec);
    if (this.flows !== null) this.flows.track(p);
    this.builder.build(p, this.sink);
    if (this.tap !== null) this.tap(p, this.decoder.stats.packets);
  };
}
