// Flow stage: follows TCP and UDP flows across packets, runs the application
// parsers (parser.ts) over each TCP direction's reassembled bytes, and makes
// the flow records (begin/end, named by the DNS cache) — each record attached
// to the packet that completed it (Packet.records).
//
// Bounded: at most `maxFlows` flows (a table full evicts the oldest flow of
// the least valuable state: closing, then not established, then UDP, then
// established), each flow idle no longer than its state's timeout in capture
// time (packet timestamps: a replay times out as a live run would), out-of-
// order TCP segments held up to a bound per direction and in all. Everything
// dropped is counted (FlowStats).
//
// Flow events follow Tracee's (pkg/ebpf/c/tracee.bpf.c, cgroup_skb_submit_flow;
// pkg/events/derive/net_flow.go): a TCP flow begins at its SYN-ACK and ends at
// its first FIN or RST, src being the originator (the SYN's sender); a flow
// whose SYN-ACK was not seen (picked up mid-stream) has no flow events. netsig
// adds: an end for a begun flow that times out, is evicted or is still open
// when the input ends (flush), and UDP flows (begin: the first packet, end:
// idle timeout, eviction or flush).

import { Layer, Malformed, type Packet, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../decode/packet";
import type { AppRecord, FlowRecord } from "../types/records";
import { type AppParser, DONE, NEED_MORE, NOT_MINE, type StreamDirection } from "../types/parser";
import { APP_PARSERS } from "./parsers";
import { communityId } from "./communityid";
import type { DnsCache } from "./dnscache";

/** idle timeouts, seconds of capture time, per state */
export interface FlowTimeouts {
  /** TCP, not established: a SYN (or a packet) not answered yet */
  opening: number;
  /** TCP, both sides seen */
  established: number;
  /** TCP after a FIN or RST (late packets and the other side's FIN still belong to it) */
  closing: number;
  udp: number;
}

/**
 * The defaults, against other sensors' (seconds):
 *                   not established   established   closing   UDP
 *   netsig          60                600           60        60
 *   Suricata 7      60 (tcp new)      600           60        30 new / 300 established
 *   Zeek            5 (SYN)           300           5         60
 *   Linux conntrack 120 (syn_sent)    432000        120       30 / 120 (stream)
 * Suricata's TCP values (a monitor's, not a NAT's: conntrack must keep idle
 * connections for days, a sensor need not); UDP as Zeek, which keeps one
 * minute for both directions without Suricata's two states.
 */
export const DEFAULT_TIMEOUTS: Readonly<FlowTimeouts> = Object.freeze({ opening: 60, established: 600, closing: 60, udp: 60 });
/** 65536 flows: Suricata's default flow memcap (128 MB) holds ~ that many of its larger flows; a few MB of netsig's */
export const DEFAULT_MAX_FLOWS = 65536;

export interface FlowOptions {
  maxFlows: number;
  timeouts: FlowTimeouts;
  /** out-of-order TCP segments held per direction, waiting for a gap to fill */
  oooSegments: number;
  /** their bytes per direction */
  oooBytes: number;
  /** their bytes in all flows */
  oooTotalBytes: number;
  /**
   * Is this address the monitored host's (conn_direction: "incoming" when the
   * responder is local and the originator is not)? Live: the capture
   * interfaces' addresses; null: private, loopback and link-local addresses
   * count as local (isPrivateAddress)
   */
  isLocal: ((ip: string) => boolean) | null;
}

export const DEFAULT_FLOW_OPTIONS: Readonly<FlowOptions> = Object.freeze({
  maxFlows: DEFAULT_MAX_FLOWS,
  timeouts: DEFAULT_TIMEOUTS,
  oooSegments: 32,
  oooBytes: 64 * 1024,
  oooTotalBytes: 32 * 1024 * 1024,
  isLocal: null,
});

/** a flow's state, and the list (ordered by last packet) it is kept in */
const enum St {
  Opening = 0,
  Established = 1,
  Closing = 2,
  Udp = 3,
}
export const STATE_NAMES = ["opening", "established", "closing", "udp"] as const;
export type StateName = (typeof STATE_NAMES)[number];
/** which list a full table takes its victim from first */
const EVICT_ORDER = [St.Closing, St.Opening, St.Udp, St.Established];

export interface FlowStats {
  /** flows followed, per protocol */
  tcpFlows: number;
  udpFlows: number;
  /** flows in the table now */
  active: number;
  /** flows removed after they closed (FIN or RST, then the closing timeout) */
  closed: number;
  /** flows removed because they were idle too long, per state */
  timedOut: Record<StateName, number>;
  /** flows evicted to make room (the table was full), per state */
  evicted: Record<StateName, number>;
  /** flows open when the input ended */
  flushed: number;
  /** directions whose parser stopped at a gap in the sequence numbers never filled */
  gaps: number;
  /** out-of-order segments held until their gap filled */
  reordered: number;
  /** messages cut because they exceeded the parser's maxHold */
  cut: number;
  records: number;
  /** flow begin/end records made */
  flowEvents: number;
}

/** drop a direction's out-of-order bytes from the global count */
interface Segment {
  seq: number;
  data: Buffer;
}

/**
 * the most bytes a direction holds while a parser needs more of them to tell
 * whether they are its own (a few are enough: a method token, a record header)
 */
const DETECT_HOLD = 256;

class Direction implements StreamDirection {
  state: unknown = undefined;
  /** the flow's other direction, once it has sent data (HTTP: a response to HEAD has no body) */
  peer: Direction | null = null;
  /** the next sequence number expected (-1: not known yet) */
  next = -1;
  /** unconsumed bytes */
  buf: Buffer | null = null;
  len = 0;
  /** undefined: not detected yet; null: no parser (stop feeding) */
  parser: AppParser | null | undefined = undefined;
  /** out-of-order segments, by sequence number, and their bytes */
  ooo: Segment[] | null = null;
  oooLen = 0;

  constructor(
    readonly src: string,
    readonly dst: string,
    readonly srcPort: number,
    readonly dstPort: number,
    readonly fromClient: boolean,
  ) {}

  append(b: Uint8Array, off: number, end: number, max: number): boolean {
    const n = end - off;
    if (this.len + n > max) return false;
    if (this.buf === null || this.buf.length < this.len + n) {
      const bigger = Buffer.allocUnsafe(Math.min(max, Math.max(this.len + n, this.len * 2, 4096)));
      if (this.buf !== null) this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.buf.set(b.subarray(off, end), this.len);
    this.len += n;
    return true;
  }

  consume(k: number): void {
    if (k >= this.len) {
      this.len = 0;
      if (this.buf !== null && this.buf.length > 65536) this.buf = null;
      return;
    }
    this.buf!.copy(this.buf!, 0, k, this.len);
    this.len -= k;
  }
}

class Flow {
  /** the list of its state, oldest first */
  prev: Flow | null = null;
  next: Flow | null = null;
  state: St;
  /** capture time (seconds) of its first and last packets */
  readonly first: number;
  last: number;
  begun = false;
  ended = false;
  /** a packet from the responder was seen */
  answered = false;
  /** the originator's and the responder's parser directions (TCP, made at their first payload) */
  client: Direction | null = null;
  server: Direction | null = null;
  /** the first sequence number of each side's data (its SYN's + 1), -1 until a SYN is seen */
  clientSeq = -1;
  serverSeq = -1;
  cid = "";

  /** the next flow in its hash bucket */
  chain: Flow | null = null;

  constructor(
    /** the bucket it is in (FlowTracker.hashOf) */
    readonly key: number,
    readonly proto: number,
    /** the originator's address and port, then the responder's */
    readonly src: string,
    readonly dst: string,
    readonly srcPort: number,
    readonly dstPort: number,
    /** an IPv6 flow (its addresses may print as IPv4: ::ffff:a.b.c.d) */
    readonly v6: boolean,
    state: St,
    now: number,
  ) {
    this.state = state;
    this.first = now;
    this.last = now;
  }
}

/** one list of flows of a state, least recently active first */
class FlowList {
  head: Flow | null = null;
  tail: Flow | null = null;
  size = 0;

  push(f: Flow): void {
    f.prev = this.tail;
    f.next = null;
    if (this.tail === null) this.head = f;
    else this.tail.next = f;
    this.tail = f;
    this.size++;
  }

  unlink(f: Flow): void {
    if (f.prev === null) this.head = f.next;
    else f.prev.next = f.next;
    if (f.next === null) this.tail = f.prev;
    else f.next.prev = f.prev;
    f.prev = null;
    f.next = null;
    this.size--;
  }
}

/** private (RFC 1918, RFC 4193), loopback, link-local and CGNAT (RFC 6598) addresses: a workload's own, in a replay */
export function isPrivateAddress(ip: string): boolean {
  if (ip.indexOf(":") >= 0) {
    const l = ip.toLowerCase();
    return l === "::1" || l.startsWith("fc") || l.startsWith("fd") || /^fe[89ab]/.test(l);
  }
  const dot = ip.indexOf(".");
  const a = Number(ip.slice(0, dot));
  const b = Number(ip.slice(dot + 1, ip.indexOf(".", dot + 1)));
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b < 128)
  );
}

export class FlowTracker {
  readonly stats: FlowStats = {
    tcpFlows: 0,
    udpFlows: 0,
    active: 0,
    closed: 0,
    timedOut: { opening: 0, established: 0, closing: 0, udp: 0 },
    evicted: { opening: 0, established: 0, closing: 0, udp: 0 },
    flushed: 0,
    gaps: 0,
    reordered: 0,
    cut: 0,
    records: 0,
    flowEvents: 0,
  };
  readonly options: FlowOptions;
  /** make TCP flow records (net_flow_tcp_*), and follow UDP flows for theirs (net_flow_udp_*) */
  tcpEvents = false;
  udpEvents = false;
  /** the names of addresses (on while flow events are wanted) */
  dns: DnsCache | null = null;

  /** the flows by hash bucket (FlowTracker.hashOf), a chain each; and how many */
  private readonly tcp = new Map<number, Flow>();
  private readonly udp = new Map<number, Flow>();
  private count = 0;
  /** seeds the hash: a table an attacker cannot fill with colliding flows */
  private readonly seed = (Math.random() * 0x7fffffff) | 0;
  private readonly lists = [new FlowList(), new FlowList(), new FlowList(), new FlowList()];
  /** out-of-order bytes held in all flows */
  private oooTotal = 0;
  /** the records of the packet being tracked (reused: most packets complete none) */
  private readonly pending: AppRecord[] = [];
  /** the latest capture time seen (seconds), and the second last swept */
  private now = 0;
  private nowSec = 0;
  private nowNsec = 0;
  private swept = -1;
  /** where the records being made go (the packet being tracked) */
  private out: { records: AppRecord[] | null } | null = null;

  constructor(
    private readonly parsers: readonly AppParser[] = APP_PARSERS,
    options: Partial<FlowOptions> | number = {},
  ) {
    const o = typeof options === "number" ? { maxFlows: options } : options;
    this.options = { ...DEFAULT_FLOW_OPTIONS, ...o, timeouts: { ...DEFAULT_TIMEOUTS, ...o.timeouts } };
    if (!(this.options.maxFlows >= 1)) this.options.maxFlows = 1;
  }

  /** flows in the table */
  get size(): number {
    return this.count;
  }

  /** follow one decoded packet; attaches the records it completed (and those of flows it timed out) to p.records */
  track(p: Packet): void {
    this.out = p;
    if (p.tsSec > this.nowSec || (p.tsSec === this.nowSec && p.tsNsec > this.nowNsec)) {
      this.nowSec = p.tsSec;
      this.nowNsec = p.tsNsec;
      this.now = p.tsSec + p.tsNsec / 1e9;
    }
    if (this.nowSec !== this.swept) {
      this.swept = this.nowSec;
      this.sweep();
    }
    // (a DNS message that does not parse leaves its UDP/TCP headers good)
    if (p.malformed !== Malformed.None && p.malformed !== Malformed.BadDNS) return;
    const dns = this.dns;
    if (dns !== null && p.dns !== null) {
      dns.add(p.dns, this.now);
      const more = p.dnsMore;
      if (more !== null) for (let i = 0; i < more.length; i++) dns.add(more[i], this.now);
    }
    if (p.last === Layer.TCP) {
      if (this.tcpEvents || this.parsers.length > 0) this.trackTcp(p);
    } else if (p.last === Layer.UDP && this.udpEvents) this.trackUdp(p);
    this.out = null;
  }

  /**
   * The bucket of a packet's flow: a hash of each endpoint's address bytes
   * and port, the two combined alike in both directions (no string is built
   * per packet: a concatenated key cost more than the rest of the stage)
   */
  private hashOf(p: Packet): number {
    const b = p.buf;
    const v4 = p.ipVersion === 4;
    const n = v4 ? 4 : 16;
    const s = p.ipOff + (v4 ? 12 : 8);
    let h1 = this.seed;
    let h2 = this.seed;
    for (let i = 0; i < n; i++) {
      h1 = Math.imul(h1 ^ b[s + i], 16777619);
      h2 = Math.imul(h2 ^ b[s + n + i], 16777619);
    }
    h1 = Math.imul(h1 ^ p.srcPort, 16777619);
    h2 = Math.imul(h2 ^ p.dstPort, 16777619);
    const lo = Math.min(h1, h2);
    const hi = Math.max(h1, h2);
    // (a small integer: V8 keeps it unboxed)
    return (Math.imul(lo ^ (hi >>> 15), 0x2c1b3c6d) ^ hi) & 0x3fffffff;
  }

  /** the flow of a packet in a table, or undefined */
  private find(map: Map<number, Flow>, key: number, p: Packet): Flow | undefined {
    let f: Flow | null | undefined = map.get(key);
    const sp = p.srcPort;
    const dp = p.dstPort;
    while (f !== undefined && f !== null) {
      if (
        (f.srcPort === sp && f.dstPort === dp && f.src === p.srcIP && f.dst === p.dstIP) ||
        (f.srcPort === dp && f.dstPort === sp && f.src === p.dstIP && f.dst === p.srcIP)
      )
        return f;
      f = f.chain;
    }
    return undefined;
  }

  private trackTcp(p: Packet): void {
    const key = this.hashOf(p);
    const flags = p.tcpFlags;
    let f = this.find(this.tcp, key, p);
    // a new connection on the 4-tuple of a closed one
    if (f !== undefined && f.state === St.Closing && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      this.remove(f, -1);
      f = undefined;
    }
    if (f === undefined) {
      if (flags & TCP_RST) return; // nothing to follow or end
      // the originator: a SYN's sender, a SYN-ACK's receiver, else (picked up mid-stream) the first packet's sender
      const synAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      f = synAck
        ? new Flow(key, 6, p.dstIP, p.srcIP, p.dstPort, p.srcPort, p.ipVersion === 6, St.Opening, this.now)
        : new Flow(key, 6, p.srcIP, p.dstIP, p.srcPort, p.dstPort, p.ipVersion === 6, St.Opening, this.now);
      this.add(f, this.tcp);
      this.stats.tcpFlows++;
    } else {
      f.last = this.now;
      const list = this.lists[f.state];
      list.unlink(f);
      list.push(f);
    }
    const fromClient = p.srcPort === f.srcPort && p.srcIP === f.src;
    if (!fromClient && !f.answered) {
      f.answered = true;
      if (f.state === St.Opening) this.move(f, St.Established);
    }
    // Tracee: the flow begins at the SYN-ACK
    if (!fromClient && (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK) && !f.begun && this.tcpEvents) {
      f.begun = true;
      this.flowRecord(f, "begin");
    }
    if (flags & TCP_SYN) {
      if (fromClient) f.clientSeq = (p.tcpSeq + 1) >>> 0;
      else f.serverSeq = (p.tcpSeq + 1) >>> 0;
    }
    if (p.appEnd > p.appOff && this.parsers.length > 0) this.data(p, f, fromClient);
    if (flags & (TCP_FIN | TCP_RST)) {
      // Tracee: the flow ends at the first FIN or RST (from either side)
      if (f.begun && !f.ended) {
        f.ended = true;
        this.flowRecord(f, "end");
      }
      if (flags & TCP_RST) {
        if (f.client !== null) this.stop(f.client);
        if (f.server !== null) this.stop(f.server);
      }
      if (f.state !== St.Closing) this.move(f, St.Closing);
    }
  }

  private trackUdp(p: Packet): void {
    const key = this.hashOf(p);
    let f = this.find(this.udp, key, p);
    if (f === undefined) {
      f = new Flow(key, 17, p.srcIP, p.dstIP, p.srcPort, p.dstPort, p.ipVersion === 6, St.Udp, this.now);
      this.add(f, this.udp);
      this.stats.udpFlows++;
      f.begun = true;
      this.flowRecord(f, "begin");
      return;
    }
    f.last = this.now;
    const list = this.lists[St.Udp];
    list.unlink(f);
    list.push(f);
    if (!f.answered && !(p.srcPort === f.srcPort && p.srcIP === f.src)) f.answered = true;
  }

  /** put a new flow in the table, evicting one first when it is full */
  private add(f: Flow, map: Map<number, Flow>): void {
    if (this.count >= this.options.maxFlows) {
      for (const s of EVICT_ORDER) {
        const victim = this.lists[s].head;
        if (victim !== null) {
          this.stats.evicted[STATE_NAMES[s]]++;
          this.remove(victim, -1);
          break;
        }
      }
    }
    const head = map.get(f.key);
    if (head !== undefined) f.chain = head;
    map.set(f.key, f);
    this.count++;
    this.lists[f.state].push(f);
    this.stats.active = this.count;
  }

  private move(f: Flow, s: St): void {
    this.lists[f.state].unlink(f);
    f.state = s;
    this.lists[s].push(f);
  }

  /** take a flow out of the table; a begun flow not ended ends now. `why`: the state it timed out in, or -1 */
  private remove(f: Flow, why: number): void {
    this.lists[f.state].unlink(f);
    const map = f.proto === 6 ? this.tcp : this.udp;
    const head = map.get(f.key);
    if (head === f) {
      if (f.chain === null) map.delete(f.key);
      else map.set(f.key, f.chain);
    } else {
      let prev: Flow | null | undefined = head;
      while (prev !== undefined && prev !== null && prev.chain !== f) prev = prev.chain;
      if (prev !== undefined && prev !== null) prev.chain = f.chain;
    }
    f.chain = null;
    this.count--;
    this.stats.active = this.count;
    if (why >= 0) {
      if (why === St.Closing) this.stats.closed++;
      else this.stats.timedOut[STATE_NAMES[why]]++;
    }
    if (f.client !== null) this.stop(f.client);
    if (f.server !== null) this.stop(f.server);
    if (f.begun && !f.ended) {
      f.ended = true;
      this.flowRecord(f, "end");
    }
  }

  /** remove the flows idle past their state's timeout (each list is oldest first) */
  private sweep(): void {
    const t = this.options.timeouts;
    const limits = [t.opening, t.established, t.closing, t.udp];
    const now = this.now;
    for (let s = 0; s < 4; s++) {
      const list = this.lists[s];
      const limit = limits[s];
      while (list.head !== null && now - list.head.last > limit) this.remove(list.head, s);
    }
  }

  /**
   * The input ended: the flows still open end (their end records returned,
   * oldest flow first) and the table is emptied
   */
  flush(): AppRecord[] {
    const all: Flow[] = [];
    for (const list of this.lists) for (let f = list.head; f !== null; f = f.next) all.push(f);
    all.sort((a, b) => a.first - b.first);
    const holder: { records: AppRecord[] | null } = { records: null };
    this.out = holder;
    for (const f of all) {
      if (f.state === St.Closing) this.stats.closed++;
      else this.stats.flushed++;
      this.remove(f, -1);
    }
    this.out = null;
    return holder.records ?? [];
  }

  /** the capture time of the latest packet (for the records flush() returns): seconds and nanoseconds */
  get time(): { sec: number; nsec: number } {
    return { sec: this.nowSec, nsec: this.nowNsec };
  }

  // ---- records

  private flowRecord(f: Flow, phase: "begin" | "end"): void {
    if (f.proto === 6 ? !this.tcpEvents : !this.udpEvents) return;
    if (f.cid === "") {
      // (an IPv4-mapped IPv6 address prints as IPv4: hash it as the 16 bytes it was)
      const src = f.v6 && f.src.indexOf(":") < 0 ? "::ffff:" + f.src : f.src;
      const dst = f.v6 && f.dst.indexOf(":") < 0 ? "::ffff:" + f.dst : f.dst;
      f.cid = communityId(f.proto, src, dst, f.srcPort, f.dstPort);
    }
    const local = this.options.isLocal ?? isPrivateAddress;
    const dns = this.dns;
    const r: FlowRecord = {
      t: "flow",
      src: f.src,
      dst: f.dst,
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      proto: f.proto,
      phase,
      direction: local(f.dst) && !local(f.src) ? "incoming" : "outgoing",
      srcDns: dns === null ? [] : dns.lookup(f.src, this.now),
      dstDns: dns === null ? [] : dns.lookup(f.dst, this.now),
      communityId: f.cid,
    };
    this.stats.flowEvents++;
    this.emit(r);
  }

  private emit(r: AppRecord): void {
    const p = this.out;
    if (p === null) return;
    if (p.records === null) p.records = [r];
    else p.records.push(r);
  }

  // ---- TCP payload: in-order bytes to the parsers

  private stop(dir: Direction): void {
    dir.parser = null;
    dir.buf = null;
    dir.len = 0;
    if (dir.ooo !== null) {
      this.oooTotal -= dir.oooLen;
      dir.ooo = null;
      dir.oooLen = 0;
    }
  }

  private data(p: Packet, f: Flow, fromClient: boolean): void {
    let dir = fromClient ? f.client : f.server;
    if (dir === null) {
      dir = fromClient ? new Direction(f.src, f.dst, f.srcPort, f.dstPort, true) : new Direction(f.dst, f.src, f.dstPort, f.srcPort, false);
      if (fromClient) f.client = dir;
      else f.server = dir;
      const other = fromClient ? f.server : f.client;
      if (other !== null) {
        dir.peer = other;
        other.peer = dir;
      }
      dir.next = fromClient ? f.clientSeq : f.serverSeq;
    }
    if (dir.parser === null) return;
    // (data on a SYN starts after the SYN's sequence number)
    const seq = p.tcpFlags & TCP_SYN ? (p.tcpSeq + 1) >>> 0 : p.tcpSeq;
    if (dir.next === -1) dir.next = seq;
    const d = (seq - dir.next) | 0;
    if (d > 0) {
      this.hold(p, dir, seq);
      return;
    }
    let off = p.appOff;
    if (d < 0) {
      if (-d >= p.appEnd - off) return; // a retransmission of bytes already seen
      off += -d;
    }
    this.feed(p, dir, p.buf, off, p.appEnd);
    // segments that were waiting for this one
    while (dir.ooo !== null && dir.parser !== null) {
      const s = dir.ooo[0];
      const k = (s.seq - dir.next) | 0;
      if (k > 0) break;
      dir.ooo.shift();
      dir.oooLen -= s.data.length;
      this.oooTotal -= s.data.length;
      if (dir.ooo.length === 0) dir.ooo = null;
      if (-k < s.data.length) this.feed(p, dir, s.data, -k, s.data.length);
    }
  }

  /** keep a segment past a gap (a copy), or stop the direction when the bounds are reached */
  private hold(p: Packet, dir: Direction, seq: number): void {
    const n = p.appEnd - p.appOff;
    const o = this.options;
    if ((dir.ooo !== null && dir.ooo.length >= o.oooSegments) || dir.oooLen + n > o.oooBytes || this.oooTotal + n > o.oooTotalBytes) {
      this.stats.gaps++;
      this.stop(dir);
      return;
    }
    const list = dir.ooo ?? (dir.ooo = []);
    let i = list.length;
    while (i > 0 && ((list[i - 1].seq - seq) | 0) > 0) i--;
    if (i > 0 && list[i - 1].seq === seq && list[i - 1].data.length >= n) return; // a retransmission
    list.splice(i, 0, { seq, data: Buffer.from(p.buf.subarray(p.appOff, p.appEnd)) });
    dir.oooLen += n;
    this.oooTotal += n;
    this.stats.reordered++;
  }

  /** in-order bytes of a direction: detect its protocol, then parse */
  private feed(p: Packet, dir: Direction, b: Uint8Array, off: number, end: number): void {
    dir.next = (dir.next + (end - off)) >>> 0;
    const out = this.pending;
    if (dir.parser === undefined) {
      if (dir.len === 0) {
        // the direction's first bytes: asked in place
        const chosen = this.detect(dir, b, off, end);
        if (chosen === null) return;
        if (chosen === undefined) {
          if (end - off > DETECT_HOLD) this.stop(dir);
          else dir.append(b, off, end, DETECT_HOLD);
          return;
        }
      } else {
        // bytes held while undecided: asked again with these after them
        dir.append(b, off, end, DETECT_HOLD + (end - off));
        off = end;
        const chosen = this.detect(dir, dir.buf!, 0, dir.len);
        if (chosen === null) return;
        if (chosen === undefined) {
          if (dir.len > DETECT_HOLD) this.stop(dir);
          return;
        }
        this.parseHeld(dir, chosen, out);
      }
    }
    // (parsing the held bytes may have finished or stopped the direction)
    const parser = dir.parser;
    const max = parser == null ? 0 : parser.maxHold;
    while (parser != null && off < end && dir.parser !== null) {
      if (dir.len === 0) {
        // nothing held: the parser reads the packet's bytes in place (a body being skipped is never copied)
        const r = parser.parse(b, off, end, dir, out);
        // (finished with the direction, or not its protocol: no more bytes for it)
        if (r === NOT_MINE || r === DONE) this.stop(dir);
        else if (r > 0) off += r;
        else if (end - off >= max) this.cut(dir);
        else {
          dir.append(b, off, end, max);
          off = end;
        }
        continue;
      }
      // bytes are held: add what fits (never more than maxHold), parse from the held bytes
      const take = Math.min(max - dir.len, end - off);
      dir.append(b, off, off + take, max);
      off += take;
      this.parseHeld(dir, parser, out);
    }
    if (out.length > 0) {
      this.stats.records += out.length;
      if (p.records === null) p.records = out.splice(0);
      else {
        for (let i = 0; i < out.length; i++) p.records.push(out[i]);
        out.length = 0;
      }
    }
  }

  /** parse a direction's held bytes as far as they go; full while the parser still waits for the end of a message: cut */
  private parseHeld(dir: Direction, parser: AppParser, out: AppRecord[]): void {
    while (dir.len > 0 && dir.parser !== null) {
      const r = parser.parse(dir.buf!, 0, dir.len, dir, out);
      if (r === NOT_MINE || r === DONE) {
        this.stop(dir);
        return;
      }
      if (r === NEED_MORE || r === 0) {
        if (dir.len >= parser.maxHold) this.cut(dir);
        return;
      }
      dir.consume(r);
    }
  }

  /** a message larger than its parser's maxHold: counted, and the direction no longer parsed */
  private cut(dir: Direction): void {
    this.stats.cut++;
    this.stop(dir);
  }

  /**
   * pick the direction's parser from its first bytes: null when none (the
   * direction is stopped), undefined while one needs more bytes to tell
   */
  private detect(dir: Direction, b: Uint8Array, off: number, end: number): AppParser | null | undefined {
    let undecided = false;
    for (const parser of this.parsers) {
      const r = parser.detect(b, off, end, dir.fromClient);
      if (r === true) {
        dir.parser = parser;
        return parser;
      }
      if (r === NEED_MORE) undecided = true;
    }
    if (undecided) return undefined;
    this.stop(dir);
    return null;
  }
}
