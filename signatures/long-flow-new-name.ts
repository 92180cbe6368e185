// NETSIG-LONG-FLOW-NEW-NAME: a TCP connection that stays open a long time to a
// name the workload had never looked up until just before (command and
// control, or a tunnel, to a freshly registered or freshly used domain: a
// long session to a name nobody here resolved before is rare for a service
// whose peers are configured and long known).
//
// Looks at DNS responses (net_packet_dns_response: the first time each name --
// the question and its CNAME targets -- was answered) and at TCP flows
// (net_flow_tcp_begin/_end: the flow's dst_dns names its responder from the
// same answers). A flow is suspect when one of its responder's names was first
// answered at most NEW_NAME_SECONDS before the flow began; it is reported once
// it has been open LONG_FLOW_SECONDS (at its end, or at the first event after
// that time), once per flow. Names first seen in the first LEARNING_SECONDS of
// the capture (the workload's start: its configured peers) are never new.
// All times are capture times (packet timestamps).
//
// Edit the constants in a copy of this file to tune it.
//
// Memory: at most MAX_NAMES names and MAX_FLOWS suspect flows, the oldest
// forgotten first.

import type { DnsResponseData, EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg, getFlow } from "netsig/helpers";

/** a flow open this long is long-lived */
const LONG_FLOW_SECONDS = 600;
/** a name first answered at most this long before the flow began is new */
const NEW_NAME_SECONDS = 300;
/** names first seen this early in the capture are the workload's own */
const LEARNING_SECONDS = 600;
const MAX_NAMES = 16384;
const MAX_FLOWS = 4096;
const NS = 1e9;

interface Suspect {
  begin: number;
  name: string;
  firstSeen: number;
  event: NetEvent;
}

export default class LongFlowNewName implements Signature {
  private ctx!: SignatureContext;
  /** capture time of the first event seen (ns), -1 before it */
  private start = -1;
  /** when each name was first answered (ns), oldest first */
  private firstSeen = new Map<string, number>();
  /** suspect flows still open, by Community ID, oldest first */
  private open = new Map<string, Suspect>();

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-LONG-FLOW-NEW-NAME",
      version: "1.0.0",
      name: "Long-lived flow to a newly seen name",
      eventName: "long_flow_new_name",
      description: `A TCP connection stayed open over ${LONG_FLOW_SECONDS / 60} minutes to a name first resolved shortly before it began`,
      tags: ["network", "flow", "dns", "c2"],
      properties: {
        Severity: 2,
        Category: "command-and-control",
        Technique: "Application Layer Protocol",
        external_id: "T1071",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [
      { source: "tracee", name: "net_packet_dns_response" },
      { source: "tracee", name: "net_flow_tcp_begin" },
      { source: "tracee", name: "net_flow_tcp_end" },
    ];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.start = -1;
    this.firstSeen.clear();
    this.open.clear();
  }

  private seen(name: string, now: number): void {
    const n = name.toLowerCase();
    if (n === "" || this.firstSeen.has(n)) return;
    if (this.firstSeen.size >= MAX_NAMES) this.firstSeen.delete(this.firstSeen.keys().next().value as string);
    this.firstSeen.set(n, now);
  }

  onEvent(event: NetEvent): void {
    const now = event.timestamp;
    if (this.start < 0) this.start = now;
    if (event.eventName === "net_packet_dns_response") {
      const responses = getArg(event, "dns_response")?.value as DnsResponseData[] | null | undefined;
      if (!Array.isArray(responses)) return;
      for (const r of responses) {
        if (!r || !Array.isArray(r.dns_answer) || r.dns_answer.length === 0) continue;
        if (typeof r.query_data?.query === "string") this.seen(r.query_data.query, now);
        for (const a of r.dns_answer) if (a?.answer_type === "CNAME" && typeof a.answer === "string") this.seen(a.answer, now);
      }
    } else {
      const f = getFlow(event);
      if (f.phase === "begin") this.begin(event, f.dstDns, f.communityId, now);
      else {
        const s = this.open.get(f.communityId);
        if (s !== undefined) {
          this.open.delete(f.communityId);
          if (now - s.begin >= LONG_FLOW_SECONDS * NS) this.report(s, event, now, false);
        }
      }
    }
    this.overdue(event, now);
  }

  /** a flow to a new name is suspect */
  private begin(event: NetEvent, names: string[], id: string, now: number): void {
    for (const name of names) {
      const first = this.firstSeen.get(name.toLowerCase());
      if (first === undefined || first - this.start < LEARNING_SECONDS * NS) continue;
      if (now - first > NEW_NAME_SECONDS * NS || first > now) continue;
      if (this.open.size >= MAX_FLOWS) this.open.delete(this.open.keys().next().value as string);
      this.open.delete(id);
      this.open.set(id, { begin: now, name, firstSeen: first, event });
      return;
    }
  }

  /** suspect flows open past the threshold (oldest first): reported while still open */
  private overdue(event: NetEvent, now: number): void {
    for (const [id, s] of this.open) {
      if (now - s.begin < LONG_FLOW_SECONDS * NS) return;
      this.open.delete(id);
      this.report(s, event, now, true);
    }
  }

  private report(s: Suspect, event: NetEvent, now: number, stillOpen: boolean): void {
    const f = getFlow(s.event);
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event: stillOpen ? s.event : event,
      data: {
        name: s.name,
        name_first_seen_seconds_before: Math.round((s.begin - s.firstSeen) / NS),
        open_seconds: Math.round((now - s.begin) / NS),
        still_open: stillOpen,
        dst: f.dst,
        dst_port: f.dstPort,
        community_id: f.communityId,
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.firstSeen.clear();
    this.open.clear();
  }
}
