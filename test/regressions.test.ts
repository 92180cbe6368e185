// Regressions found by the event schemas (test/schemas.test.ts) and the
// robustness sweeps (test/robustness.test.ts): each test is a value netsig
// once printed outside the range of its field.

import assert from "node:assert/strict";
import { test } from "node:test";
import { LinkType } from "../engine/capture/types";
import { validateEvent } from "../engine/events/schemas";
import { Ev } from "../engine/events/types";
import * as craft from "./lib/craft";
import { eventsOf } from "./lib/run";

type Json = any;

function eventOf(out: { kind: Ev; json: string }[], kind: Ev): Json {
  const e = out.find((x) => x.kind === kind);
  assert.ok(e, `an event of kind ${kind}`);
  return JSON.parse(e.json);
}

test("IPv4 total length 0 (TSO) on a datagram captured beyond 64 KiB: length is the captured length as a uint16, as gopacket's", () => {
  // 70000 bytes: TCP header and a payload, IPv4 total length 0
  const tso = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 6, totalLength: 0 }, craft.tcp({ srcPort: 40000, dstPort: 8080 }, Buffer.alloc(70000 - 40)));
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
  const small = craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.2", protocol: 6, totalLength: 0 }, craft.tcp({ srcPort: 1, dstPort: 2 }, Buffer.alloc(1000)));
  assert.equal(eventOf(eventsOf(LinkType.RAW, [{ data: small }]).out, Ev.IPv4).args[2].value.length, 1040);
});
