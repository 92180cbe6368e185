// Sigma's condition language: selection names combined with `and`, `or`,
// `not` and parentheses, and the quantifiers `1 of X*` / `any of X*` /
// `all of X*` (a name pattern with * wildcards) and `1 of them` / `all of
// them` (every selection whose name does not start with "_"). Precedence:
// not, then and, then or. `%name` names a macro (engine/rules/compile.ts).
// Host side only: the parsed tree is compiled into the rule's IR.

export type Cond =
  | { k: "and" | "or"; args: Cond[] }
  | { k: "not"; arg: Cond }
  | { k: "ref"; name: string; at: number }
  | { k: "macro"; name: string; at: number }
  | { k: "of"; quant: "1" | "all"; pattern: string; at: number };

/** a condition error at `at` (0-based offset in the condition text) */
export class ConditionError extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}

interface Tok {
  t: "(" | ")" | "word";
  text: string;
  at: number;
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      out.push({ t: c, text: c, at: i });
      i++;
      continue;
    }
    const start = i;
    while (i < src.length && !/[\s()]/.test(src[i])) i++;
    const text = src.slice(start, i);
    if (!/^%?[A-Za-z0-9_*.-]+$/.test(text))
      throw new ConditionError(start, `unexpected "${text}" in the condition (names are letters, digits, _, - and . with * wildcards)`);
    out.push({ t: "word", text, at: start });
  }
  return out;
}

const KEYWORDS = new Set(["and", "or", "not", "of", "them"]);

export function parseCondition(src: string): Cond {
  const toks = tokenize(src);
  let p = 0;
  const peekWord = (w: string) => toks[p]?.t === "word" && toks[p].text.toLowerCase() === w;
  const end = () => (toks.length ? toks[toks.length - 1].at + toks[toks.length - 1].text.length : 0);

  const primary = (): Cond => {
    const t = toks[p];
    if (!t)
      throw new ConditionError(end(), toks.length ? "the condition ends too early: a selection name is missing" : "the condition is empty");
    if (t.t === "(") {
      p++;
      const inner = orExpr();
      if (toks[p]?.t !== ")")
        throw new ConditionError(toks[p]?.at ?? end(), `missing ")" for the "(" at column ${t.at + 1} of the condition`);
      p++;
      return inner;
    }
    if (t.t === ")") throw new ConditionError(t.at, `unexpected ")"`);
    const w = t.text.toLowerCase();
    if (w === "not") {
      p++;
      return { k: "not", arg: primary() };
    }
    if (w === "1" || w === "all" || w === "any") {
      if (toks[p + 1]?.t === "word" && toks[p + 1].text.toLowerCase() === "of") {
        p += 2;
        const target = toks[p];
        if (target?.t !== "word") throw new ConditionError(target?.at ?? end(), `"${t.text} of" needs a selection name pattern or "them"`);
        p++;
        const pattern = target.text.toLowerCase() === "them" ? "them" : target.text;
        return { k: "of", quant: w === "all" ? "all" : "1", pattern, at: target.at };
      }
    }
    if (/^\d+$/.test(w) && toks[p + 1]?.t === "word" && toks[p + 1].text.toLowerCase() === "of") {
      throw new ConditionError(t.at, `"${t.text} of" is not Sigma: use "1 of" or "all of"`);
    }
    if (KEYWORDS.has(w)) throw new ConditionError(t.at, `"${t.text}" where a selection name was expected`);
    p++;
    if (t.text.startsWith("%")) return { k: "macro", name: t.text.slice(1), at: t.at };
    if (t.text.includes("*")) throw new ConditionError(t.at, `"${t.text}": a name pattern needs "1 of" or "all of" before it`);
    return { k: "ref", name: t.text, at: t.at };
  };

  const andExpr = (): Cond => {
    const args = [primary()];
    while (peekWord("and")) {
      p++;
      args.push(primary());
    }
    return args.length === 1 ? args[0] : { k: "and", args };
  };

  const orExpr = (): Cond => {
    const args = [andExpr()];
    while (peekWord("or")) {
      p++;
      args.push(andExpr());
    }
    return args.length === 1 ? args[0] : { k: "or", args };
  };

  const c = orExpr();
  if (p < toks.length) {
    const t = toks[p];
    throw new ConditionError(t.at, t.t === ")" ? `unexpected ")"` : `expected "and" or "or" before "${t.text}"`);
  }
  return c;
}

/** names matching a Sigma name pattern (* any run of characters) */
export function matchPattern(pattern: string, names: string[]): string[] {
  if (pattern === "them") return names.filter((n) => !n.startsWith("_"));
  const re = new RegExp("^" + pattern.replace(/[.+?^${}()|[\]\\-]/g, "\\$&").replace(/\*/g, ".*") + "$");
  return names.filter((n) => re.test(n));
}
