// An append-only on-disk queue of lines (finding events as JSON lines) for
// one webhook, so that nothing is lost while a receiver is down or when
// netsig stops (also killed) before delivering.
//
// Layout of the folder:
//   seg-0000000000000001.jsonl ...   segments: lines appended, each ended by \n;
//                                    a new segment once one passes segmentBytes
//   offset.json                      {"segment":N,"offset":BYTES}: everything
//                                    before it was delivered (committed); written
//                                    to offset.json.tmp, fsynced, renamed over
//
// Order: lines are read back in the order they were appended, from the
// committed offset on; a segment is deleted once it is fully committed.
// Restart: the folder is reopened and reading continues at the committed
// offset. A line cut short by a crash (no final \n) is truncated away on open.
// Delivery is at-least-once: lines delivered but not yet committed when netsig
// dies are sent again.
//
// fsync policy: with `fsync` (the default) each append() call (one batch of
// findings) is fsynced before it returns, and so is every offset file; without
// it, data is in the page cache: safe if netsig is killed, not if the machine
// loses power.
//
// Bound: at most maxBytes of undelivered lines. When an append would pass it,
// the NEW lines are refused (counted in `droppedBound`, one log line per
// episode of being full): what is already queued stays and keeps its order,
// and the receiver that comes back gets the oldest findings, as they happened.
// The same choice when the disk is full or fails (ENOSPC, EIO): the lines
// written whole are kept, a torn one is cut off, the newest are refused and
// counted apart (`droppedDisk`, one log line per episode and error code).
//
// Opening: the folder is created and a probe file written, so a read-only or
// foreign folder is an error at start-up (its errno code), not a crash later.
// An offset.json that does not fit the segments (past a segment's end, in the
// middle of a line, naming a missing segment while earlier ones are on disk)
// is said in one line and delivery resumes at the earliest position that
// loses nothing (duplicates possible): never a silent skip.
//
// Damaged lines (not UTF-8, not JSON, refused by `validate`, longer than
// MAX_LINE_BYTES) are never handed out: each is appended to quarantine.jsonl
// in the spool folder (a JSON record: segment, offset, reason, the bytes;
// at most QUARANTINE_MAX_BYTES, past it only counted), counted in `damaged`,
// and logged once.

import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  appendFileSync,
} from "node:fs";
import { isUtf8 } from "node:buffer";
import { dirname, join } from "node:path";
import { readBounded } from "../bounded";

export interface SpoolOptions {
  dir: string;
  /** bound on undelivered bytes (default 256 MiB) */
  maxBytes?: number;
  /** roll to a new segment past this size (default 8 MiB) */
  segmentBytes?: number;
  fsync?: boolean;
  /** one-line messages (the bound reached, a damaged offset file) */
  log?: (msg: string) => void;
  /** a line's (parsed JSON) check before it is handed out: undefined when good, else why not */
  validate?: (value: unknown) => string | undefined;
}

export interface SpoolPosition {
  segment: number;
  offset: number;
}
export interface SpoolItem {
  line: string;
  next: SpoolPosition;
}

export const DEFAULT_SPOOL_BYTES = 256 * 1024 * 1024;
/** a spooled line longer than this is damaged (netsig's findings are far smaller) */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
/** the quarantine file stops growing here; further damaged lines are only counted */
export const QUARANTINE_MAX_BYTES = 16 * 1024 * 1024;
/** offset.json is a few dozen bytes; a larger one is damaged */
const OFFSET_FILE_MAX_BYTES = 4096;
/** segments are read in chunks of this size, not whole */
const READ_CHUNK = 1024 * 1024;
const SEGMENT_RE = /^seg-(\d{16})\.jsonl$/;

/** create `dir` (and missing parents) one level at a time, so the real error code shows (EROFS, EACCES), then write a probe file in it */
export function ensureWritableDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      statSync(d);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || dirname(d) === d) throw e;
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  const probe = join(dir, `.probe-${process.pid}`);
  closeSync(openSync(probe, "w"));
  unlinkSync(probe);
}

export class Spool {
  readonly dir: string;
  /** lines refused because the spool held maxBytes undelivered */
  droppedBound = 0;
  /** lines refused because the disk was full or failed (ENOSPC, EIO, EROFS) */
  droppedDisk = 0;
  /** damaged lines found when reading, quarantined (or only counted past QUARANTINE_MAX_BYTES) */
  damaged = 0;
  /** where damaged lines go */
  readonly quarantinePath: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private readonly log: (msg: string) => void;
  private readonly validate: (value: unknown) => string | undefined;
  /** segment number -> size in bytes, ascending */
  private segments = new Map<number, number>();
  private committed: SpoolPosition;
  private writeFd = -1;
  private writeSeg = 0;
  private full = false;
  /** error codes of the current episode of failed writes (one line each) */
  private writeErrors = new Set<string>();
  private offsetErrors = new Set<string>();
  /** damaged lines before this position were already quarantined */
  private quarantinedUpTo: SpoolPosition = { segment: 0, offset: 0 };
  private quarantineBytes = 0;

  constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.quarantinePath = join(o.dir, "quarantine.jsonl");
    this.maxBytes = o.maxBytes ?? DEFAULT_SPOOL_BYTES;
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    this.fsync = o.fsync ?? true;
    this.log = o.log ?? (() => undefined);
    this.validate = o.validate ?? ((v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? undefined : "not a JSON object"));
    ensureWritableDir(this.dir);
    try {
      this.quarantineBytes = statSync(this.quarantinePath).size;
    } catch {
      /* none yet */
    }
    const nums = readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m) => m !== null)
      .map((m) => Number(m![1]))
      .sort((a, b) => a - b);
    for (const n of nums) this.segments.set(n, statSync(this.segPath(n)).size);
    this.repairTail();
    this.committed = this.readOffset(nums);
    // segments wholly before the committed one were delivered (a crash before their deletion)
    for (const n of nums) if (n < this.committed.segment) this.removeSegment(n);
  }

  /** lines refused, for either cause */
  get dropped(): number {
    return this.droppedBound + this.droppedDisk;
  }

  /** undelivered bytes */
  get bytes(): number {
    let total = 0;
    for (const [n, size] of this.segments) {
      if (n < this.committed.segment) continue;
      total += n === this.committed.segment ? Math.max(0, size - this.committed.offset) : size;
    }
    return total;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  /**
   * append lines (without their \n); returns how many were taken: the first
   * ones that fit under the bound and on the disk (0: none)
   */
  append(lines: string[]): number {
    if (lines.length === 0) return 0;
    let data = Buffer.from(lines.join("\n") + "\n", "utf8");
    if (this.bytes + data.length > this.maxBytes) {
      // what fits goes in, in order; the rest is refused
      let fit = 0;
      for (let room = this.maxBytes - this.bytes; fit < lines.length; fit++) {
        room -= Buffer.byteLength(lines[fit], "utf8") + 1;
        if (room < 0) break;
      }
      this.droppedBound += lines.length - fit;
      if (!this.full)
        this.log(
          `spool ${this.dir} is full (${this.maxBytes} bytes undelivered, --spool-max-bytes): the oldest findings are kept, new ones are dropped and counted until it drains`,
        );
      this.full = true;
      if (fit === 0) return 0;
      lines = lines.slice(0, fit);
      data = Buffer.from(lines.join("\n") + "\n", "utf8");
    } else this.full = false;
    try {
      this.openForWrite(data.length);
    } catch (e) {
      return this.writeFailed(e, 0, lines.length);
    }
    const before = this.segments.get(this.writeSeg) ?? 0;
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.writeFd, data, off, data.length - off);
    } catch (e) {
      // keep the whole lines written; a torn one is cut off
      const keepBytes = off === 0 ? 0 : data.lastIndexOf(10, off - 1) + 1;
      let kept = 0;
      for (let i = data.indexOf(10); i >= 0 && i < keepBytes; i = data.indexOf(10, i + 1)) kept++;
      try {
        ftruncateSync(this.writeFd, before + keepBytes);
      } catch {
        /* the size below is what counts for reading */
      }
      this.segments.set(this.writeSeg, before + keepBytes);
      if (kept > 0 && this.fsync)
        try {
          fsyncSync(this.writeFd);
        } catch {
          /* said below */
        }
      return this.writeFailed(e, kept, lines.length - kept);
    }
    this.segments.set(this.writeSeg, before + data.length);
    if (this.fsync) {
      try {
        fsyncSync(this.writeFd);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "error";
        if (!this.writeErrors.has("fsync " + code))
          this.log(`spool ${this.dir}: fsync failed (${code}): findings kept, but may not survive a power loss`);
        this.writeErrors.add("fsync " + code);
        return lines.length;
      }
    }
    this.writeErrors.clear();
    return lines.length;
  }

  private writeFailed(e: unknown, kept: number, dropped: number): number {
    this.droppedDisk += dropped;
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    if (!this.writeErrors.has(code)) {
      const why = code === "ENOSPC" ? "the disk is full" : code === "EROFS" ? "read-only file system" : "a write error";
      this.log(
        `cannot write the spool ${this.dir} (${code}: ${why}): the oldest findings are kept (${kept} of this batch), the newest ${dropped} dropped and counted, until writes work again`,
      );
    }
    this.writeErrors.add(code);
    return kept;
  }

  /**
   * up to `max` good lines from the committed position on, without
   * committing them; damaged lines met on the way are quarantined (once)
   * and skipped
   */
  read(max: number, from: SpoolPosition = this.committed): SpoolItem[] {
    const items: SpoolItem[] = [];
    let skippedTo: SpoolPosition | null = null;
    for (const [n, size] of this.segments) {
      if (n < from.segment) continue;
      const start = n === from.segment ? from.offset : 0;
      if (start >= size) continue;
      const fd = openSync(this.segPath(n), "r");
      try {
        for (const l of segmentLines(fd, start, size)) {
          const next = { segment: n, offset: l.end + 1 };
          const why = l.data === null ? `longer than ${MAX_LINE_BYTES} bytes` : this.check(l.data);
          if (why === undefined) {
            items.push({ line: l.data!.toString("utf8"), next });
            if (items.length >= max) break;
            continue;
          }
          if (before(this.quarantinedUpTo, next)) {
            this.quarantine(n, l.start, l.end - l.start, why, l.data ?? l.head);
            this.quarantinedUpTo = next;
          }
          skippedTo = next;
        }
      } finally {
        closeSync(fd);
      }
      if (items.length >= max) break;
    }
    // nothing good, only damaged lines: pass them for good
    if (items.length === 0 && skippedTo && from === this.committed) this.commit(skippedTo);
    return items;
  }

  private check(data: Buffer): string | undefined {
    if (!isUtf8(data)) return "not UTF-8";
    let v: unknown;
    try {
      v = JSON.parse(data.toString("utf8"));
    } catch {
      return "not JSON";
    }
    return this.validate(v);
  }

  private quarantine(segment: number, offset: number, bytes: number, reason: string, data: Buffer): void {
    this.damaged++;
    const rec =
      JSON.stringify({
        time: new Date().toISOString(),
        segment,
        offset,
        bytes,
        reason,
        ...(isUtf8(data) ? { line: data.toString("utf8") } : { base64: data.toString("base64") }),
      }) + "\n";
    let kept = false;
    if (this.quarantineBytes + rec.length <= QUARANTINE_MAX_BYTES) {
      try {
        appendFileSync(this.quarantinePath, rec);
        this.quarantineBytes += Buffer.byteLength(rec);
        kept = true;
      } catch {
        /* counted, and said below */
      }
    }
    if (this.damaged === 1) {
      this.log(
        `spool ${this.dir}: a damaged line (segment ${segment}, byte ${offset}, ${bytes} bytes: ${reason}) is not delivered; ` +
          (kept
            ? `quarantined in ${this.quarantinePath}`
            : `not kept (the quarantine file ${this.quarantinePath} is full or not writable)`) +
          `; damaged lines are counted in the summary and /metrics`,
      );
    }
  }

  /** everything before `pos` was delivered */
  commit(pos: SpoolPosition): void {
    this.committed = { ...pos };
    const tmp = join(this.dir, "offset.json.tmp");
    try {
      const fd = openSync(tmp, "w");
      try {
        writeSync(fd, JSON.stringify(this.committed));
        if (this.fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(this.dir, "offset.json"));
      this.offsetErrors.clear();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "error";
      if (!this.offsetErrors.has(code)) {
        this.log(
          `cannot write ${join(this.dir, "offset.json")} (${code}): delivery goes on, but after a restart the findings delivered since are sent again (duplicates)`,
        );
      }
      this.offsetErrors.add(code);
      try {
        unlinkSync(tmp);
      } catch {
        /* none */
      }
    }
    // fully delivered segments go, except the one being written (unless
    // writes fail: then its space is given back at once)
    for (const [n, size] of [...this.segments]) {
      if (n === this.writeSeg && this.writeFd >= 0) {
        if (this.writeErrors.size === 0 || pos.segment !== n || pos.offset < size) continue;
        closeSync(this.writeFd);
        this.writeFd = -1;
        this.removeSegment(n);
        continue;
      }
      if (n < pos.segment || (n === pos.segment && pos.offset >= size && n !== this.lastSegment())) this.removeSegment(n);
    }
  }

  /** closes the file; an empty spool leaves an empty folder (and its quarantine file, if any) */
  close(): void {
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = -1;
    if (!this.empty) return;
    for (const n of [...this.segments.keys()]) this.removeSegment(n);
    try {
      unlinkSync(join(this.dir, "offset.json"));
    } catch {
      /* none */
    }
    this.committed = { segment: 0, offset: 0 };
  }

  private lastSegment(): number {
    let last = 0;
    for (const n of this.segments.keys()) last = n;
    return last;
  }

  private segPath(n: number): string {
    return join(this.dir, `seg-${String(n).padStart(16, "0")}.jsonl`);
  }

  private removeSegment(n: number): void {
    try {
      unlinkSync(this.segPath(n));
    } catch {
      /* already gone */
    }
    this.segments.delete(n);
  }

  private openForWrite(incoming: number): void {
    // numbers only grow: never below the committed segment (its file may be gone)
    const last = Math.max(this.lastSegment(), this.committed.segment);
    const size = this.segments.get(last) ?? 0;
    const target = !this.segments.has(last) || (size > 0 && size + incoming > this.segmentBytes) ? last + 1 : last;
    if (target === this.writeSeg && this.writeFd >= 0) return;
    const fd = openSync(this.segPath(target), "a");
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = fd;
    this.writeSeg = target;
    if (!this.segments.has(target)) this.segments.set(target, 0);
  }

  /** a line cut short by a crash (the last segment not ending in \n) is cut off */
  private repairTail(): void {
    const last = this.lastSegment();
    const size = this.segments.get(last);
    if (!size) return;
    const fd = openSync(this.segPath(last), "r");
    let end = 0;
    try {
      end = lastNewline(fd, size) + 1;
    } finally {
      closeSync(fd);
    }
    if (end === size) return;
    truncateSync(this.segPath(last), end);
    this.segments.set(last, end);
    this.log(`spool ${this.dir}: removed an incomplete last line (${size - end} bytes) left by a crash`);
  }

  private readOffset(nums: number[]): SpoolPosition {
    const first = { segment: nums[0] ?? 0, offset: 0 };
    const file = join(this.dir, "offset.json");
    let o: Partial<SpoolPosition> = {};
    try {
      o = JSON.parse(readBounded(file, OFFSET_FILE_MAX_BYTES).toString("utf8")) as Partial<SpoolPosition>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return first;
    }
    if (!(o !== null && Number.isSafeInteger(o.segment) && Number.isSafeInteger(o.offset) && o.offset! >= 0 && o.segment! >= 0)) {
      this.log(`spool ${this.dir}: ${file} is damaged; delivering the spool from its start (duplicates possible)`);
      return first;
    }
    const seg = o.segment!;
    const off = o.offset!;
    const size = this.segments.get(seg);
    if (size === undefined) {
      const earlier = nums.filter((n) => n < seg);
      // a delivered segment is deleted after offset.json names a later position: normal
      if (earlier.length === 0) return { segment: nums.find((n) => n > seg) ?? seg, offset: 0 };
      // segments are deleted oldest first, so earlier ones cannot have been delivered
      const count = earlier.reduce((k, n) => k + this.countLines(n), 0);
      this.log(
        `spool ${this.dir}: ${file} names segment ${seg}, which is missing, while earlier segments hold ${count} line(s): ` +
          `delivering them from the start of segment ${nums[0]} (duplicates possible)`,
      );
      return first;
    }
    if (off > size) {
      this.log(
        `spool ${this.dir}: ${file} points past the end of segment ${seg} (byte ${off} of ${size}): ` +
          `delivering segment ${seg} again from its start (${this.countLines(seg)} line(s), duplicates possible)`,
      );
      return { segment: seg, offset: 0 };
    }
    if (off > 0) {
      const fd = openSync(this.segPath(seg), "r");
      let lineStart = off;
      try {
        lineStart = lastNewline(fd, off) + 1;
      } finally {
        closeSync(fd);
      }
      if (lineStart !== off) {
        this.log(
          `spool ${this.dir}: ${file} points into the middle of a line of segment ${seg} (byte ${off}): ` +
            `resuming at the start of that line (byte ${lineStart}; it may be a duplicate)`,
        );
        return { segment: seg, offset: lineStart };
      }
    }
    return { segment: seg, offset: off };
  }

  private countLines(n: number): number {
    const size = this.segments.get(n) ?? 0;
    if (size === 0) return 0;
    const fd = openSync(this.segPath(n), "r");
    let k = 0;
    try {
      for (const _ of segmentLines(fd, 0, size)) k++;
    } finally {
      closeSync(fd);
    }
    return k;
  }
}

/** does `a` come strictly before `b`? */
function before(a: SpoolPosition, b: SpoolPosition): boolean {
  return a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);
}

interface SegmentLine {
  start: number;
  /** the offset of its \n */
  end: number;
  /** the line without its \n; null when longer than MAX_LINE_BYTES */
  data: Buffer | null;
  /** its first bytes (for the quarantine record of a line too long) */
  head: Buffer;
}

/** the complete lines (ended by \n) of a segment from `from` to `size`, read in chunks; a line too long is reported without its bytes */
function* segmentLines(fd: number, from: number, size: number): Generator<SegmentLine> {
  let pos = from;
  let lineStart = from;
  let carry: Buffer[] = [];
  let carryLen = 0;
  let head: Buffer | null = null;
  while (pos < size) {
    const buf = Buffer.alloc(Math.min(READ_CHUNK, size - pos));
    readFullySync(fd, buf, pos);
    let s = 0;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, s)) {
      const piece = buf.subarray(s, nl);
      let data: Buffer | null = null;
      if (head === null && carryLen + piece.length <= MAX_LINE_BYTES) data = carryLen ? Buffer.concat([...carry, piece]) : piece;
      yield { start: lineStart, end: pos + nl, data, head: head ?? (data ?? (carry.length ? carry[0] : piece)).subarray(0, 1024) };
      lineStart = pos + nl + 1;
      s = nl + 1;
      carry = [];
      carryLen = 0;
      head = null;
    }
    const rest = buf.subarray(s);
    if (head === null) {
      carry.push(rest);
      carryLen += rest.length;
      if (carryLen > MAX_LINE_BYTES) {
        head = Buffer.concat(carry).subarray(0, 1024);
        carry = [];
      }
    }
    pos += buf.length;
  }
}

/** the offset of the last \n before `end` (-1: none), read backwards in chunks */
function lastNewline(fd: number, end: number): number {
  for (let hi = end; hi > 0; ) {
    const lo = Math.max(0, hi - READ_CHUNK);
    const buf = Buffer.alloc(hi - lo);
    readFullySync(fd, buf, lo);
    const i = buf.lastIndexOf(10);
    if (i >= 0) return lo + i;
    hi = lo;
  }
  return -1;
}

function readFullySync(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) break;
    off += n;
  }
}
