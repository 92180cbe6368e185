// DNS names (RFC 1035 3.1, 4.1.4), the hot spot of DNS decoding.
//
// Profiles of a 500k-packet dnsperf capture put ~60% of decode time in
// dns-packet's name.decode, nearly all of it in one Buffer.toString per label.
// Names repeat heavily in real traffic, so this reader walks the wire bytes
// with plain loops (hashing as it goes) and interns the text: a name seen
// before costs no allocation. The validation rules are dns-packet's exactly:
// pointers may only go backwards (so loops are impossible), a name is at most
// 254 bytes, label types 0x40/0x80 are errors. The text is Go's (root = "",
// bytes that are not UTF-8 kept as in text.ts), as Tracee prints it.

import { goText } from "./text";

export class DnsNameError extends Error {
  constructor(
    message: string,
    public readonly offset: number,
  ) {
    super(message);
    this.name = "DnsNameError";
  }
}

const SLOTS = 8192; // direct-mapped cache, power of two
const cacheKeys: (Uint8Array | null)[] = new Array(SLOTS).fill(null);
const cacheText: string[] = new Array(SLOTS).fill("");
const scratch = new Uint8Array(256); // the uncompressed wire form of the current name
const codes: number[] = [];

/** bytes consumed at the name's position by the last readName (up to the first pointer) */
export let nameBytes = 0;

/**
 * Read the name at `off` of the message `msg` (compression pointers are
 * offsets into msg). Sets nameBytes. Throws DnsNameError for a bad name.
 */
export function readDnsName(msg: Uint8Array, off: number): string {
  const end = msg.length;
  let segStart = off; // pointers must point before the start of the current segment
  let consumed = 0;
  let jumped = false;
  let n = 0; // bytes in scratch (labels with their length bytes)
  let hash = 0x811c9dc5;
  let ascii = true;
  for (;;) {
    if (off >= end) throw new DnsNameError("name runs past the message", off);
    const len = msg[off++];
    if (!jumped) consumed++;
    if (len === 0) break;
    if ((len & 0xc0) === 0) {
      if (off + len > end) throw new DnsNameError("label runs past the message", off - 1);
      if (n + len + 1 > 254) throw new DnsNameError("name longer than 254 bytes", off - 1);
      scratch[n++] = len;
      hash = Math.imul(hash ^ len, 0x01000193);
      for (let i = 0; i < len; i++) {
        const c = msg[off + i];
        if (c >= 0x80) ascii = false;
        scratch[n++] = c;
        hash = Math.imul(hash ^ c, 0x01000193);
      }
      off += len;
      if (!jumped) consumed += len;
    } else if ((len & 0xc0) === 0xc0) {
      if (off >= end) throw new DnsNameError("compression pointer runs past the message", off - 1);
      const target = ((len & 0x3f) << 8) | msg[off];
      if (target >= segStart) throw new DnsNameError("compression pointer does not point backwards", off - 1);
      if (!jumped) consumed++;
      jumped = true;
      off = target;
      segStart = target;
    } else {
      throw new DnsNameError(`label type 0x${(len & 0xc0).toString(16)} is not supported`, off - 1);
    }
  }
  nameBytes = consumed;
  if (n === 0) return "";

  const slot = (hash >>> 0) & (SLOTS - 1);
  const key = cacheKeys[slot];
  if (key !== null && key.length === n) {
    let same = true;
    for (let i = 0; i < n; i++)
      if (key[i] !== scratch[i]) {
        same = false;
        break;
      }
    if (same) return cacheText[slot];
  }
  const text = ascii ? asciiName(n) : binaryName(n);
  cacheKeys[slot] = scratch.slice(0, n);
  cacheText[slot] = text;
  return text;
}

function asciiName(n: number): string {
  codes.length = 0;
  let i = 0;
  while (i < n) {
    const len = scratch[i++];
    if (codes.length > 0) codes.push(46); // '.'
    for (let k = 0; k < len; k++) codes.push(scratch[i++]);
  }
  return String.fromCharCode.apply(null, codes);
}

function binaryName(n: number): string {
  const buf = Buffer.from(scratch.buffer, scratch.byteOffset, n);
  const labels: string[] = [];
  let i = 0;
  while (i < n) {
    const len = scratch[i];
    labels.push(goText(buf, i + 1, i + 1 + len));
    i += 1 + len;
  }
  return labels.join(".");
}
