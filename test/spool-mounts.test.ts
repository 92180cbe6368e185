// The webhook spool on a mounted tmpfs (needs root: mount): a spool folder on
// a read-only mount, and a disk that fills up. The rest of the spool's tests
// are in spool.test.ts.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Spool } from "../engine/outputs/spool";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "netsig-spool-"));
}

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: from + i, pad: "x".repeat(50) }));

test("a spool folder that cannot be written (a read-only mount) is refused when opened, with the error code", () => {
  const dir = tmp();
  const ro = join(dir, "ro");
  mkdirSync(ro);
  execFileSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro]);
  try {
    assert.throws(
      () => new Spool({ dir: join(ro, "sub") }),
      (e: NodeJS.ErrnoException) => e.code === "EROFS",
    );
    assert.throws(
      () => new Spool({ dir: ro }),
      (e: NodeJS.ErrnoException) => e.code === "EROFS",
    );
  } finally {
    execFileSync("umount", ["-l", ro]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a disk that fills up: the lines that fit are kept whole (no torn line), the rest counted as dropped for disk, apart from the bound", () => {
  const dir = tmp();
  const mnt = join(dir, "small");
  mkdirSync(mnt);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", mnt]);
  try {
    const logs: string[] = [];
    const s = new Spool({ dir: join(mnt, "sub"), log: (m) => logs.push(m) });
    const taken = s.append(lines(5000));
    assert.ok(taken > 1000 && taken < 5000, String(taken));
    assert.equal(s.droppedDisk, 5000 - taken);
    assert.equal(s.droppedBound, 0);
    assert.equal(logs.filter((l) => /ENOSPC/.test(l)).length, 1, logs.join("\n"));
    assert.deepEqual(
      s.read(10_000).map((i) => JSON.parse(i.line).n),
      [...Array(taken).keys()],
      "the oldest kept, whole, in order",
    );
    assert.equal(s.append(lines(1, 9999)), 0);
    assert.equal(s.droppedDisk, 5000 - taken + 1);
    // room again once delivered
    s.commit(s.read(10_000).at(-1)!.next);
    assert.equal(s.append(lines(1, 10_000)), 1);
    s.close();
  } finally {
    execFileSync("umount", ["-l", mnt]);
    rmSync(dir, { recursive: true, force: true });
  }
});
