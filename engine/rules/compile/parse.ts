// YAML rule files with positions: js-yaml's event parser (parseEvents) gives
// each scalar and collection an offset into the text; this composes them into
// a small tree whose every key and value knows its line and column, so that a
// mistake anywhere in a rule is reported as file:line:column. One tree per
// YAML document (`---` separates the rules of a file). Host side only.

import { CORE_SCHEMA, EVENT_ID, getScalarValue, parseEvents, YAMLException, type Event, type ScalarEvent } from "js-yaml";

/** 1-based line and column */
export interface Pos {
  line: number;
  column: number;
}

export type YNode = YScalar | YSeq | YMap;
export interface YScalar {
  kind: "scalar";
  value: string | number | boolean | null;
  text: string;
  pos: Pos;
  style: number;
  offset: number;
}
export interface YSeq {
  kind: "seq";
  items: YNode[];
  pos: Pos;
}
export interface YMap {
  kind: "map";
  entries: { key: YScalar; value: YNode }[];
  pos: Pos;
}

export interface YDoc {
  root: YNode | null;
  pos: Pos;
}

/** a problem at a place in a file */
export class RuleError extends Error {
  constructor(
    readonly pos: Pos,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Several problems found together (the independent mistakes of one rule):
 * each is reported on its line. Nested ones are flattened.
 */
export class RuleErrors extends RuleError {
  readonly errors: RuleError[];
  constructor(errors: RuleError[]) {
    const flat = errors.flatMap((e) => (e instanceof RuleErrors ? e.errors : [e]));
    super(flat[0].pos, flat[0].message);
    this.errors = flat;
  }
}

/**
 * Collects the problems of independent checks: each check runs even when
 * an earlier one failed, and done() throws them all together. A check that
 * later ones depend on is run outside (its throw stops them).
 */
export class Problems {
  readonly errors: RuleError[] = [];
  /** fn's result, or undefined when it threw a RuleError (kept) */
  run<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof RuleError)) throw e;
      this.errors.push(e);
      return undefined;
    }
  }
  /** fn over each item; the items that failed are left out */
  map<T, R>(items: readonly T[], fn: (t: T, i: number) => R): R[] {
    const out: R[] = [];
    items.forEach((t, i) => {
      const before = this.errors.length;
      const r = this.run(() => fn(t, i));
      if (this.errors.length === before) out.push(r as R);
    });
    return out;
  }
  get failed(): boolean {
    return this.errors.length > 0;
  }
  /** throw what was collected, if anything */
  done(): void {
    if (this.errors.length) throw this.errors.length === 1 ? this.errors[0] : new RuleErrors(this.errors);
  }
}

/** offsets -> positions */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  pos(offset: number): Pos {
    let lo = 0,
      hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo] + 1 };
  }
}

/**
 * Nodes YAML aliases may add to one file, all documents together. An alias
 * (`*name`) stands for a copy of its anchor's whole node, so nine levels of
 * nine aliases ("billion laughs") stand for 9^9 nodes written in a few
 * hundred bytes, and whatever walks the tree (validation, compilation,
 * JSON) would expand them. Rules use aliases sparingly (a shared selection,
 * a list of values): 100,000 is far past that and costs little.
 */
export const YAML_ALIAS_NODES_MAX = 100_000;

const STR_TAGS = new Set(["!!str", "!", "tag:yaml.org,2002:str"]);

/**
 * Parse every document of a YAML text. A syntax error throws a RuleError
 * at its place; duplicate keys, anchors used before their definition and
 * unsupported tags too.
 */
export function parseYamlDocs(text: string, o: { what?: string } = {}): YDoc[] {
  const lines = new LineIndex(text);
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: 64 });
  } catch (e) {
    if (e instanceof YAMLException) {
      const m = e.mark;
      throw new RuleError({ line: (m?.line ?? 0) + 1, column: (m?.column ?? 0) + 1 }, `malformed YAML: ${e.reason}`);
    }
    throw new RuleError({ line: 1, column: 1 }, `malformed YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  const docs: YDoc[] = [];
  const anchors = new Map<string, YNode>();
  let i = 0;
  let lastOffset = 0;

  // (js-yaml's anchor range is the name, without its & or *)
  const anchorOf = (start: number, end: number): string | null => (start >= 0 ? text.slice(start, end) : null);
  // the size of every node with an anchor (itself and everything below it), and
  // what the aliases added so far: a node is counted once for each place it is used
  const sizes = new Map<YNode, number>();
  let aliased = 0;
  const sizeOf = (n: YNode): number => {
    if (n.kind === "scalar") return 1;
    const known = sizes.get(n);
    if (known !== undefined) return known;
    let s = 1;
    if (n.kind === "seq") for (const it of n.items) s += sizeOf(it);
    else for (const e of n.entries) s += 1 + sizeOf(e.value);
    sizes.set(n, s);
    return s;
  };

  const scalar = (e: ScalarEvent): YScalar => {
    const raw = getScalarValue(text, e);
    // an empty value (`key:` and nothing) has no offset (-1): it is where its key is
    const at = e.valueStart >= 0 ? e.valueStart : lastOffset;
    const pos = lines.pos(at);
    lastOffset = at;
    let value: YScalar["value"] = raw;
    const tag = e.tagStart >= 0 ? text.slice(e.tagStart, e.tagEnd) : null;
    if (tag !== null && STR_TAGS.has(tag)) value = raw;
    else if (tag !== null && !/^!!(int|float|bool|null)$/.test(tag))
      throw new RuleError(lines.pos(e.tagStart), `unsupported YAML tag ${tag}`);
    else if (e.style === 1 || tag !== null) {
      // plain scalars (and !!int, ...) resolve as YAML 1.2's core schema says
      const r = CORE_SCHEMA.resolveImplicitScalarTag(raw);
      const v = r.value;
      value = typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null ? v : raw;
    }
    return { kind: "scalar", value, text: raw, pos, style: e.style, offset: at };
  };

  const node = (): YNode => {
    const e = events[i++];
    switch (e.type) {
      case EVENT_ID.SCALAR: {
        const n = scalar(e);
        const a = anchorOf(e.anchorStart, e.anchorEnd);
        if (a) anchors.set(a, n);
        return n;
      }
      case EVENT_ID.ALIAS: {
        const name = text.slice(e.anchorStart, e.anchorEnd);
        const n = anchors.get(name);
        if (!n) throw new RuleError(lines.pos(e.anchorStart - 1), `alias *${name} names no anchor defined before it`);
        aliased += sizeOf(n);
        if (aliased > YAML_ALIAS_NODES_MAX) {
          throw new RuleError(
            lines.pos(e.anchorStart - 1),
            `YAML aliases expand past ${YAML_ALIAS_NODES_MAX} nodes in this file (alias *${name} stands for ${sizeOf(n)}): an alias bomb? write the values out, or use fewer aliases`,
          );
        }
        return n;
      }
      case EVENT_ID.SEQUENCE: {
        const seq: YSeq = { kind: "seq", items: [], pos: lines.pos(e.start) };
        lastOffset = e.start;
        const a = anchorOf(e.anchorStart, e.anchorEnd);
        while (events[i].type !== EVENT_ID.POP) seq.items.push(node());
        i++;
        if (a) anchors.set(a, seq);
        return seq;
      }
      case EVENT_ID.MAPPING: {
        const map: YMap = { kind: "map", entries: [], pos: lines.pos(e.start) };
        lastOffset = e.start;
        const a = anchorOf(e.anchorStart, e.anchorEnd);
        const seen = new Map<string, Pos>();
        while (events[i].type !== EVENT_ID.POP) {
          const keyEvent = events[i];
          const k = node();
          if (k.kind !== "scalar") throw new RuleError(k.pos, "a mapping key must be a plain value, not a list or mapping");
          if (keyEvent.type === EVENT_ID.SCALAR && k.text === "<<")
            throw new RuleError(k.pos, `YAML merge keys (<<) are not supported in ${o.what ?? "rules"}`);
          const key: YScalar = { ...k, value: k.text };
          const prev = seen.get(key.text);
          if (prev) throw new RuleError(key.pos, `duplicate key "${key.text}" (first at line ${prev.line})`);
          seen.set(key.text, key.pos);
          map.entries.push({ key, value: node() });
        }
        i++;
        if (a) anchors.set(a, map);
        return map;
      }
      default:
        throw new RuleError(lines.pos(lastOffset), "malformed YAML: unexpected structure");
    }
  };

  while (i < events.length) {
    const e = events[i++];
    if (e.type !== EVENT_ID.DOCUMENT) continue;
    anchors.clear();
    const startPos = lines.pos(lastOffset);
    if (events[i].type === EVENT_ID.POP) {
      i++;
      docs.push({ root: null, pos: startPos });
      continue;
    }
    const root = node();
    if (events[i]?.type === EVENT_ID.POP) i++;
    docs.push({ root, pos: root.pos });
  }
  return docs;
}

/** a plain JavaScript value of a node (for schema validation) */
export function plain(n: YNode | null): unknown {
  if (n === null) return null;
  if (n.kind === "scalar") return n.value;
  if (n.kind === "seq") return n.items.map(plain);
  const o: Record<string, unknown> = {};
  for (const { key, value } of n.entries) o[key.text] = plain(value);
  return o;
}

/** the entry of a mapping with this key */
export function entry(m: YMap, key: string): { key: YScalar; value: YNode } | undefined {
  return m.entries.find((e) => e.key.text === key);
}

/** the node at a JSON pointer-like path of keys and indexes (ajv's instancePath), or the deepest found */
export function nodeAt(root: YNode, path: string): { node: YNode; key?: YScalar } {
  let n: YNode = root;
  let key: YScalar | undefined;
  for (const raw of path.split("/").slice(1)) {
    const p = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (n.kind === "map") {
      const e = entry(n, p);
      if (!e) break;
      key = e.key;
      n = e.value;
    } else if (n.kind === "seq") {
      const it = n.items[Number(p)];
      if (!it) break;
      key = undefined;
      n = it;
    } else break;
  }
  return { node: n, key };
}
