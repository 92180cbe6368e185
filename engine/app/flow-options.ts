// The flow stage's options, replay's and run's alike (config keys: the same
// names): how many flows and DNS names it keeps. See docs/events.md.

import { networkInterfaces } from "node:os";
import type { FlowSettings } from "../events/pipeline";
import type { FlowTracker } from "../flows/tracker";
import { DEFAULT_MAX_FLOWS } from "../flows/tracker";
import { UsageError } from "../types/errors";

export const DEFAULT_DNS_CACHE_SIZE = 16384;

export const FLOW_OPTIONS = {
  "max-flows": { type: "string" },
  "dns-cache-size": { type: "string" },
} as const;

export const FLOW_USAGE = `flow options (net_flow_* events, HTTP and TLS reassembly):
  --max-flows N      TCP and UDP flows followed at once (default ${DEFAULT_MAX_FLOWS}); a new flow
                     past it evicts the oldest closing, then half-open, then UDP, then
                     established flow (counted)
  --dns-cache-size N names and addresses kept from DNS answers to name flows (default ${DEFAULT_DNS_CACHE_SIZE})`;

function count(values: Record<string, unknown>, name: string, max: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, not "${String(v)}"`);
  return n;
}

/**
 * The flow settings of the options; with `ifaces` (a live run), the
 * addresses of those interfaces ("any": all) are the local ones that tell a
 * flow's conn_direction
 */
export function flowSettingsFrom(values: Record<string, unknown>, ifaces?: readonly string[]): FlowSettings {
  const s: FlowSettings = {
    maxFlows: count(values, "max-flows", 16 * 1024 * 1024) ?? DEFAULT_MAX_FLOWS,
    dnsCacheSize: count(values, "dns-cache-size", 16 * 1024 * 1024) ?? DEFAULT_DNS_CACHE_SIZE,
  };
  if (ifaces !== undefined) {
    const local = localAddresses(ifaces);
    // (an interface with no address, e.g. a bridge port: the replay rule, private addresses are local)
    if (local.size > 0) s.isLocal = (ip) => local.has(ip);
  }
  return s;
}

/** the addresses of the named interfaces ("any": every interface), as netsig prints addresses */
export function localAddresses(ifaces: readonly string[]): Set<string> {
  const out = new Set<string>();
  const all = networkInterfaces();
  for (const [name, addrs] of Object.entries(all)) {
    if (!ifaces.includes("any") && !ifaces.includes(name)) continue;
    for (const a of addrs ?? []) out.add(a.address.replace(/%.*$/, "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1"));
  }
  return out;
}

/** the summary's flow part: with flow events, or when a bound dropped something ("" otherwise) */
export function flowSummary(f: FlowTracker | null): string {
  if (f === null) return "";
  const s = f.stats;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  if (s.tcpFlows + s.udpFlows === 0) return "";
  if (!f.tcpEvents && !f.udpEvents && sum(s.evicted) + s.gaps + s.cut === 0) return "";
  const parts = [`flows: ${s.tcpFlows} TCP, ${s.udpFlows} UDP`];
  const timedOut = sum(s.timedOut);
  const evicted = sum(s.evicted);
  if (timedOut) parts.push(`${timedOut} timed out`);
  if (evicted) parts.push(`${evicted} evicted (table full: --max-flows ${f.options.maxFlows})`);
  if (s.flushed) parts.push(`${s.flushed} open at the end`);
  if (s.gaps) parts.push(`${s.gaps} directions stopped at a gap`);
  if (s.cut) parts.push(`${s.cut} messages cut`);
  return parts.join(", ");
}
