// The shipped TLS detections on recorded traffic:
//  - signatures/tls-known-bad-fingerprint.ts with its list
//    (signatures/data/tls-fingerprints.json, inlined when it loads): fires on
//    the corpus' malicious C2 hello, which the list names; not on openssl
//    s_client's hello; and on it once a copy of the list holds the JA3 that
//    netsig recorded from that client (and on its JA4 in another copy);
//  - signatures/tls-sni-without-dns.ts: dig asks the lab's dnsmasq for
//    www.netsig.test, then the client connects by that name (no finding);
//    curl --resolve connects to names never looked up (a finding for each,
//    none for the IP literal wget connects to).

import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { dig, LAB, missingTools, startDnsmasq } from "../tools/lab/dnslab";
import { CORPUS } from "./lib/corpus";
import { netsig } from "./lib/run";
import { type Cert, capture, makeCert, netsigHellos, run, sServer, stopCapture, tempDir } from "./lib/tlslab";

const SHIPPED = join(__dirname, "..", "..", "signatures");
const PORT = 18453;

let work: { dir: string; remove(): void };
let cert: Cert;
before(async () => {
  work = tempDir("netsig-tls-det-");
  cert = await makeCert(work.dir, "www.netsig.test");
});
after(() => work?.remove());

interface Finding {
  eventName: string;
  data: Record<string, unknown>;
}

/** replay `file` with only the signature `name` (and `list` as its data file, default the shipped one) */
function findings(file: string, name: string, list?: object): Finding[] {
  const dir = join(work.dir, `sigs-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(dir, "data"), { recursive: true });
  copyFileSync(join(SHIPPED, name), join(dir, name));
  const data = join(dir, "data", "tls-fingerprints.json");
  if (list === undefined) copyFileSync(join(SHIPPED, "data", "tls-fingerprints.json"), data);
  else writeFileSync(data, JSON.stringify(list));
  const r = netsig(["replay", file, "--signatures", dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /signatures: 1 active, 0 skipped; \d+ findings, 0 signature errors/, r.stderr);
  return r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const raw = JSON.parse(l) as { eventName: string; args: { name: string; value: unknown }[] };
      return {
        eventName: raw.eventName,
        data: Object.fromEntries(raw.args.filter((a) => a.name !== "triggeredBy").map((a) => [a.name, a.value])),
      };
    });
}

const SHIPPED_LIST = JSON.parse(readFileSync(join(SHIPPED, "data", "tls-fingerprints.json"), "utf8")) as {
  fingerprints: { fingerprint: string; kind: string; name: string; source: string }[];
};

describe("NETSIG-TLS-KNOWN-BAD-FINGERPRINT", () => {
  test("the shipped list: fires on the corpus' TLS 1.0 malware C2 hello (its JA3), with the entry's name and source", () => {
    const f = findings(join(CORPUS, "suricata-verify", "tls-v1-malicious-c2.pcap"), "tls-known-bad-fingerprint.ts");
    assert.deepEqual(
      f.map((x) => [x.eventName, x.data.kind, x.data.fingerprint, x.data.server]),
      [["tls_known_bad_fingerprint", "ja3", "49ed2ef3f1321e5f044f1e71b0e6fdd5", "91.254.215.167"]],
    );
    assert.equal(f[0].data.name, "TLS 1.0 malware C2 client");
    // silent on the corpus' browser hello
    assert.deepEqual(findings(join(CORPUS, "suricata-verify", "tls-ja4-rules.pcap"), "tls-known-bad-fingerprint.ts"), []);
  });

  test("openssl s_client: silent with the shipped list; fires once its recorded JA3 (or JA4) is added to a copy", async () => {
    const file = join(work.dir, "sclient.pcap");
    const cap = await capture(file, `tcp port ${PORT}`);
    const srv = await sServer(cert, PORT, [], undefined, "127.0.0.1");
    try {
      const r = await run(["openssl", "s_client", "-connect", `127.0.0.1:${PORT}`, "-servername", "www.netsig.test"], { input: "" });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await srv.stop();
      await stopCapture(cap);
    }
    const { records } = await netsigHellos(file);
    const hello = records.find((r) => r.t === "tls_client_hello");
    assert.ok(hello && hello.t === "tls_client_hello");
    const { ja3_hash: ja3, ja4 } = hello.hello;
    assert.ok(!SHIPPED_LIST.fingerprints.some((e) => e.fingerprint === ja3 || e.fingerprint === ja4), "not on the shipped list");

    assert.deepEqual(findings(file, "tls-known-bad-fingerprint.ts"), []);
    const entry = { kind: "ja3", fingerprint: ja3, name: "openssl s_client (test)", source: "recorded by test/tls-detections.test.ts" };
    const withJa3 = findings(file, "tls-known-bad-fingerprint.ts", { fingerprints: [...SHIPPED_LIST.fingerprints, entry] });
    assert.deepEqual(
      withJa3.map((x) => [x.data.kind, x.data.fingerprint, x.data.name, x.data.sni, x.data.client, x.data.server, x.data.server_port]),
      [["ja3", ja3, "openssl s_client (test)", "www.netsig.test", "127.0.0.1", "127.0.0.1", PORT]],
    );
    const withJa4 = findings(file, "tls-known-bad-fingerprint.ts", {
      fingerprints: [{ ...entry, kind: "ja4", fingerprint: ja4.toUpperCase() }],
    });
    assert.deepEqual(
      withJa4.map((x) => [x.data.kind, x.data.ja4]),
      [["ja4", ja4]],
      "a JA4 entry matches (compared in lowercase)",
    );
    // an entry of the other kind does not match: a JA3 hash listed as ja4
    assert.deepEqual(findings(file, "tls-known-bad-fingerprint.ts", { fingerprints: [{ ...entry, kind: "ja4" }] }), []);
  });
});

describe("NETSIG-TLS-SNI-WITHOUT-DNS", { skip: missingTools().length > 0 ? `missing ${missingTools().join(", ")}` : false }, () => {
  test("dig then connect by the name: silent; connect by names never looked up: a finding each; an IP literal: none", async () => {
    const www = LAB.netsig.www; // www.netsig.test -> 127.0.0.21
    const file = join(work.dir, "sni.pcap");
    const dns = await startDnsmasq({ listenAddresses: ["127.0.0.1"] });
    const cap = await capture(file, `port 53 or tcp port ${PORT}`);
    const srv = await sServer(cert, PORT, [], undefined, www.a);
    try {
      const answer = await dig(["+short", www.name, "A"], { port: dns.port });
      assert.equal(answer.trim(), www.a, "the lab answers");
      const curl = (name: string) =>
        run(["curl", "-sS", "-k", "-m", "10", "-o", "/dev/null", "--resolve", `${name}:${PORT}:${www.a}`, `https://${name}:${PORT}/`]);
      for (const name of [www.name, "WWW.NETSIG.TEST", "c2.netsig.test", "never.example.org"]) {
        const r = await curl(name);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      }
      const w = await run(["wget", "-q", "-O", "/dev/null", "--no-check-certificate", "-T", "10", "-t", "1", `https://${www.a}:${PORT}/`]);
      assert.equal(w.code, 0, w.stderr);
    } finally {
      await srv.stop();
      await stopCapture(cap);
      await dns.stop();
    }
    const { records } = await netsigHellos(file);
    assert.equal(records.filter((r) => r.t === "tls_client_hello").length, 5, "five hellos recorded");
    const f = findings(file, "tls-sni-without-dns.ts");
    assert.deepEqual(
      f.map((x) => [x.eventName, x.data.sni, x.data.looked_up, x.data.client, x.data.server]),
      [
        ["tls_sni_without_dns", "c2.netsig.test", "never", "127.0.0.1", www.a],
        ["tls_sni_without_dns", "never.example.org", "never", "127.0.0.1", www.a],
      ],
    );
  });

  test("without any DNS answer on the wire for the client, nothing is judged (DNS over HTTPS, a capture without DNS)", async () => {
    const file = join(work.dir, "nodns.pcap");
    const cap = await capture(file, `tcp port ${PORT}`);
    const srv = await sServer(cert, PORT, [], undefined, "127.0.0.1");
    try {
      const r = await run([
        "curl",
        "-sS",
        "-k",
        "-m",
        "10",
        "-o",
        "/dev/null",
        "--resolve",
        `c2.example.org:${PORT}:127.0.0.1`,
        `https://c2.example.org:${PORT}/`,
      ]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await srv.stop();
      await stopCapture(cap);
    }
    assert.equal((await netsigHellos(file)).records.filter((r) => r.t === "tls_client_hello").length, 1);
    assert.deepEqual(findings(file, "tls-sni-without-dns.ts"), []);
  });
});

describe("a signature's JSON import (how the list reaches the sandbox)", () => {
  const sig = (
    imp: string,
  ) => `import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
${imp}
export default class J implements Signature {
  getMetadata(): SignatureMetadata { return { id: "J", version: "1", name: "j", description: "", tags: [], properties: {} }; }
  getSelectedEvents(): EventSelector[] { return [{ source: "tracee", name: "net_packet_ipv4" }]; }
  init(_c: SignatureContext): void {}
  onEvent(_e: NetEvent): void {}
  onSignal(_s: Signal): void {}
  close(): void {}
}
`;
  test("inlined when beside the file or below; outside the folder, missing or not JSON: skipped, at its line", () => {
    const dir = join(work.dir, "json-sigs");
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "data", "ok.json"), '{"a": [1, 2]}');
    writeFileSync(join(dir, "data", "bad.json"), "{nope");
    writeFileSync(join(work.dir, "outside.json"), "{}");
    writeFileSync(join(dir, "a-ok.ts"), sig('import DATA from "./data/ok.json";\nconst N: number = DATA.a.length;\nvoid N;'));
    writeFileSync(join(dir, "b-outside.ts"), sig('import OUT from "../outside.json";\nvoid OUT;'));
    writeFileSync(join(dir, "c-missing.ts"), sig('import M from "./data/missing.json";\nvoid M;'));
    writeFileSync(join(dir, "d-bad.ts"), sig('import B from "./data/bad.json";\nvoid B;'));
    const r = netsig(["replay", join(__dirname, "..", "..", "examples", "dns-lo.pcap"), "--signatures", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /signatures: 1 active, 3 skipped/);
    assert.match(r.stderr, /b-outside\.ts:2:1: \.\.\/outside\.json: a JSON import must be in the signature's folder or below it/);
    assert.match(r.stderr, /c-missing\.ts:2:1: \.\/data\/missing\.json: cannot read it \(ENOENT\)/);
    assert.match(r.stderr, /d-bad\.ts:2:1: \.\/data\/bad\.json: not JSON/);
  });
});
