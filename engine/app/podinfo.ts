// Which pod netsig runs in, from the Kubernetes Downward API (see
// docs/kubernetes.md):
//  - environment variables, read once at start: POD_NAME, POD_NAMESPACE,
//    POD_UID, NODE_NAME, POD_SERVICE_ACCOUNT (fieldRef; the names most charts
//    already inject), each of which may also be written NETSIG_POD_NAME etc.,
//    which wins (for an image where the plain name means something else);
//    and NETSIG_CONTAINER_NAME, NETSIG_CONTAINER_IMAGE, NETSIG_CONTAINER_ID,
//    NETSIG_CONTAINER_IMAGE_DIGEST, NETSIG_CLUSTER_NAME, which no fieldRef
//    gives (plain values in the pod spec). These have no unprefixed form:
//    CONTAINER_NAME and the like are set by other tools (the machine netsig
//    was developed on sets CONTAINER_NAME to its sandbox's id), and the
//    container they describe is not netsig's own but the one whose traffic it
//    watches (a pod's containers share one network namespace: netsig cannot
//    tell them apart, so the user names the pod's main container);
//  - a downwardAPI volume (--pod-info DIR): files `labels` and `annotations`
//    (the kubelet's key="value" lines, values quoted as Go's %q does), and
//    optional `name`, `namespace`, `uid` (plain text; they win over the
//    variables). The kubelet updates the volume by writing a new timestamped
//    folder and renaming a `..data` symlink over the old one, so the folder is
//    watched and read again after each change; a file that cannot be read or
//    parsed is one line on stderr, and the last good identity stays.
//
// What goes where: the pod and container names reach every event and finding
// through Tracee's envelope (events/envelope.ts); labels, annotations, the
// node, the service account and the cluster are not part of Tracee's event,
// and go only into the webhook formats' own fields (outputs/formats.ts).

import { statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { podEnvelope, setPodEnvelope, type PodFields } from "../events/envelope";
import { UsageError } from "../types/errors";
import { FileTooLargeError, formatBytes, POD_INFO_FILE_MAX_BYTES, readBoundedText } from "../bounded";
import { NO_POD_CONTEXT, type PodContext } from "../outputs/formats";

export const POD_INFO_OPTIONS = {
  "pod-info": { type: "string" },
} as const;

export const POD_INFO_USAGE = `pod identity (docs/kubernetes.md):
  --pod-info DIR     the pod's downwardAPI volume: files labels and annotations (name,
                     namespace, uid optional), read again when the kubelet updates them;
                     with the variables POD_NAME, POD_NAMESPACE, POD_UID, NODE_NAME,
                     POD_SERVICE_ACCOUNT, NETSIG_CONTAINER_NAME, NETSIG_CONTAINER_IMAGE ...
                     events and findings say which pod they come from`;

/** what each variable sets (NETSIG_ + the name wins over the name) */
export const POD_ENV = {
  podName: "POD_NAME",
  podNamespace: "POD_NAMESPACE",
  podUID: "POD_UID",
  nodeName: "NODE_NAME",
  serviceAccount: "POD_SERVICE_ACCOUNT",
} as const;
/** what each variable sets (these names only: no unprefixed form) */
export const NETSIG_ENV = {
  containerName: "NETSIG_CONTAINER_NAME",
  containerImage: "NETSIG_CONTAINER_IMAGE",
  containerId: "NETSIG_CONTAINER_ID",
  containerImageDigest: "NETSIG_CONTAINER_IMAGE_DIGEST",
  clusterName: "NETSIG_CLUSTER_NAME",
} as const;

/** the files of a --pod-info folder netsig reads, and the field each plain-text one sets */
export const POD_INFO_FILES = { name: "podName", namespace: "podNamespace", uid: "podUID" } as const;

type Env = Record<string, string | undefined>;

function fromEnv(env: Env, name: string): string | undefined {
  const v = (name.startsWith("NETSIG_") ? env[name] : (env["NETSIG_" + name] ?? env[name]))?.trim();
  return v ? v : undefined;
}

const SIMPLE: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, '"': 34, "'": 39 };

/**
 * A Go double-quoted string literal (what fmt's %q writes: \a \b \f \n \r \t
 * \v \\ \", \xNN bytes, \uNNNN, \UNNNNNNNN, octal \NNN), its bytes read as UTF-8.
 */
export function unquoteGo(lit: string): string {
  if (lit.length < 2 || lit[0] !== '"' || lit[lit.length - 1] !== '"') throw new Error("the value is not in double quotes");
  const bytes: number[] = [];
  const s = lit.slice(1, -1);
  const text = (t: string) => {
    for (const b of Buffer.from(t, "utf8")) bytes.push(b);
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') throw new Error("a quote inside the value is not escaped");
    if (c !== "\\") {
      const cp = s.codePointAt(i)!;
      text(String.fromCodePoint(cp));
      if (cp > 0xffff) i++;
      continue;
    }
    const e = s[++i];
    if (e === undefined) throw new Error("the value ends in a backslash");
    if (e in SIMPLE) {
      bytes.push(SIMPLE[e]);
      continue;
    }
    const hex = (n: number) => {
      const h = s.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error(`bad escape \\${e}${h}`);
      i += n;
      return parseInt(h, 16);
    };
    if (e === "x") bytes.push(hex(2));
    else if (e === "u") text(String.fromCodePoint(hex(4)));
    else if (e === "U") {
      const cp = hex(8);
      if (cp > 0x10ffff) throw new Error("bad escape \\U: beyond Unicode");
      text(String.fromCodePoint(cp));
    } else if (e >= "0" && e <= "7") {
      const o = s.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new Error(`bad escape \\${o}`);
      bytes.push(parseInt(o, 8));
      i += 2;
    } else throw new Error(`unknown escape \\${e}`);
  }
  return Buffer.from(bytes).toString("utf8");
}

/** the kubelet's labels/annotations file: `key="value"` lines (keys sorted, no newline at the end) */
export function parseDownwardMap(text: string): { map: Record<string, string> } | { line: number; error: string } {
  const map: Record<string, string> = {};
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    if (l === "") continue;
    const eq = l.indexOf("=");
    if (eq <= 0) return { line: n + 1, error: 'not a key="value" line' };
    try {
      map[l.slice(0, eq)] = unquoteGo(l.slice(eq + 1));
    } catch (e) {
      return { line: n + 1, error: (e as Error).message };
    }
  }
  return { map };
}

export interface PodInfo {
  fields: PodFields;
  context: PodContext;
}

/** the identity from the variables and, with `dir`, the folder's files (a mistake: UsageError naming file:line) */
export function readPodInfo(env: Env, dir?: string): PodInfo {
  const fields: PodFields = {};
  const context: { -readonly [K in keyof PodContext]: PodContext[K] } = { labels: {}, annotations: {} };
  for (const [key, name] of [...Object.entries(POD_ENV), ...Object.entries(NETSIG_ENV)]) {
    const v = fromEnv(env, name);
    if (v === undefined) continue;
    if (key === "nodeName" || key === "serviceAccount" || key === "clusterName") context[key] = v;
    else fields[key as keyof PodFields] = v;
  }
  if (dir !== undefined) {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch (e) {
      throw new UsageError(
        `cannot read --pod-info ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): mount the pod's downwardAPI volume there, or leave --pod-info out`,
      );
    }
    if (!isDir) throw new UsageError(`--pod-info ${dir} is not a folder: give the folder the downwardAPI volume is mounted on`);
    const read = (name: string): string | undefined => {
      const file = join(dir, name);
      try {
        return readBoundedText(file, POD_INFO_FILE_MAX_BYTES);
      } catch (e) {
        if (e instanceof FileTooLargeError) {
          throw new UsageError(
            `--pod-info ${dir}: ${file} is ${e.size !== undefined ? formatBytes(e.size) : `larger than ${formatBytes(e.cap)}`}, past the ${formatBytes(e.cap)} limit for a pod-info file: mount the pod's downwardAPI volume there`,
          );
        }
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return undefined;
        throw new UsageError(
          `cannot read ${file} (${code ?? (e as Error).message}): netsig's user must be able to read the --pod-info folder`,
        );
      }
    };
    for (const name of ["labels", "annotations"] as const) {
      const text = read(name);
      if (text === undefined) continue;
      const r = parseDownwardMap(text);
      if ("error" in r)
        throw new UsageError(
          `${join(dir, name)}:${r.line}: ${r.error}: the file must hold the kubelet's key="value" lines (a downwardAPI item with fieldPath metadata.${name})`,
        );
      context[name] = r.map;
    }
    for (const [name, key] of Object.entries(POD_INFO_FILES)) {
      const v = read(name)?.trim();
      if (v) fields[key] = v;
    }
  }
  Object.freeze(context.labels);
  Object.freeze(context.annotations);
  return { fields, context: Object.freeze(context) };
}

let context: PodContext = NO_POD_CONTEXT;

/** the labels, annotations, node ... the webhook formats add (the last good ones read) */
export function podContext(): PodContext {
  return context;
}

/** make `info` the process's identity: every event and finding from now on */
export function applyPodInfo(info: PodInfo): void {
  setPodEnvelope(podEnvelope(info.fields));
  context = info.context;
}

/**
 * Read the identity at start (a mistake stops netsig: UsageError) and, with
 * a folder, read it again whenever it changes. Returns what stops the watch.
 */
export function startPodInfo(
  dir: string | undefined,
  log: (line: string) => void,
  env: Env = process.env,
  settleMs = 200,
): { close(): void } {
  const first = readPodInfo(env, dir);
  applyPodInfo(first);
  if (dir === undefined) return { close: () => undefined };
  let last = JSON.stringify(first);
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const again = (): void => {
    timer = null;
    if (closed) return;
    let info: PodInfo;
    try {
      info = readPodInfo(env, dir);
    } catch (e) {
      log(`netsig: --pod-info: ${(e as Error).message}; the last good pod identity stays`);
      return;
    }
    const now = JSON.stringify(info);
    if (now === last) return;
    last = now;
    applyPodInfo(info);
    log(
      `netsig: --pod-info ${dir}: pod identity read again (${Object.keys(info.context.labels).length} labels, ${Object.keys(info.context.annotations).length} annotations)`,
    );
  };
  // the kubelet's swap is a rename of ..data in the folder itself: a folder watch sees it
  let w: FSWatcher | null = null;
  let poll: NodeJS.Timeout | null = null;
  const changed = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(again, settleMs);
    timer.unref();
  };
  try {
    w = watch(dir, { persistent: false }, changed);
    w.on("error", () => {
      w?.close();
      w = null;
      poll ??= setInterval(changed, 10_000).unref();
    });
  } catch {
    // no inotify watch left (or a file system without): look every 10 s
    poll = setInterval(changed, 10_000).unref();
  }
  return {
    close: () => {
      closed = true;
      w?.close();
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
    },
  };
}
