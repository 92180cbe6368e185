// Where the tests find their captures and oracle files.
//
// The corpus is a set of public captures with what other decoders say about
// them (tcpdump .out, Suricata test.yaml, Zeek baselines, nDPI results,
// pcapng-test-generator block lists), laid out as <source>/<file>.
//
// - test/corpus/ (in the repository, the primary source): the sources whose
//   licences allow redistribution (BSD-3-Clause, MIT, LGPL-3.0; NOTICE and each
//   folder's LICENSE or COPYING), with manifest.json listing every file, its
//   origin, licence and sha256 (test/corpus.test.ts checks them).
// - the full corpus beside the repository (../shared/corpus, or
//   $NETSIG_CORPUS), when it is there: its captures that are not in the
//   repository (chrissanders-packets/, pcap-attack/: no licence to
//   redistribute them) run too. A test that needs one of them skips, saying
//   which file and why, when it is absent.
//
// test/spec/tracee-net-events.jsonl: the example events of Tracee's
// documentation (Apache-2.0), with test/spec/manifest.json.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";

/** the repository (this file is dist/test/lib/corpus.js once built) */
export const ROOT = resolve(__dirname, "..", "..", "..");
/** the corpus in the repository */
export const CORPUS = join(ROOT, "test", "corpus");
/** the full corpus beside the repository, if any */
export const OUTSIDE_CORPUS = process.env.NETSIG_CORPUS ? resolve(process.env.NETSIG_CORPUS) : resolve(ROOT, "..", "shared", "corpus");
/** Tracee's example events */
export const SPEC_DIR = join(ROOT, "test", "spec");
export const SPEC = join(SPEC_DIR, "tracee-net-events.jsonl");

export interface ManifestCapture {
  path: string;
  repo: string;
  commit: string;
  snapshot_head: string;
  orig_path: string;
  license: string;
  format: string;
  /** "1 EN10MB (Ethernet)", several joined by ", " */
  linktype: string;
  packets: number;
  origin: string;
  covers: string;
  sha256: string;
  size: number;
  oracle: string[];
  [k: string]: unknown;
}

export interface ManifestOracle {
  path: string;
  repo: string;
  commit: string;
  orig_path: string;
  kind: string;
  for_capture: string;
  sha256: string;
}

export interface Manifest {
  captures: ManifestCapture[];
  oracles: ManifestOracle[];
}

/** the sources of the full corpus that are not in the repository, and why */
export const NOT_VENDORED: Record<string, string> = {
  "chrissanders-packets": "no licence file, only a request to cite the author",
  "pcap-attack": "no licence at all, test-only",
};

function readManifest(dir: string): Manifest | null {
  const f = join(dir, "manifest.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as Manifest) : null;
}

let inRepo: Manifest | undefined;
/** test/corpus/manifest.json */
export function corpusManifest(): Manifest {
  inRepo ??= readManifest(CORPUS) ?? { captures: [], oracles: [] };
  return inRepo;
}

let outside: Manifest | null | undefined;
/** the manifest of the corpus beside the repository, or null when it is not there */
export function outsideManifest(): Manifest | null {
  if (outside === undefined) outside = resolve(OUTSIDE_CORPUS) === resolve(CORPUS) ? null : readManifest(OUTSIDE_CORPUS);
  return outside;
}

/** whether the full corpus is beside the repository */
export function haveOutsideCorpus(): boolean {
  return outsideManifest() !== null;
}

function vendored(rel: string): boolean {
  const m = corpusManifest();
  return m.captures.some((c) => c.path === rel) || m.oracles.some((o) => o.path === rel);
}

/**
 * The absolute path of corpus file `rel` (<source>/<file>): the repository's
 * copy, else the one beside the repository, else (neither exists) the
 * repository's path, so that reading it fails loudly.
 */
export function corpusFile(rel: string): string {
  const here = join(CORPUS, rel);
  if (existsSync(here) || vendored(rel)) return here;
  const there = join(OUTSIDE_CORPUS, rel);
  return existsSync(there) ? there : here;
}

/**
 * false when every file of `rels` can be read; else a one-line skip reason
 * naming the first file that is only in the corpus beside the repository. A
 * file the repository's manifest lists is never "missing" here: its absence
 * is a failure, not a skip.
 */
export function needsOutside(...rels: string[]): string | false {
  for (const rel of rels) {
    if (vendored(rel) || existsSync(join(CORPUS, rel)) || existsSync(join(OUTSIDE_CORPUS, rel))) continue;
    const why = NOT_VENDORED[rel.split("/")[0]] ?? "not part of the vendored corpus";
    return `needs ${rel}: not in the repository (${why}) and no corpus beside it at ${OUTSIDE_CORPUS}`;
  }
  return false;
}

/** whether corpus file `rel` can be read (in the repository or beside it) */
export function haveCorpusFile(rel: string): boolean {
  return needsOutside(rel) === false;
}

export interface CorpusCapture {
  rel: string;
  file: string;
  entry: ManifestCapture;
}

/**
 * Every capture: the repository's manifest, in its order, then the captures
 * only the corpus beside the repository has (when it is there).
 */
export function corpusCaptures(): CorpusCapture[] {
  const out: CorpusCapture[] = corpusManifest().captures.map((c) => ({ rel: c.path, file: join(CORPUS, c.path), entry: c }));
  const seen = new Set(out.map((c) => c.rel));
  for (const c of outsideManifest()?.captures ?? []) {
    if (!seen.has(c.path)) out.push({ rel: c.path, file: join(OUTSIDE_CORPUS, c.path), entry: c });
  }
  return out;
}

/** the captures of corpusCaptures(), sorted by <source>/<file> */
export function corpusCapturesSorted(): CorpusCapture[] {
  return corpusCaptures().sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** <source>/<file> of a corpus file's absolute path (either corpus); the path itself otherwise */
export function corpusLabel(file: string): string {
  for (const root of [CORPUS, OUTSIDE_CORPUS]) {
    if (file.startsWith(root + sep)) return relative(root, file).split(sep).join("/");
  }
  return file;
}

export function sha256(buf: Buffer): string {
  return createHash("sha256").update(buf).digest("hex");
}

/** files the corpus folder holds besides those its manifest lists */
const CORPUS_EXTRAS = /^(manifest\.json|README\.md|[^/]+\/(LICENSE|COPYING)|tcpdump\/TESTLIST\.selected)$/;

/**
 * Problems with the vendored corpus, one line each (none: it is whole): a
 * file of the manifest missing or with another sha256 or size, a file that the
 * manifest does not list, a source that is not to be redistributed.
 */
export function verifyCorpus(dir = CORPUS): string[] {
  const m = readManifest(dir);
  if (m === null) return [`${join(dir, "manifest.json")} is missing`];
  const problems: string[] = [];
  const listed = new Set<string>();
  const entries: { path: string; sha256: string; size?: number }[] = [...m.captures, ...m.oracles];
  for (const e of entries) {
    listed.add(e.path);
    if (NOT_VENDORED[e.path.split("/")[0]] !== undefined) problems.push(`${e.path}: its source is not to be redistributed`);
    const f = join(dir, e.path);
    if (!existsSync(f)) {
      problems.push(`${e.path}: missing`);
      continue;
    }
    const buf = readFileSync(f);
    if (sha256(buf) !== e.sha256) problems.push(`${e.path}: sha256 ${sha256(buf)}, the manifest says ${e.sha256}`);
    if (e.size !== undefined && buf.length !== e.size) problems.push(`${e.path}: ${buf.length} bytes, the manifest says ${e.size}`);
  }
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        walk(p);
        continue;
      }
      const rel = relative(dir, p).split(sep).join("/");
      if (!listed.has(rel) && !CORPUS_EXTRAS.test(rel)) problems.push(`${rel}: not in the manifest`);
    }
  };
  walk(dir);
  return problems;
}

export interface SpecManifest {
  files: { path: string; sha256: string; size: number; repo: string; commit: string; orig_path: string; license: string }[];
}

/** the same for test/spec/ (its manifest.json) */
export function verifySpec(dir = SPEC_DIR): string[] {
  const f = join(dir, "manifest.json");
  if (!existsSync(f)) return [`${f} is missing`];
  const m = JSON.parse(readFileSync(f, "utf8")) as SpecManifest;
  const problems: string[] = [];
  for (const e of m.files) {
    const p = join(dir, e.path);
    if (!existsSync(p)) {
      problems.push(`${e.path}: missing`);
      continue;
    }
    const buf = readFileSync(p);
    if (sha256(buf) !== e.sha256) problems.push(`${e.path}: sha256 ${sha256(buf)}, the manifest says ${e.sha256}`);
    if (buf.length !== e.size) problems.push(`${e.path}: ${buf.length} bytes, the manifest says ${e.size}`);
  }
  return problems;
}
