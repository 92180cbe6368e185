// NETSIG-TLS-SNI-WITHOUT-DNS: a TLS ClientHello to a name (its SNI) that the
// client never looked up in DNS on the wire. Malware and tools that carry
// their C2's address hard-coded, or resolve it another way (a hosts file, an
// out-of-band channel), still send the C2's name in SNI to reach it behind a
// CDN or a shared host; a normal client resolves the name first.
//
// Watches DNS responses (net_packet_dns_response): each response with
// answers adds its question name and the CNAME targets among its answers
// (the chain to the address), for the client it was sent to, until max(TTL, MIN_KEEP_SECONDS) + GRACE_SECONDS of
// packet time after it (clients reuse connections and cached answers beyond
// the TTL). A ClientHello whose SNI is not among the names of its client
// fires. Only clients seen receiving DNS answers are judged: a client whose
// DNS never shows on the wire (DNS over TLS or HTTPS, or a capture that
// misses it) would make every connection look unresolved. An SNI that is an
// IP address is not a name and is left alone (a separate matter).
//
// Bounded: at most MAX_NAMES (client, name) entries and MAX_CLIENTS clients
// (the oldest evicted first); fires once per (client, SNI) per
// WINDOW_SECONDS.

import type { DnsResponseData, EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { clientHelloOf, getArg, getPacketMetadata, ReportLimiter } from "netsig/helpers";

const MIN_KEEP_SECONDS = 300;
const GRACE_SECONDS = 3600;
const MAX_NAMES = 65536;
const MAX_CLIENTS = 16384;
const WINDOW_SECONDS = 3600;

/** a name as compared: lowercase, no trailing dot */
function norm(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n.slice(0, -1) : n;
}

/** an IPv4 literal, or anything with a colon (IPv6) */
function isAddress(s: string): boolean {
  return s.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

export default class TlsSniWithoutDns implements Signature {
  private ctx!: SignatureContext;
  /** "client name" -> until (ns of packet time) */
  private names = new Map<string, number>();
  /** clients seen receiving DNS answers -> when last */
  private clients = new Map<string, number>();
  private reported = new ReportLimiter(WINDOW_SECONDS, 4096);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-TLS-SNI-WITHOUT-DNS",
      version: "1.0.0",
      name: "TLS to a name never resolved through DNS",
      eventName: "tls_sni_without_dns",
      description: "A TLS ClientHello named a server (SNI) that the client did not look up in DNS on the wire",
      tags: ["network", "tls", "dns", "sni"],
      properties: {
        Severity: 2,
        Category: "command-and-control",
        Technique: "Application Layer Protocol: Web Protocols",
        external_id: "T1071.001",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [
      { source: "tracee", name: "net_packet_dns_response" },
      { source: "netsig", name: "net_packet_tls_client_hello" },
    ];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.names.clear();
    this.clients.clear();
    this.reported.clear();
  }

  private remember(client: string, name: string, until: number): void {
    const key = `${client} ${norm(name)}`;
    const old = this.names.get(key);
    if (old !== undefined) {
      this.names.delete(key);
      if (old > until) until = old;
    } else if (this.names.size >= MAX_NAMES) {
      this.names.delete(this.names.keys().next().value as string);
    }
    this.names.set(key, until);
  }

  onEvent(event: NetEvent): void {
    const now = event.timestamp;
    if (event.eventName === "net_packet_dns_response") {
      const responses = getArg(event, "dns_response")?.value as DnsResponseData[] | null | undefined;
      const client = getPacketMetadata(event).dst_ip;
      if (!Array.isArray(responses) || client === "") return;
      for (const r of responses) {
        const answers = r.dns_answer;
        if (!Array.isArray(answers) || answers.length === 0) continue;
        if (this.clients.has(client)) this.clients.delete(client);
        else if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
        this.clients.set(client, now);
        let ttl = 0;
        for (const a of answers) ttl = Math.max(ttl, a.ttl);
        const until = now + (Math.max(ttl, MIN_KEEP_SECONDS) + GRACE_SECONDS) * 1e9;
        this.remember(client, r.query_data.query, until);
        for (const a of answers) if (a.answer_type === "CNAME") this.remember(client, a.answer, until);
      }
      return;
    }
    const h = clientHelloOf(event);
    if (h === null || h.sni === "" || isAddress(h.sni)) return;
    const meta = getPacketMetadata(event);
    if (!this.clients.has(meta.src_ip)) return;
    const sni = norm(h.sni);
    const until = this.names.get(`${meta.src_ip} ${sni}`);
    if (until !== undefined && now <= until) return;
    if (this.reported.seen(`${meta.src_ip} ${sni}`, now)) return;
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        client: meta.src_ip,
        server: meta.dst_ip,
        server_port: meta.dst_port,
        sni: h.sni,
        looked_up: until !== undefined ? "expired" : "never",
        ja3: h.ja3_hash,
        ja4: h.ja4,
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
