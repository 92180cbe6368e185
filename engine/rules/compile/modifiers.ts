// One detection item, `field|modifier|...: value(s)`, compiled into a field
// test (ir.ts). Sigma's modifiers:
//   contains startswith endswith   where the value must be (default: equal)
//   all                            every value must match (default: any); with
//                                  [] in the path, every element too
//   re (+ i m s)                   a regular expression (case-sensitive unless i)
//   cidr                           IPv4/IPv6 prefixes (engine/sdk CidrSet)
//   base64 base64offset            the value as it appears base64-encoded
//   utf16le utf16be utf16 wide     ... of the value encoded as UTF-16 first
//   windash                        - and / (and the Unicode dashes) interchangeable
//   exists                         the field is there (true) or not (false)
//   cased                          case-sensitive (default: insensitive)
//   neq                            the field differs from every value
//   lt lte gt gte                  numeric comparisons
//   fieldref                       the value names another field to compare with
//   expand                         %name% placeholders replaced by a list's items
// Values: strings with Sigma's wildcards * and ? (\ escapes them), numbers,
// booleans, null (the field is missing or empty), and `%name` for all the
// items of a list. Host side only.

import type { ExprIR, FieldIR, MatchIR } from "../../types/rule-ir";
import { FieldError, parseFieldPath } from "../run/fields";
import { suggest } from "../run/suggest";
import { Problems, RuleError, type Pos, type YNode, type YScalar } from "./parse";
import { CidrSet, parseIPv6 } from "../../sdk/helpers";

export const MODIFIERS = [
  "contains",
  "startswith",
  "endswith",
  "all",
  "re",
  "i",
  "m",
  "s",
  "cidr",
  "base64",
  "base64offset",
  "utf16le",
  "utf16be",
  "utf16",
  "wide",
  "windash",
  "exists",
  "cased",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "fieldref",
  "expand",
] as const;
type Modifier = (typeof MODIFIERS)[number];

/** a list's items, with where each was written */
export interface ListDef {
  items: YScalar[];
  pos: Pos;
  file: string;
}

export interface ItemContext {
  /** the events the rule selects (names: a Sigma log source may name events this build does not emit yet) */
  events: readonly string[];
  lists: Map<string, ListDef>;
  /** Sigma files: `%name` is a list only when such a list exists (else a literal) */
  sigma: boolean;
  /** Sigma field names -> netsig fields (null: native field paths) */
  fieldMap: ((name: string, pos: Pos) => string) | null;
}

function at(p: Pos, offset: number): Pos {
  return { line: p.line, column: p.column + offset };
}

const LIST_REF = /^%([A-Za-z_][A-Za-z0-9_.-]*)$/;

/** the values of an item, with `%list` references replaced by the list's items (every bad value is reported) */
export function itemValues(node: YNode, ctx: ItemContext, what: string): YScalar[] {
  if (node.kind === "map") throw new RuleError(node.pos, `${what}: the value must be a plain value or a list of them, not a mapping`);
  const problems = new Problems();
  const out: YScalar[] = [];
  for (const v of node.kind === "scalar" ? [node] : node.items) {
    if (v.kind !== "scalar") {
      problems.errors.push(
        new RuleError(v.pos, `${what}: a value list holds plain values, not ${v.kind === "seq" ? "lists" : "mappings"}`),
      );
      continue;
    }
    const m = typeof v.value === "string" ? LIST_REF.exec(v.value) : null;
    if (m) {
      const list = ctx.lists.get(m[1]);
      // (one at a time: a spread of a list of 100,000 items overflows the stack)
      if (list) {
        for (const it of list.items) out.push(it);
        continue;
      }
      if (!ctx.sigma) {
        problems.errors.push(
          new RuleError(
            v.pos,
            `undefined list "%${m[1]}"${suggest(m[1], ctx.lists.keys())} (define it with "list: ${m[1]}" and "items:" in a rules file)`,
          ),
        );
        continue;
      }
    }
    out.push(v);
  }
  problems.done();
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

const DASHES = "-/\u2013\u2014\u2015";

/** a Sigma value with wildcards (and windash) as a regular expression source, anchored for the operator */
function globSource(value: string, op: string, windash: boolean): string {
  let re = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && (value[i + 1] === "*" || value[i + 1] === "?" || value[i + 1] === "\\")) {
      re += escapeRe(value[++i]);
      continue;
    }
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (windash && DASHES.includes(c)) re += "[-/\u2013\u2014\u2015]";
    else re += escapeRe(c);
  }
  const start = op === "eq" || op === "startswith" ? "^" : "";
  const end = op === "eq" || op === "endswith" ? "$" : "";
  return `${start}(?:${re})${end}`;
}

function hasWildcard(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === "\\" && (value[i + 1] === "*" || value[i + 1] === "?" || value[i + 1] === "\\")) {
      i++;
      continue;
    }
    if (c === "*" || c === "?") return true;
  }
  return false;
}

/** a value without wildcard escapes (\* -> *) */
function unescapeWildcards(value: string): string {
  return value.replace(/\\([*?\\])/g, "$1");
}

function encode(value: string, enc: string): Buffer {
  if (enc === "utf16le") return Buffer.from(value, "utf16le");
  if (enc === "utf16be") {
    const b = Buffer.from(value, "utf16le");
    for (let i = 0; i + 1 < b.length; i += 2) {
      const t = b[i];
      b[i] = b[i + 1];
      b[i + 1] = t;
    }
    return b;
  }
  if (enc === "utf16") return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(value, "utf16le")]);
  return Buffer.from(value, "utf8");
}

/** the base64 texts in which `bytes` appears at each of the three alignments (the stable middle of each) */
function base64Offsets(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i), bytes]).toString("base64");
    const start = [0, 2, 3][i];
    const end = enc.length - [0, 3, 2][(bytes.length + i) % 3];
    if (end > start) out.push(enc.slice(start, end));
  }
  return [...new Set(out)];
}

const COST: Record<MatchIR["k"], number> = {
  num: 1,
  bool: 1,
  exists: 1,
  null: 1,
  str: 2,
  cidr: 4,
  glob: 5,
  fieldref: 5,
  re: 8,
  neq: 1,
  or: 0,
  and: 0,
};

function matchCost(m: MatchIR): number {
  if (m.k === "or" || m.k === "and") return m.ms.reduce((a, x) => a + matchCost(x), 0);
  if (m.k === "neq") return 1 + matchCost(m.m);
  const base = COST[m.k];
  const n = "vals" in m ? Math.min(m.vals.length, 20) / 5 : "srcs" in m ? m.srcs.length : 0;
  return base + n;
}

function fieldCost(f: FieldIR): number {
  if (f.h === "virt") return f.n === "dns.parent_domain" ? 8 : 4;
  return (f.h === "arg" ? 1 : 0) + f.s.filter((s) => s === -1).length * 2;
}

/**
 * Compile `key: value` of a selection into a field test. `key` is the
 * field and its modifiers (`args.dns_questions[].query|endswith`).
 */
export function compileItem(key: YScalar, value: YNode, ctx: ItemContext): ExprIR {
  // the modifiers, the field and the values are checked each on its own;
  // what follows needs all three
  const problems = new Problems();
  const parts = key.text.split("|");
  const fieldText = parts[0];
  const mods: Modifier[] = [];
  let off = fieldText.length + 1;
  for (const m of parts.slice(1)) {
    if (!(MODIFIERS as readonly string[]).includes(m)) {
      problems.errors.push(new RuleError(at(key.pos, off), `unknown modifier "${m}"${suggest(m, MODIFIERS)} in "${key.text}"`));
    } else if (mods.includes(m as Modifier)) {
      problems.errors.push(new RuleError(at(key.pos, off), `modifier "${m}" is given twice in "${key.text}"`));
    } else {
      mods.push(m as Modifier);
    }
    off += m.length + 1;
  }
  const has = (m: Modifier) => mods.includes(m);
  const modErr = (msg: string) => new RuleError(at(key.pos, fieldText.length), `${msg} (in "${key.text}")`);

  let fieldName = fieldText;
  const field = problems.run(() => {
    if (ctx.fieldMap) fieldName = ctx.fieldMap(fieldText, key.pos);
    try {
      return parseFieldPath(fieldName, ctx.events, ctx.fieldMap !== null);
    } catch (e) {
      if (e instanceof FieldError) throw new RuleError(at(key.pos, ctx.fieldMap ? 0 : e.offset), e.message);
      throw e;
    }
  });
  const listed = problems.run(() => itemValues(value, ctx, key.text));
  problems.done();
  const { f, shape } = field!;
  const values = listed!;
  const all = has("all");
  const q: "any" | "all" = all ? "all" : "any";
  if (values.length === 0) throw new RuleError(value.pos, `"${key.text}": an empty list matches nothing`);
  const ops = (["contains", "startswith", "endswith"] as const).filter(has);
  if (ops.length > 1) throw modErr(`"${ops.join('" and "')}" cannot be combined`);
  const op = (ops.length ? ops[0] : "eq") as "eq" | "contains" | "startswith" | "endswith";
  const numOps = (["lt", "lte", "gt", "gte"] as const).filter(has);
  const kinds = [
    ops.length ? ops[0] : "",
    has("re") ? "re" : "",
    has("cidr") ? "cidr" : "",
    numOps[0] ?? "",
    has("exists") ? "exists" : "",
    has("fieldref") ? "fieldref" : "",
  ].filter(Boolean);
  if (numOps.length > 1) throw modErr(`"${numOps.join('" and "')}" cannot be combined: use two items (or a condition)`);
  for (const combo of [
    ["re", "contains"],
    ["re", "startswith"],
    ["re", "endswith"],
    ["cidr", "contains"],
    ["cidr", "startswith"],
    ["cidr", "endswith"],
    ["re", "cidr"],
  ]) {
    if (kinds.includes(combo[0]) && kinds.includes(combo[1])) throw modErr(`"${combo[0]}" cannot be combined with "${combo[1]}"`);
  }
  for (const flag of ["i", "m", "s"] as const) if (has(flag) && !has("re")) throw modErr(`"${flag}" is a flag of "re" and needs it`);
  const encodings = (["utf16le", "utf16be", "utf16", "wide"] as const).filter(has);
  if (encodings.length && !has("base64") && !has("base64offset"))
    throw modErr(`"${encodings[0]}" only applies before "base64" or "base64offset"`);
  if (has("base64") && has("base64offset")) throw modErr(`"base64" and "base64offset" cannot be combined`);
  if (
    (has("re") || has("cidr") || numOps.length || has("exists") || has("fieldref")) &&
    (has("base64") || has("base64offset") || has("windash") || has("expand"))
  ) {
    throw modErr(
      `${has("re") ? "re" : has("cidr") ? "cidr" : numOps.length ? numOps[0] : has("exists") ? "exists" : "fieldref"} cannot be combined with value transformations (base64, windash, expand)`,
    );
  }
  const cost = fieldCost(f);
  const test = (m: MatchIR, quant = q): ExprIR => ({ k: "test", f, q: quant, m, cost: cost + matchCost(m) });

  if (has("exists")) {
    if (mods.length > 1) throw modErr(`"exists" takes no other modifier`);
    if (values.length !== 1 || typeof values[0].value !== "boolean") throw new RuleError(values[0].pos, `"exists" takes true or false`);
    const e = test({ k: "exists" }, "any");
    return values[0].value ? e : { k: "not", arg: e };
  }

  const combine = (ms: MatchIR[]): MatchIR => (ms.length === 1 ? ms[0] : { k: all ? "and" : "or", ms });
  const strOf = (v: YScalar, what: string): string => {
    if (typeof v.value === "string") return v.value;
    if (typeof v.value === "number" || typeof v.value === "boolean") return v.text;
    throw new RuleError(v.pos, `${what} needs text values, not null`);
  };
  let match: MatchIR;

  if (numOps.length) {
    const vals = problems.map(values, (v) => {
      const n = typeof v.value === "number" ? v.value : typeof v.value === "string" && v.value.trim() !== "" ? Number(v.value) : NaN;
      if (!Number.isFinite(n)) throw new RuleError(v.pos, `"${numOps[0]}" compares numbers; "${v.text}" is not a number`);
      return n;
    });
    problems.done();
    if (shape === "s") throw new RuleError(key.pos, `"${numOps[0]}" compares numbers, but ${fieldName} is text`);
    match = { k: "num", op: numOps[0], vals, all };
  } else if (has("cidr")) {
    const vals = problems.map(values, (v) => {
      const s = strOf(v, "cidr");
      const set = new CidrSet([s]);
      if (set.invalid.length)
        throw new RuleError(
          v.pos,
          `bad CIDR "${s}": expected an IPv4 or IPv6 prefix like 10.0.0.0/8 or fc00::/7 (prefix length 0-32 / 0-128)`,
        );
      return s;
    });
    match = { k: "cidr", vals: all ? vals : vals.flatMap(withMappedV4), all };
  } else if (has("re")) {
    const flags = (has("i") ? "i" : "") + (has("m") ? "m" : "") + (has("s") ? "s" : "");
    match = combine(
      problems.map(values, (v) => {
        const src = strOf(v, "re");
        try {
          new RegExp(src, flags);
        } catch (e) {
          throw new RuleError(
            v.pos,
            `bad regular expression ${JSON.stringify(src)}: ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, "")}`,
          );
        }
        return { k: "re", src, flags } as MatchIR;
      }),
    );
  } else if (has("fieldref")) {
    match = combine(
      problems.map(values, (v) => {
        const name = strOf(v, "fieldref");
        let ref: FieldIR;
        try {
          ref = parseFieldPath(ctx.fieldMap ? ctx.fieldMap(name, v.pos) : name, ctx.events, ctx.fieldMap !== null).f;
        } catch (e) {
          if (e instanceof FieldError) throw new RuleError(at(v.pos, e.offset), `fieldref: ${e.message}`);
          throw e;
        }
        return { k: "fieldref", op, field: ref, cased: has("cased") } as MatchIR;
      }),
    );
  } else {
    // equality / contains / startswith / endswith, with the value transformations
    const cased = has("cased") || has("base64") || has("base64offset");
    const strs: string[] = [];
    const globs: string[] = [];
    const others: MatchIR[] = [];
    for (const v of values) {
      if (v.value === null) {
        if (op !== "eq") throw new RuleError(v.pos, `null (the field is missing or empty) cannot be combined with "${op}"`);
        others.push({ k: "null" });
        continue;
      }
      if (typeof v.value === "boolean" && op === "eq" && !has("windash") && !has("base64") && !has("base64offset")) {
        others.push({ k: "bool", v: v.value });
        continue;
      }
      if (typeof v.value === "number" && op === "eq" && !has("windash") && !has("base64") && !has("base64offset")) {
        others.push({ k: "num", op: "eq", vals: [v.value], all: false });
        continue;
      }
      let texts = [strOf(v, key.text)];
      if (has("expand")) texts = expandPlaceholders(texts[0], v, ctx);
      for (const text of texts) {
        if (has("base64") || has("base64offset")) {
          const bytes = encode(unescapeWildcards(text), encodings[0] === "wide" ? "utf16le" : (encodings[0] ?? "utf8"));
          const enc = has("base64") ? [bytes.toString("base64")] : base64Offsets(bytes);
          if (has("base64offset") && all) throw modErr(`"base64offset" cannot be combined with "all"`);
          strs.push(...enc);
          continue;
        }
        // "*" alone: any text at all
        if (/^\*+$/.test(text) && !has("windash")) strs.push("");
        else if (has("windash") || hasWildcard(text)) globs.push(globSource(text, op, has("windash")));
        else strs.push(cased ? unescapeWildcards(text) : unescapeWildcards(text).toLowerCase());
      }
    }
    const ms: MatchIR[] = [...others];
    // (the "" of a lone "*" matches every text as a prefix)
    if (op === "eq" && strs.includes("")) {
      strs.splice(strs.indexOf(""), 1);
      ms.push({ k: "str", op: "startswith", vals: [""], cased: true, all: false });
    }
    if (has("base64offset")) {
      // one of the three alignments, wherever the operator says
      ms.push({ k: "str", op: op === "eq" ? "contains" : op, vals: strs, cased: true, all: false });
    } else if (all) {
      for (const s of strs) ms.push({ k: "str", op, vals: [s], cased, all: false });
      for (const g of globs) ms.push({ k: "glob", srcs: [g], cased, all: false });
    } else {
      if (strs.length) ms.push({ k: "str", op, vals: strs, cased, all: false });
      if (globs.length) ms.push({ k: "glob", srcs: globs, cased, all: false });
    }
    match = ms.length === 1 ? ms[0] : { k: all ? "and" : "or", ms };
  }
  // (every bad value of the list, each on its line)
  problems.done();
  if (has("neq")) match = { k: "neq", m: match };
  return test(match);
}

/**
 * An IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) also as the IPv4 prefix
 * (10.0.0.0/8): events print such addresses the Go way, as IPv4.
 */
function withMappedV4(cidr: string): string[] {
  const [addr, bitsText] = cidr.split("/");
  if (!addr.includes(":")) return [cidr];
  const w = parseIPv6(addr);
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (!w || bits < 96 || w.slice(0, 5).some((x) => x !== 0) || w[5] !== 0xffff) return [cidr];
  return [cidr, `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}/${bits - 96}`];
}

/** Sigma's expand: %name% placeholders replaced by each item of the list `name` */
function expandPlaceholders(text: string, v: YScalar, ctx: ItemContext): string[] {
  let out = [text];
  const re = /%([A-Za-z_][A-Za-z0-9_.-]*)%/g;
  for (const m of text.matchAll(re)) {
    const list = ctx.lists.get(m[1]);
    if (!list)
      throw new RuleError(
        at(v.pos, m.index ?? 0),
        `expand: undefined list "${m[1]}"${suggest(m[1], ctx.lists.keys())} for the placeholder %${m[1]}%`,
      );
    const next: string[] = [];
    for (const o of out) for (const it of list.items) next.push(o.split(m[0]).join(String(it.value ?? "")));
    if (next.length > 10_000) throw new RuleError(v.pos, `expand: more than 10000 values`);
    out = next;
  }
  return out;
}
