// Port of Tracee's e2e IPv6 network signature (tests/e2e-net-signatures/e2e-ipv6.go):
// fires on every IPv6 packet from fd6e:a63d:71f:2f4::2 to fd6e:a63d:71f:2f4::1
// with version 6 and hop limit 64 whose src/dst fields agree.
//
// Traffic that triggers it: Tracee's e2e test pings the host from a network
// namespace, `ip netns exec e2ens1 ping -W 5 -c 3 fd6e:a63d:071f:02f4::1`;
// each echo request (hop limit 64) is one finding. Neighbour discovery between
// the same addresses uses hop limit 255 and does not match.
//
// As in Tracee: only events with a host name count, and the src/dst args must
// be exactly the test's addresses (the text Tracee prints, compressed IPv6).
// Unlike Tracee, an event without the expected args is ignored instead of
// returning an error.

import type { EventSelector, NetEvent, ProtoIPv6, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getArg } from "netsig/helpers";

const SRC = "fd6e:a63d:71f:2f4::2";
const DST = "fd6e:a63d:71f:2f4::1";

export default class E2eIPv6 implements Signature {
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "IPv6",
      version: "0.1.0",
      name: "Network IPv6 Test",
      eventName: "IPv6",
      description: "Network E2E Tests: IPv6",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_ipv6" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_ipv6" || !event.hostName) return;
    const src = getArg(event, "src")?.value;
    const dst = getArg(event, "dst")?.value;
    const p = getArg(event, "proto_ipv6")?.value as ProtoIPv6 | undefined;
    if (src !== SRC || dst !== DST || typeof p !== "object" || p === null) return;
    if (p.version !== 6 || p.hopLimit !== 64 || p.srcIP !== SRC || p.dstIP !== DST) return;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
