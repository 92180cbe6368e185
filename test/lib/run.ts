// Test helpers: run netsig's pipeline on packet bytes, or its CLI on a file.

import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { PacketRecord } from "../../engine/capture/types";
import type { EventMask } from "../../engine/events/build";
import { DEFAULT_EVENTS } from "../../engine/events/registry";
import { EventJSONWriter } from "../../engine/events/json";
import { EventPipeline } from "../../engine/events/pipeline";
import type { Ev, TraceeEvent } from "../../engine/types/events";
import { corpusCapturesSorted } from "./corpus";

export const HOST = "netsig-test";

export interface Emitted {
  ev: TraceeEvent;
  kind: Ev;
  json: string;
}

/**
 * Feed packets (one link type) through decode -> events; returns every event
 * and its JSON line. The default mask is --events' default: all but the
 * opt-in flow events (ask for those by mask; pipeline.finish() ends the flows).
 */
export function eventsOf(
  linkType: number,
  packets: { data: Buffer; tsSec?: number; tsNsec?: number; iface?: string }[],
  mask: EventMask = DEFAULT_EVENTS,
): { out: Emitted[]; pipeline: EventPipeline } {
  const out: Emitted[] = [];
  const json = new EventJSONWriter(HOST);
  let ts = "";
  const pipeline = new EventPipeline(mask, HOST, (ev, kind, p) => {
    ts = p.timestampString();
    out.push({ ev, kind, json: json.write(ev, kind, ts) });
  });
  for (const [i, pk] of packets.entries()) {
    const rec: PacketRecord = {
      tsSec: pk.tsSec ?? 1700000000,
      tsNsec: pk.tsNsec ?? i,
      linkType,
      iface: pk.iface ?? "",
      buf: pk.data,
      offset: 0,
      caplen: pk.data.length,
      origLen: pk.data.length,
      fileOffset: 0,
    };
    pipeline.onPacket(rec);
  }
  return { out, pipeline };
}

export const CLI = join(__dirname, "..", "..", "engine", "cli", "main.js");

/** run netsig; `env`: variables added to this process's */
export function netsig(args: string[], input?: Buffer, env?: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input,
    maxBuffer: 1 << 30,
    encoding: "buffer",
    env: env ? { ...process.env, ...env } : undefined,
  });
  return { code: r.status ?? -1, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

// the corpus (test/corpus, plus the captures only the full corpus beside the repository has) and Tracee's examples: lib/corpus.ts
export { CORPUS, corpusFile, needsOutside, SPEC } from "./corpus";
export const EXAMPLES = join(__dirname, "..", "..", "..", "examples");
/** the ports of Tracee's e2e network signatures: examples for authors, not in the shipped folder */
export const TRACEE_E2E = join(EXAMPLES, "tracee-e2e");

/** every capture of the corpus (read in place, sorted by <source>/<file>) and of examples/ */
export function allCaptures(): string[] {
  const out = corpusCapturesSorted().map((c) => c.file);
  for (const f of readdirSync(EXAMPLES)) if (/\.pcap(ng)?$/.test(f)) out.push(join(EXAMPLES, f));
  return out;
}
