// Running signatures from the CLI: load the folders, start the engine, and
// print findings — alone, or in order with the events (a packet's events,
// then the findings it triggered).

import { readBoundedText, SIGNATURE_FILE_MAX_BYTES } from "../bounded";
import { join, resolve } from "node:path";
import { SignatureWatcher } from "../detect/watch-signatures";
import { findingEvent, SIGNATURE_EVENT_BASE } from "../findings/finding";
import { EventJSONWriter } from "../events/json";
import type { EventConsumer, EventPipeline } from "../events/pipeline";
import { SignatureEngine } from "../detect/engine";
import type { HostFinding } from "../types/findings";
import { listSignatureFiles, transpileSignature } from "../sandbox/loader";
import type { RotatingFile } from "../outputs/rotating";
import { FdOutput } from "../outputs/stdout";
import { findingTableLine, tableLine } from "../outputs/table";
import type { TraceeEvent } from "../types/events";
import { log } from "./log";
import { loadRules, SHIPPED_RULES } from "../rules/compile/load";
import { RuleWatcher } from "../detect/watch-rules";

/** the signatures shipped with netsig */
export const SHIPPED_SIGNATURES = join(__dirname, "..", "..", "..", "signatures");

/** `--rules @shipped` names the shipped rule pack */
export function ruleDir(d: string): string {
  return d === "@shipped" ? SHIPPED_RULES : d;
}

/** what signatures and rules to run: folders (watched) and single files */
export interface SignatureSet {
  dirs?: string[];
  files?: string[];
  ruleDirs?: string[];
  ruleFiles?: string[];
  /** rule folders whose lists, macros and rules the others may use, without running them */
  ruleContext?: string[];
  sandboxed: boolean;
  watch: boolean;
}

/** the hot-reload watchers of a run (signature folders, rule folders) */
export class Watchers {
  constructor(
    readonly signatures: SignatureWatcher | null,
    readonly rules: RuleWatcher | null,
  ) {}
  async settled(): Promise<void> {
    await this.signatures?.settled();
    await this.rules?.settled();
  }
  /** read the folders again now (SIGHUP without --config) */
  rescan(): void {
    this.signatures?.rescan();
    this.rules?.rescan();
  }
  close(): void {
    this.signatures?.close();
    this.rules?.close();
  }
}

/**
 * Load the signature folders (and single files) and the rule folders (and
 * files); with `watch`, files added, changed or deleted in the folders later
 * are loaded, replaced or unloaded.
 */
export async function startSignatures(o: SignatureSet, hostName: string): Promise<{ engine: SignatureEngine; watcher: Watchers | null }> {
  const dirs = o.dirs ?? [];
  const { files, problems } = listSignatureFiles(dirs);
  files.push(...(o.files ?? []).map((f) => resolve(f)));
  const texts = new Map<string, string>();
  let rules: ReturnType<typeof loadRules> | null = null;
  const ruleDirs = (o.ruleDirs ?? []).map(ruleDir);
  // (the sandbox process starts while the files are transpiled)
  const engine = await SignatureEngine.start(
    () => {
      const sources = files.map((f) => {
        let text: string | undefined;
        try {
          text = readBoundedText(f, SIGNATURE_FILE_MAX_BYTES);
          texts.set(f, text);
        } catch {
          /* reported by transpileSignature */
        }
        return transpileSignature(f, text);
      });
      rules = ruleDirs.length || o.ruleFiles?.length ? loadRules(ruleDirs, o.ruleFiles ?? [], (o.ruleContext ?? []).map(ruleDir)) : null;
      return [...problems, ...sources, ...(rules ? [...rules.problems, ...rules.sources] : [])];
    },
    { hostName, sandboxed: o.sandboxed, log },
    files.length > 0,
  );
  if (!o.watch) return { engine, watcher: null };
  // (set by the function above: TypeScript does not see assignments in a callback)
  rules = rules as ReturnType<typeof loadRules> | null;
  const sigWatcher = dirs.length ? new SignatureWatcher(dirs, engine, texts, { log }) : null;
  const ruleWatcher =
    rules && ruleDirs.length
      ? new RuleWatcher(ruleDirs, engine, { texts: rules.texts, units: rules.result.units, problems: rules.problems }, { log })
      : null;
  return { engine, watcher: sigWatcher || ruleWatcher ? new Watchers(sigWatcher, ruleWatcher) : null };
}

/**
 * Output when signatures run: findings as Tracee-shaped events (JSON lines or
 * table rows); with `printEvents`, the events too, held back until the
 * signatures have seen their packet so that each finding follows the events
 * of the packet that triggered it. With `file` (--output-file), the same
 * lines, always JSON, in the same order, also go to the file.
 */
export class FindingsOutput {
  readonly consumer: EventConsumer;
  private readonly out = new FdOutput(1);
  private readonly json: EventJSONWriter;
  /** line: as printed; json: for the file (the same string when printing JSON) */
  private pending: { packet: number; line: string; json: string }[] = [];
  private findingsByPacket = new Map<number, { line: string; json: string }[]>();
  /** signature id -> the eventId of its findings (a reloaded signature keeps its number) */
  private readonly eventIds = new Map<string, number>();
  /** the JSON lines and Tracee severities of each delivered batch's findings (webhooks) */
  sink: ((json: string[], severity: number[]) => void) | null = null;
  private sinkJson: string[] = [];
  private sinkSeverity: number[] = [];
  /** print findings on standard output (off: --quiet-findings; the file still gets them) */
  print = true;

  constructor(
    engine: SignatureEngine,
    pipeline: EventPipeline,
    hostName: string,
    private readonly format: string,
    printEvents: boolean,
    private readonly file: RotatingFile | null = null,
  ) {
    this.json = new EventJSONWriter(hostName);
    // signatures first, then rules (so that loading rules leaves the signatures' numbers alone)
    [...engine.signatures.values()]
      .sort((a, b) => Number(a.source.kind === "rule") - Number(b.source.kind === "rule") || a.meta.id.localeCompare(b.meta.id))
      .forEach((s, i) => {
        this.eventIds.set(s.meta.id, SIGNATURE_EVENT_BASE + i);
      });
    this.consumer = printEvents
      ? (ev, kind, p) => {
          const json = format === "table" && file === null ? "" : this.json.write(ev, kind, p.timestampString());
          const line = format === "table" ? tableLine(ev, p.tsSec, p.tsNsec) : json;
          this.pending.push({ packet: pipeline.decoder.stats.packets, line, json });
        }
      : () => undefined;
    engine.onFindings = (fs) => this.findings(fs);
    engine.onComplete = (last) => this.release(last);
  }

  private line(f: HostFinding): { line: string; json: string } {
    let id = this.eventIds.get(f.sig.meta.id);
    if (id === undefined) this.eventIds.set(f.sig.meta.id, (id = SIGNATURE_EVENT_BASE + this.eventIds.size));
    const fe = findingEvent(f, id);
    if (this.sink) {
      this.sinkJson.push(fe.json);
      this.sinkSeverity.push(Number(f.sig.meta.properties?.Severity ?? 0));
    }
    if (this.format !== "table") return { line: fe.json, json: fe.json };
    const ts = BigInt(f.ts || "0");
    return {
      line: findingTableLine(
        String((fe.event as { eventName?: unknown }).eventName ?? f.sig.meta.id),
        f.event as unknown as TraceeEvent | null,
        Number(ts / 1_000_000_000n),
        Number(ts % 1_000_000_000n),
        `${f.sig.meta.name}: ${JSON.stringify(f.data)}`,
      ),
      json: fe.json,
    };
  }

  private findings(fs: HostFinding[]): void {
    for (const f of fs) {
      const l = this.line(f);
      if (!this.print && this.file === null) continue;
      if (this.pending.length === 0 && this.findingsByPacket.size === 0) {
        this.finding(l);
        continue;
      }
      const list = this.findingsByPacket.get(f.packet);
      if (list) list.push(l);
      else this.findingsByPacket.set(f.packet, [l]);
    }
    // the webhooks get a batch's findings at once (one spool write and fsync, not one per finding)
    if (this.sink && this.sinkJson.length) {
      const json = this.sinkJson;
      const sev = this.sinkSeverity;
      this.sinkJson = [];
      this.sinkSeverity = [];
      this.sink(json, sev);
    }
  }

  private finding(l: { line: string; json: string }): void {
    if (this.print) this.out.line(l.line);
    if (this.file !== null) this.file.line(l.json);
  }

  /** everything up to packet `last` has been through the signatures: print it */
  release(last: number): void {
    let i = 0;
    const pending = this.pending;
    for (; i < pending.length && pending[i].packet <= last; i++) {
      this.out.line(pending[i].line);
      if (this.file !== null) this.file.line(pending[i].json);
      const next = pending[i + 1];
      if (!next || next.packet !== pending[i].packet) this.flushFindings(pending[i].packet);
    }
    this.pending = pending.slice(i);
    // findings of packets that printed no event (or whose events came earlier)
    for (const p of [...this.findingsByPacket.keys()].sort((a, b) => a - b)) if (p <= last) this.flushFindings(p);
    this.flush();
  }

  private flushFindings(packet: number): void {
    const list = this.findingsByPacket.get(packet);
    if (!list) return;
    for (const l of list) this.finding(l);
    this.findingsByPacket.delete(packet);
  }

  /** write what was released (run does this every 100 ms too) */
  flush(): void {
    this.out.flush();
    this.file?.flush();
  }

  finish(): void {
    this.release(Number.MAX_SAFE_INTEGER);
    this.flush();
  }
}
