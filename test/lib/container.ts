// The Kubernetes sidecar example's netsig container, and the podman options
// that give a container the same security settings and writable folders
// (test/image.test.ts runs the image with them; test/deploy.test.ts checks
// the mapping). Read from deploy/kubernetes/netsig-sidecar.yaml, never
// restated here: a change there changes what the image is tested with.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAll } from "js-yaml";

export const ROOT = join(__dirname, "..", "..", "..");
export const K8S = join(ROOT, "deploy", "kubernetes", "netsig-sidecar.yaml");

export interface SecurityContext {
  runAsUser?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export interface Sidecar {
  securityContext: SecurityContext;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
  volumes: { name: string; emptyDir?: { sizeLimit?: string }; configMap?: { name: string } }[];
}

export function sidecarSpec(file = K8S): Sidecar {
  const dep = (loadAll(readFileSync(file, "utf8")) as any[]).find((d) => d?.kind === "Deployment");
  const pod = dep.spec.template.spec;
  const c = pod.containers.find((x: { name: string }) => x.name === "netsig");
  return { securityContext: c.securityContext ?? {}, volumeMounts: c.volumeMounts ?? [], volumes: pod.volumes ?? [] };
}

const KNOWN = new Set(["runAsUser", "runAsNonRoot", "privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities"]);

/** podman run options for a container securityContext (throws on a setting it cannot map, so none is silently left out) */
export function podmanSecurityArgs(sc: SecurityContext): string[] {
  const unknown = Object.keys(sc).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new Error(`securityContext settings the image test cannot apply: ${unknown.join(", ")}`);
  if (sc.privileged) throw new Error("securityContext.privileged: the example must not need it");
  const args: string[] = [];
  if (sc.runAsUser !== undefined) {
    if (sc.runAsNonRoot && sc.runAsUser === 0) throw new Error("runAsNonRoot with runAsUser 0");
    args.push("--user", String(sc.runAsUser));
  }
  // (Kubernetes drops first, then adds: so does podman, whatever the order given)
  for (const c of sc.capabilities?.drop ?? []) args.push("--cap-drop", c);
  for (const c of sc.capabilities?.add ?? []) args.push("--cap-add", c);
  // allowPrivilegeEscalation: false is the no_new_privs bit
  if (sc.allowPrivilegeEscalation === false) args.push("--security-opt", "no-new-privileges");
  // a read-only root and nothing else writable (podman would add tmpfs on /tmp, /run, /var/tmp; Kubernetes does not)
  if (sc.readOnlyRootFilesystem) args.push("--read-only", "--read-only-tmpfs=false");
  return args;
}

/** --tmpfs for every emptyDir the netsig container mounts (where it may write under a read-only root) */
export function podmanEmptyDirArgs(s: Sidecar): string[] {
  const args: string[] = [];
  for (const m of s.volumeMounts) {
    const v = s.volumes.find((x) => x.name === m.name);
    if (v && "emptyDir" in v) args.push("--tmpfs", m.mountPath);
  }
  return args;
}

/** the capability names added, as the kernel's bit numbers (for comparing with /proc/PID/status) */
export const CAP_BITS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
};

export function capMask(names: string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const bit = CAP_BITS[n];
    if (bit === undefined) throw new Error(`unknown capability ${n}`);
    m |= 1n << BigInt(bit);
  }
  return m;
}
