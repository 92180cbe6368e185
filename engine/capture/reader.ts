// Streaming capture-file reader: pcap or pcapng, from a file or standard input.
//
// The file is read in chunks into one buffer; every complete record in the
// buffer is handed to `onPacket` synchronously, as ONE reused PacketRecord
// whose buf/offset/caplen point into that buffer (no copy per packet). The
// bytes of a record cut by the end of the chunk are moved to the front and
// completed by the next read; a record larger than the buffer grows it (up to
// MAX_RECORD_BYTES, beyond which the record is taken as corruption). Memory
// use is therefore one chunk plus the largest record, whatever the file size.
//
// The record is only valid during the callback: the buffer is reused.

import { open, type FileHandle } from "node:fs/promises";
import { CaptureError, type PacketHandler, type PacketRecord, type ReadSummary } from "./types";
import { type FormatParser, isPcapMagic, MAX_RECORD_BYTES, newPacketRecord, PcapParser } from "./pcap";
import { PCAPNG_SHB, PcapngParser } from "./pcapng";

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

// Where in the buffer the next read lands. Reading into a buffer offset that
// has the same position within a 4 KiB page as the file offset (e.g. offset 0
// of a page-aligned buffer at a page-aligned file offset) makes the kernel's
// page-cache copy several times slower (4K aliasing: measured 2 GB/s against
// 7-8 GB/s). Keeping the data SKEW bytes ahead of the file's page position
// avoids it; it costs at most one page of buffer.
const PAGE = 4096;
const SKEW = 64;

async function sizeOf(fh: FileHandle): Promise<number> {
  try {
    const st = await fh.stat();
    return st.isFile() ? st.size : Infinity;
  } catch {
    return Infinity;
  }
}

export interface ReadOptions {
  /** bytes per read (default 1 MiB); any size >= 1 works, a record larger than it grows the buffer */
  chunkSize?: number;
  /** checked between chunks; when aborted, readCapture rejects with signal.reason */
  signal?: AbortSignal;
  /** awaited after each chunk's packets were handed out (backpressure from a slower consumer) */
  between?: () => Promise<void> | void;
}

/**
 * Format sniffing plus the format parser: the one parsing path shared by the
 * streaming reader and parseCaptureBuffer.
 */
class CaptureParser {
  private inner: FormatParser | undefined;
  error: CaptureError | undefined;
  need = 4;
  private readonly rec: PacketRecord = newPacketRecord();

  constructor(
    private readonly file: string,
    private readonly onPacket: PacketHandler,
  ) {}

  parse(buf: Buffer, pos: number, end: number, base: number): number {
    if (this.error) return pos;
    let inner = this.inner;
    if (inner === undefined) {
      if (end - pos < 4) {
        this.need = 4;
        return pos;
      }
      const magic = buf.readUInt32BE(pos);
      if (isPcapMagic(magic)) inner = new PcapParser(this.file, this.onPacket, this.rec);
      else if (magic === PCAPNG_SHB) inner = new PcapngParser(this.file, this.onPacket, this.rec);
      else {
        this.error = new CaptureError(
          this.file,
          base + pos,
          `not a capture file (first bytes ${buf.toString("hex", pos, pos + 4)}, expected a pcap or pcapng magic number)`,
          "give a .pcap or .pcapng file (tcpdump -w / dumpcap / Wireshark)",
        );
        return pos;
      }
      this.inner = inner;
    }
    const p = inner.parse(buf, pos, end, base);
    this.need = inner.need;
    this.error = inner.error;
    return p;
  }

  /** End of input; `avail` unparsed bytes remain, the first at file offset `at`. */
  finish(at: number, avail: number): void {
    if (this.error) return;
    if (this.inner === undefined) {
      this.error =
        avail === 0
          ? new CaptureError(this.file, at, "empty file, not a capture", "give a .pcap or .pcapng file")
          : new CaptureError(
              this.file,
              at,
              `file is only ${avail} bytes long, too short for a capture file header`,
              "give a .pcap or .pcapng file",
            );
    } else if (avail > 0) {
      this.error = this.inner.truncation(at, avail);
    }
  }

  summary(): ReadSummary {
    const s: ReadSummary = {
      format: this.inner?.format ?? "unknown",
      packets: this.inner?.packets ?? 0,
      bytes: this.inner?.bytes ?? 0,
    };
    if (this.error) s.error = this.error;
    return s;
  }
}

/**
 * Parse a whole capture held in memory (small files, tests). Same parser as
 * readCapture; never throws for bad input (see ReadSummary.error), but an
 * exception thrown by onPacket propagates.
 */
export function parseCaptureBuffer(buf: Buffer, onPacket: PacketHandler, name = "<buffer>"): ReadSummary {
  const p = new CaptureParser(name, onPacket);
  const pos = p.parse(buf, 0, buf.length, 0);
  p.finish(pos, buf.length - pos);
  return p.summary();
}

function openHint(code: string | undefined): [string, string] {
  switch (code) {
    case "ENOENT":
      return ["no such file", "check the path"];
    case "EACCES":
    case "EPERM":
      return ["permission denied", "check the file's permissions or run with access to it"];
    case "EISDIR":
      return ["is a directory, not a capture file", "give the path of a .pcap or .pcapng file"];
    case "ENOTDIR":
      return ["a component of the path is not a directory", "check the path"];
    case "ELOOP":
      return ["too many symbolic links", "check the path"];
    case "EMFILE":
    case "ENFILE":
      return ["too many open files", "close other files or raise the open-file limit"];
    default:
      return [`cannot read (${code ?? "unknown error"})`, "check the path and the device"];
  }
}

function ioError(file: string, at: number, e: unknown): CaptureError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== "string") throw e; // not an I/O error: a bug, let it out
  const [reason, hint] = openHint(code);
  return new CaptureError(file, at, reason, hint);
}

/**
 * Read a pcap or pcapng capture, streaming, calling onPacket for every packet
 * in file order with one reused record. `path` "-" reads standard input.
 *
 * Resolves with a summary; damage (truncation, corruption, unreadable file) is
 * reported in summary.error after every packet before it was delivered.
 * Rejects only for a thrown onPacket, an abort (signal.reason) or a bug.
 */
export async function readCapture(path: string, onPacket: PacketHandler, opts: ReadOptions = {}): Promise<ReadSummary> {
  if (path === "-") return readCaptureStream(process.stdin, onPacket, { ...opts, name: "<stdin>" });
  const chunk = chunkSizeOf(opts);
  const parser = new CaptureParser(path, onPacket);
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    parser.error = ioError(path, 0, e);
    return parser.summary();
  }
  try {
    let size = Infinity;
    try {
      const st = await fh.stat();
      if (st.isDirectory()) {
        parser.error = ioError(path, 0, Object.assign(new Error("EISDIR"), { code: "EISDIR" }));
        return parser.summary();
      }
      if (st.isFile()) size = st.size;
    } catch {
      /* not fatal: no size known */
    }
    // buf[start, end) holds unparsed bytes; buf[start] is at file offset fpos
    let buf = Buffer.allocUnsafe(chunk + PAGE + SKEW);
    let start = SKEW;
    let end = start;
    let fpos = 0;
    for (;;) {
      opts.signal?.throwIfAborted();
      const need = parser.need;
      if (need > buf.length - start) {
        // one record needs more than the buffer holds
        if (fpos + need > size) size = await sizeOf(fh); // it may be growing
        if (fpos + need > size) {
          // the file is too short to hold this record: no point buffering it
          parser.finish(fpos, size - fpos);
          break;
        }
        // size known: exactly what the record needs; else double towards it
        const cap = size !== Infinity ? need : Math.min(need, 2 * (buf.length - start));
        const nb = Buffer.allocUnsafe(cap + PAGE + SKEW);
        const ns = (fpos % PAGE) + SKEW;
        buf.copy(nb, ns, start, end);
        end = ns + (end - start);
        start = ns;
        buf = nb;
      }
      let n: number;
      try {
        // chunk-sized reads, or whatever completes a bigger record
        const len = Math.min(buf.length - end, Math.max(chunk, need - (end - start)));
        ({ bytesRead: n } = await fh.read(buf, end, len, null));
      } catch (e) {
        parser.error = ioError(path, fpos + (end - start), e);
        break;
      }
      if (n === 0) {
        parser.finish(fpos, end - start);
        break;
      }
      end += n;
      const pos = parser.parse(buf, start, end, fpos - start);
      if (parser.error) break;
      if (opts.between) await opts.between();
      // carry the unfinished record to the front
      fpos += pos - start;
      const ns = (fpos % PAGE) + SKEW;
      if (pos < end && pos !== ns) buf.copyWithin(ns, pos, end);
      end = ns + (end - pos);
      start = ns;
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  return parser.summary();
}

function chunkSizeOf(opts: ReadOptions): number {
  const c = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(c) || c < 1) throw new RangeError(`chunkSize must be a positive integer, got ${c}`);
  return Math.min(c, MAX_RECORD_BYTES);
}

/**
 * Read a capture from any byte stream (readCapture("-") uses process.stdin).
 * Same contract as readCapture; `name` labels errors.
 */
export async function readCaptureStream(
  stream: AsyncIterable<Uint8Array>,
  onPacket: PacketHandler,
  opts: ReadOptions & { name?: string } = {},
): Promise<ReadSummary> {
  const name = opts.name ?? "<stream>";
  const chunk = chunkSizeOf(opts);
  const signal = opts.signal;
  signal?.throwIfAborted();
  const parser = new CaptureParser(name, onPacket);
  let buf = Buffer.allocUnsafe(chunk);
  let end = 0; // valid bytes in buf
  let base = 0; // stream offset of buf[0]
  const it = stream[Symbol.asyncIterator]();
  let finished = false;
  // an idle stream must not delay an abort until its next chunk
  let onAbort: (() => void) | undefined;
  const aborted =
    signal &&
    new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  aborted?.catch(() => undefined);
  try {
    for (;;) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await (aborted ? Promise.race([it.next(), aborted]) : it.next());
      } catch (e) {
        if (signal?.aborted && e === signal.reason) throw e;
        parser.error = ioError(name, base + end, e);
        finished = true; // the stream is already broken
        break;
      }
      if (r.done) {
        finished = true;
        parser.finish(base, end);
        break;
      }
      signal?.throwIfAborted();
      const data = r.value;
      if (!(data instanceof Uint8Array)) throw new TypeError("capture stream must yield bytes, not strings (no setEncoding)");
      let off = 0;
      // copy into the work buffer; parse when it is full or this piece is used up
      while (off < data.length) {
        if (end === buf.length) {
          // full and unparseable: one record is larger than the buffer. Grow
          // by doubling towards it, so a lying length field costs memory only
          // in proportion to the data that really arrives.
          const len = Math.min(parser.need, buf.length * 2, MAX_RECORD_BYTES);
          if (len <= buf.length) throw new Error("internal: capture buffer cannot grow");
          const nb = Buffer.allocUnsafe(len);
          buf.copy(nb, 0, 0, end);
          buf = nb;
        }
        const n = Math.min(buf.length - end, data.length - off);
        buf.set(n === data.length ? data : data.subarray(off, off + n), end);
        off += n;
        end += n;
        if (end === buf.length || (off === data.length && end >= parser.need)) {
          const pos = parser.parse(buf, 0, end, base);
          if (parser.error) return parser.summary();
          if (opts.between) await opts.between();
          if (pos > 0) {
            if (pos < end) buf.copyWithin(0, pos, end);
            end -= pos;
            base += pos;
          }
        }
      }
    }
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
    // stop the source when we leave early (damage, abort, handler exception)
    // (a Node stream is destroyed directly: its iterator is an async
    // generator, whose return() would wait behind a pending next())
    if (!finished) {
      const destroy = (stream as { destroy?: unknown }).destroy;
      try {
        if (typeof destroy === "function") destroy.call(stream);
        else it.return?.().catch(() => undefined);
      } catch {
        /* nothing to stop */
      }
    }
  }
  return parser.summary();
}
