// Bytes from the wire as text, the way Tracee (Go) holds them.
//
// Go keeps a name or TXT string as its raw bytes; encoding/json then writes
// each byte that is not part of valid UTF-8 as the escape \ufffd (one per
// byte), and valid UTF-8 as itself. To print the same text, netsig decodes
// valid UTF-8 normally and maps every invalid byte 0xXY to the lone surrogate
// U+DCXY ("surrogateescape"): the byte count and the bytes survive in memory
// (a signature measuring label length or entropy sees one character per
// byte), and the JSON writer prints each lone surrogate as \ufffd, as Go does.

/** true when every byte in [start, end) is ASCII */
function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] >= 0x80) return false;
  return true;
}

/** the length of a valid UTF-8 sequence starting at i (Go's rules), or 0 if invalid */
function seqLen(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0; // continuation byte or overlong 2-byte lead
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < end && b[i + k] >= lo && b[i + k] <= hi;
  if (c < 0xe0) return cont(1) ? 2 : 0;
  if (c < 0xf0) {
    const lo = c === 0xe0 ? 0xa0 : 0x80; // no overlongs
    const hi = c === 0xed ? 0x9f : 0xbf; // no UTF-16 surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c < 0xf5) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf; // <= U+10FFFF
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** bytes [start, end) as text, invalid bytes kept as U+DC80..U+DCFF */
export function goText(b: Buffer, start: number, end: number): string {
  if (isAscii(b, start, end)) return b.toString("latin1", start, end);
  let s = "";
  let from = start;
  let i = start;
  while (i < end) {
    const n = seqLen(b, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    if (from < i) s += b.toString("utf8", from, i);
    s += String.fromCharCode(0xdc00 | b[i]);
    i++;
    from = i;
  }
  if (from < end) s += b.toString("utf8", from, end);
  return s;
}
