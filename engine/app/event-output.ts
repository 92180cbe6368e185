// The event output of replay and run: JSON lines (Tracee's shape, bytes
// written in place) or a readable table, to standard output.

import { goJSON } from "../events/json";
import { EventBytesWriter } from "../events/jsonbytes";
import type { EventConsumer } from "../events/pipeline";
import { UsageError } from "../types/errors";
import type { RotatingFile } from "../outputs/rotating";
import { FdOutput } from "../outputs/stdout";
import { TABLE_HEADER, tableLine } from "../outputs/table";

/** the options replay and run share: what to print and how */
export const EVENT_OUTPUT_OPTIONS = {
  events: { type: "string" },
  filter: { type: "string", multiple: true },
  output: { type: "string", default: "json" },
  quiet: { type: "boolean", default: false },
  help: { type: "boolean", short: "h" },
} as const;

export interface EventOutput {
  consumer: EventConsumer;
  flush(): void;
}

/** events to `fd`; with `file`, as JSON lines to the file too */
export function eventOutput(format: string | undefined, hostName: string, fd = 1, file?: RotatingFile): EventOutput {
  const isJson = format === "json" || format === undefined;
  // JSON: the file takes stdout's bytes as they are
  const out = new FdOutput(fd, file && isJson ? (b) => file.write(b) : null);
  if (isJson) {
    const json = new EventBytesWriter(hostName, goJSON);
    const w = out.writer;
    // the exact timestamp literal, computed once per packet
    let sec = -1;
    let nsec = -1;
    let ts = "";
    return {
      consumer: (ev, kind, p) => {
        if (p.tsSec !== sec || p.tsNsec !== nsec) {
          sec = p.tsSec;
          nsec = p.tsNsec;
          ts = p.timestampString();
        }
        json.write(w, ev, kind, ts);
      },
      flush: () => out.flush(),
    };
  }
  if (format === "table") {
    out.line(TABLE_HEADER);
    if (file) {
      const json = new EventBytesWriter(hostName, goJSON);
      const w = file.writer;
      let sec = -1;
      let nsec = -1;
      let ts = "";
      return {
        consumer: (ev, kind, p) => {
          out.line(tableLine(ev, p.tsSec, p.tsNsec));
          if (p.tsSec !== sec || p.tsNsec !== nsec) {
            sec = p.tsSec;
            nsec = p.tsNsec;
            ts = p.timestampString();
          }
          json.write(w, ev, kind, ts);
        },
        flush: () => {
          out.flush();
          file.flush();
        },
      };
    }
    return { consumer: (ev, _kind, p) => out.line(tableLine(ev, p.tsSec, p.tsNsec)), flush: () => out.flush() };
  }
  throw new UsageError(`unknown --output "${format}": use json or table`);
}
