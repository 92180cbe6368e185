// The webhook spool on a real folder: order, commit, segments, reopen after
// a restart, a torn last line, and the bound (new lines refused and counted).

import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
    assert.deepEqual(s.read(10).map((i) => JSON.parse(i.line).n), [100, 101]);
    s.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
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
    assert.deepEqual(b.read(100).map((i) => JSON.parse(i.line).n), [...Array(13).keys()].map((i) => i + 7));
    b.append(lines(1, 20));
    assert.equal(JSON.parse(b.read(100).at(-1)!.line).n, 20);
    b.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
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
    assert.deepEqual(b.read(10).map((i) => JSON.parse(i.line).n), [0, 1, 2, 3]);
    b.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
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
    assert.deepEqual(s.read(100).map((i) => JSON.parse(i.line).n), [...Array(taken).keys()]);
    s.commit(s.read(100).at(-1)!.next);
    assert.equal(s.append(lines(1, 99)), 1);
    s.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("the bound with one big append: the first lines that fit are taken, in order, the rest refused and counted", () => {
  const dir = tmp();
  try {
    const s = new Spool({ dir, maxBytes: 1000, log: () => undefined });
    const batch = Array.from({ length: 30 }, (_, i) => lines(1, i)[0]);
    const taken = s.append(batch);
    const fits = (() => { let room = 1000, n = 0; for (const l of batch) { room -= Buffer.byteLength(l) + 1; if (room < 0) break; n++; } return n; })();
    assert.ok(fits > 5 && fits < 30, String(fits));
    assert.equal(taken, fits);
    assert.equal(s.dropped, 30 - fits);
    assert.ok(s.bytes <= 1000, String(s.bytes));
    assert.deepEqual(s.read(100).map((i) => JSON.parse(i.line).n), [...Array(fits).keys()]);
    s.close();
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
