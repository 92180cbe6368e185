// Flow stage: follows TCP flows across packets and runs the application
// parsers (parser.ts) over each direction's reassembled bytes, attaching the
// records they complete (types/records.ts) to the packet that completed them.
//
// First cut (the lead's skeleton): in-order reassembly only (a gap stops the
// direction), a plain Map of flows with a hard cap, no flow events yet.

import { Layer, type Packet, TCP_FIN, TCP_RST, TCP_SYN, TCP_ACK } from "../decode/packet";
import type { AppRecord } from "../types/records";
import { type AppParser, NEED_MORE, NOT_MINE, type StreamDirection } from "../types/parser";
import { APP_PARSERS } from "./parsers";

/** the most bytes a direction holds while a parser needs more of them to tell whether they are its own */
const DETECT_HOLD = 64;

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
  peer: Direction | null = null;
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
  ) {
    client.peer = server;
    server.peer = client;
  }
}

export class FlowTracker {
  readonly stats: FlowStats = { tcpFlows: 0, tableFull: 0, gaps: 0, cut: 0, records: 0 };
  private readonly flows = new Map<string, Flow>();
  /** the records of the packet being tracked (reused: most packets complete none) */
  private readonly out: AppRecord[] = [];

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
    let end = p.appEnd;
    dir.next = (dir.next + (end - off)) >>> 0;
    let buf: Buffer = p.buf;
    if (dir.parser === undefined) {
      if (dir.len > 0) {
        // bytes held while detection needed more: detect (and parse) over them and these
        buf = Buffer.concat([dir.buf!.subarray(0, dir.len), buf.subarray(off, end)]);
        off = 0;
        end = buf.length;
        dir.len = 0;
      }
      const found = this.detect(buf, off, end, dir);
      if (found === null) return;
      if (found === undefined) {
        if (!dir.append(buf, off, end, DETECT_HOLD)) dir.stop();
        return;
      }
    }
    const parser = dir.parser as AppParser;
    const max = parser.maxHold;
    const out = this.out;
    while (off < end && dir.parser !== null) {
      if (dir.len === 0) {
        // nothing held: the parser reads the packet's bytes in place (a body being skipped is never copied)
        const r = parser.parse(buf, off, end, dir, out);
        if (r === NOT_MINE) dir.stop();
        else if (r > 0) off += r;
        else if (end - off >= max) this.cut(dir);
        else {
          dir.append(buf, off, end, max);
          off = end;
        }
        continue;
      }
      // bytes are held: add what fits (never more than maxHold), parse from the held bytes
      const take = Math.min(max - dir.len, end - off);
      dir.append(buf, off, off + take, max);
      off += take;
      for (;;) {
        const r = parser.parse(dir.buf!, 0, dir.len, dir, out);
        if (r === NOT_MINE) {
          dir.stop();
          break;
        }
        if (r === NEED_MORE || r === 0) {
          // full, and the parser still waits for the end of its message: cut
          if (dir.len >= max) this.cut(dir);
          break;
        }
        dir.consume(r);
        if (dir.len === 0) break;
      }
    }
    if (out.length > 0) {
      this.stats.records += out.length;
      if (p.records === null) p.records = out.splice(0);
      else {
        p.records.push(...out);
        out.length = 0;
      }
    }
  }

  /** a message larger than its parser's maxHold: counted, and the direction no longer parsed */
  private cut(dir: Direction): void {
    this.stats.cut++;
    dir.stop();
  }

  /**
   * pick the direction's parser from its first bytes: null when none (the
   * direction is then ignored), undefined while one needs more bytes to tell
   */
  private detect(b: Uint8Array, off: number, end: number, dir: Direction): AppParser | null | undefined {
    let more = false;
    for (const parser of this.parsers) {
      const r = parser.detect(b, off, end, dir.fromClient);
      if (r === true) {
        dir.parser = parser;
        return parser;
      }
      if (r === NEED_MORE) more = true;
    }
    if (more && end - off < DETECT_HOLD) return undefined;
    dir.stop();
    return null;
  }
}
