import { test } from "node:test";
import assert from "node:assert/strict";
import {
  dnsTypeName,
  dnsClassName,
  dnsOpCodeName,
  dnsResponseCodeName,
  dnsOptionCodeName,
  icmpv4TypeCodeName,
  icmpv6TypeCodeName,
  ipProtocolName,
} from "../engine/events/vocab";

// Sources (see docs/tracee-mapping.md):
//   gopacket v1.1.19 layers/dns.go      DNSType/DNSClass/DNSOpCode/DNSResponseCode/DNSOptionCode.String
//   gopacket v1.1.19 layers/icmp4.go    ICMPv4TypeCode.String
//   gopacket v1.1.19 layers/icmp6.go    ICMPv6TypeCode.String
//   gopacket v1.1.19 layers/enums.go + enums_generated.go   IPProtocol.String
//   tracee pkg/events/derive net_packet_dns.go / net_packet_helpers.go (strToLower on opCode and responseCode)

test("dnsTypeName: names seen in the spec examples", () => {
  // gopacket DNSType.String (dns.go); spec questions/answers use these.
  assert.equal(dnsTypeName(1), "A");
  assert.equal(dnsTypeName(5), "CNAME");
  assert.equal(dnsTypeName(15), "MX");
  assert.equal(dnsTypeName(28), "AAAA");
  assert.equal(dnsTypeName(6), "SOA");
  assert.equal(dnsTypeName(41), "OPT"); // additionals OPT pseudo-RR in spec
});

test("dnsTypeName: every other type gopacket v1.1.19 names", () => {
  // gopacket DNSType.String (dns.go) switch cases.
  assert.equal(dnsTypeName(2), "NS");
  assert.equal(dnsTypeName(3), "MD");
  assert.equal(dnsTypeName(4), "MF");
  assert.equal(dnsTypeName(7), "MB");
  assert.equal(dnsTypeName(8), "MG");
  assert.equal(dnsTypeName(9), "MR");
  assert.equal(dnsTypeName(10), "NULL");
  assert.equal(dnsTypeName(11), "WKS");
  assert.equal(dnsTypeName(12), "PTR");
  assert.equal(dnsTypeName(13), "HINFO");
  assert.equal(dnsTypeName(14), "MINFO");
  assert.equal(dnsTypeName(16), "TXT");
  assert.equal(dnsTypeName(33), "SRV");
  assert.equal(dnsTypeName(256), "URI"); // DNSTypeURI = 256
});

test('dnsTypeName: unknown types print "Unknown"', () => {
  // gopacket DNSType.String default branch.
  assert.equal(dnsTypeName(0), "Unknown");
  assert.equal(dnsTypeName(35), "Unknown"); // NAPTR: not in v1.1.19
  assert.equal(dnsTypeName(64), "Unknown"); // SVCB: only in post-2023 gopacket forks
  assert.equal(dnsTypeName(65), "Unknown"); // HTTPS: idem
  assert.equal(dnsTypeName(252), "Unknown"); // AXFR
  assert.equal(dnsTypeName(255), "Unknown"); // ANY query type
  assert.equal(dnsTypeName(257), "Unknown"); // CAA
  assert.equal(dnsTypeName(65534), "Unknown");
});

test("dnsClassName: spec names", () => {
  // gopacket DNSClass.String; spec shows "IN" and "Unknown" for OPT's class
  // (which carries the EDNS UDP payload size, e.g. 512/1232/4096/65494).
  assert.equal(dnsClassName(1), "IN");
  assert.equal(dnsClassName(512), "Unknown");
  assert.equal(dnsClassName(1232), "Unknown");
  assert.equal(dnsClassName(4096), "Unknown");
  assert.equal(dnsClassName(65494), "Unknown");
});

test("dnsClassName: other classes", () => {
  // gopacket DNSClass.String switch: CS/CH/HS and the mixed-case "Any".
  assert.equal(dnsClassName(2), "CS");
  assert.equal(dnsClassName(3), "CH");
  assert.equal(dnsClassName(4), "HS");
  assert.equal(dnsClassName(255), "Any");
  assert.equal(dnsClassName(254), "Unknown"); // NONE is not known to gopacket
  assert.equal(dnsClassName(0), "Unknown");
});

test("dnsOpCodeName: lower-cased gopacket DNSOpCode.String (opcodes 0-6)", () => {
  // tracee copyDNSToProtoDNS: strToLower(l7.OpCode.String()); spec shows "query".
  assert.equal(dnsOpCodeName(0), "query");
  assert.equal(dnsOpCodeName(1), "inverse query");
  assert.equal(dnsOpCodeName(2), "status");
  assert.equal(dnsOpCodeName(3), "unknown"); // unassigned -> lower("Unknown")
  assert.equal(dnsOpCodeName(4), "notify");
  assert.equal(dnsOpCodeName(5), "update");
  assert.equal(dnsOpCodeName(6), "unknown"); // DSO: not in gopacket's table
  assert.equal(dnsOpCodeName(15), "unknown");
});

test("dnsResponseCodeName: lower-cased gopacket DNSResponseCode.String, rcodes 0-23", () => {
  // tracee: strToLower(l7.ResponseCode.String()); spec shows "no error".
  const expected: string[] = [
    "no error", // 0
    "format error", // 1
    "server failure ", // 2: gopacket's string has a trailing space
    "non-existent domain", // 3
    "not implemented", // 4
    "query refused", // 5
    "name exists when it should not", // 6
    "rr set exists when it should not", // 7
    "rr set that should exist does not", // 8
    "server not authoritative for zone", // 9
    "name not contained in zone", // 10
    "unknown",
    "unknown",
    "unknown",
    "unknown",
    "unknown", // 11-15 unassigned
    "bad opt version", // 16 (BADVERS/BADSIG share the value)
    "key not recognized", // 17
    "signature out of time window", // 18
    "bad tkey mode", // 19
    "duplicate key name", // 20
    "algorithm not supported", // 21
    "bad truncation", // 22
    "bad cookie", // 23
  ];
  for (let rc = 0; rc <= 23; rc++) {
    assert.equal(dnsResponseCodeName(rc), expected[rc], `rcode ${rc}`);
  }
});

test('dnsResponseCodeName: extended rcodes beyond 23 print "unknown"', () => {
  // gopacket DNSResponseCode is uint8 and may include OPT extended bits.
  assert.equal(dnsResponseCodeName(24), "unknown");
  assert.equal(dnsResponseCodeName(48), "unknown");
  assert.equal(dnsResponseCodeName(255), "unknown");
});

test('dnsOptionCodeName: gopacket DNSOptionCode.String (OPT array "code")', () => {
  // gopacket dns.go DNSOptionCode.String; used by tracee convertArrayOfDNSOPT.
  assert.equal(dnsOptionCodeName(3), "NSID");
  assert.equal(dnsOptionCodeName(8), "EDNSClientSubnet");
  assert.equal(dnsOptionCodeName(10), "Cookie");
  assert.equal(dnsOptionCodeName(12), "CodePadding");
  assert.equal(dnsOptionCodeName(14), "CodeEDNSKeyTag");
  assert.equal(dnsOptionCodeName(26946), "DeviceID");
  assert.equal(dnsOptionCodeName(15), "Unknown"); // Extended DNS Error: not in v1.1.19
  assert.equal(dnsOptionCodeName(0), "Unknown");
});

test("icmpv4TypeCodeName: spec names", () => {
  // gopacket ICMPv4TypeCode.String: types without a code table print bare name at code 0.
  assert.equal(icmpv4TypeCodeName(8, 0), "EchoRequest");
  assert.equal(icmpv4TypeCodeName(0, 0), "EchoReply");
});

test("icmpv4TypeCodeName: types with code tables", () => {
  // gopacket icmp4.go icmpv4TypeCodeInfo code maps -> "Type(Code)".
  assert.equal(icmpv4TypeCodeName(3, 0), "DestinationUnreachable(Net)");
  assert.equal(icmpv4TypeCodeName(3, 3), "DestinationUnreachable(Port)");
  assert.equal(icmpv4TypeCodeName(3, 4), "DestinationUnreachable(FragmentationNeeded)");
  assert.equal(icmpv4TypeCodeName(3, 13), "DestinationUnreachable(CommAdminProhibited)");
  assert.equal(icmpv4TypeCodeName(3, 15), "DestinationUnreachable(PrecedenceCutoff)");
  assert.equal(icmpv4TypeCodeName(5, 2), "Redirect(TOS+Net)");
  assert.equal(icmpv4TypeCodeName(11, 0), "TimeExceeded(TTLExceeded)");
  assert.equal(icmpv4TypeCodeName(11, 1), "TimeExceeded(FragmentReassemblyTimeExceeded)");
  assert.equal(icmpv4TypeCodeName(12, 2), "ParameterProblem(BadLength)");
});

test("icmpv4TypeCodeName: unknown code of a type with a code table", () => {
  // gopacket: unknown code -> "Type(Code: N)".
  assert.equal(icmpv4TypeCodeName(3, 16), "DestinationUnreachable(Code: 16)");
  assert.equal(icmpv4TypeCodeName(11, 2), "TimeExceeded(Code: 2)");
});

test("icmpv4TypeCodeName: codeless types with a non-zero code", () => {
  // gopacket: type without code table but code != 0 -> "Type(Code: N)".
  assert.equal(icmpv4TypeCodeName(8, 1), "EchoRequest(Code: 1)");
  assert.equal(icmpv4TypeCodeName(4, 0), "SourceQuench");
  assert.equal(icmpv4TypeCodeName(13, 0), "TimestampRequest");
  assert.equal(icmpv4TypeCodeName(18, 0), "AddressMaskReply");
  assert.equal(icmpv4TypeCodeName(9, 16), "RouterAdvertisement(Code: 16)");
});

test('icmpv4TypeCodeName: unknown types print "type(code)"', () => {
  // gopacket: unknown type -> fmt "%d(%d)".
  assert.equal(icmpv4TypeCodeName(1, 0), "1(0)");
  assert.equal(icmpv4TypeCodeName(42, 0), "42(0)");
  assert.equal(icmpv4TypeCodeName(255, 255), "255(255)");
  // memoised result is stable on repeat calls
  assert.equal(icmpv4TypeCodeName(42, 0), "42(0)");
});

test("icmpv6TypeCodeName: spec names", () => {
  // gopacket ICMPv6TypeCode.String.
  assert.equal(icmpv6TypeCodeName(128, 0), "EchoRequest");
  assert.equal(icmpv6TypeCodeName(129, 0), "EchoReply");
});

test("icmpv6TypeCodeName: types with code tables", () => {
  // gopacket icmp6.go icmpv6TypeCodeInfo code maps.
  assert.equal(icmpv6TypeCodeName(1, 0), "DestinationUnreachable(NoRouteToDst)");
  assert.equal(icmpv6TypeCodeName(1, 4), "DestinationUnreachable(PortUnreachable)");
  assert.equal(icmpv6TypeCodeName(1, 6), "DestinationUnreachable(RejectRouteToDst)");
  assert.equal(icmpv6TypeCodeName(1, 7), "DestinationUnreachable(Code: 7)");
  assert.equal(icmpv6TypeCodeName(3, 0), "TimeExceeded(HopLimitExceeded)");
  assert.equal(icmpv6TypeCodeName(4, 2), "ParameterProblem(UnrecognizedIPv6Option)");
});

test("icmpv6TypeCodeName: codeless types and unknown types", () => {
  // gopacket: bare name / "Type(Code: N)" / "%d(%d)".
  assert.equal(icmpv6TypeCodeName(2, 0), "PacketTooBig");
  assert.equal(icmpv6TypeCodeName(133, 0), "RouterSolicitation");
  assert.equal(icmpv6TypeCodeName(134, 0), "RouterAdvertisement");
  assert.equal(icmpv6TypeCodeName(135, 0), "NeighborSolicitation");
  assert.equal(icmpv6TypeCodeName(136, 0), "NeighborAdvertisement");
  assert.equal(icmpv6TypeCodeName(137, 0), "Redirect");
  assert.equal(icmpv6TypeCodeName(128, 3), "EchoRequest(Code: 3)");
  assert.equal(icmpv6TypeCodeName(130, 0), "130(0)"); // MLD query: decoded but not in String table
  assert.equal(icmpv6TypeCodeName(143, 0), "143(0)"); // MLDv2 report: idem
  assert.equal(icmpv6TypeCodeName(200, 5), "200(5)");
});

test("ipProtocolName: spec names", () => {
  // gopacket IPProtocol.String (enums.go names); spec ipv4 "protocol" and ipv6 "nextHeader".
  assert.equal(ipProtocolName(6), "TCP");
});

test("ipProtocolName: other known protocols", () => {
  // gopacket enums.go initActualTypeData IPProtocolMetadata names.
  assert.equal(ipProtocolName(17), "UDP");
  assert.equal(ipProtocolName(1), "ICMPv4");
  assert.equal(ipProtocolName(58), "ICMPv6");
  assert.equal(ipProtocolName(0), "IPv6HopByHop");
  assert.equal(ipProtocolName(2), "IGMP");
  assert.equal(ipProtocolName(4), "IPv4");
  assert.equal(ipProtocolName(94), "IPv4"); // IPIP
  assert.equal(ipProtocolName(41), "IPv6");
  assert.equal(ipProtocolName(43), "IPv6Routing");
  assert.equal(ipProtocolName(44), "IPv6Fragment");
  assert.equal(ipProtocolName(47), "GRE");
  assert.equal(ipProtocolName(50), "IPSecESP");
  assert.equal(ipProtocolName(51), "IPSecAH");
  assert.equal(ipProtocolName(59), "NoNextHeader");
  assert.equal(ipProtocolName(60), "IPv6Destination");
  assert.equal(ipProtocolName(89), "OSPF");
  assert.equal(ipProtocolName(97), "EtherIP");
  assert.equal(ipProtocolName(112), "VRRP");
  assert.equal(ipProtocolName(132), "SCTP");
  assert.equal(ipProtocolName(136), "UDPLite");
  assert.equal(ipProtocolName(137), "MPLS");
  assert.equal(ipProtocolName(27), "RUDP");
});

test("ipProtocolName: unknown protocol numbers", () => {
  // gopacket enums_generated.go initUnknownTypesForIPProtocol: Name "UnknownIPProtocol" (no number).
  assert.equal(ipProtocolName(3), "UnknownIPProtocol");
  assert.equal(ipProtocolName(103), "UnknownIPProtocol"); // PIM
  assert.equal(ipProtocolName(135), "UnknownIPProtocol"); // Mobility header
  assert.equal(ipProtocolName(253), "UnknownIPProtocol");
  assert.equal(ipProtocolName(255), "UnknownIPProtocol");
});
