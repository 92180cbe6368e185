// Every try/catch of the sandbox realm, in a script of its own.
//
// vm2 rewrites a script's catch clauses (and with statements, imports and
// async code) before it runs, which takes parsing it with acorn: ~80 ms for
// the realm's bundle in a new sandbox worker (acorn is not compiled yet), of
// a ~0.2 s start. A script with none of the words catch, import, async and
// with runs as it is. So the realm is two scripts (bundle.ts): this small one,
// which vm2 rewrites, and the rest, which must keep clear of those words
// (test/bundle.test.ts asserts it): texts with those words, like notAModule's
// message, and the rule code generator's new Function (makeFunction) are here.
//
// Runs inside the sandbox realm: no Node.js API.

import type { Signature } from "../sdk/index";
import type { TraceeEvent } from "../types/events";

export function messageOf(e: unknown): string {
  try {
    if (e !== null && typeof e === "object" && "message" in e) return String((e as Error).message);
    return String(e);
  } catch {
    return "(an exception that cannot be printed)";
  }
}

export function stackOf(e: unknown): string {
  try {
    return e !== null && typeof e === "object" && typeof (e as Error).stack === "string" ? ((e as Error).stack as string) : "";
  } catch {
    return "";
  }
}

export function safeJSON(v: unknown): string {
  try {
    return JSON.stringify(v) ?? "null";
  } catch (e) {
    return JSON.stringify({ unserializable: messageOf(e) });
  }
}

/** run `fn`; what it threw (wrapped, so that a thrown undefined is told apart), or null */
export function attempt(fn: () => void): { error: unknown } | null {
  try {
    fn();
    return null;
  } catch (error) {
    return { error };
  }
}

/** new Function(...params, body), or null where code generation is off (the sandbox realm) or the code does not compile */
// biome-ignore lint/suspicious/noExplicitAny: callers give the function their own parameter types
export function makeFunction(params: string[], body: string): ((...args: any[]) => unknown) | null {
  try {
    return new Function(...params, body) as (...args: unknown[]) => unknown;
  } catch {
    return null;
  }
}

/** the error a signature's require() of any other module throws */
export function notAModule(name: string): Error {
  return new Error(`signatures can import only "netsig" and "netsig/helpers", not "${name}"`);
}

/** the realm's place in the chunk being delivered (realm.ts: Realm) */
export interface DeliveryCursor {
  /** the next event to deliver (of the signature's type, or of the chunk) */
  cursorEvent: number;
  /** the place in the chunk of the event being delivered */
  delivering: number;
  /** an onEvent threw */
  failed(e: unknown): void;
}

/**
 * Deliver to `sig` the chunk's events of its one event type: `list[0..m)` are
 * their places in `events`. Carries on after a throw (counted by failed()).
 */
export function deliverKind(c: DeliveryCursor, sig: Signature, events: TraceeEvent[], list: Int32Array, m: number): void {
  for (; c.cursorEvent < m; c.cursorEvent++) {
    const i = (c.delivering = list[c.cursorEvent]);
    try {
      sig.onEvent(events[i]);
    } catch (e) {
      c.failed(e);
    }
  }
}

/**
 * Deliver to `sig` the chunk's events of the types in `mask` (`kinds[i]`: the
 * type of the i-th of `n`), the second instance (`copies`) of those in `copyKinds`.
 */
export function deliverMixed(
  c: DeliveryCursor,
  sig: Signature,
  events: TraceeEvent[],
  copies: TraceeEvent[],
  kinds: Int32Array,
  n: number,
  mask: number,
  copyKinds: number,
): void {
  for (; c.cursorEvent < n; c.cursorEvent++) {
    const bit = 1 << kinds[c.cursorEvent];
    if (!(mask & bit)) continue;
    c.delivering = c.cursorEvent;
    try {
      sig.onEvent(copyKinds & bit ? copies[c.cursorEvent] : events[c.cursorEvent]);
    } catch (e) {
      c.failed(e);
    }
  }
}
