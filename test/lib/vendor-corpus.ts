// Copies the redistributable part of the full corpus into test/corpus/.
//
//   npm run build && node dist/test/lib/vendor-corpus.js [FULL_CORPUS]
//
// FULL_CORPUS defaults to ../shared/corpus (or $NETSIG_CORPUS). Only the
// sources in VENDORED are copied (captures and oracle files, same
// <source>/<file> layout), each checked against the full corpus's sha256;
// manifest.json is the full one filtered to them (same schema). The licence
// files (LICENSE, COPYING) and README.md of test/corpus/ are kept as they are.
// Not a test: run by hand when the corpus changes.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CORPUS, type Manifest, NOT_VENDORED, OUTSIDE_CORPUS, sha256, verifyCorpus } from "./corpus";

/** sources whose licences allow redistribution, and the licence */
export const VENDORED: Record<string, string> = {
  tcpdump: "BSD-3-Clause",
  libpcap: "BSD-3-Clause",
  zeek: "BSD-3-Clause",
  "suricata-verify": "MIT",
  "pcapng-test-generator": "MIT",
  ndpi: "LGPL-3.0",
};

function main(): void {
  const from = resolve(process.argv[2] ?? OUTSIDE_CORPUS);
  const full = JSON.parse(readFileSync(join(from, "manifest.json"), "utf8")) as Manifest;
  const keep = (path: string): boolean => {
    const src = path.split("/")[0];
    if (NOT_VENDORED[src] !== undefined) return false;
    if (VENDORED[src] === undefined) throw new Error(`${path}: source ${src} is neither vendored nor excluded; decide its licence first`);
    return true;
  };
  const out: Manifest = { captures: full.captures.filter((c) => keep(c.path)), oracles: full.oracles.filter((o) => keep(o.path)) };
  for (const c of out.captures) {
    if (!c.license.startsWith(VENDORED[c.path.split("/")[0]])) throw new Error(`${c.path}: licence ${c.license}`);
  }
  const copy = (rel: string, want?: string): void => {
    const buf = readFileSync(join(from, rel));
    if (want !== undefined && sha256(buf) !== want) throw new Error(`${rel}: sha256 ${sha256(buf)}, manifest ${want}`);
    mkdirSync(dirname(join(CORPUS, rel)), { recursive: true });
    copyFileSync(join(from, rel), join(CORPUS, rel));
  };
  for (const e of [...out.captures, ...out.oracles]) copy(e.path, e.sha256);
  if (existsSync(join(from, "tcpdump", "TESTLIST.selected"))) copy("tcpdump/TESTLIST.selected"); // the options of each .out
  writeFileSync(join(CORPUS, "manifest.json"), JSON.stringify(out, null, 1) + "\n");
  const problems = verifyCorpus();
  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`${out.captures.length} captures and ${out.oracles.length} oracle files in ${CORPUS}`);
}

if (require.main === module) main();
