// Capture stage: what every packet source (pcap file, pcapng file, stdin, live
// capture) hands to the decoder. One record object is reused for every packet
// so that reading allocates nothing per packet; a consumer that keeps a packet
// past its callback must copy the bytes it needs.

/** LINKTYPE_* numbers from https://www.tcpdump.org/linktypes.html */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte host-order address family
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, version nibble decides
  LOOP: 108, // OpenBSD loopback: 4-byte network-order address family
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export interface PacketRecord {
  /** capture time: whole seconds since the epoch */
  tsSec: number;
  /** capture time: nanoseconds within the second (0..999999999) */
  tsNsec: number;
  /** LINKTYPE_* of the interface the packet came from */
  linkType: number;
  /** interface name ("" when the capture does not say) */
  iface: string;
  /** the bytes captured: buf[offset .. offset+caplen) */
  buf: Buffer;
  offset: number;
  caplen: number;
  /** length of the packet on the wire (>= caplen) */
  origLen: number;
  /** byte offset of this packet's record in the capture file */
  fileOffset: number;
}

export type PacketHandler = (pkt: PacketRecord) => void;

/** A damaged capture: everything before `offset` was delivered. */
export class CaptureError extends Error {
  constructor(
    public readonly file: string,
    public readonly offset: number,
    public readonly reason: string,
    public readonly hint: string,
  ) {
    super(`${file}: byte offset ${offset}: ${reason}; ${hint}`);
    this.name = "CaptureError";
  }
}

export interface ReadSummary {
  /** "unknown" when the input could not be opened or is not a capture file */
  format: "pcap" | "pcapng" | "unknown";
  packets: number;
  bytes: number;
  /** set when the file ended early or was corrupt; the packets before it were delivered */
  error?: CaptureError;
}
