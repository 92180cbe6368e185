// The test data the repository carries: test/corpus (captures and oracle
// files of other projects) and test/spec (Tracee's example events). Each file
// is the one its manifest names (sha256 and size); no file is there that the
// manifest does not list; only the sources whose licences allow
// redistribution are there, each with its licence text and a NOTICE entry.
// lib/corpus.ts says where the tests look for them.

import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  CORPUS,
  corpusCaptures,
  corpusLabel,
  corpusManifest,
  haveOutsideCorpus,
  needsOutside,
  NOT_VENDORED,
  OUTSIDE_CORPUS,
  ROOT,
  SPEC,
  SPEC_DIR,
  verifyCorpus,
  verifySpec,
} from "./lib/corpus";

/** the vendored sources, their licence (as manifest.json words it) and the file carrying its text */
const SOURCES: Record<string, { license: RegExp; text: string; repo: string }> = {
  tcpdump: { license: /^BSD-3-Clause/, text: "LICENSE", repo: "https://github.com/the-tcpdump-group/tcpdump" },
  libpcap: { license: /^BSD-3-Clause/, text: "LICENSE", repo: "https://github.com/the-tcpdump-group/libpcap" },
  zeek: { license: /^BSD-3-Clause/, text: "COPYING", repo: "https://github.com/zeek/zeek" },
  "suricata-verify": { license: /^MIT/, text: "LICENSE", repo: "https://github.com/OISF/suricata-verify" },
  "pcapng-test-generator": { license: /^MIT/, text: "LICENSE", repo: "https://github.com/hadrielk/pcapng-test-generator" },
  ndpi: { license: /^LGPL-3\.0/, text: "COPYING", repo: "https://github.com/ntop/nDPI" },
};

test("test/corpus: every file has the sha256 and size of the manifest, and the manifest lists every file", () => {
  const m = corpusManifest();
  assert.ok(m.captures.length >= 78 && m.oracles.length >= 118, `${m.captures.length} captures, ${m.oracles.length} oracle files`);
  assert.deepEqual(verifyCorpus(), []);
});

test("test/corpus: only redistributable sources, each with its licence text, its snapshot commit and a NOTICE entry", () => {
  const notice = readFileSync(join(ROOT, "NOTICE"), "utf8");
  const m = corpusManifest();
  const sources = new Set([...m.captures, ...m.oracles].map((e) => e.path.split("/")[0]));
  assert.deepEqual([...sources].sort(), Object.keys(SOURCES).sort());
  for (const src of Object.keys(NOT_VENDORED)) assert.ok(!existsSync(join(CORPUS, src)), `${src}/ is not to be redistributed`);
  for (const c of m.captures) {
    const s = SOURCES[c.path.split("/")[0]];
    assert.match(c.license, s.license, c.path);
    assert.ok(notice.includes(c.snapshot_head), `${c.path}: NOTICE names the snapshot ${c.snapshot_head}`);
  }
  for (const [src, s] of Object.entries(SOURCES)) {
    assert.ok(readFileSync(join(CORPUS, src, s.text), "utf8").length > 500, `${src}/${s.text}`);
    assert.ok(notice.includes(s.repo), `NOTICE names ${s.repo}`);
    assert.ok(notice.includes(`test/corpus/${src}/`), `NOTICE names test/corpus/${src}/`);
  }
});

test("the check sees a changed, a missing and an unlisted file", () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-corpus-"));
  try {
    cpSync(CORPUS, dir, { recursive: true });
    const m = corpusManifest();
    const [a, b] = [m.captures[0].path, m.oracles[0].path];
    const buf = readFileSync(join(dir, a));
    buf[buf.length - 1] ^= 1;
    writeFileSync(join(dir, a), buf);
    rmSync(join(dir, b));
    writeFileSync(join(dir, "tcpdump", "extra.pcap"), "");
    const problems = verifyCorpus(dir);
    assert.equal(problems.length, 3, problems.join("\n"));
    assert.match(problems[0], new RegExp(`^${a}: sha256 `));
    assert.equal(problems[1], `${b}: missing`);
    assert.equal(problems[2], "tcpdump/extra.pcap: not in the manifest");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("test/spec: Tracee's example events, with the sha256 of their manifest and a NOTICE entry", () => {
  assert.deepEqual(verifySpec(), []);
  assert.equal(readFileSync(SPEC, "utf8").trim().split("\n").length, 47);
  const m = JSON.parse(readFileSync(join(SPEC_DIR, "manifest.json"), "utf8")) as { files: { commit: string }[] };
  assert.ok(readFileSync(join(ROOT, "NOTICE"), "utf8").includes(m.files[0].commit), "NOTICE names the Tracee commit");
});

test("files only beside the repository: read from there when it is there, else a one-line skip reason", () => {
  const rel = "pcap-attack/sigred-cve-2020-1350.pcapng";
  const reason = needsOutside("tcpdump/dns_udp.pcap", rel);
  if (haveOutsideCorpus()) {
    assert.equal(reason, false);
    assert.ok(corpusCaptures().some((c) => c.rel === rel && c.file === join(OUTSIDE_CORPUS, rel)));
    assert.equal(corpusLabel(join(OUTSIDE_CORPUS, rel)), rel);
  } else {
    assert.match(
      String(reason),
      /^needs pcap-attack\/sigred-cve-2020-1350\.pcapng: not in the repository \(no licence at all, test-only\)/,
    );
    assert.ok(!String(reason).includes("\n"));
    assert.ok(corpusCaptures().every((c) => c.file.startsWith(CORPUS)));
  }
  // a vendored file never turns into a skip: its absence is a failure
  assert.equal(needsOutside("tcpdump/dns_udp.pcap"), false);
  assert.equal(corpusLabel(join(CORPUS, "tcpdump", "dns_udp.pcap")), "tcpdump/dns_udp.pcap");
});
