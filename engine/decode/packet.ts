// Decode stage: the state of one decoded packet.
//
// Like gopacket's DecodingLayerParser, one Packet object is reused for every
// packet: each layer decoder (one file per layer in this folder) reads its
// header straight from the capture Buffer at an offset, fills its fields here
// and names the next layer. Nothing is copied and nothing is allocated for the
// layers below DNS except the address strings.

import type { AppRecord } from "../types/records";
import type { DnsMessage } from "./dnstypes";
import { timestampNumber, timestampString } from "./timestamp";

/** Layer identifiers; a decoder returns the id of the layer that follows it. */
export const enum Layer {
  None = 0,
  Ethernet,
  LinuxSLL,
  LinuxSLL2,
  Null, // BSD loopback, host byte order family
  Loop, // OpenBSD loopback, network byte order family
  Raw, // IPv4 or IPv6 by version nibble
  IPv4,
  IPv6,
  TCP,
  UDP,
  ICMPv4,
  ICMPv6,
  DNS, // DNS over UDP
  DNSOverTCP, // DNS over TCP: 2-byte length prefix, reassembled per flow
  Payload, // bytes netsig does not decode further
  Unsupported, // a protocol netsig does not decode (ARP, STP, ...)
  Fragment, // an IPv4/IPv6 fragment: to the defragmenter (fragments.ts), which decodes the datagram it completes
}

/** Why a packet (or one of its layers) could not be decoded. */
export const enum Malformed {
  None = 0,
  Truncated, // a header runs past the captured bytes
  BadHeader, // a header field is impossible (IHL < 5, version mismatch...)
  BadDNS, // the DNS message could not be parsed
}

export class Packet {
  // ---- capture metadata
  tsSec = 0;
  tsNsec = 0;
  iface = "";
  linkType = 0;
  origLen = 0;
  buf: Buffer = Buffer.alloc(0);
  /** first byte of the packet in buf */
  start = 0;
  /** one past the last captured byte of the packet in buf */
  end = 0;

  // ---- decode status
  /** the deepest layer decoded */
  last: Layer = Layer.None;
  malformed: Malformed = Malformed.None;
  malformedReason = "";

  // ---- network layer (4 or 6, 0 when none)
  ipVersion = 0;
  ipOff = 0;
  /** one past the last byte of the IP datagram (total length, clipped to capture) */
  ipEnd = 0;
  /** IP total length (IPv4 header field; IPv6: 40 + payload length) */
  ipTotalLen = 0;
  srcIP = "";
  dstIP = "";
  // IPv4 header
  ihl = 0;
  tos = 0;
  ipId = 0;
  ipFlags = 0;
  fragOffset = 0;
  ttl = 0;
  ipChecksum = 0;
  /** protocol field of the IPv4 header / next header field of the fixed IPv6 header */
  ipProtocol = 0;
  // IPv6 header
  trafficClass = 0;
  flowLabel = 0;
  payloadLen = 0;
  hopLimit = 0;
  /** true when this datagram is a fragment (IPv4 MF/offset, IPv6 fragment header) */
  fragment = false;
  /** true when it is a fragment other than the first: no transport header in it */
  laterFragment = false;
  /**
   * true when this fragment completed its datagram: buf/ipOff/l4Off/ipEnd/end
   * then point at the reassembled datagram (a new Buffer, its first fragment's
   * header with the lengths fixed), which the transport decoders read; the IP
   * header fields above stay this fragment's own
   */
  reassembled = false;
  /** how many fragments the reassembled datagram was made of (when reassembled) */
  fragmentCount = 0;
  // the fragment header (set on fragments only; IPv4's are ipId, MF of ipFlags and fragOffset)
  /** IPv6: the fragment header's 32-bit identification */
  fragId = 0;
  /** IPv6: the fragment header's offset, in bytes */
  fragStart = 0;
  /** IPv6: the fragment header's M flag */
  fragMore = false;
  /** transport protocol after IPv6 extension headers */
  l4Protocol = 0;

  // ---- transport layer
  l4Off = 0;
  /** one past the last byte of the transport segment */
  l4End = 0;
  srcPort = 0;
  dstPort = 0;
  // TCP
  tcpSeq = 0;
  tcpAck = 0;
  tcpDataOffset = 0;
  tcpFlags = 0; // NS<<8 | CWR<<7 | ECE<<6 | URG<<5 | ACK<<4 | PSH<<3 | RST<<2 | SYN<<1 | FIN
  tcpWindow = 0;
  tcpChecksum = 0;
  tcpUrgent = 0;
  // UDP
  udpLength = 0;
  udpChecksum = 0;
  // ICMPv4 / ICMPv6
  icmpType = 0;
  icmpCode = 0;
  icmpChecksum = 0;
  icmpId = 0;
  icmpSeq = 0;

  // ---- application payload
  appOff = 0;
  appEnd = 0;
  /** the decoded DNS message, when the packet carried (or completed) one */
  dns: DnsMessage | null = null;
  /** length in bytes of the DNS message that was decoded */
  dnsLen = 0;
  /** further DNS messages completed by the same TCP segment (rare), else null */
  dnsMore: DnsMessage[] | null = null;
  /** what the flow stage found completed by this packet (engine/flows/), or null */
  records: AppRecord[] | null = null;

  reset(): void {
    this.last = Layer.None;
    this.malformed = Malformed.None;
    this.malformedReason = "";
    this.ipVersion = 0;
    this.fragment = false;
    this.laterFragment = false;
    this.reassembled = false;
    this.l4Protocol = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.dns = null;
    this.dnsLen = 0;
    this.dnsMore = null;
    this.records = null;
    this.appOff = 0;
    this.appEnd = 0;
  }

  /** capture time in nanoseconds since the epoch, as a JSON integer literal (timestamp.ts) */
  timestampString(): string {
    return timestampString(this.tsSec, this.tsNsec);
  }

  /** capture time in nanoseconds since the epoch (a double: exact to ~256 ns), clamped likewise */
  timestampNumber(): number {
    return timestampNumber(this.tsSec, this.tsNsec);
  }

  markMalformed(kind: Malformed, reason: string): Layer {
    this.malformed = kind;
    this.malformedReason = reason;
    return Layer.None;
  }
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
export const TCP_NS = 0x100;
