// Capture-file stage: pcap / pcapng parsing, streaming, damage handling.
//
// The corpus (test/corpus, plus the captures only the full corpus beside the
// repository has: lib/corpus.ts) is read in place and compared packet by
// packet with tshark when tshark is installed. Damaged and synthetic files are
// built in memory or in os.tmpdir(), never in the project.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { PassThrough, Readable } from "node:stream";
import { parseCaptureBuffer, readCapture, readCaptureStream } from "../engine/capture/reader";
import { CaptureError, type PacketRecord, type ReadSummary } from "../engine/capture/types";
import { CORPUS, corpusCapturesSorted, corpusFile, corpusManifest, haveOutsideCorpus, needsOutside, OUTSIDE_CORPUS } from "./lib/corpus";

const ROOT = path.resolve(__dirname, "..", "..");
const HAVE_TSHARK = spawnSync("tshark", ["-v"], { stdio: "ignore" }).status === 0;
const NO_TSHARK = HAVE_TSHARK ? false : "tshark not installed";

const corpus = (rel: string) => corpusFile(rel);

// ---------------------------------------------------------------- helpers

interface Pkt {
  ts: string; // "sec.nnnnnnnnn"
  origLen: number;
  caplen: number;
  linkType: number;
  iface: string;
  fileOffset: number;
  hash: number; // FNV-1a of the captured bytes
}

function fnv(buf: Buffer, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ buf[i], 16777619);
  return h >>> 0;
}

function tsString(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, "0")}`;
}

function snap(p: PacketRecord): Pkt {
  assert.ok(p.offset >= 0 && p.offset + p.caplen <= p.buf.length, "packet bytes inside the buffer");
  assert.ok(Number.isInteger(p.tsNsec) && p.tsNsec >= 0 && p.tsNsec < 1e9, `tsNsec in range: ${p.tsNsec}`);
  assert.ok(p.origLen >= p.caplen, "origLen >= caplen");
  return {
    ts: tsString(p.tsSec, p.tsNsec),
    origLen: p.origLen,
    caplen: p.caplen,
    linkType: p.linkType,
    iface: p.iface,
    fileOffset: p.fileOffset,
    hash: fnv(p.buf, p.offset, p.caplen),
  };
}

async function collect(file: string, opts?: { chunkSize?: number }): Promise<{ pkts: Pkt[]; sum: ReadSummary }> {
  const pkts: Pkt[] = [];
  const sum = await readCapture(file, (p) => pkts.push(snap(p)), opts);
  return { pkts, sum };
}

function collectBuf(buf: Buffer, name?: string): { pkts: Pkt[]; sum: ReadSummary } {
  const pkts: Pkt[] = [];
  const sum = parseCaptureBuffer(buf, (p) => pkts.push(snap(p)), name);
  return { pkts, sum };
}

/** feed `buf` to the stream reader in pieces cut at the given sizes (cycled) */
async function collectPieces(buf: Buffer, sizes: number[], chunkSize?: number) {
  const pieces: Buffer[] = [];
  for (let i = 0, k = 0; i < buf.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]);
    pieces.push(buf.subarray(i, i + n));
    i += n;
  }
  const pkts: Pkt[] = [];
  const sum = await readCaptureStream(Readable.from(pieces), (p) => pkts.push(snap(p)), { chunkSize, name: "pieces" });
  return { pkts, sum };
}

/** deterministic PRNG (mulberry32) */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** <source>/<file> of every capture file in the corpus folders (test/corpus, then those only beside the repository), sorted */
function corpusCaptures(): string[] {
  const out = new Set<string>();
  for (const root of haveOutsideCorpus() ? [CORPUS, OUTSIDE_CORPUS] : [CORPUS]) {
    for (const d of fs.readdirSync(root).sort()) {
      const dir = path.join(root, d);
      if (!fs.statSync(dir).isDirectory()) continue;
      for (const f of fs.readdirSync(dir)) if (/\.pcap(ng)?$/.test(f)) out.add(`${d}/${f}`);
    }
  }
  return [...out].sort();
}

// ------------------------------------------------------------ tshark oracle

interface TsharkOut {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** time_epoch | len | cap_len | interface_id | encap_type | interface_name */
  frames: string[][];
}

const TSHARK_FIELDS = ["frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id", "frame.encap_type", "frame.interface_name"];

let tmpSeq = 0;
/** tshark on a file, or on bytes (through a temporary file: tshark refuses sockets and cannot seek pipes) */
async function tshark(input: string | Buffer): Promise<TsharkOut> {
  if (typeof input === "string") return tsharkAgain(input);
  const f = tmpFile(`tshark-${tmpSeq++}.cap`);
  fs.writeFileSync(f, input);
  try {
    return await tsharkAgain(f);
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/**
 * A tshark killed from outside (status null: a signal), or failing without a
 * word, says nothing about the file (a CI run saw both, once each): run it again.
 */
async function tsharkAgain(file: string): Promise<TsharkOut> {
  let t = await tsharkFile(file);
  for (let i = 0; i < 2 && (t.status === null || (t.status !== 0 && t.stderr === "")); i++) {
    console.log(`# tshark on ${file}: status ${t.status}, signal ${t.signal}, no message; running it again`);
    t = await tsharkFile(file);
  }
  return t;
}

function tsharkFile(file: string): Promise<TsharkOut> {
  return new Promise((resolve, reject) => {
    const args = ["-n", "-r", file, "-T", "fields", "-E", "separator=|"];
    // only frame-level fields are wanted: skip dissecting the packets (3x faster on big DNS files)
    for (const p of ["eth", "sll", "null", "ip", "ipv6", "raw"]) args.push("--disable-protocol", p);
    for (const f of TSHARK_FIELDS) args.push("-e", f);
    const child = spawn("tshark", args, { stdio: ["ignore", "pipe", "pipe"] });
    // never wait forever on a peer: a stuck tshark is killed (status null) after 30 s
    // (a corpus file takes under 2 s; three tries stay well inside the file's 5 minutes)
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString("utf8");
      resolve({
        status,
        signal,
        stderr: Buffer.concat(err)
          .toString("utf8")
          .split("\n")
          .filter((l) => l.trim() !== "" && !l.startsWith("Running as user"))
          .join("\n"),
        frames: text
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => l.split("|")),
      });
    });
  });
}

/** run tshark over many inputs, a few at a time, starting now */
function prefetch(keys: string[], run: (k: string) => Promise<TsharkOut>, width = 2): Map<string, Promise<TsharkOut>> {
  const m = new Map<string, Promise<TsharkOut>>();
  let next = 0;
  const waiters: (() => void)[] = [];
  let running = 0;
  const slot = () =>
    new Promise<void>((res) => {
      if (running < width) {
        running++;
        res();
      } else waiters.push(() => res());
    });
  const release = () => {
    const w = waiters.shift();
    if (w) w();
    else running--;
  };
  for (const k of keys) {
    const i = next++;
    void i;
    m.set(
      k,
      slot().then(async () => {
        try {
          return await run(k);
        } finally {
          release();
        }
      }),
    );
  }
  return m;
}

/** packet frames only (pcapng custom blocks show up in tshark as frames without an encapsulation) */
function tsharkPackets(t: TsharkOut) {
  return t.frames
    .filter((f) => f[4] !== "")
    .map((f) => ({
      ts: f[0] === "" ? "0.000000000" : f[0], // a simple packet block has no time stamp
      origLen: Number(f[1]),
      caplen: Number(f[2]),
      iface: f[5] === "unknown" ? "" : f[5],
    }));
}

function tsharkDamaged(t: TsharkOut): boolean {
  assert.notEqual(t.status, null, `tshark was killed by ${t.signal} (three times): ${t.stderr}`);
  return t.status !== 0 || /cut short|damaged|corrupt/i.test(t.stderr);
}

const CAPTURES = corpusCaptures();
const TSHARK_RUNS = HAVE_TSHARK ? prefetch(CAPTURES, (rel) => tshark(corpus(rel))) : new Map<string, Promise<TsharkOut>>();
// multi-section files: tshark 4.0 maps the interface ids of later sections to
// the first section's interfaces, so its interface names are wrong there
const MULTI_SECTION = new Set(["pcapng-test-generator/be_test202.pcapng"]);

// ------------------------------------------------------ synthetic builders

function u16(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function u32(le: boolean, v: number): Buffer {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}
function pad4(b: Buffer): Buffer {
  const p = (4 - (b.length % 4)) % 4;
  return p ? Buffer.concat([b, Buffer.alloc(p)]) : b;
}

function pcapHeader(o: { le?: boolean; nano?: boolean; snaplen?: number; linkType?: number } = {}): Buffer {
  const le = o.le ?? true;
  return Buffer.concat([
    u32(le, o.nano ? 0xa1b23c4d : 0xa1b2c3d4),
    u16(le, 2),
    u16(le, 4),
    u32(le, 0),
    u32(le, 0),
    u32(le, o.snaplen ?? 65535),
    u32(le, o.linkType ?? 1),
  ]);
}
function pcapRecord(le: boolean, sec: number, frac: number, data: Buffer, origLen = data.length, incl = data.length): Buffer {
  return Buffer.concat([u32(le, sec), u32(le, frac), u32(le, incl), u32(le, origLen), data]);
}

function block(le: boolean, type: number, body: Buffer, lenOverride?: number, trailerOverride?: number): Buffer {
  body = pad4(body);
  const len = 12 + body.length;
  return Buffer.concat([u32(le, type), u32(le, lenOverride ?? len), body, u32(le, trailerOverride ?? lenOverride ?? len)]);
}
function opt(le: boolean, code: number, val: Buffer): Buffer {
  return Buffer.concat([u16(le, code), u16(le, val.length), pad4(val)]);
}
function shb(le: boolean): Buffer {
  return block(le, 0x0a0d0d0a, Buffer.concat([u32(le, 0x1a2b3c4d), u16(le, 1), u16(le, 0), Buffer.alloc(8, 0xff)]));
}
function idb(le: boolean, linkType: number, snaplen: number, o: { name?: string; tsresol?: number; tsoffset?: bigint } = {}): Buffer {
  const os_: Buffer[] = [];
  if (o.name !== undefined) os_.push(opt(le, 2, Buffer.from(o.name)));
  if (o.tsresol !== undefined) os_.push(opt(le, 9, Buffer.from([o.tsresol])));
  if (o.tsoffset !== undefined) {
    const b = Buffer.alloc(8);
    if (le) b.writeBigInt64LE(o.tsoffset);
    else b.writeBigInt64BE(o.tsoffset);
    os_.push(opt(le, 14, b));
  }
  if (os_.length) os_.push(Buffer.alloc(4));
  return block(le, 1, Buffer.concat([u16(le, linkType), u16(le, 0), u32(le, snaplen), ...os_]));
}
function epb(le: boolean, id: number, ts: bigint, data: Buffer, origLen = data.length, capOverride?: number): Buffer {
  return block(
    le,
    6,
    Buffer.concat([
      u32(le, id),
      u32(le, Number(ts >> 32n)),
      u32(le, Number(ts & 0xffffffffn)),
      u32(le, capOverride ?? data.length),
      u32(le, origLen),
      pad4(data),
    ]),
  );
}
function spb(le: boolean, data: Buffer, origLen = data.length): Buffer {
  return block(le, 3, Buffer.concat([u32(le, origLen), pad4(data)]));
}
function opb(le: boolean, id: number, ts: bigint, data: Buffer): Buffer {
  return block(
    le,
    2,
    Buffer.concat([
      u16(le, id),
      u16(le, 0),
      u32(le, Number(ts >> 32n)),
      u32(le, Number(ts & 0xffffffffn)),
      u32(le, data.length),
      u32(le, data.length),
      pad4(data),
    ]),
  );
}

function payload(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** exact expected timestamp for `ts` units of 1/units s */
function expectTs(ts: bigint, units: bigint, offset = 0n): string {
  const sec = ts / units + offset;
  const ns = ((ts % units) * 1000000000n) / units;
  return tsString(Number(sec), Number(ns));
}

function tmpFile(name: string): string {
  return path.join(os.tmpdir(), `netsig-capture-test-${process.pid}-${name}`);
}

test("corpus: packet counts and link types match the manifest; offsets are increasing", async () => {
  const captures = corpusCapturesSorted().map((c) => c.entry);
  assert.ok(corpusManifest().captures.length > 0, "test/corpus/manifest.json lists the captures");
  assert.deepEqual(
    captures.map((c) => c.path),
    CAPTURES,
    "every manifest capture is globbed, and every globbed capture is in a manifest",
  );
  for (const c of captures) {
    const { pkts, sum } = await collect(corpus(c.path));
    assert.equal(sum.error, undefined, c.path);
    assert.equal(sum.packets, c.packets, `${c.path}: packets`);
    const want = new Set(c.linktype.split(", ").map((s) => Number(s.split(" ")[0])));
    assert.deepEqual(new Set(pkts.map((p) => p.linkType)), want, `${c.path}: link types`);
    const magic = fs.readFileSync(corpus(c.path)).readUInt32BE(0);
    assert.equal(sum.format, magic === 0x0a0d0d0a ? "pcapng" : "pcap", `${c.path}: format`);
    for (let i = 1; i < pkts.length; i++) assert.ok(pkts[i].fileOffset > pkts[i - 1].fileOffset);
  }
});

// ------------------------------------------------------- specific files

test("big-endian pcap: tcpdump/pptp.pcap", async () => {
  const f = corpus("tcpdump/pptp.pcap");
  assert.equal(fs.readFileSync(f).readUInt32BE(0), 0xa1b2c3d4, "written big-endian");
  const { pkts, sum } = await collect(f);
  assert.equal(sum.format, "pcap");
  assert.equal(sum.error, undefined);
  assert.equal(pkts.length, 23);
  assert.equal(pkts[0].ts, "954147395.148077000");
  assert.equal(pkts[0].fileOffset, 24);
  assert.equal(pkts[1].fileOffset, 24 + 16 + pkts[0].caplen);
  assert.ok(pkts.every((p) => p.linkType === 1 && p.iface === ""));
});

test("nanosecond pcap: tcpdump/tcp-handshake-nano.pcap against tcpdump's -tttt --nano output", async () => {
  const want = fs
    .readFileSync(corpus("tcpdump/tcp-handshake-nano-tttt.out"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^\s*\d+\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{9}) /.exec(l);
      assert.ok(m, l);
      return `${Date.parse(`${m[1]}T${m[2]}Z`) / 1000}.${m[3]}`;
    });
  const { pkts, sum } = await collect(corpus("tcpdump/tcp-handshake-nano.pcap"));
  assert.equal(sum.error, undefined);
  assert.deepEqual(
    pkts.map((p) => p.ts),
    want,
  );
  assert.deepEqual(
    pkts.map((p) => p.linkType),
    [113, 113, 113],
  );
});

test("pcapng with two interfaces of different if_tsresol: zeek/pcapng-multi-interface.pcapng", async () => {
  const { pkts, sum } = await collect(corpus("zeek/pcapng-multi-interface.pcapng"));
  assert.equal(sum.format, "pcapng");
  assert.equal(sum.error, undefined);
  assert.equal(pkts.length, 6);
  assert.deepEqual(
    pkts.map((p) => p.iface),
    ["eth0", "eth0", ...Array(4).fill("\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}")],
  );
  // interface 0 is in ns, interface 1 in us
  assert.equal(pkts[0].ts, "1767663089.500330493");
  assert.equal(pkts[1].ts, "1767663089.514291940");
  assert.equal(pkts[2].ts, "1767663437.111897000");
});

/** independent minimal block walk, for checking against the .txt oracles */
function walkBlocks(buf: Buffer): { type: string; offset: number }[] {
  const names = new Map<number, string>([
    [0x0a0d0d0a, "SHB"],
    [1, "IDB"],
    [2, "OPB"],
    [3, "SPB"],
    [4, "NRB"],
    [5, "ISB"],
    [6, "EPB"],
    [10, "DSB"],
    [0xbad, "CB"],
    [0x40000bad, "DCB"],
  ]);
  const out: { type: string; offset: number }[] = [];
  let le = true;
  for (let p = 0; p < buf.length; ) {
    if (buf.readUInt32BE(p) === 0x0a0d0d0a) le = buf.readUInt32BE(p + 8) === 0x4d3c2b1a;
    const type = le ? buf.readUInt32LE(p) : buf.readUInt32BE(p);
    const len = le ? buf.readUInt32LE(p + 4) : buf.readUInt32BE(p + 4);
    out.push({ type: names.get(type) ?? `0x${type.toString(16)}`, offset: p });
    p += len;
  }
  return out;
}

/** file offset just past each packet's record / block */
function packetEnds(buf: Buffer, pkts: Pkt[]): number[] {
  if (buf.readUInt32BE(0) !== 0x0a0d0d0a) return pkts.map((p) => p.fileOffset + 16 + p.caplen);
  const blocks = walkBlocks(buf);
  const next = new Map(blocks.map((b, i) => [b.offset, i + 1 < blocks.length ? blocks[i + 1].offset : buf.length]));
  return pkts.map((p) => next.get(p.fileOffset)!);
}

for (const name of ["be_test001", "be_test008", "be_test202"]) {
  test(`pcapng-test-generator ${name}: block sequence oracle`, async () => {
    const buf = fs.readFileSync(corpus(`pcapng-test-generator/${name}.pcapng`));
    const txt = fs.readFileSync(corpus(`pcapng-test-generator/${name}.txt`), "utf8");
    const seq = /Block sequence: (.*)/.exec(txt)![1].split(", ");
    const blocks = walkBlocks(buf);
    assert.deepEqual(
      blocks.map((b) => b.type),
      seq,
      "test walker agrees with the oracle",
    );
    const { pkts, sum } = await collect(corpus(`pcapng-test-generator/${name}.pcapng`));
    assert.equal(sum.error, undefined);
    assert.deepEqual(
      pkts.map((p) => p.fileOffset),
      blocks.filter((b) => b.type === "EPB" || b.type === "SPB" || b.type === "OPB").map((b) => b.offset),
      "one packet per EPB/SPB, in order",
    );
    assert.equal(buf.readUInt32BE(8), 0x1a2b3c4d, "first section is big-endian");
  });
}

test("be_test202: sections of both byte orders reset the interfaces; SPBs use interface 0", async () => {
  const { pkts } = await collect(corpus("pcapng-test-generator/be_test202.pcapng"));
  assert.deepEqual(
    pkts.map((p) => [p.linkType, p.iface, p.caplen, p.origLen]),
    [
      [1, "eth0", 96, 314],
      [1, "eth0", 96, 342],
      [0, "null1", 168, 168],
      [1, "silly ethernet interface 2", 128, 314], // SPB in the second (little-endian) section
      [1, "silly ethernet interface 2", 128, 342],
      [1, "silly ethernet interface 2", 128, 314],
      [1, "silly ethernet interface 2", 128, 342],
      [0, "null1", 168, 168],
    ],
  );
  assert.equal(pkts[3].ts, "0.000000000", "an SPB carries no time stamp");
});

test("ndpi/tcp_scan.pcapng is a classic pcap: sniffed, not trusted by extension", async () => {
  const { sum } = await collect(corpus("ndpi/tcp_scan.pcapng"));
  assert.equal(sum.format, "pcap");
  assert.equal(sum.packets, 30);
});

// ------------------------------------------------------- synthetic pcapng

test("pcapng time stamps: every resolution converts exactly, if_tsoffset applied", async () => {
  for (const le of [true, false]) {
    const d = payload(60, 1);
    const res: { tsresol?: number; units: bigint; offset?: bigint }[] = [
      { units: 1000000n }, // default
      { tsresol: 9, units: 1000000000n },
      { tsresol: 6, units: 1000000n, offset: 1000n },
      { tsresol: 3, units: 1000n },
      { tsresol: 0, units: 1n, offset: -5n },
      { tsresol: 4, units: 10000n },
      { tsresol: 12, units: 1000000000000n },
      { tsresol: 0x80 | 10, units: 1024n },
      { tsresol: 0x80 | 20, units: 1n << 20n },
      { tsresol: 0x80 | 30, units: 1n << 30n },
      { tsresol: 0x80 | 40, units: 1n << 40n },
      { tsresol: 7, units: 10000000n },
    ];
    const parts = [shb(le)];
    for (const x of res) parts.push(idb(le, 1, 0, { tsresol: x.tsresol, tsoffset: x.offset }));
    const want: string[] = [];
    const r = rng(7);
    for (let id = 0; id < res.length; id++) {
      const u = res[id].units;
      const stamps = [
        0n,
        1n,
        u - 1n,
        u,
        1700000000n * u + u - 1n,
        (1n << 53n) - 1n,
        1n << 53n,
        (1n << 64n) - 1n,
        0xffffffffn,
        0x100000000n,
        (1n << 21n) << 32n, // first value off the exact-double path
        ((1n << 21n) << 32n) - 1n,
        BigInt(Math.floor(r() * 2 ** 32)) * 0x100000000n + BigInt(Math.floor(r() * 2 ** 32)),
        1767663089500330493n,
      ];
      for (const ts of stamps) {
        if (ts >= 1n << 64n) continue;
        parts.push(epb(le, id, ts, d));
        want.push(expectTs(ts, u, res[id].offset ?? 0n));
      }
      parts.push(opb(le, id, 1767663089500330493n, d));
      want.push(expectTs(1767663089500330493n, u, res[id].offset ?? 0n));
    }
    const { pkts, sum } = collectBuf(Buffer.concat(parts));
    assert.equal(sum.error, undefined);
    assert.deepEqual(
      pkts.map((p) => p.ts),
      want,
    );
  }
});

test("pcapng time stamps agree with tshark (resolutions up to 1 ns)", { skip: HAVE_TSHARK ? false : "tshark not installed" }, async () => {
  const le = true;
  const d = payload(60, 2);
  const parts = [
    shb(le),
    idb(le, 1, 0, { tsresol: 9, name: "a" }),
    idb(le, 1, 0, { tsresol: 0x80 | 20, name: "b" }),
    idb(le, 1, 0, { tsoffset: 3600n, name: "c" }),
  ];
  const r = rng(3);
  for (let i = 0; i < 30; i++) {
    const ts = BigInt(Math.floor(r() * 2 ** 29)) * 0x100000000n + BigInt(Math.floor(r() * 2 ** 32));
    parts.push(epb(le, i % 3, ts, d));
  }
  const buf = Buffer.concat(parts);
  const t = await tshark(buf);
  assert.equal(t.status, 0, t.stderr);
  const { pkts } = collectBuf(buf);
  assert.deepEqual(
    pkts.map((p) => [p.ts, p.iface]),
    tsharkPackets(t).map((w) => [w.ts, w.iface]),
  );
});

test("pcapng: SPB length is min(snaplen, original length, block space); OPB; unknown blocks skipped; several link types", () => {
  for (const le of [true, false]) {
    const d = payload(100, 3);
    const buf = Buffer.concat([
      shb(le),
      idb(le, 1, 64, { name: "eth" }),
      block(le, 4, Buffer.alloc(20)), // NRB
      idb(le, 0, 0, { name: "lo" }),
      spb(le, d.subarray(0, 64), 100), // snaplen 64 caps it
      spb(le, d.subarray(0, 10), 10), // padded block: orig length caps it
      spb(le, d.subarray(0, 40), 1000), // block space caps it (snaplen 64)
      block(le, 5, Buffer.alloc(24)), // ISB
      block(le, 0xbad, Buffer.alloc(13)), // custom block
      block(le, 0x40000bad, Buffer.alloc(8)), // custom, do-not-copy
      block(le, 10, Buffer.alloc(16)), // DSB
      block(le, 0x12345678, Buffer.alloc(0)), // unknown, empty body
      opb(le, 1, 5000000n, d.subarray(0, 33)),
      epb(le, 1, 7000000n, d.subarray(0, 7), 9),
    ]);
    const { pkts, sum } = collectBuf(buf);
    assert.equal(sum.error, undefined);
    assert.deepEqual(
      pkts.map((p) => [p.linkType, p.iface, p.caplen, p.origLen, p.ts]),
      [
        [1, "eth", 64, 100, "0.000000000"],
        [1, "eth", 10, 10, "0.000000000"],
        [1, "eth", 40, 1000, "0.000000000"],
        [0, "lo", 33, 33, "5.000000000"],
        [0, "lo", 7, 9, "7.000000000"],
      ],
    );
    assert.equal(pkts[1].hash, fnv(d, 0, 10));
    assert.equal(pkts[4].hash, fnv(d, 0, 7));
  }
});

test("pcapng: a new section resets interfaces and may switch byte order", () => {
  const d = payload(50, 4);
  const buf = Buffer.concat([
    shb(true),
    idb(true, 1, 0, { name: "le0" }),
    idb(true, 113, 0, { name: "le1" }),
    epb(true, 1, 1n, d),
    shb(false),
    idb(false, 101, 0, { name: "be0" }),
    epb(false, 0, 2n, d),
    epb(false, 1, 3n, d), // interface 1 belonged to the previous section
    epb(false, 0, 4n, d),
  ]);
  const { pkts, sum } = collectBuf(buf, "sections.pcapng");
  assert.deepEqual(
    pkts.map((p) => [p.linkType, p.iface]),
    [
      [113, "le1"],
      [101, "be0"],
    ],
  );
  assert.ok(sum.error instanceof CaptureError);
  assert.match(
    sum.error.message,
    /^sections\.pcapng: byte offset \d+: enhanced packet block refers to interface 1, but this section defines only interfaces 0\.\.0; /,
  );
  assert.equal(sum.error.offset, pkts[1].fileOffset + epb(false, 0, 2n, d).length);
});

// ------------------------------------------------------- pcap details

test("pcap: both byte orders, us and ns, FCS bits of the link type ignored, snaplen not enforced below libpcap's maximum", async () => {
  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      const d = payload(300, 5);
      const frac = nano ? 123456789 : 123456;
      const buf = Buffer.concat([
        pcapHeader({ le, nano, snaplen: 200, linkType: 0x14000000 | 1 }), // FCS length 4 present
        pcapRecord(le, 1700000000, frac, d.subarray(0, 60)),
        pcapRecord(le, 4294967295, nano ? 999999999 : 999999, d.subarray(0, 0), 0),
        pcapRecord(le, 5, 0, d.subarray(0, 300), 1500), // incl 300 > snaplen 200: tshark and libpcap read it
      ]);
      const { pkts, sum } = collectBuf(buf);
      assert.equal(sum.error, undefined);
      assert.deepEqual(
        pkts.map((p) => [p.ts, p.caplen, p.origLen, p.linkType, p.fileOffset]),
        [
          [`1700000000.${nano ? "123456789" : "123456000"}`, 60, 60, 1, 24],
          [`4294967295.999999${nano ? "999" : "000"}`, 0, 0, 1, 24 + 16 + 60],
          ["5.000000000", 300, 1500, 1, 24 + 16 + 60 + 16],
        ],
      );
      if (HAVE_TSHARK && le && !nano) {
        const t = await tshark(buf);
        assert.equal(t.status, 0, t.stderr);
        assert.deepEqual(
          tsharkPackets(t).map((w) => [w.ts, w.caplen, w.origLen]),
          pkts.map((p) => [p.ts, p.caplen, p.origLen]),
        );
      }
    }
  }
});

test("pcap: orig_len smaller than incl_len is raised to incl_len; an un-normalized fraction carries into the seconds", () => {
  const buf = Buffer.concat([pcapHeader(), pcapRecord(true, 10, 2500000, payload(40, 6), 20)]);
  const { pkts, sum } = collectBuf(buf);
  assert.equal(sum.error, undefined);
  assert.deepEqual([pkts[0].ts, pkts[0].caplen, pkts[0].origLen], ["12.500000000", 40, 40]);
});

// ------------------------------------------------------- damage

function damaged(buf: Buffer, name = "x.cap"): CaptureError {
  const { sum } = collectBuf(buf, name);
  assert.ok(sum.error instanceof CaptureError, "an error is reported");
  assert.ok(!sum.error.message.includes("\n"), "one line");
  assert.equal(sum.error.message, `${sum.error.file}: byte offset ${sum.error.offset}: ${sum.error.reason}; ${sum.error.hint}`);
  return sum.error;
}

test("damage: each case reports offset, reason and hint, after delivering what came before", () => {
  const d = payload(100, 7);
  const good = Buffer.concat([pcapHeader(), pcapRecord(true, 1, 0, d.subarray(0, 60))]);
  const cases: [string, Buffer, number, RegExp, number][] = [
    ["empty file", Buffer.alloc(0), 0, /empty file/, 0],
    ["3 bytes", Buffer.from([0xd4, 0xc3, 0xb2]), 0, /only 3 bytes/, 0],
    ["not a capture", Buffer.from("GET / HTTP/1.1\r\n\r\n"), 0, /not a capture file \(first bytes 47455420/, 0],
    ["truncated global header", pcapHeader().subarray(0, 20), 0, /inside the 24-byte pcap file header/, 0],
    [
      "bad pcap version",
      Buffer.concat([pcapHeader().subarray(0, 4), u16(true, 1), pcapHeader().subarray(6)]),
      4,
      /unsupported pcap version 1\.4/,
      0,
    ],
    ["truncated record header", Buffer.concat([good, Buffer.alloc(10)]), 100, /10 bytes into a 16-byte record header/, 1],
    [
      "truncated packet data",
      Buffer.concat([good, pcapRecord(true, 2, 0, d).subarray(0, 16 + 30)]),
      100,
      /100-byte packet, only 30 bytes present/,
      1,
    ],
    [
      "incl_len above snaplen and 256 KiB",
      Buffer.concat([good, pcapRecord(true, 2, 0, Buffer.alloc(0), 262145, 262145), d]),
      100,
      /record header says 262145-byte packet, larger than snaplen 65535 and the 262144-byte maximum/,
      1,
    ],
    [
      "incl_len above a big snaplen",
      Buffer.concat([pcapHeader({ snaplen: 300000 }), pcapRecord(true, 2, 0, Buffer.alloc(0), 300001, 300001), d]),
      24,
      /300001-byte packet, larger than snaplen 300000/,
      0,
    ],
    ["pcapng truncated block header", Buffer.concat([shb(true), Buffer.alloc(8)]), 28, /8 bytes into a block header/, 0],
    [
      "pcapng truncated block",
      Buffer.concat([shb(true), idb(true, 1, 0).subarray(0, 15)]),
      28,
      /inside a 20-byte block, only 15 bytes present/,
      0,
    ],
    [
      "pcapng length not a multiple of 4",
      Buffer.concat([shb(true), block(true, 1, Buffer.alloc(8), 22)]),
      28,
      /total length 22, not a multiple of 4/,
      0,
    ],
    [
      "pcapng length too small",
      Buffer.concat([shb(true), block(true, 5, Buffer.alloc(8), 8)]),
      28,
      /total length 8, smaller than the 12-byte minimum/,
      0,
    ],
    [
      "pcapng IDB too small",
      Buffer.concat([shb(true), block(true, 1, Buffer.alloc(4))]),
      28,
      /interface description block has total length 16, smaller than the 20-byte minimum/,
      0,
    ],
    [
      "pcapng absurd length",
      Buffer.concat([shb(true), block(true, 6, Buffer.alloc(20), 0x7ffffffc)]),
      28,
      /larger than the 268435456-byte sanity limit/,
      0,
    ],
    [
      "pcapng trailing length mismatch",
      Buffer.concat([shb(true), block(true, 1, Buffer.alloc(8), undefined, 24)]),
      28,
      /total length 20 but its trailing length field says 24/,
      0,
    ],
    [
      "pcapng EPB on unknown interface",
      Buffer.concat([shb(true), idb(true, 1, 0), epb(true, 0, 1n, d), epb(true, 3, 1n, d)]),
      28 + 20 + 132,
      /enhanced packet block refers to interface 3, but this section defines only interfaces 0\.\.0/,
      1,
    ],
    ["pcapng EPB before any IDB", Buffer.concat([shb(true), epb(true, 0, 1n, d)]), 28, /defines no interfaces/, 0],
    ["pcapng SPB before any IDB", Buffer.concat([shb(true), spb(true, d)]), 28, /simple packet block but no interface is defined/, 0],
    [
      "pcapng EPB caplen beyond block",
      Buffer.concat([shb(true), idb(true, 1, 0), epb(true, 0, 1n, d, 100, 101)]),
      48,
      /says 101-byte packet, but the 132-byte block has room for 100/,
      0,
    ],
    [
      "pcapng bad byte-order magic",
      Buffer.concat([shb(true).subarray(0, 8), Buffer.from([1, 2, 3, 4]), shb(true).subarray(12)]),
      0,
      /byte-order magic 0x01020304/,
      0,
    ],
    [
      "pcapng bad version",
      Buffer.concat([shb(true).subarray(0, 12), u16(true, 2), shb(true).subarray(14)]),
      0,
      /unsupported pcapng version 2\.0/,
      0,
    ],
  ];
  for (const [what, buf, offset, reason, delivered] of cases) {
    const { pkts } = collectBuf(buf, "x.cap");
    assert.equal(pkts.length, delivered, `${what}: packets before the damage`);
    const e = damaged(buf);
    assert.equal(e.offset, offset, `${what}: offset (${e.message})`);
    assert.match(e.reason, reason, what);
    assert.ok(e.hint.length > 10, what);
    assert.ok(e.offset <= buf.length, what);
  }
  // the hint tells truncation from corruption
  assert.match(damaged(Buffer.concat([good, Buffer.alloc(10)])).hint, /cut short/);
  assert.match(
    damaged(Buffer.concat([good, pcapRecord(true, 2, 0, Buffer.alloc(0), 262145, 262145)])).hint,
    /corrupt after this point \(re-capture, or cut it with editcap\)/,
  );
});

test("damage: unreadable paths are reported, not thrown", async () => {
  const missing = await readCapture(path.join(os.tmpdir(), "netsig-no-such-file.pcap"), () => assert.fail("no packets"));
  assert.ok(missing.error instanceof CaptureError);
  assert.equal(missing.error.offset, 0);
  assert.equal(missing.format, "unknown");
  assert.match(missing.error.message, /netsig-no-such-file\.pcap: byte offset 0: no such file; check the path/);

  const dir = await readCapture(os.tmpdir(), () => assert.fail("no packets"));
  assert.match(dir.error!.message, /byte offset 0: is a directory/);

  const f = tmpFile("noperm.pcap");
  fs.writeFileSync(f, pcapHeader());
  try {
    fs.chmodSync(f, 0);
    const r = await readCapture(f, () => undefined);
    if (process.getuid?.() === 0) assert.equal(r.error, undefined, "root can read anything");
    else assert.match(r.error!.message, /permission denied/);
  } finally {
    fs.rmSync(f, { force: true });
  }
  const empty = tmpFile("empty.pcap");
  fs.writeFileSync(empty, "");
  try {
    const r = await readCapture(empty, () => undefined);
    assert.match(r.error!.message, /empty file/);
  } finally {
    fs.rmSync(empty, { force: true });
  }
});

test("damage: truncation at every offset (pcap and multi-section pcapng)", async () => {
  for (const rel of [
    "tcpdump/dns_udp.pcap",
    "tcpdump/pptp.pcap",
    "pcapng-test-generator/be_test202.pcapng",
    "zeek/pcapng-multi-interface.pcapng",
  ]) {
    const full = fs.readFileSync(corpus(rel));
    const all = collectBuf(full).pkts;
    const ends = packetEnds(full, all);
    const isNg = full.readUInt32BE(0) === 0x0a0d0d0a;
    const clean = new Set(
      isNg
        ? walkBlocks(full)
            .map((b) => b.offset)
            .slice(1)
            .concat(full.length)
        : [24, ...ends],
    );
    let prev = 0;
    for (let cut = 0; cut <= full.length; cut++) {
      const { pkts, sum } = collectBuf(full.subarray(0, cut), rel);
      assert.ok(pkts.length >= prev, `${rel} @${cut}: monotonic`);
      prev = pkts.length;
      assert.deepEqual(pkts, all.slice(0, pkts.length), `${rel} @${cut}: a prefix of the real packets`);
      // everything that fits entirely before the cut was delivered (pcapng: up to trailing non-packet blocks)
      const complete = ends.filter((e) => e <= cut).length;
      assert.equal(pkts.length, complete, `${rel} @${cut}: every complete packet delivered`);
      if (clean.has(cut)) {
        // a cut exactly between records / blocks leaves a valid, shorter capture
        assert.equal(sum.error, undefined, `${rel} @${cut}`);
        continue;
      }
      assert.ok(sum.error instanceof CaptureError, `${rel} @${cut}: error reported`);
      assert.ok(
        sum.error.offset <= cut && sum.error.offset >= (pkts.length ? ends[pkts.length - 1] : 0),
        `${rel} @${cut}: error offset ${sum.error.offset}`,
      );
      assert.match(sum.error.reason, /file ends|empty file|only \d+ bytes long/);
    }
  }
});

for (const [n, rel] of ["tcpdump/dns_tcp.pcap", "tcpdump/pptp.pcap", "chrissanders-packets/dns_tcp.pcapng", "ndpi/nano.pcapng"].entries()) {
  test(`damage: truncated and corrupted copies of ${rel} agree with tshark`, { skip: NO_TSHARK || needsOutside(rel) }, async () => {
    const r = rng(11 + n);
    const jobs: { buf: Buffer; what: string }[] = [];
    const full = fs.readFileSync(corpus(rel));
    // cuts after the file header (cut inside it, tshark falls back to other
    // file formats) and not on a record boundary (that is a valid shorter file)
    const pk = collectBuf(full).pkts;
    const clean = new Set(full.readUInt32BE(0) === 0x0a0d0d0a ? walkBlocks(full).map((b) => b.offset) : packetEnds(full, pk));
    for (let i = 0; i < 2; i++) {
      let cut: number;
      do cut = pk[0].fileOffset + 1 + Math.floor(r() * (full.length - pk[0].fileOffset - 1));
      while (clean.has(cut));
      jobs.push({ buf: full.subarray(0, cut), what: `${rel} cut at ${cut}` });
    }
    if (rel.endsWith(".pcap")) {
      // an absurd incl_len in the middle
      const at = pk[Math.floor(pk.length / 2)].fileOffset;
      const b = Buffer.from(full);
      b.writeUInt32BE(0x00100000, at + 8); // pptp is big-endian; on LE files this is huge anyway
      b.writeUInt32LE(0x00100000, at + 8);
      jobs.push({ buf: b, what: `${rel} incl_len 1M at ${at}` });
    }
    const outs = await Promise.all(jobs.map((j) => tshark(j.buf)));
    jobs.forEach((j, i) => {
      const t = outs[i];
      const { pkts, sum } = collectBuf(j.buf);
      assert.ok(tsharkDamaged(t), `${j.what}: tshark sees damage`);
      assert.ok(sum.error instanceof CaptureError, `${j.what}: we see damage`);
      const want = tsharkPackets(t);
      assert.deepEqual(
        pkts.map((p) => [p.ts, p.origLen, p.caplen]),
        want.map((w) => [w.ts, w.origLen, w.caplen]),
        j.what,
      );
    });
  });
}

test("damage: random byte corruption never throws and never changes packets before the damage", () => {
  const r = rng(12345);
  const files = [
    "tcpdump/dns_udp.pcap",
    "tcpdump/pptp.pcap",
    "zeek/pcapng-multi-interface.pcapng",
    "pcapng-test-generator/be_test202.pcapng",
    "pcapng-test-generator/be_test008.pcapng",
    "tcpdump/tcp-handshake-nano.pcap",
  ].map((rel) => fs.readFileSync(corpus(rel)));
  let errors = 0;
  for (let iter = 0; iter < 1500; iter++) {
    const orig = files[iter % files.length];
    const all = collectBuf(orig).pkts;
    const b = Buffer.from(orig);
    const flips = 1 + Math.floor(r() * 6);
    let first = b.length;
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(r() * b.length);
      b[at] = (r() * 256) | 0;
      first = Math.min(first, at);
    }
    if (r() < 0.3) {
      // also set a length-ish word to an extreme value
      const at = Math.floor(r() * (b.length - 4));
      b.writeUInt32LE([0, 1, 0xffffffff, 0x7fffffff, 0x10000000, 13][Math.floor(r() * 6)], at);
      first = Math.min(first, at);
    }
    const { pkts, sum } = collectBuf(b, "fuzz");
    if (sum.error) {
      errors++;
      assert.ok(sum.error instanceof CaptureError);
      assert.ok(sum.error.offset >= 0 && sum.error.offset <= b.length);
    }
    // records that end before the first changed byte are untouched (pcapng: unless an earlier IDB changed)
    for (let i = 0; i < all.length && i < pkts.length; i++) {
      const end = i + 1 < all.length ? all[i + 1].fileOffset : orig.length;
      if (end > first) break;
      assert.deepEqual(pkts[i], all[i]);
    }
    assert.ok(pkts.length >= all.filter((_p, i) => (i + 1 < all.length ? all[i + 1].fileOffset : orig.length) <= first).length);
  }
  assert.ok(errors > 100, `corruption was detected sometimes (${errors})`);
});

test("damage: buffer, file and stream readers agree on damaged input (packets and error)", async () => {
  const r = rng(4242);
  const files = [
    "tcpdump/dns_udp.pcap",
    "tcpdump/pptp.pcap",
    "zeek/pcapng-multi-interface.pcapng",
    "pcapng-test-generator/be_test202.pcapng",
    "tcpdump/tcp-handshake-nano.pcap",
    "ndpi/nano.pcapng",
  ].map((rel) => fs.readFileSync(corpus(rel)));
  const f = tmpFile("fuzz.cap");
  try {
    for (let iter = 0; iter < 300; iter++) {
      const b = Buffer.from(files[iter % files.length]);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
        // a fifth of the damage goes to the file / section header
        const at = Math.floor(r() * (r() < 0.2 ? 32 : b.length - 4));
        if (r() < 0.5) b[at] = (r() * 256) | 0;
        else b.writeUInt32LE([0, 12, 16, 28, 0xffffffff, 0x0a0d0d0a, Math.floor(r() * 2 ** 32)][Math.floor(r() * 7)] >>> 0, at);
      }
      const cut = r() < 0.3 ? b.subarray(0, Math.floor(r() * b.length)) : b;
      fs.writeFileSync(f, cut);
      const want = collectBuf(cut, f);
      const viaFile = await collect(f, { chunkSize: 1 + Math.floor(r() * 2000) });
      const viaStream = await collectPieces(cut, [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 3000)], 1 + Math.floor(r() * 2000));
      assert.deepEqual(viaFile.pkts, want.pkts, `iteration ${iter}: file reader packets`);
      assert.equal(viaFile.sum.error?.message, want.sum.error?.message, `iteration ${iter}: file reader error`);
      assert.deepEqual(viaStream.pkts, want.pkts, `iteration ${iter}: stream reader packets`);
      assert.equal(viaStream.sum.error?.message, want.sum.error?.message.replace(f, "pieces"), `iteration ${iter}: stream reader error`);
    }
  } finally {
    fs.rmSync(f, { force: true });
  }
});

// ------------------------------------------------------- streaming

test("streaming: chunk size 7 and random stream pieces give the same packets as one buffer", async () => {
  const r = rng(99);
  for (const rel of [
    "tcpdump/pptp.pcap",
    "tcpdump/dns-badlabel.pcap",
    "zeek/pcapng-multi-interface.pcapng",
    "pcapng-test-generator/be_test202.pcapng",
    "ndpi/nano.pcapng",
    "tcpdump/tcp-handshake-nano.pcap",
  ]) {
    const buf = fs.readFileSync(corpus(rel));
    const want = collectBuf(buf, corpus(rel));
    for (const chunkSize of [7, 1, 64, 1000, 1 << 20]) {
      const got = await collect(corpus(rel), { chunkSize });
      assert.deepEqual(got.pkts, want.pkts, `${rel} chunk ${chunkSize}`);
      assert.deepEqual(got.sum, want.sum);
    }
    for (let i = 0; i < 5; i++) {
      const sizes = Array.from({ length: 7 }, () => 1 + Math.floor(r() * (r() < 0.5 ? 10 : 3000)));
      const got = await collectPieces(buf, sizes, i % 2 ? 7 : undefined);
      assert.deepEqual(got.pkts, want.pkts, `${rel} pieces ${sizes}`);
      assert.equal(got.sum.error, undefined);
    }
  }
});

test("streaming: truncated stream reports the same damage as a truncated buffer", async () => {
  const full = fs.readFileSync(corpus("pcapng-test-generator/be_test202.pcapng"));
  for (const cut of [0, 3, 27, 100, 1107, 1500, 2907]) {
    const b = full.subarray(0, cut);
    const want = collectBuf(b, "pieces");
    const got = await collectPieces(b, [5, 17, 300], 7);
    assert.deepEqual(got.pkts, want.pkts);
    assert.equal(got.sum.error?.message, want.sum.error?.message);
  }
});

test("streaming: records larger than the chunk grow the buffer", async () => {
  const big = payload(250000, 8);
  const pcap = Buffer.concat([
    pcapHeader({ snaplen: 262144 }),
    pcapRecord(true, 1, 0, payload(70, 9)),
    pcapRecord(true, 2, 0, big),
    pcapRecord(true, 3, 0, payload(70, 10)),
  ]);
  const huge = payload(3 * 1024 * 1024 + 5, 11);
  const ng = Buffer.concat([
    shb(false),
    idb(false, 1, 0),
    epb(false, 0, 1n, payload(40, 12)),
    epb(false, 0, 2n, huge),
    epb(false, 0, 3n, payload(40, 13)),
  ]);
  for (const [name, buf, sizes] of [
    ["big.pcap", pcap, [70, 250000, 70]],
    ["big.pcapng", ng, [40, huge.length, 40]],
  ] as const) {
    const f = tmpFile(name);
    fs.writeFileSync(f, buf);
    try {
      for (const chunkSize of [7, 65536, undefined]) {
        const bufs = new Set<Buffer>();
        const pkts: Pkt[] = [];
        const sum = await readCapture(
          f,
          (p) => {
            bufs.add(p.buf);
            pkts.push(snap(p));
          },
          { chunkSize },
        );
        assert.equal(sum.error, undefined, `${name} ${chunkSize}`);
        assert.deepEqual(
          pkts.map((p) => p.caplen),
          sizes,
        );
        assert.equal(pkts[1].hash, fnv(name.endsWith("pcap") ? big : huge, 0, sizes[1]));
        assert.deepEqual(pkts, collectBuf(buf, f).pkts);
        if (chunkSize === undefined) assert.ok(bufs.size <= 2, "packets point into the read buffer");
      }
    } finally {
      fs.rmSync(f, { force: true });
    }
  }
});

test("streaming: a length field promising more than the file holds does not allocate it", async () => {
  const f = tmpFile("liar.pcapng");
  fs.writeFileSync(f, Buffer.concat([shb(true), idb(true, 1, 0), block(true, 6, Buffer.alloc(40), 200 * 1024 * 1024)]));
  try {
    const before = process.memoryUsage().rss;
    const r = await readCapture(f, () => undefined, { chunkSize: 4096 });
    assert.match(r.error!.message, /file ends inside a 209715200-byte block, only 52 bytes present/);
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
  } finally {
    fs.rmSync(f, { force: true });
  }
});

test("stdin: readCapture('-') in a child process", async () => {
  const reader = path.join(ROOT, "dist", "engine", "capture", "reader.js");
  const script = `
    const { readCapture } = require(${JSON.stringify(reader)});
    const out = [];
    readCapture("-", (p) => out.push([p.tsSec, p.tsNsec, p.caplen, p.origLen, p.fileOffset, p.iface])).then((s) => {
      process.stdout.write(JSON.stringify({ out, s: { format: s.format, packets: s.packets, bytes: s.bytes, error: s.error && s.error.message } }));
    });`;
  const run = (input: Buffer) =>
    new Promise<{ out: unknown[][]; s: { format: string; packets: number; bytes: number; error?: string } }>((resolve, reject) => {
      const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => chunks.push(d));
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`child exit ${code}`)),
      );
      // dribble it in pieces so records straddle pipe reads
      const r = Readable.from(Array.from({ length: Math.ceil(input.length / 333) }, (_, i) => input.subarray(i * 333, (i + 1) * 333)));
      r.pipe(child.stdin);
    });
  for (const rel of ["zeek/pcapng-multi-interface.pcapng", "tcpdump/pptp.pcap"]) {
    const buf = fs.readFileSync(corpus(rel));
    const want = collectBuf(buf);
    const got = await run(buf);
    assert.equal(got.s.error, undefined);
    assert.equal(got.s.packets, want.sum.packets);
    assert.deepEqual(
      got.out.map((o) => [tsString(o[0] as number, o[1] as number), o[2], o[3], o[4], o[5]]),
      want.pkts.map((p) => [p.ts, p.caplen, p.origLen, p.fileOffset, p.iface]),
    );
  }
  const cut = fs.readFileSync(corpus("tcpdump/pptp.pcap")).subarray(0, 1000);
  const got = await run(cut);
  assert.equal(got.s.packets, collectBuf(cut).sum.packets);
  assert.match(got.s.error!, /^<stdin>: byte offset 932: file ends inside a record/);
});

test("handler exceptions propagate; abort rejects with the signal's reason", async () => {
  const buf = Buffer.concat([pcapHeader(), pcapRecord(true, 1, 0, payload(10, 1)), pcapRecord(true, 2, 0, payload(10, 2))]);
  const boom = Object.assign(new Error("handler failed"), { code: "ENOENT" }); // looks like I/O, is not
  assert.throws(
    () =>
      parseCaptureBuffer(buf, () => {
        throw boom;
      }),
    boom,
  );
  const f = tmpFile("throw.pcap");
  fs.writeFileSync(f, buf);
  try {
    await assert.rejects(
      readCapture(f, () => {
        throw boom;
      }),
      boom,
    );
    await assert.rejects(
      readCaptureStream(Readable.from([buf]), () => {
        throw boom;
      }),
      boom,
    );
    const ac = new AbortController();
    ac.abort(new Error("stop"));
    await assert.rejects(
      readCapture(f, () => undefined, { signal: ac.signal }),
      /stop/,
    );
    // abort between chunks: the packets of the current chunk are still delivered
    const ac2 = new AbortController();
    let n = 0;
    await assert.rejects(
      readCapture(
        f,
        () => {
          n++;
          ac2.abort(new Error("enough"));
        },
        { chunkSize: 50, signal: ac2.signal },
      ),
      /enough/,
    );
    assert.equal(n, 1);
  } finally {
    fs.rmSync(f, { force: true });
  }
  // an idle stream: the abort must not wait for the next chunk
  const idle = new PassThrough();
  idle.write(buf.subarray(0, 30));
  const ac3 = new AbortController();
  setTimeout(() => ac3.abort(new Error("idle abort")), 20);
  await assert.rejects(
    readCaptureStream(idle, () => undefined, { signal: ac3.signal }),
    /idle abort/,
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(idle.destroyed, "the source is stopped");
});

test("streaming: a 200 MB capture is read with bounded memory", async () => {
  const f = tmpFile("big200.pcap");
  const target = 200 * 1024 * 1024;
  const recs: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const n = 60 + ((i * 7919) % 1455);
    recs.push(pcapRecord(true, 1700000000 + i, i * 997, payload(n, i), n + (i % 3)));
  }
  const block1 = Buffer.concat(recs); // ~ 800 KB, written again and again
  const fd = fs.openSync(f, "w");
  let size = 0;
  let count = 0;
  try {
    fs.writeSync(fd, pcapHeader());
    size = 24;
    while (size < target) {
      fs.writeSync(fd, block1);
      size += block1.length;
      count += recs.length;
    }
    fs.closeSync(fd);
    const before = process.memoryUsage().rss;
    let peak = before;
    let packets = 0;
    let bytes = 0;
    let lastOff = -1;
    let maxBuf = 0;
    const t0 = process.hrtime.bigint();
    const sum = await readCapture(f, (p) => {
      packets++;
      bytes += p.caplen;
      if (p.fileOffset <= lastOff) assert.fail("offsets increase");
      lastOff = p.fileOffset;
      if (p.buf.length > maxBuf) maxBuf = p.buf.length;
      if ((packets & 0x3fff) === 0) {
        const rss = process.memoryUsage().rss;
        if (rss > peak) peak = rss;
      }
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.equal(sum.error, undefined);
    assert.equal(sum.packets, count);
    assert.equal(packets, count);
    assert.equal(sum.bytes, bytes);
    assert.ok(maxBuf <= 1024 * 1024 + 8192, `one ~1 MiB buffer (${maxBuf})`);
    const growth = peak - before;
    assert.ok(growth < 64 * 1024 * 1024, `rss grew by ${(growth / 1048576).toFixed(1)} MiB reading ${(size / 1048576).toFixed(0)} MiB`);
    console.log(
      `# read ${(size / 1048576).toFixed(0)} MiB, ${count} packets in ${secs.toFixed(2)} s: ${(count / secs / 1e6).toFixed(2)} Mpkt/s, ${(size / 1048576 / secs).toFixed(0)} MiB/s; rss growth ${(growth / 1048576).toFixed(1)} MiB`,
    );
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      /* closed */
    }
    fs.rmSync(f, { force: true });
  }
});

// ------------------------------------------------------- corpus vs tshark
// (last in the file: the tshark runs, started at load, overlap the tests above)

for (const rel of CAPTURES) {
  test(`corpus vs tshark: ${rel}`, { skip: NO_TSHARK }, async () => {
    let t = await TSHARK_RUNS.get(rel)!;
    const { pkts, sum } = await collect(corpus(rel));
    if (tsharkPackets(t).length !== pkts.length && t.status === 0) {
      // a CI run once saw tshark print 1 of 30 frames and exit 0: ask the peer again before judging
      console.log(`# tshark on ${rel}: ${tsharkPackets(t).length} frames, netsig ${pkts.length}; running tshark again`);
      t = await tsharkAgain(corpus(rel));
    }
    const want = tsharkPackets(t);
    if (tsharkDamaged(t)) {
      // tshark prints the frames before the damage, then fails
      assert.ok(sum.error instanceof CaptureError, `tshark says damaged (status ${t.status}: ${t.stderr}); we must report it too`);
    } else {
      assert.equal(sum.error, undefined, `unexpected error ${sum.error?.message}`);
    }
    assert.equal(pkts.length, want.length, "packet count");
    assert.equal(sum.packets, pkts.length);
    assert.equal(
      sum.bytes,
      pkts.reduce((a, p) => a + p.caplen, 0),
    );
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      const o = pkts[i];
      const at = `packet ${i + 1}`;
      assert.equal(o.ts, w.ts, `${at} timestamp`);
      assert.equal(o.origLen, w.origLen, `${at} orig length`);
      assert.equal(o.caplen, w.caplen, `${at} captured length`);
      if (!MULTI_SECTION.has(rel)) assert.equal(o.iface, w.iface, `${at} interface name`);
    }
  });
}
