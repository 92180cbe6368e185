// Textual IP addresses exactly as Go's net.IP.String() prints them (what Tracee
// prints): dotted quad for IPv4; RFC 5952 for IPv6 (lowercase hex, the longest
// run of two or more zero groups shortened to "::", the first on a tie), and an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) printed as the bare IPv4 address.

export function ipv4String(buf: Uint8Array, off: number): string {
  return buf[off] + "." + buf[off + 1] + "." + buf[off + 2] + "." + buf[off + 3];
}

const HEX: string[] = [];
for (let i = 0; i < 0x10000; i++) HEX.push(i.toString(16));

export function ipv6String(buf: Uint8Array, off: number): string {
  // IPv4-mapped: 10 zero bytes, 0xffff, then the IPv4 address
  let zeros10 = true;
  for (let i = 0; i < 10; i++)
    if (buf[off + i] !== 0) {
      zeros10 = false;
      break;
    }
  if (zeros10 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) return ipv4String(buf, off + 12);

  // find the longest run of zero 16-bit groups (length >= 2)
  let bestStart = -1,
    bestLen = 0,
    runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = buf[off + 2 * g] === 0 && buf[off + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  if (bestLen < 2) bestStart = -1;

  let s = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += "::";
      g += bestLen - 1;
      continue;
    }
    if (s.length > 0 && s.charCodeAt(s.length - 1) !== 58 /* ':' */) s += ":";
    s += HEX[(buf[off + 2 * g] << 8) | buf[off + 2 * g + 1]];
  }
  return s;
}
