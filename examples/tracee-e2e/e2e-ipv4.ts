// Port of Tracee's e2e IPv4 network signature (tests/e2e-net-signatures/e2e-ipv4.go):
// fires on every IPv4 packet from 172.16.17.2 to 172.16.17.1 whose header is
// version 4 with no options (IHL 5) and whose src/dst fields agree.
//
// Traffic that triggers it: Tracee's e2e test pings the host from a network
// namespace, `ip netns exec e2ens1 ping -W 5 -c 3 172.16.17.1`; each of the
// three echo requests (172.16.17.2 -> 172.16.17.1) is one finding.
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoIPv4, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "172.16.17.2";
const DST = "172.16.17.1";

export default class E2eIPv4 implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "IPv4",
      version: "0.1.0",
      name: "Network IPv4 Test",
      eventName: "IPv4",
      description: "Network E2E Tests: IPv4",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_ipv4" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_ipv4" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_ipv4")?.value as ProtoIPv4 | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.version !== 4 || p.IHL !== 5 || p.srcIP !== SRC || p.dstIP !== DST) return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
