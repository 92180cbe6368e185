// How a decoded packet crosses into a signature sandbox.
//
// Objects a sandbox reads must be built inside its own realm (host objects
// reach it through proxies, ~1000x slower to walk), and only primitives cross
// the boundary cheaply. So the host sends the decoded fields of each packet —
// far smaller than the Tracee events they yield — and the sandbox rebuilds the
// Packet fields and runs the same event builder (events/build.ts, bundled into
// the sandbox) on them.
//
// A batch is one string: the pod's identity (envelope.ts: "" when none; sent
// with every batch, so that a sandbox started again after a crash has it, and
// a reload of it reaches the realm with the next batch), a \u0001, a JSON array of the batch's distinct strings (IPs,
// names, RDATA text), a NUL, then every number as UTF-16 code units: a
// number below 0xFFFF is one unit (nearly every field), any other uint32 is
// 0xFFFF and its two 16-bit halves; a timestamp's seconds (a float64) go as
// the two 32-bit halves of its bits. The sandbox reads a number with one
// charCodeAt where it needs it (no decoding pass, no table of numbers: a
// 7-bit varint form, smaller by a third, took a pass over every byte of each
// batch first, ~6% of the sandbox's time).

// Both ends are here so that they cannot drift apart; the restore side uses
// no Node.js API (it runs inside the sandbox).

import {
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_CNAME,
  DNS_TYPE_HINFO,
  DNS_TYPE_MX,
  DNS_TYPE_NS,
  DNS_TYPE_OPT,
  DNS_TYPE_PTR,
  DNS_TYPE_SOA,
  DNS_TYPE_SRV,
  DNS_TYPE_TXT,
  DNS_TYPE_URI,
  type DnsMessage,
  type DnsMX,
  type DnsOption,
  type DnsQuestion,
  type DnsRecord,
  type DnsSOA,
  type DnsSRV,
  type DnsURI,
} from "../decode/dnstypes";
import { Layer, type Packet } from "../decode/packet";
import { timestampNumber, timestampString } from "../decode/timestamp";
import { POD } from "../events/envelope";
import type { AppRecord } from "../types/records";

/** ends the pod identity at the start of a batch (JSON text holds no raw control character) */
const POD_END = "\u0001";
const SCRATCH = new Float64Array(1);
const SCRATCH32 = new Uint32Array(SCRATCH.buffer);

/** the escape before a number of 0xFFFF or more (its two 16-bit halves follow) */
const WIDE = 0xffff;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Builds one batch (host side). */
export class BatchPacker {
  private units = new Uint16Array(1 << 17);
  private n = 0;
  private strings: string[] = [];
  private index = new Map<string, number>();
  /** packets in the batch */
  count = 0;

  private room(k: number): void {
    if (this.n + k <= this.units.length) return;
    const bigger = new Uint16Array(Math.max(this.units.length * 2, this.n + k));
    bigger.set(this.units.subarray(0, this.n));
    this.units = bigger;
  }

  /** an unsigned 32-bit number: one unit below 0xFFFF (most fields), else three */
  private num(x: number): void {
    if (x >= 0 && x < WIDE && this.n < this.units.length) {
      this.units[this.n++] = x;
      return;
    }
    this.wide(x);
  }

  private wide(x: number): void {
    this.room(3);
    x >>>= 0;
    if (x < WIDE) {
      this.units[this.n++] = x;
      return;
    }
    this.units[this.n++] = WIDE;
    this.units[this.n++] = x >>> 16;
    this.units[this.n++] = x & 0xffff;
  }

  private str(s: string): void {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    this.num(i);
  }

  /** a float64 as the two 32-bit halves of its bits (exact for any value) */
  private f64(x: number): void {
    SCRATCH[0] = x;
    this.num(SCRATCH32[0]);
    this.num(SCRATCH32[1]);
  }

  /** add a packet; `seq` is its number in the capture */
  add(p: Packet, seq: number): void {
    this.count++;
    this.num(seq);
    this.f64(p.tsSec);
    this.num(p.tsNsec);
    this.str(p.iface);
    this.num(p.ipVersion);
    this.str(p.srcIP);
    this.str(p.dstIP);
    this.num(p.ipTotalLen);
    this.num(p.ipProtocol);
    this.num(p.l4Protocol);
    this.num(p.last);
    if (p.ipVersion === 4) {
      this.num(p.ihl);
      this.num(p.tos);
      this.num(p.ipId);
      this.num(p.ipFlags);
      this.num(p.fragOffset);
      this.num(p.ttl);
      this.num(p.ipChecksum);
    } else {
      this.num(p.trafficClass);
      this.num(p.flowLabel);
      this.num(p.payloadLen);
      this.num(p.hopLimit);
    }
    switch (p.last) {
      case Layer.TCP:
        this.num(p.srcPort);
        this.num(p.dstPort);
        this.num(p.tcpSeq);
        this.num(p.tcpAck);
        this.num(p.tcpDataOffset);
        this.num(p.tcpFlags);
        this.num(p.tcpWindow);
        this.num(p.tcpChecksum);
        this.num(p.tcpUrgent);
        break;
      case Layer.UDP:
        this.num(p.srcPort);
        this.num(p.dstPort);
        this.num(p.udpLength);
        this.num(p.udpChecksum);
        break;
      case Layer.ICMPv4:
      case Layer.ICMPv6:
        this.num(p.icmpType);
        this.num(p.icmpCode);
        this.num(p.icmpChecksum);
        this.num(p.icmpId);
        this.num(p.icmpSeq);
        break;
      default:
        // DNS over a transport the builder shows no event for still needs its ports
        this.num(p.srcPort);
        this.num(p.dstPort);
        break;
    }
    if (p.dns === null) this.num(0);
    else {
      const more = p.dnsMore;
      this.num(1 + (more === null ? 0 : more.length));
      this.dns(p.dns);
      if (more !== null) for (let i = 0; i < more.length; i++) this.dns(more[i]);
    }
    // the flow stage's records (rare: a few a flow) go as one JSON text, which the realm parses into its own objects
    if (p.records === null) this.num(0);
    else {
      this.num(1);
      this.str(JSON.stringify(p.records));
    }
  }

  private dns(m: DnsMessage): void {
    this.num(m.id);
    this.num(m.flags);
    this.num(m.qdCount);
    this.num(m.anCount);
    this.num(m.nsCount);
    this.num(m.arCount);
    const qs = m.questions;
    this.num(qs.length);
    for (let i = 0; i < qs.length; i++) {
      this.str(qs[i].name);
      this.num(qs[i].type);
      this.num(qs[i].class);
    }
    this.records(m.answers);
    this.records(m.authorities);
    this.records(m.additionals);
  }

  /** records, with the RDATA of the types the event builder shows (others: none) */
  private records(rrs: DnsRecord[]): void {
    this.num(rrs.length);
    for (let i = 0; i < rrs.length; i++) {
      const r = rrs[i];
      this.str(r.name);
      this.num(r.type);
      this.num(r.class);
      this.num(r.ttl);
      const d = r.data;
      switch (r.type) {
        case DNS_TYPE_A:
        case DNS_TYPE_AAAA:
        case DNS_TYPE_NS:
        case DNS_TYPE_CNAME:
        case DNS_TYPE_PTR:
          this.str(d as string);
          break;
        case DNS_TYPE_TXT:
        case DNS_TYPE_HINFO: {
          const parts = d as string[];
          this.num(parts.length);
          for (let j = 0; j < parts.length; j++) this.str(parts[j]);
          this.str(r.raw);
          break;
        }
        case DNS_TYPE_SOA: {
          const s = d as DnsSOA;
          this.str(s.mname);
          this.str(s.rname);
          this.num(s.serial);
          this.num(s.refresh);
          this.num(s.retry);
          this.num(s.expire);
          this.num(s.minimum);
          break;
        }
        case DNS_TYPE_SRV: {
          const s = d as DnsSRV;
          this.num(s.priority);
          this.num(s.weight);
          this.num(s.port);
          this.str(s.target);
          break;
        }
        case DNS_TYPE_MX: {
          const m = d as DnsMX;
          this.num(m.preference);
          this.str(m.exchange);
          break;
        }
        case DNS_TYPE_URI: {
          const u = d as DnsURI;
          this.num(u.priority);
          this.num(u.weight);
          this.str(u.target);
          break;
        }
        case DNS_TYPE_OPT: {
          const o = d as DnsOption[];
          this.num(o.length);
          for (let j = 0; j < o.length; j++) {
            this.num(o[j].code);
            this.str(o[j].data);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  /** the batch as one string; the packer is empty again */
  take(): string {
    const bytes = Buffer.from(this.units.buffer, this.units.byteOffset, this.n * 2);
    // (UTF-16LE: a big-endian host swaps a copy)
    const numbers = (LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap16()).toString("ucs2");
    const out = POD.envelope.transport + POD_END + JSON.stringify(this.strings) + "\0" + numbers;
    this.n = 0;
    this.count = 0;
    this.strings = [];
    this.index.clear();
    return out;
  }
}

// ---- sandbox side

/** Reads a batch string (sandbox side: no Node.js API). */
export class BatchReader {
  private readonly strs: string[];
  private readonly s: string;
  private k: number;
  private readonly f64 = new Float64Array(1);
  private readonly f64u32 = new Uint32Array(this.f64.buffer);

  /** the pod envelope the batch's events carry (envelope.ts: its transport string) */
  readonly pod: string;

  constructor(batch: string) {
    const head = batch.indexOf(POD_END);
    this.pod = batch.slice(0, head);
    const cut = batch.indexOf("\0", head);
    this.strs = JSON.parse(batch.slice(head + 1, cut)) as string[];
    this.s = batch;
    this.k = cut + 1;
  }

  more(): boolean {
    return this.k < this.s.length;
  }

  /** the next number (BatchPacker.num: one unit, or 0xFFFF and two halves) */
  u32(): number {
    const c = this.s.charCodeAt(this.k++);
    return c !== WIDE ? c : this.wide();
  }

  private wide(): number {
    const k = this.k;
    this.k = k + 2;
    return ((this.s.charCodeAt(k) << 16) | this.s.charCodeAt(k + 1)) >>> 0;
  }

  str(): string {
    return this.strs[this.u32()];
  }

  float(): number {
    this.f64u32[0] = this.u32();
    this.f64u32[1] = this.u32();
    return this.f64[0];
  }
}

/**
 * The Packet fields the event builder reads, restored from a batch. Every
 * field is declared (one object shape), and one instance is reused for a
 * whole batch: the builder keeps no reference to the packet.
 */
export class RestoredPacket {
  /** the packet's number in the capture (findings name it) */
  seq = 0;
  tsSec = 0;
  tsNsec = 0;
  iface = "";
  ipVersion = 0;
  srcIP = "";
  dstIP = "";
  ipTotalLen = 0;
  ipProtocol = 0;
  l4Protocol = 0;
  last = 0;
  ihl = 0;
  tos = 0;
  ipId = 0;
  ipFlags = 0;
  fragOffset = 0;
  ttl = 0;
  ipChecksum = 0;
  trafficClass = 0;
  flowLabel = 0;
  payloadLen = 0;
  hopLimit = 0;
  srcPort = 0;
  dstPort = 0;
  tcpSeq = 0;
  tcpAck = 0;
  tcpDataOffset = 0;
  tcpFlags = 0;
  tcpWindow = 0;
  tcpChecksum = 0;
  tcpUrgent = 0;
  udpLength = 0;
  udpChecksum = 0;
  icmpType = 0;
  icmpCode = 0;
  icmpChecksum = 0;
  icmpId = 0;
  icmpSeq = 0;
  dns: DnsMessage | null = null;
  dnsMore: DnsMessage[] | null = null;
  records: AppRecord[] | null = null;

  timestampString(): string {
    return timestampString(this.tsSec, this.tsNsec);
  }
  timestampNumber(): number {
    return timestampNumber(this.tsSec, this.tsNsec);
  }

  /** the next packet of the batch (BatchPacker.add's layout) */
  restore(r: BatchReader): this {
    this.seq = r.u32();
    this.tsSec = r.float();
    this.tsNsec = r.u32();
    this.iface = r.str();
    this.ipVersion = r.u32();
    this.srcIP = r.str();
    this.dstIP = r.str();
    this.ipTotalLen = r.u32();
    this.ipProtocol = r.u32();
    this.l4Protocol = r.u32();
    this.last = r.u32();
    if (this.ipVersion === 4) {
      this.ihl = r.u32();
      this.tos = r.u32();
      this.ipId = r.u32();
      this.ipFlags = r.u32();
      this.fragOffset = r.u32();
      this.ttl = r.u32();
      this.ipChecksum = r.u32();
    } else {
      this.trafficClass = r.u32();
      this.flowLabel = r.u32();
      this.payloadLen = r.u32();
      this.hopLimit = r.u32();
    }
    switch (this.last) {
      case Layer.TCP:
        this.srcPort = r.u32();
        this.dstPort = r.u32();
        this.tcpSeq = r.u32();
        this.tcpAck = r.u32();
        this.tcpDataOffset = r.u32();
        this.tcpFlags = r.u32();
        this.tcpWindow = r.u32();
        this.tcpChecksum = r.u32();
        this.tcpUrgent = r.u32();
        break;
      case Layer.UDP:
        this.srcPort = r.u32();
        this.dstPort = r.u32();
        this.udpLength = r.u32();
        this.udpChecksum = r.u32();
        break;
      case Layer.ICMPv4:
      case Layer.ICMPv6:
        this.srcPort = 0;
        this.dstPort = 0;
        this.icmpType = r.u32();
        this.icmpCode = r.u32();
        this.icmpChecksum = r.u32();
        this.icmpId = r.u32();
        this.icmpSeq = r.u32();
        break;
      default:
        this.srcPort = r.u32();
        this.dstPort = r.u32();
        break;
    }
    const nDns = r.u32();
    this.dns = nDns === 0 ? null : readDns(r);
    if (nDns > 1) {
      const more = new Array<DnsMessage>(nDns - 1);
      for (let i = 0; i < more.length; i++) more[i] = readDns(r);
      this.dnsMore = more;
    } else this.dnsMore = null;
    this.records = r.u32() === 0 ? null : (JSON.parse(r.str()) as AppRecord[]);
    return this;
  }
}

function readDns(r: BatchReader): DnsMessage {
  const id = r.u32(),
    flags = r.u32(),
    qdCount = r.u32(),
    anCount = r.u32(),
    nsCount = r.u32(),
    arCount = r.u32();
  const questions = new Array<DnsQuestion>(r.u32());
  for (let i = 0; i < questions.length; i++) questions[i] = { name: r.str(), type: r.u32(), class: r.u32() };
  const answers = readRecords(r);
  const authorities = readRecords(r);
  const additionals = readRecords(r);
  return { id, flags, qdCount, anCount, nsCount, arCount, questions, answers, authorities, additionals };
}

function readRecords(r: BatchReader): DnsRecord[] {
  const out = new Array<DnsRecord>(r.u32());
  for (let i = 0; i < out.length; i++) {
    const name = r.str(),
      type = r.u32(),
      klass = r.u32(),
      ttl = r.u32();
    let data: unknown = null;
    let raw = "";
    switch (type) {
      case DNS_TYPE_A:
      case DNS_TYPE_AAAA:
      case DNS_TYPE_NS:
      case DNS_TYPE_CNAME:
      case DNS_TYPE_PTR:
        data = r.str();
        break;
      case DNS_TYPE_TXT:
      case DNS_TYPE_HINFO: {
        const parts = new Array<string>(r.u32());
        for (let j = 0; j < parts.length; j++) parts[j] = r.str();
        data = parts;
        raw = r.str();
        break;
      }
      case DNS_TYPE_SOA:
        data = {
          mname: r.str(),
          rname: r.str(),
          serial: r.u32(),
          refresh: r.u32(),
          retry: r.u32(),
          expire: r.u32(),
          minimum: r.u32(),
        } satisfies DnsSOA;
        break;
      case DNS_TYPE_SRV:
        data = { priority: r.u32(), weight: r.u32(), port: r.u32(), target: r.str() } satisfies DnsSRV;
        break;
      case DNS_TYPE_MX:
        data = { preference: r.u32(), exchange: r.str() } satisfies DnsMX;
        break;
      case DNS_TYPE_URI:
        data = { priority: r.u32(), weight: r.u32(), target: r.str() } satisfies DnsURI;
        break;
      case DNS_TYPE_OPT: {
        const o = new Array<DnsOption>(r.u32());
        for (let j = 0; j < o.length; j++) o[j] = { code: r.u32(), data: r.str() };
        data = o;
        break;
      }
      default:
        break;
    }
    out[i] = { name, type, class: klass, ttl, data, raw };
  }
  return out;
}
