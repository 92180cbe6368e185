// IP fragment reassembly (IPv4: RFC 791; IPv6: RFC 8200 section 4.5), in
// bounded memory. The decoder hands every fragment here (Layer.Fragment); the
// fragment that completes a datagram is decoded on from the reassembled
// datagram, the others stop at their IP layer.
//
// A datagram is keyed as Linux keys it: IPv4 by (source, destination,
// identification, protocol); IPv6 by (source, destination, identification),
// without the next header, which RFC 8200 lets differ between the fragments
// of one datagram (only the first fragment's counts).
//
// What is accepted follows Linux since 4.19 (net/ipv4/inet_fragment.c
// inet_frag_queue_insert, ip_fragment.c, net/ipv6/reassembly.c), so that netsig
// reassembles what the host it watches reassembles:
// - a fragment that lies inside one run of contiguous fragments already held
//   (an exact or partial duplicate) is dropped, the datagram goes on: the first
//   copy wins;
// - any other overlap discards the whole datagram (RFC 5722 for IPv6; Linux
//   does the same for IPv4): a later fragment of it starts a new datagram;
// - the last fragment (MF=0) fixes the length: a second last fragment with
//   another end, a fragment past the end, or an empty fragment discards the
//   datagram;
// - an IPv4 fragment with MF whose length is not a multiple of 8 is cut to
//   one; such an IPv6 fragment is dropped, and so is an IPv6 fragment ending
//   past 65535 bytes or a first fragment without the whole header chain
//   (RFC 7112): Linux answers those with an ICMPv6 parameter problem;
// - a datagram longer than 65535 bytes (ping of death) is discarded.
// The bounds: datagrams in progress (the oldest is evicted), bytes held
// (likewise), fragments per datagram, and a timeout of 30 s (Linux's
// ipfrag_time) from a datagram's first fragment, on the capture's own clock
// (packet timestamps), so that a replay behaves as the live capture did. Over
// its memory bound Linux refuses new fragments instead; a monitor evicts the
// oldest, so that a flood of incomplete trains does not blind it to the
// datagrams that follow until the flood times out.
// Every fragment that does not end up in a reassembled datagram is counted
// once, under the reason it was dropped, or is still held.

import { ipv6Chain } from "./ipv6";
import { Layer, type Packet } from "./packet";
import { transportLayer } from "./transport";

export interface FragmentLimits {
  /** datagrams in progress at once; the oldest is evicted for a new one (Linux has no count: its memory bound does it) */
  maxDatagrams: number;
  /** bytes held across all datagrams, bookkeeping included (Linux: ipfrag_high_thresh, 4 MiB) */
  maxBytes: number;
  /** fragments of one datagram (an MTU of 1280 cuts 64 KiB into 52) */
  maxFragments: number;
  /** seconds of capture time from a datagram's first fragment (Linux: ipfrag_time, 30 s) */
  timeoutSec: number;
}

export const FRAGMENT_LIMITS: Readonly<FragmentLimits> = Object.freeze({
  maxDatagrams: 1024,
  maxBytes: 4 << 20,
  maxFragments: 64,
  timeoutSec: 30,
});

/** what a held fragment and a datagram cost beyond their bytes (objects, arrays, key), charged to maxBytes */
export const FRAGMENT_OVERHEAD = 128;
export const DATAGRAM_OVERHEAD = 512;

/** fragments dropped (not part of a reassembled datagram), by reason; each fragment is counted once */
export interface FragmentDrops {
  /** its datagram had overlapping fragments (the whole datagram is discarded, RFC 5722) */
  overlap: number;
  /** inside what was already held (an exact or partial duplicate): this fragment only */
  duplicate: number;
  /** the datagram would pass 65535 bytes (ping of death) */
  oversize: number;
  /** lengths that contradict each other (two last fragments, a fragment past the last one's end, an empty fragment), an IPv6 fragment not a multiple of 8 bytes or a first one without its header chain */
  inconsistent: number;
  /** cut by the capture (snap length): this fragment only */
  truncated: number;
  /** not completed within the timeout */
  timeout: number;
  /** evicted for a new datagram: maxDatagrams in progress */
  evicted: number;
  /** evicted to stay within maxBytes */
  memory: number;
  /** more than maxFragments fragments */
  tooMany: number;
}

export function newFragmentDrops(): FragmentDrops {
  return {
    overlap: 0,
    duplicate: 0,
    oversize: 0,
    inconsistent: 0,
    truncated: 0,
    timeout: 0,
    evicted: 0,
    memory: 0,
    tooMany: 0,
  };
}

/** the decoder's counters the defragmenter keeps (DecodeStats has them) */
export interface FragmentCounters {
  /** datagrams reassembled */
  reassembled: number;
  fragmentDrops: FragmentDrops;
}

type Reason = keyof FragmentDrops;

/** one datagram in progress */
class Datagram {
  // the fragments held, in arrival order: where each starts in the datagram's data, and a copy of its bytes
  readonly offs: number[] = [];
  readonly data: Buffer[] = [];
  // Linux's runs of contiguous fragments (what a duplicate must lie inside), in no order
  readonly runStarts: number[] = [];
  readonly runEnds: number[] = [];
  /** the run that holds the fragment reaching furthest */
  lastRun = -1;
  /** the end of the fragment reaching furthest */
  tailEnd = 0;
  /** the furthest end seen; the datagram's length once the last fragment came */
  len = 0;
  lastIn = false;
  /** bytes held (the fragments do not overlap: complete when it equals len) */
  meat = 0;
  /** the first fragment's IP header (IPv6: through its fragment header), once it came */
  header: Buffer | null = null;
  /** IPv6: the next header after the first fragment's fragment header */
  next = 0;
  /** bytes charged to the budget */
  charge = DATAGRAM_OVERHEAD;

  constructor(
    readonly key: string,
    readonly deadline: number,
  ) {}
}

const OK = 0;
const DUP = 1;
const OVERLAP = 2;

export class Defragmenter {
  private readonly datagrams = new Map<string, Datagram>();
  private bytes = 0;
  private held = 0;
  private used = 0;
  readonly limits: Readonly<FragmentLimits>;

  constructor(
    private readonly counters: FragmentCounters,
    limits: Partial<FragmentLimits> = {},
  ) {
    const l = { ...FRAGMENT_LIMITS, ...limits };
    l.maxDatagrams = Math.max(1, l.maxDatagrams);
    l.maxFragments = Math.max(1, l.maxFragments);
    this.limits = l;
  }

  /** datagrams in progress */
  get datagramCount(): number {
    return this.datagrams.size;
  }
  /** bytes held, bookkeeping charges included (at most limits.maxBytes) */
  get bytesHeld(): number {
    return this.bytes;
  }
  /** fragments held in datagrams in progress */
  get fragmentsHeld(): number {
    return this.held;
  }
  /** fragments that went into reassembled datagrams */
  get fragmentsUsed(): number {
    return this.used;
  }

  /**
   * Take one fragment (decoded up to its IP layer: p.l4Off is where its data
   * starts). Returns the layer to decode next: the transport layer of the
   * reassembled datagram when this fragment completed it (p then points at
   * it, p.reassembled is set), else Payload.
   */
  push(p: Packet): Layer {
    const lim = this.limits;
    const drops = this.counters.fragmentDrops;
    const now = p.tsSec + p.tsNsec / 1e9;
    if (this.datagrams.size !== 0) this.expire(now);

    const v4 = p.ipVersion === 4;
    const start = p.l4Off;
    if (!v4 && p.payloadLen === 0) {
      // a jumbogram (RFC 2675) cannot be fragmented
      drops.inconsistent++;
      return Layer.Payload;
    }
    if (p.ipEnd - p.ipOff < p.ipTotalLen) {
      // cut by the snap length: its bytes are not all here
      drops.truncated++;
      return Layer.Payload;
    }
    let offset: number;
    let more: boolean;
    let key: string;
    if (v4) {
      offset = p.fragOffset * 8;
      more = (p.ipFlags & 1) !== 0;
      key = `4 ${p.srcIP} ${p.dstIP} ${p.ipId} ${p.ipProtocol}`;
    } else {
      offset = p.fragStart;
      more = p.fragMore;
      key = `6 ${p.srcIP} ${p.dstIP} ${p.fragId}`;
    }
    let end = offset + (p.ipEnd - start);
    if (v4) {
      if (more) end &= ~7; // Linux cuts a non-last fragment to a multiple of 8 bytes
    } else if (end > 65535) {
      drops.oversize++;
      return Layer.Payload;
    } else if ((more && (end & 7) !== 0) || (offset === 0 && !headerChainComplete(p.buf, p.l4Protocol, start, p.ipEnd))) {
      drops.inconsistent++;
      return Layer.Payload;
    }

    let d = this.datagrams.get(key);
    if (d !== undefined && now >= d.deadline) {
      this.discard(d, "timeout");
      d = undefined;
    }
    const fresh = d === undefined;
    if (d === undefined) d = new Datagram(key, now + lim.timeoutSec);

    // the lengths (Linux checks them before the overlaps)
    if (!more) {
      if (end < d.len || (d.lastIn && end !== d.len)) return this.fail(d, fresh, "inconsistent");
      d.lastIn = true;
      d.len = end;
    } else if (end > d.len) {
      if (d.lastIn) return this.fail(d, fresh, "inconsistent");
      d.len = end;
    }
    if (end === offset) return this.fail(d, fresh, "inconsistent");
    if (v4 && end > 65535 - 20) return this.fail(d, fresh, "oversize");

    switch (insertRun(d, offset, end)) {
      case DUP:
        drops.duplicate++;
        return Layer.Payload;
      case OVERLAP:
        return this.fail(d, fresh, "overlap");
      default:
        break;
    }
    if (d.offs.length >= lim.maxFragments) return this.fail(d, fresh, "tooMany");

    // keep it: a copy of its bytes (p.buf is the capture's, reused), and the first fragment's header
    const dlen = end - offset;
    const copy = Buffer.allocUnsafeSlow(dlen);
    p.buf.copy(copy, 0, start, start + dlen);
    let charge = dlen + FRAGMENT_OVERHEAD;
    if (offset === 0) {
      const h = Buffer.allocUnsafeSlow(start - p.ipOff);
      p.buf.copy(h, 0, p.ipOff, start);
      d.header = h;
      d.next = p.l4Protocol;
      charge += h.length;
    }
    if (fresh) {
      while (this.datagrams.size >= lim.maxDatagrams) this.evictOldest("evicted");
      this.datagrams.set(key, d);
      this.bytes += d.charge;
    }
    d.offs.push(offset);
    d.data.push(copy);
    d.meat += dlen;
    d.charge += charge;
    this.bytes += charge;
    this.held++;
    // within the byte budget: the oldest datagrams go first, this one last
    while (this.bytes > lim.maxBytes) {
      const oldest = this.datagrams.values().next().value as Datagram;
      if (oldest === d) {
        this.discard(d, "memory");
        return Layer.Payload;
      }
      this.discard(oldest, "memory");
    }

    if (d.lastIn && d.header !== null && d.meat === d.len) return this.reassemble(p, d);
    return Layer.Payload;
  }

  /** forget every datagram in progress (counted as timed out) */
  clear(): void {
    for (const d of this.datagrams.values()) this.discard(d, "timeout");
  }

  /** the datagrams whose time is up, oldest first (the map is in order of creation) */
  private expire(now: number): void {
    for (const d of this.datagrams.values()) {
      if (now < d.deadline) break;
      this.discard(d, "timeout");
    }
  }

  private evictOldest(reason: Reason): void {
    this.discard(this.datagrams.values().next().value as Datagram, reason);
  }

  /** drop a datagram in progress and its fragments */
  private discard(d: Datagram, reason: Reason): void {
    this.counters.fragmentDrops[reason] += d.offs.length;
    this.held -= d.offs.length;
    this.bytes -= d.charge;
    this.datagrams.delete(d.key);
  }

  /** drop this fragment and, unless it would have started it, its datagram */
  private fail(d: Datagram, fresh: boolean, reason: Reason): Layer {
    if (!fresh) this.discard(d, reason);
    this.counters.fragmentDrops[reason]++;
    return Layer.Payload;
  }

  /** the datagram is complete: build it and point the packet at it */
  private reassemble(p: Packet, d: Datagram): Layer {
    const n = d.offs.length;
    this.held -= n;
    this.bytes -= d.charge;
    this.datagrams.delete(d.key);
    const h = d.header as Buffer;
    const total = h.length + d.len;
    const v4 = p.ipVersion === 4;
    // IPv4: the whole datagram; IPv6: the payload length (after the fixed header, less the fragment header)
    if ((v4 ? total : total - 48) > 65535) {
      this.counters.fragmentDrops.oversize += n;
      return Layer.Payload;
    }
    const out = Buffer.allocUnsafe(total);
    h.copy(out, 0);
    // no overlap was kept and the bytes add up to the length: the fragments tile the data
    for (let i = 0; i < n; i++) d.data[i].copy(out, h.length + d.offs[i]);
    if (v4) {
      out[2] = total >> 8;
      out[3] = total & 0xff;
      out[6] &= 0x40; // DF stays; MF and the offset go
      out[7] = 0;
      ipv4Checksum(out, h.length);
    } else {
      const payload = total - 40;
      out[4] = payload >> 8;
      out[5] = payload & 0xff;
      // the fragment header stays, as an atomic fragment (offset 0, M=0)
      out[h.length - 6] = 0;
      out[h.length - 5] = 0;
    }
    this.used += n;
    this.counters.reassembled++;
    p.reassembled = true;
    p.fragmentCount = n;
    p.buf = out;
    p.start = 0;
    p.ipOff = 0;
    p.l4Off = h.length;
    p.ipEnd = total;
    p.end = total;
    if (v4) return transportLayer(p.ipProtocol);
    return ipv6Chain(p, d.next, h.length);
  }
}

/**
 * Where [offset, end) goes among the datagram's runs, as Linux's
 * inet_frag_queue_insert decides: past the furthest fragment it extends the
 * last run (or starts one after a gap) unless it starts inside; before that,
 * it is a duplicate when it lies inside one run, an overlap when it touches
 * one, else a run of its own.
 */
function insertRun(d: Datagram, offset: number, end: number): number {
  const starts = d.runStarts;
  const ends = d.runEnds;
  if (starts.length === 0) {
    starts.push(offset);
    ends.push(end);
    d.lastRun = 0;
    d.tailEnd = end;
    return OK;
  }
  if (d.tailEnd < end) {
    if (offset < d.tailEnd) return OVERLAP;
    if (offset === d.tailEnd) ends[d.lastRun] = end;
    else {
      d.lastRun = starts.length;
      starts.push(offset);
      ends.push(end);
    }
    d.tailEnd = end;
    return OK;
  }
  for (let i = 0; i < starts.length; i++) {
    if (end <= starts[i] || offset >= ends[i]) continue;
    return offset >= starts[i] && end <= ends[i] ? DUP : OVERLAP;
  }
  starts.push(offset);
  ends.push(end);
  return OK;
}

/**
 * Does an IPv6 first fragment hold its whole header chain, through the
 * transport header (RFC 7112; Linux's ipv6_frag_thdr_truncated)? `next` is
 * the header after the fragment header, at `off`.
 */
function headerChainComplete(b: Buffer, next: number, off: number, end: number): boolean {
  for (let n = 0; n < 16; n++) {
    switch (next) {
      case 0:
      case 43:
      case 60:
      case 135:
      case 139:
      case 140:
        if (off + 2 > end) return false;
        next = b[off];
        off += (b[off + 1] + 1) * 8;
        continue;
      case 51:
        if (off + 2 > end) return false;
        next = b[off];
        off += (b[off + 1] + 2) * 4;
        continue;
      case 44:
        if (off + 8 > end) return false;
        next = b[off];
        off += 8;
        continue;
      case 59:
        return true;
      case 6:
        return off + 20 <= end;
      case 17:
      case 58:
        return off + 8 <= end;
      default:
        return off + 1 <= end;
    }
  }
  return true;
}

/** write an IPv4 header's checksum (its field zeroed first) */
function ipv4Checksum(b: Buffer, hlen: number): void {
  b[10] = 0;
  b[11] = 0;
  let sum = 0;
  for (let i = 0; i < hlen; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  b[10] = c >> 8;
  b[11] = c & 0xff;
}
