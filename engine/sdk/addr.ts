// IP addresses parsed and tested against prefixes without making anything:
// IPv4 into a number, IPv6 into the reused array W6 (single-threaded, and a
// test does not nest). Shared by the rules' cidr test (rules/matchers.ts) and
// the SDK's CidrSet (sdk/helpers.ts); no Node.js API (sandbox realms run it).
// in4 compares with shifts on unsigned 32-bit values.

export const W6 = new Uint16Array(8);
const T6 = new Uint16Array(8);

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** dotted IPv4 in s[start, end) as an unsigned number, or -1 */
export function parse4(s: string, start: number, end: number): number {
  let v = 0,
    part = 0,
    digits = 0,
    out = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3 || v > 255) return -1;
      out = out * 256 + v;
      part++;
      v = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57 || digits === 3) return -1;
    v = v * 10 + (c - 48);
    digits++;
  }
  if (part !== 3 || digits === 0 || v > 255) return -1;
  return out * 256 + v;
}

/** IPv6 text (zone and IPv4 tail allowed) into W6; false when it is not one */
export function parse6(s: string): boolean {
  let end = s.indexOf("%");
  if (end < 0) end = s.length;
  let i = 0,
    groups = 0,
    gap = -1;
  if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  } else if (s.charCodeAt(0) === 58) return false;
  while (i < end) {
    let v = 0,
      digits = 0,
      j = i;
    for (; j < end; j++) {
      const d = hex(s.charCodeAt(j));
      if (d < 0) break;
      v = v * 16 + d;
      digits++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      const v4 = parse4(s, i, end);
      if (v4 < 0 || groups > 6) return false;
      T6[groups++] = Math.floor(v4 / 65536);
      T6[groups++] = v4 % 65536;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || groups >= 8) return false;
    T6[groups++] = v;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = groups;
      i++;
    } else if (i === end) return false;
  }
  if (gap < 0) {
    if (groups !== 8) return false;
    for (let k = 0; k < 8; k++) W6[k] = T6[k];
    return true;
  }
  if (groups > 7) return false;
  const fill = 8 - groups;
  for (let k = 0; k < gap; k++) W6[k] = T6[k];
  for (let k = 0; k < fill; k++) W6[gap + k] = 0;
  for (let k = gap; k < groups; k++) W6[k + fill] = T6[k];
  return true;
}

export interface Prefix4 {
  base: number;
  bits: number;
}
export interface Prefix6 {
  base: Uint16Array;
  bits: number;
}

/** prefixes of the host's checked CIDR texts (compile.ts), parsed once */
export function prefixes(vals: string[]): { v4: Prefix4[]; v6: Prefix6[] } {
  const v4: Prefix4[] = [];
  const v6: Prefix6[] = [];
  for (const c of vals) {
    const slash = c.indexOf("/");
    const addr = slash < 0 ? c : c.slice(0, slash);
    if (!addr.includes(":")) {
      const bits = slash < 0 ? 32 : Number(c.slice(slash + 1));
      const a = parse4(addr, 0, addr.length);
      if (a >= 0 && bits >= 0 && bits <= 32) v4.push({ base: a, bits });
    } else if (parse6(addr)) {
      const bits = slash < 0 ? 128 : Number(c.slice(slash + 1));
      if (bits >= 0 && bits <= 128) v6.push({ base: Uint16Array.from(W6), bits });
    }
  }
  return { v4, v6 };
}

export function in4(a: number, p: Prefix4): boolean {
  if (p.bits === 0) return true;
  return (a ^ p.base) >>> (32 - p.bits) === 0;
}

export function in6(p: Prefix6): boolean {
  let bits = p.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const take = Math.min(bits, 16);
    const mask = ((1 << take) - 1) << (16 - take);
    if ((W6[i] & mask) !== (p.base[i] & mask)) return false;
  }
  return true;
}
