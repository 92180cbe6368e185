// What the flow stage (engine/flows/) finds in a flow beyond one packet's
// headers: an HTTP message, a TLS hello, a flow beginning or ending. The
// stage attaches the records a packet completed to it (Packet.records), and
// the event types declared `from: { record }` in events/registry.ts turn each
// into events. A record carries its own addresses (a flow's end may be found
// while another packet is decoded: an idle timeout, an eviction) and the
// values its events show, already in their Tracee shape (plain data, JSON-
// safe: the sandbox gets them as JSON text, wire/compact.ts).

import type { ProtoHTTP, TLSClientHello, TLSServerHello } from "./events";

/** the kinds of record; an event type's declaration names the one it is made from */
export type RecordType = "http" | "tls_client_hello" | "tls_server_hello" | "flow";

interface RecordBase {
  readonly t: RecordType;
  /** the sender of the message (a flow record: the flow's originator) */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** IP protocol number (6 TCP, 17 UDP) */
  proto: number;
}

/** one HTTP/1.x request or response (its header block: the body is not kept) */
export interface HttpRecord extends RecordBase {
  readonly t: "http";
  http: ProtoHTTP;
}

export interface TlsClientHelloRecord extends RecordBase {
  readonly t: "tls_client_hello";
  hello: TLSClientHello;
}

export interface TlsServerHelloRecord extends RecordBase {
  readonly t: "tls_server_hello";
  hello: TLSServerHello;
}

/** a TCP or UDP flow's beginning or end (src/dst: the originator and the responder) */
export interface FlowRecord extends RecordBase {
  readonly t: "flow";
  phase: "begin" | "end";
  /** Tracee's conn_direction: "outgoing" when the originator is local, "incoming" otherwise */
  direction: string;
  /** names that resolved to the originator's / responder's address in DNS answers seen on the wire */
  srcDns: string[];
  dstDns: string[];
  /** Community ID v1 of the flow ("1:<base64 sha1>") */
  communityId: string;
}

export type AppRecord = HttpRecord | TlsClientHelloRecord | TlsServerHelloRecord | FlowRecord;
