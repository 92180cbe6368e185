// Test helpers: build packet bytes field by field (so a test can state exactly
// what is on the wire) and write them as pcap files.

import * as dnsPacket from "dns-packet";
import { writeFileSync } from "node:fs";
import { isIPv4 } from "node:net";

export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split(".").map(Number));
  // expand IPv6 (with optional embedded IPv4 tail)
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  let tail: number[] = [];
  if (v4) {
    const b = v4[1].split(".").map(Number);
    tail = [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    s = s.slice(0, -v4[1].length) + "0:0";
  }
  const [head, rest] = s.split("::");
  const h = head ? head.split(":") : [];
  const r = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill("0"), ...r];
  const words = groups.map((g) => parseInt(g, 16));
  if (tail.length) words.splice(6, 2, ...tail);
  const out = Buffer.alloc(16);
  words.forEach((w, i) => {
    out.writeUInt16BE(w, i * 2);
  });
  return out;
}

export interface IPv4Fields {
  src: string;
  dst: string;
  protocol: number;
  ttl?: number;
  tos?: number;
  id?: number;
  flags?: number;
  fragOffset?: number;
  ihl?: number;
  checksum?: number;
  totalLength?: number;
  options?: Buffer;
}

export function ipv4(f: IPv4Fields, payload: Buffer): Buffer {
  const opts = f.options ?? Buffer.alloc(0);
  const ihl = f.ihl ?? 5 + opts.length / 4;
  const h = Buffer.alloc(20);
  h[0] = 0x40 | ihl;
  h[1] = f.tos ?? 0;
  h.writeUInt16BE(f.totalLength ?? 20 + opts.length + payload.length, 2);
  h.writeUInt16BE(f.id ?? 0, 4);
  h.writeUInt16BE(((f.flags ?? 2) << 13) | (f.fragOffset ?? 0), 6);
  h[8] = f.ttl ?? 64;
  h[9] = f.protocol;
  h.writeUInt16BE(f.checksum ?? 0, 10);
  ipBytes(f.src).copy(h, 12);
  ipBytes(f.dst).copy(h, 16);
  return Buffer.concat([h, opts, payload]);
}

export interface IPv6Fields {
  src: string;
  dst: string;
  nextHeader: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  payloadLength?: number;
}

export function ipv6(f: IPv6Fields, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  const tc = f.trafficClass ?? 0;
  const fl = f.flowLabel ?? 0;
  h.writeUInt32BE(((6 << 28) | (tc << 20) | fl) >>> 0, 0);
  h.writeUInt16BE(f.payloadLength ?? payload.length, 4);
  h[6] = f.nextHeader;
  h[7] = f.hopLimit ?? 64;
  ipBytes(f.src).copy(h, 8);
  ipBytes(f.dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

export interface TCPFields {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  dataOffset?: number;
  flags?: number;
  window?: number;
  checksum?: number;
  urgent?: number;
}

/** flags: FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128 NS=256 */
export function tcp(f: TCPFields, payload: Buffer = Buffer.alloc(0)): Buffer {
  const doff = f.dataOffset ?? 5;
  const h = Buffer.alloc(doff * 4);
  h.writeUInt16BE(f.srcPort, 0);
  h.writeUInt16BE(f.dstPort, 2);
  h.writeUInt32BE((f.seq ?? 0) >>> 0, 4);
  h.writeUInt32BE((f.ack ?? 0) >>> 0, 8);
  const flags = f.flags ?? 0;
  h[12] = (doff << 4) | ((flags >> 8) & 1);
  h[13] = flags & 0xff;
  h.writeUInt16BE(f.window ?? 65535, 14);
  h.writeUInt16BE(f.checksum ?? 0, 16);
  h.writeUInt16BE(f.urgent ?? 0, 18);
  if (doff > 5) h.fill(1, 20); // NOP options
  return Buffer.concat([h, payload]);
}

export function udp(f: { srcPort: number; dstPort: number; length?: number; checksum?: number }, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(f.srcPort, 0);
  h.writeUInt16BE(f.dstPort, 2);
  h.writeUInt16BE(f.length ?? 8 + payload.length, 4);
  h.writeUInt16BE(f.checksum ?? 0, 6);
  return Buffer.concat([h, payload]);
}

export function icmp(
  f: { type: number; code: number; checksum?: number; id?: number; seq?: number },
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(8);
  h[0] = f.type;
  h[1] = f.code;
  h.writeUInt16BE(f.checksum ?? 0, 2);
  h.writeUInt16BE(f.id ?? 0, 4);
  h.writeUInt16BE(f.seq ?? 0, 6);
  return Buffer.concat([h, payload]);
}

export function ethernet(payload: Buffer, etherType = 0x0800, vlans: number[] = []): Buffer {
  const h = Buffer.alloc(12, 0x02);
  const tags = vlans.map((v) => Buffer.from([0x81, 0x00, (v >> 8) & 0x0f, v & 0xff]));
  const t = Buffer.alloc(2);
  t.writeUInt16BE(etherType);
  return Buffer.concat([h, ...tags, t, payload]);
}

/** a DNS message from dns-packet's description */
export function dns(msg: dnsPacket.Packet): Buffer {
  return dnsPacket.encode(msg);
}

export interface PcapPacket {
  tsSec: number;
  tsUsec: number;
  data: Buffer;
  origLen?: number;
}

/** a classic little-endian microsecond pcap file image */
export function pcapFile(linkType: number, packets: PcapPacket[], snaplen = 262144): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(snaplen, 16);
  gh.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [gh];
  for (const p of packets) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(p.tsSec, 0);
    rh.writeUInt32LE(p.tsUsec, 4);
    rh.writeUInt32LE(p.data.length, 8);
    rh.writeUInt32LE(p.origLen ?? p.data.length, 12);
    parts.push(rh, p.data);
  }
  return Buffer.concat(parts);
}

export function writePcap(path: string, linkType: number, packets: PcapPacket[]): string {
  writeFileSync(path, pcapFile(linkType, packets));
  return path;
}
