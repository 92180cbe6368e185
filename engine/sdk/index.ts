// netsig's signature API: Tracee's signature interface in TypeScript naming.
// A signature file default-exports a class (or an object) implementing
// `Signature`; `import type { ... } from "netsig"` gives editors the types.

export type {
  Arg,
  TraceeEvent,
  ProtoIPv4,
  ProtoIPv6,
  ProtoTCP,
  ProtoUDP,
  ProtoICMP,
  ProtoICMPv6,
  ProtoDNS,
  ProtoDNSQuestion,
  ProtoDNSResourceRecord,
  ProtoDNSSOA,
  ProtoDNSSRV,
  ProtoDNSMX,
  ProtoDNSURI,
  ProtoDNSOPT,
  PktMeta,
  DnsQueryData,
  DnsAnswer,
  DnsResponseData,
  ProtoHTTP,
  ProtoHTTPRequest,
  ProtoHTTPResponse,
  EventName,
} from "../types/events";

export type { NetFlow } from "./helpers";

export type {
  NetEvent,
  Severity,
  SignatureMetadata,
  EventSelector,
  Finding,
  Signal,
  Logger,
  SignatureContext,
  Signature,
} from "../types/signature";
