// The sandbox transport (dispatch/compact.ts): events built inside a sandbox
// from a packed batch must be byte-for-byte the events the host builds from
// the decoded packet. Checked on every packet of the corpus, the examples and
// crafted odd values (timestamps beyond 32 bits and before 1970, non-Latin-1
// and invalid-UTF-8 names, every RDATA shape the builder shows).

import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type dnsPacket from "dns-packet";
import { readCapture } from "../engine/capture/reader";
import { BatchPacker, BatchReader, RestoredPacket } from "../engine/wire/compact";
import { ALL_EVENTS, EventBuilder } from "../engine/events/build";
import { DEFAULT_EVENTS } from "../engine/events/registry";
import { EventJSONWriter } from "../engine/events/json";
import { EventPipeline } from "../engine/events/pipeline";
import type { Packet } from "../engine/decode/packet";
import { allCaptures as captures, EXAMPLES } from "./lib/run";
import { dns, ethernet, ipv4, pcapFile, tcp, udp, type PcapPacket } from "../tools/lib/craft";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

/** where two JSON lines part (assert's diff of long one-line strings takes minutes) */
function firstDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at char ${i}: host …${a.slice(Math.max(0, i - 60), i + 60)}… sandbox …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}

/** host events and sandbox-transport events of one capture, as JSON lines */
async function both(file: string, batchSize = 7, mask = ALL_EVENTS): Promise<{ host: string[]; restored: string[] }> {
  const json = new EventJSONWriter("h");
  const host: string[] = [];
  const restored: string[] = [];
  const packer = new BatchPacker();
  const builder = new EventBuilder(mask, { hostName: "h" });
  const rp = new RestoredPacket();
  const drain = () => {
    const r = new BatchReader(packer.take());
    while (r.more()) {
      rp.restore(r);
      const ts = rp.timestampString();
      builder.build(rp as unknown as Packet, (ev, kind) => restored.push(json.write(ev, kind, ts)));
    }
  };
  let n = 0;
  const pipeline = new EventPipeline(mask, "h", (ev, kind, p) => host.push(json.write(ev, kind, p.timestampString())));
  pipeline.tap = (p) => {
    packer.add(p, n++);
    if (packer.count === batchSize) drain();
  };
  await readCapture(file, pipeline.onPacket);
  // the flows open at the end: their records on a packet of no layer, through the transport too
  pipeline.finish();
  drain();
  return { host, restored };
}

test("every corpus and example packet: sandbox-built events equal host-built events", async () => {
  const files = captures();
  assert.ok(files.length >= 10, "captures found");
  let events = 0;
  for (const f of files) {
    const { host, restored } = await both(f);
    assert.equal(restored.length, host.length, `${f}: event count`);
    for (let i = 0; i < host.length; i++)
      if (restored[i] !== host[i]) assert.fail(`${f}: event ${i + 1} differs: ${firstDiff(host[i], restored[i])}`);
    events += host.length;
  }
  assert.ok(events > 10_000, `${events} events compared`);
  console.log(`# ${files.length} captures, ${events} events identical`);
});

test("odd values survive the transport: 64-bit and negative seconds, non-Latin-1 and invalid-UTF-8 names, every RDATA shape", async () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-compact-"));
  try {
    const answers: dnsPacket.Answer[] = [
      { type: "A", name: "ünï.example", ttl: 4294967295, data: "10.0.0.1" },
      { type: "AAAA", name: "x.example", ttl: 0, data: "2001:db8::1" },
      { type: "TXT", name: "t.example", data: ["v=spf1 ~all", "", "日本"] },
      { type: "MX", name: "m.example", data: { preference: 65535, exchange: "mx.example" } },
      {
        type: "SOA",
        name: "s.example",
        data: { mname: "ns.example", rname: "root.example", serial: 4294967295, refresh: 1, retry: 2, expire: 3, minimum: 4 },
      },
      { type: "SRV", name: "_s._tcp.example", data: { priority: 1, weight: 2, port: 65535, target: "t.example" } },
      { type: "NS", name: "example", data: "ns1.example" },
      { type: "CNAME", name: "c.example", data: "d.example" },
      { type: "PTR", name: "1.0.0.10.in-addr.arpa", data: "p.example" },
      { type: "HINFO", name: "h.example", data: { cpu: "x86", os: "linux" } },
      { type: "CAA", name: "caa.example", data: { flags: 0, tag: "issue", value: "ca.example" } },
    ];
    const msg = dns({
      type: "response",
      id: 65535,
      flags: 0x8580,
      questions: [{ type: "A", class: "IN", name: "ünï.example" }],
      answers,
      additionals: [
        {
          type: "OPT",
          name: ".",
          udpPayloadSize: 4096,
          extendedRcode: 1,
          flags: 0,
          options: [{ code: 10, data: Buffer.from("0123456789abcdef", "hex") }],
        } as unknown as dnsPacket.Answer,
      ],
    });
    // a label with bytes that are not UTF-8
    const bad = Buffer.from(msg);
    const at = bad.indexOf(Buffer.from("example"));
    bad[at] = 0xff;
    const pkt = (m: Buffer) => ethernet(ipv4({ src: "192.0.2.1", dst: "192.0.2.2", protocol: 17 }, udp({ srcPort: 53, dstPort: 5353 }, m)));
    const f = join(dir, "odd.pcap");
    // pcap seconds are 32-bit unsigned: the far future is 2106
    writeFileSync(
      f,
      pcapFile(1, [
        { tsSec: 4294967295, tsUsec: 999999, data: pkt(msg) },
        { tsSec: 0, tsUsec: 1, data: pkt(bad) },
      ]),
    );
    const { host, restored } = await both(f, 1, DEFAULT_EVENTS);
    assert.equal(host.length, 8);
    for (let i = 0; i < host.length; i++)
      if (restored[i] !== host[i]) assert.fail(`event ${i + 1} differs: ${firstDiff(host[i], restored[i])}`);
    assert.match(host.join("\n"), /"TXTs":\["v=spf1 ~all","","日本"\]/);
    // Go prints the invalid byte as \ufffd
    assert.match(host.join("\n"), /"name":"ünï\.\\ufffdxample"/);

    // seconds beyond 32 bits and before 1970 (pcapng offsets) through the packer directly
    const p = {
      tsSec: 2 ** 40 + 3,
      tsNsec: 999_999_999,
      iface: "eth0",
      ipVersion: 6,
      srcIP: "::1",
      dstIP: "::2",
      ipTotalLen: 40,
      ipProtocol: 58,
      l4Protocol: 58,
      last: 12,
      trafficClass: 1,
      flowLabel: 0xfffff,
      payloadLen: 8,
      hopLimit: 255,
      icmpType: 128,
      icmpCode: 0,
      icmpChecksum: 0xffff,
      icmpId: 7,
      icmpSeq: 9,
      dns: null,
      dnsMore: null,
    } as unknown as Packet;
    for (const tsSec of [2 ** 40 + 3, -86400 * 365, 0]) {
      const packer = new BatchPacker();
      packer.add({ ...p, tsSec } as Packet, 4294967295);
      const rp = new RestoredPacket().restore(new BatchReader(packer.take()));
      assert.equal(rp.tsSec, tsSec);
      assert.equal(rp.seq, 4294967295);
      assert.equal(rp.flowLabel, 0xfffff);
      assert.equal(rp.iface, "eth0");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** the events of dns-lo.pcap (every kind but udp is built for a DNS capture on lo), delivered in a realm to the given signatures */
async function deliverIn(sigs: { id: string; events: string[]; rule?: boolean }[]) {
  const { Realm } = await import("../engine/realm/realm");
  const file = join(EXAMPLES, "dns-lo.pcap");
  const packer = new BatchPacker();
  let n = 0;
  const pipeline = new EventPipeline(0, "h", () => undefined);
  pipeline.needDns = true;
  pipeline.tap = (p) => packer.add(p, n++);
  await readCapture(file, pipeline.onPacket);
  const batch = packer.take();
  const seen: {
    sig: string;
    kind: string;
    ev: { eventName: string; timestamp: number; args: unknown[] };
    unfrozen: object[];
    paths: string[];
  }[] = [];
  const walk = (o: unknown, path: string, objs: object[], paths: string[]) => {
    if (o === null || typeof o !== "object") return;
    if (!Object.isFrozen(o)) {
      objs.push(o);
      paths.push(path);
    }
    for (const [k, v] of Object.entries(o)) walk(v, `${path}.${k}`, objs, paths);
  };
  const sig = (id: string, events: string[]) => (module: { exports: unknown }) => {
    module.exports = {
      getMetadata: () => ({ id, version: "1", name: id, description: "" }),
      getSelectedEvents: () => events.map((name) => ({ source: "tracee", name })),
      init() {},
      onEvent(e: { eventName: string; timestamp: number; args: unknown[] }) {
        const objs: object[] = [];
        const paths: string[] = [];
        walk(e, "event", objs, paths);
        seen.push({ sig: id, kind: e.eventName, ev: e, unfrozen: objs, paths });
      },
      onSignal() {},
      close() {},
    };
  };
  const realm = new Realm("h");
  sigs.forEach((s, i) => {
    realm.register(i, `${s.id}.ts`, sig(s.id, s.events), s.rule === true);
  });
  realm.batch(batch);
  return seen;
}

const ALL_BUT_UDP = [
  "net_packet_ipv4",
  "net_packet_ipv6",
  "net_packet_tcp",
  "net_packet_icmp",
  "net_packet_icmpv6",
  "net_packet_dns",
  "net_packet_dns_request",
  "net_packet_dns_response",
];

test("an event type three signatures receive: one instance, frozen all the way down; one signature's own events are left as built", async () => {
  // A, B and C share every event type but net_packet_udp, which only C receives
  const seen = await deliverIn([
    { id: "A", events: ALL_BUT_UDP },
    { id: "B", events: ALL_BUT_UDP },
    { id: "C", events: [...ALL_BUT_UDP, "net_packet_udp"] },
  ]);
  const shared = seen.filter((s) => s.kind !== "net_packet_udp");
  assert.ok(shared.length > 600, `${shared.length} shared events`);
  for (const k of ALL_BUT_UDP)
    assert.ok(
      shared.some((s) => s.kind === k),
      `${k} seen`,
    );
  const leaks = shared.filter((s) => s.unfrozen.length);
  assert.deepEqual(
    leaks.slice(0, 3).map((s) => s.paths),
    [],
    "every object of a shared event is frozen",
  );
  // one instance for all three
  const a = shared.filter((s) => s.sig === "A");
  const c = shared.filter((s) => s.sig === "C");
  assert.equal(a.length, c.length);
  assert.ok(
    a.every((s, i) => s.ev === c[i].ev),
    "A and C got the same objects",
  );
  const own = seen.filter((s) => s.kind === "net_packet_udp");
  assert.ok(own.length > 0 && own.every((s) => s.sig === "C" && s.paths.includes("event")), "C's own udp events are left as built");
  // but not their addresses: the events of a packet share one frozen src/dst pair
  assert.ok(
    own.every((s) => !s.paths.some((p) => p.startsWith("event.args.0") || p.startsWith("event.args.1"))),
    "src and dst are frozen in every event",
  );
  for (const u of own) {
    const ip = seen.find(
      (s) => s.sig === "C" && s.ev.timestamp === u.ev.timestamp && (s.kind === "net_packet_ipv4" || s.kind === "net_packet_ipv6"),
    );
    assert.ok(ip && ip.ev.args[0] === u.ev.args[0] && ip.ev.args[1] === u.ev.args[1], "the udp event's src/dst args are its IP event's");
  }
});

for (const second of [
  { id: "B", what: "two signatures" },
  { id: "R", what: "a signature and a compiled rule", rule: true },
]) {
  test(`an event type ${second.what} receive: an instance each, equal, sharing no object that is not frozen`, async () => {
    const seen = await deliverIn([
      { id: "A", events: ALL_BUT_UDP },
      { id: second.id, events: ALL_BUT_UDP, rule: second.rule },
    ]);
    const a = seen.filter((s) => s.sig === "A");
    const b = seen.filter((s) => s.sig === second.id);
    assert.ok(a.length > 600 && a.length === b.length, `${a.length}/${b.length} events`);
    for (const k of ALL_BUT_UDP)
      assert.ok(
        a.some((s) => s.kind === k),
        `${k} seen`,
      );
    for (let i = 0; i < a.length; i++) {
      assert.notEqual(a[i].ev, b[i].ev, "two instances");
      assert.equal(JSON.stringify(a[i].ev), JSON.stringify(b[i].ev));
      const mine = new Set(a[i].unfrozen);
      const both = b[i].unfrozen.filter((o) => mine.has(o));
      assert.equal(both.length, 0, `${a[i].kind}: an unfrozen object in both instances (${b[i].paths.join(", ")})`);
      assert.ok(a[i].paths.includes("event") && b[i].paths.includes("event"), "left as built: not frozen");
    }
    // TXT strings too (a record's strings are copied for each instance)
    assert.ok(
      a.some((s) => JSON.stringify(s.ev).includes('"TXTs":["')),
      "the capture has TXT answers",
    );
  });
}

/** a signature that reports every net_packet_dns event (`work` runs before, e.g. to slow it down) */
function everyDnsSignature(work: string): string {
  return `export default class C {
  getMetadata() { return { id: "EVERY", version: "1", name: "every", description: "" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns" }]; }
  init(ctx) { this.ctx = ctx; }
  onEvent(e) { ${work}this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: {} }); }
  onSignal() {}
  close() {}
}
`;
}

/** one DNS query for x.example, as an Ethernet frame */
function queryFrame(): Buffer {
  const msg = dns({ type: "query", id: 1, flags: 0x0100, questions: [{ type: "A", class: "IN", name: "x.example" }] });
  return ethernet(ipv4({ src: "127.0.0.1", dst: "127.0.0.53", protocol: 17 }, udp({ srcPort: 40000, dstPort: 53 }, msg)));
}

/** start the engine on one signature file and a pipeline that hands it every packet; findings are counted */
async function engineOn(file: string, opts: { batchSize: number; maxQueued: number }, logs: string[]) {
  const { SignatureEngine } = await import("../engine/detect/engine");
  const { transpileSignature } = await import("../engine/sandbox/loader");
  const engine = await SignatureEngine.start([transpileSignature(file)], { hostName: "h", ...opts, log: (l) => logs.push(l) });
  const counted = { findings: 0 };
  engine.onFindings = (fs) => {
    counted.findings += fs.length;
  };
  const pipeline = new EventPipeline(0, "h", () => undefined);
  pipeline.needDns = true;
  let n = 0;
  pipeline.tap = (p) => {
    engine.push(p, n++);
  };
  return { engine, pipeline, counted };
}

test("live capture cannot wait: when the sandbox falls behind, packets skip the signatures, counted and logged once, and the rest is checked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-shed-"));
  try {
    const file = join(dir, "count.ts");
    writeFileSync(file, everyDnsSignature(""));
    const logs: string[] = [];
    const { engine, pipeline, counted } = await engineOn(file, { batchSize: 100, maxQueued: 4 }, logs);
    const data = queryFrame();
    // 2000 packets handed over at once, as a capture callback would: the worker cannot answer meanwhile
    for (let i = 0; i < 2000; i++) {
      pipeline.onPacket({
        tsSec: 1700000000,
        tsNsec: i,
        linkType: 1,
        iface: "",
        buf: data,
        offset: 0,
        caplen: data.length,
        origLen: data.length,
        fileOffset: 0,
      });
    }
    await engine.close();
    assert.equal(engine.stats.shed, 2000 - 4 * 100, "4 batches queued, the rest shed");
    assert.equal(counted.findings, 400, "what was queued was checked");
    assert.equal(logs.filter((l) => /fell|behind/.test(l)).length, 1, logs.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("replay waits for the sandbox: however far the signatures fall behind, no packet is shed and every one is checked", async () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-drain-"));
  try {
    const file = join(dir, "count.ts");
    writeFileSync(file, everyDnsSignature("let x = 0; for (let i = 0; i < 2000; i++) x += i; if (x > 0) "));
    const data = queryFrame();
    const N = 20000;
    const pcap = join(dir, "many.pcap");
    writeFileSync(
      pcap,
      pcapFile(
        1,
        Array.from({ length: N }, (_, i) => ({ tsSec: 1700000000, tsUsec: i % 1000000, data })),
      ),
    );
    const logs: string[] = [];
    // each 16 KB chunk makes about two batches, more than come back meanwhile
    const { engine, pipeline, counted } = await engineOn(file, { batchSize: 100, maxQueued: 8 }, logs);
    await readCapture(pcap, pipeline.onPacket, {
      chunkSize: 16384,
      between: () => {
        engine.sendPartial();
        return engine.drain();
      },
    });
    await engine.close();
    assert.equal(engine.stats.shed, 0, logs.join("\n"));
    assert.equal(counted.findings, N, "every packet went through the signature");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the transport's numbers: one unit below 0xFFFF, three from there up to 2^32-1, and timestamps, restore exactly", async () => {
  // TCP sequence and acknowledgement numbers, DNS TTLs and serials at the edges of the one- and three-unit forms
  // (and of a 7-bit byte count, which an earlier form used)
  const edges = [
    0,
    1,
    127,
    128,
    16383,
    16384,
    0xfffe,
    0xffff,
    0x10000,
    0x1ffff,
    2097152,
    0xd800,
    0xdfff,
    268435456,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 2,
    2 ** 32 - 1,
  ];
  const frames: PcapPacket[] = [];
  for (let i = 0; i < edges.length; i++) {
    const seg = tcp({ srcPort: 1024 + i, dstPort: 80, seq: edges[i], ack: edges[edges.length - 1 - i], flags: 0x12 });
    // (timestamps up to the end of pcap's 32-bit seconds)
    frames.push({
      data: ethernet(ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 6, id: edges[i] & 0xffff }, seg)),
      tsSec: Math.min(1_700_000_000 + i * 200_000_000, 2 ** 32 - 1),
      tsUsec: 123456 + i,
    });
    const ans = {
      type: "SOA" as const,
      name: "x.test",
      ttl: edges[i],
      data: {
        mname: "ns.x.test",
        rname: "root.x.test",
        serial: edges[i],
        refresh: 1,
        retry: 2,
        expire: 3,
        minimum: edges[edges.length - 1 - i],
      },
    };
    frames.push({
      data: ethernet(
        ipv4(
          { src: "10.0.0.53", dst: "10.0.0.1", protocol: 17 },
          udp(
            { srcPort: 53, dstPort: 3000 + i },
            dns({ type: "response", id: i, questions: [{ type: "SOA", name: "x.test" }], answers: [ans] }),
          ),
        ),
      ),
      tsSec: 1_700_000_000 + i,
      tsUsec: 999_999,
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "netsig-numbers-"));
  try {
    const file = join(dir, "edges.pcap");
    writeFileSync(file, pcapFile(1, frames));
    const { host, restored } = await both(file, 5, DEFAULT_EVENTS);
    assert.equal(host.length, edges.length * (2 + 4), "ipv4 + tcp per segment, ipv4 + udp + dns + dns_response per answer");
    assert.deepEqual(restored, host);
    for (const e of edges)
      assert.ok(
        host.some((l) => l.includes(`"seq":${e},`) || l.includes(`"seq":${e}}`)),
        `seq ${e} present`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
