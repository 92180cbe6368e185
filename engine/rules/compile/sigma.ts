// Sigma rules as they are: `logsource: {category: dns}` is served by netsig's
// DNS events. Sigma's DNS field names map to the derived dns.* fields
// (engine/rules/fields.ts); the rule sees queries (net_packet_dns_request),
// or responses (net_packet_dns: the whole message, rcode included) when it
// names a field only a response has (answer, rcode). `level` becomes the severity; title, id,
// name and tags the finding's metadata. A logsource or field netsig cannot
// serve is reported as unsupported, with the reason. Host side only.

import { RuleError, type Pos } from "./parse";
import { suggest } from "../run/suggest";

/** Sigma's dns logsource fields -> netsig fields */
export const SIGMA_DNS_FIELDS: Record<string, string> = {
  query: "dns.query",
  record_type: "dns.record_type",
  answer: "dns.answer",
  src_ip: "dns.src_ip",
  dst_ip: "dns.dst_ip",
  src_port: "dns.src_port",
  dst_port: "dns.dst_port",
  rcode: "dns.rcode",
  parent_domain: "dns.parent_domain",
};

/** fields only a response has: a rule naming one sees responses */
export const RESPONSE_FIELDS = new Set(["dns.answer", "dns.answer_type", "dns.rcode"]);

export const LEVELS: Record<string, 0 | 1 | 2 | 3 | 4> = { informational: 0, info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** an unsupported rule: a RuleError whose message says why */
export function unsupported(pos: Pos, why: string): RuleError {
  return new RuleError(pos, `not supported: ${why}`);
}

export function sigmaField(name: string, pos: Pos): string {
  const f = SIGMA_DNS_FIELDS[name];
  if (f === undefined) {
    throw unsupported(
      pos,
      `field "${name}" is not in netsig's dns logsource${suggest(name, Object.keys(SIGMA_DNS_FIELDS))} (its fields: ${Object.keys(SIGMA_DNS_FIELDS).join(", ")})`,
    );
  }
  return f;
}

/** why a logsource cannot be served, or null when it can */
export function logsourceProblem(ls: Record<string, unknown>): string | null {
  const category = typeof ls.category === "string" ? ls.category.toLowerCase() : undefined;
  if (category !== "dns") {
    const what =
      Object.entries(ls)
        .filter(([k]) => k !== "definition")
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join(", ") || "none";
    return (
      `logsource {${what}}: netsig serves Sigma rules of logsource category dns (its DNS events); ` +
      (category === "dns_query"
        ? "dns_query is the Windows/Sysmon client log (QueryName, Image, ...), whose fields netsig's packets do not have"
        : "other log sources are not network packets")
    );
  }
  if (typeof ls.product === "string" && ls.product !== "")
    return `logsource product "${ls.product}": the fields of a product's own DNS log are not netsig's (use category dns alone)`;
  if (typeof ls.service === "string" && ls.service !== "") return `logsource service "${ls.service}": netsig serves category dns alone`;
  return null;
}

/** MITRE ATT&CK properties from Sigma-style tags (attack.t1071.004, attack.command-and-control) */
export function attackProperties(tags: string[]): { Category?: string; external_id?: string } {
  const out: { Category?: string; external_id?: string } = {};
  for (const t of tags) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (m && !out.external_id) {
      out.external_id = m[1].toUpperCase();
      continue;
    }
    const c = /^attack\.([a-z][a-z_-]+)$/i.exec(t);
    if (c && !out.Category && !/^(g|s)\d{4}$/i.test(c[1])) out.Category = c[1].toLowerCase().replace(/_/g, "-");
  }
  return out;
}

/** an id made of a title, for rules without one */
export function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "rule"
  );
}
