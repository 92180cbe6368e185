// `--config FILE`: the YAML file's keys are the command's long options; flags
// on the command line win; every mistake is one line naming the file and line.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { netsig } from "./lib/run";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "dns-lo.pcap");

function withFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "netsig-config-"));
  try {
    const f = join(dir, "netsig.yaml");
    writeFileSync(f, text);
    fn(f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("config: settings from the file, flags win, lists add up", () => {
  withFile(
    `# replay with the shipped signatures, as a table
signatures:
  - ${join(ROOT, "signatures")}
output: table
quiet: true
`,
    (f) => {
      const t = netsig(["replay", EXAMPLE, "--config", f]);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(t.stderr, "", "quiet: true from the file");
      const rows = t.stdout.trim().split("\n");
      assert.equal(rows.length, 2, t.stdout);
      assert.ok(
        rows.every((r) => /^\S+Z dns_rebinding\s/.test(r)),
        t.stdout,
      );
      // a flag overrides the file
      const j = netsig(["replay", EXAMPLE, "--config", f, "--output", "json"]);
      assert.equal(j.code, 0, j.stderr);
      assert.equal(
        j.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).eventName).length,
        2,
      );
    },
  );
  // without the file the same command prints all events
  const plain = netsig(["replay", EXAMPLE, "--quiet"]);
  assert.ok(plain.stdout.trim().split("\n").length > 100);
});

test("config: unknown key, wrong type, broken YAML, missing file: one line with file:line, exit 2", () => {
  const cases: [string, RegExp][] = [
    ["output: table\nifacee: lo\n", /netsig\.yaml:2: unknown option "ifacee"/],
    ["quiet: true\noutput: [json, table]\n", /netsig\.yaml:2: "output" must be a single value/],
    ["quiet: yes please\n", /netsig\.yaml:1: "quiet" must be true or false/],
    ["output: json\n  bad: : x\n", /netsig\.yaml:2: not valid YAML/],
    ["- a\n- b\n", /netsig\.yaml:1: the file must be a mapping of option names to values/],
  ];
  for (const [text, re] of cases) {
    withFile(text, (f) => {
      const r = netsig(["replay", EXAMPLE, "--config", f]);
      assert.equal(r.code, 2, text);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^netsig: error: /);
    });
  }
  const missing = netsig(["run", "--config", "/nonexistent/netsig.yaml"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^netsig: error: cannot read --config \/nonexistent\/netsig\.yaml: ENOENT\n$/);
});
