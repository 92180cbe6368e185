// How a decoded packet crosses into a signature sandbox.
//
// Objects a sandbox reads must be built inside its own realm (host objects
// reach it through proxies, ~1000x slower to walk), and only primitives cross
// the boundary cheaply. So the host sends each packet as a compact JSON array
// of the decoded fields — far smaller than the Tracee events it yields — and
// the sandbox rebuilds the Packet fields and runs the same event builder
// (events/build.ts, bundled into the sandbox) on them. A batch is one string.
//
// Both ends are here so that they cannot drift apart; the restore side uses
// no Node.js API (it runs inside the sandbox).

import type { DnsMessage, DnsRecord } from "../decode/dnstypes";
import type { Packet } from "../decode/packet";
import { timestampNumber, timestampString } from "../decode/timestamp";

/** the Packet fields the event builder reads, in the order they are sent */
const FIELDS = [
  "tsSec", "tsNsec", "iface", "ipVersion", "srcIP", "dstIP", "ihl", "tos", "ipTotalLen", "ipId", "ipFlags", "fragOffset",
  "ttl", "ipProtocol", "ipChecksum", "trafficClass", "flowLabel", "payloadLen", "hopLimit", "l4Protocol", "last",
  "srcPort", "dstPort", "tcpSeq", "tcpAck", "tcpDataOffset", "tcpFlags", "tcpWindow", "tcpChecksum", "tcpUrgent",
  "udpLength", "udpChecksum", "icmpType", "icmpCode", "icmpChecksum", "icmpId", "icmpSeq",
] as const;

type RR = [string, number, number, number, unknown, string];

function packRecords(rrs: DnsRecord[]): RR[] {
  const out = new Array<RR>(rrs.length);
  for (let i = 0; i < rrs.length; i++) {
    const r = rrs[i];
    // RDATA of types the builder does not show (a Buffer view) is not sent
    const data = Buffer.isBuffer(r.data) ? null : r.data;
    out[i] = [r.name, r.type, r.class, r.ttl, data, r.raw];
  }
  return out;
}

function packDns(m: DnsMessage): unknown[] {
  return [
    m.id, m.flags, m.qdCount, m.anCount, m.nsCount, m.arCount,
    m.questions.map((q) => [q.name, q.type, q.class]),
    packRecords(m.answers), packRecords(m.authorities), packRecords(m.additionals),
  ];
}

/** one packet as a JSON array text (host side); `n` is its number in the capture */
export function packPacket(p: Packet, n: number): string {
  const a: unknown[] = new Array(FIELDS.length + 3);
  for (let i = 0; i < FIELDS.length; i++) a[i] = p[FIELDS[i]];
  a[FIELDS.length] = p.dns === null ? 0 : packDns(p.dns);
  a[FIELDS.length + 1] = p.dnsMore === null ? 0 : p.dnsMore.map(packDns);
  a[FIELDS.length + 2] = n;
  return JSON.stringify(a);
}

// ---- sandbox side

/** the Packet shape the event builder needs, rebuilt from a packed array */
export class RestoredPacket {
  [key: string]: unknown;
  tsSec = 0;
  tsNsec = 0;
  /** the packet's number in the capture (findings name it) */
  seq = 0;
  dns: DnsMessage | null = null;
  dnsMore: DnsMessage[] | null = null;

  timestampString(): string { return timestampString(this.tsSec, this.tsNsec); }
  timestampNumber(): number { return timestampNumber(this.tsSec, this.tsNsec); }
}

function unpackRecords(rrs: RR[]): DnsRecord[] {
  const out = new Array<DnsRecord>(rrs.length);
  for (let i = 0; i < rrs.length; i++) {
    const r = rrs[i];
    out[i] = { name: r[0], type: r[1], class: r[2], ttl: r[3], data: r[4], raw: r[5] };
  }
  return out;
}

function unpackDns(a: unknown[]): DnsMessage {
  return {
    id: a[0] as number, flags: a[1] as number, qdCount: a[2] as number, anCount: a[3] as number,
    nsCount: a[4] as number, arCount: a[5] as number,
    questions: (a[6] as [string, number, number][]).map((q) => ({ name: q[0], type: q[1], class: q[2] })),
    answers: unpackRecords(a[7] as RR[]), authorities: unpackRecords(a[8] as RR[]), additionals: unpackRecords(a[9] as RR[]),
  };
}

export function unpackPacket(a: unknown[]): RestoredPacket {
  const p = new RestoredPacket();
  for (let i = 0; i < FIELDS.length; i++) (p as Record<string, unknown>)[FIELDS[i]] = a[i];
  const dns = a[FIELDS.length];
  if (dns !== 0) p.dns = unpackDns(dns as unknown[]);
  const more = a[FIELDS.length + 1];
  if (more !== 0) p.dnsMore = (more as unknown[][]).map(unpackDns);
  p.seq = a[FIELDS.length + 2] as number;
  return p;
}
