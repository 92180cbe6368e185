// Live capture with libpcap through the `cap` package (an optional
// dependency: without libpcap-dev it does not build, and replay still works).
//
// Facts about cap 0.2.1 this code depends on:
//  - it copies each packet into the Buffer given to open() and keeps a raw
//    pointer to it: that Buffer must stay referenced for the whole capture
//    (a collected Buffer means heap corruption after a few thousand packets),
//    so it is a field of LiveCapture, alive as long as the capture is;
//  - it reports no timestamps: the time is taken when the packet is handed
//    to JavaScript (monotonic clock anchored to the wall clock at start);
//  - it asks libpcap for a 65535-byte snap length (netsig's native part
//    substitutes --snaplen: see LiveOptions.snaplen); it has no pcap_stats.

import { join } from "node:path";
import { KernelDrops, nativeBuildCommand, packetSocketFds, projectRoot, setSnaplen, shellWord } from "./drops";
import { LinkType, type PacketHandler, type PacketRecord } from "./types";

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: "packet", fn: (nbytes: number, truncated: boolean) => void): void;
  close(): void;
  setMinBytes?(n: number): void;
}
interface CapModule {
  Cap: { new (): CapInstance; deviceList(): { name: string }[] };
}

/** A user-facing problem starting a capture: one line that says what to do. */
export class LiveCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LiveCaptureError";
  }
}

export function loadCap(): CapModule {
  try {
    return require("cap") as CapModule;
  } catch {
    throw new LiveCaptureError(capMissing());
  }
}

/**
 * What to do when cap does not load: it is an optional dependency, so it may
 * be absent (not installed), or present with its addon not built (no
 * libpcap-dev at install time, or its install script not allowed).
 */
export function capMissing(): string {
  const project = projectRoot();
  let installed = true;
  try {
    require.resolve("cap/package.json");
  } catch {
    installed = false;
  }
  return installed
    ? `live capture needs the cap package's libpcap addon, which is not built: apt-get install libpcap-dev, allow cap's install script ("cap": true under "allowScripts" in ${shellWord(join(project, "package.json"))}), then run npm rebuild cap in ${shellWord(project)} (replay works without it)`
    : `live capture needs the cap package (libpcap), which is not installed: apt-get install libpcap-dev, then run npm install cap in ${shellWord(project)} (replay works without it)`;
}

const LINK_TYPES: Record<string, number> = {
  ETHERNET: LinkType.ETHERNET,
  NULL: LinkType.NULL,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW,
};

export interface LiveOptions {
  iface: string;
  bpf?: string;
  /** kernel buffer size in bytes */
  bufferSize?: number;
  /**
   * bytes kept of each packet (default 8192, as Zeek's). In immediate mode
   * libpcap sizes every ring frame by it, so it decides how many packets the
   * kernel buffer holds: 64 MB hold ~1000 frames at 65535 on lo and "any",
   * ~7800 at 8192. Needs native/pktstats; without it cap's 65535 stays.
   */
  snaplen?: number;
  /** the snaplen was asked for by the user: fail when it cannot be set */
  snaplenRequired?: boolean;
}

export const DEFAULT_SNAPLEN = 8192;

export class LiveCapture {
  /** the Buffer cap writes into: MUST stay referenced while the capture is open */
  private readonly buffer = Buffer.alloc(65535);
  private readonly cap: CapInstance;
  readonly linkType: number;
  readonly iface: string;
  packets = 0;
  /** packets cut at the snapshot length (or at cap's buffer) */
  truncated = 0;
  /** the snapshot length in effect */
  readonly snaplen: number = 65535;
  /** the kernel's drop count (poll() it; also read at close) */
  readonly kernel: KernelDrops;
  private closed = false;

  constructor(opts: LiveOptions, onPacket: PacketHandler) {
    const mod = loadCap();
    const names = mod.Cap.deviceList().map((d) => d.name);
    if (!names.includes(opts.iface)) {
      throw new LiveCaptureError(`no interface "${opts.iface}"; interfaces: ${names.join(", ")}`);
    }
    // (this also loads the native part, which must be there before cap calls libpcap)
    const snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!setSnaplen(snaplen)) {
      if (opts.snaplenRequired)
        throw new LiveCaptureError(
          `--snaplen needs netsig's native part (native/pktstats), which is not built: run ${nativeBuildCommand()} (it needs make, python3 and a C compiler)`,
        );
    } else this.snaplen = snaplen;
    this.cap = new mod.Cap();
    // (each capture counts the drops of its own socket only)
    const before = packetSocketFds();
    let lt: string;
    try {
      lt = this.cap.open(opts.iface, opts.bpf ?? "", opts.bufferSize ?? 64 << 20, this.buffer);
    } catch (e) {
      const msg = (e as Error).message;
      if (/permitted|permission|denied/i.test(msg)) {
        throw new LiveCaptureError(
          `capturing on ${opts.iface} needs root or CAP_NET_RAW+CAP_NET_ADMIN: run as root, or setcap cap_net_raw,cap_net_admin=eip "$(command -v node)" (${msg})`,
        );
      }
      if (/filter|syntax|expression/i.test(msg)) throw new LiveCaptureError(`bad --bpf filter "${opts.bpf}": ${msg}`);
      throw new LiveCaptureError(`cannot capture on ${opts.iface}: ${msg}`);
    }
    const linkType = LINK_TYPES[lt];
    if (linkType === undefined) {
      this.cap.close();
      throw new LiveCaptureError(`interface ${opts.iface} has a link type netsig does not decode (${lt})`);
    }
    this.linkType = linkType;
    this.iface = opts.iface;
    this.kernel = new KernelDrops(before);
    // wall clock at start, advanced by the monotonic clock: no jumps when NTP steps the clock
    const startWallNs = BigInt(Date.now()) * 1_000_000n;
    const startMono = process.hrtime.bigint();
    const snaplenNow = this.snaplen;
    const rec: PacketRecord = {
      tsSec: 0,
      tsNsec: 0,
      linkType,
      iface: opts.iface,
      buf: this.buffer,
      offset: 0,
      caplen: 0,
      origLen: 0,
      fileOffset: 0,
    };
    this.cap.on("packet", (nbytes, truncated) => {
      const ns = startWallNs + (process.hrtime.bigint() - startMono);
      rec.tsSec = Number(ns / 1_000_000_000n);
      rec.tsNsec = Number(ns % 1_000_000_000n);
      rec.caplen = nbytes;
      rec.origLen = nbytes;
      this.packets++;
      if (truncated || nbytes >= snaplenNow) this.truncated++;
      onPacket(rec);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernel.poll();
    this.cap.close();
  }
}
