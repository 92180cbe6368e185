// Regressions found by the event schemas (test/schemas.test.ts) and the
// robustness sweeps (test/robustness.test.ts): each test is a value netsig
// once printed outside the range of its field.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LinkType } from "../engine/capture/types";
import { validateEvent } from "../engine/events/schemas";
import { Ev } from "../engine/types/events";
import * as craft from "../tools/lib/craft";
import { replayBuffer } from "./lib/replay";
import { eventsOf } from "./lib/run";

type Json = any;

function eventOf(out: { kind: Ev; json: string }[], kind: Ev): Json {
  const e = out.find((x) => x.kind === kind);
  assert.ok(e, `an event of kind ${kind}`);
  return JSON.parse(e.json);
}

test("IPv4 total length 0 (TSO) on a datagram captured beyond 64 KiB: length is the captured length as a uint16, as gopacket's", () => {
  // 70000 bytes: TCP header and a payload, IPv4 total length 0
  const tso = craft.ipv4(
    { src: "10.0.0.1", dst: "10.0.0.2", protocol: 6, totalLength: 0 },
    craft.tcp({ srcPort: 40000, dstPort: 8080 }, Buffer.alloc(70000 - 40)),
  );
  const { out } = eventsOf(LinkType.RAW, [{ data: tso }]);
  const v4 = eventOf(out, Ev.IPv4);
  assert.equal(v4.args[2].value.length, 70000 - 65536, "uint16(len(data)), as Tracee prints it");
  assert.equal(validateEvent(v4), null);
  // the datagram is still decoded to its end: the TCP header after it is there
  assert.equal(eventOf(out, Ev.TCP).args[2].value.dstPort, 8080);

  // packet_len of the DNS events is that same field: a DNS query in a TSO datagram padded past 64 KiB
  const query = craft.dns({ type: "query", id: 9, flags: 1 << 8, questions: [{ type: "A", name: "tso.netsig.test" }] });
  const udp = craft.udp({ srcPort: 40000, dstPort: 53 }, query);
  const padded = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 17, totalLength: 0 }, Buffer.concat([udp, Buffer.alloc(66000)]));
  const dns = eventsOf(LinkType.RAW, [{ data: padded }]).out;
  const req = eventOf(dns, Ev.DNSRequest);
  assert.equal(req.args[0].value.packet_len, padded.length & 0xffff);
  assert.equal(validateEvent(req), null);
  assert.equal(validateEvent(eventOf(dns, Ev.IPv4)), null);

  // under 64 KiB nothing changes: the captured length
  const small = craft.ipv4(
    { src: "10.0.0.1", dst: "10.0.0.2", protocol: 6, totalLength: 0 },
    craft.tcp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(1000)),
  );
  assert.equal(eventOf(eventsOf(LinkType.RAW, [{ data: small }]).out, Ev.IPv4).args[2].value.length, 1040);
});

const MAX_INT64 = "9223372036854775807";

/** the timestamp literal of the first event of a packet captured at (sec, nsec) */
function timestampOf(tsSec: number, tsNsec: number): { literal: string; ev: Json; number: number } {
  const { out } = eventsOf(LinkType.RAW, [
    { data: craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 6 }, craft.tcp({ srcPort: 1, dstPort: 2 })), tsSec, tsNsec },
  ]);
  const literal = /^\{"timestamp":(\d+),/.exec(out[0].json)?.[1];
  assert.ok(literal !== undefined, `an integer timestamp literal in ${out[0].json.slice(0, 60)}`);
  return { literal, ev: JSON.parse(out[0].json), number: out[0].ev.timestamp };
}

test("timestamps stay in Tracee's int64 nanoseconds: after 2262-04-11 they clamp to 2^63-1, before 1970 to 0", () => {
  const cases: [number, number, string][] = [
    [1700000000, 1, "1700000000000000001"],
    [0, 5, "5"],
    [9223372035, 999999999, "9223372035999999999"],
    [9223372036, 854775807, MAX_INT64], // the greatest int64, exactly
    [9223372036, 854775808, MAX_INT64],
    [9223372037, 0, MAX_INT64],
    [1.8e12, 123, MAX_INT64], // what a damaged pcapng if_tsresol gave: 1.8e21 ns
    [2 ** 64, 0, MAX_INT64],
    [-1, 5, "0"], // a negative if_tsoffset
    [-1e10, 0, "0"],
  ];
  for (const [sec, nsec, want] of cases) {
    const t = timestampOf(sec, nsec);
    assert.equal(t.literal, want, `${sec} s ${nsec} ns`);
    assert.equal(validateEvent(t.ev), null, `${sec} s ${nsec} ns validates`);
    assert.ok(t.number >= 0 && t.number <= 2 ** 63, `the in-memory timestamp of ${sec} s is clamped too (${t.number})`);
  }
});

/** a little-endian pcapng: SHB, one raw-IP interface with the given options, one packet at timestamp units (hi, lo) */
function pcapng(options: Buffer, hi: number, lo: number, packet: Buffer): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeInt32LE(-1, 16);
  shb.writeInt32LE(-1, 20);
  shb.writeUInt32LE(28, 24);
  const opts = Buffer.concat([options, Buffer.alloc(4)]); // opt_endofopt
  const idb = Buffer.alloc(20 + opts.length);
  idb.writeUInt32LE(1, 0);
  idb.writeUInt32LE(idb.length, 4);
  idb.writeUInt16LE(LinkType.RAW, 8);
  idb.writeUInt32LE(65535, 12);
  opts.copy(idb, 16);
  idb.writeUInt32LE(idb.length, idb.length - 4);
  const padded = (packet.length + 3) & ~3;
  const epb = Buffer.alloc(32 + padded);
  epb.writeUInt32LE(6, 0);
  epb.writeUInt32LE(epb.length, 4);
  epb.writeUInt32LE(hi, 12);
  epb.writeUInt32LE(lo, 16);
  epb.writeUInt32LE(packet.length, 20);
  epb.writeUInt32LE(packet.length, 24);
  packet.copy(epb, 28);
  epb.writeUInt32LE(epb.length, epb.length - 4);
  return Buffer.concat([shb, idb, epb]);
}

function option(code: number, value: Buffer): Buffer {
  const o = Buffer.alloc(4 + ((value.length + 3) & ~3));
  o.writeUInt16LE(code, 0);
  o.writeUInt16LE(value.length, 2);
  value.copy(o, 4);
  return o;
}

test("pcapng timestamps beyond int64 nanoseconds (if_tsresol in seconds) or before 1970 (negative if_tsoffset) print in range", () => {
  const packet = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 6 }, craft.tcp({ srcPort: 1, dstPort: 2 }));
  const tsresolSeconds = option(9, Buffer.from([0])); // 10^-0: the timestamp counts seconds
  const offset = Buffer.alloc(8);
  offset.writeBigInt64LE(-2000000000n);
  const cases: [string, Buffer, number, number, string][] = [
    ["2^40 seconds", tsresolSeconds, 256, 0, MAX_INT64],
    ["1700000000 seconds", tsresolSeconds, 0, 1700000000, "1700000000000000000"],
    ["1 s minus 2e9 s of if_tsoffset", Buffer.concat([tsresolSeconds, option(14, offset)]), 0, 1, "0"],
  ];
  for (const [what, opts, hi, lo, want] of cases) {
    const { lines, summary } = replayBuffer(pcapng(opts, hi, lo, packet));
    assert.equal(summary.error, undefined, what);
    assert.ok(lines.length > 0, what);
    for (const l of lines) {
      assert.equal(/^\{"timestamp":(\d+),/.exec(l)?.[1], want, what);
      assert.equal(validateEvent(JSON.parse(l)), null, what);
    }
  }
});
