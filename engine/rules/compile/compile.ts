// Rule files -> compiled rules. Every YAML document of every rule file is
// parsed with positions (parse.ts), checked against schema.json (ajv), and
// compiled into a validated, normalized IR (ir.ts): lists expanded, macros
// and selections inlined, modifiers resolved, fields checked against the
// selected events. Each rule and correlation becomes a signature module of
// one line, `module.exports = require("netsig/rules").compileRules(IR)`,
// evaluated in the sandbox realm like any signature.
//
// Problems are reported as file:line:column with the offending text and,
// where one is close, a suggestion; a broken document is skipped and the
// others load. Lists (and macros) are shared by all the files compiled
// together, so a file may extend another's list (append: true).
// Host side only.

import { basename } from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import schema from "./schema.json";
import {
  entry,
  nodeAt,
  parseYamlDocs,
  plain,
  Problems,
  RuleError,
  RuleErrors,
  type Pos,
  type YMap,
  type YNode,
  type YScalar,
} from "./parse";
import { ConditionError, matchPattern, parseCondition, type Cond } from "./condition";
import { suggest } from "../run/suggest";
import { compileItem, itemValues, type ItemContext, type ListDef } from "./modifiers";
import { FieldError, parseFieldPath, RCODE_BY_NUMBER } from "../run/fields";
import type { BaseRuleIR, CorrelationIR, ExprIR, FieldIR, RuleIR, SuppressIR, TemplateIR, UnitIR } from "../../types/rule-ir";
import { EVENT_NAMES, type EventName } from "../../types/events";
import type { SignatureMetadata } from "../../sdk/index";
import { attackProperties, LEVELS, slug } from "./sigma";
import { logsourceField, resolveLogsource, unsupported, type Side } from "./logsources";
import type { LoadProblem } from "../../types/sources";
import { RULE_KINDS, VALIDATOR_OPTIONS, type Kind } from "./kinds";

export interface RuleFile {
  file: string;
  text: string;
}

export interface CompiledUnit {
  /** identity for hot reload: file#id */
  key: string;
  file: string;
  line: number;
  id: string;
  /** native rule, Sigma rule, or correlation */
  kind: "rule" | "sigma" | "correlation";
  ir: UnitIR;
  /** the module the realm evaluates */
  code: string;
}

export interface CompileResult {
  units: CompiledUnit[];
  problems: LoadProblem[];
  /** files that could not be read as YAML at all */
  brokenFiles: Set<string>;
  /** keys (file#id) of rules that failed to compile */
  failedKeys: Set<string>;
}

interface Doc {
  file: string;
  root: YMap;
  kind: Kind;
  id: string | null;
  /** the schema's problems of a rule whose only ones are unknown keys: it is compiled (for its other problems), not loaded */
  schema?: RuleError[];
}

const EXTENSIONS = [".yaml", ".yml"];

export function isRuleFile(name: string): boolean {
  return EXTENSIONS.some((e) => name.endsWith(e)) && !name.startsWith(".");
}

let validators: Map<Kind, ValidateFunction> | null = null;

function validator(kind: Kind): ValidateFunction {
  if (validators === null) {
    validators = new Map();
    let built: Record<string, ValidateFunction> | null = null;
    try {
      // (made by the build from schema.json: standalone.ts)
      built = require("./schema-validators.js") as Record<string, ValidateFunction>;
    } catch {
      built = null;
    }
    const ajv = built === null ? new Ajv2020(VALIDATOR_OPTIONS) : null;
    ajv?.addSchema(schema);
    for (const k of RULE_KINDS) {
      validators.set(k, built !== null ? built[k] : ajv!.compile({ $ref: `netsig-rules.schema.json#/$defs/${k}` }));
    }
  }
  return validators.get(kind)!;
}

function kindOf(m: YMap): Kind {
  const has = (k: string) => entry(m, k) !== undefined;
  if (has("list")) return "list";
  if (has("macro")) return "macro";
  if (has("correlation")) return "correlation";
  if (has("logsource") || (has("title") && !has("events"))) return "sigmaRule";
  return "rule";
}

/** the schema's allowed keys for a kind (for suggestions) */
function allowedKeys(kind: Kind, path: string): string[] {
  const defs = (schema as { $defs: Record<string, { properties?: Record<string, unknown> }> }).$defs;
  let s: { properties?: Record<string, unknown> } | undefined = defs[kind];
  for (const p of path.split("/").slice(1)) {
    const next = s?.properties?.[p] as { properties?: Record<string, unknown>; $ref?: string } | undefined;
    s = next?.$ref ? defs[next.$ref.split("/").pop()!] : next;
  }
  return Object.keys(s?.properties ?? {});
}

/**
 * The schema's problems of a document (ajv reports them all: allErrors), one
 * RuleError each: the errors of the branches of an anyOf that failed are one
 * problem (a value of none of the allowed forms), told by its most telling
 * error; every other error (each unknown key, each missing one, each bad
 * value) is one.
 */
function schemaErrors(doc: YMap, kind: Kind, errors: ErrorObject[]): RuleError[] {
  const anyOf = errors.filter((x) => x.keyword === "anyOf").map((x) => x.instancePath);
  const groups = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (e.keyword === "anyOf" || e.keyword === "if") continue;
    const under = anyOf.filter((p) => e.instancePath === p || e.instancePath.startsWith(p + "/")).sort((a, b) => a.length - b.length)[0];
    const k = under !== undefined ? `anyOf ${under}` : `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`;
    const g = groups.get(k);
    if (g) g.push(e);
    else groups.set(k, [e]);
  }
  if (groups.size === 0)
    return errors.length ? [schemaError(doc, kind, errors)] : [new RuleError(doc.pos, "the document does not match the rules schema")];
  return [...groups.values()].map((g) => schemaError(doc, kind, g));
}

/** the most telling of these schema errors (of one place), as a RuleError at its place */
function schemaError(doc: YMap, kind: Kind, errors: ErrorObject[]): RuleError {
  // the most telling error: an unknown key, a value not among the allowed ones, a missing key, then the rest
  const rank = (x: ErrorObject) => ["additionalProperties", "enum", "required"].indexOf(x.keyword) >>> 0;
  const e = [...errors].filter((x) => x.keyword !== "anyOf" && x.keyword !== "if").sort((a, b) => rank(a) - rank(b))[0] ?? errors[0];
  const { node, key } = nodeAt(doc, e.instancePath);
  const path = e.instancePath.split("/").slice(1).join(".") || "the document";
  const what = kind === "sigmaRule" ? "Sigma rule" : kind;
  switch (e.keyword) {
    case "additionalProperties": {
      const k = (e.params as { additionalProperty: string }).additionalProperty;
      const at = node.kind === "map" ? (entry(node, k)?.key.pos ?? node.pos) : node.pos;
      const keys = allowedKeys(kind, e.instancePath);
      return new RuleError(
        at,
        `unknown key "${k}"${e.instancePath ? ` in ${path}` : ` in a ${what}`}${suggest(k, keys)}; known keys: ${keys.join(", ")}`,
      );
    }
    case "required": {
      const k = (e.params as { missingProperty: string }).missingProperty;
      return new RuleError(node.pos, `${e.instancePath ? path : `a ${what}`} needs "${k}"`);
    }
    case "enum": {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const v = node.kind === "scalar" ? node.text : "";
      return new RuleError(node.pos, `${path}: "${v}" is not one of ${allowed.join(", ")}${suggest(v, allowed)}`);
    }
    default: {
      const at = key && node.kind !== "scalar" ? node.pos : node.pos;
      const field =
        e.instancePath
          .split("/")
          .slice(1)
          .find((p) => !/^\d+$/.test(p)) ?? "";
      if (field === "severity" || path.endsWith("severity"))
        return new RuleError(at, `severity must be 0-4 or informational, low, medium, high, critical`);
      if (/window|timespan/.test(path)) return new RuleError(at, `${path}: a duration is seconds or a number with s, m, h or d (e.g. 10m)`);
      if (/rate$/.test(path)) return new RuleError(at, `${path}: a rate is N/period, e.g. 10/m or 5/10s`);
      const shown = node.kind === "scalar" ? ` (got "${node.text}")` : node.kind === "seq" ? " (got a list)" : " (got a mapping)";
      return new RuleError(at, `${path} ${e.message ?? "is not valid"}${shown}`);
    }
  }
}

function seconds(v: unknown): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)([smhd])$/.exec(String(v));
  if (!m) return NaN;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s"];
}

function str(m: YMap, k: string): string | undefined {
  const e = entry(m, k);
  return e && e.value.kind === "scalar" && e.value.value !== null ? String(e.value.value) : undefined;
}

function strings(m: YMap, k: string): string[] {
  const e = entry(m, k);
  if (e?.value.kind !== "seq") return [];
  return e.value.items.map((n) => (n.kind === "scalar" ? String(n.value) : ""));
}

function at(p: Pos, offset: number): Pos {
  return { line: p.line, column: p.column + offset };
}

interface MacroDef {
  node: YMap;
  file: string;
}

interface DetContext {
  item: ItemContext;
  macros: Map<string, MacroDef>;
  /** macros being expanded (cycles) */
  stack: string[];
}

function compileSelection(name: YScalar, node: YNode, ctx: DetContext): ExprIR {
  // (every item is checked: each bad one is reported)
  const mapExpr = (m: YMap): ExprIR => {
    if (m.entries.length === 0) throw new RuleError(m.pos, `selection "${name.text}" is empty`);
    const problems = new Problems();
    const args = problems.map(m.entries, (e) => compileItem(e.key, e.value, ctx.item));
    problems.done();
    return args.length === 1 ? args[0] : { k: "and", args };
  };
  if (node.kind === "map") return mapExpr(node);
  if (node.kind === "seq") {
    if (node.items.length === 0) throw new RuleError(node.pos, `selection "${name.text}" is an empty list`);
    if (node.items.every((n) => n.kind === "map")) {
      const problems = new Problems();
      const args = problems.map(node.items, (n) => mapExpr(n as YMap));
      problems.done();
      return args.length === 1 ? args[0] : { k: "or", args };
    }
    if (node.items.every((n) => n.kind === "scalar")) {
      throw unsupportedOr(
        ctx,
        node.pos,
        `selection "${name.text}" is a keyword list (values without a field): it searches a whole log line, and an event has none; name the field (e.g. ${ctx.item.fieldMap ? "query" : "args.dns_questions[].query"}|contains: ...)`,
      );
    }
    throw new RuleError(node.pos, `selection "${name.text}": a list of selections holds mappings only`);
  }
  throw new RuleError(node.pos, `selection "${name.text}" must be a mapping of fields (or a list of mappings), not a plain value`);
}

function unsupportedOr(ctx: DetContext, pos: Pos, why: string): RuleError {
  return ctx.item.sigma ? unsupported(pos, why) : new RuleError(pos, why);
}

/**
 * Sigma's detection: selections and a condition, into one expression. Every
 * selection, and every condition, is checked on its own (each mistake is
 * reported); a selection that failed is not reported again where the
 * condition names it, and a condition that does not parse is one problem.
 */
function compileDetection(det: YMap, ctx: DetContext): ExprIR {
  const problems = new Problems();
  const sels = new Map<string, { key: YScalar; node: YNode }>();
  let condNode: YNode | undefined;
  for (const e of det.entries) {
    if (e.key.text === "condition") {
      condNode = e.value;
      continue;
    }
    if (e.key.text === "timeframe") {
      problems.errors.push(
        unsupportedOr(
          ctx,
          e.key.pos,
          `"timeframe" (Sigma v1 aggregation): write a correlation rule (correlation: {type: event_count, timespan: ...})`,
        ),
      );
      continue;
    }
    sels.set(e.key.text, { key: e.key, node: e.value });
  }
  if (!condNode) {
    problems.errors.push(new RuleError(det.pos, `detection needs a "condition"`));
    problems.done();
  }
  // every selection is compiled (its mistakes are reported even when unused)
  const compiled = new Map<string, ExprIR>();
  for (const [name, s] of sels) {
    const c = problems.run(() => compileSelection(s.key, s.node, ctx));
    if (c) compiled.set(name, c);
  }
  // (a selection that failed: its problems are reported already, and the rule is not loaded)
  const selection = (name: string): ExprIR => compiled.get(name) ?? { k: "or", args: [] };
  const conds: YScalar[] =
    condNode!.kind === "scalar"
      ? [condNode!]
      : condNode!.kind === "seq"
        ? condNode!.items.filter((n): n is YScalar => n.kind === "scalar")
        : [];
  const exprs = problems.map(conds, (c) => {
    const text = String(c.value ?? "");
    const posAt = (offset: number): Pos => (text.includes("\n") || c.style > 3 ? c.pos : at(c.pos, offset));
    if (/\|/.test(text)) {
      throw unsupportedOr(
        ctx,
        posAt(text.indexOf("|")),
        `"${text.slice(text.indexOf("|")).trim()}": aggregations in the condition are Sigma v1; write a correlation rule (correlation: {type: event_count, ...})`,
      );
    }
    let tree: Cond;
    try {
      tree = parseCondition(text);
    } catch (e) {
      if (e instanceof ConditionError) throw new RuleError(posAt(e.at), `condition "${text}": ${e.message}`);
      throw e;
    }
    const names = [...sels.keys()];
    // every name of the condition that is not there (each once)
    const missing = new Problems();
    const walk = (n: Cond): ExprIR => {
      switch (n.k) {
        case "and":
        case "or":
          return { k: n.k, args: n.args.map(walk) };
        case "not":
          return { k: "not", arg: walk(n.arg) };
        case "ref": {
          if (!sels.has(n.name)) {
            missing.errors.push(
              new RuleError(
                posAt(n.at),
                `condition "${text}" names "${n.name}", which is not a selection of this detection${suggest(n.name, names)}${names.length ? `; selections: ${names.join(", ")}` : ""}`,
              ),
            );
          }
          return selection(n.name);
        }
        case "of": {
          const hit = matchPattern(n.pattern, names);
          if (hit.length === 0)
            missing.errors.push(
              new RuleError(
                posAt(n.at),
                `condition "${text}": "${n.pattern}" matches no selection${names.length ? ` (selections: ${names.join(", ")})` : ""}`,
              ),
            );
          const args = hit.map(selection);
          return args.length === 1 ? args[0] : { k: n.quant === "all" ? "and" : "or", args };
        }
        case "macro": {
          const m = ctx.macros.get(n.name);
          if (!m) {
            missing.errors.push(
              new RuleError(
                posAt(n.at),
                `condition "${text}" names macro "%${n.name}", which is not defined${suggest(n.name, ctx.macros.keys())}`,
              ),
            );
            return selection("");
          }
          if (ctx.stack.includes(n.name)) {
            missing.errors.push(new RuleError(posAt(n.at), `macro "%${n.name}" uses itself (${[...ctx.stack, n.name].join(" -> ")})`));
            return selection("");
          }
          const det2 = entry(m.node, "detection")!.value as YMap;
          try {
            return compileDetection(det2, { ...ctx, stack: [...ctx.stack, n.name] });
          } catch (e) {
            if (!(e instanceof RuleError)) throw e;
            // each of the macro's problems at its place, and at the use
            const inMacro = (x: RuleError) =>
              x instanceof MacroError
                ? x
                : new MacroError(x.pos, m.file, `in macro "%${n.name}" (used here for this rule's events): ${x.message}`, posAt(n.at));
            missing.errors.push(...(e instanceof RuleErrors ? e.errors : [e]).map(inMacro));
            return selection("");
          }
        }
      }
    };
    const expr = walk(tree);
    missing.done();
    return expr;
  });
  problems.done();
  return exprs.length === 1 ? exprs[0] : { k: "or", args: exprs };
}

/** an error inside a macro: reported at the macro's place, and the use's */
class MacroError extends RuleError {
  constructor(
    pos: Pos,
    readonly file: string,
    message: string,
    readonly usedAt: Pos,
  ) {
    super(pos, message);
  }
}

/** a Sigma rule's field names -> netsig fields (null: native field paths) */
type FieldMap = ((n: string, p: Pos) => string) | null;

/** `{field}` placeholders of an output template */
function compileTemplate(node: YScalar, events: readonly string[], fieldMap: FieldMap): TemplateIR {
  const text = String(node.value ?? "");
  const out: TemplateIR = [];
  const problems = new Problems();
  let lit = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" && text[i + 1] === "{") {
      lit += "{";
      i++;
      continue;
    }
    if (c === "}" && text[i + 1] === "}") {
      lit += "}";
      i++;
      continue;
    }
    if (c !== "{") {
      lit += c;
      continue;
    }
    const end = text.indexOf("}", i);
    if (end < 0) throw new RuleError(at(node.pos, i), `output: "{" without "}" (write {{ for a literal brace)`);
    const name = text.slice(i + 1, end).trim();
    const from = i;
    // (each placeholder on its own: every unknown field is reported)
    problems.run(() => {
      try {
        const f = parseFieldPath(fieldMap ? fieldMap(name, at(node.pos, from + 1)) : name, events, fieldMap !== null).f;
        if (lit) out.push(lit);
        lit = "";
        out.push(f);
      } catch (e) {
        if (e instanceof FieldError) throw new RuleError(at(node.pos, from + 1 + e.offset), `output: ${e.message}`);
        throw e;
      }
    });
    i = end;
  }
  problems.done();
  if (lit) out.push(lit);
  return out;
}

function compileSuppress(m: YMap | undefined, events: readonly string[], fieldMap: FieldMap): SuppressIR | null {
  if (!m) return null;
  const by: FieldIR[] = [];
  const byNode = entry(m, "by")?.value;
  if (byNode?.kind === "seq") {
    const problems = new Problems();
    for (const n of byNode.items) {
      if (n.kind !== "scalar") continue;
      problems.run(() => {
        try {
          by.push(parseFieldPath(fieldMap ? fieldMap(String(n.value), n.pos) : String(n.value), events, fieldMap !== null).f);
        } catch (e) {
          if (e instanceof FieldError) throw new RuleError(at(n.pos, e.offset), `suppress.by: ${e.message}`);
          throw e;
        }
      });
    }
    problems.done();
  }
  const window = entry(m, "window") ? seconds(plain(entry(m, "window")!.value)) : 0;
  let rate = 0,
    per = 0;
  const rateText = str(m, "rate");
  if (rateText) {
    const r = /^(\d+)\/(\d*)([smhd])$/.exec(rateText)!;
    rate = Number(r[1]);
    per = (r[2] ? Number(r[2]) : 1) * { s: 1, m: 60, h: 3600, d: 86400 }[r[3] as "s"];
    if (rate === 0 || per === 0)
      throw new RuleError(entry(m, "rate")!.value.pos, `suppress.rate: "${rateText}" allows nothing; use at least 1/period`);
  }
  if (by.length && window === 0) throw new RuleError(m.pos, `suppress: "by" needs a "window" (the same key within the window counts once)`);
  if (window === 0 && rate === 0) throw new RuleError(m.pos, `suppress needs a "window" (with "by") or a "rate"`);
  const maxKeys = Number(plain(entry(m, "max_keys")?.value ?? null) ?? 4096);
  return { by, window, rate, per, maxKeys };
}

/** Tracee metadata of a rule */
function metadata(o: {
  id: string;
  name: string;
  eventName: string;
  description: string;
  version: string;
  tags: string[];
  severity: number;
  /** a Sigma rule's authors: its findings carry them (SigmaHQ's Detection Rule License asks it of matches) */
  author?: string;
}): SignatureMetadata {
  const props: Record<string, unknown> = { Severity: o.severity, ...attackProperties(o.tags) };
  if (o.author) props.Author = o.author;
  return {
    id: o.id,
    version: o.version,
    name: o.name,
    eventName: o.eventName,
    description: o.description,
    tags: o.tags,
    properties: props as SignatureMetadata["properties"],
  };
}

function severityOf(m: YMap, fallback: number): number {
  const v = plain(entry(m, "severity")?.value ?? null) ?? plain(entry(m, "level")?.value ?? null);
  if (typeof v === "number") return v;
  if (typeof v === "string" && v in LEVELS) return LEVELS[v];
  return fallback;
}

/** Sigma numbers for rcode become its name (NXDOMAIN), as the events carry */
function fixRcodes(e: ExprIR): ExprIR {
  switch (e.k) {
    case "and":
    case "or":
      return { k: e.k, args: e.args.map(fixRcodes) };
    case "not":
      return { k: "not", arg: fixRcodes(e.arg) };
    case "test": {
      if (e.f.n !== "dns.rcode") return e;
      const fix = (m: import("../../types/rule-ir").MatchIR): import("../../types/rule-ir").MatchIR => {
        if (m.k === "num" && m.op === "eq")
          return { k: "str", op: "eq", vals: m.vals.map((n) => (RCODE_BY_NUMBER[n] ?? String(n)).toLowerCase()), cased: false, all: false };
        if (m.k === "or" || m.k === "and") return { k: m.k, ms: m.ms.map(fix) };
        if (m.k === "neq") return { k: "neq", m: fix(m.m) };
        return m;
      };
      return { ...e, m: fix(e.m) };
    }
    default:
      return e;
  }
}

interface CompiledRule {
  base: BaseRuleIR;
  unit: RuleIR;
  doc: Doc;
  sigma: boolean;
  /** a Sigma rule's field names (its log source's) -> netsig fields */
  fieldMap: FieldMap;
  enabled: boolean;
}

export function moduleCode(ir: UnitIR): string {
  return `module.exports = require("netsig/rules").compileRules(${JSON.stringify(ir)});\n`;
}

/** compile the documents of these files together (lists and macros are shared) */
export function compileRuleFiles(files: RuleFile[]): CompileResult {
  const problems: LoadProblem[] = [];
  const brokenFiles = new Set<string>();
  const failedKeys = new Set<string>();
  // every problem of a document (RuleErrors: its independent ones), each on its line
  const report = (file: string, e: unknown, key?: string | null, doc?: Pos): void => {
    if (!(e instanceof RuleError)) throw e;
    if (key) failedKeys.add(key);
    const of = doc ? { doc: `${file}:${doc.line}` } : {};
    const uses = new Set<string>();
    for (const x of e instanceof RuleErrors ? e.errors : [e]) {
      if (x instanceof MacroError) {
        problems.push({ file: x.file, line: x.pos.line, column: x.pos.column, message: x.message, kind: "rule", ...of });
        // (the use once, pointing at the macro's first problem)
        const use = `${x.usedAt.line}:${x.usedAt.column}`;
        if (uses.has(use)) continue;
        uses.add(use);
        problems.push({
          file,
          line: x.usedAt.line,
          column: x.usedAt.column,
          message: `the rule's macro failed (see ${basename(x.file)}:${x.pos.line}:${x.pos.column})`,
          kind: "rule",
          ...(key ? { key } : {}),
          ...of,
        });
        continue;
      }
      problems.push({ file, line: x.pos.line, column: x.pos.column, message: x.message, kind: "rule", ...(key ? { key } : {}), ...of });
    }
  };

  // 1. parse, classify, check against the schema
  const docs: Doc[] = [];
  for (const { file, text } of files) {
    let parsed: ReturnType<typeof parseYamlDocs>;
    try {
      parsed = parseYamlDocs(text);
    } catch (e) {
      brokenFiles.add(file);
      report(file, e);
      continue;
    }
    for (const d of parsed) {
      if (d.root === null) continue;
      if (d.root.kind !== "map") {
        report(
          file,
          new RuleError(
            d.root.pos,
            `a rules document is a mapping (id:, events:, detection: ...), not ${d.root.kind === "seq" ? "a list" : "a plain value"}`,
          ),
        );
        continue;
      }
      const kind = kindOf(d.root);
      const idText =
        kind === "list"
          ? null
          : kind === "macro"
            ? null
            : (str(d.root, "id") ?? str(d.root, "name") ?? (str(d.root, "title") ? slug(str(d.root, "title")!) : null));
      const doc: Doc = { file, root: d.root, kind, id: idText };
      const validate = validator(kind);
      if (!validate(plain(d.root))) {
        const errors = validate.errors ?? [];
        const found = schemaErrors(d.root, kind, errors);
        // unknown keys alone: the rest is as the schema says, so a rule is compiled too (its other problems are reported with them)
        if (kind !== "list" && kind !== "macro" && errors.length && errors.every((x) => x.keyword === "additionalProperties")) {
          docs.push({ ...doc, schema: found });
          continue;
        }
        report(file, found.length === 1 ? found[0] : new RuleErrors(found), idText && `${file}#${idText}`, d.root.pos);
        continue;
      }
      docs.push(doc);
    }
  }

  // 2. lists: definitions, then appends (in file order)
  const lists = new Map<string, ListDef>();
  for (const pass of [false, true]) {
    for (const d of docs) {
      if (d.kind !== "list") continue;
      const name = str(d.root, "list")!;
      const append = plain(entry(d.root, "append")?.value ?? null) === true;
      if (append !== pass) continue;
      const itemsNode = entry(d.root, "items")!.value;
      try {
        const items = itemValues(itemsNode, { events: [], lists, sigma: false, fieldMap: null }, `list ${name}`);
        const prev = lists.get(name);
        if (!append) {
          if (prev)
            throw new RuleError(
              entry(d.root, "list")!.value.pos,
              `list "${name}" is already defined (${basename(prev.file)}:${prev.pos.line}); to add to it, write append: true`,
            );
          lists.set(name, { items, pos: d.root.pos, file: d.file });
        } else {
          if (!prev)
            throw new RuleError(
              entry(d.root, "list")!.value.pos,
              `append: list "${name}" is not defined in any rules file${suggest(name, lists.keys())}`,
            );
          prev.items = [...prev.items, ...items];
        }
      } catch (e) {
        report(d.file, e);
      }
    }
  }

  // 3. macros
  const macros = new Map<string, MacroDef>();
  for (const d of docs) {
    if (d.kind !== "macro") continue;
    const name = str(d.root, "macro")!;
    const prev = macros.get(name);
    if (prev) {
      report(
        d.file,
        new RuleError(
          entry(d.root, "macro")!.value.pos,
          `macro "${name}" is already defined (${basename(prev.file)}:${prev.node.pos.line})`,
        ),
      );
      continue;
    }
    macros.set(name, { node: d.root, file: d.file });
  }

  // 4. rules
  const byRef = new Map<string, CompiledRule>();
  const ids = new Map<string, Doc>();
  const rules: CompiledRule[] = [];
  for (const d of docs) {
    if (d.kind !== "rule" && d.kind !== "sigmaRule") continue;
    const key = `${d.file}#${d.id}`;
    try {
      // (its unknown keys, a duplicate id and what the compiler finds: all of them)
      const found = new Problems();
      found.errors.push(...(d.schema ?? []));
      const prev = ids.get(d.id!);
      if (prev)
        found.errors.push(
          new RuleError(
            (entry(d.root, "id") ?? entry(d.root, "title"))!.value.pos,
            `duplicate rule id "${d.id}" (already defined at ${basename(prev.file)}:${prev.root.pos.line})`,
          ),
        );
      const r = found.run(() => (d.kind === "rule" ? compileNative(d, lists, macros) : compileSigma(d, lists, macros)))!;
      found.done();
      ids.set(d.id!, d);
      rules.push(r);
      byRef.set(d.id!, r);
      const name = str(d.root, "name");
      if (name && !byRef.has(name)) byRef.set(name, r);
    } catch (e) {
      report(d.file, e, key, d.root.pos);
    }
  }

  // 5. correlations
  const consumed = new Set<CompiledRule>();
  const correlations: { doc: Doc; ir: CorrelationIR }[] = [];
  for (const d of docs) {
    if (d.kind !== "correlation") continue;
    try {
      const found = new Problems();
      found.errors.push(...(d.schema ?? []));
      const prev = ids.get(d.id!);
      if (prev)
        found.errors.push(
          new RuleError(d.root.pos, `duplicate rule id "${d.id}" (already defined at ${basename(prev.file)}:${prev.root.pos.line})`),
        );
      const compiled = found.run(() => compileCorrelation(d, byRef));
      found.done();
      const { ir, used, generate } = compiled!;
      ids.set(d.id!, d);
      if (!generate) for (const u of used) consumed.add(u);
      correlations.push({ doc: d, ir });
    } catch (e) {
      report(d.file, e, `${d.file}#${d.id}`, d.root.pos);
    }
  }

  const units: CompiledUnit[] = [];
  for (const r of rules) {
    if (!r.enabled || consumed.has(r)) continue;
    units.push({
      key: `${r.doc.file}#${r.doc.id}`,
      file: r.doc.file,
      line: r.doc.root.pos.line,
      id: r.unit.meta.id,
      kind: r.sigma ? "sigma" : "rule",
      ir: r.unit,
      code: moduleCode(r.unit),
    });
  }
  for (const c of correlations) {
    units.push({
      key: `${c.doc.file}#${c.doc.id}`,
      file: c.doc.file,
      line: c.doc.root.pos.line,
      id: c.ir.meta.id,
      kind: "correlation",
      ir: c.ir,
      code: moduleCode(c.ir),
    });
  }
  problems.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1));
  return { units, problems: boundProblems(problems), brokenFiles, failedKeys };
}

/** the problems of one file shown (and logged) at most; the rest are counted */
export const RULE_FILE_PROBLEMS_MAX = 50;

/**
 * Problems sorted by file: each once (a macro's problem is met by each rule
 * that uses it), and at most RULE_FILE_PROBLEMS_MAX of a file, then one
 * line saying how many more there are.
 */
function boundProblems(sorted: LoadProblem[]): LoadProblem[] {
  const out: LoadProblem[] = [];
  const seen = new Set<string>();
  let file = "",
    n = 0,
    more = 0;
  const flush = (): void => {
    if (more === 0) return;
    const last = out[out.length - 1];
    out.push({
      file,
      line: 0,
      column: 0,
      kind: "rule",
      message: `... and ${more} more problem${more === 1 ? "" : "s"} in this file (the first ${RULE_FILE_PROBLEMS_MAX} are shown)`,
      // (counted with the last shown: "rules skipped" counts the documents seen)
      ...(last.doc ? { doc: last.doc } : {}),
    });
  };
  for (const p of sorted) {
    const id = `${p.file}\0${p.line}\0${p.column}\0${p.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (p.file !== file) {
      flush();
      file = p.file;
      n = 0;
      more = 0;
    }
    if (n++ < RULE_FILE_PROBLEMS_MAX) out.push(p);
    else more++;
  }
  flush();
  return out;
}

function eventsOf(m: YMap): EventName[] {
  const names = strings(m, "events");
  return names.includes("*") ? [...EVENT_NAMES] : ([...new Set(names)] as EventName[]);
}

function compileNative(d: Doc, lists: Map<string, ListDef>, macros: Map<string, MacroDef>): CompiledRule {
  const m = d.root;
  const events = eventsOf(m);
  const item: ItemContext = { events, lists, sigma: false, fieldMap: null };
  // the detection, fields, output and suppress are checked each on its own
  const problems = new Problems();
  const match = problems.run(() => fixRcodes(compileDetection(entry(m, "detection")!.value as YMap, { item, macros, stack: [] })))!;
  const fields: { name: string; f: FieldIR }[] = [];
  const fNode = entry(m, "fields")?.value;
  const addField = (name: string, node: YScalar) => {
    try {
      fields.push({ name, f: parseFieldPath(String(node.value), events).f });
    } catch (e) {
      if (e instanceof FieldError) throw new RuleError(at(node.pos, e.offset), `fields: ${e.message}`);
      throw e;
    }
  };
  if (fNode?.kind === "seq") for (const n of fNode.items) if (n.kind === "scalar") problems.run(() => addField(String(n.value), n));
  if (fNode?.kind === "map")
    for (const e of fNode.entries) if (e.value.kind === "scalar") problems.run(() => addField(e.key.text, e.value as YScalar));
  const outNode = entry(m, "output")?.value;
  const output = outNode?.kind === "scalar" ? problems.run(() => compileTemplate(outNode, events, null))! : null;
  const suppressNode = entry(m, "suppress")?.value;
  const suppress = problems.run(() => compileSuppress(suppressNode?.kind === "map" ? suppressNode : undefined, events, null))!;
  problems.done();
  const id = str(m, "id")!;
  const meta = metadata({
    id,
    name: str(m, "name") ?? id,
    eventName: id,
    description: str(m, "description") ?? "",
    version: str(m, "version") ?? "1.0",
    tags: strings(m, "tags"),
    severity: severityOf(m, 2),
  });
  const base: BaseRuleIR = { ref: id, events, match, fields };
  const unit: RuleIR = { kind: "rule", ...base, meta, output, suppress, at: `${d.file}:${m.pos.line}` };
  return { base, unit, doc: d, sigma: false, fieldMap: null, enabled: plain(entry(m, "enabled")?.value ?? null) !== false };
}

function compileSigma(d: Doc, lists: Map<string, ListDef>, macros: Map<string, MacroDef>): CompiledRule {
  const m = d.root;
  const lsEntry = entry(m, "logsource")!;
  const ls = resolveLogsource(plain(lsEntry.value) as Record<string, unknown>);
  if (typeof ls === "string") throw unsupported(lsEntry.key.pos, ls);
  // the detection is compiled over the events of both sides; the fields it
  // names (their sides) then say which side's events the rule sees
  const all = [...new Set([...ls.first.events, ...(ls.second?.events ?? [])])];
  const named = new Map<string, Side>();
  const fieldMap = (name: string, pos: Pos): string => logsourceField(ls, name, pos).path;
  const detectionMap = (name: string, pos: Pos): string => {
    const f = logsourceField(ls, name, pos);
    named.set(name, f.side);
    return f.path;
  };
  const item: ItemContext = { events: all, lists, sigma: true, fieldMap: detectionMap };
  // (the detection and suppress are checked each on its own; an unsupported logsource stops the rest)
  const problems = new Problems();
  const detected = problems.run(() => fixRcodes(compileDetection(entry(m, "detection")!.value as YMap, { item, macros, stack: [] })));
  const suppressNode = entry(m, "suppress")?.value;
  const suppressed = problems.run(() => compileSuppress(suppressNode?.kind === "map" ? suppressNode : undefined, all, fieldMap));
  problems.done();
  let match = detected!;
  const firsts = [...named].filter(([, s]) => s === "first").map(([n]) => n);
  const seconds = [...named].filter(([, s]) => s === "second").map(([n]) => n);
  const responses = seconds.length > 0;
  if (responses && firsts.length > 0 && !ls.secondHasFirst) {
    const det = entry(m, "detection")!;
    throw unsupported(
      det.key.pos,
      `the detection names ${firsts.join(", ")} (of the ${ls.first.events.join("/")} events) and ${seconds.join(", ")} ` +
        `(of the ${ls.second!.events.join("/")} events): ${ls.name} joins them in one record, and netsig matches one event at a time`,
    );
  }
  // the first side's events (queries, requests, client hellos, flows), or
  // the second's when the rule names a field only they have
  const side = responses ? ls.second! : ls.first;
  const events = side.events as EventName[];
  if (side.qr !== undefined) {
    const qr: ExprIR = {
      k: "test",
      f: { h: "virt", n: "dns.qr", s: [], text: "dns.qr" },
      q: "any",
      m: { k: "num", op: "eq", vals: [side.qr], all: false },
      cost: 1,
    };
    match = { k: "and", args: [qr, match] };
  }
  const title = str(m, "title")!;
  const id = str(m, "id") ?? str(m, "name") ?? slug(title);
  // the finding's data: the rule's fields (those of its side), or the log source's
  const usable = (n: string) =>
    Object.hasOwn(ls.fields, n) &&
    (ls.fields[n].side === "both" || ls.fields[n].side === (responses ? "second" : "first") || (responses && ls.secondHasFirst));
  const fieldNames = strings(m, "fields").filter(usable);
  const names = fieldNames.length ? fieldNames : responses ? ls.data.second : ls.data.first;
  const fields = names.map((name) => ({ name, f: parseFieldPath(fieldMap(name, m.pos), events, true).f }));
  // (checked above over both sides' events)
  const suppress = suppressed === null ? null : compileSuppress(suppressNode?.kind === "map" ? suppressNode : undefined, events, fieldMap);
  const meta = metadata({
    id,
    name: title,
    eventName: str(m, "name") ?? id,
    description: str(m, "description") ?? "",
    version: str(m, "modified") ?? str(m, "date") ?? "1",
    tags: strings(m, "tags"),
    severity: severityOf(m, 2),
    author: str(m, "author"),
  });
  const base: BaseRuleIR = { ref: id, events, match, fields };
  const unit: RuleIR = { kind: "rule", ...base, meta, output: null, suppress, at: `${d.file}:${m.pos.line}` };
  return { base, unit, doc: d, sigma: true, fieldMap, enabled: true };
}

function compileCorrelation(d: Doc, byRef: Map<string, CompiledRule>): { ir: CorrelationIR; used: CompiledRule[]; generate: boolean } {
  const m = d.root;
  const c = entry(m, "correlation")!.value as YMap;
  const type = str(c, "type") as CorrelationIR["type"];
  const rulesNode = entry(c, "rules")!.value;
  const used: CompiledRule[] = [];
  // every rule that is not there; the checks that do not need them go on
  const problems = new Problems();
  for (const n of rulesNode.kind === "seq" ? rulesNode.items : []) {
    if (n.kind !== "scalar") continue;
    const ref = String(n.value);
    const r = byRef.get(ref);
    if (!r) {
      problems.errors.push(
        new RuleError(n.pos, `correlation: rule "${ref}" is not loaded (a rule's id or name)${suggest(ref, byRef.keys())}`),
      );
      continue;
    }
    used.push(r);
  }
  const missing = problems.failed;
  const groupNode = entry(c, "group-by")?.value;
  const groupItems = groupNode?.kind === "seq" ? groupNode.items.filter((n): n is YScalar => n.kind === "scalar") : [];
  const aliases = plain(entry(c, "aliases")?.value ?? null) as Record<string, Record<string, string>> | null;
  const condMap = entry(c, "condition")?.value;
  const condPlain = (plain(condMap ?? null) ?? {}) as Record<string, unknown>;
  const fieldName = typeof condPlain.field === "string" ? condPlain.field : undefined;
  const cond: CorrelationIR["cond"] = {};
  for (const k of ["gt", "gte", "lt", "lte", "eq", "neq"] as const) if (typeof condPlain[k] === "number") cond[k] = condPlain[k] as number;
  if (type === "temporal" && Object.keys(cond).length === 0) cond.gte = used.length;
  if ((type === "event_count" || type === "value_count") && Object.keys(cond).length === 0) {
    problems.errors.push(
      new RuleError(condMap?.pos ?? c.pos, `correlation ${type} needs a condition with a count (gt, gte, lt, lte, eq or neq)`),
    );
  }
  if (type === "value_count" && !fieldName)
    problems.errors.push(
      new RuleError(condMap?.pos ?? c.pos, `correlation value_count needs condition.field (the field whose distinct values are counted)`),
    );
  if (type !== "value_count" && fieldName) problems.errors.push(new RuleError(condMap!.pos, `condition.field applies to value_count only`));
  if (type === "temporal_ordered" && used.length < 2 && !missing)
    problems.errors.push(new RuleError(rulesNode.pos, `temporal_ordered needs at least two rules`));
  const fieldFor = (r: CompiledRule, name: string, pos: Pos, what: string): FieldIR => {
    const alias = aliases?.[name];
    const actual = alias ? (alias[r.base.ref] ?? alias[str(r.doc.root, "name") ?? ""]) : name;
    if (actual === undefined) throw new RuleError(pos, `alias "${name}" has no field for rule "${r.base.ref}"`);
    try {
      return parseFieldPath(r.fieldMap ? r.fieldMap(actual, pos) : actual, r.base.events, r.fieldMap !== null).f;
    } catch (e) {
      if (e instanceof FieldError) throw new RuleError(at(pos, e.offset), `${what} of rule "${r.base.ref}": ${e.message}`);
      throw e;
    }
  };
  // (each field of each rule on its own; a field a correlation gives for value_count only is not looked up)
  const rules = used.map((r) => ({
    ...r.base,
    groupBy: problems.map(groupItems, (n) => fieldFor(r, String(n.value), n.pos, "group-by")),
    field:
      fieldName && type === "value_count" ? (problems.run(() => fieldFor(r, fieldName, condMap!.pos, "condition.field")) ?? null) : null,
  }));
  const timespan = seconds(plain(entry(c, "timespan")!.value));
  if (!(timespan > 0)) problems.errors.push(new RuleError(entry(c, "timespan")!.value.pos, `timespan must be more than 0`));
  const title = str(m, "title") ?? d.id!;
  const events = [...new Set(used.flatMap((r) => r.base.events))] as EventName[];
  // (the field names of Sigma rules are their log source's: the first rule's)
  const sigmaMap: FieldMap = used.length > 0 && used.every((r) => r.sigma) ? used[0].fieldMap : null;
  // (the output's and suppress's fields are those of the rules: not checked while one is missing)
  const outNode = entry(m, "output")?.value;
  const output = outNode?.kind === "scalar" && !missing ? (problems.run(() => compileTemplate(outNode, events, sigmaMap)) ?? null) : null;
  const suppressNode = entry(m, "suppress")?.value;
  const suppress = missing
    ? null
    : (problems.run(() => compileSuppress(suppressNode?.kind === "map" ? suppressNode : undefined, events, sigmaMap)) ?? null);
  if (suppress?.by.length)
    problems.errors.push(new RuleError(suppressNode!.pos, `suppress.by is not used in a correlation: its key is the group (group-by)`));
  problems.done();
  const meta = metadata({
    id: d.id!,
    name: title,
    eventName: str(m, "name") ?? d.id!,
    description: str(m, "description") ?? "",
    version: str(m, "modified") ?? str(m, "date") ?? "1",
    tags: strings(m, "tags"),
    severity: severityOf(m, 2),
  });
  const ir: CorrelationIR = {
    kind: "correlation",
    meta,
    type,
    rules,
    groupNames: groupItems.map((n) => String(n.value)),
    timespan,
    cond,
    maxGroups: Number(plain(entry(m, "max_groups")?.value ?? null) ?? 4096),
    output,
    suppress,
    at: `${d.file}:${m.pos.line}`,
  };
  return { ir, used, generate: plain(entry(m, "generate")?.value ?? null) === true };
}
