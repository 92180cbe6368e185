/**
 * Protocol vocabulary exactly as Tracee prints it in net_packet_* events.
 *
 * Tracee (2022/2023 network events) fills its trace.Proto* structs from
 * gopacket v1.1.19 decoded layers and calls the gopacket `String()` methods of
 * the enum types (DNSType, DNSClass, DNSOpCode, DNSResponseCode,
 * ICMPv4TypeCode, ICMPv6TypeCode, IPProtocol, DNSOptionCode). Tracee
 * lower-cases only two of them (opCode and responseCode). The tables below are
 * our own TypeScript re-statement of those String() results, including the
 * fallbacks printed for values gopacket does not know. See
 * docs/tracee-mapping.md for the sources read.
 *
 * All lookups are O(1) and allocation-free on the hot path: dense arrays are
 * built once at module load, sparse enums use `switch` over string literals,
 * and the ICMP "Type(Code)" strings are memoised per (type, code) pair the
 * first time a combination is seen.
 *
 * Inputs are coerced to the wire width of the field (uint8 / uint16) the same
 * way Go's unsigned conversions wrap, so callers may pass raw numbers.
 */

const UNKNOWN = "Unknown";

// ---------------------------------------------------------------------------
// DNS RR / question type (gopacket DNSType.String, uint16)
// ---------------------------------------------------------------------------

/**
 * Name printed for a DNS RR/question type ("type", "query_type",
 * "answer_type"). gopacket v1.1.19 knows 1-16, 28, 33, 41 and 256; every other
 * value (ANY=255, CAA=257, SVCB=64, HTTPS=65, NAPTR=35, ...) prints "Unknown".
 */
export function dnsTypeName(t: number): string {
  switch (t & 0xffff) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 3:
      return "MD";
    case 4:
      return "MF";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 7:
      return "MB";
    case 8:
      return "MG";
    case 9:
      return "MR";
    case 10:
      return "NULL";
    case 11:
      return "WKS";
    case 12:
      return "PTR";
    case 13:
      return "HINFO";
    case 14:
      return "MINFO";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 33:
      return "SRV";
    case 41:
      return "OPT";
    case 256:
      return "URI";
    default:
      return UNKNOWN;
  }
}

// ---------------------------------------------------------------------------
// DNS class (gopacket DNSClass.String, uint16)
// ---------------------------------------------------------------------------

/**
 * Name printed for a DNS class ("class", "query_class"). Note the mixed-case
 * "Any" for 255 and "Unknown" for everything else, including NONE (254) and
 * the OPT pseudo-RR, whose class field carries the EDNS UDP payload size.
 */
export function dnsClassName(c: number): string {
  switch (c & 0xffff) {
    case 1:
      return "IN";
    case 2:
      return "CS";
    case 3:
      return "CH";
    case 4:
      return "HS";
    case 255:
      return "Any";
    default:
      return UNKNOWN;
  }
}

// ---------------------------------------------------------------------------
// DNS opcode (Tracee: strings.ToLower(gopacket DNSOpCode.String()), 4 bits)
// ---------------------------------------------------------------------------

const DNS_OPCODE_NAMES: readonly string[] = [
  "query", // 0
  "inverse query", // 1
  "status", // 2
  "unknown", // 3
  "notify", // 4
  "update", // 5
  "unknown",
  "unknown",
  "unknown",
  "unknown",
  "unknown", // 6-10 (6 = DSO, unknown to gopacket)
  "unknown",
  "unknown",
  "unknown",
  "unknown",
  "unknown", // 11-15
];

/**
 * ProtoDNS "opCode". Tracee has no table of its own: it lower-cases gopacket's
 * DNSOpCode.String(). The header field is 4 bits; larger inputs are masked.
 */
export function dnsOpCodeName(op: number): string {
  return DNS_OPCODE_NAMES[op & 0x0f] as string;
}

// ---------------------------------------------------------------------------
// DNS response code (Tracee: strings.ToLower(gopacket DNSResponseCode.String()))
// ---------------------------------------------------------------------------

const DNS_RCODE_NAMES: readonly string[] = (() => {
  const a: string[] = new Array<string>(256).fill("unknown");
  a[0] = "no error";
  a[1] = "format error";
  a[2] = "server failure "; // gopacket's string carries a trailing space
  a[3] = "non-existent domain";
  a[4] = "not implemented";
  a[5] = "query refused";
  a[6] = "name exists when it should not";
  a[7] = "rr set exists when it should not";
  a[8] = "rr set that should exist does not";
  a[9] = "server not authoritative for zone";
  a[10] = "name not contained in zone";
  // 11-15 unassigned -> "unknown"
  a[16] = "bad opt version"; // BADVERS and BADSIG share 16; gopacket prints BADVERS
  a[17] = "key not recognized";
  a[18] = "signature out of time window";
  a[19] = "bad tkey mode";
  a[20] = "duplicate key name";
  a[21] = "algorithm not supported";
  a[22] = "bad truncation";
  a[23] = "bad cookie";
  return a;
})();

/**
 * ProtoDNS "responseCode". gopacket's DNSResponseCode is a uint8: the 4-bit
 * header RCODE, OR-ed with (OPT TTL >> 20) & 0xF0 when an OPT RR is present
 * (extended RCODE), so values 0-255 can reach this function. Tracee lower-cases
 * the gopacket string.
 */
export function dnsResponseCodeName(rc: number): string {
  return DNS_RCODE_NAMES[rc & 0xff] as string;
}

// ---------------------------------------------------------------------------
// EDNS option code (gopacket DNSOptionCode.String, uint16) -> ProtoDNSOPT.code
// ---------------------------------------------------------------------------

/**
 * ProtoDNSOPT "code" for each option inside an OPT RR. Unassigned/unknown
 * codes print "Unknown". Names are gopacket's, including its odd
 * "CodePadding"/"CodeChain"/"CodeEDNSKeyTag" spellings.
 */
export function dnsOptionCodeName(code: number): string {
  switch (code & 0xffff) {
    case 3:
      return "NSID";
    case 5:
      return "DAU";
    case 6:
      return "DHU";
    case 7:
      return "N3U";
    case 8:
      return "EDNSClientSubnet";
    case 9:
      return "EDNSExpire";
    case 10:
      return "Cookie";
    case 11:
      return "EDNSKeepAlive";
    case 12:
      return "CodePadding";
    case 13:
      return "CodeChain";
    case 14:
      return "CodeEDNSKeyTag";
    case 16:
      return "EDNSClientTag";
    case 17:
      return "EDNSServerTag";
    case 26946:
      return "DeviceID";
    default:
      return UNKNOWN;
  }
}

// ---------------------------------------------------------------------------
// ICMPv4 / ICMPv6 type+code (gopacket ICMPv{4,6}TypeCode.String)
// ---------------------------------------------------------------------------

/** Per-type info: the type name and, if the type has a code table, its names. */
interface TypeInfo {
  readonly name: string;
  readonly codes: readonly (string | undefined)[] | null;
}

function buildTypeTable(
  entries: ReadonlyArray<readonly [number, string, ReadonlyArray<readonly [number, string]> | null]>,
): (TypeInfo | undefined)[] {
  const table: (TypeInfo | undefined)[] = new Array<TypeInfo | undefined>(256).fill(undefined);
  for (const [type, name, codeList] of entries) {
    let codes: (string | undefined)[] | null = null;
    if (codeList !== null) {
      codes = new Array<string | undefined>(256).fill(undefined);
      for (const [code, codeName] of codeList) codes[code] = codeName;
    }
    table[type] = { name, codes };
  }
  return table;
}

/**
 * gopacket's formatting rules (identical for v4 and v6):
 *   unknown type                      -> "<type>(<code>)"        e.g. "42(0)"
 *   type without code table, code 0   -> "<Type>"                e.g. "EchoRequest"
 *   type without code table, code !=0 -> "<Type>(Code: <code>)"  e.g. "EchoRequest(Code: 1)"
 *   type with code table, known code  -> "<Type>(<Code>)"        e.g. "DestinationUnreachable(Port)"
 *   type with code table, other code  -> "<Type>(Code: <code>)"  e.g. "TimeExceeded(Code: 7)"
 */
function formatTypeCode(table: readonly (TypeInfo | undefined)[], type: number, code: number): string {
  const info = table[type];
  if (info === undefined) return `${type}(${code})`;
  if (info.codes === null) return code === 0 ? info.name : `${info.name}(Code: ${code})`;
  const codeName = info.codes[code];
  return codeName === undefined ? `${info.name}(Code: ${code})` : `${info.name}(${codeName})`;
}

const ICMPV4_TYPES = buildTypeTable([
  [0, "EchoReply", null],
  [
    3,
    "DestinationUnreachable",
    [
      [0, "Net"],
      [1, "Host"],
      [2, "Protocol"],
      [3, "Port"],
      [4, "FragmentationNeeded"],
      [5, "SourceRoutingFailed"],
      [6, "NetUnknown"],
      [7, "HostUnknown"],
      [8, "SourceIsolated"],
      [9, "NetAdminProhibited"],
      [10, "HostAdminProhibited"],
      [11, "NetTOS"],
      [12, "HostTOS"],
      [13, "CommAdminProhibited"],
      [14, "HostPrecedence"],
      [15, "PrecedenceCutoff"],
    ],
  ],
  [4, "SourceQuench", null],
  [
    5,
    "Redirect",
    [
      [0, "Net"],
      [1, "Host"],
      [2, "TOS+Net"],
      [3, "TOS+Host"],
    ],
  ],
  [8, "EchoRequest", null],
  [9, "RouterAdvertisement", null],
  [10, "RouterSolicitation", null],
  [
    11,
    "TimeExceeded",
    [
      [0, "TTLExceeded"],
      [1, "FragmentReassemblyTimeExceeded"],
    ],
  ],
  [
    12,
    "ParameterProblem",
    [
      [0, "PointerIndicatesError"],
      [1, "MissingOption"],
      [2, "BadLength"],
    ],
  ],
  [13, "TimestampRequest", null],
  [14, "TimestampReply", null],
  [15, "InfoRequest", null],
  [16, "InfoReply", null],
  [17, "AddressMaskRequest", null],
  [18, "AddressMaskReply", null],
]);

// MLD types (130-132, 143) are decoded by gopacket v1.1.19 but are absent from
// its String() table, so they print in the numeric "type(code)" form.
const ICMPV6_TYPES = buildTypeTable([
  [
    1,
    "DestinationUnreachable",
    [
      [0, "NoRouteToDst"],
      [1, "AdminProhibited"],
      [2, "BeyondScopeOfSrc"],
      [3, "AddressUnreachable"],
      [4, "PortUnreachable"],
      [5, "SrcAddressFailedPolicy"],
      [6, "RejectRouteToDst"],
    ],
  ],
  [2, "PacketTooBig", null],
  [
    3,
    "TimeExceeded",
    [
      [0, "HopLimitExceeded"],
      [1, "FragmentReassemblyTimeExceeded"],
    ],
  ],
  [
    4,
    "ParameterProblem",
    [
      [0, "ErroneousHeaderField"],
      [1, "UnrecognizedNextHeader"],
      [2, "UnrecognizedIPv6Option"],
    ],
  ],
  [128, "EchoRequest", null],
  [129, "EchoReply", null],
  [133, "RouterSolicitation", null],
  [134, "RouterAdvertisement", null],
  [135, "NeighborSolicitation", null],
  [136, "NeighborAdvertisement", null],
  [137, "Redirect", null],
]);

// Memo of every (type << 8 | code) string already produced; filled lazily so a
// repeated combination never allocates again.
const ICMPV4_MEMO: (string | undefined)[] = new Array<string | undefined>(65536).fill(undefined);
const ICMPV6_MEMO: (string | undefined)[] = new Array<string | undefined>(65536).fill(undefined);

/** ProtoICMP "typeCode" for an ICMPv4 message (type and code are uint8). */
export function icmpv4TypeCodeName(type: number, code: number): string {
  const t = type & 0xff;
  const c = code & 0xff;
  const key = (t << 8) | c;
  const hit = ICMPV4_MEMO[key];
  if (hit !== undefined) return hit;
  const s = formatTypeCode(ICMPV4_TYPES, t, c);
  ICMPV4_MEMO[key] = s;
  return s;
}

/** ProtoICMPv6 "typeCode" for an ICMPv6 message (type and code are uint8). */
export function icmpv6TypeCodeName(type: number, code: number): string {
  const t = type & 0xff;
  const c = code & 0xff;
  const key = (t << 8) | c;
  const hit = ICMPV6_MEMO[key];
  if (hit !== undefined) return hit;
  const s = formatTypeCode(ICMPV6_TYPES, t, c);
  ICMPV6_MEMO[key] = s;
  return s;
}

// ---------------------------------------------------------------------------
// IP protocol number (gopacket IPProtocol.String, uint8)
// ---------------------------------------------------------------------------

const IP_PROTOCOL_NAMES: readonly string[] = (() => {
  const a: string[] = new Array<string>(256).fill("UnknownIPProtocol");
  a[0] = "IPv6HopByHop";
  a[1] = "ICMPv4";
  a[2] = "IGMP";
  a[4] = "IPv4";
  a[6] = "TCP";
  a[17] = "UDP";
  a[27] = "RUDP";
  a[41] = "IPv6";
  a[43] = "IPv6Routing";
  a[44] = "IPv6Fragment";
  a[47] = "GRE";
  a[50] = "IPSecESP";
  a[51] = "IPSecAH";
  a[58] = "ICMPv6";
  a[59] = "NoNextHeader";
  a[60] = "IPv6Destination";
  a[89] = "OSPF";
  a[94] = "IPv4"; // IP-within-IP (IPIP) is named "IPv4" by gopacket too
  a[97] = "EtherIP";
  a[112] = "VRRP";
  a[132] = "SCTP";
  a[136] = "UDPLite";
  a[137] = "MPLS";
  return a;
})();

/**
 * ProtoIPv4 "protocol" and ProtoIPv6 "nextHeader". Unknown numbers print the
 * bare string "UnknownIPProtocol" (no number). Note protocol 0 prints
 * "IPv6HopByHop" even inside an IPv4 header.
 */
export function ipProtocolName(p: number): string {
  return IP_PROTOCOL_NAMES[p & 0xff] as string;
}
