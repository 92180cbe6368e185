// NETSIG-TCP-SYN-SCAN: one source probing many TCP ports of one host
// (nmap -sS/-sT and friends, and the stealth probes -sF/-sN/-sX).
//
// A probe is a TCP segment without ACK: a SYN opening a connection, or a
// FIN/NULL/XMAS-style segment, which no TCP stack sends outside a scan (every
// segment after the SYN of a connection carries ACK). Per (source, destination)
// the signature counts distinct destination ports probed within WINDOW_SECONDS
// of packet time, and fires once per window when either
//
//   PORTS_MIN distinct ports were probed (any probe kind), or
//   STEALTH_PORTS_MIN distinct ports got a stealth probe (no SYN, no ACK).
//
// A normal client opens one or a few ports per server; FTP passive transfers
// and monitoring checks of many services on one host are the benign cases that
// come closest.
//
// Memory: at most MAX_PAIRS pairs (the oldest window is evicted first), each
// holding at most PORTS_MIN ports.

import type { EventSelector, NetEvent, ProtoTCP, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

/** distinct ports per window: nmap's fastest preset (-F) probes 100, a client rarely opens more than 3-4 */
const PORTS_MIN = 20;
/** distinct ports hit by packets a TCP stack never sends on its own */
const STEALTH_PORTS_MIN = 3;
const WINDOW_SECONDS = 60;
const MAX_PAIRS = 4096;

interface Pair {
  start: number;
  ports: Set<number>;
  stealth: Set<number>;
  fired: boolean;
}

export default class TcpSynScan implements Signature {
  private ctx!: SignatureContext;
  private pairs = new Map<string, Pair>();

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-TCP-SYN-SCAN",
      version: "1.0.0",
      name: "TCP port scan",
      eventName: "tcp_syn_scan",
      description: "One source sent SYN (or stealth FIN/NULL/XMAS) probes to many TCP ports of one host within a short window",
      tags: ["network", "tcp", "scan", "discovery"],
      properties: {
        Severity: 2,
        Category: "discovery",
        Technique: "Network Service Discovery",
        external_id: "T1046",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_tcp" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.pairs.clear();
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_tcp") return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const tcp = getArg(event, "proto_tcp")?.value as ProtoTCP | undefined;
    if (typeof src !== "string" || typeof dst !== "string" || !tcp || tcp.ACK !== 0 || tcp.RST !== 0) return;
    const stealth = tcp.SYN === 0;
    const key = `${src} ${dst}`;
    const now = event.timestamp;
    let p = this.pairs.get(key);
    if (p === undefined || now - p.start > WINDOW_SECONDS * 1e9 || now < p.start) {
      if (p !== undefined) this.pairs.delete(key);
      else if (this.pairs.size >= MAX_PAIRS) this.pairs.delete(this.pairs.keys().next().value as string);
      p = { start: now, ports: new Set(), stealth: new Set(), fired: false };
      this.pairs.set(key, p);
    }
    if (p.fired) return;
    p.ports.add(tcp.dstPort);
    if (stealth) p.stealth.add(tcp.dstPort);
    if (p.ports.size < PORTS_MIN && p.stealth.size < STEALTH_PORTS_MIN) return;
    p.fired = true;
    const ports = [...p.ports];
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        src,
        dst,
        scan_type: p.stealth.size >= STEALTH_PORTS_MIN ? "stealth" : "syn",
        distinct_ports: ports.length,
        stealth_ports: p.stealth.size,
        ports: ports.sort((a, b) => a - b).join(","),
        window_seconds: Math.round((now - p.start) / 1e6) / 1e3,
      },
    });
    // the window's ports are no longer needed once it has fired
    p.ports.clear();
    p.stealth.clear();
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.pairs.clear();
  }
}
