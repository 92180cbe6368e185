// `netsig signatures list|test|new`: tools for signature authors.
//   list  load the folders (in the sandbox, as `replay` would) and print each
//         signature's id, name, version, selected events and file
//   test  run a file (or a folder's files) against a capture: findings on
//         stdout, load problems and errors (file:line) on stderr; exit 1 if a
//         file did not load, threw, or was quarantined (hung)
//   new   scaffold a typed signature and a tsconfig.json so editors resolve
//         `netsig` and `netsig/helpers` and autocomplete the API

import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { parseCommand } from "../app/args";
import { UsageError } from "../types/errors";
import { EVENT_NAMES } from "../types/events";
import type { SignatureEngine } from "../detect/engine";
import { listSignatureFiles } from "../sandbox/loader";
import { SHIPPED_SIGNATURES, startSignatures } from "../app/detection";
import { replay } from "./replay";

export const SIGNATURES_USAGE = `
signatures commands:
  signatures list [--signatures DIR]... [--output table|json]
                     load the folders (default: the shipped signatures) and list
                     id, name, version, selected events and file of each
  signatures test FILE|FOLDER --pcap CAPTURE [--events NAMES] [--output json|table]
                     run a signature file (or each file of a folder) against a capture:
                     findings on stdout, load problems and errors (file:line) on stderr;
                     exit 1 if one did not load, threw, or hung (was quarantined)
  signatures new NAME [--dir DIR]
                     write DIR/NAME.ts (default DIR: ., created if missing), a typed signature to start
                     from, and DIR/tsconfig.json (if missing) so editors resolve
                     "netsig" and "netsig/helpers"`;

export async function signaturesCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "list":
      return list(rest);
    case "test":
      return testOne(rest);
    case "new":
      return scaffold(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(`usage: netsig signatures <list|test|new> ...\n${SIGNATURES_USAGE}\n`);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown signatures command "${sub}"; use list, test or new`);
  }
}

/** event names of a selection mask ("*" when all nine) */
export function maskNames(mask: number): string {
  const all = (1 << EVENT_NAMES.length) - 1;
  if (mask === all) return "*";
  return EVENT_NAMES.filter((_, i) => mask & (1 << i)).join(",");
}

async function list(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand("netsig signatures list", {
    args: argv,
    allowPositionals: true,
    options: { signatures: { type: "string", multiple: true }, output: { type: "string", default: "table" } },
  });
  if (positionals.length) throw new UsageError(`signatures list takes no file (use --signatures DIR)`);
  if (values.output !== "table" && values.output !== "json") throw new UsageError(`unknown --output "${values.output}": use table or json`);
  const dirs = values.signatures ?? [SHIPPED_SIGNATURES];
  const { engine } = await startSignatures({ dirs, sandboxed: true, watch: false }, hostname());
  const rows = [...engine.signatures.values()]
    .filter((s) => s.state === "active")
    .sort((a, b) => a.meta.id.localeCompare(b.meta.id))
    .map((s) => ({ id: s.meta.id, name: s.meta.name, version: s.meta.version, events: maskNames(s.mask), file: s.file }));
  await engine.close();
  if (values.output === "json") {
    for (const r of rows) process.stdout.write(JSON.stringify(r) + "\n");
  } else {
    const head = { id: "ID", name: "NAME", version: "VERSION", events: "EVENTS", file: "FILE" };
    const all = [head, ...rows.map((r) => ({ ...r, file: relative(process.cwd(), r.file) || r.file }))];
    const w = (k: keyof typeof head) => Math.max(...all.map((r) => r[k].length));
    const widths = { id: w("id"), name: w("name"), version: w("version"), events: w("events") };
    for (const r of all) {
      process.stdout.write(
        `${r.id.padEnd(widths.id)}  ${r.name.padEnd(widths.name)}  ${r.version.padEnd(widths.version)}  ${r.events.padEnd(widths.events)}  ${r.file}\n`,
      );
    }
  }
  // problems were reported on stderr as the folders loaded
  return engine.problems.length ? 1 : 0;
}

async function testOne(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand("netsig signatures test", {
    args: argv,
    allowPositionals: true,
    options: {
      pcap: { type: "string" },
      events: { type: "string" },
      output: { type: "string", default: "json" },
      quiet: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1)
    throw new UsageError("signatures test needs exactly one signature file or folder: netsig signatures test FILE|FOLDER --pcap CAPTURE");
  if (!values.pcap) throw new UsageError("signatures test needs --pcap CAPTURE (a pcap or pcapng file to run the signature on)");
  const target = resolve(positionals[0]);
  let folder: boolean;
  try {
    folder = statSync(target).isDirectory();
  } catch {
    throw new UsageError(`${positionals[0]}: no such file or folder`);
  }
  const files = folder ? listSignatureFiles([target]).files : [target];
  if (files.length === 0) throw new UsageError(`${positionals[0]}: no signature file (.ts or .js) in this folder`);
  const r = await replay({
    file: values.pcap,
    events: values.events,
    filters: [],
    format: values.output!,
    quiet: values.quiet,
    signatures: folder ? { dirs: [target], sandboxed: true, watch: false } : { files: [target], sandboxed: true, watch: false },
  });
  const e = r.engine;
  if (!e) return r.code;
  let failed = false;
  for (const f of files) {
    const v = verdict(e, f);
    failed ||= v.failed;
    // a failure is said even with --quiet: it is the test's result
    if (v.failed || !values.quiet) process.stderr.write(`netsig: ${folder ? relative(process.cwd(), f) || f : basename(f)}: ${v.line}\n`);
  }
  // the sandbox could not be restarted: nothing after that point was tested
  if (e.failed !== null) {
    process.stderr.write(`netsig: ${positionals[0]}: FAILED: the signature sandbox stopped (${e.failed})\n`);
    failed = true;
  }
  return r.code !== 0 ? r.code : failed || e.problems.length > 0 ? 1 : 0;
}

/**
 * What `signatures test` says of one file, and whether the test failed: it
 * fails when the file did not load, when a signature of it threw (any error
 * counts), or when it was quarantined (it hung: ran past the time limit in
 * one call, or stopped the sandbox) or disabled (too many errors). A
 * quarantined signature reports nothing more, so "0 findings, 0 errors"
 * alone would read as a pass.
 */
export function verdict(e: SignatureEngine, file: string): { failed: boolean; line: string } {
  const sigs = [...e.signatures.values()].filter((s) => s.file === file);
  if (sigs.length === 0) return { failed: true, line: "not loaded (see above); FAILED" };
  let findings = 0;
  let errors = 0;
  for (const s of sigs) {
    for (const [k, n] of e.findingsBy) if (k.slice(0, k.indexOf("\t")) === s.meta.id) findings += n;
    errors += e.errorsBy.get(s.meta.id) ?? 0;
  }
  const counts = `${findings} findings, ${errors} errors`;
  const quarantined = sigs.filter((s) => s.state === "quarantined");
  if (quarantined.length) {
    return {
      failed: true,
      line: `${counts}; FAILED: ${quarantined.map((s) => s.meta.id || "?").join(", ")} quarantined (it hung or stopped the sandbox; see above)`,
    };
  }
  const disabled = sigs.filter((s) => s.state === "disabled");
  if (disabled.length)
    return { failed: true, line: `${counts}; FAILED: ${disabled.map((s) => s.meta.id).join(", ")} disabled after too many errors` };
  if (errors > 0) return { failed: true, line: `${counts}; FAILED: it threw (see above)` };
  return { failed: false, line: counts };
}

function pascal(name: string): string {
  return (
    name
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join("") || "MySignature"
  );
}

/** the scaffold: a working signature that reports DNS queries under a watched domain */
export function signatureTemplate(name: string): string {
  const cls = /^[0-9]/.test(pascal(name)) ? `Sig${pascal(name)}` : pascal(name);
  const id = name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return `// ${name}: a netsig signature. Load it with
//   netsig replay CAPTURE --signatures FOLDER      or
//   netsig signatures test ${name}.ts --pcap CAPTURE
// It runs sandboxed: only "netsig" (types) and "netsig/helpers" can be imported,
// and there is no file, network, process or timer access.

import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getDNSQuestions, getPacketMetadata, registeredDomain } from "netsig/helpers";

/** report queries for names under these domains (edit me) */
const WATCHED = ["netsig.test"];

export default class ${cls} implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "${id}",
      version: "0.1.0",
      name: "${name}",
      description: "DNS query for a watched domain",
      tags: ["dns"],
      // severity 0 (info) to 4 (critical); MITRE ATT&CK category and technique
      properties: { Severity: 1, Category: "command-and-control", Technique: "Application Layer Protocol: DNS", external_id: "T1071.004" },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_dns_request" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    for (const q of getDNSQuestions(event)) {
      const name = q.query.toLowerCase();
      if (WATCHED.some((d) => name === d || name.endsWith("." + d))) {
        const meta = getPacketMetadata(event);
        this.ctx.callback({
          sigMetadata: this.getMetadata(),
          event,
          data: { query: q.query, type: q.query_type, domain: registeredDomain(name), client: meta.src_ip },
        });
      }
    }
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
`;
}

/** tsconfig.json for a signatures folder: type-check only, "netsig" resolved to this installation */
export function tsconfigFor(dir: string): string {
  const sdk = resolve(__dirname, "..", "sdk");
  const rel = (f: string) => {
    const r = relative(dir, join(sdk, f));
    return r.startsWith(".") ? r : "./" + r;
  };
  return (
    JSON.stringify(
      {
        compilerOptions: {
          // (module esnext: TypeScript 5 accepts "bundler" resolution only with it; 7 either way)
          target: "ES2022",
          module: "esnext",
          moduleResolution: "bundler",
          lib: ["ES2022"],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // netsig transpiles signature files itself; these paths only let editors and tsc find the API
          paths: { netsig: [rel("index.d.ts")], "netsig/helpers": [rel("helpers.d.ts")] },
        },
        include: ["*.ts"],
      },
      null,
      2,
    ) + "\n"
  );
}

function scaffold(argv: string[]): number {
  const { values, positionals } = parseCommand("netsig signatures new", {
    args: argv,
    allowPositionals: true,
    options: { dir: { type: "string", default: "." } },
  });
  if (positionals.length !== 1) throw new UsageError("signatures new needs a NAME, e.g. netsig signatures new dns-beacon");
  const name = positionals[0].replace(/\.ts$/, "");
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name))
    throw new UsageError(`"${name}": a signature name is letters, digits, - and _, starting with a letter`);
  const dir = resolve(values.dir!);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(
      `${values.dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another --dir`,
    );
  }
  const file = join(dir, `${name}.ts`);
  if (existsSync(file)) throw new UsageError(`${file} exists already; choose another name or delete it`);
  writeFileSync(file, signatureTemplate(name));
  process.stdout.write(`wrote ${file}\n`);
  const tsconfig = join(dir, "tsconfig.json");
  if (!existsSync(tsconfig)) {
    writeFileSync(tsconfig, tsconfigFor(dir));
    process.stdout.write(`wrote ${tsconfig} (editors resolve "netsig" and "netsig/helpers" through it)\n`);
  }
  process.stdout.write(`try it: netsig signatures test ${relative(process.cwd(), file) || file} --pcap CAPTURE\n`);
  return 0;
}
