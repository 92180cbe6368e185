// The decoder: runs the layer decoders of this folder over one captured packet,
// each naming the next (gopacket style), and counts what it saw.

import { LinkType, type PacketRecord } from "../capture/types";
import { DnsFormatError, decodeDnsMessage, type DnsMessage } from "./dns";
import { TcpDnsReassembler } from "./dnstcp";
import { decodeEthernet } from "./ethernet";
import { Defragmenter, type FragmentCounters, type FragmentLimits, newFragmentDrops } from "./fragments";
import { decodeICMPv4 } from "./icmpv4";
import { decodeICMPv6 } from "./icmpv6";
import { decodeIPv4 } from "./ipv4";
import { decodeIPv6 } from "./ipv6";
import { decodeLoop, decodeNull } from "./null";
import { Layer, Malformed, Packet } from "./packet";
import { decodeRaw } from "./raw";
import { decodeLinuxSLL } from "./sll";
import { decodeLinuxSLL2 } from "./sll2";
import { decodeTCP } from "./tcp";
import { decodeUDP } from "./udp";

export interface DecodeStats extends FragmentCounters {
  packets: number;
  /** packets decoded to at least the network layer */
  decoded: number;
  /** packets with a layer that could not be decoded; see Decoder.malformedByReason */
  malformed: number;
  /** DNS messages that could not be decoded (a TCP segment may carry several) */
  malformedDns: number;
  /** link types or EtherTypes netsig does not decode (ARP, STP, ...) */
  unsupported: number;
  ipv4: number;
  ipv6: number;
  tcp: number;
  udp: number;
  icmp: number;
  icmpv6: number;
  dns: number;
  /** IPv4/IPv6 fragments (each yields its IP event; the one completing a datagram is decoded on from the datagram) */
  fragments: number;
  /** of those, fragments other than the first (offset > 0) */
  laterFragments: number;
}

export function newDecodeStats(): DecodeStats {
  return {
    packets: 0,
    decoded: 0,
    malformed: 0,
    malformedDns: 0,
    unsupported: 0,
    ipv4: 0,
    ipv6: 0,
    tcp: 0,
    udp: 0,
    icmp: 0,
    icmpv6: 0,
    dns: 0,
    fragments: 0,
    laterFragments: 0,
    reassembled: 0,
    fragmentDrops: newFragmentDrops(),
  };
}

function linkLayer(linkType: number): Layer {
  switch (linkType) {
    case LinkType.ETHERNET:
      return Layer.Ethernet;
    case LinkType.LINUX_SLL:
      return Layer.LinuxSLL;
    case LinkType.LINUX_SLL2:
      return Layer.LinuxSLL2;
    case LinkType.NULL:
      return Layer.Null;
    case LinkType.LOOP:
      return Layer.Loop;
    case LinkType.RAW:
    case 12:
    case 14:
      return Layer.Raw; // 12/14: DLT_RAW on some BSDs
    case LinkType.IPV4:
      return Layer.IPv4;
    case LinkType.IPV6:
      return Layer.IPv6;
    default:
      return Layer.Unsupported;
  }
}

export class Decoder {
  readonly packet = new Packet();
  readonly stats: DecodeStats = newDecodeStats();
  readonly tcpDns = new TcpDnsReassembler();
  /** IPv4/IPv6 fragment reassembly (bounded; counts into stats) */
  readonly defrag: Defragmenter;
  /** decode DNS payloads (off when no DNS event is wanted: saves the work) */
  dnsEnabled = true;
  /** the last DNS error, for diagnostics */
  lastDnsError = "";
  /** limit of malformed reasons kept */
  readonly malformedByReason = new Map<string, number>();

  constructor(fragmentLimits: Partial<FragmentLimits> = {}) {
    this.defrag = new Defragmenter(this.stats, fragmentLimits);
  }

  /**
   * Decode one packet into this.packet (reused: valid until the next call).
   * p.dns is the packet's DNS message, or null; a TCP segment that completes
   * several DNS messages has the first in p.dns and the others in p.dnsMore.
   */
  decode(rec: PacketRecord): Packet {
    const p = this.packet;
    const st = this.stats;
    p.reset();
    p.tsSec = rec.tsSec;
    p.tsNsec = rec.tsNsec;
    p.iface = rec.iface;
    p.linkType = rec.linkType;
    p.origLen = rec.origLen;
    p.buf = rec.buf;
    p.start = rec.offset;
    p.end = rec.offset + rec.caplen;
    st.packets++;

    let layer = linkLayer(rec.linkType);
    if (layer === Layer.IPv4 || layer === Layer.IPv6) p.ipOff = p.start;
    for (;;) {
      switch (layer) {
        case Layer.Ethernet:
          layer = decodeEthernet(p);
          continue;
        case Layer.LinuxSLL:
          layer = decodeLinuxSLL(p);
          continue;
        case Layer.LinuxSLL2:
          layer = decodeLinuxSLL2(p);
          continue;
        case Layer.Null:
          layer = decodeNull(p);
          continue;
        case Layer.Loop:
          layer = decodeLoop(p);
          continue;
        case Layer.Raw:
          layer = decodeRaw(p);
          continue;
        case Layer.IPv4:
          layer = decodeIPv4(p);
          continue;
        case Layer.IPv6:
          layer = decodeIPv6(p);
          continue;
        case Layer.TCP:
          layer = decodeTCP(p);
          continue;
        case Layer.UDP:
          layer = decodeUDP(p);
          continue;
        case Layer.ICMPv4:
          layer = decodeICMPv4(p);
          continue;
        case Layer.ICMPv6:
          layer = decodeICMPv6(p);
          continue;
        case Layer.Fragment:
          layer = this.defrag.push(p);
          continue;
        case Layer.DNS:
          if (this.dnsEnabled) this.decodeDns(p, p.buf.subarray(p.appOff, p.appEnd));
          layer = Layer.None;
          continue;
        case Layer.DNSOverTCP:
          if (this.dnsEnabled) this.decodeTcpDns(p);
          layer = Layer.None;
          continue;
        case Layer.Unsupported:
          st.unsupported++;
          layer = Layer.None;
          continue;
        default:
          break;
      }
      break;
    }

    if (p.ipVersion !== 0) {
      st.decoded++;
      if (p.ipVersion === 4) st.ipv4++;
      else st.ipv6++;
      if (p.fragment) {
        st.fragments++;
        if (p.laterFragment) st.laterFragments++;
      }
    }
    switch (p.last) {
      case Layer.TCP:
        st.tcp++;
        break;
      case Layer.UDP:
        st.udp++;
        break;
      case Layer.ICMPv4:
        st.icmp++;
        break;
      case Layer.ICMPv6:
        st.icmpv6++;
        break;
      default:
        break;
    }
    if (p.malformed !== Malformed.None) this.countMalformed(p);
    return p;
  }

  private countMalformed(p: Packet): void {
    this.stats.malformed++;
    const key = p.malformedReason.replace(/\d+/g, "N");
    if (this.malformedByReason.size < 256 || this.malformedByReason.has(key)) {
      this.malformedByReason.set(key, (this.malformedByReason.get(key) ?? 0) + 1);
    }
  }

  private decodeDns(p: Packet, msg: Buffer): DnsMessage | null {
    try {
      const m = decodeDnsMessage(msg);
      p.dns = m;
      p.dnsLen = msg.length;
      this.stats.dns++;
      return m;
    } catch (e) {
      if (!(e instanceof DnsFormatError) && !(e instanceof RangeError)) throw e;
      this.lastDnsError = e.message;
      this.stats.malformedDns++;
      p.malformed = Malformed.BadDNS;
      p.malformedReason = "DNS: " + (e instanceof DnsFormatError ? e.message.replace(/ at offset \d+/, "") : "read past the message");
      return null;
    }
  }

  private decodeTcpDns(p: Packet): void {
    const msgs = this.tcpDns.push(p);
    if (msgs === null) return;
    let first: DnsMessage | null = null;
    let firstLen = 0;
    for (let i = 0; i < msgs.length; i++) {
      const m = this.decodeDns(p, msgs[i]);
      if (m === null) continue;
      if (first === null) {
        first = m;
        firstLen = msgs[i].length;
      } else (p.dnsMore ??= []).push(m);
    }
    p.dns = first;
    p.dnsLen = firstLen;
  }
}
