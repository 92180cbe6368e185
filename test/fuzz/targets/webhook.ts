// Target: the webhook's handling of responses (engine/outputs/webhook.ts): a
// real local server answers each POST with mutated raw HTTP (status lines,
// Retry-After, Content-Length, chunked bodies, bytes), closing the connection
// after it or not.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebhookOutput } from "../../../engine/outputs/webhook";
import { byteOp, interesting, mutated, type Op } from "../mutate";
import type { Target } from "../harness";
import { RawReceiver } from "./receiver";

interface Answer {
  end: boolean;
  bytes: Buffer;
}

const SEEDS = [
  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.1 500 Internal Server Error\r\nRetry-After: 0\r\nContent-Length: 5\r\n\r\nerror",
  "HTTP/1.1 429 Too Many Requests\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\nContent-Length: 0\r\n\r\n",
  'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"error":"x"}',
  "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "HTTP/1.0 200 OK\r\n\r\nbody until close",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  "HTTP/1.1 503 Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
];
const STATUS = [0, 1, 99, 100, 101, 199, 200, 201, 299, 300, 304, 399, 400, 404, 429, 499, 500, 503, 599, 600, 999, 1000];
const RETRY = [
  "0",
  "-1",
  "1",
  "99999999999",
  "1e3",
  "0x10",
  "Thu, 01 Jan 1970 00:00:00 GMT",
  "Fri, 31 Dec 9999 23:59:59 GMT",
  "soon",
  "",
  " 2 ",
];

function answerOp(x: Answer, [k, a, b, c]: Op, _strict: boolean): Answer {
  const text = x.bytes.toString("latin1");
  const lines = text.split("\r\n");
  switch (k % 8) {
    case 0:
      lines[0] = lines[0].replace(/^(HTTP\/\d\.\d) \d+/, `$1 ${STATUS[b % STATUS.length]}`);
      break;
    case 1:
      lines.splice(1, 0, `Retry-After: ${RETRY[b % RETRY.length]}`);
      break;
    case 2:
      lines.splice(1, 0, `Content-Length: ${[interesting(b), -1, "1, 2", "abc"][c % 4]}`);
      break;
    case 3:
      lines.splice(
        1,
        0,
        [
          "Transfer-Encoding: chunked",
          "Connection: close",
          "Connection: keep-alive",
          "X-A: \u0001\u007f",
          " folded: continuation",
          "Content-Length: 0",
        ][b % 6],
      );
      break;
    case 4: {
      const i = 1 + (a % Math.max(1, lines.length - 1));
      lines.splice(i, 1);
      break;
    }
    case 5:
      return {
        ...x,
        bytes: Buffer.concat([x.bytes, Buffer.from(["\r\n", "x".repeat(1 + (b % 4096)), "0\r\n\r\n", "ffffffff\r\n"][c % 4], "latin1")]),
      };
    case 6:
      return { ...x, end: !!(b & 1) }; // left open without its body: issue 14 defect 9
    default:
      return { ...x, bytes: byteOp(x.bytes, [b, c, a, b]) };
  }
  return { ...x, bytes: Buffer.from(lines.join("\r\n"), "latin1") };
}

let base = "";
let rx: RawReceiver;
let n = 0;

export const target: Target<Answer> = {
  name: "webhook",
  property:
    "whatever the receiver answers, delivery never throws (also later, in the delivery loop), close() returns within its deadline, " +
    "and a finding is counted sent or rejected at most once; an answer left open still ends in a counted request (issue 14 defect 9)",
  modules: ["engine/outputs/webhook.js"],
  timeLimitMs: 6000,
  async setup() {
    base = mkdtempSync(join(tmpdir(), "netsig-fuzz-webhook-"));
    rx = new RawReceiver();
    await rx.start();
  },
  async teardown() {
    await rx.stop();
    rmSync(base, { recursive: true, force: true });
  },
  arbitrary: (strict) =>
    mutated(
      SEEDS.map((s): Answer => ({ end: true, bytes: Buffer.from(s, "latin1") })),
      8,
      (x, op) => answerOp(x, op, strict),
      5,
    ),
  encode: (x) => Buffer.concat([Buffer.from([x.end ? 1 : 0]), x.bytes]),
  decode: (b) => ({ end: b[0] === 1, bytes: b.subarray(1) }),
  async run(x, _strict) {
    rx.reset();
    rx.answer = x.bytes;
    rx.end = x.end;
    const dir = join(base, `s${n++}`);
    const w = new WebhookOutput({
      url: `http://127.0.0.1:${rx.port}/hook`,
      format: "tracee",
      spoolDir: dir,
      fsync: false,
      batchAgeMs: 0,
      timeoutMs: 150,
      retryBaseMs: 5,
      retryMaxMs: 20,
      log: () => undefined,
    });
    w.add(['{"eventName":"fuzz","metadata":{"Properties":{"Severity":3,"findingID":"f0"}}}']); // a finding as netsig writes it (the spool checks)
    const t0 = Date.now();
    await w.close(150);
    const took = Date.now() - t0;
    rmSync(dir, { recursive: true, force: true });
    const c = w.counters;
    if (c.sent + c.rejected > 1) throw new Error(`one finding counted ${c.sent} sent and ${c.rejected} rejected`);
    if (took > 3000) throw new Error(`close(150) took ${took} ms`);
    if (!x.end && c.requests === 0) throw new Error("an answer without its end held the request past the webhook timeout");
  },
};
