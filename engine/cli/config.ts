// `--config FILE`: a YAML file whose keys are the command's long options
// (iface, bpf, signatures, webhook, spool-dir, ...), so every setting has one
// name whether it is written in the file or on the command line. The file is
// checked with a JSON Schema (ajv) built from the options; an error names the
// file and line. Its settings go before the command line's, so a flag given
// there wins (and repeatable options, like --signatures, add up).
// Secrets never go in the file by value: it names the environment variable or
// the file that holds them (webhook-token-env, webhook-hmac-key-file, ...).

import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { load, YAMLException } from "js-yaml";
import { UsageError } from "../events/filter";

type OptionSpec = { type: "string" | "boolean"; multiple?: boolean };

/** where a top-level key is written (1-based; 0 when not found) */
function lineOfKey(text: string, key: string): number {
  const esc = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^(["']?)${esc}\\1\\s*:`);
  const i = text.split("\n").findIndex((l) => re.test(l));
  return i + 1;
}

function schemaFor(options: Record<string, OptionSpec>): object {
  const properties: Record<string, object> = {};
  const scalar = { type: ["string", "number"] };
  for (const [name, o] of Object.entries(options)) {
    if (name === "help" || name === "config") continue;
    // (a webhook may be a mapping: its URL and its own options, see webhooks.ts)
    const item = name === "webhook" ? { anyOf: [scalar, { type: "object" }] } : scalar;
    properties[name] = o.type === "boolean" ? { type: "boolean" } : o.multiple ? { anyOf: [item, { type: "array", items: item }] } : scalar;
  }
  return { type: "object", properties, additionalProperties: false };
}

/** the file given with --config, if any */
export function configPath(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === "--config" || a.startsWith("--config="));
  if (i < 0) return undefined;
  return argv[i].startsWith("--config=") ? argv[i].slice("--config=".length) : argv[i + 1];
}

/** argv with `--config FILE` replaced by the file's settings, as options, before the rest */
export function withConfig(argv: string[], options: Record<string, OptionSpec>): string[] {
  const i = argv.findIndex((a) => a === "--config" || a.startsWith("--config="));
  if (i < 0) return argv;
  const file = argv[i].startsWith("--config=") ? argv[i].slice("--config=".length) : argv[i + 1];
  if (!file) throw new UsageError("--config needs a file: --config netsig.yaml");
  const rest = [...argv.slice(0, i), ...argv.slice(argv[i].startsWith("--config=") ? i + 1 : i + 2)];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = load(text);
  } catch (e) {
    if (e instanceof YAMLException) {
      const mark = (e as YAMLException & { mark?: { line?: number } }).mark;
      throw new UsageError(`${file}:${(mark?.line ?? 0) + 1}: not valid YAML: ${e.reason ?? e.message.split("\n")[0]}`);
    }
    throw new UsageError(`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return rest;
  const ajv = new Ajv({ allErrors: false, allowUnionTypes: true });
  const validate = ajv.compile(schemaFor(options));
  if (!validate(doc)) {
    const err = validate.errors![0];
    const key = err.keyword === "additionalProperties"
      ? String((err.params as { additionalProperty: string }).additionalProperty)
      : err.instancePath.split("/")[1] ?? "";
    if (key === "") throw new UsageError(`${file}:1: the file must be a mapping of option names to values (e.g. "iface: lo")`);
    const at = `${file}:${lineOfKey(text, key)}`;
    if (err.keyword === "additionalProperties") {
      throw new UsageError(`${at}: unknown option "${key}" (the keys are the command's long options: ${Object.keys(options).filter((o) => o !== "help").slice(0, 8).join(", ")}, ...)`);
    }
    const o = options[key];
    const want = o.type === "boolean" ? "true or false" : o.multiple ? "a value or a list of values" : "a single value";
    throw new UsageError(`${at}: "${key}" must be ${want}`);
  }
  const out: string[] = [];
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (options[key].type === "boolean") {
      if (value === true) out.push(`--${key}`);
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) out.push(`--${key}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  }
  return [...out, ...rest];
}
