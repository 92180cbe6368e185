// Test helpers for hostile signatures: a signatures folder with Tracee's
// e2eDNS port (examples/tracee-e2e) beside the files under test, a replay of a recorded capture
// through the real CLI, and the findings it printed.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { netsig, TRACEE_E2E } from "./run";

export const SHIPPED = join(__dirname, "..", "..", "..", "signatures");

/** a signatures folder with the e2eDNS port and the given extra files */
export function folder(extra: Record<string, string> = {}): string {
  const d = mkdtempSync(join(tmpdir(), "netsig-sigs-"));
  copyFileSync(join(TRACEE_E2E, "e2e-dns.ts"), join(d, "e2e-dns.ts"));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(d, name), text);
  return d;
}

export function findings(stdout: string): Record<string, any>[] {
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** a signature selecting net_packet_dns whose `body` runs in the given method; `prelude` is module-level code */
export function hostile(id: string, method: string, body: string, prelude = ""): string {
  const m = (name: string, def: string) => (name === method ? body : def);
  return `${prelude ? prelude + "\n" : ""}export default class S {
  getMetadata() { ${m("getMetadata", "")} return { id: "${id}", version: "1", name: "${id}", description: "test" }; }
  getSelectedEvents() { ${m("getSelectedEvents", "")} return [{ source: "tracee", name: "net_packet_dns" }]; }
  init(ctx) { this.ctx = ctx; ${m("init", "")} }
  onEvent(e) { ${m("onEvent", "")} }
  onSignal(s) { ${m("onSignal", "")} }
  close() { ${m("close", "")} }
}
`;
}

/** replay `capture` with e2eDNS and the extra files loaded */
export function runWith(extra: Record<string, string>, capture: string) {
  const dir = folder(extra);
  try {
    const r = netsig(["replay", capture, "--signatures", dir]);
    return { ...r, found: findings(r.stdout), dir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
