// Port of Tracee's e2e UDP network signature (tests/e2e-net-signatures/e2e-udp.go):
// fires on every UDP datagram from 172.16.17.2 to 172.16.17.1 port 8090.
//
// Traffic that triggers it: Tracee's e2e test listens with `nc -u -l 8090` on
// the host and sends from a network namespace
// `echo udpmsg01 | nc -w 1 -u 172.16.17.1 8090` (udpmsg02, udpmsg03): one
// finding per datagram.
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoUDP, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "172.16.17.2";
const DST = "172.16.17.1";

export default class E2eUDP implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "UDP",
      version: "0.1.0",
      name: "Network UDP Test",
      eventName: "UDP",
      description: "Network E2E Tests: UDP",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_udp" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_udp" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_udp")?.value as ProtoUDP | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.dstPort !== 8090) return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
