// DNS message model and RR type numbers: plain data, no dependencies, so the
// event builder (which also runs bundled inside the signature sandbox) can use
// them without pulling in the decoder.

export const DNS_TYPE_A = 1;
export const DNS_TYPE_NS = 2;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_SOA = 6;
export const DNS_TYPE_NULL = 10;
export const DNS_TYPE_PTR = 12;
export const DNS_TYPE_HINFO = 13;
export const DNS_TYPE_MX = 15;
export const DNS_TYPE_TXT = 16;
export const DNS_TYPE_AAAA = 28;
export const DNS_TYPE_SRV = 33;
export const DNS_TYPE_DNAME = 39;
export const DNS_TYPE_OPT = 41;
export const DNS_TYPE_URI = 256;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsSOA {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface DnsSRV {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface DnsMX {
  preference: number;
  exchange: string;
}
export interface DnsURI {
  priority: number;
  weight: number;
  target: string;
}
export interface DnsOption {
  code: number;
  data: string;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /**
   * RDATA as decoded: a string for A/AAAA (address, as Go's net.IP prints it)
   * and NS/CNAME/PTR/DNAME (name); DnsMX, DnsSOA, DnsSRV, DnsURI; string[] for
   * TXT and HINFO (the character-strings); DnsOption[] for OPT; for other
   * types what dns-packet's codec returns (a Buffer view, valid only while the
   * packet is being handled, for types it does not know).
   * All text is Go-compatible (see text.ts).
   */
  data: unknown;
  /** TXT/HINFO: the whole RDATA as text (length bytes included), as Tracee's TXT field */
  raw: string;
}

export interface DnsMessage {
  id: number;
  /** the 16-bit flags word: QR, opcode, AA, TC, RD, RA, Z(3), rcode */
  flags: number;
  qdCount: number;
  anCount: number;
  nsCount: number;
  arCount: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}
