#!/usr/bin/env node
// netsig command line. User errors are one line on stderr and exit code 2;
// no stack traces for them.

import { UsageError } from "../types/errors";
import { LiveCaptureError } from "../capture/live";
import { replayCommand, REPLAY_USAGE } from "./replay";
import { runCommand, RUN_USAGE } from "./run";
import { signaturesCommand, SIGNATURES_USAGE } from "./signatures";
import { rulesCommand, RULES_USAGE } from "./rules";
import { spoolCommand, SPOOL_USAGE } from "./spool";
import { log } from "../app/log";
import { placeConfigError } from "../app/config";
import { linearRegexps } from "../rules/compile/linear";

// before any rule's regular expression is compiled (rules/linear.ts)
linearRegexps();

const USAGE = `usage: netsig <command> [options]

commands:
  replay FILE      decode a pcap/pcapng capture (or - for stdin) into Tracee network events
  run              capture live (libpcap) and decode into the same events
  signatures       list, test and scaffold signature files
  rules            validate, test and list YAML rules (native and Sigma)
  spool deliver    send a webhook spool folder's findings (e.g. one left by an earlier URL)
${REPLAY_USAGE}
${RUN_USAGE}
${SIGNATURES_USAGE}
${RULES_USAGE}
${SPOOL_USAGE}
run \`netsig <command> --help\` for a command's options`;

export function fail(message: string, code = 2): never {
  log(`netsig: error: ${message}`, "error");
  process.exit(code);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "replay":
      return replayCommand(rest);
    case "run":
      return runCommand(rest);
    case "signatures":
      return signaturesCommand(rest);
    case "rules":
      return rulesCommand(rest);
    case "spool":
      return spoolCommand(rest);
    case undefined:
    case "-h":
    case "--help":
    case "help":
      process.stdout.write(USAGE + "\n");
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${cmd}"; run netsig --help`);
  }
}

export function isUserError(e: unknown): e is Error {
  return (
    e instanceof UsageError ||
    e instanceof LiveCaptureError ||
    (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS") === true)
  );
}

if (require.main === module) {
  // the reader of standard output went away (`netsig ... | head`): stop as
  // Unix tools do, without a stack trace (what was not printed is not wanted)
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    process.stderr.write(`netsig: error: standard output: ${e.message}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // (a value from --config: its file:line first)
      if (isUserError(e)) fail(placeConfigError(e.message));
      // a bug, not a user error: say so plainly, with the stack for the report
      process.stderr.write(`netsig: internal error (please report): ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(70);
    },
  );
}
