// `--output-file PATH` of replay and run: the findings (and the events that
// are printed) also go, as JSON lines, to a file rotated by size
// (engine/outputs/rotating.ts). Standard output is unchanged by it.

import { UsageError } from "../types/errors";
import { RotatingFile } from "../outputs/rotating";
import { int } from "./webhook-options";
import { log } from "./log";

export const FILE_OUTPUT_USAGE = `
file output (JSON lines; the findings, and the events when they are printed):
  --output-file PATH         append them to PATH too (standard output is unchanged; --quiet-findings
                             does not apply to the file)
  --output-file-max-bytes N  before PATH would pass N bytes it becomes PATH.1 (PATH.1 -> PATH.2, ...)
                             and a new PATH starts; a line is never split (default 100 MiB)
  --output-file-keep K       rotated files kept, PATH.1..PATH.K; older ones are deleted (default 5)`;

export const FILE_OUTPUT_OPTIONS = {
  "output-file": { type: "string" },
  "output-file-max-bytes": { type: "string" },
  "output-file-keep": { type: "string" },
} as const;

export type FileOutputValues = { "output-file"?: string; "output-file-max-bytes"?: string; "output-file-keep"?: string };

const WHY: Record<string, string> = {
  ENOENT: "the folder does not exist; create it or choose another path",
  EACCES: "permission denied; choose a writable path or fix the permissions",
  EPERM: "permission denied; choose a writable path or fix the permissions",
  EISDIR: "it is a folder; give a file name",
  ENOTDIR: "a part of the path is not a folder; check the path",
  EROFS: "read-only file system; choose a writable path",
  ENOSPC: "no space left on the device; free some or choose another path",
};

/** the rotating file, or undefined without --output-file; mistakes are UsageErrors */
export function fileOutputFrom(v: FileOutputValues): RotatingFile | undefined {
  const path = v["output-file"];
  if (path === undefined) {
    const stray = (["output-file-max-bytes", "output-file-keep"] as const).find((k) => v[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --output-file`);
    return undefined;
  }
  if (path === "") throw new UsageError("--output-file needs a file name");
  const maxBytes = int("output-file-max-bytes", v["output-file-max-bytes"], 100 * 1024 * 1024, 1);
  const keep = int("output-file-keep", v["output-file-keep"], 5, 0, 1000);
  try {
    return new RotatingFile({ path, maxBytes, keep, log: (l) => log(l, "warn") });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`cannot open --output-file ${path}: ${code} (${WHY[code] ?? (e as Error).message.split("\n")[0]})`);
  }
}

/** the file's line for the summary at exit ("" when quiet and nothing was lost) */
export function fileOutputSummary(f: RotatingFile, quiet: boolean): string {
  if (quiet && f.droppedLines === 0) return "";
  return (
    `netsig: --output-file ${f.path}: ${f.bytes} bytes written, ${f.rotations} rotations` +
    (f.droppedLines ? `, ${f.droppedLines} lines dropped (write errors)` : "") +
    "\n"
  );
}
