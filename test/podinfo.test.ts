// The pod's identity from the Downward API (engine/cli/podinfo.ts): the
// kubelet's file format, the variables, and end to end: netsig replay with
// POD_* variables and a --pod-info folder, to stdout and to a real local
// HTTP receiver in the ECS and Falcosidekick formats; then the labels file
// rewritten the way the kubelet does it (a new timestamped folder, the
// ..data symlink renamed over) while a paced replay runs.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseDownwardMap, readPodInfo, unquoteGo } from "../engine/app/podinfo";
import { CLI, EXAMPLES, netsig } from "./lib/run";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

const POD_ENV = {
  POD_NAME: "web-1",
  POD_NAMESPACE: "shop",
  POD_UID: "uid-1",
  NODE_NAME: "node-a",
  POD_SERVICE_ACCOUNT: "web-sa",
  NETSIG_CONTAINER_NAME: "app",
  NETSIG_CONTAINER_IMAGE: "nginx:1.27",
};
const RULE =
  "id: POD-TEST-QUERY\nname: pod test query\ndescription: every DNS query\nseverity: low\nevents: [net_packet_dns_request]\n" +
  "detection:\n  q:\n    dns.query|contains: '.'\n  condition: q\noutput: '{dns.src_ip} asked for {dns.query}'\n";

/** a downwardAPI volume as the kubelet lays it out: ..<timestamp>/ files, ..data -> it, and each file a symlink into ..data */
function kubeletWrite(dir: string, files: Record<string, string>, stamp: string): void {
  const ts = join(dir, `..${stamp}`);
  mkdirSync(ts);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(ts, name), text);
  symlinkSync(`..${stamp}`, join(dir, "..data_tmp"));
  renameSync(join(dir, "..data_tmp"), join(dir, "..data")); // the atomic swap
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join("..data", name), join(dir, name));
    } catch {
      /* exists already */
    }
  }
}

test('kubelet format: Go %q values (escapes, \\x bytes read as UTF-8, \\u, \\U), sorted key="value" lines; a bad line says which', () => {
  assert.equal(unquoteGo('"a \\"b\\"\\n\\t\\\\ \\u00e9 \\xc3\\xa9 \\U0001f600 \\101"'), 'a "b"\n\t\\ é é 😀 A');
  assert.equal(unquoteGo('"日本"'), "日本", "printable non-ASCII is written as it is");
  const text = 'app="web"\napp.kubernetes.io/version="1.2"\nnote="line one\\nline \\"two\\""';
  assert.deepEqual(parseDownwardMap(text), { map: { app: "web", "app.kubernetes.io/version": "1.2", note: 'line one\nline "two"' } });
  assert.deepEqual(parseDownwardMap(""), { map: {} });
  assert.deepEqual(parseDownwardMap('a="1"\nb=2'), { line: 2, error: "the value is not in double quotes" });
  assert.deepEqual(parseDownwardMap('a="1"\nno equals'), { line: 2, error: 'not a key="value" line' });
  assert.equal((parseDownwardMap('a="\\q"') as { error: string }).error, "unknown escape \\q");
});

test("variables: NETSIG_ wins over the plain name; container fields only from NETSIG_; the folder's name/namespace/uid win over the variables", () => {
  const d = tmp("netsig-podinfo-");
  kubeletWrite(d, { labels: 'app="web"', annotations: "", name: "web-from-file\n" }, "2024_01_01_00_00_00.1");
  const info = readPodInfo(
    { POD_NAME: "plain", NETSIG_POD_NAMESPACE: "prefixed", POD_NAMESPACE: "plain-ns", CONTAINER_NAME: "other-tools", NODE_NAME: "node-a" },
    d,
  );
  assert.deepEqual(info.fields, { podName: "web-from-file", podNamespace: "prefixed" });
  assert.deepEqual(info.context, { nodeName: "node-a", labels: { app: "web" }, annotations: {} });
  assert.deepEqual(readPodInfo({ NETSIG_CONTAINER_NAME: "app" }).fields, { containerName: "app" });
});

test("a bad --pod-info at start is one line (file:line, what to do), exit 2; a missing folder too", () => {
  const d = tmp("netsig-podinfo-bad-");
  kubeletWrite(d, { labels: 'app="web"\nbroken' }, "2024_01_01_00_00_00.1");
  const r = netsig(["replay", join(EXAMPLES, "dns-lo.pcap"), "--pod-info", d]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /labels:2: not a key="value" line/);
  const m = netsig(["replay", join(EXAMPLES, "dns-lo.pcap"), "--pod-info", join(d, "nope")]);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /^netsig: .*cannot read --pod-info .*nope \(ENOENT\): mount/);
  assert.equal(m.stderr.trim().split("\n").length, 1);
});

interface Received {
  path: string;
  body: string;
}
async function receiver(): Promise<{ url: string; got: Received[]; close(): void }> {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req
      .on("data", (c) => (body += c))
      .on("end", () => {
        got.push({ path: req.url!, body });
        res.writeHead(200).end("{}");
      });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got, close: () => server.close() };
}

const ecsDocs = (got: Received[]) =>
  got
    .filter((g) => g.path === "/ecs")
    .flatMap((g) =>
      g.body
        .trim()
        .split("\n")
        .filter((_, i) => i % 2 === 1)
        .map((l) => JSON.parse(l)),
    );
const falco = (got: Received[]) => got.filter((g) => g.path === "/falco").map((g) => JSON.parse(g.body));

test("end to end: every event and finding on stdout carries the pod; the ECS and Falcosidekick receivers get its fields and labels", async () => {
  const d = tmp("netsig-podinfo-e2e-");
  const pi = join(d, "podinfo");
  mkdirSync(pi);
  kubeletWrite(pi, { labels: 'app="web"\nversion="v1"', annotations: 'team="shop"' }, "2024_01_01_00_00_00.1");
  const rules = join(d, "rules");
  mkdirSync(rules);
  writeFileSync(join(rules, "q.yaml"), RULE);
  const rx = await receiver();
  try {
    const args = [
      "replay",
      join(EXAMPLES, "dns-lo.pcap"),
      "--signatures",
      join(__dirname, "..", "..", "signatures"),
      "--rules",
      rules,
      "--events",
      "net_packet_dns_request,net_packet_dns_response",
      "--output",
      "json",
      "--pod-info",
      pi,
      "--quiet",
      "--spool-dir",
      join(d, "spool"),
      "--webhook",
      JSON.stringify({ url: `${rx.url}/ecs`, format: "ecs" }),
      "--webhook",
      JSON.stringify({ url: `${rx.url}/falco`, format: "falcosidekick" }),
    ];
    // (asynchronously: the receiver answers from this process)
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...POD_ENV } });
      let stdout = "",
        stderr = "";
      c.stdout.on("data", (b) => (stdout += b));
      c.stderr.on("data", (b) => (stderr += b));
      c.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const findings = lines.filter((e) => e.metadata);
    assert.ok(findings.length >= 40 && lines.length > findings.length, `${lines.length} lines, ${findings.length} findings`);
    assert.ok(
      findings.some((e) => e.eventName === "dns_rebinding"),
      "a sandboxed signature's finding among them",
    );
    for (const e of lines) {
      assert.deepEqual(e.kubernetes, { podName: "web-1", podNamespace: "shop", podUID: "uid-1" });
      assert.deepEqual(e.container, { name: "app", image: "nginx:1.27" });
    }
    const docs = ecsDocs(rx.got);
    assert.equal(docs.length, findings.length);
    for (const doc of docs) {
      assert.equal(doc.orchestrator.resource.name, "web-1");
      assert.equal(doc.orchestrator.namespace, "shop");
      assert.deepEqual(doc.orchestrator.resource.label, ["app:web", "version:v1"]);
      assert.deepEqual(doc.orchestrator.resource.annotation, ["team:shop"]);
      assert.equal(doc.host.hostname, "node-a");
      assert.equal(doc.container.name, "app");
    }
    const fs = falco(rx.got);
    assert.equal(fs.length, findings.length);
    for (const p of fs) {
      assert.equal(p.output_fields["k8s.ns.name"], "shop");
      assert.equal(p.output_fields["k8s.pod.name"], "web-1");
      assert.equal(p.output_fields["container.name"], "app");
      assert.equal(p.hostname, "node-a");
    }
  } finally {
    rx.close();
  }
});

test("kubelet update during a paced replay: later findings carry the new labels; a broken update is one line and the last good labels stay", async () => {
  const d = tmp("netsig-podinfo-swap-");
  const pi = join(d, "podinfo");
  mkdirSync(pi);
  kubeletWrite(pi, { labels: 'version="v1"' }, "2024_01_01_00_00_00.1");
  const rules = join(d, "rules");
  mkdirSync(rules);
  writeFileSync(join(rules, "q.yaml"), RULE);
  // the capture in three parts: the header and a third of the packets each
  const pcap = readFileSync(join(EXAMPLES, "dns-lo.pcap"));
  const records: Buffer[] = [];
  for (let o = 24; o < pcap.length; ) {
    const n = 16 + pcap.readUInt32LE(o + 8);
    records.push(pcap.subarray(o, o + n));
    o += n;
  }
  const third = Math.ceil(records.length / 3);
  const parts = [0, 1, 2].map((i) => Buffer.concat(records.slice(i * third, (i + 1) * third)));
  const rx = await receiver();
  const c = spawn(
    process.execPath,
    [
      CLI,
      "replay",
      "-",
      "--rules",
      rules,
      "--pod-info",
      pi,
      "--quiet-findings",
      "--spool-dir",
      join(d, "spool"),
      "--webhook",
      JSON.stringify({ url: `${rx.url}/ecs`, format: "ecs" }),
      "--webhook-batch-age",
      "0",
    ],
    { env: { ...process.env, ...POD_ENV } },
  );
  let stderr = "";
  c.stderr.on("data", (b) => (stderr += b));
  const until = async (what: () => boolean, label: string) => {
    for (let i = 0; i < 600 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(what(), `${label}; stderr: ${stderr}`);
  };
  const closed = new Promise<number | null>((r) => c.on("close", r));
  try {
    c.stdin.write(Buffer.concat([pcap.subarray(0, 24), parts[0]]));
    await until(() => ecsDocs(rx.got).length > 0, "findings of the first part delivered");
    const first = ecsDocs(rx.got).length;
    kubeletWrite(pi, { labels: 'version="v2"' }, "2024_01_01_00_01_00.2");
    await until(() => /pod identity read again/.test(stderr), "the update is read");
    c.stdin.write(parts[1]);
    await until(() => ecsDocs(rx.got).length > first, "findings of the second part delivered");
    const second = ecsDocs(rx.got).length;
    kubeletWrite(pi, { labels: 'version="v3"\nbroken' }, "2024_01_01_00_02_00.3");
    await until(() => /last good pod identity stays/.test(stderr), "the broken update is reported");
    c.stdin.end(parts[2]);
    assert.equal(await closed, 0, stderr);
    const docs = ecsDocs(rx.got);
    assert.ok(docs.length > second);
    const labels = docs.map((x) => x.orchestrator.resource.label.join(","));
    assert.deepEqual([...new Set(labels.slice(0, first))], ["version:v1"]);
    assert.deepEqual([...new Set(labels.slice(first))], ["version:v2"], "v2 after the swap, and still after the broken v3");
    assert.equal(stderr.split("\n").filter((l) => /last good/.test(l)).length, 1, stderr);
    assert.match(stderr, /labels:2: not a key="value" line/);
  } finally {
    c.kill();
    rx.close();
  }
});
