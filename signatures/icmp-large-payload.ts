// NETSIG-ICMP-LARGE-PAYLOAD: ICMP/ICMPv6 echo requests or replies carrying far
// more data than ping sends (ICMP tunnels such as ptunnel, icmpsh, or SSH
// carried in echo payloads).
//
// `ping` sends 56 bytes of data by default (Windows: 32); an echo payload above
// PAYLOAD_MIN bytes fires. The ICMP events carry no length, so the signature
// also selects the IP events and reads the length from the IP header of the
// same packet (the IP event comes right before its ICMP event): IPv4 total
// length - header - 8, IPv6 payload length - 8 (extension headers, rare on echo
// packets, would count as data). For a fragmented echo the first fragment is
// measured, which is already above the threshold.
//
// `ping -s 1000` fires too: that is an operator testing MTU, worth a look but
// of low severity. Fires once per (source, destination) per WINDOW_SECONDS of
// packet time; at most MAX_PAIRS pairs are remembered (oldest evicted first).

import type {
  EventSelector,
  NetEvent,
  ProtoICMP,
  ProtoICMPv6,
  ProtoIPv4,
  ProtoIPv6,
  Signal,
  Signature,
  SignatureContext,
  SignatureMetadata,
} from "netsig";
import { getArg, ReportLimiter } from "netsig/helpers";

/** bytes of echo data: 9x ping's default, and more than the 472 bytes Windows' `ping -l` tests commonly use */
const PAYLOAD_MIN = 512;
const WINDOW_SECONDS = 600;
const MAX_PAIRS = 4096;
const ECHO = ["EchoRequest", "EchoReply"];

export default class IcmpLargePayload implements Signature {
  private ctx!: SignatureContext;
  /** the IP header of the packet being delivered */
  private lastIP = { ts: -1, src: "", dst: "", payload: -1 };
  private reported = new ReportLimiter(WINDOW_SECONDS, MAX_PAIRS);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-ICMP-LARGE-PAYLOAD",
      version: "1.0.0",
      name: "Large ICMP echo payload",
      eventName: "icmp_large_payload",
      description: `An ICMP echo request or reply carries more than ${PAYLOAD_MIN} bytes of data (possible ICMP tunnel)`,
      tags: ["network", "icmp", "tunnel", "exfiltration"],
      properties: {
        Severity: 2,
        Category: "command-and-control",
        Technique: "Non-Application Layer Protocol",
        external_id: "T1095",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [
      { source: "tracee", name: "net_packet_ipv4" },
      { source: "tracee", name: "net_packet_ipv6" },
      { source: "tracee", name: "net_packet_icmp" },
      { source: "tracee", name: "net_packet_icmpv6" },
    ];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.reported.clear();
  }

  onEvent(event: NetEvent): void {
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    if (typeof src !== "string" || typeof dst !== "string") return;
    switch (event.eventName) {
      case "net_packet_ipv4": {
        const ip = getArg(event, "proto_ipv4")?.value as ProtoIPv4 | undefined;
        if (ip && typeof ip.length === "number") this.lastIP = { ts: event.timestamp, src, dst, payload: ip.length - ip.IHL * 4 };
        return;
      }
      case "net_packet_ipv6": {
        const ip = getArg(event, "proto_ipv6")?.value as ProtoIPv6 | undefined;
        if (ip && typeof ip.length === "number") this.lastIP = { ts: event.timestamp, src, dst, payload: ip.length };
        return;
      }
      case "net_packet_icmp":
      case "net_packet_icmpv6": {
        const icmp = (getArg(event, "proto_icmp") ?? getArg(event, "proto_icmpv6"))?.value as ProtoICMP | ProtoICMPv6 | undefined;
        const ip = this.lastIP;
        this.lastIP = { ts: -1, src: "", dst: "", payload: -1 };
        if (!icmp || !ECHO.includes(icmp.typeCode)) return;
        if (ip.ts !== event.timestamp || ip.src !== src || ip.dst !== dst) return;
        const data = ip.payload - 8;
        if (!(data > PAYLOAD_MIN)) return;
        if (this.reported.seen(`${src} ${dst}`, event.timestamp)) return;
        this.ctx.callback({
          sigMetadata: this.getMetadata(),
          event,
          data: {
            payload_bytes: data,
            threshold: PAYLOAD_MIN,
            type_code: icmp.typeCode,
            src,
            dst,
          },
        });
        return;
      }
    }
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.reported.clear();
  }
}
