// Webhook options of `replay` and `run`: parsed into WebhookOutputs. The
// --webhook-* options apply to every --webhook given; a --webhook given as an
// object (JSON, or a mapping in --config) has its own. Secrets come from an
// environment variable or a file, never from the command line, and are never
// printed. Bad options are UsageErrors (one line, exit 2).

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../events/filter";
import { WEBHOOK_FORMATS, type WebhookFormat } from "../outputs/formats";
import { podContext } from "./podinfo";
import { WebhookOutput } from "../outputs/webhook";
import { addSecret, log } from "./log";

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
  --spool-max-bytes N        undelivered bytes per webhook before new findings are dropped (default 256 MiB)
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

export type WebhookValues = { [K in keyof typeof WEBHOOK_OPTIONS]?: (typeof WEBHOOK_OPTIONS)[K] extends { multiple: true } ? string[] : (typeof WEBHOOK_OPTIONS)[K] extends { type: "boolean" } ? boolean : string };

function readFile(what: string, f: string): Buffer {
  try { return readFileSync(f); } catch (e) { throw new UsageError(`cannot read ${what} ${f}: ${(e as NodeJS.ErrnoException).code ?? "error"}`); }
}

function secret(what: string, env: string | undefined, file: string | undefined): string | undefined {
  if (env !== undefined && file !== undefined) throw new UsageError(`give the ${what} by environment variable or by file, not both`);
  if (env !== undefined) {
    const v = process.env[env];
    if (!v) throw new UsageError(`the ${what} environment variable ${env} is not set or empty`);
    return v;
  }
  if (file !== undefined) {
    const v = readFile(what + " file", file).toString("utf8").trim();
    if (!v) throw new UsageError(`the ${what} file ${file} is empty`);
    return v;
  }
  return undefined;
}

export function int(name: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${v}"`);
  return n;
}

export interface Webhooks {
  outputs: WebhookOutput[];
  waitMs: number;
}

/** keys of a webhook given as an object (--webhook '{"url":...}', or a mapping in --config) */
const PER_WEBHOOK: Record<string, keyof WebhookValues> = {
  format: "webhook-format", header: "webhook-header", "token-env": "webhook-token-env", "token-file": "webhook-token-file",
  "hmac-key-env": "webhook-hmac-key-env", "hmac-key-file": "webhook-hmac-key-file", ca: "webhook-ca", cert: "webhook-cert",
  key: "webhook-key", batch: "webhook-batch", "batch-age": "webhook-batch-age", timeout: "webhook-timeout",
  "min-severity": "min-severity", "spool-max-bytes": "spool-max-bytes",
};

/**
 * One --webhook: a URL (the --webhook-* options apply), or an object with a
 * "url" and its own options, which win over the --webhook-* ones for it.
 */
function webhookValues(raw: string, v: WebhookValues): { url: string; values: WebhookValues } {
  if (!raw.trimStart().startsWith("{")) return { url: raw, values: v };
  let o: unknown;
  try { o = JSON.parse(raw); } catch { throw new UsageError(`--webhook: an object must be JSON, e.g. '{"url":"https://siem/hook","format":"ecs","min-severity":3}'`); }
  if (o === null || typeof o !== "object" || Array.isArray(o) || typeof (o as { url?: unknown }).url !== "string") {
    throw new UsageError(`--webhook: an object needs a "url"`);
  }
  const values: Record<string, unknown> = { ...v };
  for (const [k, val] of Object.entries(o as Record<string, unknown>)) {
    if (k === "url") continue;
    const opt = PER_WEBHOOK[k];
    if (opt === undefined) throw new UsageError(`--webhook ${String((o as { url: string }).url).replace(/[?#].*/, "")}: unknown key "${k}" (use: url, ${Object.keys(PER_WEBHOOK).join(", ")})`);
    const list = Array.isArray(val) ? val : [val];
    if (list.some((x) => typeof x !== "string" && typeof x !== "number")) throw new UsageError(`--webhook: "${k}" must be a string or a number`);
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
    return [m[1], m[2]];
  });
  const token = secret("token", v["webhook-token-env"], v["webhook-token-file"]);
  const hmacKey = secret("HMAC key", v["webhook-hmac-key-env"], v["webhook-hmac-key-file"]);
  addSecret(token);
  addSecret(hmacKey);
  if ((v["webhook-cert"] === undefined) !== (v["webhook-key"] === undefined)) throw new UsageError("--webhook-cert and --webhook-key go together");
  const ca = v["webhook-ca"] !== undefined ? readFile("CA file", v["webhook-ca"]) : undefined;
  const cert = v["webhook-cert"] !== undefined ? readFile("certificate file", v["webhook-cert"]) : undefined;
  const key = v["webhook-key"] !== undefined ? readFile("key file", v["webhook-key"]) : undefined;
  return {
    format, headers, token, hmacKey, ca, cert, key,
    minSeverity: int("min-severity", v["min-severity"], 0, 0, 4),
    spoolMaxBytes: int("spool-max-bytes", v["spool-max-bytes"], 256 * 1024 * 1024, 1024),
    batchSize: int("webhook-batch", v["webhook-batch"], 100, 1, 100_000),
    batchAgeMs: int("webhook-batch-age", v["webhook-batch-age"], 1000, 0),
    timeoutMs: int("webhook-timeout", v["webhook-timeout"], 10_000, 1),
    log: (m: string) => log(m, "warn"),
    pod: podContext,
  };
}

/** undefined when no --webhook is given (the other webhook options are then refused) */
export function webhooksFrom(v: WebhookValues, withSignatures: boolean): Webhooks | undefined {
  const urls = v.webhook ?? [];
  if (urls.length === 0) {
    const stray = Object.keys(WEBHOOK_OPTIONS).find((k) => k !== "quiet-findings" && v[k as keyof WebhookValues] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --webhook`);
    return undefined;
  }
  if (!withSignatures) throw new UsageError("--webhook sends findings: give --signatures DIR or --rules DIR (--rules @shipped: the shipped pack) too");
  const spoolDir = v["spool-dir"] ?? "netsig-spool";
  const waitMs = int("webhook-wait", v["webhook-wait"], 30, 0) * 1000;
  const seen = new Set<string>();
  const outputs = urls.map((one) => {
    const { url: raw, values } = webhookValues(one, v);
    const settings = webhookSettings(values);
    let url: URL;
    try { url = new URL(raw); } catch { throw new UsageError(`--webhook: not a URL: "${raw.replace(/[?#].*/, "")}"`); }
    addSecret(url.password);
    try { addSecret(decodeURIComponent(url.password)); } catch { /* not percent-decodable: the raw form is registered */ }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--webhook: use an http:// or https:// URL, not ${url.protocol}`);
    // one spool per receiver and format: a restart finds its own backlog
    const id = createHash("sha256").update(settings.format + " " + url.href).digest("hex").slice(0, 16);
    if (seen.has(id)) throw new UsageError(`--webhook ${url.host}${url.pathname} given twice`);
    seen.add(id);
    return { url: url.href, spoolDir: join(spoolDir, id), ...settings };
  });
  let made: WebhookOutput[];
  try {
    made = outputs.map((o) => new WebhookOutput(o));
  } catch (e) {
    throw new UsageError(`cannot use --spool-dir ${spoolDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { outputs: made, waitMs };
}

/** at the end of a run: wait (bounded) for delivery; one line per webhook with findings left over */
export async function closeWebhooks(w: Webhooks, quiet: boolean): Promise<void> {
  const left = await Promise.all(w.outputs.map((o) => o.close(w.waitMs)));
  w.outputs.forEach((o, i) => {
    const c = o.counters;
    const line = `netsig: webhook ${o.name}: ${c.sent} findings sent in ${c.requests} requests, ${c.retried} retried, ${c.rejected} rejected, ${c.spoolDropped} dropped (spool full), ${c.filtered} below --min-severity`;
    if (!quiet) log(line, "info", { webhook: o.name, ...c });
    if (!left[i]) log(`netsig: webhook ${o.name}: not delivered yet, kept in ${o.spool.dir} (${c.spoolBytes} bytes) for the next run`, "warn", { webhook: o.name, spoolBytes: c.spoolBytes });
  });
}
