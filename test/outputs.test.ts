// --output-file: JSON lines rotated by size. A line is never split, rotated
// files are PATH.1 (newest) .. PATH.K, older ones deleted; the file holds
// exactly what standard output prints (JSON), in order; a full disk drops and
// counts lines without stopping anything; SIGTERM in `run` loses nothing.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RotatingFile } from "../engine/outputs/rotating";
import { dns, ethernet, ipv4, udp, writePcap } from "../tools/lib/craft";
import { startReceiver, until } from "./lib/receiver";
import { CLI, netsig } from "./lib/run";

const isRoot = process.getuid?.() === 0;
const N = 3000;
let dir: string;
let pcap: string;
let sigs: string;

/** a finding for every DNS request, and one with the total at the end */
const EVERY = `import type { NetEvent, Signal, Signature, SignatureContext } from "netsig";
export default class Every implements Signature {
  private ctx!: SignatureContext;
  private n = 0;
  getMetadata() { return { id: "EVERY", version: "1", name: "every", description: "one finding per event", properties: { Severity: 1 } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }, { source: "tracee", name: "net_packet_icmp" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(e: NetEvent) { this.n++; this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { n: this.n } }); }
  onSignal(s: Signal) { if (s.type === "source_complete") this.ctx.callback({ sigMetadata: this.getMetadata(), event: null as never, data: { total: this.n } }); }
  close() {}
}
`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "netsig-outputs-"));
  // N DNS queries, each a different name: 4 events each (ipv4, udp, dns, dns_request)
  const packets = Array.from({ length: N }, (_, i) => ({
    tsSec: 1700000000 + Math.floor(i / 1000),
    tsUsec: (i % 1000) * 1000,
    data: ethernet(
      ipv4(
        { src: "10.0.0.1", dst: "10.0.0.53", protocol: 17 },
        udp(
          { srcPort: 10000 + (i % 50000), dstPort: 53 },
          dns({
            type: "query",
            id: i,
            flags: 0x0100,
            questions: [{ type: "A", class: "IN", name: `q${i}.${"x".repeat(i % 40)}.example.com` }],
          }),
        ),
      ),
    ),
  }));
  pcap = writePcap(join(dir, "queries.pcap"), 1, packets);
  sigs = join(dir, "sigs");
  mkdirSync(sigs);
  writeFileSync(join(sigs, "every.ts"), EVERY);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** PATH.K .. PATH.1, PATH: the rotated files, oldest first */
function rotated(path: string): string[] {
  const base = path.split("/").pop()!;
  const nums = readdirSync(join(path, ".."))
    .filter((n) => n.startsWith(base + "."))
    .map((n) => Number(n.slice(base.length + 1)))
    .sort((a, b) => b - a);
  return [...nums.map((n) => `${path}.${n}`), ...(existsSync(path) ? [path] : [])];
}

/** how lines are packed into files of at most max bytes (a longer line alone) */
function packing(lines: string[], max: number): string[] {
  const files: string[] = [];
  let cur = "";
  for (const l of lines) {
    const b = Buffer.byteLength(l) + 1;
    if (cur !== "" && Buffer.byteLength(cur) + b > max) {
      files.push(cur);
      cur = "";
    }
    cur += l + "\n";
  }
  files.push(cur);
  return files;
}

function checkFiles(files: string[], max: number): void {
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    assert.ok(text.endsWith("\n"), `${f} ends with a whole line`);
    const lines = text.slice(0, -1).split("\n");
    assert.ok(Buffer.byteLength(text) <= max || lines.length === 1, `${f}: ${Buffer.byteLength(text)} bytes, ${lines.length} lines`);
    for (const l of lines) JSON.parse(l);
  }
}

test("RotatingFile: lines in random blocks (ending inside lines), some longer than max-bytes: never split, packed as expected; keep 3 keeps the newest 3", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, pad: "p".repeat(i % 97 === 0 ? 1500 : rnd(300)) }));
  const all = Buffer.from(lines.map((l) => l + "\n").join(""));
  const max = 1000;
  const expected = packing(lines, max);
  assert.equal(expected.length, 398, "the packing this input gives (pinned)");
  for (const keep of [1000, 3]) {
    const path = join(dir, `unit-${keep}.jsonl`);
    const f = new RotatingFile({ path, maxBytes: max, keep });
    for (let off = 0; off < all.length; ) {
      const n = 1 + rnd(700);
      f.write(all.subarray(off, off + n));
      off += n;
    }
    f.close();
    const files = rotated(path);
    checkFiles(files, max);
    assert.equal(f.rotations, expected.length - 1);
    if (keep === 1000) {
      assert.equal(files.length, expected.length);
      assert.equal(files.map((p) => readFileSync(p, "utf8")).join(""), all.toString());
    } else {
      assert.deepEqual(files, [`${path}.3`, `${path}.2`, `${path}.1`, path], "PATH and the 3 newest rotated files; older ones deleted");
      assert.deepEqual(
        files.map((p) => readFileSync(p, "utf8")),
        expected.slice(-4),
      );
    }
  }
});

test("replay --output-file: the file holds exactly the JSON lines printed, rotated at max-bytes; keep 3 deletes the oldest", () => {
  const max = 65536;
  const path = join(dir, "events.jsonl");
  const r = netsig(["replay", pcap, "--output-file", path, "--output-file-max-bytes", String(max), "--output-file-keep", "1000"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.slice(0, -1).split("\n");
  assert.equal(lines.length, 4 * N);
  assert.ok(r.stdout.length > 4 << 20, "more than the 1 MiB output buffer, several times");
  const files = rotated(path);
  const expected = packing(lines, max);
  assert.equal(files.length, expected.length);
  checkFiles(files, max);
  assert.equal(files.map((p) => readFileSync(p, "utf8")).join(""), r.stdout, "files, oldest first, = standard output, byte for byte");
  assert.match(
    r.stderr,
    new RegExp(`--output-file ${path}: ${Buffer.byteLength(r.stdout)} bytes written, ${expected.length - 1} rotations\\n`),
  );

  const path3 = join(dir, "events3.jsonl");
  const k = netsig(["replay", pcap, "--quiet", "--output-file", path3, "--output-file-max-bytes", String(max), "--output-file-keep", "3"]);
  assert.equal(k.code, 0, k.stderr);
  assert.deepEqual(rotated(path3), [`${path3}.3`, `${path3}.2`, `${path3}.1`, path3]);
  assert.deepEqual(
    rotated(path3).map((p) => readFileSync(p, "utf8")),
    expected.slice(-4),
    "the newest lines, packed the same way",
  );

  const t = netsig(["replay", pcap, "--quiet", "--output", "table", "--output-file", join(dir, "table.jsonl")]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^TIME/);
  assert.equal(readFileSync(join(dir, "table.jsonl"), "utf8"), r.stdout, "--output table prints a table; the file still gets JSON");
  const again = netsig(["replay", pcap, "--quiet", "--output-file", join(dir, "table.jsonl")]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(dir, "table.jsonl"), "utf8"), r.stdout + r.stdout, "a second run appends");
});

test("findings to --output-file with stdout and a webhook; --quiet-findings empties stdout only", async () => {
  const rx = await startReceiver();
  try {
    const path = join(dir, "findings.jsonl");
    const spool = join(dir, "spool");
    const args = [
      "replay",
      pcap,
      "--signatures",
      sigs,
      "--output-file",
      path,
      "--output-file-max-bytes",
      "200000",
      "--output-file-keep",
      "1000",
    ];
    const r = await runAsync([...args, "--webhook", `http://127.0.0.1:${rx.port}/`, "--webhook-batch", "1000", "--spool-dir", spool]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout.slice(0, -1).split("\n");
    assert.equal(out.length, N + 1, "a finding per query and the total");
    assert.deepEqual(JSON.parse(out[N]).args.find((a: { name: string }) => a.name === "total").value, N);
    const files = rotated(path);
    assert.ok(files.length > 10, `${files.length} files`);
    checkFiles(files, 200000);
    assert.equal(files.map((p) => readFileSync(p, "utf8")).join(""), r.stdout);
    const posted = rx.reqs.flatMap((q) => JSON.parse(q.body) as { metadata: { Properties: { findingID: string } } }[]);
    assert.equal(posted.length, N + 1, "the webhook got them all too");

    rmSync(path);
    for (const f of rotated(path)) rmSync(f);
    const q = netsig([...args, "--quiet-findings", "--events", "net_packet_dns_request"]);
    assert.equal(q.code, 0, q.stderr);
    const text = rotated(path)
      .map((p) => readFileSync(p, "utf8"))
      .join("");
    const lines = text
      .slice(0, -1)
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(q.stdout.split("\n").filter(Boolean).length, N, "stdout: the events, no finding");
    assert.equal(lines.length, 2 * N + 1, "file: the events and the findings");
    // each finding right after the event that triggered it
    for (let i = 0; i < N; i++) {
      assert.equal(lines[2 * i].eventName, "net_packet_dns_request");
      assert.equal(lines[2 * i + 1].eventName, "EVERY");
    }
  } finally {
    await rx.close();
  }
});

function runAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args]);
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    c.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("--output-file errors: one line naming the file, the reason and what to do; exit 2", () => {
  const cases: [string[], RegExp][] = [
    [
      ["--output-file", join(dir, "no", "such", "f.jsonl")],
      /^netsig: error: cannot open --output-file \S+\/no\/such\/f\.jsonl: ENOENT \(the folder does not exist; create it or choose another path\)\n$/,
    ],
    [["--output-file", dir], /^netsig: error: cannot open --output-file \S+: EISDIR \(it is a folder; give a file name\)\n$/],
    [
      ["--output-file", join(dir, "x"), "--output-file-max-bytes", "0"],
      /^netsig: error: --output-file-max-bytes must be a whole number from 1 to \d+, not "0"\n$/,
    ],
    [["--output-file-keep", "3"], /^netsig: error: --output-file-keep needs --output-file\n$/],
  ];
  for (const [args, re] of cases) {
    const r = netsig(["replay", pcap, ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, re);
    assert.equal(r.stdout, "");
  }
});

test("a write error (/dev/full: ENOSPC on every write): reported once, every line counted as dropped, stdout complete", () => {
  const r = netsig(["replay", pcap, "--output-file", "/dev/full"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n").filter(Boolean).length, 4 * N);
  assert.equal(r.stderr.match(/writing failed/g)?.length, 1, r.stderr);
  assert.match(
    r.stderr,
    /netsig: error: --output-file \/dev\/full: writing failed \(ENOSPC\); lines that cannot be written are dropped and counted, the other outputs go on\n/,
  );
  assert.match(r.stderr, new RegExp(`--output-file /dev/full: 0 bytes written, 0 rotations, ${4 * N} lines dropped \\(write errors\\)`));
});

test("the disk fills up during the run (a 256 KiB tmpfs): whole lines only, written + dropped = printed", {
  skip: isRoot ? false : "mounting a tmpfs needs root",
}, () => {
  const mnt = join(dir, "small");
  mkdirSync(mnt);
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], { encoding: "utf8" });
  if (m.status !== 0) throw new Error(`mount failed: ${m.stderr}`);
  try {
    const path = join(mnt, "ev.jsonl");
    const r = netsig(["replay", pcap, "--output-file", path, "--output-file-max-bytes", "50000", "--output-file-keep", "100"]);
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.slice(0, -1).split("\n");
    assert.equal(printed.length, 4 * N);
    assert.equal(r.stderr.match(/writing failed \(ENOSPC\)/g)?.length, 1, r.stderr);
    const dropped = Number(/, (\d+) lines dropped \(write errors\)/.exec(r.stderr)?.[1]);
    const files = rotated(path);
    checkFiles(
      files.filter((f) => statSync(f).size > 0),
      50000,
    );
    const written = files
      .map((p) => readFileSync(p, "utf8"))
      .join("")
      .split("\n")
      .filter(Boolean);
    assert.ok(written.length > 100 && dropped > 100, `${written.length} written, ${dropped} dropped`);
    assert.equal(written.length + dropped, printed.length, "every line printed was written or counted as dropped");
    // what was written is what was printed, up to the disk filling
    assert.deepEqual(written.slice(0, 100), printed.slice(0, 100));
  } finally {
    spawnSync("umount", [mnt]);
  }
});

test("run: SIGTERM while packets are in the signatures: every event and finding reaches the file (and stdout), none lost", {
  skip: isRoot ? false : "live capture needs root",
  timeout: 60_000,
}, async () => {
  const path = join(dir, "live.jsonl");
  const child = spawn(process.execPath, [
    CLI,
    "run",
    "--iface",
    "lo",
    "--bpf",
    "icmp and ip[2:2] == 1139",
    "--events",
    "net_packet_icmp",
    "--signatures",
    sigs,
    "--output-file",
    path,
    "--output-file-max-bytes",
    "50000",
    "--output-file-keep",
    "1000",
  ]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d;
  });
  // ping -s 1111: IPv4 total length 1139 (only this test's packets)
  const ping = spawn("ping", ["-q", "-i", "0.002", "-c", "5000", "-s", "1111", "127.0.0.1"], { stdio: "ignore" });
  try {
    assert.ok(await until(() => err.includes("capturing on lo"), 15_000), err);
    assert.ok(await until(() => (out.match(/"eventName":"net_packet_icmp"/g)?.length ?? 0) >= 300, 20_000), "traffic is seen");
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  } finally {
    ping.kill();
  }
  const captured = Number(/netsig: lo: (\d+) packets captured/.exec(err)?.[1]);
  const text = rotated(path)
    .map((p) => readFileSync(p, "utf8"))
    .join("");
  assert.equal(text, out, "the file = stdout, byte for byte");
  checkFiles(rotated(path), 50000);
  const lines = text
    .slice(0, -1)
    .split("\n")
    .map((l) => JSON.parse(l));
  const events = lines.filter((l) => l.eventName === "net_packet_icmp").length;
  const findings = lines.filter((l) => l.eventName === "EVERY");
  assert.ok(captured >= 300, err);
  assert.equal(events, captured, "an event per packet captured");
  assert.equal(findings.length, captured + 1, "a finding per packet, and the total");
  assert.equal(
    findings.at(-1).args.find((a: { name: string }) => a.name === "total").value,
    captured,
    "the total, reported while draining, is in the file",
  );
  assert.doesNotMatch(err, /not checked|dropped \(write/);
});
