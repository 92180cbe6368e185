// Target: HTTP/1.x over TCP (engine/decode/http.ts through the flow stage,
// engine/flows/tracker.ts): a client stream and a server stream of seed
// messages (every framing: lengths, chunked with extensions and trailers,
// HEAD, 1xx/204/304, until close, upgrades, absolute and odd targets, folded
// and odd headers), cut into segments, then reordered, retransmitted, dropped,
// overlapped, flagged SYN/FIN/RST, their bytes changed.
import fc from "fast-check";
import type { PacketRecord } from "../../../engine/capture/types";
import { HTTP_MAX_HEADER } from "../../../engine/decode/http";
import { EventPipeline } from "../../../engine/events/pipeline";
import type { FlowTracker } from "../../../engine/flows/tracker";
import { Ev } from "../../../engine/types/events";
import type { HttpRecord } from "../../../engine/types/records";
import * as craft from "../../../tools/lib/craft";
import type { Target } from "../harness";
import { byteOp, type Op, opsArb, tcpSegOp } from "../mutate";
import { framesCodec, runFrames, type Frames } from "./frames";

const REQUESTS = [
  "GET / HTTP/1.1\r\nHost: a.test\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
  "POST /up?x=1 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 11\r\n\r\nhello=world",
  "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;e=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n",
  "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n",
  "GET http://user:pw@b.test:8080/p%20q?r HTTP/1.1\r\nHost: ignored\r\n\r\n",
  "CONNECT c.test:443 HTTP/1.1\r\nHost: c.test:443\r\n\r\n",
  "OPTIONS * HTTP/1.0\r\n\r\n",
  "GET /f HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n b\r\n\tc\r\nPragma: no-cache\r\nx-dup: 1\r\nX-DUP: 2\r\n\r\n",
  "PROPFIND /dav HTTP/1.1\nHost: h\nDepth: 1\nContent-Length: 0\n\n",
  "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
];
const RESPONSES = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
  "HTTP/1.1 100 Continue\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
  'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
  "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close",
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
];

interface Seg {
  fromClient: boolean;
  seq: number;
  flags: number;
  data: Buffer;
}
const FLAGS = [0x18, 0x10, 0x02, 0x12, 0x01, 0x11, 0x04, 0x14, 0x19, 0x00];
const CLIENT_ISN = 1000;
const SERVER_ISN = 900_000;

function frameOf(s: Seg): Buffer {
  return craft.ipv4(
    { src: s.fromClient ? "10.0.0.1" : "10.0.0.80", dst: s.fromClient ? "10.0.0.80" : "10.0.0.1", protocol: 6 },
    craft.tcp(
      { srcPort: s.fromClient ? 40000 : 8080, dstPort: s.fromClient ? 8080 : 40000, seq: s.seq >>> 0, ack: 1, flags: s.flags },
      s.data,
    ),
  );
}

function segOp(segs: Seg[], [k, a, b, c]: Op): Seg[] {
  if (segs.length === 0) return segs;
  const out = segs.map((s) => ({ ...s }));
  const i = a % out.length;
  const j = b % out.length;
  const m = k % 7;
  // reorder, retransmit, drop, move a sequence number, change the flags: as every stream target (mutate.ts)
  if (m < 5) {
    tcpSegOp(out, m, i, j, b, c, FLAGS);
    return out;
  }
  switch (m) {
    case 5: {
      // a line ending, a colon, a space or a digit where a byte was
      const d = Buffer.from(out[i].data);
      if (d.length > 0) d[b % d.length] = [0x0d, 0x0a, 0x3a, 0x20, 0x30, 0x39, 0x3b, 0x00][c % 8];
      out[i].data = d;
      break;
    }
    default:
      out[i].data = byteOp(out[i].data, [b, c, a, b]);
      break;
  }
  return out;
}

interface Plan {
  client: Buffer;
  server: Buffer;
  segs: Seg[];
  clean: boolean;
}

function cut(stream: Buffer, cuts: number[], fromClient: boolean, isn: number): Seg[] {
  const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, stream.length - 1))))].sort((x, y) => x - y);
  const segs: Seg[] = [];
  let prev = 0;
  for (const p of [...at, stream.length]) {
    if (p > prev) segs.push({ fromClient, seq: isn + 1 + prev, flags: 0x18, data: stream.subarray(prev, p) });
    prev = p;
  }
  return segs;
}

function arb(): fc.Arbitrary<Plan> {
  return fc
    .record({
      reqs: fc.array(fc.nat(REQUESTS.length - 1), { minLength: 1, maxLength: 4 }),
      resps: fc.array(fc.nat(RESPONSES.length - 1), { minLength: 0, maxLength: 4 }),
      ccuts: fc.array(fc.nat(), { maxLength: 8 }),
      scuts: fc.array(fc.nat(), { maxLength: 8 }),
      ops: opsArb(8, 6),
    })
    .map(({ reqs, resps, ccuts, scuts, ops }) => {
      const client = Buffer.from(reqs.map((i) => REQUESTS[i]).join(""), "latin1");
      const server = Buffer.from(resps.map((i) => RESPONSES[i]).join(""), "latin1");
      const segs: Seg[] = [
        { fromClient: true, seq: CLIENT_ISN, flags: 0x02, data: Buffer.alloc(0) },
        { fromClient: false, seq: SERVER_ISN, flags: 0x12, data: Buffer.alloc(0) },
        ...cut(client, ccuts, true, CLIENT_ISN),
        ...cut(server, scuts, false, SERVER_ISN),
      ];
      return { client, server, segs: ops.reduce(segOp, segs), clean: ops.length === 0 };
    });
}

const toFrames = (p: Plan): Frames => ({ linkType: 101, frames: p.segs.map(frameOf) });

const HTTP_MASK = (1 << Ev.HTTP) | (1 << Ev.HTTPRequest) | (1 << Ev.HTTPResponse);

/** the records the pipeline makes of frames, and the most bytes a direction held between packets */
function records(frames: Buffer[]): { recs: HttpRecord[]; maxHeld: number } {
  const pipeline = new EventPipeline(HTTP_MASK, "fuzz", () => undefined);
  const recs: HttpRecord[] = [];
  let maxHeld = 0;
  frames.forEach((f, i) => {
    const rec: PacketRecord = {
      tsSec: 1700000000,
      tsNsec: i,
      linkType: 101,
      iface: "",
      buf: f,
      offset: 0,
      caplen: f.length,
      origLen: f.length,
      fileOffset: i,
    };
    pipeline.onPacket(rec);
    const p = pipeline.decoder.packet;
    if (p.records) for (const r of p.records) if (r.t === "http") recs.push(r);
    maxHeld = Math.max(maxHeld, held(pipeline.flows));
  });
  return { recs, maxHeld };
}

/** bytes the tracker's directions hold (a look inside, for the bound) */
function held(t: FlowTracker | null): number {
  let max = 0;
  const flows = (t as unknown as { flows: Map<string, { client: { len: number }; server: { len: number } }> } | null)?.flows;
  if (flows) for (const f of flows.values()) max = Math.max(max, f.client.len, f.server.len);
  return max;
}

export const target: Target<Plan> = {
  name: "http",
  property:
    "the flow stage and the HTTP parser never throw; no direction holds more than HTTP_MAX_HEADER bytes; " +
    "in-order segments, however cut, give the records of the streams in one segment each; decode -> events -> JSON holds too",
  modules: ["engine/decode/http.js", "engine/flows/tracker.js"],
  arbitrary: arb,
  encode: (p) => framesCodec.encode(toFrames(p)),
  decode: (b) => {
    const f = framesCodec.decode(b);
    return { client: Buffer.alloc(0), server: Buffer.alloc(0), segs: [], clean: false, frames: f.frames } as Plan & { frames: Buffer[] };
  },
  run(plan) {
    const frames = (plan as Plan & { frames?: Buffer[] }).frames ?? toFrames(plan).frames;
    runFrames({ linkType: 101, frames });
    const { recs, maxHeld } = records(frames);
    if (maxHeld > HTTP_MAX_HEADER) throw new Error(`a direction held ${maxHeld} bytes, bound ${HTTP_MAX_HEADER}`);
    if (plan.clean) {
      const whole: Seg[] = [
        { fromClient: true, seq: CLIENT_ISN, flags: 0x02, data: Buffer.alloc(0) },
        { fromClient: false, seq: SERVER_ISN, flags: 0x12, data: Buffer.alloc(0) },
        ...cut(plan.client, [], true, CLIENT_ISN),
        ...cut(plan.server, [], false, SERVER_ISN),
      ];
      const want = JSON.stringify(records(whole.map(frameOf)).recs);
      if (JSON.stringify(recs) !== want)
        throw new Error(`cut segments gave other records than whole streams:\n${JSON.stringify(recs)}\n${want}`);
    }
  },
};
