// What a field path can reach in each netsig event (the shapes of
// events/registry.ts), so that a rule naming a field that no selected event has
// is an error with a suggestion, not a rule that silently never fires.
// Host side only.

import type { Shape } from "../../types/events";
import { DNS_EVENTS as DNS_MASK, EVENT_NAMES, EVENTS, type EventName } from "../../events/registry";

export type { Shape };

/** each event's args and their shapes (its declaration's: events/registry.ts) */
export const ARG_SHAPES: Readonly<Record<EventName, Readonly<Record<string, Shape>>>> = Object.fromEntries(
  EVENTS.map((d) => [d.name, Object.fromEntries(d.args.map((a) => [a.name, a.shape]))]),
) as Record<EventName, Record<string, Shape>>;

/** the envelope's fields (the top level of every event) */
export const TOP_SHAPES: Record<string, Shape> = {
  timestamp: "n",
  threadStartTime: "n",
  processorId: "n",
  processId: "n",
  cgroupId: "n",
  threadId: "n",
  parentProcessId: "n",
  hostProcessId: "n",
  hostThreadId: "n",
  hostParentProcessId: "n",
  userId: "n",
  mountNamespace: "n",
  pidNamespace: "n",
  processName: "s",
  executable: { path: "s" },
  hostName: "s",
  containerId: "s",
  container: "any",
  kubernetes: "any",
  eventId: "s",
  eventName: "s",
  matchedPolicies: ["s"],
  argsNum: "n",
  returnValue: "n",
  syscall: "s",
  stackAddresses: ["n"],
  contextFlags: { containerStarted: "b", isCompat: "b" },
  threadEntityId: "n",
  processEntityId: "n",
  parentEntityId: "n",
};

/**
 * Derived DNS fields, for any DNS event (the names of Sigma's dns
 * logsource): the client is src, the server dst, for queries and responses.
 */
export const VIRTUAL_FIELDS: Record<string, { shape: Shape; what: string }> = {
  "dns.query": { shape: "s", what: "the queried name" },
  "dns.record_type": { shape: "s", what: "the queried record type (A, TXT, ...)" },
  "dns.answer": { shape: "s", what: "each answer's data (address, name or text)" },
  "dns.answer_type": { shape: "s", what: "each answer's record type" },
  "dns.src_ip": { shape: "s", what: "the client's address" },
  "dns.dst_ip": { shape: "s", what: "the server's address" },
  "dns.src_port": { shape: "n", what: "the client's port" },
  "dns.dst_port": { shape: "n", what: "the server's port" },
  "dns.rcode": { shape: "s", what: "the response code (NOERROR, NXDOMAIN, SERVFAIL, ...; net_packet_dns only)" },
  "dns.parent_domain": { shape: "s", what: "the registered domain of the queried name" },
  "dns.qr": { shape: "n", what: "0 for a query, 1 for a response" },
};

/** events that carry DNS (where the dns.* fields have values) */
export const DNS_EVENTS: readonly EventName[] = EVENT_NAMES.filter((_, k) => DNS_MASK & (1 << k));

export function shapeName(s: Shape): string {
  if (s === "s") return "text";
  if (s === "n") return "a number";
  if (s === "b") return "true/false";
  if (s === "any") return "anything";
  if (Array.isArray(s)) return "a list";
  return "an object";
}
