// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message is prefixed by a
// 2-byte length, and a message (or even its length prefix) may be split across
// segments. Segments of one direction of a flow are put back in sequence order
// here, with bounded memory: at most one message (2 + 65535 bytes) per flow
// direction and a capped number of flows, the least recently used evicted first.

import { TCP_FIN, TCP_RST, TCP_SYN, type Packet } from "./packet";

interface FlowState {
  /** next sequence number expected */
  nextSeq: number;
  /** bytes of the length prefix seen so far (0, 1 or 2) and its value */
  prefixLen: number;
  msgLen: number;
  /** the current, incomplete message, sized once its length is known */
  pending: Buffer | null;
  pendingLen: number;
}

function newFlow(nextSeq: number): FlowState {
  return { nextSeq, prefixLen: 0, msgLen: 0, pending: null, pendingLen: 0 };
}

export interface TcpDnsStats {
  flowsEvicted: number;
  /** bytes skipped because a segment was missing (gap) */
  gapResets: number;
  outOfOrderDropped: number;
}

export class TcpDnsReassembler {
  private flows = new Map<string, FlowState>();
  readonly stats: TcpDnsStats = { flowsEvicted: 0, gapResets: 0, outOfOrderDropped: 0 };

  /** bytes held in incomplete messages across all flows */
  private heldBytes = 0;

  constructor(
    private readonly maxFlows = 4096,
    private readonly maxHeldBytes = 16 << 20,
  ) {}

  get flowCount(): number {
    return this.flows.size;
  }
  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Feed one TCP segment (its payload is buf[p.appOff, p.appEnd)). Returns the
   * complete DNS messages (each a Buffer holding exactly one message, without
   * the length prefix) that this segment completed, or null.
   */
  push(p: Packet): Buffer[] | null {
    const key = p.srcIP + "|" + p.srcPort + ">" + p.dstIP + "|" + p.dstPort;
    let st = this.flows.get(key);
    const flags = p.tcpFlags;
    const payloadLen = p.appEnd - p.appOff;
    let seq = p.tcpSeq;
    if (flags & TCP_SYN) {
      // a new connection: data starts after the SYN's sequence number
      if (st) this.drop(st);
      st = newFlow((seq + 1) >>> 0);
      this.touch(key, st);
      if (payloadLen === 0) return null;
      seq = (seq + 1) >>> 0;
    }
    if (payloadLen === 0) {
      if (st && flags & (TCP_FIN | TCP_RST)) this.remove(key, st);
      return null;
    }
    if (!st) {
      // joined mid-stream (capture started late): assume this segment starts a message
      st = newFlow(seq);
    }
    this.touch(key, st);

    let off = p.appOff;
    const end = p.appEnd;
    const delta = (seq - st.nextSeq) | 0; // signed distance in sequence space
    if (delta < 0) {
      // retransmission: skip what was already taken
      if (-delta >= payloadLen) {
        this.stats.outOfOrderDropped++;
        return null;
      }
      off += -delta;
    } else if (delta > 0) {
      // a segment is missing: the message being built can never complete
      this.stats.gapResets++;
      this.drop(st);
    }
    st.nextSeq = (seq + payloadLen) >>> 0;

    let out: Buffer[] | null = null;
    const buf = p.buf;
    while (off < end) {
      if (st.prefixLen === 0 && end - off >= 2) {
        // fast path: whole messages inside this segment need no copy
        const len = (buf[off] << 8) | buf[off + 1];
        if (off + 2 + len <= end) {
          (out ??= []).push(buf.subarray(off + 2, off + 2 + len));
          off += 2 + len;
          continue;
        }
      }
      if (st.prefixLen < 2) {
        st.msgLen = (st.msgLen << 8) | buf[off++];
        if (++st.prefixLen < 2) continue;
        st.pending = Buffer.allocUnsafe(st.msgLen);
        st.pendingLen = 0;
        this.heldBytes += st.msgLen;
      }
      const pending = st.pending as Buffer;
      const take = Math.min(st.msgLen - st.pendingLen, end - off);
      buf.copy(pending, st.pendingLen, off, off + take);
      st.pendingLen += take;
      off += take;
      if (st.pendingLen === st.msgLen) {
        (out ??= []).push(pending);
        this.drop(st);
      }
    }
    if (flags & (TCP_FIN | TCP_RST)) this.remove(key, st);
    else this.enforceBudget();
    return out;
  }

  /** forget the incomplete message of a flow */
  private drop(st: FlowState): void {
    if (st.pending) this.heldBytes -= st.msgLen;
    st.pending = null;
    st.pendingLen = 0;
    st.prefixLen = 0;
    st.msgLen = 0;
  }

  private remove(key: string, st: FlowState): void {
    this.drop(st);
    this.flows.delete(key);
  }

  private evictOldest(): void {
    const oldest = this.flows.entries().next().value as [string, FlowState];
    this.remove(oldest[0], oldest[1]);
    this.stats.flowsEvicted++;
  }

  private enforceBudget(): void {
    while (this.heldBytes > this.maxHeldBytes && this.flows.size > 1) this.evictOldest();
  }

  private touch(key: string, st: FlowState): void {
    // Map keeps insertion order: re-inserting makes it the most recently used
    this.flows.delete(key);
    this.flows.set(key, st);
    if (this.flows.size > this.maxFlows) this.evictOldest();
  }
}
