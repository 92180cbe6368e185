// DNS messages (RFC 1035, EDNS RFC 6891), decoded with dns-packet's codecs.
//
// The header and each record's fixed fields (type, class, TTL, RDLENGTH) are
// read here as numbers; names and RDATA are decoded by dns-packet's own name
// and per-type codecs. Walking the records ourselves keeps the raw numbers
// that Tracee prints (class 1232 of an OPT record is "Unknown", not "IN"),
// bounds every RDATA by its RDLENGTH, and formats addresses the way Go does.
// Any malformed message (truncated record, bad compression pointer, pointer
// loop, impossible count) throws DnsFormatError, which callers count as
// malformed; it is never fatal.

import * as dnsPacket from "dns-packet";
import { ipv4String, ipv6String } from "./ipaddr";
import { DnsNameError, nameBytes, readDnsName } from "./dnsname";
import { goText } from "./text";

// dns-packet's type-name table (its "types" module) is not in its typings.
const dpTypes: { toString(t: number): string } = require("dns-packet/types");

interface Codec {
  decode(buf: Buffer, offset: number): unknown;
}
const recordCodec = (dnsPacket as unknown as { record(type: string): Codec }).record;

export * from "./dnstypes";
import {
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  DNS_TYPE_CNAME,
  DNS_TYPE_DNAME,
  DNS_TYPE_HINFO,
  DNS_TYPE_MX,
  DNS_TYPE_NS,
  DNS_TYPE_OPT,
  DNS_TYPE_PTR,
  DNS_TYPE_SOA,
  DNS_TYPE_SRV,
  DNS_TYPE_TXT,
  DNS_TYPE_URI,
  type DnsMessage,
  type DnsMX,
  type DnsOption,
  type DnsRecord,
  type DnsSOA,
  type DnsSRV,
  type DnsURI,
} from "./dnstypes";

export class DnsFormatError extends Error {
  constructor(
    message: string,
    public readonly offset: number,
  ) {
    super(message);
    this.name = "DnsFormatError";
  }
}

const codecs: (Codec | null | undefined)[] = new Array(65536);
function codecFor(type: number): Codec | null {
  let c = codecs[type];
  if (c === undefined) {
    const name = dpTypes.toString(type);
    c = name.startsWith("UNKNOWN_") ? null : recordCodec(name);
    codecs[type] = c;
  }
  return c;
}

function readName(msg: Buffer, off: number): string {
  try {
    return readDnsName(msg, off);
  } catch (e) {
    if (e instanceof DnsNameError) throw new DnsFormatError(`bad name at offset ${e.offset}: ${e.message}`, e.offset);
    throw e;
  }
}

/** character-strings of TXT/HINFO RDATA, each as Go text */
function characterStrings(msg: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let o = start;
  while (o < end) {
    const len = msg[o];
    if (o + 1 + len > end) throw new DnsFormatError("character-string runs past its record", o);
    out.push(goText(msg, o + 1, o + 1 + len));
    o += 1 + len;
  }
  return out;
}

/** a name inside RDATA: it must start inside the RDATA (its pointers may go anywhere before) */
function rdataName(msg: Buffer, off: number, end: number): string {
  if (off >= end) throw new DnsFormatError("RDATA too short for its name", off);
  const n = readName(msg, off);
  if (off + nameBytes > end) throw new DnsFormatError("name runs past its RDATA", off);
  return n;
}

function need(rdOff: number, rdLen: number, min: number, what: string): void {
  if (rdLen < min) throw new DnsFormatError(`${what} RDATA of ${rdLen} bytes`, rdOff);
}

/** Go's net.IP(b).String() for RDATA of any length */
function ipText(msg: Buffer, off: number, len: number): string {
  if (len === 4) return ipv4String(msg, off);
  if (len === 16) return ipv6String(msg, off);
  if (len === 0) return "<nil>";
  return "?" + msg.toString("hex", off, off + len);
}

function decodeRdata(msg: Buffer, type: number, rdOff: number, rdLen: number): unknown {
  // rdOff points at the RDLENGTH field, as dns-packet's codecs expect
  const data = rdOff + 2;
  const end = data + rdLen;
  switch (type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
      return ipText(msg, data, rdLen);
    case DNS_TYPE_TXT:
    case DNS_TYPE_HINFO:
      return characterStrings(msg, data, end);
    // the record types Tracee shows: names read by readDnsName (interned, Go text)
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
    case DNS_TYPE_DNAME:
      return rdataName(msg, data, end);
    case DNS_TYPE_MX: {
      need(rdOff, rdLen, 3, "MX");
      return { preference: msg.readUInt16BE(data), exchange: rdataName(msg, data + 2, end) } satisfies DnsMX;
    }
    case DNS_TYPE_SRV: {
      need(rdOff, rdLen, 7, "SRV");
      return {
        priority: msg.readUInt16BE(data),
        weight: msg.readUInt16BE(data + 2),
        port: msg.readUInt16BE(data + 4),
        target: rdataName(msg, data + 6, end),
      } satisfies DnsSRV;
    }
    case DNS_TYPE_SOA: {
      const mname = rdataName(msg, data, end);
      const o = data + nameBytes;
      const rname = rdataName(msg, o, end);
      const n = o + nameBytes;
      if (n + 20 > end) throw new DnsFormatError("SOA RDATA truncated", rdOff);
      return {
        mname,
        rname,
        serial: msg.readUInt32BE(n),
        refresh: msg.readUInt32BE(n + 4),
        retry: msg.readUInt32BE(n + 8),
        expire: msg.readUInt32BE(n + 12),
        minimum: msg.readUInt32BE(n + 16),
      } satisfies DnsSOA;
    }
    case DNS_TYPE_URI: {
      // RFC 7553, not known to dns-packet
      if (rdLen < 4) throw new DnsFormatError(`URI record with ${rdLen}-byte RDATA`, rdOff);
      return {
        priority: msg.readUInt16BE(data),
        weight: msg.readUInt16BE(data + 2),
        target: goText(msg, data + 4, end),
      } satisfies DnsURI;
    }
    case DNS_TYPE_OPT: {
      const options: DnsOption[] = [];
      let o = data;
      while (o < end) {
        if (o + 4 > end) throw new DnsFormatError("EDNS option header truncated", o);
        const len = msg.readUInt16BE(o + 2);
        if (o + 4 + len > end) throw new DnsFormatError("EDNS option data truncated", o);
        options.push({ code: msg.readUInt16BE(o), data: goText(msg, o + 4, o + 4 + len) });
        o += 4 + len;
      }
      return options;
    }
    default: {
      const codec = codecFor(type);
      if (codec === null) return msg.subarray(data, end);
      let v: unknown;
      try {
        v = codec.decode(msg, rdOff);
      } catch (e) {
        throw new DnsFormatError(`bad ${dpTypes.toString(type)} RDATA at offset ${rdOff}: ${(e as Error).message}`, rdOff);
      }
      return v;
    }
  }
}

function decodeRecords(msg: Buffer, off: number, count: number, out: DnsRecord[]): number {
  const end = msg.length;
  for (let i = 0; i < count; i++) {
    const name = readName(msg, off);
    off += nameBytes;
    if (off + 10 > end) throw new DnsFormatError(`record ${i} header truncated`, off);
    const type = msg.readUInt16BE(off);
    const klass = msg.readUInt16BE(off + 2);
    const ttl = msg.readUInt32BE(off + 4);
    const rdLen = msg.readUInt16BE(off + 8);
    if (off + 10 + rdLen > end) throw new DnsFormatError(`record ${i} RDATA truncated (${rdLen} bytes)`, off + 8);
    const data = decodeRdata(msg, type, off + 8, rdLen);
    const raw = type === DNS_TYPE_TXT || type === DNS_TYPE_HINFO ? goText(msg, off + 10, off + 10 + rdLen) : "";
    out.push({ name, type, class: klass, ttl, data, raw });
    off += 10 + rdLen;
  }
  return off;
}

/**
 * Decode one DNS message. `msg` holds exactly the message (a view, not a copy);
 * compression pointers are offsets into it.
 */
export function decodeDnsMessage(msg: Buffer): DnsMessage {
  if (msg.length < 12) throw new DnsFormatError(`message of ${msg.length} bytes is shorter than the 12-byte header`, 0);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  const ns = msg.readUInt16BE(8);
  const ar = msg.readUInt16BE(10);
  // every question needs >= 5 bytes and every record >= 11: reject impossible counts before allocating
  if (12 + qd * 5 + (an + ns + ar) * 11 > msg.length) {
    throw new DnsFormatError(`counts (${qd}/${an}/${ns}/${ar}) do not fit in ${msg.length} bytes`, 4);
  }
  const m: DnsMessage = {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    qdCount: qd,
    anCount: an,
    nsCount: ns,
    arCount: ar,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const name = readName(msg, off);
    off += nameBytes;
    if (off + 4 > msg.length) throw new DnsFormatError(`question ${i} truncated`, off);
    m.questions.push({ name, type: msg.readUInt16BE(off), class: msg.readUInt16BE(off + 2) });
    off += 4;
  }
  off = decodeRecords(msg, off, an, m.answers);
  off = decodeRecords(msg, off, ns, m.authorities);
  decodeRecords(msg, off, ar, m.additionals);
  return m;
}
