// A paired micro-measure for `npm run bench`: what one TLS ClientHello costs
// to decode (record layer, hello, JA3 and JA4, the record made) against one
// DNS response (decodeDnsMessage), both recorded: the Chrome-like hello of
// test/corpus/suricata-verify/tls-ja4-rules.pcap (15 ciphers, 16 extensions,
// GREASE) and the UDP responses of examples/dns-lo.pcap, in turn.
//
// The hello is timed twice: with the fingerprint hashes memoized (decode/ja.ts
// keeps the last 1024 of each; a host's clients repeat a handful of hello
// shapes, so this is the steady state) and with the memo off (every hello a
// new shape: three hash calls each). Issue 16's target: a client hello costs
// no more to decode than a DNS response.
//
// Run alone: node dist/bench/hello.js

import { join } from "node:path";
import { readCapture } from "../engine/capture/reader";
import { Decoder } from "../engine/decode/decoder";
import { decodeDnsMessage } from "../engine/decode/dns";
import { setMemoOff } from "../engine/decode/ja";
import { TLS_PARSER } from "../engine/decode/tls";
import type { StreamDirection } from "../engine/types/parser";
import type { AppRecord } from "../engine/types/records";

const ROOT = join(__dirname, "..", "..");
const HELLO_PCAP = join(ROOT, "test", "corpus", "suricata-verify", "tls-ja4-rules.pcap");
const DNS_PCAP = join(ROOT, "examples", "dns-lo.pcap");

/** the application payloads of a capture's packets that `want` picks */
async function payloads(file: string, want: (d: Decoder) => boolean): Promise<Buffer[]> {
  const d = new Decoder();
  d.dnsEnabled = false;
  const out: Buffer[] = [];
  await readCapture(file, (rec) => {
    const p = d.decode(rec);
    if (p.appEnd > p.appOff && want(d)) out.push(Buffer.from(p.buf.subarray(p.appOff, p.appEnd)));
  });
  return out;
}

/** ns per call of fn over `n` calls, the median of `reps` timings after a warm-up */
function nsPer(fn: (i: number) => void, n: number, reps = 5): number {
  for (let i = 0; i < n / 4; i++) fn(i);
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    t.push(Number(process.hrtime.bigint() - t0) / n);
  }
  t.sort((a, b) => a - b);
  return t[reps >> 1];
}

export interface HelloMeasure {
  helloNs: number;
  helloColdNs: number;
  dnsNs: number;
  lines: string[];
}

export async function measureHello(n = 100_000): Promise<HelloMeasure> {
  const hello = (await payloads(HELLO_PCAP, (d) => d.packet.l4Protocol === 6)).find(
    (b) => TLS_PARSER.detect(b, 0, b.length, true) === true && b[5] === 1,
  );
  if (hello === undefined) throw new Error(`no ClientHello in ${HELLO_PCAP}`);
  const responses = (await payloads(DNS_PCAP, (d) => d.packet.l4Protocol === 17)).filter((b) => b.length >= 12 && b[2] & 0x80);
  if (responses.length === 0) throw new Error(`no DNS response in ${DNS_PCAP}`);
  const dir: StreamDirection = {
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort: 40000,
    dstPort: 443,
    fromClient: true,
    state: undefined,
    peer: null,
  };
  const out: AppRecord[] = [];
  let sink = 0;
  const helloOnce = (): void => {
    out.length = 0;
    TLS_PARSER.parse(hello, 0, hello.length, dir, out);
    sink += out.length;
  };
  const dnsOnce = (i: number): void => {
    sink += decodeDnsMessage(responses[i % responses.length]).anCount;
  };
  // interleaved: DNS, hello, DNS, cold hello (the machine's speed drifts)
  const dnsA = nsPer(dnsOnce, n);
  const helloNs = nsPer(helloOnce, n);
  const dnsB = nsPer(dnsOnce, n);
  setMemoOff(true);
  const helloColdNs = nsPer(helloOnce, n / 4);
  setMemoOff(false);
  const dnsNs = (dnsA + dnsB) / 2;
  if (sink === 0) throw new Error("nothing decoded");
  const avgDns = Math.round(responses.reduce((s, b) => s + b.length, 0) / responses.length);
  const lines = [
    `tls hello vs dns response (one call each, ${n} calls, median of 5): ` +
      `ClientHello of ${hello.length} bytes (parse + JA3 + JA4) ${helloNs.toFixed(0)} ns with the fingerprint memo, ` +
      `${helloColdNs.toFixed(0)} ns without; DNS response (${responses.length} recorded, ${avgDns} bytes on average) ${dnsNs.toFixed(0)} ns`,
    `  a TLS client hello costs no more to decode than a DNS response: ${(helloNs / dnsNs).toFixed(2)}x ${helloNs <= dnsNs ? "MET" : "MISSED"}` +
      `  (every hello a new shape, no memo: ${(helloColdNs / dnsNs).toFixed(2)}x)`,
  ];
  return { helloNs, helloColdNs, dnsNs, lines };
}

if (require.main === module) {
  measureHello().then(
    (m) => console.log(m.lines.join("\n")),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
