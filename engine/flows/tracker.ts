// Flow stage: follows TCP flows across packets and runs the application
// parsers (parser.ts) over each direction's reassembled bytes, attaching the
// records they complete (types/records.ts) to the packet that completed them.
//
// First cut (the lead's skeleton): in-order reassembly only (a gap stops the
// direction), a plain Map of flows with a hard cap, no flow events yet.

import { Layer, type Packet, TCP_FIN, TCP_RST, TCP_SYN, TCP_ACK } from "../decode/packet";
import type { AppRecord } from "../types/records";
import { type AppParser, DONE, NEED_MORE, NOT_MINE, type StreamDirection } from "../types/parser";
import { APP_PARSERS } from "./parsers";

export interface FlowStats {
  tcpFlows: number;
  /** flows not followed because the table was full */
  tableFull: number;
  /** directions whose parser stopped at a gap in the sequence numbers */
  gaps: number;
  /** messages cut because they exceeded the parser's maxHold */
  cut: number;
  records: number;
}

class Direction implements StreamDirection {
  state: unknown = undefined;
  /** the next sequence number expected (-1: not known yet) */
  next = -1;
  /** unconsumed bytes */
  buf: Buffer | null = null;
  len = 0;
  /** undefined: not detected yet; null: no parser (stop feeding) */
  parser: AppParser | null | undefined = undefined;
  /** a FIN was seen from this side */
  fin = false;

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

  stop(): void {
    this.parser = null;
    this.buf = null;
    this.len = 0;
  }
}

class Flow {
  constructor(
    readonly client: Direction,
    readonly server: Direction,
  ) {}
}

export class FlowTracker {
  readonly stats: FlowStats = { tcpFlows: 0, tableFull: 0, gaps: 0, cut: 0, records: 0 };
  private readonly flows = new Map<string, Flow>();

  constructor(
    private readonly parsers: readonly AppParser[] = APP_PARSERS,
    private readonly maxFlows = 65536,
  ) {}

  /** follow one decoded packet; attaches the records it completed to p.records */
  track(p: Packet): void {
    if (p.last !== Layer.TCP || p.malformed !== 0) return;
    const a = p.srcIP + "|" + p.srcPort;
    const b = p.dstIP + "|" + p.dstPort;
    const key = a < b ? a + "|" + b : b + "|" + a;
    let f = this.flows.get(key);
    const flags = p.tcpFlags;
    if (f === undefined) {
      if (flags & TCP_RST) return;
      if (this.flows.size >= this.maxFlows) {
        this.stats.tableFull++;
        return;
      }
      // the originator: a SYN's sender (a SYN-ACK's receiver), else the first packet's sender
      const synAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      const fwd = new Direction(p.srcIP, p.dstIP, p.srcPort, p.dstPort, !synAck);
      const rev = new Direction(p.dstIP, p.srcIP, p.dstPort, p.srcPort, synAck);
      f = synAck ? new Flow(rev, fwd) : new Flow(fwd, rev);
      this.flows.set(key, f);
      this.stats.tcpFlows++;
    }
    const dir = f.client.src === p.srcIP && f.client.srcPort === p.srcPort ? f.client : f.server;
    if (flags & TCP_SYN) dir.next = (p.tcpSeq + 1) >>> 0;
    const n = p.appEnd - p.appOff;
    if (n > 0 && dir.parser !== null) this.data(p, dir, n);
    if (flags & TCP_FIN) dir.fin = true;
    if (flags & TCP_RST || (f.client.fin && f.server.fin)) this.flows.delete(key);
  }

  private data(p: Packet, dir: Direction, n: number): void {
    let off = p.appOff;
    const seq = p.tcpSeq;
    if (dir.next === -1) dir.next = seq;
    const d = (seq - dir.next) | 0;
    if (d > 0) {
      // a gap: what follows cannot be parsed in order
      this.stats.gaps++;
      dir.stop();
      return;
    }
    if (d < 0) {
      if (-d >= n) return; // a retransmission of bytes already seen
      off += -d;
    }
    dir.next = (dir.next + (p.appEnd - off)) >>> 0;
    if (dir.parser === undefined && this.detect(p.buf, off, p.appEnd, dir) === null) return;
    const parser = dir.parser as AppParser;
    const out: AppRecord[] = [];
    if (dir.len === 0) {
      // nothing held: parse the packet's bytes where they are, and hold only what is left
      // (a hello or a header block in one segment is never copied; a large segment is
      // not copied to read its first bytes)
      const end = p.appEnd;
      for (;;) {
        const r = parser.parse(p.buf, off, end, dir, out);
        if (r === NOT_MINE || r === DONE) {
          dir.stop();
          off = end;
          break;
        }
        if (r === NEED_MORE || r === 0) break;
        off += r;
        if (off >= end) break;
      }
      if (off < end && !dir.append(p.buf, off, end, parser.maxHold)) {
        this.stats.cut++;
        dir.stop();
      }
    } else if (!dir.append(p.buf, off, p.appEnd, parser.maxHold)) {
      this.stats.cut++;
      dir.stop();
    } else {
      for (;;) {
        const r = parser.parse(dir.buf!, 0, dir.len, dir, out);
        if (r === NOT_MINE || r === DONE) {
          dir.stop();
          break;
        }
        if (r === NEED_MORE || r === 0) break;
        dir.consume(r);
        if (dir.len === 0) break;
      }
    }
    if (out.length > 0) {
      this.stats.records += out.length;
      if (p.records === null) p.records = out;
      else p.records.push(...out);
    }
  }

  /** pick the direction's parser from its first bytes; null when none (the direction is then ignored) */
  private detect(b: Uint8Array, off: number, end: number, dir: Direction): AppParser | null {
    for (const parser of this.parsers) {
      const r = parser.detect(b, off, end, dir.fromClient);
      if (r === true) {
        dir.parser = parser;
        return parser;
      }
    }
    dir.stop();
    return null;
  }
}
