// "Did you mean": the closest name to a misspelt one (rule fields, selections,
// modifiers, Sigma keys).

/** Levenshtein distance, for "did you mean" */
export function distance(a: string, b: string): number {
  const m = a.length,
    n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[n];
}

/** ` (did you mean "x"?)` for the closest candidate, or "" when none is close */
export function suggest(word: string, candidates: Iterable<string>): string {
  let best = "";
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best && bestD <= limit && bestD > 0
    ? ` (did you mean "${best}"?)`
    : best && bestD === 0 && best !== word
      ? ` (did you mean "${best}"?)`
      : "";
}
