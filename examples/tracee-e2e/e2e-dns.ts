// Port of Tracee's e2e DNS network signature (tests/e2e-net-rules): fires
// once when the MX, NS, SOA and TXT answers of uol.com.br have all been seen,
// then starts over.
//
//   dig uol.com.br MX; dig uol.com.br NS; dig uol.com.br SOA; dig uol.com.br TXT

import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getProtoDNS } from "netsig/helpers";

export default class E2eDns implements Signature {
  private foundMX = false;
  private foundNS = false;
  private foundSOA = false;
  private foundTXTs = false;
  private ctx!: SignatureContext;

  getMetadata(): SignatureMetadata {
    return {
      id: "DNS",
      version: "0.1.0",
      name: "Network DNS Test",
      description: "Network E2E Tests: DNS",
      tags: ["e2e", "network"],
    };
  }

  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_packet_dns" }];
  }

  init(ctx: SignatureContext): void {
    this.ctx = ctx;
    this.foundMX = this.foundNS = this.foundSOA = this.foundTXTs = false;
  }

  onEvent(event: NetEvent): void {
    if (event.eventName !== "net_packet_dns") return;
    const dns = getProtoDNS(event);
    for (const answer of dns.answers) {
      if (answer.MX.name === "mx.uol.com.br" && answer.MX.preference === 10) this.foundMX = true;
      if (answer.NS === "eliot.uol.com.br") this.foundNS = true;
      if (answer.SOA.RName === "root.uol.com.br") this.foundSOA = true;
      if (answer.TXTs?.some((txt) => txt.includes("spf.uol.com.br"))) this.foundTXTs = true;
    }
    if (!this.foundMX || !this.foundNS || !this.foundSOA || !this.foundTXTs) return;
    // reset the state, then report
    this.foundMX = this.foundNS = this.foundSOA = this.foundTXTs = false;
    this.ctx.callback({ sigMetadata: this.getMetadata(), event, data: {} });
  }

  onSignal(_signal: Signal): void {}

  close(): void {}
}
