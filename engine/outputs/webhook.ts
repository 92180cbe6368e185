// A webhook output: findings are spooled to disk first (spool.ts), then sent
// in batches (at most batchSize findings, or whatever is queued once the
// oldest has waited batchAgeMs) as HTTP(S) POSTs in the chosen format.
//
// Delivery is at-least-once: a batch is committed in the spool only after a
// 2xx. Network errors, timeouts, 429 and 5xx are retried with exponential
// backoff and full jitter (base * 2^attempt, capped, times a random 0..1),
// or after Retry-After (seconds or an HTTP date) when the receiver says so.
// Any other status (4xx, 3xx) is permanent for that request: its findings are
// counted as rejected, one line is logged, and delivery moves on. When
// delivery works again after failed requests, one line says for how long it
// failed and how many findings were delayed.
//
// The timeout covers the whole exchange: connecting, sending the body, the
// answer's status and its body. The status decides; the answer's body is read
// up to MAX_RESPONSE_BYTES and the connection is cut past that, or when the
// body is still coming at the deadline (counted, logged once). A request
// without an answer at the deadline is not abandoned at once: it may still
// be answered while the retry waits (timeout * 2^attempt with equal jitter,
// capped); a late 2xx then counts as delivered (counted as late, named once,
// and in the summary) and the batch is not sent again. Only when the wait
// ends without an answer is the request cut and the batch sent again (a
// receiver that took it and answers later still gets it twice).
//
// Secrets (the token, the HMAC key) are never logged; URLs are logged
// without user info and query string.

import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { Agent as HttpAgent } from "node:http";
import { requestBodies, severityOf, type PodContext, type WebhookFormat } from "./formats";
import { Spool, type SpoolItem } from "./spool";

export interface WebhookOptions {
  url: string;
  format: WebhookFormat;
  spoolDir: string;
  spoolMaxBytes?: number;
  fsync?: boolean;
  headers?: [string, string][];
  /** sent as `Authorization: Bearer <token>` (`Splunk <token>` for splunk-hec) */
  token?: string;
  /** HMAC-SHA256 over the exact body, in X-Netsig-Signature: sha256=<hex> */
  hmacKey?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  minSeverity?: number;
  batchSize?: number;
  batchAgeMs?: number;
  timeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  log?: (msg: string) => void;
  /** the pod's labels, node ... when a request is made (engine/cli/podinfo.ts) */
  pod?: () => PodContext;
}

export interface WebhookCounters {
  /** findings delivered (2xx) */
  sent: number;
  requests: number;
  /** requests retried */
  retried: number;
  /** findings rejected by the receiver (a permanent 4xx) */
  rejected: number;
  /** findings refused by the spool: its bound and the disk together */
  spoolDropped: number;
  /** ... of which because the disk was full or failed */
  spoolDroppedDisk: number;
  /** damaged spool lines not delivered (quarantined) */
  damaged: number;
  /** 2xx answers that came after the timeout (the batch counted as delivered) */
  late: number;
  /** answers whose body was cut (too large, or still coming at the deadline) */
  responsesCut: number;
  /** findings below --min-severity */
  filtered: number;
  spoolBytes: number;
}

type Outcome = { ok: true } | { ok: false; retry: boolean; after?: number; why: string; timedOut?: boolean };
/** one request: its outcome; `lateMs` once a 2xx came after the timeout; abort() cuts it */
interface Attempt {
  outcome: Promise<Outcome>;
  lateMs: number | null;
  abort(): void;
}

/** the most of an answer's body netsig reads; past it the connection is cut */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** a spooled line is delivered only if it is a finding event as netsig writes it */
export function checkFinding(v: unknown): string | undefined {
  const o = v as { eventName?: unknown; metadata?: { Properties?: { findingID?: unknown } } } | null;
  if (o === null || typeof o !== "object" || Array.isArray(o)) return "not a JSON object";
  if (typeof o.eventName !== "string") return "no eventName";
  if (typeof o.metadata?.Properties?.findingID !== "string") return "no metadata.Properties.findingID";
  return undefined;
}

/** a URL fit for logs: no user info, no query string */
export function safeURL(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Retry-After in ms (delta seconds or an HTTP date), undefined when absent or unreadable */
export function retryAfterMs(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export class WebhookOutput {
  readonly url: URL;
  readonly spool: Spool;
  /** the URL as logged */
  readonly name: string;
  private readonly o: WebhookOptions;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly c = { sent: 0, requests: 0, retried: 0, rejected: 0, filtered: 0, late: 0, responsesCut: 0 };
  private oldestAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private running: Promise<void>;
  private stopping = false;
  private flushing = false;
  private readonly loopErrors = new Set<string>();
  /** failing since (ms), failed requests, the last reason, findings held meanwhile; null while delivery works */
  private outage: { since: number; failures: number; why: string; held: number } | null = null;
  private readonly log: (msg: string) => void;

  constructor(o: WebhookOptions) {
    this.o = o;
    this.url = new URL(o.url);
    const name = (this.name = safeURL(this.url));
    this.log = (m) => (o.log ?? ((s: string) => process.stderr.write(s + "\n")))(`netsig: webhook ${name}: ${m}`);
    this.spool = new Spool({ dir: o.spoolDir, maxBytes: o.spoolMaxBytes, fsync: o.fsync, log: this.log, validate: checkFinding });
    // whose spool this is, for a later run that no longer gives this webhook (no secrets: the URL without user info and query)
    try {
      writeFileSync(join(o.spoolDir, "webhook.json"), JSON.stringify({ url: this.name, format: o.format }) + "\n");
    } catch {
      /* only a hint */
    }
    const tls = this.url.protocol === "https:";
    this.agent = tls ? new HttpsAgent({ keepAlive: true, ca: o.ca, cert: o.cert, key: o.key }) : new HttpAgent({ keepAlive: true });
    // what a previous run left in the spool goes first, at once
    if (!this.spool.empty) this.oldestAt = 1;
    this.running = this.loop();
  }

  /** findings below this Tracee severity are not sent from now on (a configuration reload) */
  get timeoutMs(): number {
    return this.o.timeoutMs ?? 10_000;
  }

  setMinSeverity(n: number): void {
    this.o.minSeverity = n;
  }

  get counters(): WebhookCounters {
    return {
      ...this.c,
      spoolDropped: this.spool.dropped,
      spoolDroppedDisk: this.spool.droppedDisk,
      damaged: this.spool.damaged,
      spoolBytes: this.spool.bytes,
    };
  }

  /** finding event JSON lines; those below the minimum severity are skipped */
  add(lines: string[], severities?: number[]): void {
    const min = this.o.minSeverity ?? 0;
    const keep = min <= 0 ? lines : lines.filter((l, i) => (severities?.[i] ?? severityOf(JSON.parse(l))) >= min);
    this.c.filtered += lines.length - keep.length;
    if (keep.length === 0 || this.stopping) return;
    // a full spool or disk: counted and logged in the spool; the oldest stay
    if (this.spool.append(keep) === 0) return;
    if (this.outage) this.outage.held += keep.length;
    if (this.oldestAt === 0) this.oldestAt = Date.now();
    this.kick();
  }

  /**
   * Deliver what is spooled, waiting at most deadlineMs; then stop. Returns
   * true when the spool is empty (undelivered findings stay in it for the
   * next run).
   */
  async close(deadlineMs: number): Promise<boolean> {
    this.flushing = true;
    this.kick();
    const timeout = new Promise<void>((r) => {
      const t = setTimeout(r, deadlineMs);
      t.unref();
    });
    await Promise.race([this.drained(), timeout]);
    this.stopping = true;
    this.kick();
    await Promise.race([this.running, new Promise<void>((r) => setTimeout(r, 1000).unref())]);
    this.agent.destroy();
    this.spool.close();
    return this.spool.empty;
  }

  private async drained(): Promise<void> {
    while (!this.spool.empty && !this.stopping) await sleep(20);
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private idle(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = r;
      this.timer = setTimeout(() => {
        this.wake = null;
        r();
      }, ms);
      this.timer.unref();
    }).then(() => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    });
  }

  private async loop(): Promise<void> {
    const size = this.o.batchSize ?? 100;
    const age = this.o.batchAgeMs ?? 1000;
    while (!this.stopping) {
      try {
        const items = this.spool.read(size);
        if (items.length === 0) {
          this.oldestAt = 0;
          await this.idle(60_000);
          continue;
        }
        const waited = this.oldestAt === 0 ? age : Date.now() - this.oldestAt;
        if (items.length < size && waited < age && !this.flushing) {
          await this.idle(age - waited);
          continue;
        }
        await this.deliver(items);
        if (this.spool.empty) this.oldestAt = 0;
      } catch (e) {
        // never an unhandled rejection (a spool read error: EIO, a file removed under it): said once per kind, tried again
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        if (!this.loopErrors.has(why))
          this.log(`delivery stopped by an error (${why}); trying again every second, the findings stay spooled`);
        this.loopErrors.add(why);
        await this.sleepUnlessStopping(1000);
      }
    }
  }

  /**
   * Send one batch (falcosidekick: one request per finding), then commit it
   * in the spool (one offset write per batch; when stopping halfway, up to
   * the last request settled).
   */
  private async deliver(items: SpoolItem[]): Promise<void> {
    const perRequest = this.o.format === "falcosidekick" ? 1 : items.length;
    let settled: SpoolItem | undefined;
    for (let i = 0; i < items.length && !this.stopping; i += perRequest) {
      const chunk = items.slice(i, i + perRequest);
      const [req] = requestBodies(
        this.o.format,
        chunk.map((it) => it.line),
        this.o.pod?.(),
      );
      if (!(await this.sendWithRetry(req.body, req.contentType, chunk.length))) break; // stopping: the rest stays spooled
      settled = chunk[chunk.length - 1];
    }
    if (settled) this.spool.commit(settled.next);
  }

  /** true once the request is settled (2xx or permanent failure); false when stopping first */
  private async sendWithRetry(body: string, contentType: string, count: number): Promise<boolean> {
    const base = this.o.retryBaseMs ?? 500;
    const max = this.o.retryMaxMs ?? 30_000;
    const timeout = this.o.timeoutMs ?? 10_000;
    for (let attempt = 0; !this.stopping; attempt++) {
      const a = this.post(body, contentType);
      const r = await a.outcome;
      this.c.requests++;
      if (r.ok) {
        this.c.sent += count;
        if (this.outage) this.recovered(this.outage);
        return true;
      }
      if (!r.retry) {
        this.c.rejected += count;
        this.log(`${r.why}: ${count} finding(s) rejected, not retried`);
        return true;
      }
      if (r.timedOut) {
        // no answer yet: it may still come while the retry waits
        const wait = r.after ?? Math.min(Math.max(max, timeout), timeout * 2 ** Math.min(attempt, 20)) * (0.5 + Math.random() / 2);
        await this.sleepUnlessStopping(wait, () => a.lateMs !== null);
        a.abort();
        if (a.lateMs !== null) {
          this.c.late++;
          this.c.sent += count;
          if (this.c.late === 1)
            this.log(
              `answered after the --webhook-timeout (${timeout} ms), in ${a.lateMs} ms: the batch counts as delivered (later ones are counted); raise --webhook-timeout`,
            );
          if (this.outage) this.recovered(this.outage);
          return true;
        }
        if (this.stopping) break;
      }
      this.failed(r.why, count);
      const wait = r.timedOut ? 0 : (r.after ?? Math.random() * Math.min(max, base * 2 ** Math.min(attempt, 30)));
      if (attempt === 0 || attempt % 10 === 0) {
        this.log(
          `${r.why}; retrying ${wait ? `in ${(wait / 1000).toFixed(1)} s` : "now"} (attempt ${attempt + 1}; ${this.spool.bytes} bytes waiting in the spool)`,
        );
      }
      await this.sleepUnlessStopping(wait);
    }
    return false;
  }

  private failed(why: string, count: number): void {
    this.c.retried++;
    // (an outage: what it held back is said once delivery works again)
    if (!this.outage) this.outage = { since: Date.now(), failures: 0, why, held: count };
    this.outage.failures++;
    this.outage.why = why;
  }

  /** one line when delivery works again after failures: for how long, and what waited */
  private recovered(o: NonNullable<WebhookOutput["outage"]>): void {
    this.outage = null;
    this.log(
      `delivering again after ${((Date.now() - o.since) / 1000).toFixed(1)} s of failures (${o.failures} failed request(s), the last: ${o.why}); ` +
        `${o.held} finding(s) were delayed in the spool meanwhile`,
    );
  }

  private async sleepUnlessStopping(ms: number, until?: () => boolean): Promise<void> {
    const end = Date.now() + ms;
    while (!this.stopping && Date.now() < end && !until?.()) await sleep(Math.min(50, end - Date.now()));
  }

  private headers(body: string, contentType: string): Record<string, string> {
    const h: Record<string, string> = {
      "Content-Type": contentType,
      "Content-Length": String(Buffer.byteLength(body)),
      "User-Agent": "netsig",
    };
    for (const [k, v] of this.o.headers ?? []) h[k] = v;
    if (this.o.token !== undefined) h.Authorization = `${this.o.format === "splunk-hec" ? "Splunk" : "Bearer"} ${this.o.token}`;
    if (this.o.hmacKey !== undefined) h["X-Netsig-Signature"] = "sha256=" + createHmac("sha256", this.o.hmacKey).update(body).digest("hex");
    return h;
  }

  /**
   * One POST under one deadline for the whole exchange. The status decides
   * the outcome; the body is read up to MAX_RESPONSE_BYTES (then, or when it
   * is still coming at the deadline, the connection is cut). Without an
   * answer at the deadline the outcome is a timeout, but the request stays
   * open until abort(): a late 2xx sets lateMs.
   */
  private post(body: string, contentType: string): Attempt {
    const u = this.url;
    const timeout = this.o.timeoutMs ?? 10_000;
    const started = Date.now();
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, {
      method: "POST",
      agent: this.agent,
      headers: this.headers(body, contentType),
    });
    let settle!: (o: Outcome) => void;
    const attempt: Attempt = {
      outcome: new Promise<Outcome>((r) => {
        settle = r;
      }),
      lateMs: null,
      abort: () => {
        clearTimeout(timer);
        req.destroy();
      },
    };
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        settle(o);
      }
    };
    let finish: ((cut: string | null) => void) | null = null;
    const timer = setTimeout(() => {
      if (finish) return finish(`still coming after ${timeout} ms`);
      settled = true;
      settle({ ok: false, retry: true, timedOut: true, why: `no answer within ${timeout} ms` });
    }, timeout);
    timer.unref();
    req.on("error", (e: NodeJS.ErrnoException) => done({ ok: false, retry: true, why: e.code ?? e.message }));
    req.on("response", (res: IncomingMessage) => {
      const s = res.statusCode ?? 0;
      res.on("error", () => undefined);
      if (settled) {
        // an answer after the deadline: a 2xx means the batch was taken
        if (s >= 200 && s < 300) attempt.lateMs = Date.now() - started;
        req.destroy();
        return;
      }
      let n = 0;
      finish = (cut) => {
        if (settled) return;
        if (cut) {
          this.c.responsesCut++;
          if (this.c.responsesCut === 1)
            this.log(
              `the answer's body was cut (${cut}; netsig reads at most ${MAX_RESPONSE_BYTES} bytes within --webhook-timeout); the status (${s}) counts; later cuts are counted`,
            );
          req.destroy();
        }
        if (s >= 200 && s < 300) return done({ ok: true });
        const retry = s === 429 || s >= 500;
        const h = res.headers["retry-after"];
        done({ ok: false, retry, after: retry ? retryAfterMs(Array.isArray(h) ? h[0] : h) : undefined, why: `HTTP ${s}` });
      };
      res.on("data", (c: Buffer) => {
        n += c.length;
        if (n > MAX_RESPONSE_BYTES) finish!(`larger than ${MAX_RESPONSE_BYTES} bytes`);
      });
      res.on("end", () => finish!(null));
      res.on("aborted", () => finish!("the connection closed before its end"));
    });
    req.end(body);
    return attempt;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
