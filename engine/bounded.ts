// Files netsig reads from its configuration (rule and list files, --config,
// webhook secrets and certificates, pod-info files) are read with a size cap:
// at most cap+1 bytes are ever read, so /dev/zero, /dev/urandom or a 50 MB
// file given by mistake is refused in one line instead of filling memory.
// The size a file reports is not trusted for the bound (a device reports 0);
// it is only used to say how large a regular file is.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";

const MiB = 1024 * 1024;

/** a rule, list or Sigma file (SigmaHQ's largest rules are tens of KB; a list of 100,000 domains ~2.5 MB) */
export const RULE_FILE_MAX_BYTES = 4 * MiB;
/** a signature file (.ts/.js; the shipped ones are a few KB) */
export const SIGNATURE_FILE_MAX_BYTES = 4 * MiB;
/** the --config file (a few KB in practice) */
export const CONFIG_FILE_MAX_BYTES = 1 * MiB;
/** a webhook token, HMAC key, CA bundle, client certificate or key (Debian's whole CA bundle is ~220 KB) */
export const SECRET_FILE_MAX_BYTES = 1 * MiB;
/** a --pod-info file (Kubernetes caps a pod's annotations at 256 KiB in all) */
export const POD_INFO_FILE_MAX_BYTES = 1 * MiB;

/** a file past its cap; `size` is its size when it is a regular file */
export class FileTooLargeError extends Error {
  readonly code = "EFBIG";
  constructor(
    readonly file: string,
    readonly cap: number,
    readonly size: number | undefined,
  ) {
    super(
      `${file} is ${size !== undefined ? `${formatBytes(size)} (${size} bytes)` : "larger than the limit"}: the limit is ${formatBytes(cap)}`,
    );
  }
}

/** 4 MiB, 512 KiB, 37 bytes */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/**
 * The bytes of a file, reading at most cap+1 of them; a file with more
 * throws FileTooLargeError. Other errors (ENOENT, EACCES, EISDIR) are
 * thrown as they are.
 */
export function readBounded(file: string, cap: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(Math.min(cap + 1, 64 * 1024));
    let out = buf;
    let n = 0;
    for (;;) {
      if (n === out.length) {
        if (out.length > cap) break;
        const bigger = Buffer.allocUnsafe(Math.min(cap + 1, out.length * 4));
        out.copy(bigger, 0, 0, n);
        out = bigger;
      }
      const r = readSync(fd, out, n, out.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > cap) {
      let size: number | undefined;
      try {
        const st = fstatSync(fd);
        if (st.isFile() && st.size > cap) size = st.size;
      } catch {
        /* unknown */
      }
      throw new FileTooLargeError(file, cap, size);
    }
    return out.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** readBounded as UTF-8 text */
export function readBoundedText(file: string, cap: number): string {
  return readBounded(file, cap).toString("utf8");
}
