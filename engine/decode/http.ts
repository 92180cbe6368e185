// HTTP/1.x over one direction of a TCP flow (an AppParser: types/parser.ts).
//
// Recognized by content on any port: a request line with a known method
// (RFC 9110, PATCH, WebDAV and its extensions) or a status line "HTTP/1.".
// Each message's header block is reassembled (the flow stage holds at most
// maxHold bytes: a larger block is cut and counted, never buffered further)
// and becomes one record; its body is skipped as it arrives, never kept:
// Content-Length, the chunked coding (sizes, extensions, trailers), no body
// for 1xx/204/304 and for a response to HEAD, read-until-close for a response
// without a length. Pipelined and keep-alive messages each make a record.
//
// The values are Tracee's: it runs Go's http.ReadRequest / ReadResponse(r,
// nil) on a packet's payload (pkg/events/derive/net_packet_helpers.go), so a
// record holds what those would: Request.URL.Path (percent-decoded, no query),
// Request.Host (an absolute URI's host, else the Host header), Header as
// textproto.ReadMIMEHeader builds it (canonical names, values trimmed, folded
// lines joined) minus what ReadRequest/readTransfer remove (Host,
// Transfer-Encoding, Content-Length beside chunked, an empty Content-Length,
// Trailer beside chunked, "Connection: close" of a 1.1 response) plus what
// fixPragmaCacheControl adds, and ContentLength as fixLength computes it. A
// message Go rejects gives no record (Tracee logs it and emits nothing), and
// the direction is no longer parsed (a server closes the connection too).
// test/tracee-choices.test.ts writes each rule down; docs/events.md.

import type { ProtoHTTP } from "../types/events";
import { type AppParser, NEED_MORE, NOT_MINE, type StreamDirection } from "../types/parser";
import type { AppRecord, HttpRecord } from "../types/records";
import { goText } from "./text";

/**
 * The largest header block (start line, fields, blank line) a direction may
 * hold: 64 KiB. Above what servers accept (nginx 8-32 KiB, Node.js 16 KiB,
 * Apache 8 KiB a line) and below Go's 1 MiB DefaultMaxHeaderBytes: a larger
 * block is an attack or a broken peer, and holding 1 MiB per flow direction
 * would let a few thousand flows take gigabytes. The flow stage counts a cut
 * message (FlowStats.cut) and stops parsing that direction.
 */
export const HTTP_MAX_HEADER = 64 * 1024;
/** the longest chunk-size line (Go's chunked reader: 4096) */
const MAX_CHUNK_LINE = 4096;
/** requests remembered for their responses (a response to HEAD has no body) */
const MAX_PENDING = 64;

/** request methods recognized: RFC 9110, RFC 5789, WebDAV (RFC 4918) and its extensions (RFC 3253, 3648, 3744, 4791, 5323, 5842) */
export const HTTP_METHODS: readonly string[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "VERSION-CONTROL",
  "REPORT",
  "CHECKOUT",
  "CHECKIN",
  "UNCHECKOUT",
  "MKWORKSPACE",
  "UPDATE",
  "LABEL",
  "MERGE",
  "BASELINE-CONTROL",
  "MKACTIVITY",
  "ORDERPATCH",
  "ACL",
  "MKCALENDAR",
  "SEARCH",
  "BIND",
  "UNBIND",
  "REBIND",
];
const METHOD_SET = new Set(HTTP_METHODS);
const MAX_METHOD = 16;

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

// what a direction is doing between calls
const HEADERS = 0;
const BODY = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;

/** a direction's state (StreamDirection.state) */
export class HttpState {
  /** true: requests flow this way; false: responses */
  constructor(readonly requests: boolean) {}
  phase = HEADERS;
  /** bytes of the header block (or trailer section, or chunk line) already searched, from the unconsumed start */
  scanned = 0;
  /** body or chunk bytes still to skip */
  remaining = 0;
  /** the requests' methods, oldest first, until their responses are seen (kept on the request side) */
  pending: string[] = [];
  /** the direction stops after the current message (a protocol switch, a tunnel) */
  switched = false;
}

/** token characters (RFC 9110 tchar), as Go's validHeaderFieldByte */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** bytes Go's validHeaderValueByte rejects: controls but HT, and DEL */
const BAD_VALUE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) if (c !== HT) BAD_VALUE[c] = 1;
BAD_VALUE[0x7f] = 1;

/** ASCII bytes allowed unescaped in a URL host (Go's shouldEscape(c, encodeHost) is false) */
const HOST_OK = new Uint8Array(128);
for (const c of "!$&'()*+,;=:[]<>\"-_.~") HOST_OK[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) HOST_OK[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST_OK[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOST_OK[c] = 1;

/** ASCII characters of a URL's userinfo Go accepts (validUserinfo) */
const USERINFO_OK = new Uint8Array(128);
for (const c of "-._:~!$&'()*+,;=%@") USERINFO_OK[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) USERINFO_OK[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) USERINFO_OK[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) USERINFO_OK[c] = 1;

const text = (b: Uint8Array, s: number, e: number): string => goText(b as Buffer, s, e);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** "HTTP/1.1", "HTTP/1.0" or "HTTP/X.Y" with single digits (Go's ParseHTTPVersion); [major, minor] or null */
function httpVersion(b: Uint8Array, s: number, e: number): number {
  if (e - s !== 8) return -1;
  if (b[s] !== 0x48 || b[s + 1] !== 0x54 || b[s + 2] !== 0x54 || b[s + 3] !== 0x50 || b[s + 4] !== 0x2f) return -1;
  if (!isDigit(b[s + 5]) || b[s + 6] !== 0x2e || !isDigit(b[s + 7])) return -1;
  return (b[s + 5] - 0x30) * 10 + (b[s + 7] - 0x30);
}

/** is `b[off..end)` the start of a request line or a status line? */
function detectHttp(b: Uint8Array, off: number, end: number): boolean | typeof NEED_MORE {
  const c = b[off];
  if (c === 0x48 && end - off >= 2 && b[off + 1] === 0x54) {
    // "HTTP/1." then a digit
    const want = "HTTP/1.";
    const n = Math.min(end - off, want.length);
    for (let i = 0; i < n; i++) if (b[off + i] !== want.charCodeAt(i)) return isMethodPrefix(b, off, end);
    if (n < want.length) return NEED_MORE;
    return true;
  }
  return isMethodPrefix(b, off, end);
}

function isMethodPrefix(b: Uint8Array, off: number, end: number): boolean | typeof NEED_MORE {
  const lim = Math.min(end, off + MAX_METHOD + 1);
  for (let i = off; i < lim; i++) {
    const c = b[i];
    if (c === SP) {
      if (i === off) return false;
      let m = "";
      for (let j = off; j < i; j++) m += String.fromCharCode(b[j]);
      if (!METHOD_SET.has(m)) return false;
      if (i + 1 >= end) return NEED_MORE;
      const t = b[i + 1];
      // a request-target: origin-form, absolute-form, authority-form, or "*"
      return t > SP && t < 0x7f;
    }
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d)) return false;
  }
  return lim - off <= MAX_METHOD ? NEED_MORE : false;
}

/** the end of the header block starting at `off` (just past its blank line), -1 if not there yet; st.scanned resumes the search */
function headerEnd(b: Uint8Array, off: number, end: number, st: HttpState): number {
  let i = off + st.scanned;
  for (;;) {
    const nl = findLF(b, i, end);
    if (nl < 0) {
      st.scanned = i - off;
      return -1;
    }
    // the line [i, nl) is empty (or a lone CR): the block ends
    if (i > off && (nl === i || (nl === i + 1 && b[i] === CR))) {
      st.scanned = 0;
      return nl + 1;
    }
    i = nl + 1;
  }
}

/** a header block's lines: [start, end) of each, without the line ending */
function lineEnd(b: Uint8Array, s: number, nl: number): number {
  return nl > s && b[nl - 1] === CR ? nl - 1 : nl;
}

/** Go's http.Header being built: canonical name -> values, in order */
type Headers = Record<string, string[]>;

function addHeader(h: Headers, k: string, v: string): void {
  const vs = Object.hasOwn(h, k) ? h[k] : undefined;
  if (vs !== undefined) vs.push(v);
  else if (k === "__proto__") Object.defineProperty(h, k, { value: [v], enumerable: true, writable: true, configurable: true });
  else h[k] = [v];
}

const has = (h: Headers, k: string): boolean => Object.hasOwn(h, k);

/**
 * textproto.CanonicalMIMEHeaderKey as ReadMIMEHeader applies it (Go 1.21+):
 * a name of token characters is canonicalized ("user-agent" -> "User-Agent");
 * one with a space is kept as it is; anything else (or an empty name) is an error (null)
 */
function headerName(b: Uint8Array, s: number, e: number): string | null {
  if (s === e) return null;
  let space = false;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (TCHAR[c] === 1) continue;
    if (c === SP) {
      space = true;
      continue;
    }
    return null;
  }
  let k = "";
  if (space) {
    for (let i = s; i < e; i++) k += String.fromCharCode(b[i]);
    return k;
  }
  let upper = true;
  for (let i = s; i < e; i++) {
    let c = b[i];
    if (upper && c >= 0x61 && c <= 0x7a) c -= 0x20;
    else if (!upper && c >= 0x41 && c <= 0x5a) c += 0x20;
    k += String.fromCharCode(c);
    upper = c === 0x2d;
  }
  return k;
}

/** the first byte `c` in [i, end), or -1 (Uint8Array.indexOf would look past `end`) */
function find(b: Uint8Array, c: number, i: number, end: number): number {
  for (; i < end; i++) if (b[i] === c) return i;
  return -1;
}
const findLF = (b: Uint8Array, i: number, end: number): number => find(b, LF, i, end);

const isSpace = (c: number) => c === SP || c === HT || c === CR || c === LF;

/**
 * The fields of a header block from `s` (the line after the start line) to
 * `e` (past the blank line), as textproto.ReadMIMEHeader reads them; null
 * when Go would return an error
 */
function readFields(b: Uint8Array, s: number, e: number): Headers | null {
  const h: Headers = {};
  let i = s;
  // the first field line cannot start with a space
  if (b[i] === SP || b[i] === HT) return null;
  let key = "";
  let value = "";
  let open = false;
  while (i < e) {
    const nl = findLF(b, i, e);
    if (nl < 0) break;
    const le = lineEnd(b, i, nl);
    if (le === i) break; // the blank line
    if (b[i] === SP || b[i] === HT) {
      // a continued (obs-fold) line: joined to the field's value with one space
      let a = i;
      let z = le;
      while (a < z && isSpace(b[a])) a++;
      while (z > a && isSpace(b[z - 1])) z--;
      for (let j = a; j < z; j++) if (BAD_VALUE[b[j]] === 1) return null;
      value += " " + text(b, a, z);
      i = nl + 1;
      continue;
    }
    if (open) addHeader(h, key, value);
    open = false;
    // the whole line is trimmed of spaces, the name ends at the first colon
    let a = i;
    let z = le;
    while (a < z && isSpace(b[a])) a++;
    while (z > a && isSpace(b[z - 1])) z--;
    const colon = find(b, COLON, a, z);
    if (colon < 0) return null;
    const k = headerName(b, a, colon);
    if (k === null) return null;
    let v = colon + 1;
    for (let j = v; j < z; j++) if (BAD_VALUE[b[j]] === 1) return null;
    while (v < z && (b[v] === SP || b[v] === HT)) v++;
    key = k;
    value = text(b, v, z);
    open = true;
    i = nl + 1;
  }
  if (open) addHeader(h, key, value);
  return h;
}

/** Go's textproto.TrimString: without leading and trailing ASCII space */
function trimSpace(s: string): string {
  let a = 0;
  let z = s.length;
  while (a < z && isSpace(s.charCodeAt(a))) a++;
  while (z > a && isSpace(s.charCodeAt(z - 1))) z--;
  return s.slice(a, z);
}

/** httpguts.HeaderValuesContainsToken: a comma-separated list has the token (ASCII case-insensitive) */
function hasToken(vs: string[] | undefined, token: string): boolean {
  if (vs === undefined) return false;
  for (const v of vs) {
    for (const part of v.split(",")) {
      let a = 0;
      let z = part.length;
      while (a < z && (part.charCodeAt(a) === SP || part.charCodeAt(a) === HT)) a++;
      while (z > a && (part.charCodeAt(z - 1) === SP || part.charCodeAt(z - 1) === HT)) z--;
      if (z - a === token.length && part.slice(a, z).toLowerCase() === token) return true;
    }
  }
  return false;
}

/** strconv.ParseUint(s, 10, 63) of a Content-Length: digits only; -1 when invalid */
function contentLength(s: string): number {
  if (s.length === 0 || s.length > 19) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  // above 2^63-1 is out of range for Go; above 2^53-1 netsig prints the largest exact integer (docs/events.md)
  if (s.length === 19 && s > "9223372036854775807") return -1;
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** what the message's framing and Go's readTransfer say; null when Go would fail */
interface Transfer {
  chunked: boolean;
  /** Go's ContentLength */
  length: number;
}

/**
 * Go's readTransfer over a message's Header (which it edits as Go does):
 * parseTransferEncoding, fixLength, fixTrailer and, for a response,
 * shouldClose. `status` is 0 for a request.
 */
function transfer(h: Headers, atLeast11: boolean, status: number, isResponse: boolean, major: number, minor: number): Transfer | null {
  let chunked = false;
  // parseTransferEncoding: the header goes in any case; only "chunked", once, is understood (from HTTP/1.1)
  if (has(h, "Transfer-Encoding")) {
    const te = h["Transfer-Encoding"];
    delete h["Transfer-Encoding"];
    if (atLeast11) {
      if (te.length !== 1 || te[0].toLowerCase() !== "chunked") return null;
      delete h["Content-Length"];
      chunked = true;
    }
  }
  // fixLength
  let length: number;
  let cls = has(h, "Content-Length") ? h["Content-Length"] : undefined;
  if (cls !== undefined && cls.length > 1) {
    const first = trimSpace(cls[0]);
    for (let i = 1; i < cls.length; i++) if (trimSpace(cls[i]) !== first) return null;
    cls = h["Content-Length"] = [first];
  }
  if (isResponse && ((status >= 100 && status < 200) || status === 204 || status === 304)) length = 0;
  else if (chunked) length = -1;
  else {
    const cl = cls !== undefined && cls.length === 1 ? trimSpace(cls[0]) : "";
    if (cl !== "") {
      length = contentLength(cl);
      if (length < 0) return null;
    } else {
      delete h["Content-Length"];
      length = isResponse ? -1 : 0;
    }
  }
  // fixTrailer: with chunked, the Trailer header goes, and may not name the framing headers
  if (chunked && has(h, "Trailer")) {
    for (const v of h.Trailer)
      for (const part of v.split(",")) {
        const k = trimSpace(part).toLowerCase();
        if (k === "transfer-encoding" || k === "trailer" || k === "content-length") return null;
      }
    delete h.Trailer;
  }
  // shouldClose(..., removeCloseHeader=true) for a response: "Connection: close" goes from HTTP/1.1 on
  if (isResponse && major >= 1 && !(major === 1 && minor === 0) && hasToken(h.Connection, "close")) delete h.Connection;
  return { chunked, length };
}

/** fixPragmaCacheControl: "Pragma: no-cache" without Cache-Control adds "Cache-Control: no-cache" */
function fixPragma(h: Headers): void {
  if (has(h, "Pragma") && h.Pragma.length > 0 && h.Pragma[0] === "no-cache" && !has(h, "Cache-Control")) h["Cache-Control"] = ["no-cache"];
}

/** Go's url.unescape: percent-decoded bytes, or null on a bad escape (host: only non-ASCII may be escaped, and %25) */
function urlUnescape(b: Uint8Array, s: number, e: number, host: boolean): Uint8Array | null {
  let pct = false;
  for (let i = s; i < e; ) {
    const c = b[i];
    if (c === 0x25) {
      if (i + 2 >= e || hexVal(b[i + 1]) < 0 || hexVal(b[i + 2]) < 0) return null;
      if (host && hexVal(b[i + 1]) < 8 && !(b[i + 1] === 0x32 && b[i + 2] === 0x35)) return null;
      pct = true;
      i += 3;
      continue;
    }
    if (host && c < 0x80 && HOST_OK[c] !== 1) return null;
    i++;
  }
  if (!pct) return b.subarray(s, e);
  const out = new Uint8Array(e - s);
  let n = 0;
  for (let i = s; i < e; ) {
    if (b[i] === 0x25) {
      out[n++] = (hexVal(b[i + 1]) << 4) | hexVal(b[i + 2]);
      i += 3;
    } else out[n++] = b[i++];
  }
  return out.subarray(0, n);
}

const bytesText = (u: Uint8Array): string =>
  u.length === 0 ? "" : text(u instanceof Buffer ? u : Buffer.from(u.buffer, u.byteOffset, u.length), 0, u.length);

/** Go's url.parseHost: the host (and port) of an authority, percent-decoded; null when invalid */
function parseHost(b: Uint8Array, s: number, e: number): string | null {
  const validPort = (a: number) => {
    if (a === e) return true;
    if (b[a] !== COLON) return false;
    for (let i = a + 1; i < e; i++) if (!isDigit(b[i])) return false;
    return true;
  };
  if (s < e && b[s] === 0x5b) {
    let close = -1;
    for (let i = e - 1; i >= s; i--)
      if (b[i] === 0x5d) {
        close = i;
        break;
      }
    if (close < 0 || !validPort(close + 1)) return null;
  } else {
    for (let i = e - 1; i >= s; i--)
      if (b[i] === COLON) {
        if (!validPort(i)) return null;
        break;
      }
  }
  const u = urlUnescape(b, s, e, true);
  return u === null ? null : bytesText(u);
}

/**
 * Go's url.ParseRequestURI of a request-target, as ReadRequest calls it (a
 * CONNECT's authority-form gets "http://" in front first): [Path, Host], or
 * null when Go returns an error
 */
function requestTarget(b: Uint8Array, s: number, e: number, connect: boolean): [string, string] | null {
  if (s === e) return null;
  for (let i = s; i < e; i++) if (b[i] < 0x20 || b[i] === 0x7f) return null;
  if (e - s === 1 && b[s] === 0x2a) return ["*", ""];
  let scheme = false;
  let rest = s;
  if (connect && b[s] !== 0x2f) scheme = true;
  else
    for (let i = s; i < e; i++) {
      const c = b[i];
      if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue;
      if (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) {
        if (i === s) break;
        continue;
      }
      if (c === COLON) {
        if (i === s) return null; // "missing protocol scheme"
        scheme = true;
        rest = i + 1;
      }
      break;
    }
  // the query goes (a lone "?" at the end too)
  let end = e;
  for (let i = rest; i < e; i++)
    if (b[i] === 0x3f) {
      end = i;
      break;
    }
  const authority = connect && rest === s && scheme;
  if (!authority && (end === rest || b[rest] !== 0x2f)) {
    if (scheme) return ["", ""]; // opaque
    return null; // "invalid URI for request"
  }
  let host = "";
  let path = rest;
  if (authority || (scheme && end - rest >= 2 && b[rest + 1] === 0x2f)) {
    const a = authority ? rest : rest + 2;
    let z = end;
    for (let i = a; i < end; i++)
      if (b[i] === 0x2f) {
        z = i;
        break;
      }
    // userinfo@host: the host is after the last "@"
    let at = -1;
    for (let i = z - 1; i >= a; i--)
      if (b[i] === 0x40) {
        at = i;
        break;
      }
    const h = parseHost(b, at < 0 ? a : at + 1, z);
    if (h === null) return null;
    if (at >= 0) {
      for (let i = a; i < at; i++) if (b[i] >= 0x80 || USERINFO_OK[b[i]] !== 1) return null;
      const colon = find(b, COLON, a, at);
      if (colon >= 0) {
        if (urlUnescape(b, a, colon, false) === null || urlUnescape(b, colon + 1, at, false) === null) return null;
      } else if (urlUnescape(b, a, at, false) === null) return null;
    }
    host = h;
    path = z;
  }
  const p = urlUnescape(b, path, end, false);
  if (p === null) return null;
  return [bytesText(p), host];
}

/** Go's strconv.Atoi of the 3 characters of a status code (a sign allowed); -1 when invalid or negative */
function statusCode(b: Uint8Array, s: number): number {
  let i = s;
  let neg = false;
  if (b[i] === 0x2b || b[i] === 0x2d) {
    neg = b[i] === 0x2d;
    i++;
  }
  if (i === s + 3) return -1;
  let n = 0;
  for (; i < s + 3; i++) {
    if (!isDigit(b[i])) return -1;
    n = n * 10 + (b[i] - 0x30);
  }
  return neg && n !== 0 ? -1 : n;
}

function newRecord(dir: StreamDirection, http: ProtoHTTP): HttpRecord {
  return { t: "http", src: dir.src, dst: dir.dst, srcPort: dir.srcPort, dstPort: dir.dstPort, proto: 6, http };
}

/** what one header block gives: a record (or null: Go rejects it) and how the body is framed */
interface Message {
  record: HttpRecord | null;
  /** the body's framing: -1 chunked, -2 until close, else the bytes to skip */
  body: number;
  method: string;
}

/** a request's header block [s, e) */
function request(b: Uint8Array, s: number, e: number, dir: StreamDirection): Message | null {
  const nl = findLF(b, s, e);
  const le = lineEnd(b, s, nl);
  // Go's parseRequestLine: method SP request-target SP protocol
  const sp1 = find(b, SP, s, le);
  if (sp1 < 0) return null;
  const sp2 = find(b, SP, sp1 + 1, le);
  if (sp2 < 0) return null;
  let method = "";
  for (let i = s; i < sp1; i++) method += String.fromCharCode(b[i]);
  if (!METHOD_SET.has(method)) return null;
  const version = httpVersion(b, sp2 + 1, le);
  if (version < 0) return null;
  const target = requestTarget(b, sp1 + 1, sp2, method === "CONNECT");
  if (target === null) return null;
  const h = readFields(b, nl + 1, e);
  if (h === null) return null;
  if (has(h, "Host") && h.Host.length > 1) return null; // "too many Host headers"
  const host = target[1] !== "" ? target[1] : has(h, "Host") ? h.Host[0] : "";
  delete h.Host;
  fixPragma(h);
  const t = transfer(h, version >= 11, 0, false, Math.floor(version / 10), version % 10);
  if (t === null) return null;
  const http: ProtoHTTP = {
    direction: "request",
    method,
    protocol: text(b, sp2 + 1, le),
    host,
    uri_path: target[0],
    status: "",
    status_code: 0,
    headers: sorted(h),
    content_length: t.length,
  };
  return { record: newRecord(dir, http), body: t.chunked ? -1 : t.length, method };
}

/** a response's header block [s, e); `method`: its request's, when known */
function response(b: Uint8Array, s: number, e: number, dir: StreamDirection, method: string): Message | null {
  const nl = findLF(b, s, e);
  const le = lineEnd(b, s, nl);
  // Go's ReadResponse: proto SP status, the status's first word the 3-character code
  const sp = find(b, SP, s, le);
  if (sp < 0) return null;
  const version = httpVersion(b, s, sp);
  if (version < 0) return null;
  let st = sp + 1;
  while (st < le && b[st] === SP) st++;
  let codeEnd = st;
  while (codeEnd < le && b[codeEnd] !== SP) codeEnd++;
  if (codeEnd - st !== 3) return null;
  const code = statusCode(b, st);
  if (code < 0) return null;
  const h = readFields(b, nl + 1, e);
  if (h === null) return null;
  fixPragma(h);
  const t = transfer(h, version >= 11, code, true, Math.floor(version / 10), version % 10);
  if (t === null) return null;
  const http: ProtoHTTP = {
    direction: "response",
    method: "",
    protocol: text(b, s, sp),
    host: "",
    uri_path: "",
    status: text(b, st, le),
    status_code: code,
    headers: sorted(h),
    content_length: t.length,
  };
  // the body's framing: none after 1xx, 204, 304 and for HEAD; else chunked, a length, or up to the close
  let body: number;
  if ((code >= 100 && code < 200) || code === 204 || code === 304 || method === "HEAD") body = 0;
  else if (t.chunked) body = -1;
  else if (t.length >= 0) body = t.length;
  else body = -2;
  return { record: newRecord(dir, http), body, method };
}

/** the headers with their names in Go's encoding/json order (a map's keys sorted bytewise) */
function sorted(h: Headers): Headers {
  const keys = Object.keys(h);
  let inOrder = true;
  for (let i = 1; i < keys.length; i++)
    if (keys[i - 1] > keys[i]) {
      inOrder = false;
      break;
    }
  if (inOrder) return h;
  keys.sort();
  const out: Headers = {};
  for (const k of keys) {
    if (k === "__proto__") Object.defineProperty(out, k, { value: h[k], enumerable: true, writable: true, configurable: true });
    else out[k] = h[k];
  }
  return out;
}

/** the request side's state of the flow, where its requests' methods wait for their responses */
function peerState(dir: StreamDirection): HttpState | null {
  const s = dir.peer?.state;
  return s instanceof HttpState && s.requests ? s : null;
}

/** parse from `off`: records to `out`; bytes consumed, NEED_MORE or NOT_MINE */
function parseHttp(b: Uint8Array, off: number, end: number, dir: StreamDirection, out: AppRecord[]): number {
  let st = dir.state as HttpState | undefined;
  if (st === undefined) {
    // what the direction's first bytes are decides what it carries (a capture may miss the SYN)
    st = new HttpState(!(b[off] === 0x48 && b[off + 1] === 0x54 && b[off + 2] === 0x54 && b[off + 3] === 0x50 && b[off + 4] === 0x2f));
    dir.state = st;
  }
  let i = off;
  while (i < end) {
    switch (st.phase) {
      case HEADERS: {
        if (st.switched) return NOT_MINE;
        // an empty line between messages is skipped (RFC 9112 2.2)
        if (st.scanned === 0) {
          if (b[i] === LF) {
            i++;
            continue;
          }
          if (b[i] === CR) {
            if (i + 1 >= end) return i > off ? i - off : NEED_MORE;
            if (b[i + 1] === LF) {
              i += 2;
              continue;
            }
          }
        }
        const he = headerEnd(b, i, end, st);
        if (he < 0) {
          // a start line that cannot be HTTP stops the direction early
          if (st.scanned > 0 && !startsHttp(b, i, end, st.requests)) return NOT_MINE;
          return i > off ? i - off : NEED_MORE;
        }
        let m: Message | null;
        if (st.requests) m = request(b, i, he, dir);
        else {
          const req = peerState(dir);
          const method = req !== null && req.pending.length > 0 ? req.pending[0] : "";
          m = response(b, i, he, dir, method);
          // a final response answers the oldest request
          if (m !== null && req !== null && m.record !== null && m.record.http.status_code >= 200) req.pending.shift();
        }
        if (m === null || m.record === null) return NOT_MINE; // Go rejects it: no record, and the direction stops
        out.push(m.record);
        if (st.requests) {
          if (st.pending.length >= MAX_PENDING) st.pending.shift();
          st.pending.push(m.method);
        } else {
          const code = m.record.http.status_code;
          // 101 switches protocols; a 2xx to CONNECT opens a tunnel: what follows is not HTTP
          if (code === 101 || (m.method === "CONNECT" && code >= 200 && code < 300)) st.switched = true;
        }
        i = he;
        if (m.body === -1) st.phase = CHUNK_SIZE;
        else if (m.body === -2) st.phase = UNTIL_CLOSE;
        else if (m.body > 0) {
          st.phase = BODY;
          st.remaining = m.body;
        }
        if (st.switched && st.phase === HEADERS) return i - off;
        break;
      }
      case BODY: {
        const n = Math.min(st.remaining, end - i);
        i += n;
        st.remaining -= n;
        if (st.remaining === 0) st.phase = st.switched ? DONE : HEADERS;
        break;
      }
      case CHUNK_SIZE: {
        // hex size [; extensions] CRLF (Go's chunked reader: a line of at most 4096 bytes)
        const nl = findLF(b, i, end);
        if (nl < 0) {
          if (end - i > MAX_CHUNK_LINE) return NOT_MINE;
          return i > off ? i - off : NEED_MORE;
        }
        let size = 0;
        let digits = 0;
        let j = i;
        for (; j < nl; j++) {
          const v = hexVal(b[j]);
          if (v < 0) break;
          size = size * 16 + v;
          digits++;
        }
        if (digits === 0 || digits > 16) return NOT_MINE;
        while (j < nl && (b[j] === SP || b[j] === HT)) j++;
        if (j < nl && b[j] !== 0x3b && !(b[j] === CR && j === nl - 1)) return NOT_MINE;
        i = nl + 1;
        if (size === 0) st.phase = TRAILERS;
        else {
          st.phase = CHUNK_DATA;
          st.remaining = size;
        }
        break;
      }
      case CHUNK_DATA: {
        const n = Math.min(st.remaining, end - i);
        i += n;
        st.remaining -= n;
        if (st.remaining === 0) st.phase = CHUNK_END;
        break;
      }
      case CHUNK_END: {
        // CRLF after a chunk's data
        if (end - i < 2) return i > off ? i - off : NEED_MORE;
        if (b[i] !== CR || b[i + 1] !== LF) return NOT_MINE;
        i += 2;
        st.phase = CHUNK_SIZE;
        break;
      }
      case TRAILERS: {
        // trailer fields up to a blank line (skipped: Go keeps them out of Header)
        if (b[i] === LF || (b[i] === CR && i + 1 < end && b[i + 1] === LF)) {
          i += b[i] === LF ? 1 : 2;
          st.scanned = 0;
          st.phase = st.switched ? DONE : HEADERS;
          break;
        }
        if (b[i] === CR && i + 1 >= end) return i > off ? i - off : NEED_MORE;
        const he = headerEnd(b, i, end, st);
        if (he < 0) return i > off ? i - off : NEED_MORE;
        i = he;
        st.phase = st.switched ? DONE : HEADERS;
        break;
      }
      case UNTIL_CLOSE:
        return end - off;
      default:
        return NOT_MINE;
    }
  }
  return i - off;
}

/** can the incomplete header block at `s` still be HTTP (its start line so far)? */
function startsHttp(b: Uint8Array, s: number, end: number, requests: boolean): boolean {
  if (requests) return isMethodPrefix(b, s, end) !== false;
  const want = "HTTP/";
  for (let i = 0; i < want.length && s + i < end; i++) if (b[s + i] !== want.charCodeAt(i)) return false;
  return true;
}

export const httpParser: AppParser = {
  name: "http",
  maxHold: HTTP_MAX_HEADER,
  detect: (b, off, end) => detectHttp(b, off, end),
  parse: parseHttp,
};
