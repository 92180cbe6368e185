// Command-line options of every netsig command: util.parseArgs, whose errors
// ("Unknown option '--x'. To specify a positional argument starting with a
// '-', place it at the end of the command after '--', ...") become one
// netsig line that names the command, where its options are listed, and the
// closest option when one is close.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../types/errors";
import { distance } from "../rules/run/suggest";

/**
 * parseArgs for `command` ("netsig run", "netsig rules validate"). `help`:
 * the command that lists its options ("netsig run --help"; for "netsig rules
 * validate", "netsig rules --help"); `also`: options taken before parseArgs
 * (--config), for the suggestions.
 */
export function parseCommand<T extends ParseArgsConfig>(
  command: string,
  config: T,
  o: { help?: string; also?: string[] } = {},
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw argsError(
      e,
      command,
      [...Object.keys(config.options ?? {}), ...(o.also ?? [])],
      o.help ?? `${command.split(" ").slice(0, 2).join(" ")} --help`,
    );
  }
}

/** the closest option (`--name`) to what was typed, or "" */
export function closestOption(typed: string, names: string[]): string {
  const word = typed.replace(/^-+/, "").toLowerCase();
  if (word.length < 2) return "";
  let best = "";
  let bestD = Infinity;
  for (const n of names) {
    if (n === "help") continue;
    // a prefix counts as close (--sig for --signatures)
    const d = n.startsWith(word) ? 1 : distance(word, n);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best && bestD <= Math.max(2, Math.floor(word.length / 3)) ? `--${best}` : "";
}

function argsError(e: unknown, command: string, names: string[], help: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const message = (e as Error)?.message ?? "";
  if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) return e;
  let m: RegExpExecArray | null;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && (m = /^Unknown option '([^']+)'/.exec(message))) {
    const near = closestOption(m[1], names);
    return new UsageError(`unknown option ${m[1]} for '${command}'${near ? `: did you mean ${near}?` : ""} (${help} lists them)`);
  }
  if (
    code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" &&
    (m = /^Option '(?:-\w, )?(--[^ ']+)(?: <value>)?' argument missing/.exec(message))
  ) {
    return new UsageError(`option ${m[1]} of '${command}' needs a value (${help} lists them)`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && (m = /^Option '(?:-\w, )?(--[^ ']+)' does not take an argument/.exec(message))) {
    return new UsageError(`option ${m[1]} of '${command}' takes no value (${help} lists them)`);
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && (m = /^Unexpected argument '([^']*)'/.exec(message))) {
    return new UsageError(`'${command}' takes no argument '${m[1]}' (${help} lists what it takes)`);
  }
  return new UsageError(`${message.split("\n")[0]} (${help})`);
}
