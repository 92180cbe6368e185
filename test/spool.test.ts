// The webhook spool on a real folder: order, commit, segments, reopen after
// a restart, a torn last line, and the bound (new lines refused and counted).
// (A read-only and a full disk, which need root to mount a tmpfs, are in
// spool-mounts.test.ts.)

import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Spool } from "../engine/outputs/spool";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "netsig-spool-"));
}

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: from + i, pad: "x".repeat(50) }));

test("lines come back in order across segments; committed lines are not read again; delivered segments are deleted", () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, segmentBytes: 1000 });
    // a segment rolls between appends (one append stays in one segment)
    for (let i = 0; i < 100; i += 10) assert.equal(s.append(lines(10, i)), 10);
    assert.ok(readdirSync(dir).filter((f) => f.startsWith("seg-")).length > 3);
    const got = s.read(1000).map((i) => JSON.parse(i.line).n);
    assert.deepEqual(got, [...Array(100).keys()]);
    const first = s.read(30);
    s.commit(first[29].next);
    assert.equal(JSON.parse(s.read(1)[0].line).n, 30);
    const rest = s.read(1000);
    assert.equal(rest.length, 70);
    s.commit(rest[69].next);
    assert.ok(s.empty);
    assert.equal(s.bytes, 0);
    assert.ok(readdirSync(dir).filter((f) => f.startsWith("seg-")).length <= 1);
    s.append(lines(2, 100));
    assert.deepEqual(
      s.read(10).map((i) => JSON.parse(i.line).n),
      [100, 101],
    );
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("reopen continues from the committed offset (offset.json written by rename)", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir, segmentBytes: 500 });
    for (let i = 0; i < 20; i++) a.append(lines(1, i));
    a.commit(a.read(7)[6].next);
    a.close();
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(dir, "offset.json"), "utf8"))), ["segment", "offset"]);
    assert.ok(!readdirSync(dir).includes("offset.json.tmp"));
    const b = new Spool({ dir, segmentBytes: 500 });
    assert.deepEqual(
      b.read(100).map((i) => JSON.parse(i.line).n),
      [...Array(13).keys()].map((i) => i + 7),
    );
    b.append(lines(1, 20));
    assert.equal(JSON.parse(b.read(100).at(-1)!.line).n, 20);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a torn last line left by a crash is cut off, with one log line", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir });
    a.append(lines(3));
    a.close();
    const seg = readdirSync(dir).find((f) => f.startsWith("seg-"))!;
    appendFileSync(join(dir, seg), '{"n":3,"pa');
    const logs: string[] = [];
    const b = new Spool({ dir, log: (m) => logs.push(m) });
    assert.equal(b.read(10).length, 3);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /incomplete last line/);
    b.append(lines(1, 3));
    assert.deepEqual(
      b.read(10).map((i) => JSON.parse(i.line).n),
      [0, 1, 2, 3],
    );
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the bound: new lines are refused and counted, one log line while full; room again once delivered", () => {
  const dir = tmp();
  try {
    const logs: string[] = [];
    const s = new Spool({ dir, maxBytes: 1000, log: (m) => logs.push(m) });
    let taken = 0;
    for (let i = 0; i < 30; i++) taken += s.append(lines(1, i));
    assert.ok(taken > 5 && taken < 30, String(taken));
    assert.equal(s.dropped, 30 - taken);
    assert.ok(s.bytes <= 1000);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /is full/);
    // the oldest are kept, in order
    assert.deepEqual(
      s.read(100).map((i) => JSON.parse(i.line).n),
      [...Array(taken).keys()],
    );
    s.commit(s.read(100).at(-1)!.next);
    assert.equal(s.append(lines(1, 99)), 1);
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the bound with one big append: the first lines that fit are taken, in order, the rest refused and counted", () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, maxBytes: 1000, log: () => undefined });
    const batch = Array.from({ length: 30 }, (_, i) => lines(1, i)[0]);
    const taken = s.append(batch);
    const fits = (() => {
      let room = 1000,
        n = 0;
      for (const l of batch) {
        room -= Buffer.byteLength(l) + 1;
        if (room < 0) break;
        n++;
      }
      return n;
    })();
    assert.ok(fits > 5 && fits < 30, String(fits));
    assert.equal(taken, fits);
    assert.equal(s.dropped, 30 - fits);
    assert.ok(s.bytes <= 1000, String(s.bytes));
    assert.deepEqual(
      s.read(100).map((i) => JSON.parse(i.line).n),
      [...Array(fits).keys()],
    );
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** the segment files of a spool folder, oldest first */
const segs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^seg-\d+\.jsonl$/.test(f))
    .sort();

test("an offset.json past the end of its segment: nothing pending is lost; the segment is delivered again from its start, with one log line", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir });
    a.append(lines(1000));
    a.close();
    writeFileSync(join(dir, "offset.json"), JSON.stringify({ segment: 1, offset: 10_000_000 }));
    const logs: string[] = [];
    const b = new Spool({ dir, log: (m) => logs.push(m) });
    assert.deepEqual(
      b.read(2000).map((i) => JSON.parse(i.line).n),
      [...Array(1000).keys()],
    );
    assert.equal(logs.length, 1, logs.join("\n"));
    assert.match(logs[0], /offset\.json .*past the end of segment 1.*from its start.*duplicates possible/);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an offset.json naming a missing segment, with earlier segments on disk: they are delivered (not deleted), with one log line", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir, segmentBytes: 20_000 });
    for (let i = 0; i < 1000; i += 100) a.append(lines(100, i));
    a.close();
    assert.ok(segs(dir).length > 2);
    writeFileSync(join(dir, "offset.json"), JSON.stringify({ segment: 99, offset: 0 }));
    const logs: string[] = [];
    const b = new Spool({ dir, log: (m) => logs.push(m) });
    assert.deepEqual(
      b.read(2000).map((i) => JSON.parse(i.line).n),
      [...Array(1000).keys()],
    );
    assert.equal(logs.length, 1, logs.join("\n"));
    assert.match(logs[0], /offset\.json names segment 99, which is missing.*1000 line/);
    // new lines go after the old ones, in order
    b.append(lines(1, 1000));
    assert.equal(JSON.parse(b.read(2000).at(-1)!.line).n, 1000);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an offset in the middle of a line: delivery resumes at the start of that line, never mid-line, with one log line", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir });
    a.append(lines(10));
    a.close();
    const line = Buffer.byteLength(lines(1)[0]) + 1;
    writeFileSync(join(dir, "offset.json"), JSON.stringify({ segment: 1, offset: 3 * line + 7 }));
    const logs: string[] = [];
    const b = new Spool({ dir, log: (m) => logs.push(m) });
    assert.deepEqual(
      b.read(100).map((i) => JSON.parse(i.line).n),
      [3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(logs.length, 1);
    assert.match(logs[0], /middle of a line/);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("damaged lines (random bytes, a cut line, JSON that fails the check) are not read back: quarantined beside the spool, counted, logged once", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir });
    a.append(lines(3));
    a.close();
    const seg = join(dir, segs(dir)[0]);
    const junk = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x7b, 0xff]);
    appendFileSync(seg, Buffer.concat([junk, Buffer.from("\n")]));
    appendFileSync(seg, lines(1, 3)[0].slice(20) + "\n"); // the tail of a line
    appendFileSync(seg, JSON.stringify({ other: true }) + "\n"); // JSON, but not what was written
    appendFileSync(seg, lines(1, 4)[0] + "\n");
    const logs: string[] = [];
    const validate = (v: unknown) => (typeof (v as { n?: unknown }).n === "number" ? undefined : "not a spooled line");
    const b = new Spool({ dir, log: (m) => logs.push(m), validate });
    const got = b.read(100);
    assert.deepEqual(
      got.map((i) => JSON.parse(i.line).n),
      [0, 1, 2, 4],
    );
    assert.equal(b.damaged, 3);
    // read again (a batch waiting): not quarantined twice
    b.read(100);
    assert.equal(b.damaged, 3);
    assert.equal(logs.filter((l) => /damaged/.test(l)).length, 1, logs.join("\n"));
    assert.match(logs.find((l) => /damaged/.test(l))!, /quarantine/);
    const q = readFileSync(b.quarantinePath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(q.length, 3);
    assert.deepEqual(Buffer.from(q[0].base64, "base64"), junk);
    assert.equal(q[1].line, lines(1, 3)[0].slice(20));
    assert.deepEqual(
      q.map((r) => r.segment),
      [1, 1, 1],
    );
    b.commit(got.at(-1)!.next);
    assert.ok(b.empty);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a segment of only damaged bytes (no newline, larger than a line may be) is quarantined and passed, not loaded whole", () => {
  const dir = tmp();
  try {
    const a = new Spool({ dir });
    a.append(lines(2));
    a.close();
    // a later segment of 20 MiB of random bytes without a newline, then a good line
    const big = Buffer.alloc(20 * 1024 * 1024, 0x41);
    writeFileSync(join(dir, "seg-0000000000000002.jsonl"), Buffer.concat([big, Buffer.from("\n" + lines(1, 2)[0] + "\n")]));
    const b = new Spool({ dir, log: () => undefined });
    assert.deepEqual(
      b.read(100).map((i) => JSON.parse(i.line).n),
      [0, 1, 2],
    );
    assert.equal(b.damaged, 1);
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
