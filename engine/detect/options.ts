// The signature engine's options and their defaults.

export interface EngineOptions {
  hostName: string;
  sandboxed?: boolean;
  /** when netsig runs as root, the user the sandbox process runs as (default nobody) */
  user?: string;
  /** longest one call into a signature may run (ms) */
  timeoutMs?: number;
  /** longest the worker may go without answering (ms) */
  watchdogMs?: number;
  /** heap limit of the sandbox worker (MB) */
  memoryMb?: number;
  maxErrors?: number;
  errorWindowMs?: number;
  /** packets per batch */
  batchSize?: number;
  /** batches in flight before push() asks the caller to wait (drain) */
  maxInFlight?: number;
  /**
   * batches queued before packets are shed (live capture cannot wait: when the
   * signatures fall this far behind, packets skip them, counted and logged,
   * rather than memory growing without bound)
   */
  maxQueued?: number;
  log?: (line: string, level?: "debug" | "info" | "warn" | "error") => void;
}

/** the options with their defaults (one object: the sandbox reads `user` from it when it starts a process) */
export function withDefaults(opts: EngineOptions): Required<EngineOptions> {
  return {
    sandboxed: true,
    user: "nobody",
    timeoutMs: 1000,
    watchdogMs: 10_000,
    memoryMb: 256,
    maxErrors: 100,
    errorWindowMs: 10_000,
    // (8192 packets a batch: a sandbox call, its watchdog thread and two message
    // hops cost ~0.5 ms, a tenth of a 1024-packet batch's time, and 8192 took
    // ~5% less of the sandbox's time than 4096; live capture sends what it has
    // every 100 ms anyway. 32 queued batches: 256k packets.)
    batchSize: 8192,
    maxInFlight: 4,
    maxQueued: 32,
    log: (l) => process.stderr.write(l + "\n"),
    ...opts,
  } as Required<EngineOptions>;
}
