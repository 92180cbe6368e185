// Hot reload: while a slow replay runs (a capture fed to standard input a few
// packets at a time), a signature file is added, changed, broken, and
// deleted. Each change takes effect between two packets that the test knows,
// the old version's close() runs, a broken edit keeps the old version, and a
// signature that stays loaded all along sees every event.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dns, ethernet, ipv4, pcapFile, udp } from "../tools/lib/craft";
import { CLI } from "./lib/run";

const N = 50;

/** a DNS query whose message id is its number in the capture */
function query(i: number): Buffer {
  const msg = dns({ type: "query", id: i, flags: 0x0100, questions: [{ type: "A", class: "IN", name: `q${i}.example.com` }] });
  return ethernet(ipv4({ src: "127.0.0.1", dst: "127.0.0.53", protocol: 17 }, udp({ srcPort: 40000 + i, dstPort: 53 }, msg)));
}

const COUNT = `import type { NetEvent, Signal, Signature, SignatureContext } from "netsig";
export default class Count implements Signature {
  private n = 0;
  private ctx!: SignatureContext;
  getMetadata() { return { id: "COUNT", version: "1", name: "count", description: "counts DNS events" }; }
  getSelectedEvents() { return [{ source: "netsig", name: "net_packet_dns" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; ctx.logger.info("ready"); }
  onEvent(e: NetEvent) { this.n++; }
  onSignal(s: Signal) { if (s.type === "source_complete") this.ctx.callback({ sigMetadata: this.getMetadata(), event: null as never, data: { count: this.n } }); }
  close() {}
}
`;

/** a signature that tags every DNS event with its version and the query's id */
const tag = (v: number) => `import type { NetEvent, Signature, SignatureContext } from "netsig";
import { getProtoDNS } from "netsig/helpers";
export default class Tag implements Signature {
  private ctx!: SignatureContext;
  getMetadata() { return { id: "TAG", version: "${v}", name: "tag", description: "tags DNS events" }; }
  getSelectedEvents() { return [{ source: "tracee", name: "net_packet_dns" }]; }
  init(ctx: SignatureContext) { this.ctx = ctx; ctx.logger.info("init v${v}"); }
  onEvent(e: NetEvent) { this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { v: ${v}, id: getProtoDNS(e).ID } }); }
  onSignal() {}
  close() { this.ctx.logger.info("closing v${v}"); }
}
`;

class Replay {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child;
  private sent = 0;
  private readonly packets: Buffer[];

  constructor(dir: string) {
    const file = pcapFile(
      1,
      Array.from({ length: N }, (_, i) => ({ tsSec: 1700000000 + i, tsUsec: 0, data: query(i) })),
    );
    // cut the capture into its header and one piece per packet
    this.packets = [];
    let off = 24;
    for (let i = 0; i < N; i++) {
      const len = file.readUInt32LE(off + 8);
      this.packets.push(file.subarray(off, off + 16 + len));
      off += 16 + len;
    }
    this.child = spawn(process.execPath, [CLI, "replay", "-", "--signatures", dir, "--quiet"], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((r) => this.child.on("close", (c) => r(c)));
    this.child.stdin.write(file.subarray(0, 24));
  }

  /** feed packets up to (not including) `to` */
  feed(to: number): void {
    while (this.sent < to) this.child.stdin.write(this.packets[this.sent++]);
  }

  end(): void {
    this.child.stdin.end();
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }

  /** wait until `re` matches stderr (or stdout); returns the ms it took */
  async until(what: "stderr" | "stdout", re: RegExp, why: string, ms = 20_000): Promise<number> {
    const t0 = Date.now();
    while (!re.test(this[what])) {
      if (Date.now() - t0 > ms)
        assert.fail(`${why}: not seen after ${ms} ms\nstderr: ${this.stderr}\nstdout (end): ${this.stdout.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return Date.now() - t0;
  }

  tags(): { v: number; id: number }[] {
    return this.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((f) => f.eventName === "TAG")
      .map(
        (f) =>
          Object.fromEntries(
            f.args
              .filter((a: { name: string }) => a.name !== "triggeredBy")
              .map((a: { name: string; value: unknown }) => [a.name, a.value]),
          ) as { v: number; id: number },
      );
  }
}

// (a finding's data args come in key order: id, then v)
const tagFinding = (v: number, id: number) =>
  new RegExp(`"name":"id","type":"[^"]+","value":${id}\\},\\{"name":"v","type":"[^"]+","value":${v}\\}`);

test("hot reload: a signature file added, changed, broken and deleted during a paced stdin replay", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "netsig-reload-"));
  const file = join(dir, "tag.ts");
  const latency: number[] = [];
  writeFileSync(join(dir, "count.ts"), COUNT);
  const r = new Replay(dir);
  try {
    r.feed(10);
    // add (once netsig has loaded the folder: a file there before is simply loaded at start)
    await r.until("stderr", /\[info\] COUNT: ready/, "netsig starting");
    writeFileSync(file, tag(1));
    latency.push(await r.until("stderr", /signature loaded: TAG \(.*tag\.ts\)/, "adding tag.ts"));
    assert.match(r.stderr, /\[info\] TAG: init v1/);
    r.feed(20);
    await r.until("stdout", tagFinding(1, 19), "v1 tags packet 19");
    // change: the new version replaces the old one, whose close() runs
    writeFileSync(file, tag(2));
    latency.push(await r.until("stderr", /signature reloaded: TAG \(.*tag\.ts\)/, "changing tag.ts"));
    await r.until("stderr", /\[info\] TAG: closing v1/, "v1's close()");
    assert.ok(r.stderr.indexOf("init v2") < r.stderr.indexOf("closing v1"), "the new version is up before the old one goes");
    r.feed(30);
    await r.until("stdout", tagFinding(2, 29), "v2 tags packet 29");
    // a broken edit is reported with file:line, and that the loaded version keeps running
    writeFileSync(file, tag(3).replace("onSignal() {}", "onSignal() {{"));
    latency.push(
      await r.until(
        "stderr",
        /signature not reloaded: .*tag\.ts:\d+:\d+: syntax error[^\n]*; the previous version keeps running \(TAG\)\n/,
        "breaking tag.ts",
      ),
    );
    // so is a version that compiles but whose init() throws
    writeFileSync(file, tag(3).replace(`ctx.logger.info("init v3");`, `throw new Error("no init");`));
    latency.push(
      await r.until(
        "stderr",
        /signature not reloaded: .*tag\.ts:\d+:\d+: no init; the previous version keeps running \(TAG\)\n/,
        "init() throwing",
      ),
    );
    r.feed(40);
    await r.until("stdout", tagFinding(2, 39), "v2 still tags packet 39");
    // delete
    unlinkSync(file);
    latency.push(await r.until("stderr", /signature unloaded: TAG \(.*tag\.ts\)/, "deleting tag.ts"));
    await r.until("stderr", /\[info\] TAG: closing v2/, "v2's close()");
    r.feed(N);
    r.end();
    assert.equal(await r.exited, 0, r.stderr);

    const tags = r.tags();
    const want = [
      ...Array.from({ length: 10 }, (_, i) => ({ v: 1, id: 10 + i })),
      ...Array.from({ length: 20 }, (_, i) => ({ v: 2, id: 20 + i })),
    ];
    assert.deepEqual(tags, want, "v1 saw exactly packets 10-19, v2 exactly 20-39, nothing after the delete");
    // the signature loaded all along saw every event
    const count = r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((f) => f.eventName === "COUNT");
    assert.ok(count, r.stdout);
    assert.equal(count.args.find((a: { name: string }) => a.name === "count").value, N);
    assert.doesNotMatch(r.stderr, /\n\s+at |internal error|skipped/);
    console.log(`# reload latency (file written -> change in effect): ${latency.join(", ")} ms`);
  } finally {
    r.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
