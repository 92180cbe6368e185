// The compiled YAML rules that run in netsig's own process. A rule is not
// user code: it is netsig's rule runtime (runtime.ts) driven by data the rule
// compiler checked, so it needs no sandbox, and here it reads the packet being
// decoded through LazyEvents: nothing is built for an event no rule fires on.
// A rule whose regular expressions could backtrack without bound runs in the
// sandbox instead (linear.ts). It is one of the signature engine's two
// backends (types/backend.ts): what the rules produce has the shape of the
// sandbox realm's results (findings in packet order, errors, log lines), so
// the engine treats both alike. It answers at once: a packet is run when it
// is added, and a cut hands on what the packets since the last one produced.

import type { Packet } from "../../decode/packet";
import type { Ev, TraceeEvent } from "../../types/events";
import { EVENT_COUNT, perKind, type EventUnit } from "../../events/registry";
import type { Finding, Signature, SignatureMetadata } from "../../sdk/index";
import type { RealmResult } from "../../types/results";
import type { Backend, Cut, Outcome, Registration } from "../../types/backend";
import type { LoadedSignature } from "../../types/findings";
import { selectorMask, signatureContext } from "../../realm/realm";
import { messageOf, safeJSON, stackOf } from "../../realm/guard";
import type { UnitIR } from "../../types/rule-ir";
import { compileRules, RuleSignature } from "./runtime";
import { ask, type SharedCondition } from "./codegen";
import { visitEvents, type EventVisitor } from "../../events/build";
import { LazyEvent } from "./lazy";

/** `cond`: a rule's compiled condition, asked here before the rule is called (null: call onEvent) */
interface Entry {
  index: number;
  file: string;
  sig: Signature;
  meta: SignatureMetadata;
  mask: number;
  cond: SharedCondition | null;
}

function fresh(): RealmResult {
  return { findings: [], errors: [], logs: [], done: true, events: perKind(() => 0) };
}

export class HostRules implements EventVisitor, Backend<Packet> {
  /** the event types some rule selects */
  mask = 0;
  /** (it runs in netsig's process: it cannot fail apart, and nothing is ever in flight) */
  readonly failed = null;
  readonly inFlight = 0;
  private entries: Entry[] = [];
  private readonly byKind: Entry[][] = perKind(() => []);
  private readonly lazy: LazyEvent[];
  private out: RealmResult = fresh();
  /** the packet being handled (its number) and the event being delivered */
  private seq = -1;
  private packet: Packet | null = null;
  private current: LazyEvent | null = null;
  /** packets handled since the last take() */
  held = 0;

  constructor(hostName: string) {
    this.lazy = perKind((k) => new LazyEvent(k, hostName));
  }

  /**
   * What a call outside the packets produced (loading, unloading, a signal),
   * apart from the results of the packets handled since the last take(),
   * which go on with their batch.
   */
  private control(fn: () => void): RealmResult {
    const batch = this.out;
    this.out = fresh();
    try {
      fn();
      return this.out;
    } finally {
      this.out = batch;
    }
  }

  async boot(units: LoadedSignature[]): Promise<(Registration | null)[]> {
    return units.map((u) => this.register(u));
  }

  register(unit: LoadedSignature): Registration {
    return JSON.parse(this.compile(unit.index, unit.file, unit.source.ir!)) as Registration;
  }

  remove(unit: LoadedSignature, close: boolean): Outcome {
    return this.unregister(unit.index, close);
  }

  /** compile and initialise a rule; the answer has the shape of Realm.register's */
  private compile(index: number, file: string, ir: UnitIR): string {
    let answer: Record<string, unknown> = {};
    const out = this.control(() => {
      try {
        const sig = compileRules(ir, true);
        const meta = sig.getMetadata();
        const mask = selectorMask(sig.getSelectedEvents());
        const e: Entry = { index, file, sig, meta, mask, cond: sig instanceof RuleSignature ? sig.hostCondition : null };
        sig.init(
          signatureContext(
            index,
            () => this.out.logs,
            (f) => this.finding(e, f),
          ),
        );
        this.entries.push(e);
        this.index();
        answer = { ok: true, meta, mask };
      } catch (err) {
        answer = { ok: false, message: messageOf(err), stack: stackOf(err) };
      }
    });
    return JSON.stringify({ ...answer, out });
  }

  /** take a rule out (close() is called unless it is quarantined) */
  private unregister(index: number, callClose: boolean): RealmResult {
    return this.control(() => {
      const i = this.entries.findIndex((e) => e.index === index);
      if (i < 0) return;
      const e = this.entries[i];
      this.entries.splice(i, 1);
      this.index();
      if (callClose) this.call(e, "close", () => e.sig.close());
    });
  }

  private index(): void {
    for (const l of this.byKind) l.length = 0;
    let m = 0;
    for (const e of this.entries) {
      m |= e.mask;
      for (let k = 0; k < EVENT_COUNT; k++) if (e.mask & (1 << k)) this.byKind[k].push(e);
    }
    this.mask = m;
  }

  /** run the rules over a decoded packet's events (in Tracee's order) */
  add(p: Packet, seq: number): void {
    if ((p.ipVersion === 0 && p.records === null) || this.mask === 0) return;
    this.seq = seq;
    this.packet = p;
    this.held++;
    visitEvents(p, this.mask, this);
    this.packet = null;
  }

  /** deliver one event of the packet to the rules that selected it */
  visit(kind: Ev, p: Packet, m: EventUnit, ts: number): void {
    const list = this.byKind[kind];
    const ev = this.lazy[kind];
    ev.reset(p, m, ts);
    this.current = ev;
    this.out.events![kind]++;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const c = e.cond;
      try {
        // (a rule's condition asked here: most events match no rule, and the rule is called only for those that do)
        if (c === null) e.sig.onEvent(ev as unknown as TraceeEvent);
        else if (c.serial === ev.serial ? c.last : ask(c, ev)) (e.sig as RuleSignature).matched(ev as unknown as TraceeEvent);
      } catch (err) {
        this.out.errors.push({ sig: e.index, method: "onEvent", message: messageOf(err), stack: stackOf(err) });
      }
    }
    this.current = null;
    ev.reset(null as unknown as Packet, null, 0);
  }

  private finding(e: Entry, f: Finding): void {
    const ev = f?.event as unknown;
    let event: unknown = ev ?? null;
    let ts = "";
    if (ev instanceof LazyEvent) {
      // the event being delivered (a rule keeps no LazyEvent: correlations pin() theirs)
      event = ev === this.current ? ev.event() : null;
      if (ev === this.current && this.packet !== null) ts = this.packet.timestampString();
    } else if (ev && typeof (ev as TraceeEvent).timestamp === "number" && Number.isFinite((ev as TraceeEvent).timestamp)) {
      ts = BigInt(Math.round((ev as TraceeEvent).timestamp)).toString();
    }
    this.out.findings.push({
      sig: e.index,
      seq: this.seq,
      ts,
      event: safeJSON(event),
      data: safeJSON(f && f.data !== undefined ? f.data : {}),
    });
  }

  private call(e: Entry, method: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.out.errors.push({ sig: e.index, method, message: messageOf(err), stack: stackOf(err) });
    }
  }

  signal(signal: { type: string }): RealmResult {
    const s = Object.freeze({ ...signal });
    return this.control(() => {
      for (const e of this.entries) this.call(e, "onSignal", () => e.sig.onSignal(s));
    });
  }

  /** (every rule's close() runs at once, when called) */
  close(): Promise<Outcome> {
    return Promise.resolve(this.closeAll());
  }

  private closeAll(): RealmResult {
    return this.control(() => {
      for (const e of this.entries) this.call(e, "close", () => e.sig.close());
      this.entries = [];
      this.index();
    });
  }

  /** what the rules produced over the packets handled since the last take() */
  take(): Cut | null {
    const packets = this.held;
    if (packets === 0) return null;
    const out = this.out;
    this.out = fresh();
    this.held = 0;
    return { packets, send: () => out };
  }
}
