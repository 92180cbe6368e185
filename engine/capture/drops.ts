// The kernel's drop count for a live capture: what libpcap's pcap_stats
// reports, which the cap package does not expose. A tiny native function
// (native/pktstats) reads PACKET_STATISTICS from this process's packet
// sockets — the ones cap opened, found through /proc/self/fd and
// /proc/net/packet. (The socket diagnostics `ss` prints do not count ring
// drops: measured here, they stayed 0 while the ring overflowed.)

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { constants } from "node:os";

/** netsig's own folder: a clone, or node_modules/netsig in the project that installed it */
export const PACKAGE_ROOT = join(__dirname, "..", "..", "..");

/** the folder whose node_modules holds netsig (a clone: the clone itself) */
export function projectRoot(): string {
  return basename(dirname(PACKAGE_ROOT)) === "node_modules" ? dirname(dirname(PACKAGE_ROOT)) : PACKAGE_ROOT;
}

/** a path as one shell word */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that builds the native part where this netsig is. Not `npm run
 * native`: a project that installed netsig has no such script, and npm runs
 * netsig's install script (which builds it) only when allowed to.
 */
export function nativeBuildCommand(): string {
  return `node ${shellWord(join(PACKAGE_ROOT, "native", "build.js"))}`;
}

interface PktStats {
  stats(fd: number): [number, number] | null;
  setSnaplen?(n: number): void;
}

let addon: PktStats | null | undefined;

/**
 * The native part, loaded once. RTLD_GLOBAL: its pcap_set_snaplen must come
 * before libpcap's in the dynamic linker's search when cap's open() calls it
 * (native/pktstats/pktstats.c).
 */
export function nativeAddon(): PktStats | null {
  if (addon !== undefined) return addon;
  try {
    const m = { exports: {} as PktStats };
    const { RTLD_NOW, RTLD_GLOBAL } = constants.dlopen as Record<string, number>;
    process.dlopen(m, join(PACKAGE_ROOT, "native", "pktstats", "build", "Release", "pktstats.node"), RTLD_NOW | RTLD_GLOBAL);
    addon = m.exports;
  } catch {
    addon = null;
  }
  return addon;
}

/** the snapshot length the next capture opens with; false when it cannot be set (no native part) */
export function setSnaplen(n: number): boolean {
  const a = nativeAddon();
  if (!a?.setSnaplen) return false;
  a.setSnaplen(n);
  return true;
}

/** the fds of this process's packet sockets */
export function packetSocketFds(): number[] {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readFileSync("/proc/net/packet", "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.trim().split(/\s+/).pop()!),
    );
  } catch {
    return [];
  }
  const fds: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m && inodes.has(m[1])) fds.push(Number(fd));
    } catch {
      /* closed meanwhile */
    }
  }
  return fds;
}

export class KernelDrops {
  /** packets the kernel dropped (ring full) since the capture started */
  drops = 0;
  private readonly addon = nativeAddon();
  private readonly fds: number[];

  /**
   * Call right after the capture opened its socket; `before`: the packet
   * sockets open before it (other captures of this process), left out.
   */
  constructor(before: number[] = []) {
    this.fds = this.addon ? packetSocketFds().filter((fd) => !before.includes(fd)) : [];
  }

  /** false where the count cannot be read (no native part, not Linux) */
  get available(): boolean {
    return this.addon !== null && this.fds.length > 0;
  }

  /** add what the kernel counted since the last poll (it resets its counters on each read) */
  poll(): void {
    if (!this.addon) return;
    for (const fd of this.fds) {
      const s = this.addon.stats(fd);
      if (s) this.drops += s[1];
    }
  }
}
