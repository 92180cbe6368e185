// A JSON string literal exactly as Go's encoding/json writes it (json.ts and
// jsonbytes.ts both use it; see json.ts for the differences from JSON.stringify).

// characters that force the slow path: control chars, '"', '\\', '<', '>', '&', and everything >= 0x7f
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c >= 0x2028) return true;
  }
  return false;
}

const HEX = "0123456789abcdef";

/** A JSON string literal as Go's encoding/json writes it. */
export function goString(s: string): string {
  if (!needsEscape(s)) return '"' + s + '"';
  let out = '"';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x0a:
          rep = "\\n";
          break;
        case 0x0d:
          rep = "\\r";
          break;
        case 0x09:
          rep = "\\t";
          break;
        case 0x08:
          rep = "\\b";
          break;
        case 0x0c:
          rep = "\\f";
          break;
        default:
          rep = "\\u00" + HEX[c >> 4] + HEX[c & 15];
      }
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = "\\\\";
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    else if (c >= 0xd800 && c <= 0xdfff) {
      // a surrogate pair passes through; a lone surrogate stands for a byte that was not
      // valid UTF-8 (see decode/text.ts): Go writes each such byte as the escape \ufffd
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      rep = "\\ufffd";
    }
    if (rep !== null) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return out + s.slice(from) + '"';
}
