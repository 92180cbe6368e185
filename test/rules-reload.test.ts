// Hot reload of a rules folder of several files and a lists file, the way
// people edit: a file broken and fixed, then edited again and again with
// `sed -i` (a new file renamed over the old one), in-place writes (the same
// inode truncated and written), and an editor's save (a temporary file
// renamed over it); the lists file edited the same ways. After every edit the
// new content takes effect (checked on the next packets) and one line says
// so. (Node 20's recursive fs.watch watches each file's inode: once `sed -i`
// replaced a file, its later edits went unseen until another file changed.)

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dns, ethernet, ipv4, pcapFile, udp } from "../tools/lib/craft";
import { CLI } from "./lib/run";

const work = mkdtempSync(join(tmpdir(), "netsig-rules-reload-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** a 1028-byte IPv4 packet whose IP id is `id` */
function big(id: number): Buffer {
  return ethernet(
    ipv4({ src: "127.0.0.1", dst: "127.0.0.2", protocol: 17, id }, udp({ srcPort: 40000, dstPort: 9999 }, Buffer.alloc(1000))),
  );
}

function query(name: string, id: number): Buffer {
  const msg = dns({ type: "query", id, flags: 0x0100, questions: [{ type: "A", class: "IN", name }] });
  return ethernet(ipv4({ src: "127.0.0.1", dst: "127.0.0.53", protocol: 17 }, udp({ srcPort: 41000 + id, dstPort: 53 }, msg)));
}

const BIG = (v: number, gt: number) => `# packets over a size
id: big
events: [net_packet_ipv4]
detection:
  s:
    args.proto_ipv4.length|gt: ${gt}
  condition: s
output: 'big v${v} {args.proto_ipv4.id}'
---
id: big-twin
events: [net_packet_ipv4]
detection:
  s:
    args.proto_ipv4.length|gt: 5000
  condition: s
output: 'never'
`;

const FILES = {
  "lists.yaml": "list: watched\nitems: [.a.example]\n",
  "dns.yaml":
    "id: watched-dns\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: '%watched'\n  condition: s\noutput: 'dns {dns.query}'\n",
  "other.yaml":
    "# the sentinel\nid: sentinel\nevents: [net_packet_dns_request]\ndetection:\n  s:\n    dns.query|endswith: .sentinel.example\n  condition: s\noutput: 'sentinel {dns.query}'\n",
  "big.yaml": BIG(1, 1000),
};

test("rules hot reload: break, fix, then sed -i, in-place writes and an editor's save of a file and of the lists file; each edit applied and logged", {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(work, "r-"));
  for (const [n, t] of Object.entries(FILES)) writeFileSync(join(dir, n), t);
  const file = join(dir, "big.yaml");
  const lists = join(dir, "lists.yaml");
  const child = spawn(process.execPath, [CLI, "replay", "-", "--rules", dir, "--quiet"], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "",
    stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on("close", r));
  const count = (re: RegExp) => stderr.split("\n").filter((l) => re.test(l)).length;
  const until = async (ok: () => boolean, why: string) => {
    const t0 = Date.now();
    while (!ok()) {
      if (Date.now() - t0 > 10_000) assert.fail(`${why}: not seen in 10 s\nstderr: ${stderr}\nstdout: ${stdout.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** after an edit: wait for the n-th line matching `re` */
  const logged = (re: RegExp, n: number, why: string) => until(() => count(re) >= n, why);
  let step = 0;
  /** a packet of each kind, then the sentinel, whose finding says they were all seen */
  const packets = async () => {
    const i = step++;
    for (const p of [big(i), query(`q${i}.a.example`, i), query(`q${i}.b.example`, i), query(`s${i}.sentinel.example`, i)]) {
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(1700000000 + i, 0);
      rec.writeUInt32LE(p.length, 8);
      rec.writeUInt32LE(p.length, 12);
      child.stdin.write(Buffer.concat([rec, p]));
    }
    await until(() => stdout.includes(`sentinel s${i}.sentinel.example`), `the packets of step ${i}`);
  };
  const sed = (expr: string, f = file) => execFileSync("sed", ["-i", expr, f]);
  /** in place: the same inode truncated, then written */
  const inPlace = (text: string, f = file) => {
    const fd = openSync(f, "r+");
    ftruncateSync(fd, 0);
    writeSync(fd, text, 0);
    closeSync(fd);
  };
  const reloaded = /netsig: rule reloaded: big \(.*big\.yaml\)$/;
  const listed = /netsig: rule reloaded: watched-dns \(.*dns\.yaml\)$/;
  try {
    child.stdin.write(pcapFile(1, []).subarray(0, 24));
    await packets(); // 0: v1, gt 1000
    // broken: the rules of the file keep running, and the line says so
    writeFileSync(file, BIG(9, 1000).replace("id: big\n", "id: big\n  events: [\n"));
    await logged(
      /netsig: rule not reloaded: .*big\.yaml:3:\d+: malformed YAML: .*; the previous version keeps running \(big, big-twin\)$/,
      1,
      "the break",
    );
    await packets(); // 1: v1 still
    // fixed
    writeFileSync(file, BIG(2, 1100));
    await logged(reloaded, 1, "the fix");
    await packets(); // 2: v2, gt 1100: no finding
    sed("s/big v2/big v3/; s/1100/1000/");
    await logged(reloaded, 2, "sed -i after the fix");
    await packets(); // 3: v3
    writeFileSync(file, BIG(4, 1100));
    await logged(reloaded, 3, "writeFileSync after sed -i");
    await packets(); // 4: none
    sed("s/big v4/big v5/; s/1100/1000/");
    await logged(reloaded, 4, "sed -i again");
    await packets(); // 5: v5
    inPlace(BIG(6, 1100));
    await logged(reloaded, 5, "truncate and write");
    await packets(); // 6: none
    // an editor's save: a new file renamed over the old one
    writeFileSync(join(dir, ".big.yaml.swp"), BIG(7, 1000));
    renameSync(join(dir, ".big.yaml.swp"), file);
    await logged(reloaded, 6, "rename over");
    await packets(); // 7: v7
    inPlace(BIG(8, 1000));
    await logged(reloaded, 7, "truncate and write after the rename");
    await packets(); // 8: v8
    // the lists file: its rules are compiled again
    sed("s/[.]a[.]example/.b.example/", lists);
    await logged(listed, 1, "sed -i of the lists file");
    await packets(); // 9: b
    inPlace("list: watched\nitems: [.a.example]\n", lists);
    await logged(listed, 2, "in-place write of the lists file");
    await packets(); // 10: a
    // broken in place, then fixed back to the very same text: nothing to reload, and a line says so
    const v8 = readFileSync(file, "utf8");
    inPlace(v8.replace("condition: s\noutput: 'big", "condition: s and (\noutput: 'big"));
    await logged(
      /netsig: rule not reloaded: .*big\.yaml:7:\d+: .*; the previous version keeps running \(big\)$/,
      1,
      "a rule broken in place",
    );
    inPlace(v8);
    await logged(/netsig: rules: .*big\.yaml changed: no rule changed \(2 running\)$/, 1, "fixed back to what runs");
    // a comment edited: the same
    sed("s/the sentinel/the sentinel rule/", join(dir, "other.yaml"));
    await logged(/netsig: rules: .*other\.yaml changed: no rule changed \(1 running\)$/, 1, "a comment edited");
    await packets(); // 11: v8, a
    child.stdin.end();
    assert.equal(await exited, 0, stderr);

    const outputs = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).args.find((a: { name: string }) => a.name === "output").value as string)
      .filter((o) => !o.startsWith("sentinel"));
    assert.deepEqual(outputs, [
      "big v1 0",
      "dns q0.a.example",
      "big v1 1",
      "dns q1.a.example",
      "dns q2.a.example",
      "big v3 3",
      "dns q3.a.example",
      "dns q4.a.example",
      "big v5 5",
      "dns q5.a.example",
      "dns q6.a.example",
      "big v7 7",
      "dns q7.a.example",
      "big v8 8",
      "dns q8.a.example",
      "big v8 9",
      "dns q9.b.example",
      "big v8 10",
      "dns q10.a.example",
      "big v8 11",
      "dns q11.a.example",
    ]);
    // one line per change, and none for what did not change
    assert.equal(count(reloaded), 7, stderr);
    assert.equal(count(listed), 2, stderr);
    assert.equal(count(/rule reloaded: (sentinel|big-twin)/), 0, stderr);
    assert.equal(count(/skipped/), 0, stderr);
    assert.doesNotMatch(stderr, /\n\s+at |internal error/);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
