// Classic pcap ("libpcap") capture files.
//
//   global header (24 bytes): magic, version major/minor, thiszone, sigfigs,
//                             snaplen, linktype
//   per record (16 bytes):    ts_sec, ts_frac (us or ns), incl_len, orig_len,
//                             then incl_len bytes of packet data
//
// Both byte orders and both the microsecond (a1b2c3d4) and nanosecond
// (a1b23c4d) magics are read. The parser is incremental: `parse` consumes every
// complete record in a buffer window and reports how many bytes it needs to
// make progress, so the same code serves the streaming reader and the
// whole-buffer helper (see reader.ts).

import { CaptureError, type PacketHandler, type PacketRecord } from "./types";

/** One block / record larger than this is treated as corruption. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** libpcap's maximum sane packet size for ordinary link types (MAXIMUM_SNAPLEN). */
export const PCAP_MAX_SNAPLEN = 262144;

export const HINT_TRUNCATED = "the file was cut short (capture interrupted or incomplete copy); the packets before this point are intact";
export const HINT_CORRUPT = "the file is corrupt after this point (re-capture, or cut it with editcap)";

/**
 * The contract between the reader and a format parser.
 *
 * `parse(buf, pos, end, base)` looks at buf[pos, end), whose first byte is at
 * file offset `base + pos`. It delivers every complete record through the
 * handler and returns the position of the first byte it did not consume. When
 * it stops because the window ends inside a record, `need` is the number of
 * bytes (counted from the returned position) it must see to go on; when it
 * stops because the data is damaged, `error` is set and it will not parse
 * again.
 */
export interface FormatParser {
  readonly format: "pcap" | "pcapng";
  packets: number;
  bytes: number;
  need: number;
  error: CaptureError | undefined;
  parse(buf: Buffer, pos: number, end: number, base: number): number;
  /** End of input with `avail` unconsumed bytes at file offset `at`: describe what was cut. */
  truncation(at: number, avail: number): CaptureError;
}

export function newPacketRecord(): PacketRecord {
  return {
    tsSec: 0,
    tsNsec: 0,
    linkType: 0,
    iface: "",
    buf: EMPTY,
    offset: 0,
    caplen: 0,
    origLen: 0,
    fileOffset: 0,
  };
}
const EMPTY = Buffer.alloc(0);

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

/** Is this the (big-endian read) first word of a classic pcap file, in either byte order? */
export function isPcapMagic(be32: number): boolean {
  return be32 === PCAP_MAGIC_US || be32 === PCAP_MAGIC_NS || be32 === 0xd4c3b2a1 || be32 === 0x4d3cb2a1;
}

export class PcapParser implements FormatParser {
  readonly format = "pcap" as const;
  packets = 0;
  bytes = 0;
  need = 24;
  error: CaptureError | undefined = undefined;

  private started = false;
  private le = true;
  private nano = false;
  private linkType = 0;
  private snaplen = 0;
  /** incl_len above this is corruption */
  private maxIncl = PCAP_MAX_SNAPLEN;

  constructor(
    private readonly file: string,
    private readonly onPacket: PacketHandler,
    private readonly rec: PacketRecord,
  ) {}

  parse(buf: Buffer, pos: number, end: number, base: number): number {
    if (this.error) return pos;
    if (!this.started) {
      if (end - pos < 24) {
        this.need = 24;
        return pos;
      }
      if (!this.readHeader(buf, pos, base + pos)) return pos;
      this.started = true;
      pos += 24;
    }
    const rec = this.rec;
    const onPacket = this.onPacket;
    const le = this.le;
    const nano = this.nano;
    const maxIncl = this.maxIncl;
    const linkType = this.linkType;
    let packets = this.packets;
    let bytes = this.bytes;
    let need = 16;
    for (;;) {
      const avail = end - pos;
      if (avail < 16) {
        need = 16;
        break;
      }
      let sec: number, frac: number, incl: number, orig: number;
      if (le) {
        sec = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
        frac = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
        incl = (buf[pos + 8] | (buf[pos + 9] << 8) | (buf[pos + 10] << 16) | (buf[pos + 11] << 24)) >>> 0;
        orig = (buf[pos + 12] | (buf[pos + 13] << 8) | (buf[pos + 14] << 16) | (buf[pos + 15] << 24)) >>> 0;
      } else {
        sec = ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0;
        frac = ((buf[pos + 4] << 24) | (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]) >>> 0;
        incl = ((buf[pos + 8] << 24) | (buf[pos + 9] << 16) | (buf[pos + 10] << 8) | buf[pos + 11]) >>> 0;
        orig = ((buf[pos + 12] << 24) | (buf[pos + 13] << 16) | (buf[pos + 14] << 8) | buf[pos + 15]) >>> 0;
      }
      if (incl > maxIncl) {
        this.error = this.oversize(base + pos, incl);
        break;
      }
      if (avail < 16 + incl) {
        need = 16 + incl;
        break;
      }
      if (nano) {
        if (frac >= 1000000000) {
          // not normalized by the writer: carry whole seconds
          sec += Math.floor(frac / 1000000000);
          frac %= 1000000000;
        }
        rec.tsNsec = frac;
      } else {
        if (frac >= 1000000) {
          sec += Math.floor(frac / 1000000);
          frac %= 1000000;
        }
        rec.tsNsec = frac * 1000;
      }
      rec.tsSec = sec;
      // every field every time: a handler that scribbles on the record
      // cannot spoil the next packet
      rec.linkType = linkType;
      rec.iface = "";
      rec.buf = buf;
      rec.offset = pos + 16;
      rec.caplen = incl;
      rec.origLen = Math.max(orig, incl);
      rec.fileOffset = base + pos;
      packets++;
      bytes += incl;
      pos += 16 + incl;
      // keep the counters right even if the handler throws
      this.packets = packets;
      this.bytes = bytes;
      onPacket(rec);
    }
    this.packets = packets;
    this.bytes = bytes;
    this.need = need;
    return pos;
  }

  private readHeader(buf: Buffer, pos: number, at: number): boolean {
    const magic = buf.readUInt32BE(pos);
    if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) this.le = false;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) this.le = true;
    else {
      this.error = new CaptureError(
        this.file,
        at,
        `not a pcap file (magic 0x${magic.toString(16).padStart(8, "0")})`,
        "expected a pcap or pcapng capture",
      );
      return false;
    }
    this.nano = magic === PCAP_MAGIC_NS || magic === 0x4d3cb2a1;
    const le = this.le;
    const major = le ? buf.readUInt16LE(pos + 4) : buf.readUInt16BE(pos + 4);
    const minor = le ? buf.readUInt16LE(pos + 6) : buf.readUInt16BE(pos + 6);
    if (major !== 2) {
      this.error = new CaptureError(
        this.file,
        at + 4,
        `unsupported pcap version ${major}.${minor} (only 2.x is defined)`,
        "the file header is damaged or this is not a pcap file",
      );
      return false;
    }
    this.snaplen = le ? buf.readUInt32LE(pos + 16) : buf.readUInt32BE(pos + 16);
    const lt = le ? buf.readUInt32LE(pos + 20) : buf.readUInt32BE(pos + 20);
    // upper 16 bits: FCS length (bits 28..31), F bit (26), reserved; LT_LINKTYPE is the low 16
    this.linkType = lt & 0xffff;
    // libpcap refuses records bigger than its maximum for the link type; we
    // are as lenient as the header allows but never beyond one sane block
    this.maxIncl = Math.min(Math.max(this.snaplen, PCAP_MAX_SNAPLEN), MAX_RECORD_BYTES);
    return true;
  }

  private oversize(at: number, incl: number): CaptureError {
    const what =
      this.snaplen < incl && this.snaplen >= PCAP_MAX_SNAPLEN
        ? `larger than snaplen ${this.snaplen}`
        : this.snaplen < incl
          ? `larger than snaplen ${this.snaplen} and the ${PCAP_MAX_SNAPLEN}-byte maximum`
          : `larger than the ${this.maxIncl}-byte maximum`;
    return new CaptureError(this.file, at, `record header says ${incl}-byte packet, ${what}`, HINT_CORRUPT);
  }

  truncation(at: number, avail: number): CaptureError {
    if (!this.started) {
      return new CaptureError(this.file, at, `file ends after ${avail} bytes, inside the 24-byte pcap file header`, HINT_TRUNCATED);
    }
    if (avail < 16) {
      return new CaptureError(this.file, at, `file ends ${avail} bytes into a 16-byte record header`, HINT_TRUNCATED);
    }
    return new CaptureError(
      this.file,
      at,
      `file ends inside a record: ${this.need - 16}-byte packet, only ${avail - 16} bytes present`,
      HINT_TRUNCATED,
    );
  }
}
