// Counted repetitions of one atom, spelled so that V8's linear-time regexp
// engine can run them: it replicates an atom at most 16 times per quantifier,
// so `[^.]{48,}` becomes `[^.]{16}[^.]{16}[^.]{16}[^.]*` (the same language).
// Rules only test whether a pattern matches, so lazy quantifiers (`{n,m}?`)
// match the same as greedy ones. Groups are left as they are. (No Node.js API:
// the sandbox realm uses it too.)

const MAX = 16;

function repeat(atom: string, min: number, max: number): string {
  let out = "";
  for (let n = min; n > 0; n -= MAX) out += `${atom}{${Math.min(n, MAX)}}`;
  if (max === Infinity) return out + `${atom}*`;
  for (let n = max - min; n > 0; n -= MAX) out += `${atom}{0,${Math.min(n, MAX)}}`;
  return out;
}

/** the pattern with each atom's counted repetition above 16 split into runs of at most 16 */
export function expandCounts(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const start = i;
    const c = src[i];
    let atom = true;
    if (c === "\\") {
      const d = src[i + 1] ?? "";
      if ((d === "p" || d === "P" || d === "k") && (src[i + 2] === "{" || src[i + 2] === "<")) {
        const close = src.indexOf(src[i + 2] === "{" ? "}" : ">", i + 3);
        i = close < 0 ? src.length : close + 1;
        atom = d !== "k";
      } else if (d === "x") i += 4;
      else if (d === "u") i += src[i + 2] === "{" ? Math.max(src.indexOf("}", i) + 1 - i, 2) : 6;
      else if (d === "c") i += 3;
      else if (d >= "0" && d <= "9") {
        i += 2;
        while (src[i] >= "0" && src[i] <= "9") i++;
        atom = false;
      } else i += 2;
    } else if (c === "[") {
      i++;
      if (src[i] === "^") i++;
      // (in JavaScript a ] right after [ or [^ ends the class: [] matches nothing, [^] anything)
      while (i < src.length && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
      i++;
    } else {
      i++;
      atom = c !== "(" && c !== ")" && c !== "|" && c !== "^" && c !== "$" && c !== "*" && c !== "+" && c !== "?" && c !== "{";
    }
    i = Math.min(i, src.length);
    const text = src.slice(start, i);
    const q = atom ? /^\{(\d+)(,(\d*))?\}\??/.exec(src.slice(i)) : null;
    if (q) {
      const min = Number(q[1]);
      const max = q[2] === undefined ? min : q[3] === "" ? Infinity : Number(q[3]);
      if ((min > MAX || (max > MAX && max !== Infinity)) && max >= min) {
        out += `(?:${repeat(text, min, max)})`;
        i += q[0].length;
        continue;
      }
    }
    out += text;
  }
  return out;
}

/**
 * A lower bound of the length (in UTF-16 units) of any text the pattern
 * matches: a rule skips the regexp for a shorter value (most DNS names are far
 * shorter than an encoded label). Lookarounds, backreferences and anchors
 * count 0, a class or an escape 1; 0 when the pattern cannot be read.
 */
export function minMatchLength(src: string, flags = ""): number {
  if (flags.includes("u") || flags.includes("v")) return 0;
  let i = 0;
  // (no exceptions here: this runs in the sandbox realm too, whose scripts keep clear of catch: realm/guard.ts)
  let unreadable = false;
  let depth = 0;
  // alternatives: the shortest; a sequence: the sum of its atoms' minimums
  function alternation(): number {
    let best = sequence();
    while (src[i] === "|") {
      i++;
      best = Math.min(best, sequence());
    }
    return best;
  }
  function sequence(): number {
    let sum = 0;
    while (i < src.length && src[i] !== "|" && src[i] !== ")") {
      let n = atom();
      const q = /^(?:([*?])|(\+)|\{(\d+)(?:,\d*)?\})\??/.exec(src.slice(i));
      if (q) {
        i += q[0].length;
        if (q[1] !== undefined) n = 0;
        else if (q[3] !== undefined) n *= Number(q[3]);
      }
      sum += n;
    }
    return sum;
  }
  function atom(): number {
    const c = src[i];
    if (c === "\\") {
      // (without the u flag: \u, \x and \c not followed by their digits or letter,
      // \p and \k are plain letters, so a quantifier after them applies to one character)
      const d = src[i + 1] ?? "";
      if (d === "b" || d === "B") {
        i += 2;
        return 0;
      }
      if (d === "k") {
        // a named backreference (0) or, in a pattern without names, the letter k
        const close = src[i + 2] === "<" ? src.indexOf(">", i + 3) : -1;
        i = close < 0 ? i + 2 : close + 1;
        return 0;
      }
      if (d === "0") {
        i += 2;
        for (let k = 0; k < 2 && src[i] >= "0" && src[i] <= "7"; k++) i++;
        return 1;
      }
      if (d >= "1" && d <= "9") {
        i += 2;
        while (src[i] >= "0" && src[i] <= "9") i++;
        return 0;
      }
      if (d === "x" && /^[0-9a-fA-F]{2}/.test(src.slice(i + 2))) i += 4;
      else if (d === "u" && /^[0-9a-fA-F]{4}/.test(src.slice(i + 2))) i += 6;
      else if (d === "c" && /^[A-Za-z]/.test(src.slice(i + 2))) i += 3;
      else i += 2;
      return 1;
    }
    if (c === "[") {
      i++;
      if (src[i] === "^") i++;
      while (i < src.length && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
      i++;
      return 1;
    }
    if (c === "(") {
      i++;
      let look = false;
      if (src[i] === "?") {
        if (src[i + 1] === "=" || src[i + 1] === "!") {
          look = true;
          i += 2;
        } else if (src[i + 1] === "<" && (src[i + 2] === "=" || src[i + 2] === "!")) {
          look = true;
          i += 3;
        } else if (src[i + 1] === "<") {
          const close = src.indexOf(">", i);
          i = close < 0 ? src.length : close + 1;
        } else if (src[i + 1] === ":") i += 2;
        else {
          i = src.length;
          return 0;
        }
      }
      // (deep nesting: give up rather than run out of stack)
      if (++depth > 100) {
        unreadable = true;
        i = src.length;
        return 0;
      }
      const n = alternation();
      depth--;
      if (src[i] !== ")") {
        unreadable = true;
        i = src.length;
        return 0;
      }
      i++;
      return look ? 0 : n;
    }
    i++;
    if (c === "^" || c === "$") return 0;
    return 1;
  }
  const n = alternation();
  return !unreadable && i >= src.length && Number.isFinite(n) ? n : 0;
}
