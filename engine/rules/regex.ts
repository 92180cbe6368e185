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
      else if (d >= "0" && d <= "9") { i += 2; while (src[i] >= "0" && src[i] <= "9") i++; atom = false; }
      else i += 2;
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
