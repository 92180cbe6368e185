// Port of Tracee's e2e ICMPv6 network signature (tests/e2e-net-signatures/e2e-icmpv6.go):
// fires on every ICMPv6 echo reply from fd6e:a63d:71f:2f4::1 to
// fd6e:a63d:71f:2f4::2.
//
// Traffic that triggers it: Tracee's e2e test pings the host from a network
// namespace, `ip netns exec e2ens1 ping -W 5 -c 3 fd6e:a63d:071f:02f4::1`; each
// echo reply is one finding.
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoICMPv6, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "fd6e:a63d:71f:2f4::1";
const DST = "fd6e:a63d:71f:2f4::2";

export default class E2eICMPv6 implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "ICMPv6",
      version: "0.1.0",
      name: "Network ICMPv6 Test",
      eventName: "ICMPv6",
      description: "Network E2E Tests: ICMPv6",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_icmpv6" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_icmpv6" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_icmpv6")?.value as ProtoICMPv6 | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.typeCode !== "EchoReply") return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
