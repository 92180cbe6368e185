// A file of JSON lines that is rotated by size (--output-file): lines are
// appended to PATH; when the next line would take PATH past maxBytes, PATH
// becomes PATH.1 (PATH.1 becomes PATH.2, ..., PATH.keep is deleted) and a new
// PATH is started. A line is never split across files: a line longer than
// maxBytes goes alone, whole, into its own file.
//
// Bytes come in blocks that may end inside a line (the ByteWriter drains when
// its buffer is full); the unfinished line is kept until its end arrives.
// Writes are synchronous, one write per run of whole lines.
//
// A write that fails (ENOSPC, EIO, ...) is logged once per error code; its
// lines are dropped and counted, what was written of them is cut back to the
// last whole line, and later lines are tried again. Nothing else is stopped.

import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { ByteWriter } from "../events/jsonbytes";

export interface RotatingFileOptions {
  path: string;
  maxBytes: number;
  /** rotated files kept: PATH.1 .. PATH.keep */
  keep: number;
  log?: (line: string) => void;
}

const NL = 10;
/** after a failed open or rotation, the next try waits this long (ms) */
const RETRY_MS = 1000;

export class RotatingFile {
  readonly path: string;
  /** buffered JSON lines (flush() writes them) */
  readonly writer: ByteWriter;
  /** bytes written, over all files */
  bytes = 0;
  rotations = 0;
  /** lines lost to write errors */
  droppedLines = 0;
  private fd: number;
  /** bytes in the current file */
  private size: number;
  /** only regular files are rotated (not /dev/stdout, a FIFO, ...) */
  private readonly regular: boolean;
  private readonly maxBytes: number;
  private readonly keep: number;
  /** PATH.1 .. PATH.n exist (found at start, then counted): renames only touch those */
  private rotated = 0;
  private carry = Buffer.alloc(0);
  private carryLen = 0;
  private retryAt = 0;
  private readonly reported = new Set<string>();
  private readonly log: (line: string) => void;

  /** opens (creates) PATH for appending; throws the open error (the caller words it) */
  constructor(o: RotatingFileOptions) {
    this.path = o.path;
    this.maxBytes = o.maxBytes;
    this.keep = o.keep;
    this.log = o.log ?? ((l) => process.stderr.write(l + "\n"));
    this.fd = openSync(o.path, "a", 0o640);
    const st = fstatSync(this.fd);
    this.regular = st.isFile();
    this.size = this.regular ? st.size : 0;
    while (this.rotated < this.keep && existsSync(`${o.path}.${this.rotated + 1}`)) this.rotated++;
    this.writer = new ByteWriter((b) => this.write(b));
  }

  /** a line of text (the newline is added) */
  line(s: string): void {
    const w = this.writer;
    w.room(s.length * 3 + 1);
    w.pos += w.buf.write(s, w.pos, "utf8");
    w.buf[w.pos++] = NL;
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.flush();
    if (this.carryLen > 0) {
      // (output always ends with a newline; this is only a safeguard)
      const c = Buffer.from(this.carry.subarray(0, this.carryLen));
      this.carryLen = 0;
      if (this.fd >= 0) this.put(c, 0, c.length);
    }
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** a block of output bytes; it may end inside a line */
  write(b: Buffer): void {
    const n = b.length;
    let off = 0;
    if (this.carryLen > 0) {
      const nl = b.indexOf(NL);
      if (nl < 0) {
        this.hold(b, 0, n);
        return;
      }
      this.hold(b, 0, nl + 1);
      const whole = this.carry.subarray(0, this.carryLen);
      this.carryLen = 0;
      this.lines(whole, 0, whole.length);
      off = nl + 1;
    }
    const end = b.lastIndexOf(NL) + 1;
    if (end > off) {
      this.lines(b, off, end);
      off = end;
    }
    if (off < n) this.hold(b, off, n);
  }

  /** keep the start of an unfinished line */
  private hold(b: Buffer, s: number, e: number): void {
    const need = this.carryLen + e - s;
    if (need > this.carry.length) {
      const c = Buffer.allocUnsafe(Math.max(need, 2 * this.carry.length, 4096));
      this.carry.copy(c, 0, 0, this.carryLen);
      this.carry = c;
    }
    b.copy(this.carry, this.carryLen, s, e);
    this.carryLen = need;
  }

  /** b[s, e) is whole lines: write them, rotating between lines as needed */
  private lines(b: Buffer, s: number, e: number): void {
    let off = s;
    while (off < e) {
      if (this.fd < 0 && !this.open()) {
        this.drop(b, off, e);
        return;
      }
      const room = this.regular ? this.maxBytes - this.size : Infinity;
      if (e - off <= room) {
        this.put(b, off, e);
        return;
      }
      // the whole lines that still fit (or a line longer than maxBytes, alone in its file)
      const cut = room > 0 ? b.lastIndexOf(NL, off + room - 1) : -1;
      const to = cut >= off ? cut + 1 : this.size === 0 ? b.indexOf(NL, off) + 1 : off;
      if (to > off) {
        // a failed write: the rest waits for the next block (no rotating files that did not fill)
        if (!this.put(b, off, to)) {
          this.drop(b, to, e);
          return;
        }
        off = to;
      }
      if (off < e && !this.rotate()) {
        this.put(b, off, e);
        return;
      }
    }
  }

  /** write b[s, e) (whole lines) to the current file; false: they were dropped */
  private put(b: Buffer, s: number, e: number): boolean {
    if (this.fd < 0) {
      this.drop(b, s, e);
      return false;
    }
    let done = 0;
    try {
      while (s + done < e) done += writeSync(this.fd, b, s + done, e - s - done);
    } catch (err) {
      // keep whole lines only: cut a partly written line off again
      const last = done > 0 ? b.lastIndexOf(NL, s + done - 1) : -1;
      const whole = last >= s ? last + 1 - s : 0;
      if (whole < done && this.regular) {
        try {
          ftruncateSync(this.fd, this.size + whole);
        } catch {
          /* nothing more to do */
        }
      }
      this.size += whole;
      this.bytes += whole;
      this.drop(b, s + whole, e);
      const code = (err as NodeJS.ErrnoException).code ?? "error";
      this.failed("writing", code);
      if (code === "EBADF") this.fd = -1;
      return false;
    }
    this.size += done;
    this.bytes += done;
    return true;
  }

  private drop(b: Buffer, s: number, e: number): void {
    for (let i = b.indexOf(NL, s); i >= 0 && i < e; i = b.indexOf(NL, i + 1)) this.droppedLines++;
  }

  private failed(what: string, code: string): void {
    if (this.reported.has(what + code)) return;
    this.reported.add(what + code);
    this.log(
      `netsig: error: --output-file ${this.path}: ${what} failed (${code}); lines that cannot be written are dropped and counted, the other outputs go on`,
    );
  }

  private open(): boolean {
    if (Date.now() < this.retryAt) return false;
    try {
      this.fd = openSync(this.path, "a", 0o640);
      this.size = fstatSync(this.fd).size;
      return true;
    } catch (e) {
      this.retryAt = Date.now() + RETRY_MS;
      this.failed("opening", (e as NodeJS.ErrnoException).code ?? "error");
      return false;
    }
  }

  /** PATH -> PATH.1 -> ... -> PATH.keep (deleted), then a new PATH; false: write on in the current file */
  private rotate(): boolean {
    if (Date.now() < this.retryAt) return false;
    const p = this.path;
    try {
      if (this.keep === 0) {
        unlinkSync(p);
      } else {
        if (this.rotated === this.keep) rmSync(`${p}.${this.keep}`, { force: true });
        for (let i = Math.min(this.rotated, this.keep - 1); i >= 1; i--) {
          try {
            renameSync(`${p}.${i}`, `${p}.${i + 1}`);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
          }
        }
        renameSync(p, `${p}.1`);
        this.rotated = Math.min(this.rotated + 1, this.keep);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      // PATH removed from outside (a log shipper): start a new one
      if (code !== "ENOENT") {
        this.retryAt = Date.now() + RETRY_MS;
        this.failed("rotating", code);
        return false;
      }
    }
    closeSync(this.fd);
    this.fd = -1;
    this.size = 0;
    this.rotations++;
    return this.open();
  }
}
