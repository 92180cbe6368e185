// The signature runtime: what runs inside a sandbox realm (bundled with the
// event builder and the SDK helpers by esbuild, evaluated inside a vm2 VM in a
// worker thread), or in-process for unsandboxed runs (benchmarks).
//
// Everything crossing in or out is a string: the host sends a batch of packed
// packets (dispatch/compact.ts); the realm rebuilds the packets, builds the
// Tracee events its signatures selected (events/build.ts), freezes them,
// delivers them signature by signature, a chunk of packets at a time (each
// signature sees its events in order), and returns the findings, errors and log lines as one JSON string.
// No Node.js API is used here.

import { BatchReader, RestoredPacket } from "../wire/compact";
import type { Packet } from "../decode/packet";
import { EventBuilder } from "../events/build";
import { envelopeFromTransport, POD, setPodEnvelope } from "../events/envelope";
import { timestampString } from "../decode/timestamp";
import type { DnsResponseData, Ev, ProtoDNS, ProtoDNSResourceRecord, TraceeEvent } from "../types/events";
import { ALL_EVENTS, EVENT_COUNT, EVENT_NAMES, kindOfName, perKind } from "../events/registry";
import * as helpers from "../sdk/helpers";
import type { EventSelector, Finding, Signature, SignatureContext, SignatureMetadata, Signal } from "../sdk/index";
import { attempt, deliverKind, deliverMixed, messageOf, notAModule, safeJSON, stackOf, type DeliveryCursor } from "./guard";
import { FINDING_LIMITS, type RealmLog, type RealmResult } from "../types/results";

type ModuleFn = (module: { exports: unknown }, exports: unknown, require: (name: string) => unknown) => void;

interface Loaded {
  index: number;
  file: string;
  sig: Signature;
  meta: SignatureMetadata;
  mask: number;
  /** the one event type it selects (-1: several) */
  single: number;
  disabled: boolean;
  /** a compiled YAML rule: the rules runtime's code, which never changes an event */
  rule: boolean;
  /** the event types of which it gets the second instance (Realm.updateMask), in this chunk */
  copyKinds: number;
  /** and from the next chunk on */
  nextCopyKinds: number;
  /** this result's findings so far: how many, their size (estimated), and how many were dropped over the limits */
  outCount: number;
  outBytes: number;
  outDropped: number;
}

/** the JSON size counted for an event the realm built (its real size is ~1-2 KB) */
const EVENT_BYTES = 2048;

const SDK_TYPES_MODULE = Object.freeze({});
/** `netsig/rules`: what a compiled YAML rule's module calls (engine/rules/compile.ts) */
/** packets per chunk of a batch (see Realm.reader) */
const CHUNK = 128;

// (Object.values, not for-in: with the realm's prototypes frozen, for-in
// loses its fast path and freezing cost 3x more)
function deepFreeze(o: unknown): void {
  if (o === null || typeof o !== "object" || Object.isFrozen(o)) return;
  Object.freeze(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) deepFreeze(o[i]);
    return;
  }
  const vs = Object.values(o as Record<string, unknown>);
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    if (v !== null && typeof v === "object") deepFreeze(v);
  }
}

const freeze = Object.freeze;

function freezeAll(a: readonly object[]): void {
  freeze(a);
  for (let i = 0; i < a.length; i++) freeze(a[i]);
}

function freezeRecords(rrs: ProtoDNSResourceRecord[]): void {
  freeze(rrs);
  for (let i = 0; i < rrs.length; i++) {
    const r = rrs[i];
    freeze(r);
    // SOA/SRV/MX/URI/OPT are fresh objects or the builder's frozen empty constants
    freeze(r.SOA);
    freeze(r.SRV);
    freeze(r.MX);
    freeze(r.URI);
    freezeAll(r.OPT);
    if (r.TXTs !== null) freeze(r.TXTs);
  }
}

/**
 * Freeze an event the builder made, so that no signature can change what the
 * others see. It walks the shapes events/build.ts makes (a generic deep freeze
 * cost 3x more: an array of values per object, an isFrozen call per value);
 * the envelope's objects (executable, container, ...) are the builder's frozen
 * constants. test/compact.test.ts checks that every part of every shared event is
 * frozen.
 */
export function freezeEvent(ev: TraceeEvent): void {
  freeze(ev);
  const args = ev.args;
  freeze(args);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    freeze(a);
    const v = a.value;
    if (v === null || typeof v !== "object") continue;
    switch (a.name) {
      case "proto_dns": {
        const d = v as ProtoDNS;
        freeze(d);
        freezeAll(d.questions);
        freezeRecords(d.answers);
        freezeRecords(d.authorities);
        freezeRecords(d.additionals);
        break;
      }
      case "dns_questions":
        freezeAll(v as object[]);
        break;
      case "dns_response": {
        const list = v as DnsResponseData[];
        freeze(list);
        for (let j = 0; j < list.length; j++) {
          const r = list[j];
          freeze(r);
          freeze(r.query_data);
          if (r.dns_answer !== null) freezeAll(r.dns_answer);
        }
        break;
      }
      // proto_ipv4/ipv6/tcp/udp/icmp/icmpv6, metadata: flat objects of numbers and strings
      default:
        freeze(v);
        break;
    }
  }
}

/** the bit mask of event types a signature's selectors name (unknown names throw) */
export function selectorMask(selectors: EventSelector[]): number {
  let mask = 0;
  for (const s of selectors) {
    const source = String(s?.source ?? "").toLowerCase();
    if (source !== "tracee" && source !== "netsig") {
      throw new Error(`selector source "${s?.source}" is not served (use "tracee" or "netsig")`);
    }
    if (s.name === "*") {
      mask = ALL_EVENTS;
      continue;
    }
    const i = typeof s.name === "string" ? kindOfName(s.name) : -1;
    if (i < 0) throw new Error(`selected event "${s.name}" is not a netsig event (${EVENT_NAMES.join(", ")} or "*")`);
    mask |= 1 << i;
  }
  return mask;
}

export class Realm implements DeliveryCursor {
  private sigs: Loaded[] = [];
  private builder = new EventBuilder(0, { hostName: "" });
  private out: RealmResult = { findings: [], errors: [], logs: [], done: true };
  /** an onSignal or close round in progress (resumeEach), with its cursor */
  private each: { method: "onSignal" | "close"; at: number; signal: Signal | null } | null = null;
  // The batch being delivered, a chunk of CHUNK packets at a time: the
  // chunk's events are built, then delivered signature by signature. (A whole
  // batch's events held at once outlived the young generation: the GC copied
  // and promoted them; a chunk's die young. Per chunk, not per event, because
  // `mark` crosses into the host.)
  // (the numbers are kept in typed arrays: see lockObject on stores into
  // arrays in the sandbox realm, whose prototypes are frozen)
  private reader: BatchReader | null = null;
  private readonly events: TraceeEvent[] = [];
  /** the second instance of each event of a type two signatures get (copyMask), at the same place */
  private readonly copies: TraceeEvent[] = [];
  // (they start small and grow in the first chunk: every test that runs a realm runs grow())
  private kinds = new Int32Array(16);
  /** per event type: the chunk's events of that type (their places in `events`), and how many */
  private readonly byKind: Int32Array[] = perKind(() => new Int32Array(16));
  private readonly kindN = new Int32Array(EVENT_COUNT);
  /** the place in `events` of the event being delivered */
  delivering = 0;
  /** per event: its packet's place in the chunk */
  private packetOf = new Int32Array(16);
  private nEvents = 0;
  private chunkKinds = 0;
  // per packet of the chunk: sequence number and timestamp (its literal is made only for a finding)
  private readonly seqs = new Float64Array(CHUNK);
  private readonly tsSecs = new Float64Array(CHUNK);
  private readonly tsNsecs = new Float64Array(CHUNK);
  private nPackets = 0;
  /** the last packet restored (findings of onSignal, or of an event no longer held, follow it) */
  private lastSeq = -1;
  private readonly counts = new Float64Array(EVENT_COUNT);
  private cursorSig = 0;
  /** (DeliveryCursor: realm/guard.ts delivers) */
  cursorEvent = 0;
  private current = -1;
  private readonly packet = new RestoredPacket();
  /** event types three or more signatures receive (counting the rules as one): those events are frozen */
  private freezeMask = 0;
  /** event types two signatures receive: each gets an instance of its own (built twice) */
  private copyMask = 0;
  // (what updateMask decided: it takes effect at the next chunk, so that a
  // chunk's events are delivered as they were built when a signature is
  // skipped in the middle of one)
  private nextFreezeMask = 0;
  private nextCopyMask = 0;

  /**
   * `rules`: what compiled YAML rules require as "netsig/rules" (the rules
   * runtime, given by the realm's entry: the realm itself imports nothing of
   * the rules, which are a layer above it)
   */
  constructor(
    hostName: string,
    private readonly mark: (sig: number) => void = () => undefined,
    private readonly rules: Readonly<Record<string, unknown>> | null = null,
  ) {
    this.builder = new EventBuilder(0, { hostName });
    this.builder.shareAddresses = true;
  }

  /**
   * evaluate a signature module and initialise it; returns its metadata or an
   * error. `rule`: the module is a compiled YAML rule (the host's rule
   * compiler wrote it), whose runtime never changes an event.
   */
  register(index: number, file: string, fn: ModuleFn, rule = false): string {
    let ok = "";
    const failed = attempt(() => {
      const module = { exports: {} as Record<string, unknown> };
      const require = (name: string): unknown => {
        if (name === "netsig") return SDK_TYPES_MODULE;
        if (name === "netsig/helpers") return helpers;
        if (name === "netsig/rules" && this.rules !== null) return this.rules;
        throw notAModule(name);
      };
      this.mark(index);
      fn(module, module.exports, require);
      const exp = module.exports as Record<string, unknown>;
      let def: unknown = exp && typeof exp === "object" && "default" in exp ? exp.default : exp;
      if (typeof def === "function") def = new (def as new () => unknown)();
      if (def === null || typeof def !== "object") throw new Error("the file must default-export a signature class or object");
      const sig = def as Signature;
      const missing = ["getMetadata", "getSelectedEvents", "init", "onEvent", "onSignal", "close"].filter(
        (m) => typeof (sig as unknown as Record<string, unknown>)[m] !== "function",
      );
      if (missing.length) throw new Error(`the signature lacks ${missing.map((m) => m + "()").join(", ")}`);
      const meta = sig.getMetadata();
      if (!meta || typeof meta.id !== "string" || meta.id === "") throw new Error("getMetadata() must return an id");
      const mask = selectorMask(sig.getSelectedEvents());
      const single = mask !== 0 && (mask & (mask - 1)) === 0 ? 31 - Math.clz32(mask) : -1;
      const entry: Loaded = {
        index,
        file,
        sig,
        meta: JSON.parse(JSON.stringify(meta)) as SignatureMetadata,
        mask,
        single,
        disabled: false,
        rule,
        copyKinds: 0,
        nextCopyKinds: 0,
        outCount: 0,
        outBytes: 0,
        outDropped: 0,
      };
      sig.init(
        signatureContext(
          index,
          () => this.out.logs,
          (f) => this.finding(entry, f),
        ),
      );
      this.sigs.push(entry);
      this.updateMask();
      ok = JSON.stringify({ ok: true, meta: entry.meta, mask, out: this.takeOut() });
    });
    if (failed === null) return ok;
    return JSON.stringify({ ok: false, message: messageOf(failed.error), stack: stackOf(failed.error), out: this.takeOut() });
  }

  /** take a signature out (hot reload, or quarantine): close() is called unless it is quarantined */
  unregister(index: number, callClose: boolean): string {
    const i = this.sigs.findIndex((s) => s.index === index);
    if (i < 0) return JSON.stringify(this.takeOut());
    const s = this.sigs[i];
    this.sigs.splice(i, 1);
    if (this.cursorSig > i) this.cursorSig--;
    this.updateMask();
    if (callClose) this.call(s, "close", () => s.sig.close());
    return JSON.stringify(this.takeOut());
  }

  // One signature cannot change what another sees. Compiled rules never
  // write to an event (and their prototypes are frozen): they share one
  // instance. Each event type's events need as many instances as signature
  // files receive them, plus one for the rules if any: one is left as built;
  // two: the event is built twice, the second instance for the second
  // signature file (or the only one, when rules read the first); three or
  // more: one instance, frozen all the way down. (Building an event again
  // costs less than freezing it: ~6 objects frozen at ~35 ns each.)
  private updateMask(): void {
    let m = 0;
    let freeze = 0;
    let copy = 0;
    const active = this.sigs.filter((s) => !s.disabled);
    for (const s of active) {
      s.nextCopyKinds = 0;
      m |= s.mask;
    }
    for (let k = 0; k < EVENT_COUNT; k++) {
      const bit = 1 << k;
      const files = active.filter((s) => !s.rule && s.mask & bit);
      const instances = files.length + (active.some((s) => s.rule && s.mask & bit) ? 1 : 0);
      if (instances >= 3) freeze |= bit;
      else if (instances === 2 && files.length > 0) {
        copy |= bit;
        files[files.length - 1].nextCopyKinds |= bit;
      }
    }
    this.builder.mask = m;
    this.nextFreezeMask = freeze;
    this.nextCopyMask = copy;
  }

  /** deliver a batch (dispatch/compact.ts); returns the RealmResult JSON */
  batch(data: string): string {
    this.reader = new BatchReader(data);
    // the pod's identity, as the host has it now (events built from here on carry it)
    if (this.reader.pod !== POD.envelope.transport) setPodEnvelope(envelopeFromTransport(this.reader.pod));
    this.counts.fill(0);
    this.nEvents = 0;
    this.kindN.fill(0);
    this.nPackets = 0;
    this.cursorSig = 0;
    this.cursorEvent = 0;
    return this.resume();
  }

  private readonly sink = (ev: TraceeEvent, kind: Ev): void => {
    // one signature cannot change what another sees (updateMask); an event
    // only one signature receives is its own
    const bit = 1 << kind;
    if (this.freezeMask & bit) freezeEvent(ev);
    const i = this.nEvents++;
    if (i === this.kinds.length) this.grow();
    this.events[i] = ev;
    if (this.copyMask & bit) this.copies[i] = this.builder.again();
    this.kinds[i] = kind;
    this.byKind[kind][this.kindN[kind]++] = i;
    this.packetOf[i] = this.nPackets - 1;
    this.chunkKinds |= 1 << kind;
    this.counts[kind]++;
  };

  /** room for more events in a chunk (a packet may hold many DNS messages) */
  private grow(): void {
    const n = this.kinds.length * 2;
    const bigger = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.kinds = bigger(this.kinds);
    this.packetOf = bigger(this.packetOf);
    for (let k = 0; k < EVENT_COUNT; k++) this.byKind[k] = bigger(this.byKind[k]);
  }

  /** build the next chunk's events; false at the end of the batch */
  private nextChunk(): boolean {
    const r = this.reader;
    if (r === null || !r.more()) return false;
    const p = this.packet;
    this.freezeMask = this.nextFreezeMask;
    this.copyMask = this.nextCopyMask;
    for (const s of this.sigs) s.copyKinds = s.nextCopyKinds;
    this.nEvents = 0;
    this.nPackets = 0;
    this.chunkKinds = 0;
    this.kindN.fill(0);
    for (let k = 0; k < CHUNK && r.more(); k++) {
      p.restore(r);
      const j = this.nPackets++;
      this.seqs[j] = this.lastSeq = p.seq;
      this.tsSecs[j] = p.tsSec;
      this.tsNsecs[j] = p.tsNsec;
      this.builder.build(p as unknown as Packet, this.sink);
    }
    this.cursorSig = 0;
    this.cursorEvent = 0;
    return true;
  }

  /** continue delivering the current batch (after a signature was stopped mid-batch) */
  resume(): string {
    if (this.each !== null) return this.resumeEach();
    // (no batch in progress: nothing to deliver, and no event counts to report again)
    if (this.reader === null) return JSON.stringify(this.takeOut());
    do {
      const sigs = this.sigs;
      const events = this.events;
      const kinds = this.kinds;
      const n = this.nEvents;
      for (; this.cursorSig < sigs.length; this.cursorSig++, this.cursorEvent = 0) {
        const s = sigs[this.cursorSig];
        if (s.disabled || (s.mask & this.chunkKinds) === 0) continue;
        this.current = s.index;
        this.mark(s.index);
        if (s.single >= 0) {
          // one event type (most signatures and rules): only the chunk's events of it
          const list = this.byKind[s.single];
          const m = this.kindN[s.single];
          deliverKind(this, s.sig, s.copyKinds === 0 ? events : this.copies, list, m);
          continue;
        }
        deliverMixed(this, s.sig, events, this.copies, kinds, n, s.mask, s.copyKinds);
      }
    } while (this.nextChunk());
    this.current = -1;
    this.mark(-1);
    this.reader = null;
    this.events.fill(undefined as unknown as TraceeEvent, 0, this.nEvents);
    this.copies.fill(undefined as unknown as TraceeEvent);
    this.nEvents = 0;
    this.kindN.fill(0);
    this.nPackets = 0;
    this.out.events = Array.from(this.counts);
    return JSON.stringify(this.takeOut());
  }

  /** the signature running right now (-1 between calls): the host reads it after a timeout */
  running(): number {
    return this.current;
  }

  /** skip the rest of the batch for a signature (it hung on an event); the host quarantines it */
  skipCurrent(): void {
    if (this.each !== null) {
      const h = this.sigs[this.each.at];
      if (h) h.disabled = true;
      this.each.at++;
      this.updateMask();
      return;
    }
    const s = this.sigs[this.cursorSig];
    if (s) s.disabled = true;
    this.cursorSig++;
    this.cursorEvent = 0;
    this.updateMask();
  }

  signal(json: string): string {
    const signal = JSON.parse(json) as Signal;
    deepFreeze(signal);
    this.each = { method: "onSignal", at: 0, signal };
    return this.resumeEach();
  }

  closeAll(): string {
    this.each = { method: "close", at: 0, signal: null };
    return this.resumeEach();
  }

  /**
   * onSignal or close to every signature from the cursor on: after one hung
   * (skipCurrent), the others still get theirs, and the result is this call's
   * alone (not the last batch's event counts again)
   */
  private resumeEach(): string {
    const e = this.each!;
    for (; e.at < this.sigs.length; e.at++) {
      const s = this.sigs[e.at];
      if (e.method === "close") this.call(s, "close", () => s.sig.close());
      else if (!s.disabled) this.call(s, "onSignal", () => s.sig.onSignal(e.signal!));
    }
    this.each = null;
    if (e.method === "close") this.sigs = [];
    return JSON.stringify(this.takeOut());
  }

  private call(s: Loaded, method: string, fn: () => void): void {
    this.current = s.index;
    this.mark(s.index);
    const failed = attempt(fn);
    if (failed !== null) this.error(s.index, method, failed.error);
    this.current = -1;
    this.mark(-1);
  }

  private error(sig: number, method: string, e: unknown): void {
    this.out.errors.push({ sig, method, message: messageOf(e), stack: stackOf(e) });
  }

  /** the signature being delivered to threw (realm/guard.ts: DeliveryCursor) */
  failed(e: unknown): void {
    this.error(this.current, "onEvent", e);
  }

  private finding(s: Loaded, f: Finding): void {
    if (s.outCount >= FINDING_LIMITS.perResult || s.outBytes >= FINDING_LIMITS.bytesPerResult) {
      s.outDropped++;
      return;
    }
    const data = safeJSON(f && f.data !== undefined ? f.data : {});
    if (data.length > FINDING_LIMITS.dataBytes) {
      s.outDropped++;
      return;
    }
    const ev = f?.event as TraceeEvent | undefined;
    // most often the event being delivered
    let i = -1;
    const d = this.delivering;
    if (ev) i = this.placeOf(ev, d);
    const at = i >= 0 ? this.packetOf[i] : d < this.nEvents ? this.packetOf[d] : -1;
    const event = i >= 0 ? reported(ev as TraceeEvent) : ev ? safeJSON(ev) : "null";
    s.outCount++;
    s.outBytes += data.length + (typeof event === "string" ? event.length : EVENT_BYTES);
    this.out.findings.push({
      sig: s.index,
      seq: at >= 0 ? this.seqs[at] : this.lastSeq,
      // an event of an earlier chunk (kept by the signature): its timestamp number (exact to ~0.25 µs)
      ts:
        i >= 0
          ? timestampString(this.tsSecs[at], this.tsNsecs[at])
          : ev && typeof ev.timestamp === "number" && Number.isFinite(ev.timestamp)
            ? BigInt(Math.round(ev.timestamp)).toString()
            : "",
      // (one of the realm's events crosses as part of the batch's JSON, not as a
      // second, escaped JSON text of its own)
      event,
      data,
    });
  }

  /** where in the chunk a reported event is (most often `d`, the one being delivered); -1: not there */
  private placeOf(ev: TraceeEvent, d: number): number {
    const n = this.nEvents;
    // (a place of `copies` holds this chunk's event only for the types copied)
    const copy = (i: number) => (this.copyMask & (1 << this.kinds[i])) !== 0 && this.copies[i] === ev;
    if (d < n && (this.events[d] === ev || copy(d))) return d;
    for (let i = n - 1; i >= 0; i--) if (this.events[i] === ev || copy(i)) return i;
    return -1;
  }

  private takeOut(): RealmResult {
    const out = this.out;
    // findings in event order (delivery is signature by signature)
    out.findings.sort((a, b) => a.seq - b.seq);
    this.out = { findings: [], errors: [], logs: [], done: true };
    const sigs = this.sigs;
    for (let k = 0; k < sigs.length; k++) {
      const s = sigs[k];
      if (s.outDropped) (out.dropped ??= []).push({ sig: s.index, count: s.outDropped });
      s.outCount = 0;
      s.outBytes = 0;
      s.outDropped = 0;
    }
    return out;
  }
}

/** a reported event of the realm's: frozen (if it was not shared, it was its signature's to change) */
function reported(ev: TraceeEvent): TraceeEvent {
  if (!Object.isFrozen(ev)) freezeEvent(ev);
  return ev;
}

/**
 * the context a signature's init() gets: its findings go to `report`, its log
 * lines to the logs of the result being gathered (`logs()`: read at each line)
 */
export function signatureContext(index: number, logs: () => RealmLog[], report: (f: Finding) => void): SignatureContext {
  const logger =
    (level: string) =>
    (...args: unknown[]) => {
      logs().push({ sig: index, level, message: args.map((a) => (typeof a === "string" ? a : safeJSON(a))).join(" ") });
    };
  return {
    callback: (f: Finding) => report(f),
    logger: { debug: logger("debug"), info: logger("info"), warn: logger("warn"), error: logger("error") },
  };
}

/**
 * Object.freeze's end state (Object.isFrozen is true: every own property
 * non-configurable, data ones read-only, no new ones), reached property by
 * property. What V8 makes of each way (measured here, Node 20):
 *  - Object.prototype and the typed arrays' prototypes frozen by
 *    Object.freeze: every store into a typed array of the realm took V8's
 *    slow path, ~35x slower (the transport reader, the IPv6 parser);
 *  - Array.prototype frozen by Object.freeze: every store into an array's
 *    hole (`new Array(n)` then `a[i] = x`, as the event builder fills its
 *    arrays) took the slow path, ~6x slower: the sandbox spent ~15% more time
 *    on the shipped signatures. Locked, such stores stay fast, but slice,
 *    map, filter and the other methods that make a new array are ~3-8x
 *    slower (~0.3 µs a call);
 *  - String.prototype locked made charCodeAt a full call, 3x slower.
 * So these prototypes are locked, and the other intrinsics frozen with
 * Object.freeze, which keeps their properties fast.
 */
function lockObject(o: object): void {
  for (const k of Reflect.ownKeys(o)) {
    const d = Reflect.getOwnPropertyDescriptor(o, k);
    if (d === undefined) continue;
    Reflect.defineProperty(
      o,
      k,
      "value" in d
        ? { value: d.value, writable: false, enumerable: d.enumerable, configurable: false }
        : { get: d.get, set: d.set, enumerable: d.enumerable, configurable: false },
    );
  }
  Object.preventExtensions(o);
  if (!Object.isFrozen(o)) Object.freeze(o);
  // (redefining its properties left `o` with slow properties: used as a
  // prototype once more, V8 makes them fast again, e.g. Array.prototype.push
  // 2x faster)
  Object.create(o);
}

const TYPED_ARRAYS = [
  "Uint8Array",
  "Int8Array",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "Uint8ClampedArray",
];

/**
 * Make the realm's shared objects immutable before any signature runs, so one
 * signature cannot pollute a prototype or a global binding another one uses. (Sandbox realms only:
 * never call this in the host.)
 */
export function freezeIntrinsics(g: Record<string, unknown>): void {
  const names = [
    "Object",
    "Array",
    "Function",
    "String",
    "Number",
    "Boolean",
    "Symbol",
    "BigInt",
    "Error",
    "TypeError",
    "RangeError",
    "SyntaxError",
    "ReferenceError",
    "EvalError",
    "URIError",
    "RegExp",
    "Date",
    "Map",
    "Set",
    "WeakMap",
    "WeakSet",
    "Promise",
    "JSON",
    "Math",
    "Reflect",
    "Proxy",
    "ArrayBuffer",
    "DataView",
    "Uint8Array",
    "Int8Array",
    "Uint16Array",
    "Int16Array",
    "Uint32Array",
    "Int32Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "Uint8ClampedArray",
    "Intl",
  ];
  // (see lockObject: the prototypes an array or typed-array store looks at are locked, the rest frozen)
  const lockHere = new Set<unknown>([Object.prototype, Array.prototype, Object.getPrototypeOf(Uint8Array.prototype)]);
  for (const n of TYPED_ARRAYS) {
    const t = g[n] as { prototype?: object } | undefined;
    if (t?.prototype) lockHere.add(t.prototype);
  }
  const freezeOne = (o: object) => {
    if (lockHere.has(o)) lockObject(o);
    else Object.freeze(o);
  };
  for (const n of names) {
    const v = g[n] as { prototype?: object } | undefined;
    if (v === undefined || v === null) continue;
    const proto = (v as { prototype?: object }).prototype;
    if (typeof v === "function" && proto) freezeOne(proto);
    freezeOne(v as object);
  }
  // the prototypes reached only through instances
  const genFn = Object.getPrototypeOf(function* () {
    /* generator */
  }) as { prototype: object; constructor: object };
  const hidden = [
    genFn,
    genFn.prototype,
    genFn.constructor,
    // the iterators' prototypes (for-of over an array calls %ArrayIteratorPrototype%.next) and theirs
    Object.getPrototypeOf([][Symbol.iterator]()),
    Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())),
    Object.getPrototypeOf(new Map()[Symbol.iterator]()),
    Object.getPrototypeOf(new Set()[Symbol.iterator]()),
    Object.getPrototypeOf(""[Symbol.iterator]()),
    Object.getPrototypeOf(/x/[Symbol.matchAll]("x")),
    Object.getPrototypeOf(Uint8Array.prototype),
    Object.getPrototypeOf(Uint8Array),
  ];
  for (const h of hidden) if (h) freezeOne(h);
  // and the global's own bindings: the realm's code names Object, JSON, Array...
  // through the global, so a signature that could replace them could rewrite
  // what the realm returns for every signature (new globals may still be added)
  for (const k of Reflect.ownKeys(g)) {
    const d = Object.getOwnPropertyDescriptor(g, k);
    if (!d?.configurable) continue;
    // (full descriptors: the global of a vm context forwards partial ones badly)
    Object.defineProperty(
      g,
      k,
      "value" in d
        ? { value: d.value, writable: false, enumerable: d.enumerable, configurable: false }
        : { get: d.get, set: d.set, enumerable: d.enumerable, configurable: false },
    );
  }
}
