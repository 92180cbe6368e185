// The contract between the flow stage (engine/flows/) and the application parsers it runs
// over a TCP flow's reassembled bytes (decode/http.ts, decode/tls.ts).
//
// The flow stage keeps, per direction of a TCP flow, the bytes not yet
// consumed, in order (bounded: a parser says how much it may hold). Each time
// more bytes arrive it calls the direction's parser with all of them; the
// parser pushes the records it completed (HTTP messages, TLS hellos) to `out`
// and says how many bytes it is done with. A parser keeps what it must
// remember between calls (e.g. the body bytes still to skip) in `dir.state`.

import type { AppRecord } from "./records";

/** what parse() returns besides a count of bytes consumed (>= 0) */
export const NEED_MORE = -1;
/** not this parser's protocol (or broken beyond recovery): the flow stage stops feeding it this direction */
export const NOT_MINE = -2;

/** one direction of a TCP flow, as a parser sees it */
export interface StreamDirection {
  /** the sender's and receiver's addresses and ports (a record's src/dst) */
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** true for the flow's originator's direction (the SYN's sender, or the first packet's) */
  readonly fromClient: boolean;
  /** the parser's own state for this direction (undefined at first) */
  state: unknown;
  /**
   * The flow's other direction (e.g. HTTP: a response to HEAD has no body, so
   * the response side reads the methods its peer's requests left in state)
   */
  readonly peer: StreamDirection | null;
}

export interface AppParser {
  /** a short name (counters, logs) */
  readonly name: string;
  /**
   * Whether the first bytes of a direction look like this protocol (called
   * with at least 1 byte; return NEED_MORE when more are needed to tell)
   */
  detect(b: Uint8Array, off: number, end: number, fromClient: boolean): boolean | typeof NEED_MORE;
  /** the most unconsumed bytes a direction may hold waiting for one message; beyond it the message is cut (counted) */
  readonly maxHold: number;
  /**
   * Parse from `off` to `end` (all the unconsumed bytes of the direction):
   * push each record completed, return the bytes consumed (0..end-off),
   * NEED_MORE (nothing consumed; call again with more) or NOT_MINE.
   * Never throws on bad input.
   */
  parse(b: Uint8Array, off: number, end: number, dir: StreamDirection, out: AppRecord[]): number;
}
