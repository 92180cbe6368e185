// NETSIG-DNS-UNAPPROVED-RESOLVER: DNS queries sent to a server outside the
// allow-list (malware and tunnels that bypass the site's resolvers by asking
// 8.8.8.8, 1.1.1.1 or their own server directly).
//
// Looks at DNS queries (net_packet_dns_request) to destination port 53, over
// UDP or TCP (mDNS 5353 and LLMNR 5355 are link-local and not looked at). The
// destination must be in ALLOWED_RESOLVERS; the default allows loopback (local
// stub resolvers: systemd-resolved 127.0.0.53, dnsmasq, unbound), RFC 1918 and
// IPv6 unique-local/link-local addresses (a site's own resolvers), so any query
// to a public address fires.
//
// Signatures cannot read files or the environment: to use your own list, copy
// this file into your signatures folder under another name, give it another id,
// and edit ALLOWED_RESOLVERS (CIDRs or single addresses), e.g. ["10.0.0.53"].
//
// Fires once per (client, resolver) pair per WINDOW_SECONDS of packet time;
// at most MAX_PAIRS pairs are remembered (the oldest evicted first).

import type { DnsQueryData, EventSelector, NetEvent, PktMeta, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { CidrSet, getArg, ReportLimiter } from "netsig/helpers";

const ALLOWED_RESOLVERS = new CidrSet(["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10"]);
/** report a pair again after an hour: enough to see it is still going on, not a flood */
const WINDOW_SECONDS = 3600;
const MAX_PAIRS = 4096;

export default class DnsUnapprovedResolver implements Signature {
  private ctx!: SignatureContext;
  private reported = new ReportLimiter(WINDOW_SECONDS, MAX_PAIRS);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-DNS-UNAPPROVED-RESOLVER",
      version: "1.0.0",
      name: "DNS query to an unapproved resolver",
      eventName: "dns_unapproved_resolver",
      description: "A DNS query was sent to a port 53 server outside the allow-list of resolvers",
      tags: ["network", "dns", "policy"],
      properties: {
        Severity: 1,
        Category: "command-and-control",
        Technique: "Application Layer Protocol: DNS",
        external_id: "T1071.004",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_dns_request" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.reported.clear();
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_dns_request") return;
    const meta = getArg(event, "metadata")?.value as PktMeta | undefined;
    if (meta?.dst_port !== 53 || typeof meta.dst_ip !== "string" || meta.dst_ip === "") return;
    if (ALLOWED_RESOLVERS.has(meta.dst_ip)) return;
    const key = `${meta.src_ip} ${meta.dst_ip}`;
    const now = event.timestamp;
    if (this.reported.seen(key, now)) return;
    const questions = getArg(event, "dns_questions")?.value as DnsQueryData[] | null | undefined;
    const q = Array.isArray(questions) ? questions[0] : undefined;
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        resolver: meta.dst_ip,
        client: meta.src_ip,
        transport: meta.protocol === 6 ? "tcp" : "udp",
        query: q?.query ?? "",
        query_type: q?.query_type ?? "",
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.reported.clear();
  }
}
