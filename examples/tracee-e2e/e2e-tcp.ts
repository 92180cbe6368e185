// Port of Tracee's e2e TCP network signature (tests/e2e-net-signatures/e2e-tcp.go):
// fires on every TCP segment from 172.16.17.1 port 8090 to 172.16.17.2 that
// carries ACK and none of RST, URG, SYN, FIN (PSH is not looked at).
//
// Traffic that triggers it: Tracee's e2e test runs `nc -k -l 8090` on the host
// and sends three short messages from a network namespace,
// `echo tcp01 | nc -w 1 172.16.17.1 8090` (tcp02, tcp03); the server's ACKs
// of the data and of the client's FIN are the findings (its SYN-ACK and FIN-ACK
// are not).
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoTCP, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "172.16.17.1";
const DST = "172.16.17.2";

export default class E2eTCP implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "TCP",
      version: "0.1.0",
      name: "Network TCP Test",
      eventName: "TCP",
      description: "Network E2E Tests: TCP",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_tcp" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_tcp" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_tcp")?.value as ProtoTCP | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.srcPort !== 8090 || p.ACK !== 1 || p.RST !== 0 || p.URG !== 0 || p.SYN !== 0 || p.FIN !== 0) return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
