// Findings as Tracee prints them: a finding becomes an event named after the
// signature (sigMetadata.eventName, else its id), with the triggering event's
// context, one arg per `data` entry (sorted by name, so output is stable),
// an arg `triggeredBy` = {id, name, args, returnValue} of the triggering
// event, and `metadata` = {Version, Description, Tags, Properties} where
// Properties adds signatureID and signatureName — and, for deduplication
// downstream, findingID: a hash of the signature id and the triggering event.

import { createHash } from "node:crypto";
import { goJSON } from "../events/json";
import type { HostFinding } from "../types/findings";

/** Tracee's names of Go value types for finding args (getCType) */
function argType(v: unknown): string {
  switch (typeof v) {
    case "string":
      return "const char*";
    case "number":
      return Number.isInteger(v) ? "int" : "double";
    case "boolean":
      return "bool";
    default:
      return v === null ? "unknown" : Array.isArray(v) ? "[]interface {}" : "map[string]interface {}";
  }
}

/** first signature event ID, as Tracee numbers signature events */
export const SIGNATURE_EVENT_BASE = 6000;

export interface FindingEvent {
  event: Record<string, unknown>;
  /** the JSON line, timestamp exact */
  json: string;
  id: string;
}

export function findingEvent(f: HostFinding, eventId: number): FindingEvent {
  const trigger = f.event ?? {};
  const meta = f.sig.meta;
  const args: { name: string; type: string; value: unknown }[] = [];
  for (const k of Object.keys(f.data ?? {}).sort()) args.push({ name: k, type: argType(f.data[k]), value: f.data[k] });
  const triggerId = Number(trigger.eventId);
  args.push({
    name: "triggeredBy",
    type: "unknown",
    value: {
      id: Number.isFinite(triggerId) ? triggerId : 0,
      name: trigger.eventName ?? "",
      args: trigger.args ?? [],
      returnValue: trigger.returnValue ?? 0,
    },
  });
  const triggerJSON = goJSON(trigger).replace(/^\{"timestamp":[0-9.e+]+/, '{"timestamp":' + (f.ts || "0"));
  const id = createHash("sha256").update(meta.id).update("\n").update(triggerJSON).digest("hex").slice(0, 32);
  const event: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(trigger)) {
    if (k === "args") break;
    event[k] = v;
  }
  event.eventId = String(eventId);
  event.eventName = meta.eventName ?? meta.id;
  event.argsNum = args.length;
  event.returnValue = 0;
  event.args = args;
  event.metadata = {
    Version: meta.version ?? "",
    Description: meta.description ?? "",
    Tags: meta.tags ?? null,
    Properties: { ...(meta.properties ?? {}), signatureID: meta.id, signatureName: meta.name, findingID: id },
  };
  const json = goJSON(event).replace(/^\{"timestamp":[0-9.e+]+/, '{"timestamp":' + (f.ts || "0"));
  return { event, json, id };
}
