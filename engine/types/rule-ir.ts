// The compiled form of a rule: validated and normalized JSON that the host
// (compile.ts) writes into a rule's module and the sandbox realm
// (runtime.ts) turns into predicates once, at load. Nothing here refers to
// the YAML: lists are expanded, selections inlined, modifiers resolved.

import type { SignatureMetadata } from "./signature";

/**
 * A field: `h` "top" (an envelope field, e.g. hostName), "arg" (the value of
 * the arg named `n`), or "virt" (a derived DNS field, e.g. dns.query); `s`
 * descends: a string is a key, -1 every element ([]), n >= 0 an index.
 */
export interface FieldIR {
  h: "top" | "arg" | "virt";
  n: string;
  s: (string | number)[];
  text: string;
  /**
   * the path reaches a TXT record's text, whose strings are also matched
   * joined (rules/run/fields.ts walkJoin): 1 its list of strings, 2 a
   * resource record's TXT, 3 a DnsAnswer's answer
   */
  j?: 1 | 2 | 3;
}

export type MatchIR =
  /** strings (numbers and booleans compared as their text) */
  | { k: "str"; op: "eq" | "contains" | "startswith" | "endswith"; vals: string[]; cased: boolean; all: boolean }
  /** Sigma wildcards or windash: regular expression sources, anchored as the operator says */
  | { k: "glob"; srcs: string[]; cased: boolean; all: boolean }
  | { k: "re"; src: string; flags: string }
  | { k: "num"; op: "eq" | "lt" | "lte" | "gt" | "gte"; vals: number[]; all: boolean }
  | { k: "bool"; v: boolean }
  | { k: "cidr"; vals: string[]; all: boolean }
  /** the field is present (not undefined) */
  | { k: "exists" }
  /** Sigma's null: missing, null or "" */
  | { k: "null" }
  /** present, and `m` does not match */
  | { k: "neq"; m: MatchIR }
  | { k: "fieldref"; op: "eq" | "contains" | "startswith" | "endswith"; field: FieldIR; cased: boolean }
  | { k: "or" | "and"; ms: MatchIR[] };

export type ExprIR =
  | { k: "and" | "or"; args: ExprIR[] }
  | { k: "not"; arg: ExprIR }
  | { k: "const"; v: boolean }
  /** a field test: `q` "any" (some value of the field matches) or "all" (every value does, and there is one) */
  | { k: "test"; f: FieldIR; q: "any" | "all"; m: MatchIR; cost: number };

/** "{field}" placeholders of an output template, between literal parts */
export type TemplateIR = (string | FieldIR)[];

export interface SuppressIR {
  /** same key (these fields' values) within `window` s counts once (0: off) */
  by: FieldIR[];
  window: number;
  /** at most `rate` findings per `per` seconds for the rule (0: off) */
  rate: number;
  per: number;
  maxKeys: number;
}

export interface BaseRuleIR {
  /** the rule's name for correlations (its id or name) */
  ref: string;
  /** event names it selects */
  events: string[];
  match: ExprIR;
  /** Sigma DNS rules: names of the DNS fields to put in the finding */
  fields: { name: string; f: FieldIR }[];
}

export interface RuleIR extends BaseRuleIR {
  kind: "rule";
  meta: SignatureMetadata;
  output: TemplateIR | null;
  suppress: SuppressIR | null;
  /** where the rule is (file:line), for messages */
  at: string;
}

export interface CorrelationIR {
  kind: "correlation";
  meta: SignatureMetadata;
  type: "event_count" | "value_count" | "temporal" | "temporal_ordered";
  rules: (BaseRuleIR & { groupBy: FieldIR[]; field: FieldIR | null })[];
  /** names of the group-by fields (the finding's data keys) */
  groupNames: string[];
  timespan: number;
  cond: { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number; neq?: number };
  maxGroups: number;
  output: TemplateIR | null;
  suppress: SuppressIR | null;
  at: string;
}

export type UnitIR = RuleIR | CorrelationIR;
