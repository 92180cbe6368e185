// A TXT record's text as Tracee prints it (the `answer` of a DnsAnswer, a
// resource record's TXT) is its whole RDATA: each character-string after its
// length byte. A rule matches the strings joined as well as one by one (a
// word split across two 255-byte strings must not slip by), so the strings
// are read back out of that text: its bytes are the text's UTF-8, with the
// U+DC80-DCFF characters standing for the bytes that were not UTF-8
// (decode/text.ts). No Node API: the sandbox realm bundles this.

/** the bytes the text stands for */
function bytesOf(s: string): number[] {
  const b: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) b.push(c);
    else if (c >= 0xdc80 && c <= 0xdcff) b.push(c & 0xff);
    else {
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      if (cp < 0x800) b.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
      else if (cp < 0x10000) b.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
      else b.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    }
  }
  return b;
}

/** the length of a valid UTF-8 sequence at i (Go's rules, as decode/text.ts), 0 when it is not one */
function seqLen(b: number[], i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && b[i + k] >= lo && b[i + k] <= hi;
  if (c < 0xe0) return cont(1) ? 2 : 0;
  if (c < 0xf0) return cont(1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) && cont(2) ? 3 : 0;
  if (c < 0xf5) return cont(1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** bytes [start, end) as decode/text.ts makes text of them */
function textOf(b: number[], start: number, end: number): string {
  let s = "";
  let i = start;
  while (i < end) {
    const n = seqLen(b, i, end);
    if (n === 0) {
      s += String.fromCharCode(0xdc00 | b[i]);
      i++;
      continue;
    }
    let cp = n === 1 ? b[i] : n === 2 ? b[i] & 0x1f : n === 3 ? b[i] & 0x0f : b[i] & 0x07;
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k] & 63);
    s += String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

/**
 * The strings of a TXT record's text (its RDATA) joined, each as the decoder
 * makes text of it; null when it holds fewer than two strings or is not
 * well formed.
 */
export function txtJoinedFromRaw(raw: string): string | null {
  const b = bytesOf(raw);
  let out = "";
  let n = 0;
  let o = 0;
  while (o < b.length) {
    const len = b[o];
    if (o + 1 + len > b.length) return null;
    out += textOf(b, o + 1, o + 1 + len);
    n++;
    o += 1 + len;
  }
  return n > 1 ? out : null;
}
