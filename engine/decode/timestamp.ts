// Capture times as Tracee prints them: nanoseconds since the epoch in a Go
// int (int64). A time the capture puts before 1970 (a negative if_tsoffset)
// prints 0; one after 2262-04-11 (only a damaged pcapng's timestamp or
// if_tsresol gets there) prints 2^63-1. Pure functions: the signature sandbox
// uses them too.

/** the greatest int64 */
const MAX_TIMESTAMP = "9223372036854775807";
const MAX_TS_SEC = 9223372036;
const MAX_TS_NSEC = 854775807;

/** the exact decimal literal of sec * 1e9 + nsec, clamped to int64 */
export function timestampString(sec: number, nsec: number): string {
  if (sec === 0) return String(nsec);
  if (sec > 0 && sec < MAX_TS_SEC) {
    const ns = String(nsec);
    return String(sec) + "000000000".slice(ns.length) + ns;
  }
  if (sec < 0) return "0";
  if (sec === MAX_TS_SEC && nsec <= MAX_TS_NSEC) return String(sec) + String(nsec).padStart(9, "0");
  return MAX_TIMESTAMP;
}

/** the same as a double (exact to ~256 ns) */
export function timestampNumber(sec: number, nsec: number): number {
  if (sec < 0) return 0;
  // (2 ** 63: int64 max, 9223372036854775807, as a double rounds it)
  return sec < MAX_TS_SEC ? sec * 1e9 + nsec : Math.min(sec * 1e9 + nsec, 2 ** 63);
}
