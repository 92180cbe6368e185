// The kinds of YAML documents in a rule file, each with its validator (compile.ts, standalone.ts).

export const RULE_KINDS = ["rule", "sigmaRule", "correlation", "list", "macro"] as const;
export type Kind = (typeof RULE_KINDS)[number];
export const VALIDATOR_OPTIONS = { allErrors: true, strict: false } as const;
