// Structure-aware mutators for the fuzz targets.
//
// A mutation is a list of Ops, each four natural numbers [kind, a, b, c] that
// a mutator interprets against the structure of its input (pcap records,
// pcapng blocks, link/IP/transport headers, DNS counts/names/pointers, YAML
// lines and scalars) or as plain byte edits. Ops are fast-check values, so a
// failing input shrinks towards fewer ops with smaller numbers, and the same
// seed always gives the same inputs.

import fc from "fast-check";

export type Op = [number, number, number, number];

/** values that tend to sit on a boundary of some length or count field */
export const INTERESTING = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 19, 20, 24, 31, 32, 40, 53, 60, 63, 64, 127, 128, 191, 192, 253, 254, 255, 256, 511, 512, 1023,
  1024, 1500, 4095, 4096, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff, 0x10000, 0x10001, 262144, 262145, 0xffffff, 0x1000000, 0x7fffffff,
  0x80000000, 0xfffffffe, 0xffffffff,
];
export const interesting = (i: number): number => INTERESTING[i % INTERESTING.length];

/** an arbitrary list of ops with kinds below `kinds` */
export function opsArb(kinds: number, maxLength = 6): fc.Arbitrary<Op[]> {
  return fc.array(fc.tuple(fc.nat(kinds - 1), fc.nat(), fc.nat(), fc.nat()), { maxLength });
}

// ---- bytes

export const BYTE_OPS = 10;

/** one byte-level edit of buf[lo, hi) (flip, set, insert, delete, truncate, duplicate); returns the new buffer */
export function byteOp(buf: Buffer, [kind, a, b, c]: Op, lo = 0, hi = buf.length): Buffer {
  const n = hi - lo;
  const at = lo + (n > 0 ? a % n : 0);
  const at1 = lo + (a % (n + 1));
  switch (kind % BYTE_OPS) {
    case 0: {
      if (n === 0) return buf;
      const o = Buffer.from(buf);
      o[at] ^= 1 << (b % 8);
      return o;
    }
    case 1: {
      if (n === 0) return buf;
      const o = Buffer.from(buf);
      o[at] = interesting(b) & 0xff;
      return o;
    }
    case 2: {
      if (n < 2) return buf;
      const o = Buffer.from(buf);
      const p = lo + (a % (n - 1));
      o.writeUInt16BE(interesting(b) & 0xffff, p);
      return o;
    }
    case 3: {
      if (n < 4) return buf;
      const o = Buffer.from(buf);
      const p = lo + (a % (n - 3));
      const v = interesting(b) >>> 0;
      if (c & 1) o.writeUInt32LE(v, p);
      else o.writeUInt32BE(v, p);
      return o;
    }
    case 4: {
      const len = 1 + (c % 64);
      return Buffer.concat([buf.subarray(0, at1), Buffer.alloc(len, b & 0xff), buf.subarray(at1)]);
    }
    case 5: {
      const len = 1 + (c % 64);
      return Buffer.concat([buf.subarray(0, at1), buf.subarray(Math.min(hi, at1 + len))]);
    }
    case 6:
      return buf.subarray(0, at1);
    case 7: {
      if (n === 0) return buf;
      const src = buf.subarray(at, Math.min(hi, at + 1 + (c % 256)));
      const dst = lo + (b % (n + 1));
      return Buffer.concat([buf.subarray(0, dst), src, buf.subarray(dst)]);
    }
    case 8: {
      if (n === 0) return buf;
      const o = Buffer.from(buf);
      o[at] = (o[at] + (b % 33) - 16) & 0xff;
      return o;
    }
    default: {
      // a run of random-looking bytes from the numbers
      if (n === 0) return buf;
      const o = Buffer.from(buf);
      let x = (b ^ (c << 7)) >>> 0 || 1;
      for (let i = at; i < Math.min(hi, at + 1 + (c % 32)); i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        o[i] = x & 0xff;
      }
      return o;
    }
  }
}

/** a TCP segment as the stream targets (dnstcp, http) build their captures from */
export interface TcpSeg {
  seq: number;
  flags: number;
  data: Buffer;
}

/**
 * The mutations of a list of TCP segments the stream targets share, by `m`
 * (0-4): reorder two, retransmit one, drop one (a gap), move a sequence
 * number (overlap, wrap), set other flags (from `flags`). Edits `out` in place.
 */
export function tcpSegOp(out: TcpSeg[], m: number, i: number, j: number, b: number, c: number, flags: readonly number[]): void {
  switch (m) {
    case 0:
      [out[i], out[j]] = [out[j], out[i]];
      break; // reorder
    case 1:
      out.splice(j, 0, { ...out[i] });
      break; // retransmission
    case 2:
      out.splice(i, 1);
      break; // a gap
    case 3:
      out[i].seq = b & 1 ? out[i].seq + (c % 64) - 32 : interesting(c);
      break; // overlap, wrap
    default:
      out[i].flags = flags[b % flags.length];
      break; // SYN, FIN, RST, none
  }
}

// ---- DNS messages

/** offset after the name at off (labels and at most one pointer), no validation; -1 past the end */
function skipName(m: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= m.length) return -1;
    const l = m[off];
    if (l === 0) return off + 1;
    if ((l & 0xc0) === 0xc0) return off + 2 <= m.length ? off + 2 : -1;
    off += 1 + (l & 0x3f);
  }
  return -1;
}

interface DnsLayout {
  names: number[];
  rdlens: number[];
  types: number[];
}

/** where the names, types and RDLENGTHs of a DNS message are, as far as it parses */
export function dnsLayout(m: Buffer): DnsLayout {
  const out: DnsLayout = { names: [], rdlens: [], types: [] };
  if (m.length < 12) return out;
  const counts = [m.readUInt16BE(4), m.readUInt16BE(6) + m.readUInt16BE(8) + m.readUInt16BE(10)];
  let off = 12;
  for (let i = 0; i < counts[0] && i < 64; i++) {
    out.names.push(off);
    off = skipName(m, off);
    if (off < 0 || off + 4 > m.length) return out;
    out.types.push(off);
    off += 4;
  }
  for (let i = 0; i < counts[1] && i < 64; i++) {
    out.names.push(off);
    off = skipName(m, off);
    if (off < 0 || off + 10 > m.length) return out;
    out.types.push(off);
    out.rdlens.push(off + 8);
    const t = m.readUInt16BE(off);
    const rd = off + 10;
    // names inside RDATA of the name-carrying types
    if (t === 2 || t === 5 || t === 12 || t === 39 || t === 6) out.names.push(rd);
    if (t === 15) out.names.push(rd + 2);
    if (t === 33) out.names.push(rd + 6);
    off = rd + m.readUInt16BE(off + 8);
  }
  return out;
}

const RR_TYPES = [
  1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 35, 39, 41, 43, 44, 46, 47, 48, 50, 51, 52, 64, 65, 99, 250, 251, 252, 255, 256, 257, 0, 0xffff,
];
export const DNS_OPS = 9;

/** one DNS-structure edit: counts, label lengths, compression pointers (self, forward, loops), types, RDLENGTH */
export function dnsOp(m: Buffer, op: Op): Buffer {
  const [kind, a, b, c] = op;
  if (m.length < 12) return byteOp(m, op);
  const L = dnsLayout(m);
  const o = Buffer.from(m);
  const pick = (xs: number[]) => (xs.length ? xs[a % xs.length] : -1);
  switch (kind % DNS_OPS) {
    case 0:
      o.writeUInt16BE(interesting(b) & 0xffff, 4 + 2 * (c % 4));
      return o; // a count
    case 1: {
      // a label length
      const p = pick(L.names);
      if (p < 0 || p >= o.length) return o;
      o[p] = [63, 64, 0x40, 0x80, 0xbf, 0, 1, 255][b % 8] ?? 63;
      return o;
    }
    case 2: {
      // a compression pointer: to itself, forward, to the header, just before
      const p = pick(L.names);
      if (p < 0 || p + 2 > o.length) return o;
      const targets = [p, p + 2, o.length, 12, p - 1, 0, 0x3fff, L.names[(a + 1) % L.names.length]];
      const t = targets[b % targets.length] & 0x3fff;
      o[p] = 0xc0 | (t >> 8);
      o[p + 1] = t & 0xff;
      return o;
    }
    case 3: {
      // two names pointing at each other (a loop through two pointers)
      if (L.names.length < 2) return o;
      const p = L.names[a % L.names.length],
        q = L.names[(a + 1 + b) % L.names.length];
      if (p + 2 > o.length || q + 2 > o.length) return o;
      o[p] = 0xc0 | (q >> 8);
      o[p + 1] = q & 0xff;
      o[q] = 0xc0 | (p >> 8);
      o[q + 1] = p & 0xff;
      return o;
    }
    case 4: {
      const p = pick(L.types);
      if (p < 0) return o;
      o.writeUInt16BE(RR_TYPES[b % RR_TYPES.length], p);
      return o;
    }
    case 5: {
      const p = pick(L.rdlens);
      if (p < 0) return o;
      o.writeUInt16BE(interesting(b) & 0xffff, p);
      return o;
    }
    case 6: {
      // a long label (or many) spliced into a name
      const p = pick(L.names);
      if (p < 0) return o;
      const label = Buffer.alloc(64, 0x61);
      label[0] = 63;
      const n = 1 + (c % 6);
      return Buffer.concat([o.subarray(0, p), ...Array(n).fill(label), o.subarray(p)]);
    }
    case 7:
      o.writeUInt16BE(interesting(b) & 0xffff, 2);
      return o; // flags, opcode, rcode
    default:
      return byteOp(o, [c, a, b, c]);
  }
}

// ---- link / IP / transport headers of one packet

/** offset of the IP header in a frame of this link type, or -1 */
export function ipOffset(frame: Buffer, linkType: number): number {
  switch (linkType) {
    case 1: {
      let off = 12;
      while (off + 2 <= frame.length) {
        const et = frame.readUInt16BE(off);
        if (et === 0x8100 || et === 0x88a8 || et === 0x9100) {
          off += 4;
          continue;
        }
        return et === 0x0800 || et === 0x86dd ? off + 2 : -1;
      }
      return -1;
    }
    case 113:
      return 16;
    case 276:
      return 20;
    case 0:
    case 108:
      return 4;
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return 0;
    default:
      return -1;
  }
}

export interface PacketLayout {
  ip: number;
  v: number;
  l4: number;
  proto: number;
  app: number;
}

export function packetLayout(f: Buffer, linkType: number): PacketLayout | null {
  const ip = ipOffset(f, linkType);
  if (ip < 0 || ip >= f.length) return null;
  const v = f[ip] >> 4;
  let l4 = -1,
    proto = -1;
  if (v === 4 && ip + 20 <= f.length) {
    l4 = ip + (f[ip] & 15) * 4;
    proto = f[ip + 9];
  } else if (v === 6 && ip + 40 <= f.length) {
    proto = f[ip + 6];
    l4 = ip + 40;
    for (let i = 0; i < 8 && [0, 43, 60, 44].includes(proto) && l4 + 8 <= f.length; i++) {
      proto = f[l4];
      l4 += proto === 44 ? 8 : (f[l4 + 1] + 1) * 8;
    }
  } else return { ip, v, l4: -1, proto: -1, app: -1 };
  let app = -1;
  if (proto === 17 && l4 + 8 <= f.length) app = l4 + 8;
  if (proto === 6 && l4 + 20 <= f.length) app = l4 + (f[l4 + 12] >> 4) * 4;
  return { ip, v, l4, proto, app };
}

const PROTOS = [0, 1, 6, 17, 41, 43, 44, 50, 51, 58, 59, 60, 135, 139, 140, 255];
const PORTS = [53, 5353, 5355, 0, 65535];
export const PACKET_OPS = 12;

/** one header-aware edit of a frame: IP lengths, IHL, fragments, next headers, TCP offset/flags/seq, UDP length, ports, DNS */
export function packetOp(f: Buffer, linkType: number, op: Op): Buffer {
  const [kind, a, b, c] = op;
  const L = packetLayout(f, linkType);
  if (!L) return byteOp(f, op);
  const o = Buffer.from(f);
  const ip = L.ip;
  const in_ = (p: number, n: number) => p >= 0 && p + n <= o.length;
  switch (kind % PACKET_OPS) {
    case 0:
      if (in_(ip, 1)) o[ip] = o[ip] & 0xf0 ? [0x45, 0x46, 0x4f, 0x44, 0x40, 0x60, 0x65, 0x00][b % 8] : 0x45;
      return o; // version/IHL
    case 1: // total length / payload length
      if (L.v === 4 && in_(ip, 4)) o.writeUInt16BE(interesting(b) & 0xffff, ip + 2);
      if (L.v === 6 && in_(ip, 6)) o.writeUInt16BE(interesting(b) & 0xffff, ip + 4);
      return o;
    case 2: // fragments: MF, offsets; IPv6: a fragment header
      if (L.v === 4 && in_(ip, 8)) o.writeUInt16BE([0x2000, 0x0001, 0x1fff, 0x3fff, 0x4000, 0x0000, 0x2001][b % 7], ip + 6);
      if (L.v === 6 && in_(ip, 40)) {
        const fh = Buffer.from([o[ip + 6], 0, (b >> 8) & 0xff, (b & 0xf9) | (c & 1), 0, 0, 0, 1]);
        o[ip + 6] = 44;
        return Buffer.concat([o.subarray(0, ip + 40), fh, o.subarray(ip + 40)]);
      }
      return o;
    case 3: // the protocol / next header
      if (L.v === 4 && in_(ip, 10)) o[ip + 9] = PROTOS[b % PROTOS.length];
      if (L.v === 6 && in_(ip, 7)) o[ip + 6] = PROTOS[b % PROTOS.length];
      return o;
    case 4: {
      // an IPv6 extension header chain (or IPv4 options) inserted
      if (L.v === 6 && in_(ip, 40)) {
        const hs: Buffer[] = [];
        let next = o[ip + 6];
        const n = 1 + (c % 18);
        for (let i = 0; i < n; i++) {
          const t = [0, 43, 60, 51, 135][(b + i) % 5];
          const h = Buffer.alloc(8);
          h[0] = next;
          h[1] = i === 0 ? a % 3 : 0;
          next = t;
          hs.unshift(h);
        }
        o[ip + 6] = next;
        return Buffer.concat([o.subarray(0, ip + 40), ...hs, o.subarray(ip + 40)]);
      }
      if (L.v === 4 && in_(ip, 20)) {
        const words = 1 + (c % 10);
        const opts = Buffer.alloc(words * 4, [1, 7, 0x44, 0x83, 0x94][b % 5]);
        opts[1] = interesting(a) & 0xff;
        o[ip] = 0x40 | Math.min(15, (o[ip] & 15) + words);
        return Buffer.concat([o.subarray(0, ip + 20), opts, o.subarray(ip + 20)]);
      }
      return o;
    }
    case 5: // TCP data offset
      if (L.proto === 6 && in_(L.l4, 13)) o[L.l4 + 12] = ((b % 16) << 4) | (o[L.l4 + 12] & 15);
      return o;
    case 6: // TCP flags, sequence number
      if (L.proto === 6 && in_(L.l4, 14)) {
        o[L.l4 + 13] = b & 0xff;
        if (in_(L.l4, 8)) o.writeUInt32BE(interesting(c) >>> 0, L.l4 + 4);
      }
      return o;
    case 7: // UDP length
      if (L.proto === 17 && in_(L.l4, 6)) o.writeUInt16BE(interesting(b) & 0xffff, L.l4 + 4);
      return o;
    case 8: // ports: towards DNS, or the edges
      if ((L.proto === 6 || L.proto === 17) && in_(L.l4, 4)) o.writeUInt16BE(PORTS[b % PORTS.length], L.l4 + (c & 1) * 2);
      return o;
    case 9: {
      // the DNS message (UDP payload; TCP payload after the 2-byte prefix)
      if (L.app < 0 || L.app > o.length) return o;
      const start = L.proto === 6 ? Math.min(o.length, L.app + 2) : L.app;
      const msg = dnsOp(o.subarray(start), [a, b, c, a ^ c]);
      return Buffer.concat([o.subarray(0, start), msg]);
    }
    case 10: // bytes inside the IP header or the transport header
      return byteOp(o, [a, b, c, a], ip, Math.min(o.length, L.app > 0 ? L.app : o.length));
    default:
      return byteOp(o, [a, b, c, a]);
  }
}

// ---- pcap files

interface PcapRec {
  hdr: number;
  data: number;
  caplen: number;
}
interface PcapLayout {
  le: boolean;
  linkType: number;
  recs: PcapRec[];
}

export function pcapLayout(f: Buffer): PcapLayout | null {
  if (f.length < 24) return null;
  const m = f.readUInt32BE(0);
  const le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
  if (!le && m !== 0xa1b2c3d4 && m !== 0xa1b23c4d) return null;
  const u32 = (o: number) => (le ? f.readUInt32LE(o) : f.readUInt32BE(o));
  const recs: PcapRec[] = [];
  for (let off = 24; off + 16 <= f.length && recs.length < 4096; ) {
    const caplen = u32(off + 8);
    if (off + 16 + caplen > f.length) break;
    recs.push({ hdr: off, data: off + 16, caplen });
    off += 16 + caplen;
  }
  return { le, linkType: u32(20), recs };
}

const MAGICS = [0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1];
const LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147, 65535];
export const PCAP_OPS = 8;

/** one pcap-structure edit: record header fields (caplen/origlen/timestamps), global header, records, or a packet inside */
export function pcapOp(f: Buffer, op: Op): Buffer {
  const [kind, a, b, c] = op;
  const L = pcapLayout(f);
  if (!L) return byteOp(f, op);
  const o = Buffer.from(f);
  const w32 = (v: number, at: number) => (L.le ? o.writeUInt32LE(v >>> 0, at) : o.writeUInt32BE(v >>> 0, at));
  const n = L.recs.length;
  const r = n ? L.recs[a % n] : null;
  switch (kind % PCAP_OPS) {
    case 0: {
      // a record header field
      if (!r) return o;
      const field = c % 4;
      const rel = [r.caplen - 1, r.caplen + 1, 0, r.caplen * 2];
      const v = b & 1 ? rel[(b >> 1) % 4] : interesting(b >> 1);
      w32(v, r.hdr + 4 * field);
      return o;
    }
    case 1: {
      // the global header: magic, version, snaplen, link type
      switch (c % 4) {
        case 0:
          o.writeUInt32BE(MAGICS[b % 4], 0);
          return o;
        case 1:
          w32(interesting(b), 4);
          return o;
        case 2:
          w32(interesting(b), 16);
          return o;
        default:
          w32(LINKTYPES[b % LINKTYPES.length], 20);
          return o;
      }
    }
    case 2:
      if (!r) return o;
      return Buffer.concat([o.subarray(0, r.hdr), o.subarray(r.data + r.caplen)]); // drop a record
    case 3:
      if (!r) return o;
      return Buffer.concat([o.subarray(0, r.data + r.caplen), o.subarray(r.hdr, r.data + r.caplen), o.subarray(r.data + r.caplen)]);
    case 4:
    case 5:
    case 6: {
      // a packet inside a record (caplen follows, origlen too unless told)
      if (!r) return o;
      const pkt = packetOp(o.subarray(r.data, r.data + r.caplen), L.linkType, [b, c, a ^ b, c >> 3]);
      const hdr = Buffer.from(o.subarray(r.hdr, r.data));
      if (L.le) {
        hdr.writeUInt32LE(pkt.length, 8);
        if (c & 1) hdr.writeUInt32LE(pkt.length, 12);
      } else {
        hdr.writeUInt32BE(pkt.length, 8);
        if (c & 1) hdr.writeUInt32BE(pkt.length, 12);
      }
      return Buffer.concat([o.subarray(0, r.hdr), hdr, pkt, o.subarray(r.data + r.caplen)]);
    }
    default:
      return byteOp(o, [a, b, c, a]);
  }
}

// ---- pcapng files

interface NgBlock {
  off: number;
  type: number;
  len: number;
}

export function pcapngLayout(f: Buffer): { le: boolean; blocks: NgBlock[] } | null {
  if (f.length < 12 || f.readUInt32BE(0) !== 0x0a0d0d0a) return null;
  let le = f.readUInt32LE(8) === 0x1a2b3c4d;
  const blocks: NgBlock[] = [];
  for (let off = 0; off + 12 <= f.length && blocks.length < 4096; ) {
    const type = le ? f.readUInt32LE(off) : f.readUInt32BE(off);
    if (type === 0x0a0d0d0a && off + 12 <= f.length) le = f.readUInt32LE(off + 8) === 0x1a2b3c4d;
    const len = le ? f.readUInt32LE(off + 4) : f.readUInt32BE(off + 4);
    if (len < 12 || off + len > f.length) break;
    blocks.push({ off, type, len });
    off += len;
  }
  return { le, blocks };
}

export const PCAPNG_OPS = 7;

/** one pcapng-structure edit: block lengths (both copies or one), types, IDB link type/snaplen/options, EPB lengths, packets */
export function pcapngOp(f: Buffer, op: Op): Buffer {
  const [kind, a, b, c] = op;
  const L = pcapngLayout(f);
  if (!L || L.blocks.length === 0) return byteOp(f, op);
  const o = Buffer.from(f);
  const w32 = (v: number, at: number) => {
    if (at + 4 <= o.length) L.le ? o.writeUInt32LE(v >>> 0, at) : o.writeUInt32BE(v >>> 0, at);
  };
  const blk = L.blocks[a % L.blocks.length];
  const of = (t: number) => L.blocks.filter((x) => x.type === t);
  switch (kind % PCAPNG_OPS) {
    case 0: {
      // total length: the first copy, the trailing copy, or both
      const v = b & 1 ? [blk.len - 4, blk.len + 4, 11, 12][(b >> 1) % 4] : interesting(b >> 1);
      if (c % 3 !== 1) w32(v, blk.off + 4);
      if (c % 3 !== 0) w32(v, blk.off + blk.len - 4);
      return o;
    }
    case 1:
      w32([1, 2, 3, 4, 5, 6, 0x0a0d0d0a, 0xbad, 0x80000001][b % 9], blk.off);
      return o; // block type
    case 2: {
      // an IDB: link type, snaplen, an if_tsresol option
      const idbs = of(1);
      if (!idbs.length) return o;
      const idb = idbs[a % idbs.length];
      if (c % 3 === 0) {
        if (L.le) o.writeUInt16LE(LINKTYPES[b % LINKTYPES.length], idb.off + 8);
        else o.writeUInt16BE(LINKTYPES[b % LINKTYPES.length], idb.off + 8);
      } else if (c % 3 === 1) w32(interesting(b), idb.off + 12);
      else {
        // replace the options with if_tsresol = b (and end-of-options)
        const opt = Buffer.alloc(12);
        const le = L.le;
        if (le) {
          opt.writeUInt16LE(9, 0);
          opt.writeUInt16LE(1, 2);
        } else {
          opt.writeUInt16BE(9, 0);
          opt.writeUInt16BE(1, 2);
        }
        opt[4] = b & 0xff;
        const body = Buffer.concat([o.subarray(idb.off, idb.off + 16), opt, Buffer.alloc(4)]);
        const nb = Buffer.concat([body, Buffer.alloc(4)]);
        if (le) {
          nb.writeUInt32LE(nb.length, 4);
          nb.writeUInt32LE(nb.length, nb.length - 4);
        } else {
          nb.writeUInt32BE(nb.length, 4);
          nb.writeUInt32BE(nb.length, nb.length - 4);
        }
        return Buffer.concat([o.subarray(0, idb.off), nb, o.subarray(idb.off + idb.len)]);
      }
      return o;
    }
    case 3: {
      // an EPB: interface id, captured length, original length
      const epbs = of(6);
      if (!epbs.length) return o;
      const e = epbs[a % epbs.length];
      w32(c % 3 === 0 ? b % 4 : interesting(b), e.off + [8, 20, 24][c % 3]);
      return o;
    }
    case 4: {
      // the packet of an EPB (lengths kept consistent)
      const epbs = of(6);
      if (!epbs.length) return o;
      const e = epbs[a % epbs.length];
      // (a block the layout found may be cut short by the file's end)
      if (e.off + 28 > o.length) return o;
      const cap = L.le ? o.readUInt32LE(e.off + 20) : o.readUInt32BE(e.off + 20);
      if (e.off + 28 + cap > e.off + e.len) return o;
      const idbs = of(1);
      const lt = idbs.length ? (L.le ? o.readUInt16LE(idbs[0].off + 8) : o.readUInt16BE(idbs[0].off + 8)) : 1;
      const pkt = packetOp(o.subarray(e.off + 28, e.off + 28 + cap), lt, [b, c, a ^ b, c >> 3]);
      const pad = (4 - (pkt.length % 4)) % 4;
      const nb = Buffer.concat([o.subarray(e.off, e.off + 28), pkt, Buffer.alloc(pad), Buffer.alloc(4)]);
      if (L.le) {
        nb.writeUInt32LE(nb.length, 4);
        nb.writeUInt32LE(pkt.length, 20);
        nb.writeUInt32LE(nb.length, nb.length - 4);
      } else {
        nb.writeUInt32BE(nb.length, 4);
        nb.writeUInt32BE(pkt.length, 20);
        nb.writeUInt32BE(nb.length, nb.length - 4);
      }
      return Buffer.concat([o.subarray(0, e.off), nb, o.subarray(e.off + e.len)]);
    }
    case 5: // drop or duplicate a block
      return c & 1
        ? Buffer.concat([o.subarray(0, blk.off), o.subarray(blk.off + blk.len)])
        : Buffer.concat([o.subarray(0, blk.off + blk.len), o.subarray(blk.off, blk.off + blk.len), o.subarray(blk.off + blk.len)]);
    default:
      return byteOp(o, [a, b, c, a]);
  }
}

// ---- YAML text

const WEIRD_SCALARS = [
  "",
  "~",
  "null",
  "true",
  "0",
  "-1",
  "1e309",
  ".nan",
  "0x7fffffff",
  "123456789012345678901234567890",
  "[]",
  "{}",
  "[[[[[[[[[[[[]]]]]]]]]]]]",
  "{a: {b: {c: {d: {}}}}}",
  "'(a+)+$'",
  "'(?<x>a)\\k<x>'",
  "'[z-a]'",
  "'\\u0000'",
  '"\\u0000\\ud800"',
  "'%%%%'",
  "!!binary aGVsbG8=",
  "!!js/function 'x'",
  "!custom x",
  "'*'",
  "'**'",
  "'?'",
  "'a|b|c'",
  "'10.0.0.0/33'",
  "'::/129'",
  "|\n  block\n  text",
  ">-\n  folded",
  "'\uFEFF'",
  "'é😀'",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a YAML scalar that looks like a shell variable
  "'${HOME}'",
  "'%(x)'",
];
const KEYS = [
  "id",
  "name",
  "title",
  "events",
  "detection",
  "condition",
  "selection",
  "output",
  "severity",
  "list",
  "items",
  "macro",
  "append",
  "suppress",
  "correlation",
  "timeframe",
  "group-by",
  "logsource",
  "tags",
  "level",
  "status",
  "enabled",
  "fields",
  "webhook",
  "iface",
  "bpf",
  "signatures",
  "rules",
  "spool-dir",
  "url",
  "format",
  "min-severity",
  "webhook-wait",
  "config",
];
export const YAML_OPS = 12;

/** one YAML-structure edit: lines, indentation, scalars of wrong types, nesting, anchors and aliases, documents, keys */
export function yamlOp(text: string, op: Op, strict = false): string {
  const [kind, a, b, c] = op;
  const lines = text.split("\n");
  const i = a % Math.max(1, lines.length);
  const kv = lines.map((l, k) => [k, /^(\s*-?\s*)([\w.|\-[\]"']+):(\s*)(.*)$/.exec(l)] as const).filter(([, m]) => m !== null);
  const pickKv = () => (kv.length ? kv[a % kv.length] : null);
  switch (kind % YAML_OPS) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[i] ?? "");
      break;
    case 2: {
      const j = b % lines.length;
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 3:
      lines[i] = c & 1 ? "  ".repeat(1 + (b % 4)) + lines[i] : lines[i].replace(/^ {1,2}/, "");
      break;
    case 4: {
      // a scalar of the wrong kind
      const e = pickKv();
      if (!e) break;
      const [k, m] = e;
      lines[k] = `${m![1]}${m![2]}: ${WEIRD_SCALARS[b % WEIRD_SCALARS.length]}`;
      break;
    }
    case 5: {
      // a huge scalar
      const e = pickKv();
      if (!e) break;
      const [k, m] = e;
      const n = Math.min(strict ? 8 << 20 : 1 << 16, 1 + interesting(b));
      lines[k] = `${m![1]}${m![2]}: '${"ab*".repeat(Math.ceil(n / 3)).slice(0, n)}'`;
      break;
    }
    case 6: {
      // deep nesting, flow or block
      const e = pickKv();
      if (!e) break;
      const [k, m] = e;
      const d = 1 + (b % (strict ? 5000 : 200));
      lines[k] = c & 1 ? `${m![1]}${m![2]}: ${"[".repeat(d)}x${"]".repeat(d)}` : `${m![1]}${m![2]}: ${"{a: ".repeat(d)}x${"}".repeat(d)}`;
      break;
    }
    case 7: {
      // an anchor on one value, an alias on another
      if (kv.length < 2) break;
      const [k1, m1] = kv[a % kv.length],
        [k2, m2] = kv[(a + 1 + b) % kv.length];
      lines[k1] = `${m1![1]}${m1![2]}: &x ${m1![4] || "v"}`;
      lines[k2] = `${m2![1]}${m2![2]}: *${c & 1 ? "x" : "undefined_anchor"}`;
      break;
    }
    case 8: {
      // an alias bomb ("billion laughs"): bounded unless strict
      const levels = 1 + (b % (strict ? 9 : 3)),
        fan = 2 + (c % (strict ? 9 : 3));
      const bomb = ["bomb0: &b0 [lol]"];
      for (let l = 1; l <= levels; l++)
        bomb.push(
          `bomb${l}: &b${l} [${Array(fan)
            .fill(`*b${l - 1}`)
            .join(", ")}]`,
        );
      lines.splice(i, 0, ...bomb);
      break;
    }
    case 9:
      lines.splice(
        i,
        0,
        ["---", "...", "--- !!map", "%YAML 1.2", "? complex key", ": value", "- list item", "key: value", "\t tab: x"][b % 9],
      );
      break;
    case 10: {
      // a key renamed to another known key (or a near miss)
      const e = pickKv();
      if (!e) break;
      const [k, m] = e;
      const key = KEYS[b % KEYS.length];
      lines[k] = `${m![1]}${c & 1 ? key : key + "x"}:${m![3]}${m![4]}`;
      break;
    }
    default: {
      const buf = byteOp(Buffer.from(text, "utf8"), [c, a, b, c]);
      return buf.toString("utf8");
    }
  }
  return lines.join("\n");
}

/** apply ops in order (each op chooses a structure-aware or byte-level edit through `one`) */
export function applyOps<T>(x: T, ops: Op[], one: (x: T, op: Op) => T): T {
  for (const op of ops) x = one(x, op);
  return x;
}

/** a seed (by index) with a list of ops applied: shrinks towards the bare seed and fewer, smaller ops */
export function mutated<S>(seeds: S[], kinds: number, one: (x: S, op: Op) => S, maxOps = 6): fc.Arbitrary<S> {
  if (seeds.length === 0) throw new Error("no seeds");
  return fc.tuple(fc.nat(seeds.length - 1), opsArb(kinds, maxOps)).map(([i, ops]) => applyOps(seeds[i], ops, one));
}
