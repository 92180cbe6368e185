// Test helpers for the differential test: run tshark (the peer decoder) over a
// capture and read its per-frame protocol trees.
//
// tshark's `-T json` prints each protocol tree as JSON objects whose keys are
// field names, or the display text of a subtree (a DNS record is keyed
// "name: type A, class IN, addr 1.2.3.4"). Two identical records, two DNS
// messages in one TCP segment, or the inner IP header of an ICMP error repeat
// a key, so the output is read with a small parser that keeps every key, in
// order, instead of JSON.parse (which keeps only the last).

import { execFile } from "node:child_process";

/** A JSON object with its keys in document order, duplicates kept. */
export class Obj {
  constructor(readonly entries: [string, Node][]) {}

  /** the first value under `key` */
  get(key: string): Node | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }

  /** the first value under `key` as a string (a repeated field's first occurrence) */
  str(key: string): string | undefined {
    const v = this.get(key);
    if (typeof v === "string") return v;
    if (Array.isArray(v) && typeof v[0] === "string") return v[0];
    return undefined;
  }

  /** every value under `key`, in order */
  all(key: string): Node[] {
    const out: Node[] = [];
    for (const [k, v] of this.entries) if (k === key) out.push(v);
    return out;
  }

  /** the first value under `key` as an object */
  obj(key: string): Obj | undefined {
    const v = this.get(key);
    return v instanceof Obj ? v : undefined;
  }

  /** depth-first search for the first field named `key` (in subtrees too) */
  find(key: string): string | undefined {
    for (const [k, v] of this.entries) {
      if (k === key && typeof v === "string") return v;
      if (v instanceof Obj) {
        const r = v.find(key);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  }
}

export type Node = string | Obj | Node[] | number | boolean | null;

/** JSON.parse, except that objects are Obj (ordered entries, duplicate keys kept). */
export function parseOrderedJSON(text: string): Node {
  let i = 0;
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`tshark JSON: ${what} at offset ${i}: ${JSON.stringify(text.slice(i, i + 40))}`);
  };
  const str = (): string => {
    // i is at the opening quote; JSON.parse decodes the escapes of the literal
    let j = i + 1;
    let escaped = false;
    for (; ; j++) {
      const c = text.charCodeAt(j);
      if (Number.isNaN(c)) fail("unterminated string");
      if (c === 0x5c) {
        escaped = true;
        j++;
        continue;
      }
      if (c === 0x22) break;
    }
    const lit = text.slice(i, j + 1);
    i = j + 1;
    return escaped ? (JSON.parse(lit) as string) : lit.slice(1, -1);
  };
  const value = (): Node => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: [string, Node][] = [];
      ws();
      if (text[i] === "}") {
        i++;
        return new Obj(entries);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        entries.push([k, value()]);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return new Obj(entries);
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: Node[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 32));
    if (m === null) return fail("unexpected character");
    i += m[0].length;
    return JSON.parse(m[0]) as Node;
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** One frame as tshark dissected it: its number and its top-level protocol trees, in order. */
export interface TsFrame {
  /** the packet's number in the capture, from 1 (tshark's frame number, less any pcapng Custom Blocks before it) */
  number: number;
  /** tshark's frame.number */
  frameNumber: number;
  frame: Obj;
  /** [protocol, tree] in dissection order, e.g. ["eth", ...], ["ip", ...], ["udp", ...], ["dns", ...] */
  layers: [string, Obj][];
}

/** The protocols whose trees are printed; everything else is left out to keep the output small. */
export const TSHARK_PROTOCOLS = [
  "frame",
  "ip",
  "ipv6",
  "tcp",
  "udp",
  "icmp",
  "icmpv6",
  "dns",
  "mdns",
  "llmnr",
  "http",
  "_ws.malformed",
  "_ws.short",
];

/**
 * tshark options for a per-packet comparison: no reassembly (so every field
 * belongs to the frame that carries it), raw TCP sequence numbers, no name
 * resolution, no heuristic dissectors and no TCP analysis that would add or
 * move fields.
 */
export const TSHARK_OPTIONS = [
  "-n",
  "-o",
  "tcp.desegment_tcp_streams:FALSE",
  "-o",
  "tcp.relative_sequence_numbers:FALSE",
  "-o",
  "tcp.analyze_sequence_numbers:FALSE",
  "-o",
  "tcp.try_heuristic_first:FALSE",
  "-o",
  "udp.try_heuristic_first:FALSE",
  "-o",
  "ip.defragment:FALSE",
  "-o",
  "ipv6.defragment:FALSE",
];

/**
 * The same with TCP reassembly on: a DNS message split over segments is then
 * dissected on the segment that completes it, which is where netsig reports
 * it. Used for the DNS-over-TCP captures only.
 */
export const TSHARK_REASSEMBLY_OPTIONS = TSHARK_OPTIONS.map((o) =>
  o === "tcp.desegment_tcp_streams:FALSE" ? "tcp.desegment_tcp_streams:TRUE" : o,
);

/**
 * The same with IPv4/IPv6 defragmentation on: a fragmented datagram's
 * transport and application layers are then dissected on the fragment that
 * completes it, which is where netsig reports them. Used for the captures
 * with fragments only.
 */
export const TSHARK_DEFRAG_OPTIONS = TSHARK_OPTIONS.map((o) =>
  o === "ip.defragment:FALSE" ? "ip.defragment:TRUE" : o === "ipv6.defragment:FALSE" ? "ipv6.defragment:TRUE" : o,
);

/** which reassembly tshark does: none (every field is its own packet's), TCP streams, or IP fragments */
export type Reassembly = "none" | "tcp" | "ip";

const OPTIONS: Record<Reassembly, string[]> = { none: TSHARK_OPTIONS, tcp: TSHARK_REASSEMBLY_OPTIONS, ip: TSHARK_DEFRAG_OPTIONS };

export function tsharkArgs(file: string, reassemble: Reassembly = "none"): string[] {
  return ["-r", file, ...OPTIONS[reassemble], "-T", "json", "-J", TSHARK_PROTOCOLS.join(" ")];
}

/**
 * Run tshark on one capture (asynchronously, so several files can run at once).
 * A tshark that hangs (a CI run saw one) is killed after a minute and run once more.
 */
export function runTshark(file: string, reassemble: Reassembly = "none", tries = 2): Promise<TsFrame[]> {
  return new Promise((resolve, reject) => {
    execFile(
      "tshark",
      tsharkArgs(file, reassemble),
      { maxBuffer: 1 << 30, encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" },
      (err, stdout, stderr) => {
        if (err && (err as { killed?: boolean }).killed && tries > 1) {
          console.log(`# tshark on ${file} did not finish in 60 s; running it again`);
          runTshark(file, reassemble, tries - 1).then(resolve, reject);
          return;
        }
        if (err) {
          reject(new Error(`tshark ${file}: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(framesOf(stdout));
        } catch (e) {
          reject(new Error(`tshark ${file}: ${(e as Error).message}`));
        }
      },
    );
  });
}

export function framesOf(json: string): TsFrame[] {
  const root = json.trim() === "" ? [] : parseOrderedJSON(json);
  if (!Array.isArray(root)) throw new Error("tshark JSON is not an array of frames");
  const out: TsFrame[] = [];
  for (const pkt of root) {
    const layers = ((pkt as Obj).obj("_source") as Obj).obj("layers") as Obj;
    const frame = layers.obj("frame") as Obj;
    const trees: [string, Obj][] = [];
    for (const [k, v] of layers.entries) {
      if (v instanceof Obj) trees.push([k, v]);
      else if (Array.isArray(v)) for (const x of v) if (x instanceof Obj) trees.push([k, x]); // --no-duplicate-keys style
    }
    // a pcapng Custom Block is shown as a frame, but it is not a packet: netsig does not count it
    if (frame.get("frame.cb_pen") !== undefined) continue;
    out.push({ number: out.length + 1, frameNumber: Number(frame.str("frame.number")), frame, layers: trees });
  }
  return out;
}

/** Is tshark there? (The differential test is skipped, loudly, without it.) */
export function tsharkVersion(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile("tshark", ["--version"], { encoding: "utf8" }, (err, stdout) => resolve(err ? null : stdout.split("\n")[0]));
  });
}
