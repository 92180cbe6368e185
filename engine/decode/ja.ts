// TLS fingerprints of a parsed hello (decode/tls.ts):
//  - JA3 (Salesforce): "SSLVersion,Ciphers,Extensions,EllipticCurves,
//    EllipticCurvePointFormats", decimal values joined by '-', GREASE values
//    (RFC 8701) removed; its MD5 in lowercase hex.
//  - JA3S: "SSLVersion,Cipher,Extensions" of a ServerHello (GREASE removed
//    likewise); its MD5.
//  - JA4 (FoxIO's JA4 specification, technical_details/JA4.md, BSD-3-Clause):
//    t<version><d|i><ciphers:2><extensions:2><alpn first+last>_<sha256/12 of
//    the sorted cipher list>_<sha256/12 of the sorted extension list without
//    SNI and ALPN, then '_' and the signature algorithms in order>.
//
// Host-only (node:crypto): the realm never imports this. The fingerprints
// are memoized on their inputs (bounded): a host's clients send a handful of
// hello shapes over and over, so most hellos pay a pass over their numbers
// instead of building the strings and three hash calls (bench: "tls hello").

import * as crypto from "node:crypto";

/** a GREASE value (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

type HashFn = (alg: string, data: string) => string;
/** crypto.hash (Node >= 20.12, one call) or createHash (older Node) */
const hashOf: HashFn =
  typeof (crypto as { hash?: HashFn }).hash === "function"
    ? (crypto as unknown as { hash: HashFn }).hash
    : (alg, data) => crypto.createHash(alg).update(data).digest("hex");

/** crypto.hash's hex digest */
const hex = (alg: string, s: string): string => hashOf(alg, s);

// ---- the fingerprint memo
//
// A fingerprint is a pure function of a few numbers and lists of the hello.
// Their FNV-1a hash finds a memo entry, whose copies of the inputs must equal
// them exactly (a collision just recomputes): a hit costs two passes over
// ~100 numbers and allocates nothing; a miss builds the strings and calls
// the hash functions. At most MEMO_MAX entries per memo, emptied when full.

const MEMO_MAX = 1024;

const mix = (h: number, v: number): number => Math.imul(h ^ v, 0x01000193);

function mixList(h: number, list: readonly number[]): number {
  h = mix(h, list.length);
  for (let i = 0; i < list.length; i++) h = mix(h, list[i]);
  return h;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface ClientEntry {
  version: number;
  hasSni: boolean;
  alpn: string;
  lists: number[][];
  value: ClientFingerprints;
}
interface ServerEntry {
  version: number;
  cipher: number;
  extensions: number[];
  value: ServerFingerprint;
}

class Memo<E> {
  readonly map = new Map<number, E>();
  hits = 0;
  misses = 0;
  add(h: number, e: E): void {
    this.misses++;
    if (this.map.size >= MEMO_MAX) this.map.clear();
    this.map.set(h, e);
  }
}

/** the fingerprints of a ClientHello */
export interface ClientFingerprints {
  ja3: string;
  ja3_hash: string;
  ja4: string;
}
/** the fingerprint of a ServerHello */
export interface ServerFingerprint {
  ja3s: string;
  ja3s_hash: string;
}

export const clientMemo = new Memo<ClientEntry>();
export const serverMemo = new Memo<ServerEntry>();

/** turn the memos off (true) or on, emptying them: the bench measures both */
let memoOff = false;
export function setMemoOff(off: boolean): void {
  memoOff = off;
  clientMemo.map.clear();
  serverMemo.map.clear();
}

/** the values of a list without its GREASE ones, decimal, joined by '-' */
function dashed(list: readonly number[]): string {
  let s = "";
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (isGrease(v)) continue;
    s = s === "" ? String(v) : s + "-" + v;
  }
  return s;
}

/** the JA3 string of a ClientHello */
export function ja3String(
  version: number,
  ciphers: readonly number[],
  extensions: readonly number[],
  groups: readonly number[],
  pointFormats: readonly number[],
): string {
  return `${version},${dashed(ciphers)},${dashed(extensions)},${dashed(groups)},${dashed(pointFormats)}`;
}

/** the JA3S string of a ServerHello */
export function ja3sString(version: number, cipher: number, extensions: readonly number[]): string {
  return `${version},${cipher},${dashed(extensions)}`;
}

const HEX = "0123456789abcdef";
function hex4(v: number): string {
  return HEX[(v >> 12) & 15] + HEX[(v >> 8) & 15] + HEX[(v >> 4) & 15] + HEX[v & 15];
}

/** JA4's two-character version: SSL 2.0 to TLS 1.3, DTLS 1.0-1.3, else "00" */
function ja4Version(v: number): string {
  switch (v) {
    case 0x0304:
      return "13";
    case 0x0303:
      return "12";
    case 0x0302:
      return "11";
    case 0x0301:
      return "10";
    case 0x0300:
      return "s3";
    case 0x0002:
      return "s2";
    case 0xfeff:
      return "d1";
    case 0xfefd:
      return "d2";
    case 0xfefc:
      return "d3";
    default:
      return "00";
  }
}

const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * JA4's ALPN part from the first ALPN value's bytes: its first and last
 * characters when both are ASCII letters or digits (one character: twice),
 * else the first and last digits of its hex form; "00" without a value.
 */
export function ja4Alpn(b: Uint8Array, start: number, end: number): string {
  if (end <= start) return "00";
  const first = b[start];
  const last = b[end - 1];
  if (isAlnum(first) && isAlnum(last)) return String.fromCharCode(first, last);
  return HEX[first >> 4] + HEX[last & 15];
}

const byNumber = (a: number, b: number): number => a - b;

/** the sorted lowercase 4-digit hex list of the non-GREASE values, comma-joined (skip: also leave out 0x0000 and 0x0010) */
function sortedHex(list: readonly number[], skipSniAlpn: boolean): string {
  const vals: number[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (isGrease(v) || (skipSniAlpn && (v === 0x0000 || v === 0x0010))) continue;
    vals.push(v);
  }
  vals.sort(byNumber);
  let s = "";
  for (let i = 0; i < vals.length; i++) s = i === 0 ? hex4(vals[i]) : s + "," + hex4(vals[i]);
  return s;
}

function countNonGrease(list: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) if (!isGrease(list[i])) n++;
  return n;
}

const two = (n: number): string => (n > 99 ? "99" : n < 10 ? "0" + n : String(n));

/**
 * The JA4 fingerprint of a ClientHello over TCP. `versions`: the
 * supported_versions extension's list ([] without it); `alpn`: JA4's ALPN
 * part (ja4Alpn).
 */
export function ja4(
  legacyVersion: number,
  versions: readonly number[],
  hasSni: boolean,
  alpn: string,
  ciphers: readonly number[],
  extensions: readonly number[],
  sigAlgs: readonly number[],
): string {
  let v = -1;
  for (let i = 0; i < versions.length; i++) if (!isGrease(versions[i]) && versions[i] > v) v = versions[i];
  const a =
    "t" +
    ja4Version(v === -1 ? legacyVersion : v) +
    (hasSni ? "d" : "i") +
    two(countNonGrease(ciphers)) +
    two(countNonGrease(extensions)) +
    alpn;
  const cs = sortedHex(ciphers, false);
  const b = cs === "" ? "000000000000" : hex("sha256", cs).slice(0, 12);
  const es = sortedHex(extensions, true);
  let c = "000000000000";
  if (es !== "") {
    let sigs = "";
    for (let i = 0; i < sigAlgs.length; i++) {
      if (isGrease(sigAlgs[i])) continue;
      sigs = sigs === "" ? hex4(sigAlgs[i]) : sigs + "," + hex4(sigAlgs[i]);
    }
    c = hex("sha256", sigs === "" ? es : es + "_" + sigs).slice(0, 12);
  }
  return a + "_" + b + "_" + c;
}

/**
 * JA3 (string and MD5) and JA4 of a ClientHello, memoized on their inputs.
 * `alpn`: JA4's ALPN part (ja4Alpn).
 */
export function clientFingerprints(
  version: number,
  versions: readonly number[],
  hasSni: boolean,
  alpn: string,
  ciphers: readonly number[],
  extensions: readonly number[],
  groups: readonly number[],
  pointFormats: readonly number[],
  sigAlgs: readonly number[],
): ClientFingerprints {
  let h = mix(mix(mix(0x811c9dc5, version), hasSni ? 1 : 0), (alpn.charCodeAt(0) << 8) | alpn.charCodeAt(1));
  h = mixList(mixList(mixList(h, versions), ciphers), extensions);
  h = mixList(mixList(mixList(h, groups), pointFormats), sigAlgs);
  const e = memoOff ? undefined : clientMemo.map.get(h);
  if (
    e !== undefined &&
    e.version === version &&
    e.hasSni === hasSni &&
    e.alpn === alpn &&
    sameList(e.lists[0], versions) &&
    sameList(e.lists[1], ciphers) &&
    sameList(e.lists[2], extensions) &&
    sameList(e.lists[3], groups) &&
    sameList(e.lists[4], pointFormats) &&
    sameList(e.lists[5], sigAlgs)
  ) {
    clientMemo.hits++;
    return e.value;
  }
  const s = ja3String(version, ciphers, extensions, groups, pointFormats);
  const value = { ja3: s, ja3_hash: hex("md5", s), ja4: ja4(version, versions, hasSni, alpn, ciphers, extensions, sigAlgs) };
  if (!memoOff) {
    const lists = [versions, ciphers, extensions, groups, pointFormats, sigAlgs].map((l) => l.slice());
    clientMemo.add(h, { version, hasSni, alpn, lists, value });
  }
  return value;
}

/** JA3S (string and MD5) of a ServerHello, memoized on its inputs */
export function serverFingerprint(version: number, cipher: number, extensions: readonly number[]): ServerFingerprint {
  const h = mixList(mix(mix(0x811c9dc5, version), cipher), extensions);
  const e = memoOff ? undefined : serverMemo.map.get(h);
  if (e !== undefined && e.version === version && e.cipher === cipher && sameList(e.extensions, extensions)) {
    serverMemo.hits++;
    return e.value;
  }
  const s = ja3sString(version, cipher, extensions);
  const value = { ja3s: s, ja3s_hash: hex("md5", s) };
  if (!memoOff) serverMemo.add(h, { version, cipher, extensions: extensions.slice(), value });
  return value;
}
