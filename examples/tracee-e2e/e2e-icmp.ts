// Port of Tracee's e2e ICMP network signature (tests/e2e-net-signatures/e2e-icmp.go):
// fires on every ICMP echo reply from 172.16.17.1 to 172.16.17.2.
//
// Traffic that triggers it: Tracee's e2e test pings the host from a network
// namespace, `ip netns exec e2ens1 ping -W 5 -c 3 172.16.17.1`; each of the
// three echo replies is one finding.
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoICMP, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "172.16.17.1";
const DST = "172.16.17.2";

export default class E2eICMP implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "ICMP",
      version: "0.1.0",
      name: "Network ICMP Test",
      eventName: "ICMP",
      description: "Network E2E Tests: ICMP",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_icmp" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_icmp" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_icmp")?.value as ProtoICMP | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.typeCode !== "EchoReply") return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
