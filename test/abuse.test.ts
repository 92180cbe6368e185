// Hostile signatures against the results path (issue 14): a signature that
// reports 100,000 findings from one onEvent must not make the batch's result
// too large to cross (which lost every signature's findings of that batch);
// what it loses is counted, logged once and in the summary. A signature that
// hangs in onSignal is quarantined, the others still get the signal, and the
// event counts are not reported twice.

import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EXAMPLES, netsig, TRACEE_E2E } from "./lib/run";

const SHIPPED = join(__dirname, "..", "..", "signatures");
const PCAP = join(EXAMPLES, "dns-lo.pcap");

const FLOOD = `import type { NetEvent, Signature, SignatureContext } from "netsig";
export default class Flood implements Signature {
  private ctx!: SignatureContext;
  private done = false;
  getMetadata() { return { id: "FLOOD", version: "1", name: "flood", description: "floods", properties: { Severity: 1 } }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns_request" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(e: NetEvent) {
    if (this.done) return;
    this.done = true;
    for (let i = 0; i < 100000; i++) this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { i } });
  }
  onSignal() {}
  close() {}
}
`;

/** the shipped signatures and the Tracee e2e ports (whose e2eDNS fires on the capture too) plus `extra` files, in a new folder */
function folder(extra: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "netsig-abuse-"));
  mkdirSync(join(d, "sigs"));
  for (const from of [SHIPPED, TRACEE_E2E]) {
    for (const f of readdirSync(from).filter((x) => x.endsWith(".ts"))) cpSync(join(from, f), join(d, "sigs", f));
  }
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(d, "sigs", name), text);
  return d;
}

const ids = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { eventName: string }).eventName);

for (const sandbox of [true, false]) {
  test(`100,000 findings from one onEvent${sandbox ? "" : " (--unsandboxed)"}: the others' findings all arrive, the excess is counted and logged once`, {
    timeout: 120_000,
  }, () => {
    const base = folder({});
    const flood = folder({ "flood.ts": FLOOD });
    try {
      const extra = sandbox ? [] : ["--unsandboxed"];
      const without = netsig(["replay", PCAP, "--signatures", join(base, "sigs"), "--rules", "@shipped", "--output", "json", ...extra]);
      assert.equal(without.code, 0, without.stderr);
      const r = netsig(["replay", PCAP, "--signatures", join(flood, "sigs"), "--rules", "@shipped", "--output", "json", ...extra]);
      assert.equal(r.code, 0, r.stderr);
      const got = ids(r.stdout);
      const others = got.filter((n) => n !== "FLOOD");
      // every finding the other signatures and rules make without the flood, in the same order
      assert.ok(ids(without.stdout).length >= 6);
      assert.deepEqual(others, ids(without.stdout));
      const kept = got.length - others.length;
      assert.ok(kept > 0, "the flood's findings up to its limit are kept");
      const m = /; (\d+) findings, 0 signature errors, (\d+) findings dropped \(over a signature's limit\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      assert.equal(Number(m[1]), got.length, "the summary counts what was printed");
      assert.equal(kept + Number(m[2]), 100000, "kept + dropped = reported");
      assert.equal(r.stderr.split("\n").filter((l) => /signature FLOOD .*findings dropped/.test(l)).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      rmSync(base, { recursive: true, force: true });
      rmSync(flood, { recursive: true, force: true });
    }
  });
}

test("a signature hung in onSignal: quarantined, the next still gets the signal, event counts not doubled", { timeout: 120_000 }, () => {
  const d = mkdtempSync(join(tmpdir(), "netsig-abuse-"));
  try {
    // a-loop.ts loads first: it hangs on the end-of-capture signal; b-done.ts reports on it
    writeFileSync(
      join(d, "a-loop.ts"),
      `import type { NetEvent, Signature, SignatureContext } from "netsig";
export default class L implements Signature {
  getMetadata() { return { id: "SIG-LOOP", version: "1", name: "l", description: "l" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_ipv4" }]; }
  init(_ctx: SignatureContext) {}
  onEvent(_e: NetEvent) {}
  onSignal() { for (;;) {} }
  close() {}
}
`,
    );
    writeFileSync(
      join(d, "b-done.ts"),
      `import type { NetEvent, Signature, SignatureContext } from "netsig";
export default class D implements Signature {
  private ctx!: SignatureContext;
  private n = 0;
  getMetadata() { return { id: "SIG-DONE", version: "1", name: "d", description: "d" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_ipv4" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; }
  onEvent(_e: NetEvent) { this.n++; }
  onSignal() { this.ctx.callback({ sigMetadata: this.getMetadata(), event: null as never, data: { seen: this.n } }); }
  close() {}
}
`,
    );
    const r = netsig(["replay", PCAP, "--signatures", d, "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /signature SIG-LOOP .* quarantined: it ran longer than/);
    const lines = r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { eventName: string; args: { name: string; value: unknown }[] });
    const done = lines.filter((l) => l.eventName === "SIG-DONE");
    assert.equal(done.length, 1, r.stdout);
    const ipv4 = /events to signatures: ipv4=(\d+)/.exec(r.stderr);
    assert.ok(ipv4, r.stderr);
    // as many as the other signature saw, and as the capture has (tshark-checked elsewhere: 134)
    assert.equal(done[0].args.find((a) => a.name === "seen")?.value, Number(ipv4[1]), JSON.stringify(done[0]));
    mkdirSync(join(d, "alone"));
    cpSync(join(d, "b-done.ts"), join(d, "alone", "b-done.ts"));
    const plain = netsig(["replay", PCAP, "--signatures", join(d, "alone"), "--output", "json"]);
    assert.equal(/events to signatures: ipv4=(\d+)/.exec(plain.stderr)?.[1], ipv4[1], "the same count without the hung signature");
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
