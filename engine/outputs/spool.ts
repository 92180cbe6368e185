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
// the NEW lines are refused (counted in `dropped`, one log line per episode of
// being full): what is already queued stays and keeps its order, and the
// receiver that comes back gets the oldest findings, as they happened.

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, truncateSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

export interface SpoolOptions {
  dir: string;
  /** bound on undelivered bytes (default 256 MiB) */
  maxBytes?: number;
  /** roll to a new segment past this size (default 8 MiB) */
  segmentBytes?: number;
  fsync?: boolean;
  /** one-line messages (the bound reached, a damaged offset file) */
  log?: (msg: string) => void;
}

export interface SpoolPosition { segment: number; offset: number }
export interface SpoolItem { line: string; next: SpoolPosition }

export const DEFAULT_SPOOL_BYTES = 256 * 1024 * 1024;
const SEGMENT_RE = /^seg-(\d{16})\.jsonl$/;

export class Spool {
  readonly dir: string;
  /** lines refused because the spool was full */
  dropped = 0;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsync: boolean;
  private readonly log: (msg: string) => void;
  /** segment number -> size in bytes, ascending */
  private segments = new Map<number, number>();
  private committed: SpoolPosition;
  private writeFd = -1;
  private writeSeg = 0;
  private full = false;

  constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes ?? DEFAULT_SPOOL_BYTES;
    this.segmentBytes = o.segmentBytes ?? 8 * 1024 * 1024;
    this.fsync = o.fsync ?? true;
    this.log = o.log ?? (() => undefined);
    mkdirSync(this.dir, { recursive: true });
    const nums = readdirSync(this.dir).map((f) => SEGMENT_RE.exec(f)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => a - b);
    for (const n of nums) this.segments.set(n, statSync(this.segPath(n)).size);
    this.repairTail();
    this.committed = this.readOffset(nums);
    // segments wholly before the committed one were delivered (a crash before their deletion)
    for (const n of nums) if (n < this.committed.segment) this.removeSegment(n);
  }

  /** undelivered bytes */
  get bytes(): number {
    let total = 0;
    for (const [n, size] of this.segments) total += n === this.committed.segment ? size - this.committed.offset : size;
    return total;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  /** append lines (without their \n); returns how many were taken (the first ones that fit; 0: the spool is full) */
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
      this.dropped += lines.length - fit;
      if (!this.full) this.log(`spool ${this.dir} is full (${this.maxBytes} bytes undelivered): new findings are dropped and counted until it drains`);
      this.full = true;
      if (fit === 0) return 0;
      lines = lines.slice(0, fit);
      data = Buffer.from(lines.join("\n") + "\n", "utf8");
    } else this.full = false;
    this.openForWrite(data.length);
    let off = 0;
    while (off < data.length) off += writeSync(this.writeFd, data, off, data.length - off);
    if (this.fsync) fsyncSync(this.writeFd);
    this.segments.set(this.writeSeg, (this.segments.get(this.writeSeg) ?? 0) + data.length);
    return lines.length;
  }

  /** up to `max` lines from the committed position on, without committing them */
  read(max: number, from: SpoolPosition = this.committed): SpoolItem[] {
    const items: SpoolItem[] = [];
    let pos = { ...from };
    for (const [n, size] of this.segments) {
      if (n < pos.segment) continue;
      if (n > pos.segment) pos = { segment: n, offset: 0 };
      if (pos.offset >= size) continue;
      const buf = Buffer.alloc(size - pos.offset);
      const fd = openSync(this.segPath(n), "r");
      try { readFullySync(fd, buf, pos.offset); } finally { closeSync(fd); }
      let start = 0;
      for (let nl = buf.indexOf(10); nl >= 0 && items.length < max; nl = buf.indexOf(10, start)) {
        items.push({ line: buf.toString("utf8", start, nl), next: { segment: n, offset: pos.offset + nl + 1 } });
        start = nl + 1;
      }
      if (items.length >= max) break;
    }
    return items;
  }

  /** everything before `pos` was delivered */
  commit(pos: SpoolPosition): void {
    this.committed = { ...pos };
    const tmp = join(this.dir, "offset.json.tmp");
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify(this.committed));
      if (this.fsync) fsyncSync(fd);
    } finally { closeSync(fd); }
    renameSync(tmp, join(this.dir, "offset.json"));
    // fully delivered segments go, except the one being written
    for (const [n, size] of [...this.segments]) {
      if (n === this.writeSeg && this.writeFd >= 0) continue;
      if (n < pos.segment || (n === pos.segment && pos.offset >= size && n !== this.lastSegment())) this.removeSegment(n);
    }
  }

  /** closes the file; an empty spool leaves an empty folder */
  close(): void {
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = -1;
    if (!this.empty) return;
    for (const n of [...this.segments.keys()]) this.removeSegment(n);
    try { unlinkSync(join(this.dir, "offset.json")); } catch { /* none */ }
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
    try { unlinkSync(this.segPath(n)); } catch { /* already gone */ }
    this.segments.delete(n);
  }

  private openForWrite(incoming: number): void {
    // numbers only grow: never below the committed segment (its file may be gone)
    const last = Math.max(this.lastSegment(), this.committed.segment);
    const size = this.segments.get(last) ?? 0;
    const target = !this.segments.has(last) || (size > 0 && size + incoming > this.segmentBytes) ? last + 1 : last;
    if (target === this.writeSeg && this.writeFd >= 0) return;
    if (this.writeFd >= 0) closeSync(this.writeFd);
    this.writeFd = openSync(this.segPath(target), "a");
    this.writeSeg = target;
    if (!this.segments.has(target)) this.segments.set(target, 0);
  }

  /** a line cut short by a crash (the last segment not ending in \n) is cut off */
  private repairTail(): void {
    const last = this.lastSegment();
    const size = this.segments.get(last);
    if (!size) return;
    const buf = readFileSync(this.segPath(last));
    const end = buf.lastIndexOf(10) + 1;
    if (end === buf.length) return;
    truncateSync(this.segPath(last), end);
    this.segments.set(last, end);
    this.log(`spool ${this.dir}: removed an incomplete last line (${buf.length - end} bytes) left by a crash`);
  }

  private readOffset(nums: number[]): SpoolPosition {
    const first = { segment: nums[0] ?? 0, offset: 0 };
    let text: string;
    try { text = readFileSync(join(this.dir, "offset.json"), "utf8"); } catch { return first; }
    try {
      const o = JSON.parse(text) as Partial<SpoolPosition>;
      if (Number.isInteger(o.segment) && Number.isInteger(o.offset) && o.offset! >= 0) {
        const size = this.segments.get(o.segment!);
        if (size === undefined) return { segment: nums.find((n) => n > o.segment!) ?? o.segment!, offset: 0 };
        return { segment: o.segment!, offset: Math.min(o.offset!, size) };
      }
    } catch { /* below */ }
    this.log(`spool ${this.dir}: offset.json is damaged; delivering the spool from its start (duplicates possible)`);
    return first;
  }
}

function readFullySync(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) break;
    off += n;
  }
}
