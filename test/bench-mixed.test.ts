// The bench's mixed HTTP/TLS capture (bench/make-mixed.ts): a small seed
// recorded with the real clients and servers in a network namespace, then
// repeated. tshark checks that the traffic holds what the generator says
// (HTTP keep-alive and not, a header block over several segments, TLS 1.2 and
// 1.3 with SNI and ALPN, IPv4 and IPv6) and that the copies are whole, valid
// and distinct flows (checksums good, as many requests and hellos per copy as
// in the seed, each copy's connections on their own addresses).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { makeMixed, mixedSkipReason, readPcap } from "../bench/make-mixed";

const skip = mixedSkipReason();
const noSkip = !skip || process.env.CI ? false : skip;

/**
 * tshark's fields of the frames that match; checksums are checked in the
 * copies only: the seed, recorded on lo, holds the partial checksums of
 * checksum offload (and tshark reassembles no segment it finds bad)
 */
function fields(file: string, filter: string, ...f: string[]): string[][] {
  const check = file.includes("seed") ? [] : ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"];
  const r = spawnSync("tshark", ["-r", file, ...check, "-Y", filter, "-T", "fields", ...f.flatMap((x) => ["-e", x])], {
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => l.split("\t"));
}

test("the mixed capture: real HTTP and TLS, repeated into whole, valid, distinct flows", { skip: noSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-mixed-test-"));
  try {
    const out = join(dir, "mixed.pcap");
    const meta = makeMixed({ out, packets: 3000, scale: 0.1, force: true, log: () => undefined });
    const seedFile = join(dir, "mixed-seed-v1-x0.1.pcap");
    const seed = readPcap(seedFile);
    const all = readPcap(out);
    assert.equal(meta.seedPackets, seed.ts.length);
    assert.equal(meta.copies, Math.ceil(3000 / seed.ts.length));
    assert.equal(all.ts.length, meta.copies * seed.ts.length);
    assert.equal(meta.packets, all.ts.length);
    for (let i = 1; i < all.ts.length; i++)
      assert.ok((all.ts[i] as number) >= (all.ts[i - 1] as number), `packet ${i + 1} goes back in time`);

    // the seed: what the generator promises
    const reqs = fields(seedFile, "http.request", "tcp.stream", "http.request.method", "http.user_agent", "tcp.reassembled.length");
    const streams = new Map<string, number>();
    for (const [s] of reqs) streams.set(s as string, (streams.get(s as string) ?? 0) + 1);
    assert.ok(
      [...streams.values()].some((n) => n >= 3),
      "a keep-alive connection with several requests",
    );
    assert.ok(
      [...streams.values()].some((n) => n === 1),
      "a connection with one request",
    );
    assert.ok(
      reqs.some((r) => Number(r[3]) > 3000),
      "a request whose header block tshark reassembled from several segments",
    );
    assert.ok(reqs.some((r) => r[1] === "POST"));
    for (const ua of [/^curl\//, /^Wget\//, /^Python-urllib\//, /^Mozilla\//])
      assert.ok(
        reqs.some((r) => ua.test(r[2] ?? "")),
        `${ua}`,
      );
    const ch = fields(
      seedFile,
      "tls.handshake.type == 1",
      "tls.handshake.extensions_server_name",
      "tls.handshake.extensions_alpn_str",
      "ipv6.src",
    );
    assert.ok(
      ch.some((r) => r[0] !== ""),
      "a client hello with SNI",
    );
    assert.ok(
      ch.some((r) => r[0] === ""),
      "a client hello without SNI",
    );
    assert.ok(
      ch.some((r) => (r[1] ?? "").includes("http/1.1")),
      "a client hello with ALPN",
    );
    assert.ok(ch.some((r) => r[2] !== "") && ch.some((r) => r[2] === ""), "client hellos over IPv4 and IPv6");
    const sh = fields(seedFile, "tls.handshake.type == 2", "tls.handshake.extensions.supported_version", "tls.handshake.version");
    assert.ok(
      sh.some((r) => r[0] === "0x0304"),
      "a TLS 1.3 server hello",
    );
    assert.ok(
      sh.some((r) => r[0] === "" && r[1] === "0x0303"),
      "a TLS 1.2 server hello",
    );

    // the copies: checksums computed again, every message of every copy there, each copy on its own addresses
    assert.deepEqual(fields(out, "tcp.checksum.status != 1 || ip.checksum.status == 0", "frame.number"), [], "bad or unverified checksums");
    assert.equal(fields(out, "http.request", "frame.number").length, meta.copies * reqs.length);
    assert.equal(
      fields(out, "http.response", "frame.number").length,
      meta.copies * fields(seedFile, "http.response", "frame.number").length,
    );
    assert.equal(fields(out, "tls.handshake.type == 1", "frame.number").length, meta.copies * ch.length);
    assert.equal(fields(out, "tls.handshake.type == 2", "frame.number").length, meta.copies * sh.length);
    const tuples = (file: string) =>
      new Set(
        fields(file, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "ip.src", "ipv6.src", "tcp.srcport", "tcp.dstport").map((r) =>
          r.join("|"),
        ),
      );
    const seedTuples = tuples(seedFile);
    assert.ok(seedTuples.size > 10);
    assert.equal(tuples(out).size, meta.copies * seedTuples.size);
    assert.equal(meta.seedFlows, fields(seedFile, "tcp.flags.syn == 1 && tcp.flags.ack == 0", "frame.number").length);

    // cached by version and packet count: the same call reuses, another count repeats the same seed again
    const mtime = statSync(out).mtimeMs;
    assert.deepEqual(makeMixed({ out, packets: 3000, scale: 0.1, log: () => undefined }), meta);
    assert.equal(statSync(out).mtimeMs, mtime);
    const seedMtime = statSync(seedFile).mtimeMs;
    const bigger = makeMixed({ out, packets: 6000, scale: 0.1, log: () => undefined });
    assert.equal(bigger.seedPackets, meta.seedPackets);
    assert.equal(bigger.copies, Math.ceil(6000 / seed.ts.length));
    assert.equal(statSync(seedFile).mtimeMs, seedMtime);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
