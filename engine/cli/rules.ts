// `netsig rules validate|test|list`: tools for YAML rule authors.
//   validate  compile every rule file under the folders (default: the shipped
//             pack) and print each problem as file:line:column: message;
//             exit 1 when there is one
//   test      run one rule file against a capture: findings on stdout, a
//             count per rule on stderr
//   list      id, kind, severity, events and place of every rule

import { existsSync, statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseCommand } from "../app/args";
import { UsageError } from "../types/errors";
import { formatProblem, skippedCount } from "../types/sources";
import { loadRules, SHIPPED_RULES } from "../rules/compile/load";
import { ruleDir } from "../app/detection";
import { replay } from "./replay";

export const RULES_USAGE = `
rules commands:
  rules validate [DIR|FILE]... [--lists DIR|FILE]...
                     compile the YAML rules (default: the shipped pack) and print each
                     problem as file:line:column: message; exit 1 if there is one
                     (--lists: folders or files whose lists and macros they use)
  rules test FILE --pcap CAPTURE [--lists DIR|FILE]... [--events NAMES] [--output json|table]
                     run the rules of one file against a capture (--lists: folders or files
                     whose lists and macros the file uses); findings on stdout, counts on stderr
  rules list [--rules DIR]... [--output table|json]
                     id, kind, severity, events and place of each rule`;

export async function rulesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "validate":
      return validate(rest);
    case "test":
      return testRules(rest);
    case "list":
      return list(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(`usage: netsig rules <validate|test|list> ...\n${RULES_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown rules command "${sub}"; use validate, test or list`);
  }
}

function split(paths: string[]): { dirs: string[]; files: string[] } {
  const dirs: string[] = [];
  const files: string[] = [];
  for (const p of paths.map(ruleDir)) {
    if (!existsSync(p)) throw new UsageError(`${p}: no such file or folder`);
    (statSync(p).isDirectory() ? dirs : files).push(p);
  }
  return { dirs, files };
}

const rel = (f: string) => relative(process.cwd(), f) || f;

/** --lists: folders or files that must exist */
function lists(values: string[] | undefined): string[] {
  return (values ?? []).map((p) => {
    const d = ruleDir(p);
    if (!existsSync(d)) throw new UsageError(`--lists ${p}: no such file or folder`);
    return d;
  });
}

function validate(argv: string[]): number {
  const { values, positionals } = parseCommand("netsig rules validate", {
    args: argv,
    allowPositionals: true,
    options: { lists: { type: "string", multiple: true } },
  });
  const { dirs, files } = split(positionals.length ? positionals : [SHIPPED_RULES]);
  const r = loadRules(dirs, files, lists(values.lists));
  for (const p of r.problems) process.stdout.write(formatProblem({ ...p, file: rel(p.file) }) + "\n");
  const n = (k: string) => r.result.units.filter((u) => u.ir.kind === k).length;
  process.stderr.write(
    `netsig: ${r.texts.size} files: ${n("rule")} rules, ${n("correlation")} correlations; ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}\n`,
  );
  return r.problems.length ? 1 : 0;
}

async function testRules(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand("netsig rules test", {
    args: argv,
    allowPositionals: true,
    options: {
      pcap: { type: "string" },
      lists: { type: "string", multiple: true },
      events: { type: "string" },
      output: { type: "string", default: "json" },
      quiet: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError("rules test needs exactly one rules file: netsig rules test RULES.yaml --pcap CAPTURE");
  if (!values.pcap) throw new UsageError("rules test needs --pcap CAPTURE (a pcap or pcapng file to run the rules on)");
  const file = resolve(positionals[0]);
  if (!existsSync(file) || statSync(file).isDirectory()) throw new UsageError(`${positionals[0]}: no such file`);
  const r = await replay({
    file: values.pcap,
    events: values.events,
    filters: [],
    format: values.output!,
    quiet: true,
    signatures: { ruleFiles: [file], ruleContext: lists(values.lists), sandboxed: true, watch: false },
  });
  const e = r.engine;
  if (!e) return r.code;
  const loaded = [...e.signatures.values()];
  if (!values.quiet) {
    const counts = new Map<string, number>(loaded.map((s) => [s.meta.id, 0]));
    for (const [k, n] of e.findingsBy) {
      const id = k.split("\t")[0];
      counts.set(id, (counts.get(id) ?? 0) + n);
    }
    process.stderr.write(
      `netsig: ${rel(file)}: ${loaded.length} rules loaded, ${skippedCount(e.problems)} skipped; ${e.stats.findings} findings` +
        (counts.size ? ` (${[...counts].map(([id, n]) => `${id}: ${n}`).join(", ")})` : "") +
        "\n",
    );
  }
  return r.code !== 0 ? r.code : e.problems.length > 0 || e.stats.errors > 0 ? 1 : 0;
}

function list(argv: string[]): number {
  const { values, positionals } = parseCommand("netsig rules list", {
    args: argv,
    allowPositionals: true,
    options: { rules: { type: "string", multiple: true }, output: { type: "string", default: "table" } },
  });
  if (positionals.length) throw new UsageError(`rules list takes no file (use --rules DIR)`);
  if (values.output !== "table" && values.output !== "json") throw new UsageError(`unknown --output "${values.output}": use table or json`);
  const { dirs, files } = split(values.rules ?? [SHIPPED_RULES]);
  const r = loadRules(dirs, files);
  for (const p of r.problems) process.stderr.write(`netsig: rule skipped: ${formatProblem({ ...p, file: rel(p.file) })}\n`);
  const rows = r.result.units
    .map((u) => ({
      id: u.id,
      kind: u.ir.kind === "correlation" ? `correlation:${u.ir.type}` : u.kind,
      severity: String(u.ir.meta.properties?.Severity ?? ""),
      events: (u.ir.kind === "correlation" ? [...new Set(u.ir.rules.flatMap((x) => x.events))] : u.ir.events).join(","),
      at: `${rel(u.file)}:${u.line}`,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
  if (values.output === "json") {
    for (const row of rows) process.stdout.write(JSON.stringify(row) + "\n");
  } else {
    const head = { id: "ID", kind: "KIND", severity: "SEV", events: "EVENTS", at: "FILE" };
    const all = [head, ...rows];
    const w = (k: keyof typeof head) => Math.max(...all.map((x) => x[k].length));
    for (const x of all)
      process.stdout.write(
        `${x.id.padEnd(w("id"))}  ${x.kind.padEnd(w("kind"))}  ${x.severity.padEnd(w("severity"))}  ${x.events.padEnd(w("events"))}  ${x.at}\n`,
      );
  }
  return r.problems.length ? 1 : 0;
}
