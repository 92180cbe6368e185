// Shared by the pcap and pcapng targets: a capture image through the
// whole-buffer parser and the streaming reader (small chunks), which must
// agree. Property: no exception (damage is summary.error, a CaptureError),
// every record lies inside the input with 0 <= tsNsec < 1e9 and origLen >=
// caplen, file offsets increase, and both paths give the same packets and error.

import { Readable } from "node:stream";
import { parseCaptureBuffer, readCaptureStream } from "../../../engine/capture/reader";
import { CaptureError, type PacketRecord, type ReadSummary } from "../../../engine/capture/types";

function check(buf: Buffer | null, rec: PacketRecord, last: { off: number }): void {
  if (!(rec.caplen >= 0 && rec.offset >= 0 && rec.offset + rec.caplen <= rec.buf.length))
    throw new Error(`record outside its buffer: offset ${rec.offset} caplen ${rec.caplen} of ${rec.buf.length}`);
  if (buf && rec.fileOffset + rec.caplen > buf.length)
    throw new Error(`record at ${rec.fileOffset} (caplen ${rec.caplen}) runs past the ${buf.length}-byte input`);
  if (!(rec.tsNsec >= 0 && rec.tsNsec < 1e9 && Number.isInteger(rec.tsNsec))) throw new Error(`tsNsec ${rec.tsNsec} out of range`);
  if (!Number.isFinite(rec.tsSec)) throw new Error(`tsSec ${rec.tsSec}`);
  if (rec.origLen < rec.caplen) throw new Error(`origLen ${rec.origLen} < caplen ${rec.caplen}`);
  if (rec.fileOffset <= last.off) throw new Error(`file offset ${rec.fileOffset} not after ${last.off}`);
  last.off = rec.fileOffset;
}

function summaryOk(s: ReadSummary): void {
  if (s.error !== undefined && !(s.error instanceof CaptureError))
    throw new Error(`summary.error is not a CaptureError: ${String(s.error)}`);
}

export async function runCapture(buf: Buffer): Promise<void> {
  const a: string[] = [];
  const lastA = { off: -1 };
  const sa = parseCaptureBuffer(buf, (r) => {
    check(buf, r, lastA);
    a.push(
      `${r.fileOffset}:${r.caplen}:${r.tsSec}.${r.tsNsec}:${r.linkType}:${r.buf.toString("latin1", r.offset, r.offset + Math.min(r.caplen, 16))}`,
    );
  });
  summaryOk(sa);
  if (sa.packets !== a.length) throw new Error(`summary says ${sa.packets} packets, ${a.length} delivered`);
  // the streaming reader, fed in small pieces, with a small chunk size
  const piece = 1 + (buf.length % 97);
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += piece) chunks.push(buf.subarray(i, i + piece));
  const b: string[] = [];
  const lastB = { off: -1 };
  const sb = await readCaptureStream(
    Readable.from(chunks),
    (r) => {
      check(null, r, lastB);
      b.push(
        `${r.fileOffset}:${r.caplen}:${r.tsSec}.${r.tsNsec}:${r.linkType}:${r.buf.toString("latin1", r.offset, r.offset + Math.min(r.caplen, 16))}`,
      );
    },
    { chunkSize: 1 + (buf.length % 4096) },
  );
  summaryOk(sb);
  if (a.length !== b.length || a.some((x, i) => x !== b[i]))
    throw new Error(`buffer and stream disagree: ${a.length} vs ${b.length} packets`);
  if ((sa.error?.message ?? "") !== (sb.error?.message.replace("<stream>", "<buffer>") ?? ""))
    throw new Error(`buffer and stream disagree on the error: "${sa.error?.message}" vs "${sb.error?.message}"`);
}

export const bytes = { encode: (b: Buffer) => b, decode: (b: Buffer) => b };
