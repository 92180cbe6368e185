// capture -> decode -> events: the part of the data flow every command shares.
// Each packet record is decoded into the reused Packet, the wanted events are
// built and handed to the consumer (an output, or the dispatcher).

import type { PacketRecord } from "../capture/types";
import { Decoder } from "../decode/decoder";
import type { Packet } from "../decode/packet";
import { EventBuilder, type EventMask } from "./build";
import type { EventFilter } from "./filter";
import type { Ev, TraceeEvent } from "../types/events";
import { perKind, RECORD_EVENTS } from "./registry";
import { FlowTracker } from "../flows/tracker";

export type EventConsumer = (ev: TraceeEvent, kind: Ev, p: Packet) => void;

export class EventPipeline {
  readonly decoder = new Decoder();
  readonly builder: EventBuilder;
  readonly eventCounts: number[] = perKind(() => 0);
  private readonly sink: EventConsumer;

  constructor(mask: EventMask, hostName: string, consumer: EventConsumer, filter?: EventFilter) {
    this.builder = new EventBuilder(mask, { hostName });
    this.decoder.dnsEnabled = this.builder.wantsDns;
    this.needRecords = false;
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
    this.decoder.dnsEnabled = on || this.builder.wantsDns;
  }

  /** the flow stage (engine/flows/): on while an event made from its records is wanted */
  flows: FlowTracker | null = null;

  /** follow flows even when no event of theirs is printed (a tap wants them) */
  set needRecords(on: boolean) {
    const want = on || (this.builder.mask & RECORD_EVENTS) !== 0;
    if (want && this.flows === null) this.flows = new FlowTracker();
    else if (!want) this.flows = null;
  }

  /** the per-packet entry point (bind once: `source(pipeline.onPacket)`) */
  readonly onPacket = (rec: PacketRecord): void => {
    const p = this.decoder.decode(rec);
    if (this.flows !== null) this.flows.track(p);
    this.builder.build(p, this.sink);
    if (this.tap !== null) this.tap(p, this.decoder.stats.packets);
  };
}
