// Webhook options of `replay` and `run`: parsed into WebhookOutputs. The
// --webhook-* options apply to every --webhook given; a --webhook given as an
// object (JSON, or a mapping in --config) has its own. Secrets come from an
// environment variable or a file, never from the command line, and are never
// printed. Bad options are UsageErrors (one line, exit 2).

import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../types/errors";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../outputs/formats";
import { podContext } from "./podinfo";
import { WebhookOutput } from "../outputs/webhook";
import { addSecret, log } from "./log";
import { FileTooLargeError, formatBytes, readBounded, SECRET_FILE_MAX_BYTES } from "../bounded";

export const WEBHOOK_USAGE = `
webhook options (findings of --signatures and --rules, POSTed in batches; at-least-once, spooled on disk):
  --webhook URL              http(s) receiver, repeatable; or a JSON object with a "url" and its own
                             options, which win over the ones below for it: '{"url":"https://siem/hook",
                             "format":"ecs","token-env":"SIEM_TOKEN","min-severity":3}' (keys: the
                             options below without "webhook-"); in --config, a mapping
  --webhook-format F         tracee (default), falcosidekick, splunk-hec or ecs (Elasticsearch _bulk)
  --webhook-header 'K: V'    extra header, repeatable
  --webhook-token-env NAME   bearer token from an environment variable (Splunk token for splunk-hec)
  --webhook-token-file F     ... or from a file
  --webhook-hmac-key-env NAME / --webhook-hmac-key-file F
                             sign each body: X-Netsig-Signature: sha256=<HMAC-SHA256 hex>
  --webhook-ca F             trust this CA (PEM) for https
  --webhook-cert F --webhook-key F   client certificate and key (PEM), mutual TLS
  --webhook-batch N          findings per request (default 100)
  --webhook-batch-age MS     send a partial batch once its oldest finding waited this long (default 1000)
  --webhook-timeout MS       per request (default 10000)
  --webhook-wait SECONDS     at the end, wait this long for delivery (default 30); the rest stays spooled
  --spool-dir D              spool folder (default ./netsig-spool), one subfolder per webhook
  --spool-max-bytes N        undelivered bytes per webhook before new findings are dropped (default 256 MiB;
                             the oldest are kept). A spool left by a webhook no longer given is named at
                             start-up: deliver it with netsig spool deliver DIR --webhook URL
  --min-severity N           send findings of Severity N (0-4) and above only
  --quiet-findings           do not print findings on standard output (--output-file still gets them)`;

export const WEBHOOK_OPTIONS = {
  webhook: { type: "string", multiple: true },
  "webhook-format": { type: "string" },
  "webhook-header": { type: "string", multiple: true },
  "webhook-token-env": { type: "string" },
  "webhook-token-file": { type: "string" },
  "webhook-hmac-key-env": { type: "string" },
  "webhook-hmac-key-file": { type: "string" },
  "webhook-ca": { type: "string" },
  "webhook-cert": { type: "string" },
  "webhook-key": { type: "string" },
  "webhook-batch": { type: "string" },
  "webhook-batch-age": { type: "string" },
  "webhook-timeout": { type: "string" },
  "webhook-wait": { type: "string" },
  "spool-dir": { type: "string" },
  "spool-max-bytes": { type: "string" },
  "min-severity": { type: "string" },
  "quiet-findings": { type: "boolean" },
} as const;

export type WebhookValues = {
  [K in keyof typeof WEBHOOK_OPTIONS]?: (typeof WEBHOOK_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof WEBHOOK_OPTIONS)[K] extends { type: "boolean" }
      ? boolean
      : string;
};

/** a file named by an option (--webhook-ca, --webhook-token-file, ...), read up to SECRET_FILE_MAX_BYTES */
function readFile(option: string, f: string): Buffer {
  try {
    return readBounded(f, SECRET_FILE_MAX_BYTES);
  } catch (e) {
    if (e instanceof FileTooLargeError) {
      const size = e.size !== undefined ? `${formatBytes(e.size)} (${e.size} bytes)` : `larger than ${formatBytes(e.cap)}`;
      throw new UsageError(
        `--${option} ${f}: the file is ${size}, past the ${formatBytes(e.cap)} limit for a key, certificate or token file: give the file that holds only it`,
      );
    }
    throw new UsageError(`cannot read --${option} ${f}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/**
 * What Node's HTTP client refuses in a header value (ERR_INVALID_CHAR): any
 * control character but tab, and anything past U+00FF.
 */
const BAD_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/** the first character a header value may not hold, described without the value (it may be a secret) */
function badHeaderChar(v: string): string | undefined {
  const m = BAD_HEADER_CHAR.exec(v);
  if (!m) return undefined;
  const c = m[0].codePointAt(0)!;
  return `${c < 0x20 || c === 0x7f ? "a control character" : "a character past U+00FF"} (U+${c.toString(16).toUpperCase().padStart(4, "0")}) at character ${m.index + 1}`;
}

function secret(what: string, option: string, env: string | undefined, file: string | undefined, header: boolean): string | undefined {
  if (env !== undefined && file !== undefined)
    throw new UsageError(`give the ${what} by environment variable or by file, not both: --${option}-env or --${option}-file`);
  let v: string | undefined;
  let from = "";
  if (env !== undefined) {
    v = process.env[env];
    if (!v) throw new UsageError(`--${option}-env: the ${what} environment variable ${env} is not set or empty`);
    from = `--${option}-env ${env}`;
  }
  if (file !== undefined) {
    v = readFile(`${option}-file`, file).toString("utf8").trim();
    if (!v) throw new UsageError(`--${option}-file ${file}: the ${what} file is empty`);
    from = `--${option}-file ${file}`;
  }
  // the token goes in a header: a character HTTP forbids there is refused now, not at the first POST
  const bad = v !== undefined && header ? badHeaderChar(v) : undefined;
  if (bad)
    throw new UsageError(`${from}: the ${what} holds ${bad}, which an HTTP header cannot carry; write the ${what} alone on one line`);
  return v;
}

export function int(name: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${v}"`);
  return n;
}

export interface Webhooks {
  outputs: WebhookOutput[];
  waitMs: number;
}

/** keys of a webhook given as an object (--webhook '{"url":...}', or a mapping in --config) */
export const PER_WEBHOOK: Record<string, keyof WebhookValues> = {
  format: "webhook-format",
  header: "webhook-header",
  "token-env": "webhook-token-env",
  "token-file": "webhook-token-file",
  "hmac-key-env": "webhook-hmac-key-env",
  "hmac-key-file": "webhook-hmac-key-file",
  ca: "webhook-ca",
  cert: "webhook-cert",
  key: "webhook-key",
  batch: "webhook-batch",
  "batch-age": "webhook-batch-age",
  timeout: "webhook-timeout",
  "min-severity": "min-severity",
  "spool-max-bytes": "spool-max-bytes",
};

/**
 * One --webhook: a URL (the --webhook-* options apply), or an object with a
 * "url" and its own options, which win over the --webhook-* ones for it.
 */
function webhookValues(raw: string, v: WebhookValues): { url: string; values: WebhookValues } {
  if (!raw.trimStart().startsWith("{")) return { url: raw, values: v };
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    throw new UsageError(`--webhook: an object must be JSON, e.g. '{"url":"https://siem/hook","format":"ecs","min-severity":3}'`);
  }
  if (o === null || typeof o !== "object" || Array.isArray(o) || typeof (o as { url?: unknown }).url !== "string") {
    throw new UsageError(`--webhook: an object needs a "url"`);
  }
  const values: Record<string, unknown> = { ...v };
  for (const [k, val] of Object.entries(o as Record<string, unknown>)) {
    if (k === "url") continue;
    const opt = PER_WEBHOOK[k];
    if (opt === undefined)
      throw new UsageError(
        `--webhook ${String((o as { url: string }).url).replace(/[?#].*/, "")}: unknown key "${k}" (use: url, ${Object.keys(PER_WEBHOOK).join(", ")})`,
      );
    const list = Array.isArray(val) ? val : [val];
    if (list.some((x) => typeof x !== "string" && typeof x !== "number"))
      throw new UsageError(`--webhook: "${k}" must be a string or a number`);
    values[opt] = opt === "webhook-header" ? list.map(String) : String(list[0]);
  }
  return { url: (o as { url: string }).url, values: values as WebhookValues };
}

/** a webhook's settings from its option values */
function webhookSettings(v: WebhookValues) {
  const format = (v["webhook-format"] ?? "tracee") as WebhookFormat;
  if (!WEBHOOK_FORMATS.includes(format)) throw new UsageError(`unknown --webhook-format "${format}": use ${WEBHOOK_FORMATS.join(", ")}`);
  const headers = (v["webhook-header"] ?? []).map((h): [string, string] => {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(h);
    if (!m || /[\r\n]/.test(m[2])) throw new UsageError(`--webhook-header must be "Name: value", not "${h.split(":")[0]}..."`);
    const bad = badHeaderChar(m[2]);
    if (bad) throw new UsageError(`--webhook-header "${m[1]}: ...": the value holds ${bad}, which an HTTP header cannot carry`);
    return [m[1], m[2]];
  });
  const token = secret("token", "webhook-token", v["webhook-token-env"], v["webhook-token-file"], true);
  const hmacKey = secret("HMAC key", "webhook-hmac-key", v["webhook-hmac-key-env"], v["webhook-hmac-key-file"], false);
  addSecret(token);
  addSecret(hmacKey);
  if ((v["webhook-cert"] === undefined) !== (v["webhook-key"] === undefined))
    throw new UsageError("--webhook-cert and --webhook-key go together");
  const ca = v["webhook-ca"] !== undefined ? readFile("webhook-ca", v["webhook-ca"]) : undefined;
  const cert = v["webhook-cert"] !== undefined ? readFile("webhook-cert", v["webhook-cert"]) : undefined;
  const key = v["webhook-key"] !== undefined ? readFile("webhook-key", v["webhook-key"]) : undefined;
  return {
    format,
    headers,
    token,
    hmacKey,
    ca,
    cert,
    key,
    minSeverity: int("min-severity", v["min-severity"], 0, 0, 4),
    spoolMaxBytes: int("spool-max-bytes", v["spool-max-bytes"], 256 * 1024 * 1024, 1024),
    batchSize: int("webhook-batch", v["webhook-batch"], 100, 1, 100_000),
    batchAgeMs: int("webhook-batch-age", v["webhook-batch-age"], 1000, 0),
    timeoutMs: int("webhook-timeout", v["webhook-timeout"], 10_000, 1),
    log: (m: string) => log(m, "warn"),
    pod: podContext,
  };
}

/** what a spool errno means, for the one-line error */
const ERRNO_WORDS: Record<string, string> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "not permitted",
  ENOSPC: "the disk is full",
  ENOTDIR: "a file is in the way",
  EEXIST: "a file is in the way",
  EIO: "an I/O error",
  ELOOP: "a symbolic link loop",
};

/** undefined when no --webhook is given (the other webhook options are then refused); `spool`: use this folder as the one webhook's spool (netsig spool deliver) */
export function webhooksFrom(v: WebhookValues, withSignatures: boolean, o: { spool?: string } = {}): Webhooks | undefined {
  const urls = v.webhook ?? [];
  if (urls.length === 0) {
    const stray = Object.keys(WEBHOOK_OPTIONS).find((k) => k !== "quiet-findings" && v[k as keyof WebhookValues] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --webhook`);
    return undefined;
  }
  if (!withSignatures)
    throw new UsageError("--webhook sends findings: give --signatures DIR or --rules DIR (--rules @shipped: the shipped pack) too");
  const spoolDir = v["spool-dir"] ?? "netsig-spool";
  const waitMs = int("webhook-wait", v["webhook-wait"], 30, 0) * 1000;
  const seen = new Set<string>();
  const outputs = urls.map((one) => {
    const { url: raw, values } = webhookValues(one, v);
    const settings = webhookSettings(values);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UsageError(`--webhook: not a URL: "${raw.replace(/[?#].*/, "")}"`);
    }
    addSecret(url.password);
    try {
      addSecret(decodeURIComponent(url.password));
    } catch {
      /* not percent-decodable: the raw form is registered */
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new UsageError(`--webhook: use an http:// or https:// URL, not ${url.protocol}`);
    // one spool per receiver and format: a restart finds its own backlog
    const id = spoolId(settings.format, url.href);
    if (seen.has(id)) throw new UsageError(`--webhook ${url.host}${url.pathname} given twice`);
    seen.add(id);
    return { url: url.href, spoolDir: o.spool ?? join(spoolDir, id), ...settings };
  });
  if (o.spool !== undefined && outputs.length !== 1)
    throw new UsageError("netsig spool deliver sends one spool to one --webhook: give it once");
  const made: WebhookOutput[] = [];
  for (const out of outputs) {
    try {
      made.push(new WebhookOutput(out));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const words = code && ERRNO_WORDS[code] ? ` (${ERRNO_WORDS[code]})` : "";
      const what = o.spool !== undefined ? `cannot use the spool ${o.spool}` : `cannot use --spool-dir ${spoolDir}`;
      throw new UsageError(`${what}: ${out.spoolDir} cannot be written: ${code ?? (e as Error).message}${words}; give a writable folder`);
    }
  }
  if (o.spool === undefined) {
    const orphans = orphanSpools(spoolDir, seen);
    if (orphans) log(orphans, "warn");
  }
  return { outputs: made, waitMs };
}

/** a webhook's spool folder name under --spool-dir */
export function spoolId(format: string, href: string): string {
  return createHash("sha256")
    .update(format + " " + href)
    .digest("hex")
    .slice(0, 16);
}

/** one line naming the spools under `dir` that hold findings for no webhook given now (left by an earlier URL or format); "" when none */
export function orphanSpools(dir: string, ids: Set<string>): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return "";
  }
  const found: string[] = [];
  let first = "";
  let firstSub = "";
  for (const name of names.sort()) {
    if (!/^[0-9a-f]{16}$/.test(name) || ids.has(name)) continue;
    const sub = join(dir, name);
    let bytes = 0;
    try {
      for (const f of readdirSync(sub)) if (/^seg-\d{16}\.jsonl$/.test(f)) bytes += statSync(join(sub, f)).size;
      bytes -= (JSON.parse(readBounded(join(sub, "offset.json"), 4096).toString("utf8")) as { offset?: number }).offset ?? 0;
    } catch {
      /* no offset yet, or not a spool */
    }
    if (bytes <= 0) continue;
    let who = "a webhook not recorded";
    try {
      const w = JSON.parse(readBounded(join(sub, "webhook.json"), 4096).toString("utf8")) as { url?: string; format?: string };
      if (typeof w.url === "string") who = `${w.url}, ${w.format ?? "tracee"}`;
      if (!first && typeof w.url === "string")
        first = ` --webhook ${w.url}${w.format && w.format !== "tracee" ? ` --webhook-format ${w.format}` : ""}`;
    } catch {
      /* an older spool */
    }
    found.push(`${sub} (${who}; about ${bytes} bytes)`);
    firstSub ||= sub;
  }
  if (found.length === 0) return "";
  const example = found.length === 1 ? firstSub : "DIR";
  return (
    `netsig: --spool-dir ${dir} holds undelivered findings of ${found.length} webhook(s) not given now: ${found.join(", ")}; ` +
    `they are kept, not sent: deliver with netsig spool deliver ${example}${found.length === 1 && first ? first : " --webhook URL"} (or give that webhook again)`
  );
}

/** at the end of a run: wait (bounded) for delivery; one line per webhook with findings left over */
export async function closeWebhooks(w: Webhooks, quiet: boolean): Promise<void> {
  const left = await Promise.all(w.outputs.map((o) => o.close(w.waitMs)));
  w.outputs.forEach((o, i) => {
    const c = o.counters;
    const bound = c.spoolDropped - c.spoolDroppedDisk;
    const line =
      `netsig: webhook ${o.name}: ${c.sent} findings sent in ${c.requests} requests, ${c.retried} retried, ${c.rejected} rejected, ${bound} dropped (spool full), ${c.filtered} below --min-severity` +
      (c.spoolDroppedDisk ? `, ${c.spoolDroppedDisk} dropped (disk full or not writable)` : "") +
      (c.damaged ? `, ${c.damaged} damaged in the spool (not sent, quarantined in ${o.spool.quarantinePath})` : "") +
      (c.late ? `, ${c.late} answered late` : "") +
      (c.responsesCut ? `, ${c.responsesCut} answers cut` : "");
    if (!quiet) log(line, "info", { webhook: o.name, ...c });
    // named whatever --quiet says: the cause of duplicates and the fix
    if (c.late)
      log(
        `netsig: webhook ${o.name}: answered after the --webhook-timeout (${o.timeoutMs} ms) ${c.late} times: raise --webhook-timeout`,
        "warn",
        { webhook: o.name, late: c.late },
      );
    if (!left[i])
      log(`netsig: webhook ${o.name}: not delivered yet, kept in ${o.spool.dir} (${c.spoolBytes} bytes) for the next run`, "warn", {
        webhook: o.name,
        spoolBytes: c.spoolBytes,
      });
  });
}
