// The order of the signature engine's batches: a batch is cut at the same
// packet in both backends (send), run, and its results handed on after
// those of the batches before it (the tail chain), the sandbox's with the
// in-process rules' over the same packets. While the loaded set changes
// (exclusive), the batches cut meanwhile are held, then sent in order: every
// other unit sees every event, and the changed one sees a clean cut.

import type { Packet } from "../decode/packet";
import type { Backend, Cut, Outcome } from "../types/backend";

/** a batch's results, in order (`packets`: how many the sandbox was sent) */
export type BatchDone = (sandbox: Outcome, rules: Outcome, last: number, packets: number) => void;

export class Batches {
  /** the last packet added to the batch being built */
  last = -1;
  /** while a unit is added, replaced or removed, batches wait here (then go in order) */
  private held: { sandbox: Cut | null; rules: Cut | null; last: number }[] | null = null;
  /** the order in which results are handed on */
  private tail: Promise<void> = Promise.resolve();
  private exclusiveChain: Promise<void> = Promise.resolve();
  /** drain() and flush(), waiting for answers from the sandbox */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly sandbox: Backend<Packet>,
    private readonly rules: Backend<Packet>,
    private readonly done: BatchDone,
  ) {}

  /** batches held during a reload */
  get holding(): number {
    return this.held?.length ?? 0;
  }

  /** cut a batch at the same packet in both backends, and send it (or hold it during a reload) */
  send(): void {
    const sandbox = this.sandbox.take();
    const rules = this.rules.take();
    if (sandbox === null && rules === null) return;
    const last = this.last;
    if (this.held) {
      this.held.push({ sandbox, rules, last });
      return;
    }
    this.post(sandbox, rules, last);
  }

  /**
   * Send a batch to the sandbox; hand on its results with those of the
   * in-process rules over the same packets, in packet order, after the
   * batches before it.
   */
  private post(sandbox: Cut | null, rules: Cut | null, last: number): void {
    const answer = sandbox === null ? null : sandbox.send();
    const own = rules === null ? null : rules.send();
    this.tail = Promise.all([answer, own, this.tail]).then(([r, h]) => this.done(r, h, last, sandbox === null ? 0 : sandbox.packets));
  }

  /**
   * Run a change of the loaded set alone: batches that arrive meanwhile are
   * held and sent, in order, afterwards, so every other signature sees every
   * event and the changed one sees a clean cut (all events from one batch on).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveChain.then(async () => {
      this.send();
      this.held = [];
      try {
        return await fn();
      } finally {
        const held = this.held;
        this.held = null;
        for (const b of held) this.post(b.sandbox, b.rules, b.last);
      }
    });
    this.exclusiveChain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** wait until fewer than `limit` calls are in flight in the sandbox */
  async below(limit: number): Promise<void> {
    // each answer wakes one waiter: wait again until enough have come back
    while (this.sandbox.inFlight >= limit) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** an answer came: wake one waiter (every: all, nothing more will answer) */
  wake(every: boolean): void {
    if (every) {
      while (this.waiters.length) this.waiters.shift()!();
      return;
    }
    const w = this.waiters.shift();
    if (w) w();
  }

  /** send what is batched and wait for every answer and every result handed on */
  async flush(): Promise<void> {
    await this.exclusiveChain;
    this.send();
    await this.below(1);
    await this.tail;
  }
}
