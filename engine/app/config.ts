// `--config FILE`: a YAML file whose keys are the command's long options
// (iface, bpf, signatures, webhook, spool-dir, ...), so every setting has one
// name whether it is written in the file or on the command line. The file is
// checked with a JSON Schema (ajv) built from the options; an error names the
// file and line. Its settings go before the command line's, so a flag given
// there wins (and repeatable options, like --signatures, add up).
// Secrets never go in the file by value: it names the environment variable or
// the file that holds them (webhook-token-env, webhook-hmac-key-file, ...).

import Ajv from "ajv";
import { UsageError } from "../types/errors";
import { CONFIG_FILE_MAX_BYTES, FileTooLargeError, formatBytes, readBoundedText } from "../bounded";
import { PER_WEBHOOK } from "./webhook-options";
import { entry, parseYamlDocs, plain, RuleError, type YMap, type YNode } from "../rules/compile/parse";

type OptionSpec = { type: "string" | "boolean"; multiple?: boolean };

/**
 * Where a value of the --config file is written: its option (a webhook
 * mapping's keys as their --webhook-* option, its url as --webhook), the
 * value as text, the key in a webhook mapping, and the line. Kept for the
 * last file read, so that any error about an option's value, wherever it is
 * found later (webhooks.ts, run.ts, ...), can name file:line: see
 * placeConfigError.
 */
interface ConfigValue {
  option: string;
  value: string;
  key?: string;
  line: number;
}
let placed: { file: string; values: ConfigValue[]; cli: Set<string> } | undefined;

/** the options a command line gives itself (a config value of these is overridden, unless they add up) */
function givenOn(argv: string[]): Set<string> {
  const out = new Set<string>();
  for (const a of argv) {
    if (a === "--") break;
    const m = /^--([^=]+)/.exec(a);
    if (m) out.add(m[1]);
  }
  return out;
}

/**
 * An error message about an option whose value came from the --config file,
 * with the file:line of that value in front ("netsig.yaml:7: --webhook-wait
 * must be ..."). The message names the option (--name); of its values in the
 * file, the one the message quotes is chosen (a key of a webhook mapping, or
 * the value), else its only one. A message about a value given on the command
 * line, or already naming the file, is left as it is.
 */
export function placeConfigError(message: string): string {
  if (!placed || message.startsWith(placed.file + ":")) return message;
  for (const m of message.matchAll(/--([a-z][a-z0-9-]*)/g)) {
    const values = placed.values.filter((v) => v.option === m[1]);
    if (values.length === 0) continue;
    // (a value may be quoted cut short: "X-Tenant: ...")
    const quoted = [...message.matchAll(/"([^"]*)"/g)].map((q) => q[1].replace(/\.\.\.$/, "")).filter((q) => q !== "");
    const score = (v: ConfigValue): number =>
      (v.key !== undefined && message.includes(`"${v.key}"`) ? 2 : 0) +
      (v.value !== "" && (message.includes(v.value) || quoted.some((q) => v.value.startsWith(q))) ? 1 : 0);
    const best = values.reduce((a, b) => (score(b) > score(a) ? b : a));
    // a value the command line gave may be the one meant, unless the message quotes the file's
    if (score(best) === 0 && placed.cli.has(m[1])) continue;
    return `${placed.file}:${best.line}: ${message}`;
  }
  return message;
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
    text = readBoundedText(file, CONFIG_FILE_MAX_BYTES);
  } catch (e) {
    if (e instanceof FileTooLargeError) {
      throw new UsageError(
        `--config ${file}: the file is ${e.size !== undefined ? `${formatBytes(e.size)} (${e.size} bytes)` : `larger than ${formatBytes(e.cap)}`}, past the ${formatBytes(e.cap)} limit for a config file: give the file of netsig's options`,
      );
    }
    throw new UsageError(`cannot read --config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // the same YAML reader as the rules: positions for every key, aliases bounded
  let root: YNode | null;
  try {
    const docs = parseYamlDocs(text, { what: "a config file" });
    if (docs.length > 1) throw new RuleError(docs[1].pos, "a config file holds one YAML document (no ---)");
    root = docs[0]?.root ?? null;
  } catch (e) {
    if (e instanceof RuleError)
      throw new UsageError(`${file}:${e.pos.line}: not valid YAML: ${e.message.replace(/^malformed YAML: /, "")}`);
    throw e;
  }
  if (root === null) {
    placed = undefined;
    return rest;
  }
  const doc = plain(root);
  const map = root.kind === "map" ? root : undefined;
  const lineOfKey = (key: string): number => (map ? (entry(map, key)?.key.pos.line ?? 1) : 1);
  const ajv = new Ajv({ allErrors: false, allowUnionTypes: true });
  const validate = ajv.compile(schemaFor(options));
  if (!validate(doc)) {
    const err = validate.errors![0];
    const key =
      err.keyword === "additionalProperties"
        ? String((err.params as { additionalProperty: string }).additionalProperty)
        : (err.instancePath.split("/")[1] ?? "");
    if (key === "" || !map) throw new UsageError(`${file}:1: the file must be a mapping of option names to values (e.g. "iface: lo")`);
    const at = `${file}:${lineOfKey(key)}`;
    if (err.keyword === "additionalProperties") {
      throw new UsageError(
        `${at}: unknown option "${key}" (the keys are the command's long options: ${Object.keys(options)
          .filter((o) => o !== "help")
          .slice(0, 8)
          .join(", ")}, ...)`,
      );
    }
    const o = options[key];
    const want = o.type === "boolean" ? "true or false" : o.multiple ? "a value or a list of values" : "a single value";
    throw new UsageError(`${at}: "${key}" must be ${want}`);
  }
  const out: string[] = [];
  const values: ConfigValue[] = [];
  for (const { key: k, value: node } of map!.entries) {
    const key = k.text;
    if (options[key].type === "boolean") {
      if (node.kind === "scalar" && node.value === true) {
        out.push(`--${key}`);
        values.push({ option: key, value: "", line: k.pos.line });
      }
      continue;
    }
    for (const n of node.kind === "seq" ? node.items : [node]) {
      const v = plain(n);
      out.push(`--${key}=${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)}`);
      if (n.kind === "map") values.push(...mappingValues(key, n));
      else values.push({ option: key, value: String(v), line: n.pos.line });
    }
  }
  placed = { file, values, cli: givenOn(rest) };
  return [...out, ...rest];
}

/** the places of a webhook given as a mapping: its url as --webhook, its keys as their --webhook-* options */
function mappingValues(option: string, m: YMap): ConfigValue[] {
  return m.entries.flatMap(({ key, value }) => {
    const items = value.kind === "seq" ? value.items : [value];
    return items.map((n) => {
      const v = plain(n);
      const text = typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
      if (key.text === "url") return { option, value: text, line: key.pos.line };
      // (an unknown key is reported by --webhook)
      return { option: PER_WEBHOOK[key.text] ?? option, value: text, key: key.text, line: n.pos.line };
    });
  });
}
