// pcapng capture files (draft-ietf-opsawg-pcapng).
//
// Every block is: type (4), total length (4), body, total length again (4).
// Handled: SHB (section header; sets the byte order, resets the interfaces),
// IDB (interface: link type, snaplen, if_name, if_tsresol, if_tsoffset),
// EPB (enhanced packet), SPB (simple packet), OPB (obsolete packet). Every
// other block type (NRB, ISB, DSB, custom, ...) is skipped by its length.
//
// Like the pcap parser this is incremental: `parse` consumes complete blocks
// and asks for more bytes when a block straddles the end of the window.

import { CaptureError, type PacketHandler, type PacketRecord } from "./types";
import { type FormatParser, HINT_CORRUPT, HINT_TRUNCATED, MAX_RECORD_BYTES } from "./pcap";

export const PCAPNG_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_OPB = 2;
const BT_SPB = 3;
const BT_EPB = 6;

const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

const TWO32 = 4294967296;

interface Iface {
  linkType: number;
  snaplen: number;
  name: string;
  /** time units per second, when it is 10^k with 4 <= k <= 9 (the fast path); otherwise 0 */
  units: number;
  /** nanoseconds per unit on the fast path */
  nsPerUnit: number;
  /** time units per second, exact */
  unitsBig: bigint;
  /** if_tsoffset, seconds */
  tsOffset: number;
}

const NS_PER_SEC_BIG = 1000000000n;

export class PcapngParser implements FormatParser {
  readonly format = "pcapng" as const;
  packets = 0;
  bytes = 0;
  need = 12;
  error: CaptureError | undefined = undefined;

  private le = true;
  private ifaces: Iface[] = [];
  private sections = 0;

  constructor(
    private readonly file: string,
    private readonly onPacket: PacketHandler,
    private readonly rec: PacketRecord,
  ) {}

  private u32(buf: Buffer, p: number): number {
    return this.le
      ? (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0
      : ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
  }

  private u16(buf: Buffer, p: number): number {
    return this.le ? buf[p] | (buf[p + 1] << 8) : (buf[p] << 8) | buf[p + 1];
  }

  private corrupt(at: number, reason: string): void {
    this.error = new CaptureError(this.file, at, reason, HINT_CORRUPT);
  }

  parse(buf: Buffer, pos: number, end: number, base: number): number {
    if (this.error) return pos;
    const rec = this.rec;
    for (;;) {
      const avail = end - pos;
      if (avail < 12) {
        this.need = 12;
        return pos;
      }
      const type = this.u32(buf, pos);
      if (type === PCAPNG_SHB) {
        // the byte-order magic decides how to read this block's own length
        const bom = buf.readUInt32BE(pos + 8);
        if (bom === 0x1a2b3c4d) this.le = false;
        else if (bom === 0x4d3c2b1a) this.le = true;
        else {
          this.corrupt(base + pos, `section header block has byte-order magic 0x${bom.toString(16).padStart(8, "0")}, expected 0x1a2b3c4d`);
          return pos;
        }
      } else if (this.sections === 0) {
        // cannot happen through the format sniffing, but be safe
        this.corrupt(base + pos, "pcapng file does not start with a section header block");
        return pos;
      }
      const len = this.u32(buf, pos + 4);
      if (len < 12 || (len & 3) !== 0 || len > MAX_RECORD_BYTES) {
        const why =
          len < 12
            ? "smaller than the 12-byte minimum"
            : (len & 3) !== 0
              ? "not a multiple of 4"
              : `larger than the ${MAX_RECORD_BYTES}-byte sanity limit`;
        this.corrupt(base + pos, `block type 0x${type.toString(16)} has total length ${len}, ${why}`);
        return pos;
      }
      if (avail < len) {
        this.need = len;
        return pos;
      }
      const trailer = this.u32(buf, pos + len - 4);
      if (trailer !== len) {
        this.corrupt(base + pos, `block type 0x${type.toString(16)} has total length ${len} but its trailing length field says ${trailer}`);
        return pos;
      }
      switch (type) {
        case BT_EPB: {
          if (len < 32) {
            this.tooSmall(base + pos, "enhanced packet block", len, 32);
            return pos;
          }
          const id = this.u32(buf, pos + 8);
          const cap = this.u32(buf, pos + 20);
          if (
            !this.packet(
              buf,
              pos,
              base,
              len,
              id,
              this.u32(buf, pos + 12),
              this.u32(buf, pos + 16),
              cap,
              this.u32(buf, pos + 24),
              28,
              "enhanced packet block",
            )
          )
            return pos;
          break;
        }
        case BT_IDB:
          if (!this.idb(buf, pos, len, base)) return pos;
          break;
        case PCAPNG_SHB:
          if (len < 28) {
            this.tooSmall(base + pos, "section header block", len, 28);
            return pos;
          } else {
            const major = this.u16(buf, pos + 12);
            const minor = this.u16(buf, pos + 14);
            if (major !== 1) {
              this.corrupt(base + pos, `unsupported pcapng version ${major}.${minor}`);
              return pos;
            }
            this.sections++;
            this.ifaces = [];
          }
          break;
        case BT_SPB: {
          if (len < 16) {
            this.tooSmall(base + pos, "simple packet block", len, 16);
            return pos;
          }
          const iface = this.ifaces[0];
          if (iface === undefined) {
            this.corrupt(base + pos, "simple packet block but no interface is defined in this section");
            return pos;
          }
          const orig = this.u32(buf, pos + 8);
          let cap = len - 16;
          if (orig < cap) cap = orig;
          if (iface.snaplen !== 0 && iface.snaplen < cap) cap = iface.snaplen;
          rec.tsSec = 0; // an SPB has no timestamp
          rec.tsNsec = 0;
          rec.linkType = iface.linkType;
          rec.iface = iface.name;
          rec.buf = buf;
          rec.offset = pos + 12;
          rec.caplen = cap;
          rec.origLen = Math.max(orig, cap);
          rec.fileOffset = base + pos;
          this.deliver(cap);
          break;
        }
        case BT_OPB: {
          if (len < 32) {
            this.tooSmall(base + pos, "packet block", len, 32);
            return pos;
          }
          if (
            !this.packet(
              buf,
              pos,
              base,
              len,
              this.u16(buf, pos + 8),
              this.u32(buf, pos + 12),
              this.u32(buf, pos + 16),
              this.u32(buf, pos + 20),
              this.u32(buf, pos + 24),
              28,
              "packet block",
            )
          )
            return pos;
          break;
        }
        default:
          // NRB, ISB, DSB, SJEB, custom blocks, anything newer: not packets
          break;
      }
      pos += len;
    }
  }

  private deliver(cap: number): void {
    this.packets++;
    this.bytes += cap;
    this.onPacket(this.rec);
  }

  private tooSmall(at: number, what: string, len: number, min: number): void {
    this.corrupt(at, `${what} has total length ${len}, smaller than the ${min}-byte minimum`);
  }

  /** EPB and OPB: fixed fields are read, data starts at pos + dataAt. */
  private packet(
    buf: Buffer,
    pos: number,
    base: number,
    len: number,
    id: number,
    hi: number,
    lo: number,
    cap: number,
    orig: number,
    dataAt: number,
    what: string,
  ): boolean {
    const iface = this.ifaces[id];
    if (iface === undefined) {
      this.corrupt(
        base + pos,
        `${what} refers to interface ${id}, but this section defines ${this.ifaces.length === 0 ? "no interfaces" : `only interfaces 0..${this.ifaces.length - 1}`}`,
      );
      return false;
    }
    const room = len - dataAt - 4;
    if (cap > room || ((cap + 3) & ~3) > room) {
      this.corrupt(base + pos, `${what} says ${cap}-byte packet, but the ${len}-byte block has room for ${room}`);
      return false;
    }
    const rec = this.rec;
    // timestamp: (hi * 2^32 + lo) units of 1/units seconds
    const u = iface.units;
    if (u !== 0) {
      // sec = floor(ts / u) from a double estimate, which is off by at most
      // one: the exact remainder is known modulo 2^32 (ts mod 2^32 = lo) and
      // lies in (-u, 2u), inside the int32 range for u <= 10^9
      let sec = Math.floor((hi * TWO32 + lo) / u);
      let frac = (lo - Math.imul(sec, u)) | 0;
      if (frac < 0) {
        frac += u;
        sec--;
      } else if (frac >= u) {
        frac -= u;
        sec++;
      }
      rec.tsSec = sec + iface.tsOffset;
      rec.tsNsec = frac * iface.nsPerUnit;
    } else {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      const ub = iface.unitsBig;
      const frac = t % ub;
      rec.tsSec = Number(t / ub) + iface.tsOffset;
      rec.tsNsec = Number((frac * NS_PER_SEC_BIG) / ub);
    }
    rec.linkType = iface.linkType;
    rec.iface = iface.name;
    rec.buf = buf;
    rec.offset = pos + dataAt;
    rec.caplen = cap;
    rec.origLen = Math.max(orig, cap);
    rec.fileOffset = base + pos;
    this.deliver(cap);
    return true;
  }

  private idb(buf: Buffer, pos: number, len: number, base: number): boolean {
    if (len < 20) {
      this.tooSmall(base + pos, "interface description block", len, 20);
      return false;
    }
    const iface: Iface = {
      linkType: this.u16(buf, pos + 8),
      snaplen: this.u32(buf, pos + 12),
      name: "",
      units: 1000000,
      nsPerUnit: 1000,
      unitsBig: 1000000n,
      tsOffset: 0,
    };
    // options: code (2), length (2), value padded to 4; a malformed option
    // list only loses the options, not the interface
    let p = pos + 16;
    const optEnd = pos + len - 4;
    while (p + 4 <= optEnd) {
      const code = this.u16(buf, p);
      const olen = this.u16(buf, p + 2);
      const v = p + 4;
      if (code === OPT_ENDOFOPT || v + olen > optEnd) break;
      if (code === OPT_IF_NAME) {
        let e = v + olen;
        while (e > v && buf[e - 1] === 0) e--; // some writers NUL-terminate
        iface.name = buf.toString("utf8", v, e);
      } else if (code === OPT_IF_TSRESOL && olen >= 1) {
        const r = buf[v];
        const exp = r & 0x7f;
        if (r & 0x80) {
          iface.unitsBig = 1n << BigInt(exp);
          iface.units = 0;
        } else {
          iface.unitsBig = 10n ** BigInt(exp);
          if (exp >= 4 && exp <= 9) {
            iface.units = 10 ** exp;
            iface.nsPerUnit = 10 ** (9 - exp);
          } else iface.units = 0;
        }
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        // signed 64-bit seconds
        const a = this.u32(buf, v);
        const b = this.u32(buf, v + 4);
        const hi = this.le ? b : a;
        const lo = this.le ? a : b;
        iface.tsOffset = (hi | 0) * TWO32 + lo;
      }
      p = v + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
    return true;
  }

  truncation(at: number, avail: number): CaptureError {
    if (avail < 12 || this.need <= 12) {
      return new CaptureError(this.file, at, `file ends ${avail} bytes into a block header`, HINT_TRUNCATED);
    }
    return new CaptureError(this.file, at, `file ends inside a ${this.need}-byte block, only ${avail} bytes present`, HINT_TRUNCATED);
  }
}
