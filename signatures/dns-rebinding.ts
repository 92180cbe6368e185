// NETSIG-DNS-REBINDING: a public name answered with a private, loopback or
// link-local address (DNS rebinding: a web page's own origin is pointed at a
// service inside the network or on the host, so the browser lets the page
// talk to it).
//
// Looks at DNS responses (net_packet_dns_response): the question is a public
// name -- not a single label, not under .local, .localhost, .internal, .arpa
// or a de-facto LAN suffix (.lan, .home, .corp, .intranet, .private) -- and an
// A or AAAA record of the answer section is in REBIND_TARGETS. Fires once per
// (name, address) per WINDOW_SECONDS.
//
// 0.0.0.0 and :: are not targets here: DNS blocklists (Pi-hole, AdGuard)
// answer every blocked name with them. Names that resolve to LAN addresses by
// design (split-horizon DNS, plex.direct) are expected findings; list them in
// ALLOWED_SUFFIXES (copy the file and edit the constant).
//
// Memory: at most MAX_TRACKED (name, address) pairs, the oldest evicted first.

import type { DnsResponseData, EventSelector, NetEvent, PktMeta, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { CidrSet, getArg, ReportLimiter } from "netsig/helpers";

/** private (RFC 1918, RFC 4193), loopback and link-local ranges, IPv4-mapped included */
const REBIND_TARGETS = new CidrSet([
  "127.0.0.0/8",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "169.254.0.0/16",
  "::1/128",
  "fc00::/7",
  "fe80::/10",
  "::ffff:127.0.0.0/104",
  "::ffff:10.0.0.0/104",
  "::ffff:172.16.0.0/108",
  "::ffff:192.168.0.0/112",
  "::ffff:169.254.0.0/112",
]);
/** last labels of names that are never public */
const PRIVATE_SUFFIXES = new Set(["local", "localhost", "internal", "arpa", "lan", "home", "corp", "intranet", "private"]);
/** public names that point into the LAN on purpose (edit in a copy of this file) */
const ALLOWED_SUFFIXES: string[] = ["plex.direct"];
/** report a (name, address) pair again after this many seconds of packet time */
const WINDOW_SECONDS = 600;
const MAX_TRACKED = 4096;

function hasSuffix(name: string, suffix: string): boolean {
  return name === suffix || name.endsWith("." + suffix);
}

function isPublicName(name: string): boolean {
  const dot = name.lastIndexOf(".");
  if (dot < 0) return false;
  if (PRIVATE_SUFFIXES.has(name.slice(dot + 1))) return false;
  return !ALLOWED_SUFFIXES.some((s) => hasSuffix(name, s));
}

export default class DnsRebinding implements Signature {
  private ctx!: SignatureContext;
  private reported = new ReportLimiter(WINDOW_SECONDS, MAX_TRACKED);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-DNS-REBINDING",
      version: "1.0.0",
      name: "DNS rebinding",
      eventName: "dns_rebinding",
      description: "A public DNS name was answered with a private, loopback or link-local address",
      tags: ["network", "dns", "rebinding"],
      properties: {
        Severity: 2,
        Category: "initial-access",
        Technique: "Drive-by Compromise",
        external_id: "T1189",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_dns_response" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.reported.clear();
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_dns_response") return;
    const responses = getArg(event, "dns_response")?.value as DnsResponseData[] | null | undefined;
    const meta = getArg(event, "metadata")?.value as PktMeta | undefined;
    if (!Array.isArray(responses) || !meta) return;
    for (const r of responses) {
      const q = r?.query_data;
      if (!q || typeof q.query !== "string" || !Array.isArray(r.dns_answer)) continue;
      let name = q.query.toLowerCase();
      if (name.endsWith(".")) name = name.slice(0, -1);
      if (!isPublicName(name)) continue;
      for (const a of r.dns_answer) {
        if (!a || (a.answer_type !== "A" && a.answer_type !== "AAAA") || typeof a.answer !== "string") continue;
        if (!REBIND_TARGETS.has(a.answer)) continue;
        if (this.reported.seen(`${name} ${a.answer}`, event.timestamp)) continue;
        this.ctx.callback({
          sigMetadata: this.getMetadata(),
          event,
          data: {
            query: q.query,
            query_type: q.query_type,
            answer: a.answer,
            answer_type: a.answer_type,
            ttl: a.ttl,
            resolver: meta.src_ip,
            client: meta.dst_ip,
          },
        });
      }
    }
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.reported.clear();
  }
}
