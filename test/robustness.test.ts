// Robustness: damaged captures and user mistakes never crash netsig.
//
// Every capture of the corpus (and the bundled examples) is
//   - cut short at seeded random offsets (one in the file header area, one
//     anywhere, one in the last bytes) and replayed by the real CLI (the
//     second cut piped to `netsig replay -`, the others as files);
//   - given random byte errors by `editcap -E 0.01 --seed N` (packet bytes
//     only: the container stays valid) and replayed by the real CLI;
//   - piped whole to `netsig replay -` (one capture of each kind), which must
//     print exactly what replaying the file does.
// The CLI must exit 0, 1 or 2, never print an internal error or a stack
// trace, print only complete, parseable JSON lines (each a schema-valid
// event), and for a damaged file print exactly one
// `netsig: error: FILE: byte offset N: ...` line where N is where the damage
// starts (computed here independently of netsig's reader).
// A larger in-process sweep cuts a few small files at every offset and
// corrupts random bytes anywhere (headers included) of every capture.
// User errors (unknown event, bad filter, missing file, directory, not a
// capture, --output xml...) exit 2 with one `netsig: error:` line.
//
// Reproducible: cut offsets and corruptions come from seeded PRNGs (seed per
// file name); the cut files live in a temporary directory, removed at the end.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, test } from "node:test";
import { DEFAULT_EVENTS } from "../engine/events/registry";
import { validateEvent } from "../engine/events/schemas";
import {
  boundaryAtOrBelow,
  captureFiles,
  captureFormat,
  type CliResult,
  mapLimit,
  netsigAsync,
  prng,
  recordBoundaries,
  replayBuffer,
  replayFile,
  run,
  seedOf,
} from "./lib/replay";
import { CORPUS, corpusFile, corpusLabel, needsOutside } from "./lib/corpus";
import { EXAMPLES } from "./lib/run";

const PARALLEL = 3;
const CUTS_PER_FILE = 3;
const CORRUPTIONS_PER_FILE = 2;

const tmp = mkdtempSync(join(tmpdir(), "netsig-robustness-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const files = captureFiles();
const label = (f: string): string => (corpusLabel(f) !== f ? corpusLabel(f) : basename(f));

/** what netsig's pipeline makes of each intact file (in-process), the oracle for the CLI runs */
const oracle = new Map<string, string[]>();
async function oracleOf(file: string): Promise<string[]> {
  let lines = oracle.get(file);
  if (lines === undefined) {
    const r = await replayFile(file, undefined, DEFAULT_EVENTS);
    assert.equal(r.summary.error, undefined, `${label(file)} itself is intact`);
    lines = r.lines;
    oracle.set(file, lines);
  }
  return lines;
}

const ERROR_LINE = /^netsig: error: (.*): byte offset (\d+): \S/;

/**
 * The checks every CLI run of a (possibly damaged) capture must pass. Returns
 * the problems found (empty when fine) and the error line's offset, if any.
 */
function checkRun(what: string, file: string, r: CliResult): { problems: string[]; offset: number | null; lines: string[] } {
  const problems: string[] = [];
  const say = (m: string): void => {
    problems.push(`${what}: ${m}`);
  };
  if (r.signal !== null) say(`killed by ${r.signal}`);
  if (r.code !== 0 && r.code !== 1 && r.code !== 2) say(`exit code ${r.code}`);
  if (/internal error|^\s+at |\n\s+at |\b(Type|Range|Reference|Syntax)?Error: /.test(r.stderr)) {
    say(`crash on stderr:\n${r.stderr.slice(0, 2000)}`);
  }
  const errLines = r.stderr.split("\n").filter((l) => l.startsWith("netsig: error:"));
  for (const l of r.stderr.split("\n"))
    if (l !== "" && !l.startsWith("netsig: ")) say(`stray stderr line ${JSON.stringify(l.slice(0, 200))}`);
  let offset: number | null = null;
  if (errLines.length > 1) say(`${errLines.length} error lines:\n${errLines.join("\n")}`);
  if (errLines.length === 1) {
    const m = ERROR_LINE.exec(errLines[0]);
    if (!m) say(`error line not in the form "netsig: error: FILE: byte offset N: ...": ${errLines[0]}`);
    else {
      if (m[1] !== file) say(`error line names ${m[1]}, not ${file}`);
      offset = Number(m[2]);
    }
  }
  if (r.code !== 0 && errLines.length === 0) say(`exit code ${r.code} without an error line; stderr: ${r.stderr.slice(0, 500)}`);
  if (r.code === 0 && errLines.length > 0) say(`exit code 0 with an error line: ${errLines[0]}`);
  const lines = r.stdout === "" ? [] : r.stdout.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  else if (r.stdout !== "") say("stdout does not end with a newline");
  let invalid = 0;
  for (const [i, l] of lines.entries()) {
    let ev: unknown;
    try {
      ev = JSON.parse(l);
    } catch (e) {
      say(`stdout line ${i + 1} is not JSON (${(e as Error).message}): ${l.slice(0, 200)}`);
      break;
    }
    const err = validateEvent(ev);
    if (err !== null && invalid++ < 3) say(`stdout line ${i + 1} does not validate: ${err}\n  ${l.slice(0, 400)}`);
  }
  return { problems, offset, lines };
}

function report(problems: string[]): void {
  assert.equal(problems.length, 0, `${problems.length} problem(s):\n${problems.slice(0, 25).join("\n")}`);
}

// ------------------------------------------------------------------ truncation

/** the cut offsets for a file: one in the first 64 bytes, one anywhere, one in the last 64, all in [1, size-1] */
function cutsFor(file: string, size: number): number[] {
  const rand = prng(seedOf(label(file), 1));
  const pick = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const last = size - 1;
  const cuts = [pick(1, Math.min(64, last)), pick(1, last), pick(Math.max(1, last - 63), last)];
  return cuts.slice(0, CUTS_PER_FILE);
}

test(`truncated at ${CUTS_PER_FILE} offsets, every capture: exit 0/1/2, no crash, JSON lines, one error line at the damage`, async () => {
  const jobs: { file: string; cut: number; n: number }[] = [];
  for (const file of files) {
    const size = readFileSync(file).length;
    for (const [n, cut] of cutsFor(file, size).entries()) jobs.push({ file, cut, n });
  }
  const problems: string[] = [];
  let damaged = 0;
  await mapLimit(jobs, PARALLEL, async ({ file, cut, n }, i) => {
    const full = readFileSync(file);
    const bytes = full.subarray(0, cut);
    // the second cut of each file goes through standard input (cat cut.pcap | netsig replay -)
    const stdin = n === 1;
    const path = stdin ? "-" : join(tmp, `${i}-cut${n}-${cut}-${basename(file)}`);
    if (!stdin) writeFileSync(path, bytes);
    try {
      const what = `${label(file)} cut at ${cut} of ${full.length}${stdin ? " (stdin)" : ""}`;
      const r = await netsigAsync(["replay", path, "--output", "json"], stdin ? bytes : undefined);
      const { problems: p, offset, lines } = checkRun(what, stdin ? "<stdin>" : path, r);
      problems.push(...p);
      // everything before the cut was delivered: the events are a prefix of the intact file's
      const whole = await oracleOf(file);
      if (!lines.every((l, k) => l === whole[k])) problems.push(`${what}: the events are not a prefix of the intact file's events`);
      const boundaries = recordBoundaries(bytes);
      const expected = boundaryAtOrBelow(boundaries, cut);
      if (expected !== cut) {
        damaged++;
        if (offset === null) problems.push(`${what}: damaged but no error line (exit ${r.code})`);
        else {
          if (offset < 0 || offset >= cut) problems.push(`${what}: error offset ${offset} is not inside the ${cut}-byte file`);
          if (offset !== expected)
            problems.push(`${what}: error at byte offset ${offset}, the damaged record starts at ${expected}\n  ${r.stderr.trim()}`);
          const expectCode = expected === 0 ? 2 : 1; // nothing readable at all is a usage error
          if (r.code !== expectCode) problems.push(`${what}: exit ${r.code}, expected ${expectCode} (damage at offset ${expected})`);
        }
      } else if (r.code !== 0) {
        problems.push(`${what}: cut at a record boundary (a valid, shorter capture) but exit ${r.code}: ${r.stderr.trim()}`);
      }
    } finally {
      if (!stdin) rmSync(path, { force: true });
    }
  });
  report(problems);
  assert.ok(damaged > files.length, `${damaged} of ${jobs.length} cuts were inside a record`);
});

// -------------------------------------------------------- editcap byte errors

function editcapFormat(buf: Buffer): string {
  const f = captureFormat(buf);
  return f === "pcapng" ? "pcapng" : f === "pcap-ns" ? "nsecpcap" : "pcap";
}

const HAVE_EDITCAP = spawnSync("editcap", ["-h"]).status === 0;

test(`random byte errors (editcap -E 0.01 --seed), ${CORRUPTIONS_PER_FILE} per capture: exit 0, no crash, valid JSON events`, {
  skip: HAVE_EDITCAP ? false : "editcap is not installed (it comes with tshark: apt-get install tshark)",
}, async () => {
  const jobs: { file: string; seed: number }[] = [];
  for (const file of files)
    for (let n = 0; n < CORRUPTIONS_PER_FILE; n++) jobs.push({ file, seed: seedOf(label(file), 100 + n) % 1_000_000 });
  const problems: string[] = [];
  let changed = 0;
  await mapLimit(jobs, PARALLEL, async ({ file, seed }, i) => {
    const path = join(tmp, `${i}-editcap-${seed}-${basename(file)}`);
    try {
      const original = readFileSync(file);
      const ec = await run("editcap", ["-F", editcapFormat(original), "-E", "0.01", "--seed", String(seed), file, path]);
      if (ec.code !== 0) {
        problems.push(`editcap failed on ${label(file)}: ${ec.stderr.trim()}`);
        return;
      }
      const what = `${label(file)} with editcap -E 0.01 --seed ${seed}`;
      const r = await netsigAsync(["replay", path, "--output", "json"]);
      const { problems: p, offset, lines } = checkRun(what, path, r);
      problems.push(...p);
      // editcap changes packet bytes only: the container is intact
      if (r.code !== 0 || offset !== null) problems.push(`${what}: exit ${r.code}: ${r.stderr.trim()}`);
      if (lines.join("\n") !== (await oracleOf(file)).join("\n")) changed++;
    } finally {
      rmSync(path, { force: true });
    }
  });
  report(problems);
  assert.ok(changed > 0, "the byte errors changed some events");
});

// ------------------------------------------------------------------ stdin

// one capture of each kind: pcap LE/BE, us/ns, pcapng LE/BE and multi-section, the largest file, the example
const STDIN_RELS = [
  "tcpdump/dns_tcp.pcap",
  "tcpdump/pptp.pcap",
  "tcpdump/tcp-handshake-nano.pcap",
  "ndpi/icmp-tunnel.pcap",
  "pcapng-test-generator/be_test202.pcapng",
  "zeek/pcapng-multi-interface.pcapng",
  "pcap-attack/sigred-cve-2020-1350.pcapng",
];
// (a capture only the corpus beside the repository has gets its own skipped test when it is absent)
const STDIN_FILES = STDIN_RELS.filter((f) => !needsOutside(f))
  .map(corpusFile)
  .concat(files.filter((f) => f.startsWith(EXAMPLES)));
for (const rel of STDIN_RELS.filter((f) => needsOutside(f))) {
  test(`cat capture | netsig replay - prints exactly what replaying the file prints: ${rel}`, { skip: needsOutside(rel) }, () => undefined);
}

test("cat capture | netsig replay - prints exactly what replaying the file prints", async () => {
  const problems: string[] = [];
  await mapLimit(STDIN_FILES, PARALLEL, async (file) => {
    const bytes = readFileSync(file);
    const viaFile = await netsigAsync(["replay", file, "--output", "json"]);
    const viaStdin = await netsigAsync(["replay", "-", "--output", "json"], bytes);
    const what = label(file);
    problems.push(...checkRun(`${what} (file)`, file, viaFile).problems, ...checkRun(`${what} (stdin)`, "<stdin>", viaStdin).problems);
    if (viaFile.code !== 0 || viaStdin.code !== 0) problems.push(`${what}: exit ${viaFile.code} (file), ${viaStdin.code} (stdin)`);
    if (viaStdin.stdout !== viaFile.stdout) problems.push(`${what}: stdin output differs from the file's`);
    if (viaFile.stdout === "") problems.push(`${what}: no events`);
    const whole = await oracleOf(file);
    if (viaFile.stdout !== whole.map((l) => l + "\n").join(""))
      problems.push(`${what}: the CLI's output differs from the pipeline's in-process`);
    // and the same summary, but for the name and the speed
    const summary = (s: string): string => s.replace(/^netsig: .*?: (\d+ packets read.*); [\d.]+ s, \d+ packets\/s$/m, "$1").trim();
    if (summary(viaStdin.stderr) !== summary(viaFile.stderr))
      problems.push(`${what}: summaries differ:\n${viaFile.stderr}${viaStdin.stderr}`);
  });
  report(problems);
  assert.equal(STDIN_FILES.length >= 7, true);
});

// ------------------------------------------------------------- user errors

test("user errors: exit 2, one clear netsig: error: line, no stack trace, nothing on stdout", async () => {
  const capture = join(CORPUS, "tcpdump", "dns_udp.pcap");
  const empty = join(tmp, "empty.pcap");
  writeFileSync(empty, Buffer.alloc(0));
  const tiny = join(tmp, "tiny.pcap");
  writeFileSync(tiny, Buffer.from([0xd4, 0xc3, 0xb2]));
  const cases: [string, string[], RegExp][] = [
    ["unknown event name", ["replay", capture, "--events", "net_packet_bogus"], /unknown event "net_packet_bogus"/],
    ["bad filter", ["replay", capture, "--filter", "net_packet_dns.src=1.2.3.4"], /bad filter/],
    ["filter of an unknown event", ["replay", capture, "--filter", "nope.args.src=1"], /unknown event/],
    ["missing file", ["replay", join(tmp, "no-such-file.pcap")], /no such file/],
    ["a directory", ["replay", CORPUS], /is a directory/],
    ["not a capture file", ["replay", join(CORPUS, "manifest.json")], /not a capture file/],
    ["an empty file", ["replay", empty], /empty file/],
    ["a file shorter than a header", ["replay", tiny], /too short/],
    ["--output xml", ["replay", capture, "--output", "xml"], /unknown --output "xml"/],
    ["no file", ["replay"], /exactly one capture file/],
    ["two files", ["replay", capture, capture], /exactly one capture file/],
    ["unknown option", ["replay", capture, "--bogus"], /bogus/],
    ["unknown command", ["replayy", capture], /unknown command "replayy"/],
  ];
  const problems: string[] = [];
  await mapLimit(cases, PARALLEL, async ([what, args, message]) => {
    const r = await netsigAsync(args);
    const errLines = r.stderr.split("\n").filter((l) => l.startsWith("netsig: error:"));
    if (r.code !== 2) problems.push(`${what}: exit ${r.code}, expected 2`);
    if (errLines.length !== 1) problems.push(`${what}: ${errLines.length} error lines: ${r.stderr}`);
    else if (!message.test(errLines[0])) problems.push(`${what}: error line ${JSON.stringify(errLines[0])} does not match ${message}`);
    if (/internal error|\n\s+at |^\s+at /.test(r.stderr)) problems.push(`${what}: stack trace on stderr:\n${r.stderr}`);
    for (const l of r.stderr.split("\n"))
      if (l !== "" && !l.startsWith("netsig: ")) problems.push(`${what}: stray stderr line ${JSON.stringify(l)}`);
    if (r.stdout !== "") problems.push(`${what}: stdout not empty: ${r.stdout.slice(0, 200)}`);
  });
  report(problems);
});

// ------------------------------------------------------- in-process sweeps

// small files of each container and byte order: pcap LE/BE, us/ns; pcapng LE/BE, several sections
const SWEEP = [
  "tcpdump/dns_udp.pcap",
  "tcpdump/tcp-handshake-nano.pcap",
  "tcpdump/dns-badcookie.pcap",
  "zeek/linux_dlt_sll2.pcap",
  "ndpi/nano.pcapng",
  "pcapng-test-generator/be_test008.pcapng",
  "pcapng-test-generator/be_test202.pcapng",
  "zeek/pcapng-multi-interface.pcapng",
  "tcpdump/dns_tcp.pcap",
].map((f) => join(CORPUS, f));

test("in-process: a few small captures cut at every offset deliver a prefix and report the damage exactly", () => {
  const problems: string[] = [];
  let runs = 0;
  for (const file of SWEEP) {
    const full = readFileSync(file);
    const whole = replayBuffer(full, undefined, DEFAULT_EVENTS);
    assert.equal(whole.summary.error, undefined, label(file));
    const boundaries = recordBoundaries(full);
    for (let cut = 0; cut < full.length; cut++) {
      runs++;
      const what = `${label(file)} cut at ${cut}`;
      let r: ReturnType<typeof replayBuffer>;
      try {
        r = replayBuffer(full.subarray(0, cut), undefined, DEFAULT_EVENTS);
      } catch (e) {
        problems.push(`${what}: threw ${(e as Error).stack}`);
        continue;
      }
      if (!r.lines.every((l, i) => l === whole.lines[i])) problems.push(`${what}: not a prefix of the intact file's events`);
      const expected = boundaryAtOrBelow(boundaries, cut);
      const err = r.summary.error;
      if (expected === cut && cut > 0) {
        if (err) problems.push(`${what}: a record boundary, yet: ${err.message}`);
      } else if (!err) {
        problems.push(`${what}: damaged, no error`);
      } else {
        if (err.offset !== expected)
          problems.push(`${what}: error at ${err.offset}, the damaged record starts at ${expected}: ${err.message}`);
        if (!err.message.startsWith(`<buffer>: byte offset ${err.offset}: `)) problems.push(`${what}: error message form: ${err.message}`);
        if (err.message.includes("\n")) problems.push(`${what}: multi-line error message`);
      }
    }
  }
  report(problems);
  assert.ok(runs > 5000, `${runs} cuts`);
});

/** flip `n` random bytes anywhere in the file (headers included) */
function corrupt(buf: Buffer, rand: () => number, n: number): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * out.length);
    const r = rand();
    // mostly random bytes; sometimes the extremes that break length fields
    out[at] = r < 0.15 ? 0xff : r < 0.3 ? 0x00 : Math.floor(rand() * 256);
  }
  return out;
}

function checkMutant(what: string, bytes: Buffer, problems: string[]): void {
  let r: ReturnType<typeof replayBuffer>;
  try {
    r = replayBuffer(bytes, undefined, DEFAULT_EVENTS);
  } catch (e) {
    problems.push(`${what}: threw ${(e as Error).stack}`);
    return;
  }
  const err = r.summary.error;
  if (err && (err.offset < 0 || err.offset > bytes.length))
    problems.push(`${what}: error offset ${err.offset} outside the ${bytes.length}-byte file`);
  let invalid = 0;
  for (const l of r.lines) {
    const v = validateEvent(JSON.parse(l));
    if (v !== null && invalid++ < 2) problems.push(`${what}: event does not validate: ${v}\n  ${l.slice(0, 600)}`);
  }
}

test("in-process: random bytes anywhere (headers included) never throw and only give schema-valid events", () => {
  const problems: string[] = [];
  let mutants = 0;
  for (const file of files) {
    const full = readFileSync(file);
    const small = SWEEP.includes(file);
    const rand = prng(seedOf(label(file), 7));
    const count = small ? 150 : 12;
    for (let i = 0; i < count; i++) {
      const n = 1 + Math.floor(rand() * (small ? 6 : Math.max(6, full.length / 500)));
      mutants++;
      checkMutant(`${label(file)} mutant ${i} (${n} bytes)`, corrupt(full, rand, n), problems);
    }
  }
  report(problems);
  assert.ok(mutants > 2000, `${mutants} mutants`);
});
