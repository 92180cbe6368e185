// TLS ClientHello and ServerHello, from one direction of a TCP flow
// (an AppParser: types/parser.ts, run by the flow stage, engine/flows/).
//
// Recognized by content on any port: a handshake record (type 22, version
// 0x0300-0x0304) whose first handshake message is a ClientHello (1) or a
// ServerHello (2). Either message is accepted from either side: when a
// capture starts mid-connection the flow stage's "originator" is a guess, and
// the message type, not the guess, says which hello it is.
//
// A hello may be split across several TLS records and several TCP segments:
// the flow stage holds the direction's bytes until the whole message is there
// (at most TLS_MAX_HOLD; a longer one is cut and counted by the flow stage).
// In the common case (the message in one record) it is parsed in place; else
// its fragments are gathered into one buffer first. After the hello the
// direction is DONE: what follows is the rest of the handshake and encrypted
// data, of no use here.
//
// Values are kept as sent (GREASE included, as tshark shows them); the
// fingerprints (decode/ja.ts) leave GREASE out as their specifications say.

import { DONE, NEED_MORE, NOT_MINE, type AppParser, type StreamDirection } from "../types/parser";
import type { AppRecord } from "../types/records";
import type { TLSClientHello, TLSServerHello } from "../types/events";
import { clientFingerprints, ja4Alpn, serverFingerprint } from "./ja";
import { goText } from "./text";

/**
 * The most bytes of one direction held while a hello is incomplete: 64 KiB.
 * A real hello is 0.2-2 KB (post-quantum key shares and padding bring browsers
 * to 2-3 KB); the extensions block alone is capped at 64 KiB by its 2-byte
 * length, so nothing a real client sends is larger, and 64 KiB is four
 * maximum-size TLS records. The bound caps what a flow that only pretends to
 * be TLS can make the flow stage hold.
 */
export const TLS_MAX_HOLD = 65536;

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
/** a record's largest length: 2^14 plus the 2048 bytes of expansion TLS allows a protected record */
const MAX_RECORD = 16384 + 2048;

/** ext types read into the hello's fields */
const EXT_SNI = 0;
const EXT_GROUPS = 10;
const EXT_POINT_FORMATS = 11;
const EXT_SIG_ALGS = 13;
const EXT_ALPN = 16;
const EXT_VERSIONS = 43;

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1];

/** the record header at i (5 bytes there): a handshake record of SSL 3.0 - TLS 1.3 with a sane length */
function handshakeRecord(b: Uint8Array, i: number): boolean {
  if (b[i] !== HANDSHAKE || b[i + 1] !== 3 || b[i + 2] > 4) return false;
  const len = u16(b, i + 3);
  return len > 0 && len <= MAX_RECORD;
}

/** wire bytes as text, the way the rest of netsig holds names (decode/text.ts) */
function text(b: Buffer, s: number, e: number): string {
  return goText(b, s, e);
}

/** the bytes as a Buffer (the flow stage's buffers are: no copy, no view made then) */
const asBuffer = (b: Uint8Array): Buffer => (b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** a list of u16 values of `len` bytes at i (len odd: the last byte is left out) */
function u16List(b: Uint8Array, i: number, len: number): number[] {
  const n = len >> 1;
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = (b[i + 2 * k] << 8) | b[i + 2 * k + 1];
  return out;
}

/** a list of u8 values */
function u8List(b: Uint8Array, i: number, len: number): number[] {
  const out = new Array<number>(len);
  for (let j = 0; j < len; j++) out[j] = b[i + j];
  return out;
}

/**
 * A ClientHello's body (the handshake message after its 4-byte header) in
 * [s, e): null when it is malformed (a field runs past the end, or the
 * extensions do not fill their block exactly).
 */
export function parseClientHello(bytes: Uint8Array, s: number, e: number): TLSClientHello | null {
  const b = asBuffer(bytes);
  let i = s;
  if (e - i < 2 + 32 + 1) return null;
  const version = u16(b, i);
  i += 34;
  const sid = b[i++];
  if (sid > 32 || i + sid + 2 > e) return null;
  i += sid;
  const csLen = u16(b, i);
  i += 2;
  if (csLen & 1 || i + csLen + 1 > e) return null;
  const cipherSuites = u16List(b, i, csLen);
  i += csLen;
  const compLen = b[i++];
  if (i + compLen > e) return null;
  i += compLen;
  const hello: TLSClientHello = {
    version,
    versions: [],
    sni: "",
    alpn: [],
    cipher_suites: cipherSuites,
    extensions: [],
    supported_groups: [],
    ec_point_formats: [],
    signature_algorithms: [],
    ja3: "",
    ja3_hash: "",
    ja4: "",
  };
  let hasSni = false;
  let alpn0 = "00";
  if (i < e) {
    // extensions (a hello without them ends after the compression methods)
    if (i + 2 > e) return null;
    const extEnd = i + 2 + u16(b, i);
    i += 2;
    if (extEnd > e) return null;
    while (i < extEnd) {
      if (i + 4 > extEnd) return null;
      const type = u16(b, i);
      const len = u16(b, i + 2);
      const d = i + 4;
      const de = d + len;
      if (de > extEnd) return null;
      hello.extensions.push(type);
      switch (type) {
        case EXT_SNI:
          hasSni = true;
          // server_name_list: u16 length, then entries (type u8, u16 length, name); the first host_name
          if (len >= 2) {
            const listEnd = Math.min(de, d + 2 + u16(b, d));
            for (let j = d + 2; j + 3 <= listEnd; ) {
              const nl = u16(b, j + 1);
              if (j + 3 + nl > listEnd) break;
              if (b[j] === 0 && hello.sni === "") hello.sni = text(b, j + 3, j + 3 + nl);
              j += 3 + nl;
            }
          }
          break;
        case EXT_ALPN:
          // protocol_name_list: u16 length, then entries (u8 length, bytes)
          if (len >= 2) {
            const listEnd = Math.min(de, d + 2 + u16(b, d));
            for (let j = d + 2; j < listEnd; ) {
              const nl = b[j];
              if (j + 1 + nl > listEnd) break;
              if (hello.alpn.length === 0) alpn0 = ja4Alpn(b, j + 1, j + 1 + nl);
              hello.alpn.push(text(b, j + 1, j + 1 + nl));
              j += 1 + nl;
            }
          }
          break;
        case EXT_VERSIONS:
          if (len >= 1) hello.versions = u16List(b, d + 1, Math.min(b[d], len - 1));
          break;
        case EXT_GROUPS:
          if (len >= 2) hello.supported_groups = u16List(b, d + 2, Math.min(u16(b, d), len - 2));
          break;
        case EXT_POINT_FORMATS:
          if (len >= 1) hello.ec_point_formats = u8List(b, d + 1, Math.min(b[d], len - 1));
          break;
        case EXT_SIG_ALGS:
          if (len >= 2) hello.signature_algorithms = u16List(b, d + 2, Math.min(u16(b, d), len - 2));
          break;
      }
      i = de;
    }
  }
  const fp = clientFingerprints(
    version,
    hello.versions,
    hasSni,
    alpn0,
    cipherSuites,
    hello.extensions,
    hello.supported_groups,
    hello.ec_point_formats,
    hello.signature_algorithms,
  );
  hello.ja3 = fp.ja3;
  hello.ja3_hash = fp.ja3_hash;
  hello.ja4 = fp.ja4;
  return hello;
}

/** A ServerHello's body in [s, e): null when malformed */
export function parseServerHello(bytes: Uint8Array, s: number, e: number): TLSServerHello | null {
  const b = asBuffer(bytes);
  let i = s;
  if (e - i < 2 + 32 + 1) return null;
  const version = u16(b, i);
  i += 34;
  const sid = b[i++];
  if (sid > 32 || i + sid + 3 > e) return null;
  i += sid;
  const cipher = u16(b, i);
  i += 3; // the cipher suite and the compression method
  const hello: TLSServerHello = {
    version,
    selected_version: 0,
    cipher_suite: cipher,
    extensions: [],
    alpn: "",
    ja3s: "",
    ja3s_hash: "",
  };
  if (i < e) {
    if (i + 2 > e) return null;
    const extEnd = i + 2 + u16(b, i);
    i += 2;
    if (extEnd > e) return null;
    while (i < extEnd) {
      if (i + 4 > extEnd) return null;
      const type = u16(b, i);
      const len = u16(b, i + 2);
      const d = i + 4;
      if (d + len > extEnd) return null;
      hello.extensions.push(type);
      if (type === EXT_VERSIONS && len >= 2) hello.selected_version = u16(b, d);
      else if (type === EXT_ALPN && len >= 3) {
        // the list holds the one protocol the server chose
        const nl = b[d + 2];
        if (3 + nl <= len) hello.alpn = text(b, d + 3, d + 3 + nl);
      }
      i = d + len;
    }
  }
  const fp = serverFingerprint(version, cipher, hello.extensions);
  hello.ja3s = fp.ja3s;
  hello.ja3s_hash = fp.ja3s_hash;
  return hello;
}

/**
 * The first handshake message of the records at [off, end): its type and its
 * body as [b, s, e] (in place when one record holds it, else gathered into a
 * new buffer); NEED_MORE until it is all there; NOT_MINE when a record is not
 * a handshake record.
 */
function firstMessage(b: Uint8Array, off: number, end: number): { buf: Uint8Array; type: number; s: number; e: number } | number {
  if (end - off < 5) return NEED_MORE;
  if (!handshakeRecord(b, off)) return NOT_MINE;
  const rlen = u16(b, off + 3);
  if (rlen >= 4) {
    const mlen = (b[off + 6] << 16) | u16(b, off + 7);
    if (4 + mlen <= rlen) {
      // the common case: the record holds the whole message
      if (end - off < 9 + mlen) return NEED_MORE;
      return { buf: b, type: b[off + 5], s: off + 9, e: off + 9 + mlen };
    }
  }
  // the message spans records: count the payload bytes there are, then gather them
  let have = 0;
  let need = -1;
  let head = 0; // the first 4 payload bytes (the handshake header), as they come
  for (let i = off; i < end; ) {
    if (end - i < 5) break;
    if (!handshakeRecord(b, i)) return NOT_MINE;
    const ps = i + 5;
    const pe = Math.min(end, ps + u16(b, i + 3));
    for (let j = ps; j < pe && have + (j - ps) < 4; j++) head = (head << 8) | b[j];
    have += pe - ps;
    if (need < 0 && have >= 4) need = 4 + (head & 0xffffff);
    if (need >= 0 && have >= need) break;
    i = ps + u16(b, i + 3);
  }
  if (need < 0 || have < need) return NEED_MORE;
  const msg = new Uint8Array(need);
  let got = 0;
  for (let i = off; got < need; ) {
    const ps = i + 5;
    const pe = Math.min(end, ps + u16(b, i + 3), ps + (need - got));
    msg.set(b.subarray(ps, pe), got);
    got += pe - ps;
    i = ps + u16(b, i + 3);
  }
  return { buf: msg, type: msg[0], s: 4, e: need };
}

export const TLS_PARSER: AppParser = {
  name: "tls",
  maxHold: TLS_MAX_HOLD,

  detect(b: Uint8Array, off: number, end: number): boolean | typeof NEED_MORE {
    const n = end - off;
    if (b[off] !== HANDSHAKE) return false;
    if (n < 2) return NEED_MORE;
    if (b[off + 1] !== 3) return false;
    if (n < 3) return NEED_MORE;
    if (b[off + 2] > 4) return false;
    if (n < 6) return NEED_MORE;
    if (!handshakeRecord(b, off)) return false;
    return b[off + 5] === CLIENT_HELLO || b[off + 5] === SERVER_HELLO;
  },

  parse(b: Uint8Array, off: number, end: number, dir: StreamDirection, out: AppRecord[]): number {
    const m = firstMessage(b, off, end);
    if (typeof m === "number") return m;
    if (m.type === CLIENT_HELLO) {
      const hello = parseClientHello(m.buf, m.s, m.e);
      if (hello === null) return NOT_MINE;
      out.push({ t: "tls_client_hello", src: dir.src, dst: dir.dst, srcPort: dir.srcPort, dstPort: dir.dstPort, proto: 6, hello });
      return DONE;
    }
    if (m.type === SERVER_HELLO) {
      const hello = parseServerHello(m.buf, m.s, m.e);
      if (hello === null) return NOT_MINE;
      out.push({ t: "tls_server_hello", src: dir.src, dst: dir.dst, srcPort: dir.srcPort, dstPort: dir.dstPort, proto: 6, hello });
      return DONE;
    }
    return NOT_MINE;
  },
};
