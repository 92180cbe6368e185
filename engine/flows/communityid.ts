// Community ID v1 (corelight/community-id-spec): the flow hash Zeek, Suricata,
// Wireshark and Elastic share, so a finding can be pivoted to other sensors'
// records of the same flow. SHA-1 over seed (2 bytes), the two addresses, the
// IP protocol, a zero byte and the two ports (all big-endian), the endpoints
// ordered so that both directions hash alike; base64, "1:" in front. ICMP and
// ICMPv6 put type and code in the ports: a request/reply pair (echo, ...) maps
// to the same flow, other types are one-way (never reordered).
// Host-side only (node:crypto): the sandbox realm never computes it.

import { createHash } from "node:crypto";

/** ICMP (v4) types whose counterpart makes a two-way flow (Zeek's ICMP4_counterpart) */
const ICMP4_PAIRS: Readonly<Record<number, number>> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
/** ICMPv6: echo, router and neighbor discovery, MLD, node information (who-are-you), home agent discovery */
const ICMP6_PAIRS: Readonly<Record<number, number>> = {
  128: 129,
  129: 128,
  133: 134,
  134: 133,
  135: 136,
  136: 135,
  130: 131,
  131: 130,
  139: 140,
  140: 139,
  144: 145,
  145: 144,
};

/** an address's bytes (4 for a dotted quad, 16 for IPv6 text), or null when the text is not an address */
export function addressBytes(text: string): Uint8Array | null {
  if (text.indexOf(":") >= 0) return ipv6Bytes(text);
  const out = new Uint8Array(4);
  return ipv4Bytes(text, out, 0) ? out : null;
}

function ipv4Bytes(text: string, out: Uint8Array, off: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const s = parts[i];
    if (!/^[0-9]{1,3}$/.test(s)) return false;
    const n = Number(s);
    if (n > 255) return false;
    out[off + i] = n;
  }
  return true;
}

function ipv6Bytes(text: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const pct = text.indexOf("%");
  const t = pct >= 0 ? text.slice(0, pct) : text;
  const halves = t.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // an embedded IPv4 address (::ffff:1.2.3.4) takes the last two groups
  const words: number[] = [];
  const parse = (list: string[], last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (last && i === list.length - 1 && g.indexOf(".") >= 0) {
        const v4 = new Uint8Array(4);
        if (!ipv4Bytes(g, v4, 0)) return false;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      words.push(parseInt(g, 16));
    }
    return true;
  };
  if (!parse(head, halves.length === 1)) return null;
  const nHead = words.length;
  if (!parse(tail, true)) return null;
  const nTail = words.length - nHead;
  if (halves.length === 1 ? words.length !== 8 : words.length > 7) return null;
  const at = (i: number, w: number) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  };
  for (let i = 0; i < nHead; i++) at(i, words[i]);
  for (let i = 0; i < nTail; i++) at(8 - nTail + i, words[nHead + i]);
  return out;
}

/** the ports Community ID uses for an ICMP/ICMPv6 message: [type, counterpart or code, one-way] */
export function icmpPorts(v6: boolean, type: number, code: number): [number, number, boolean] {
  const peer = (v6 ? ICMP6_PAIRS : ICMP4_PAIRS)[type];
  return peer === undefined ? [type, code, true] : [type, peer, false];
}

function less(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Community ID v1 of a flow from its addresses' bytes (ports: TCP, UDP, SCTP;
 * for ICMP give the type and code, mapped here; hasPorts false: a protocol
 * without ports)
 */
export function communityIdBytes(
  proto: number,
  src: Uint8Array,
  dst: Uint8Array,
  srcPort: number,
  dstPort: number,
  hasPorts = true,
  seed = 0,
): string {
  let sp = srcPort;
  let dp = dstPort;
  let oneWay = false;
  if (proto === 1 || proto === 58) [sp, dp, oneWay] = icmpPorts(proto === 58, srcPort, dstPort);
  const c = less(src, dst);
  const swap = !oneWay && (c > 0 || (c === 0 && sp > dp));
  const a = swap ? dst : src;
  const b = swap ? src : dst;
  const n = 2 + a.length + b.length + 2 + (hasPorts ? 4 : 0);
  const buf = Buffer.alloc(n);
  buf.writeUInt16BE(seed & 0xffff, 0);
  buf.set(a, 2);
  buf.set(b, 2 + a.length);
  let o = 2 + a.length + b.length;
  buf[o++] = proto & 0xff;
  buf[o++] = 0;
  if (hasPorts) {
    buf.writeUInt16BE((swap ? dp : sp) & 0xffff, o);
    buf.writeUInt16BE((swap ? sp : dp) & 0xffff, o + 2);
  }
  return "1:" + createHash("sha1").update(buf).digest("base64");
}

/** the protocols whose Community ID has ports (TCP, UDP, SCTP, and ICMP/ICMPv6's type and code) */
export function hasPortsProto(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 1 || proto === 58;
}

/** Community ID v1 from addresses as text ("" when either is not an address) */
export function communityId(proto: number, src: string, dst: string, srcPort: number, dstPort: number, seed = 0): string {
  const a = addressBytes(src);
  const b = addressBytes(dst);
  if (a === null || b === null || a.length !== b.length) return "";
  return communityIdBytes(proto, a, b, srcPort, dstPort, hasPortsProto(proto), seed);
}
