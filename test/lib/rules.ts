// Test helpers for YAML rules: compile rule texts as the host does, run the
// compiled units in-process with the realm's runtime (the IR goes through
// JSON, as it does into the sandbox) on events built from crafted packets,
// and collect findings and log lines.

import type * as dnsPacket from "dns-packet";
import { compileRuleFiles, type CompileResult } from "../../engine/rules/compile/compile";
import { compileRules } from "../../engine/rules/run/runtime";
import type { UnitIR } from "../../engine/types/rule-ir";
import type { Signature } from "../../engine/sdk/index";
import { dns, ethernet, icmp, ipv4, ipv6, tcp, udp } from "../../tools/lib/craft";
import { eventsOf } from "./run";
import { readCapture } from "../../engine/capture/reader";
import { EventPipeline } from "../../engine/events/pipeline";
import { SignatureEngine } from "../../engine/detect/engine";
import type { HostFinding } from "../../engine/types/findings";
import type { LoadProblem, SignatureSource } from "../../engine/types/sources";
import { Ev } from "../../engine/types/events";

/** compile rule files given as name -> text (names become /rules/NAME) */
export function compileTexts(files: Record<string, string>): CompileResult {
  return compileRuleFiles(Object.entries(files).map(([name, text]) => ({ file: `/rules/${name}`, text })));
}

/** the problems as "NAME:line:column: message" */
export function problemLines(r: CompileResult): string[] {
  return r.problems.map((p) => `${p.file.replace("/rules/", "")}:${p.line}:${p.column}: ${p.message}`);
}

export interface Hit {
  id: string;
  ts: number;
  data: Record<string, any>;
  ev: any;
}

export interface Packet {
  data: Buffer;
  t: number;
}

/** a rule set running in-process: feed packets, read findings */
export class RuleRunner {
  readonly hits: Hit[] = [];
  readonly logs: string[] = [];
  readonly sigs: { sig: Signature; events: Set<string> }[];

  constructor(units: { ir: UnitIR }[]) {
    this.sigs = units.map((u) => {
      const sig = compileRules(JSON.parse(JSON.stringify(u.ir)) as UnitIR);
      const id = sig.getMetadata().id;
      const log = (...a: unknown[]) => this.logs.push(`${id}: ${a.join(" ")}`);
      sig.init({
        callback: (f) =>
          this.hits.push({ id, ts: f.event ? f.event.timestamp : 0, data: f.data as Record<string, any>, ev: f.event ?? null }),
        logger: { debug: log, info: log, warn: log, error: log },
      });
      return { sig, events: new Set(sig.getSelectedEvents().map((s) => s.name)) };
    });
  }

  /** packets (Ethernet), at `t` seconds */
  feed(packets: Packet[]): this {
    const { out } = eventsOf(
      1,
      packets.map((p) => ({ data: p.data, tsSec: Math.floor(p.t), tsNsec: Math.round((p.t % 1) * 1e9) })),
    );
    for (const e of out) for (const s of this.sigs) if (s.events.has(e.ev.eventName)) s.sig.onEvent(e.ev);
    return this;
  }

  end(): this {
    for (const s of this.sigs) s.sig.onSignal({ type: "source_complete" });
    return this;
  }

  ids(): string[] {
    return this.hits.map((h) => h.id);
  }
}

/** compile (no problems allowed) and run */
export function runRules(files: Record<string, string>, packets: Packet[]): RuleRunner {
  const r = compileTexts(files);
  if (r.problems.length) throw new Error(problemLines(r).join("\n"));
  return new RuleRunner(r.units).feed(packets).end();
}

// ---- packets

const eth = (ip: Buffer) => ethernet(ip, ip[0] >> 4 === 6 ? 0x86dd : 0x0800);
const ipOf = (src: string, dst: string, proto: number, payload: Buffer) =>
  src.includes(":") ? ipv6({ src, dst, nextHeader: proto }, payload) : ipv4({ src, dst, protocol: proto }, payload);

let nextId = 1;

export interface DnsOpts {
  t?: number;
  sport?: number;
  dport?: number;
  id?: number;
}

export function query(src: string, dst: string, name: string, type = "A", o: DnsOpts = {}): Packet {
  const msg = dns({ type: "query", id: o.id ?? nextId++, flags: 0x0100, questions: [{ type: type as "A", name }] });
  return { data: eth(ipOf(src, dst, 17, udp({ srcPort: o.sport ?? 40000, dstPort: o.dport ?? 53 }, msg))), t: o.t ?? 0 };
}

/** a response from `server` to `client`; answers as [type, data] */
export function response(
  server: string,
  client: string,
  name: string,
  type: string,
  answers: [string, unknown][],
  o: DnsOpts & { rcode?: number } = {},
): Packet {
  const msg = dns({
    type: "response",
    id: o.id ?? nextId++,
    flags: 0x8180 | (o.rcode ?? 0),
    questions: [{ type: type as "A", name }],
    answers: answers.map(([t, data]) => ({ type: t, name, ttl: 60, data }) as dnsPacket.Answer),
  });
  return { data: eth(ipOf(server, client, 17, udp({ srcPort: o.dport ?? 53, dstPort: o.sport ?? 40000 }, msg))), t: o.t ?? 0 };
}

export function syn(src: string, dst: string, dport: number, t = 0, flags = 2): Packet {
  return { data: eth(ipOf(src, dst, 6, tcp({ srcPort: 40000 + (dport % 20000), dstPort: dport, flags, seq: 1, ack: 0 }))), t };
}

export function ping(src: string, dst: string, bytes: number, t = 0, type = 8): Packet {
  const v6 = src.includes(":");
  return {
    data: eth(
      ipOf(src, dst, v6 ? 58 : 1, icmp({ type: v6 ? (type === 8 ? 128 : 129) : type, code: 0, id: 1, seq: 1 }, Buffer.alloc(bytes, 0x61))),
    ),
    t,
  };
}

// ---- the engine in-process (the realm unsandboxed): captures through signatures and rules

export interface EngineHit {
  id: string;
  ts: string;
  data: Record<string, any>;
  trigger: string;
}

/** replay a capture through these sources (signatures and rules) in-process; findings in packet order */
export async function engineRun(
  capture: string,
  sources: (SignatureSource | LoadProblem)[],
): Promise<{ hits: EngineHit[]; logs: string[]; problems: LoadProblem[] }> {
  const logs: string[] = [];
  const engine = await SignatureEngine.start(sources, { hostName: "netsig-test", sandboxed: false, log: (l) => logs.push(l) });
  const found: HostFinding[] = [];
  engine.onFindings = (fs) => found.push(...fs);
  const p = new EventPipeline(0, "netsig-test", () => undefined);
  p.needDns = (engine.mask & ((1 << Ev.DNS) | (1 << Ev.DNSRequest) | (1 << Ev.DNSResponse))) !== 0;
  p.tap = (pk, n) => {
    engine.push(pk, n);
  };
  await readCapture(capture, p.onPacket, { between: () => engine.drain() });
  await engine.signal({ type: "source_complete" });
  await engine.close();
  return {
    hits: found.map((f) => ({ id: f.sig.meta.id, ts: f.ts, data: f.data, trigger: String(f.event?.eventName ?? "") })),
    logs,
    problems: engine.problems,
  };
}
