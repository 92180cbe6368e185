// NETSIG-DNS-TUNNEL: data carried in DNS queries (iodine, dnscat/dnscat2,
// DNSExfiltrator-style exfiltration).
//
// Looks at every DNS query (net_packet_dns_request) and groups queries by the
// registered domain of the name (the zone a tunnel's server is authoritative
// for). Any of three indicators fires, at most once per domain per window:
//
//   long_label         a label of LONG_LABEL_MIN+ characters with entropy of
//                      LABEL_ENTROPY_MIN+ bits/char (encoded data; a hostname
//                      label is short and word-like) -- one query is enough;
//   unique_subdomains  UNIQUE_SUBDOMAINS_MIN distinct subdomains of DATA_SUB_MIN+
//                      characters under one domain within the window (every
//                      tunnel query must be unique to defeat caches);
//   txt_null_mix       TXT_NULL_MIN+ TXT/NULL queries under one domain within the
//                      window, at least TXT_NULL_RATIO of its queries (the
//                      record types that carry the most bytes back).
//
// Names whose last label cannot be a top-level domain (dnscat's direct mode
// sends "dnscat.<hex>.<hex>") share one group, registered_domain "" in the
// finding. Reverse lookups (.arpa) and mDNS/LAN names (.local, .localhost,
// .internal) are ignored: a tunnel needs a delegated public zone.
//
// Known benign look-alikes: anti-virus / reputation services that look up file
// hashes as names, DNSBLs queried by mail servers (many unique names under one
// zone). Tune the constants below, or copy the file and add an exclusion.
//
// Memory: at most MAX_DOMAINS groups (the oldest window is evicted first);
// subdomains are kept as 32-bit hashes, at most UNIQUE_SUBDOMAINS_MIN per group.

import type { DnsQueryData, EventSelector, NetEvent, PktMeta, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg, registeredDomain, shannonEntropy } from "netsig/helpers";

/** DNS allows 63; hostnames rarely pass 30; iodine, dnscat and base32/64 exfil tools fill 50-63 */
const LONG_LABEL_MIN = 48;
/** bits/char: hex data is ~3.9, base32 ~4.8; a long word-like label (e.g. "thisisaverylong...") is below 3.5 */
const LABEL_ENTROPY_MIN = 3.5;
/** distinct data-carrying subdomains per window: browsing a CDN gives a handful; iodine sends ~9/s */
const UNIQUE_SUBDOMAINS_MIN = 30;
/** a subdomain shorter than this is a hostname ("www", "mail", "0") rather than data */
const DATA_SUB_MIN = 16;
/** TXT/NULL queries per domain per window: SPF/DKIM/verification lookups are a few per domain */
const TXT_NULL_MIN = 20;
/** ... and at least this share of the domain's queries */
const TXT_NULL_RATIO = 0.5;
/** the window, in seconds of packet time; also the "fire once" period */
const WINDOW_SECONDS = 60;
/** the most domains tracked at once */
const MAX_DOMAINS = 4096;
/** the longest top-level domain in the root zone has 24 characters */
const MAX_TLD_LEN = 24;
const IGNORED_SUFFIXES = ["arpa", "local", "localhost", "internal"];

interface Group {
  start: number;
  queries: number;
  txtNull: number;
  subs: Set<number>;
  fired: boolean;
}

/** FNV-1a, 32 bits */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** the registered domain, "" when the name has no plausible TLD, null when ignored */
function domainKey(name: string): string | null {
  const dot = name.lastIndexOf(".");
  if (dot < 0) return null;
  const tld = name.slice(dot + 1);
  if (IGNORED_SUFFIXES.includes(tld)) return null;
  if (tld.length > MAX_TLD_LEN || !/^([a-z]{2,}|xn--[a-z0-9-]+)$/.test(tld)) return "";
  return registeredDomain(name);
}

/** the longest label of a name */
function longestLabel(name: string): string {
  let longest = "";
  for (let start = 0; start <= name.length; ) {
    let end = name.indexOf(".", start);
    if (end < 0) end = name.length;
    if (end - start > longest.length) longest = name.slice(start, end);
    start = end + 1;
  }
  return longest;
}

export default class DnsTunnel implements Signature {
  private ctx!: SignatureContext;
  private groups = new Map<string, Group>();

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-DNS-TUNNEL",
      version: "1.0.0",
      name: "DNS tunneling",
      eventName: "dns_tunnel",
      description:
        "DNS queries carry encoded data: long high-entropy labels, many unique subdomains of one domain, or a TXT/NULL-heavy query mix",
      tags: ["network", "dns", "exfiltration", "c2"],
      properties: {
        Severity: 3,
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
    this.groups.clear();
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_dns_request") return;
    const questions = getArg(event, "dns_questions")?.value as DnsQueryData[] | null | undefined;
    const meta = getArg(event, "metadata")?.value as PktMeta | undefined;
    if (!Array.isArray(questions) || !meta) return;
    for (const q of questions) {
      if (q && typeof q.query === "string") this.onQuery(event, meta, q);
    }
  }

  private onQuery(event: NetEvent, meta: PktMeta, q: DnsQueryData): void {
    let name = q.query.toLowerCase();
    if (name.endsWith(".")) name = name.slice(0, -1);
    const key = domainKey(name);
    if (key === null) return;
    const now = event.timestamp;
    let g = this.groups.get(key);
    if (g === undefined || now - g.start > WINDOW_SECONDS * 1e9 || now < g.start) {
      if (g !== undefined)
        this.groups.delete(key); // re-inserted last: the map stays in window order
      else if (this.groups.size >= MAX_DOMAINS) this.groups.delete(this.groups.keys().next().value as string);
      g = { start: now, queries: 0, txtNull: 0, subs: new Set(), fired: false };
      this.groups.set(key, g);
    }
    g.queries++;
    if (q.query_type === "TXT" || q.query_type === "NULL") g.txtNull++;
    // (key is the name's registered domain: what is left of it is the subdomain)
    const sub = key === "" ? name : name.length > key.length ? name.slice(0, name.length - key.length - 1) : "";
    if (sub.length >= DATA_SUB_MIN && g.subs.size < UNIQUE_SUBDOMAINS_MIN) g.subs.add(hash(sub));
    if (g.fired) return;

    const longest = longestLabel(name);
    let entropy = -1;
    const reasons: string[] = [];
    if (longest.length >= LONG_LABEL_MIN && (entropy = shannonEntropy(longest)) >= LABEL_ENTROPY_MIN) reasons.push("long_label");
    if (g.subs.size >= UNIQUE_SUBDOMAINS_MIN) reasons.push("unique_subdomains");
    if (g.txtNull >= TXT_NULL_MIN && g.txtNull >= TXT_NULL_RATIO * g.queries) reasons.push("txt_null_mix");
    if (reasons.length === 0) return;
    if (entropy < 0) entropy = shannonEntropy(longest);
    g.fired = true;
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        registered_domain: key,
        reasons: reasons.join(","),
        query: q.query,
        query_type: q.query_type,
        longest_label: longest.length,
        label_entropy: Math.round(entropy * 100) / 100,
        unique_subdomains: g.subs.size,
        queries_in_window: g.queries,
        txt_null_in_window: g.txtNull,
        client: meta.src_ip,
        resolver: meta.dst_ip,
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {
    this.groups.clear();
  }
}
