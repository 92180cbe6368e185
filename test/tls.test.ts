// TLS hellos (engine/decode/tls.ts) and their fingerprints (decode/ja.ts):
//  - JA4 against the examples of FoxIO's JA4 specification
//    (technical_details/JA4.md: the cipher and extension lists, the hashes);
//  - every field of every hello compared with tshark's dissection of the same
//    capture, field by field (tls.handshake.*, ja3, ja3_full, ja3s,
//    ja3s_full), on the corpus' TLS captures (suricata-verify, with Suricata's
//    JA3/JA3S/JA4 as a second oracle) and on real traffic recorded here:
//    openssl s_server with curl, wget and openssl s_client, TLS 1.2 and 1.3,
//    over 127.0.0.1 and ::1, and in a network namespace whose small MTU
//    splits a hello across TCP segments (and -max_send_frag across records);
//  - the same events through replay --output json, a signature and a rule.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { clientMemo, isGrease, ja3String, ja4, ja4Alpn, setMemoOff } from "../engine/decode/ja";
import { parseClientHello, TLS_MAX_HOLD, TLS_PARSER } from "../engine/decode/tls";
import { DONE, NEED_MORE, NOT_MINE, type StreamDirection } from "../engine/types/parser";
import type { AppRecord } from "../engine/types/records";
import { CORPUS } from "./lib/corpus";
import { netsig } from "./lib/run";
import {
  type Cert,
  capture,
  type Hello,
  makeCert,
  makeNetns,
  netsigHellos,
  run,
  sServer,
  stopCapture,
  tempDir,
  tsharkHellos,
} from "./lib/tlslab";

const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

// ------------------------------------------------------------ the JA4 specification's examples

describe("JA4: the specification's examples (FoxIO technical_details/JA4.md)", () => {
  // the example hello of the specification: its cipher suites, extensions and signature algorithms in wire order
  const ciphers = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035];
  const exts = [
    0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
  ];
  const sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

  test("the example hello gives t13d1516h2_8daaf6152771_e5627efa2ab1", () => {
    assert.equal(ja4(0x0303, [0x0304, 0x0303], true, "h2", ciphers, exts, sigs), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  });

  test("GREASE values are left out everywhere: counts, hashes, the highest supported version", () => {
    const g = (l: number[]) => [0x0a0a, ...l.slice(0, 3), 0xdada, ...l.slice(3)];
    assert.equal(ja4(0x0303, [0x3a3a, 0x0304, 0x0303], true, "h2", g(ciphers), g(exts), sigs), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  });

  test("without signature algorithms the extension list is hashed without an underscore (the spec's 6d807ffa2a79)", () => {
    const noSigs = exts.filter((e) => e !== 0x000d);
    // the spec's example string still lists 000d (the extension is there, its list empty)
    assert.match(ja4(0x0303, [0x0304], true, "h2", ciphers, exts, []), /_6d807ffa2a79$/);
    assert.equal(sha12("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"), "6d807ffa2a79");
    assert.notEqual(ja4(0x0303, [0x0304], true, "h2", ciphers, noSigs, []).slice(-12), "6d807ffa2a79");
  });

  test("no SNI is 'i', no ALPN '00', no supported_versions: the hello's version; empty lists hash to 000000000000", () => {
    assert.equal(ja4(0x0303, [], false, "00", [], [], []), "t12i000000_000000000000_000000000000");
    assert.equal(ja4(0x0301, [], false, "00", [0x002f], [0x0000, 0x0010], []), "t10i010200_" + sha12("002f") + "_000000000000");
    assert.equal(ja4(0x0300, [], false, "00", [], [], []).slice(0, 4), "ts3i");
    assert.equal(ja4(0x0305, [], false, "00", [], [], []).slice(0, 4), "t00i", "an unknown version is 00");
    assert.equal(ja4(0x0303, [], true, "00", Array(120).fill(1), [], []).slice(4, 8), "9900", "counts stop at 99");
  });

  test("the ALPN part: first and last characters, or of the hex form when either is not alphanumeric", () => {
    const a = (...b: number[]) => ja4Alpn(Uint8Array.from(b), 0, b.length);
    assert.equal(a(...Buffer.from("h2")), "h2");
    assert.equal(a(...Buffer.from("http/1.1")), "h1");
    assert.equal(a(0x71), "qq", "one character is first and last");
    assert.equal(a(), "00");
    // the specification's list
    assert.equal(a(0xab), "ab");
    assert.equal(a(0x20), "20");
    assert.equal(a(0xab, 0xcd), "ad");
    assert.equal(a(0x20, 0x61), "21");
    assert.equal(a(0x30, 0xab), "3b");
    assert.equal(a(0x61, 0x20), "60");
    assert.equal(a(0x30, 0x31, 0xab, 0xcd), "3d");
    assert.equal(a(0x30, 0xab, 0xcd, 0x31), "01");
  });

  test("GREASE is exactly RFC 8701's sixteen values", () => {
    const all: number[] = [];
    for (let v = 0; v < 65536; v++) if (isGrease(v)) all.push(v);
    assert.deepEqual(
      all,
      Array.from({ length: 16 }, (_, i) => (i << 12) | 0x0a00 | (i << 4) | 0x0a),
    );
  });

  test("JA3 leaves GREASE out of ciphers, extensions and groups, keeps empty fields", () => {
    assert.equal(ja3String(771, [0x0a0a, 4865], [0x1a1a, 0, 10], [0x2a2a, 29], []), "771,4865,0-10,29,");
    assert.equal(ja3String(769, [], [], [], []), "769,,,,");
  });
});

// ------------------------------------------------------------ the differential

/** only the first hello of each kind per TCP connection: netsig stops a direction after its hello (tracee-choices) */
function firstPerConnection(hellos: (Hello & { stream?: number })[]): Hello[] {
  const seen = new Set<string>();
  return hellos.filter((h) => {
    const k = `${h.stream}|${h.kind}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** compare netsig's hellos with tshark's, field by field; returns the hellos compared */
async function differential(
  file: string,
  ports: number[] = [],
): Promise<{ ours: Hello[]; ja4: Map<number, string>; records: AppRecord[] }> {
  const { hellos: ours, ja4: ja4s, records } = await netsigHellos(file);
  const theirs = firstPerConnection(await tsharkHellos(file, ports));
  assert.ok(theirs.length > 0, `${file}: tshark found no hello`);
  const key = (h: Hello) => `${h.frame}/${h.kind}`;
  assert.deepEqual(ours.map(key), theirs.map(key), `${file}: the hellos, by frame`);
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i].hello as unknown as Record<string, unknown>;
    const b = theirs[i].hello as unknown as Record<string, unknown>;
    for (const f of Object.keys(b)) assert.deepEqual(a[f], b[f], `${file} frame ${ours[i].frame} ${ours[i].kind} hello: ${f}`);
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), "every field compared");
  }
  return { ours, ja4: ja4s, records };
}

/** a value of a suricata-verify test.yaml check ("tls.ja4: X") */
function suricataExpects(yaml: string, field: string): string {
  const m = new RegExp(`^\\s*${field.replace(/\./g, "\\.")}:\\s*"?([^"\\n]+)"?\\s*$`, "m").exec(readFileSync(join(CORPUS, yaml), "utf8"));
  assert.ok(m, `${yaml} checks ${field}`);
  return m[1];
}

describe("the corpus' TLS captures (suricata-verify): tshark field by field, Suricata's fingerprints", () => {
  const sv = (f: string) => join(CORPUS, "suricata-verify", f);

  test("tls-ja4-rules.pcap: a browser's TLS 1.3 hello with GREASE; JA4 is the specification's example", async () => {
    const { ours, ja4: j } = await differential(sv("tls-ja4-rules.pcap"));
    const c = ours.find((h) => h.kind === "client")!;
    assert.ok(c.hello.cipher_suites.some(isGrease) && c.hello.extensions.some(isGrease), "GREASE kept in the lists, as sent");
    assert.equal(c.hello.sni, "cloudflare-quic.com");
    assert.equal(j.get(c.frame), suricataExpects("suricata-verify/tls-ja4-rules.test.yaml", "tls.ja4"));
    assert.equal(j.get(c.frame), "t13d1516h2_8daaf6152771_e5627efa2ab1");
  });

  test("tls-ja4-tls.pcap: TLS 1.2, no SNI, ALPN spdy/3.1; the ServerHello shares its segment with three more messages", async () => {
    const { ours, ja4: j } = await differential(sv("tls-ja4-tls.pcap"));
    const c = ours.find((h) => h.kind === "client")!;
    assert.equal(j.get(c.frame), suricataExpects("suricata-verify/tls-ja4-tls.test.yaml", "tls.ja4"));
  });

  test("tls-certs-alert.pcap: JA3S as Suricata logs it", async () => {
    const { ours } = await differential(sv("tls-certs-alert.pcap"));
    const s = ours.find((h) => h.kind === "server")!.hello as { ja3s: string; ja3s_hash: string };
    assert.equal(s.ja3s, suricataExpects("suricata-verify/tls-ja3s.test.yaml", "tls.ja3s.string"));
    assert.equal(s.ja3s_hash, suricataExpects("suricata-verify/tls-ja3s.test.yaml", "tls.ja3s.hash"));
  });

  test("tls-duplicate-hello.pcap (BSD loopback): the first ClientHello of the connection; the second is not reported", async () => {
    const all = await tsharkHellos(sv("tls-duplicate-hello.pcap"));
    assert.equal(all.filter((h) => h.kind === "client").length, 2, "tshark sees two ClientHellos");
    const { ours } = await differential(sv("tls-duplicate-hello.pcap"));
    assert.equal(ours.filter((h) => h.kind === "client").length, 1);
  });

  test("tls-v1-malicious-c2.pcap: TLS 1.0 without signature algorithms; Suricata's JA4 differs from the specification here", async () => {
    const { ours, ja4: j } = await differential(sv("tls-v1-malicious-c2.pcap"));
    const c = ours.find((h) => h.kind === "client")!;
    const mine = j.get(c.frame)!;
    const theirs = suricataExpects("suricata-verify/tls-v1-malicious-c2.test.yaml", "tls.ja4");
    assert.equal(mine.slice(0, 23), theirs.slice(0, 23), "parts a and b agree");
    // the specification: "If there are no signature algorithms ... the string ends without an underscore"
    assert.equal(mine.slice(24), sha12("0005,000a,000b,0017,0023,ff01"));
    // Suricata (that test's version) hashes the list with a trailing underscore
    assert.equal(theirs.slice(24), sha12("0005,000a,000b,0017,0023,ff01_"));
  });
});

// ------------------------------------------------------------ real traffic

const PORT = 18443;
let work: { dir: string; remove(): void };
let cert: Cert;
before(async () => {
  work = tempDir("netsig-tls-");
  cert = await makeCert(work.dir, "tls.netsig.test");
});
after(() => work?.remove());

/** record `clients` against an s_server on `address` (in `ns`); returns the capture file */
async function recordSession(name: string, address: string, serverArgs: string[], clients: string[][], ns?: string): Promise<string> {
  const file = join(work.dir, `${name}.pcap`);
  const cap = await capture(file, `tcp port ${PORT}`, ns);
  const srv = await sServer(cert, PORT, serverArgs, ns, address);
  try {
    for (const c of clients) {
      const r = await run(c, { ns, timeoutMs: 15_000, input: "" });
      assert.ok(r.code === 0, `${c.join(" ")}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
    }
  } finally {
    await srv.stop();
    await stopCapture(cap);
  }
  return file;
}

const url = (host: string) => `https://${host}:${PORT}/`;
const curl = (...a: string[]) => ["curl", "-sS", "-k", "-m", "10", "-o", "/dev/null", ...a];
const sClient = (connect: string, ...a: string[]) => ["openssl", "s_client", "-connect", connect, ...a];

describe("real traffic on lo: every field as tshark dissects it", () => {
  test("127.0.0.1: curl (TLS 1.3, TLS 1.2, --http1.1), openssl s_client (SNI, ALPN), wget", async () => {
    const file = await recordSession(
      "v4",
      "127.0.0.1",
      ["-alpn", "http/1.1,h2"],
      [
        curl("--http1.1", "--resolve", `www.example.test:${PORT}:127.0.0.1`, url("www.example.test")),
        curl("--http1.1", "--tlsv1.2", "--tls-max", "1.2", "--resolve", `tls12.example.test:${PORT}:127.0.0.1`, url("tls12.example.test")),
        sClient(`127.0.0.1:${PORT}`, "-servername", "client.example.test", "-alpn", "http/1.1,h2,spdy/3.1", "-tls1_2"),
        sClient(`127.0.0.1:${PORT}`, "-servername", "v13.example.test"),
        ["wget", "-q", "-O", "/dev/null", "--no-check-certificate", "-T", "10", "-t", "1", url("127.0.0.1")],
      ],
    );
    const { ours } = await differential(file, [PORT]);
    const clients = ours
      .filter((h) => h.kind === "client")
      .map((h) => h.hello as Omit<import("../engine/types/events").TLSClientHello, "ja4">);
    const servers = ours.filter((h) => h.kind === "server").map((h) => h.hello as import("../engine/types/events").TLSServerHello);
    assert.deepEqual(
      clients.map((c) => c.sni),
      ["www.example.test", "tls12.example.test", "client.example.test", "v13.example.test", ""],
      "SNI, and none for an IP literal (wget)",
    );
    assert.deepEqual(clients[2].alpn, ["http/1.1", "h2", "spdy/3.1"]);
    assert.deepEqual(clients[1].versions, [], "curl --tls-max 1.2 sends no supported_versions");
    assert.ok(clients[0].versions.includes(0x0304));
    // TLS 1.2: the ALPN choice is in the ServerHello; TLS 1.3: in EncryptedExtensions (not seen)
    assert.deepEqual(
      servers.map((s) => [s.selected_version, s.alpn]),
      [
        [0x0304, ""],
        [0, "http/1.1"],
        [0, "http/1.1"],
        [0x0304, ""],
        [0x0304, ""],
      ],
    );
  });

  test("::1: curl and openssl s_client over IPv6", async () => {
    const file = await recordSession(
      "v6",
      "::1",
      ["-alpn", "h2,http/1.1"],
      [
        curl("--http1.1", "--resolve", `six.example.test:${PORT}:::1`, url("six.example.test")),
        sClient(`[::1]:${PORT}`, "-servername", "six.example.test", "-alpn", "h2", "-tls1_2"),
      ],
    );
    const { ours, records } = await differential(file, [PORT]);
    assert.equal(ours.length, 4);
    assert.ok(records.every((r) => r.src === "::1" && r.dst === "::1"));
    assert.equal((ours[3].hello as { alpn: string }).alpn, "h2");
  });
});

describe("hellos split across TCP segments and TLS records (a network namespace, lo MTU 400)", () => {
  let ns: Awaited<ReturnType<typeof makeNetns>>;
  before(async () => {
    ns = await makeNetns("netsig-tls", 400);
  });
  after(async () => ns?.delete());

  test("a ClientHello in 2 records over 2 segments, a ServerHello flight over 4 segments: the same as tshark's reassembly", async () => {
    const label = "a".repeat(60);
    const sni = `${label}.${label}.${label}.split.test`;
    const file = await recordSession(
      "split",
      "127.0.0.1",
      ["-alpn", "http/1.1"],
      [
        sClient(
          `127.0.0.1:${PORT}`,
          "-servername",
          sni,
          "-alpn",
          "http/1.1,h2,spdy/3.1,h2c,acme-tls/1,stun.turn,webrtc,c-webrtc,ftp,imap,pop3,managesieve,coap,xmpp-client,xmpp-server",
          "-max_send_frag",
          "512",
        ),
        curl("--http1.1", "--resolve", `short.split.test:${PORT}:127.0.0.1`, url("short.split.test")),
      ],
      ns.name,
    );
    const { ours } = await differential(file, [PORT]);
    assert.equal(ours.length, 4);
    assert.equal((ours[0].hello as { sni: string }).sni, sni);
    // the capture really splits them: the hello's frame is not its first segment, and it spans records
    const r = await run([
      "tshark",
      "-r",
      file,
      "-d",
      `tcp.port==${PORT},tls`,
      "-Y",
      "tls.handshake.type == 1",
      "-T",
      "fields",
      "-e",
      "tcp.reassembled.length",
      "-e",
      "tls.record.length",
    ]);
    const first = r.stdout.split("\n")[0].split("\t");
    assert.ok(Number(first[0]) > 400, `the hello was reassembled from segments (${r.stdout})`);
    assert.ok(first[1].split(",").length >= 2, `the hello spans records (${first[1]})`);
  });
});

// ------------------------------------------------------------ the parser's contract and bounds

describe("the parser over a stream: NEED_MORE, DONE, NOT_MINE, the bound", () => {
  const dir: StreamDirection = {
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort: 40000,
    dstPort: 443,
    fromClient: true,
    state: undefined,
    peer: null,
  };
  let hello: Buffer;
  before(async () => {
    // a recorded hello: the first client hello of the corpus' TLS 1.2 capture, from its TCP payload
    const r = await run([
      "tshark",
      "-r",
      join(CORPUS, "suricata-verify", "tls-ja4-tls.pcap"),
      "-Y",
      "tls.handshake.type == 1",
      "-T",
      "fields",
      "-e",
      "tcp.payload",
    ]);
    hello = Buffer.from(r.stdout.trim().replace(/:/g, ""), "hex");
  });

  test("every prefix of a hello is NEED_MORE (or detected as TLS), the whole is DONE with one record", () => {
    for (let n = 1; n < hello.length; n++) {
      const d = TLS_PARSER.detect(hello, 0, n, true);
      assert.ok(d === true || d === NEED_MORE, `detect at ${n}`);
      assert.equal(TLS_PARSER.parse(hello, 0, n, dir, []), NEED_MORE, `parse at ${n}`);
    }
    const out: AppRecord[] = [];
    assert.equal(TLS_PARSER.parse(hello, 0, hello.length, dir, out), DONE);
    assert.equal(out.length, 1);
    assert.equal(out[0].t, "tls_client_hello");
  });

  test("the same hello cut into 1-byte records parses to the same values", () => {
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const parts: Buffer[] = [];
    for (const b of body) parts.push(Buffer.from([22, 3, 1, 0, 1, b]));
    const split = Buffer.concat(parts);
    const a: AppRecord[] = [];
    const b: AppRecord[] = [];
    TLS_PARSER.parse(hello, 0, hello.length, dir, a);
    assert.equal(TLS_PARSER.parse(split, 0, split.length, dir, b), DONE);
    assert.deepEqual(b, a);
  });

  test("not TLS, or another record type after a fragment: NOT_MINE; a bad hello gives no record", () => {
    assert.equal(TLS_PARSER.detect(Buffer.from("GET / HTTP/1.1\r\n"), 0, 16, true), false);
    assert.equal(TLS_PARSER.detect(Buffer.from([22, 3, 5, 0, 10, 1]), 0, 6, true), false, "version 3.5");
    assert.equal(TLS_PARSER.detect(Buffer.from([22, 3, 3, 0, 10, 11]), 0, 6, true), false, "a Certificate first");
    const frag = Buffer.concat([Buffer.from([22, 3, 1, 0, 10]), hello.subarray(5, 15), Buffer.from([23, 3, 3, 0, 1, 0])]);
    assert.equal(TLS_PARSER.parse(frag, 0, frag.length, dir, []), NOT_MINE);
    const bad = Buffer.from(hello);
    bad[5 + 4 + 34] = 33; // a session id longer than 32
    const out: AppRecord[] = [];
    assert.equal(TLS_PARSER.parse(bad, 0, bad.length, dir, out), NOT_MINE);
    assert.equal(out.length, 0);
  });

  test("a hello claiming more than the bound waits until the flow stage cuts it (maxHold is 64 KiB)", () => {
    assert.equal(TLS_PARSER.maxHold, TLS_MAX_HOLD);
    assert.equal(TLS_MAX_HOLD, 65536);
    const big = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]); // a 64 KiB ClientHello announced
    assert.equal(TLS_PARSER.parse(big, 0, big.length, dir, []), NEED_MORE);
  });

  test("truncating any field of a recorded hello never throws", () => {
    const body = hello.subarray(9, 9 + hello.readUIntBE(6, 3));
    for (let n = 0; n <= body.length; n++) parseClientHello(body, 0, n);
    for (let i = 0; i < body.length; i++) {
      const b = Buffer.from(body);
      b[i] ^= 0xff;
      parseClientHello(b, 0, b.length);
    }
  });
});

// ------------------------------------------------------------ the same events on every path

describe("the same hellos through replay --output json, a signature and a rule", () => {
  test("replay, a TypeScript signature (sandbox) and a YAML rule see the same JA3/JA4/SNI", async () => {
    const file = join(CORPUS, "suricata-verify", "tls-ja4-rules.pcap");
    const r = netsig(["replay", file, "--output", "json", "--events", "net_packet_tls_client_hello,net_packet_tls_server_hello"]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.eventName),
      ["net_packet_tls_client_hello", "net_packet_tls_server_hello"],
    );
    const ch = lines[0].args[4].value;
    assert.equal(ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");

    const sigDir = join(work.dir, "sigs");
    const rulesDir = join(work.dir, "rules");
    await run(["mkdir", "-p", sigDir, rulesDir]);
    writeFileSync(
      join(sigDir, "tls-echo.ts"),
      `import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { clientHelloOf } from "netsig/helpers";
export default class TlsEcho implements Signature {
  private ctx!: SignatureContext;
  getMetadata(): SignatureMetadata {
    return { id: "TEST-TLS-1", version: "1", name: "tls echo", eventName: "tls_echo", description: "", tags: [], properties: { Severity: 0 } };
  }
  getSelectedEvents(): EventSelector[] {
    return [{ source: "netsig", name: "net_packet_tls_client_hello" }];
  }
  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }
  onEvent(event: NetEvent): void {
    const h = clientHelloOf(event);
    if (h !== null) this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: { sni: h.sni, ja3: h.ja3_hash, ja4: h.ja4, alpn: h.alpn.join(",") } });
  }
  onSignal(_s: Signal): void {}
  close(): void {}
}
`,
    );
    const s = netsig(["replay", file, "--signatures", sigDir]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /signatures: 1 active, 0 skipped; 1 findings, 0 signature errors/, s.stderr);
    const f = JSON.parse(s.stdout.trim().split("\n")[0]);
    const data = Object.fromEntries(
      f.args.filter((a: { name: string }) => a.name !== "triggeredBy").map((a: { name: string; value: unknown }) => [a.name, a.value]),
    );
    assert.deepEqual(data, { sni: ch.sni, ja3: ch.ja3_hash, ja4: ch.ja4, alpn: ch.alpn.join(",") });

    writeFileSync(
      join(rulesDir, "tls.yaml"),
      `id: test-tls-ja4
name: a JA4
description: a client hello with the specification's example JA4
severity: low
events: [net_packet_tls_client_hello]
detection:
  hello:
    args.tls_client_hello.ja4: t13d1516h2_8daaf6152771_e5627efa2ab1
    args.tls_client_hello.sni: cloudflare-quic.com
  condition: hello
fields:
  ja3: args.tls_client_hello.ja3_hash
`,
    );
    await run(["mkdir", "-p", join(work.dir, "none")]);
    const y = netsig(["replay", file, "--signatures", join(work.dir, "none"), "--rules", rulesDir]);
    assert.equal(y.code, 0, y.stderr);
    assert.equal(y.stdout.trim().split("\n").filter(Boolean).length, 1, y.stdout + y.stderr);
  });
});

// ------------------------------------------------------------ choices, written down

describe("netsig's TLS choices", () => {
  test("the fingerprint memo changes nothing: every corpus hello gives the same record with it, without it, and on a hit", async () => {
    const files = [
      "tls-ja4-rules.pcap",
      "tls-ja4-tls.pcap",
      "tls-certs-alert.pcap",
      "tls-duplicate-hello.pcap",
      "tls-v1-malicious-c2.pcap",
    ];
    const all = async () =>
      (await Promise.all(files.map((f) => netsigHellos(join(CORPUS, "suricata-verify", f))))).flatMap((x) => x.records);
    setMemoOff(true);
    const cold = await all();
    setMemoOff(false);
    const first = await all();
    const hits = clientMemo.hits;
    const again = await all();
    assert.ok(clientMemo.hits > hits, "the second pass hits the memo");
    assert.deepEqual(first, cold);
    assert.deepEqual(again, cold);
  });

  test("a hello is recognised by its message type, whichever side the flow stage took for the client", () => {
    const dir: StreamDirection = {
      src: "10.0.0.2",
      dst: "10.0.0.1",
      srcPort: 443,
      dstPort: 40000,
      fromClient: false,
      state: undefined,
      peer: null,
    };
    const r = netsig([
      "replay",
      join(CORPUS, "suricata-verify", "tls-ja4-tls.pcap"),
      "--output",
      "json",
      "--events",
      "net_packet_tls_client_hello",
    ]);
    const ch = JSON.parse(r.stdout.trim().split("\n")[0]).args[4].value;
    const hello = Buffer.from(
      execFileSync("tshark", [
        "-r",
        join(CORPUS, "suricata-verify", "tls-ja4-tls.pcap"),
        "-Y",
        "tls.handshake.type == 1",
        "-T",
        "fields",
        "-e",
        "tcp.payload",
      ])
        .toString()
        .trim()
        .replace(/:/g, ""),
      "hex",
    );
    assert.equal(TLS_PARSER.detect(hello, 0, hello.length, false), true);
    const out: AppRecord[] = [];
    assert.equal(TLS_PARSER.parse(hello, 0, hello.length, dir, out), DONE);
    assert.equal(out[0].t, "tls_client_hello");
    assert.deepEqual((out[0] as { hello: unknown }).hello, ch);
  });
});
