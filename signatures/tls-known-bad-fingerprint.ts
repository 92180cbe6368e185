// NETSIG-TLS-KNOWN-BAD-FINGERPRINT: a TLS ClientHello whose JA3 or JA4
// fingerprint is on the list of known malware and attack-tool clients
// (signatures/data/tls-fingerprints.json: fingerprint, kind ja3 or ja4,
// name, source).
//
// The list is read when the signature loads (netsig inlines a JSON import
// beside a signature file: signatures cannot read files when they run). To
// use your own list, copy this file and the data folder into your signatures
// folder, give the copy another id, and edit the JSON; netsig reloads it when
// the signature file changes.
//
// Fires once per (client, server, fingerprint) per WINDOW_SECONDS of packet
// time; at most MAX_KEYS keys are remembered (the oldest evicted first).

import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { clientHelloOf, getPacketMetadata, ReportLimiter } from "netsig/helpers";
import LIST from "./data/tls-fingerprints.json";

interface Entry {
  fingerprint: string;
  kind: string;
  name: string;
  source: string;
}

const WINDOW_SECONDS = 3600;
const MAX_KEYS = 4096;

/** the list by fingerprint, one map per kind (fingerprints compared in lowercase) */
function index(kind: string): Map<string, Entry> {
  const m = new Map<string, Entry>();
  for (const e of (LIST as { fingerprints: Entry[] }).fingerprints) if (e.kind === kind) m.set(e.fingerprint.toLowerCase(), e);
  return m;
}
const JA3 = index("ja3");
const JA4 = index("ja4");

export default class TlsKnownBadFingerprint implements Signature {
  private ctx!: SignatureContext;
  private reported = new ReportLimiter(WINDOW_SECONDS, MAX_KEYS);

  getMetadata(): SignatureMetadata {
    return {
      id: "NETSIG-TLS-KNOWN-BAD-FINGERPRINT",
      version: "1.0.0",
      name: "TLS client with a known-bad fingerprint",
      eventName: "tls_known_bad_fingerprint",
      description: "A TLS ClientHello's JA3 or JA4 fingerprint is one of a known malware or attack tool",
      tags: ["network", "tls", "ja3", "ja4"],
      properties: {
        Severity: 3,
        Category: "command-and-control",
        Technique: "Encrypted Channel",
        external_id: "T1573",
      },
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "netsig", name: "net_packet_tls_client_hello" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.reported.clear();
  }

  onEvent(event: NetEvent): void {
    const h = clientHelloOf(event);
    if (h === null) return;
    const e = JA4.get(h.ja4) ?? JA3.get(h.ja3_hash);
    if (e === undefined) return;
    const meta = getPacketMetadata(event);
    if (this.reported.seen(`${meta.src_ip} ${meta.dst_ip} ${e.fingerprint}`, event.timestamp)) return;
    this.ctx.callback({
      sigMetadata: this.getMetadata(),
      event,
      data: {
        client: meta.src_ip,
        server: meta.dst_ip,
        server_port: meta.dst_port,
        sni: h.sni,
        fingerprint: e.fingerprint,
        kind: e.kind,
        name: e.name,
        source: e.source,
        ja3: h.ja3_hash,
        ja4: h.ja4,
      },
    });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
