// The real image: built from the repository's Dockerfile by
// deploy/build-image.sh (or the image $NETSIG_TEST_IMAGE names, which .ci/run
// built before the tests), then run with podman exactly as the Kubernetes
// example runs the netsig container: its securityContext (capabilities, user,
// no privilege escalation, read-only root) and its emptyDirs, all read from
// deploy/kubernetes/netsig-sidecar.yaml. In it: the process has exactly those
// privileges; `replay` gives the findings the same command gives outside the
// container; live capture on lo (host network) reports the example's own
// signature firing on DNS queries this test sends; SIGTERM (`podman stop`)
// drains and exits 0 with the summary before podman's SIGKILL.
//
// Skipped, with the reason, where podman is not installed or not root; in CI
// (CI=true) a missing podman fails instead.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import dnsPacket from "dns-packet";
import { loadAll } from "js-yaml";
import { SHIPPED_SIGNATURES } from "../engine/app/detection";
import { capMask, K8S, podmanEmptyDirArgs, podmanSecurityArgs, ROOT, sidecarSpec } from "./lib/container";
import { until } from "./lib/receiver";
import { EXAMPLES, netsig } from "./lib/run";

const hasPodman = spawnSync("podman", ["--version"]).status === 0;
const isRoot = process.getuid?.() === 0;
if (!hasPodman && process.env.CI) {
  test("image: podman is installed in CI", () => assert.fail("podman is not installed: .ci/run installs it (PACKAGES)"));
}
const skip = !hasPodman
  ? "podman is not installed (deploy/build-image.sh installs it; docs/container.md)"
  : !isRoot
    ? "the image is built and run with root's podman (deploy/build-image.sh needs root)"
    : false;

const IMAGE = process.env.NETSIG_TEST_IMAGE || "localhost/netsig:test";
const spec = sidecarSpec();
const SECURITY = podmanSecurityArgs(spec.securityContext);
/** the address this test's queries go to (all of 127/8 is lo): the capture filter keeps only them */
const QUERY_ADDR = "127.83.41.7";
/** seconds `podman stop` waits after SIGTERM before SIGKILL (Kubernetes: terminationGracePeriodSeconds) */
const STOP_WAIT = 10;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** podman run NAME, attached (stdout and stderr apart); `done` settles when the container has exited */
function podmanRun(name: string, args: string[]): { done: Promise<Ran>; out: () => string; err: () => string } {
  const child = spawn("podman", ["run", "--rm", "--name", name, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  const done = new Promise<Ran>((r) => child.on("close", (code) => r({ code, stdout, stderr })));
  return { done, out: () => stdout, err: () => stderr };
}

/** waits for a run, or kills its container after `ms` (a hang fails the test with what it printed, never blocks CI) */
async function finish(name: string, r: ReturnType<typeof podmanRun>, ms: number): Promise<Ran> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<null>((res) => {
    timer = setTimeout(() => res(null), ms);
  });
  const end = await Promise.race([r.done, hung]);
  clearTimeout(timer);
  if (end) return end;
  spawnSync("podman", ["rm", "-f", name]);
  await r.done;
  assert.fail(`the container did not exit within ${ms / 1000} s; stderr:\n${r.err()}`);
}

const names: string[] = [];
function containerName(what: string): string {
  const n = `netsig-test-${what}-${process.pid}`;
  names.push(n);
  return n;
}

test("image: deploy/build-image.sh builds it (or CI's is used)", { skip, timeout: 20 * 60_000 }, () => {
  if (process.env.NETSIG_TEST_IMAGE) {
    assert.equal(spawnSync("podman", ["image", "exists", IMAGE]).status, 0, `NETSIG_TEST_IMAGE=${IMAGE} does not exist`);
    return;
  }
  const r = spawnSync(join(ROOT, "deploy", "build-image.sh"), [IMAGE], { encoding: "utf8", maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `deploy/build-image.sh failed:\n${(r.stdout + r.stderr).split("\n").slice(-40).join("\n")}`);
  assert.match(r.stdout, new RegExp(`build-image: built ${IMAGE.replace(/[.:/]/g, "\\$&")}`));
});

test("image: under the example's securityContext netsig is uid 0 with exactly its capabilities, no_new_privs, a read-only root; the emptyDirs are writable; the prebuilt realm and the addons load", {
  skip,
  timeout: 120_000,
}, async () => {
  const name = containerName("privs");
  const probe = `
const fs = require("node:fs");
const st = fs.readFileSync("/proc/self/status", "utf8");
const field = (k) => new RegExp("^" + k + ":\\\\s*(\\\\S+)", "m").exec(st)[1];
const tryWrite = (p) => { try { fs.writeFileSync(p, "x"); return "ok"; } catch (e) { return e.code; } };
const out = { uid: field("Uid"), capEff: field("CapEff"), capPrm: field("CapPrm"), capBnd: field("CapBnd"), noNewPrivs: field("NoNewPrivs"), writes: {} };
for (const p of ["/opt/netsig/x", "/tmp/x", "/var/lib/netsig/x", "/var/log/netsig/x"]) out.writes[p] = tryWrite(p);
out.prebuiltRealm = Array.isArray(require("/opt/netsig/dist/engine/sandbox/bundle.js").prebuiltBundle());
require("/opt/netsig/node_modules/cap");
process.dlopen({ exports: {} }, "/opt/netsig/native/pktstats/build/Release/pktstats.node");
console.log(JSON.stringify(out));`;
  const r = await finish(
    name,
    podmanRun(name, [...SECURITY, ...podmanEmptyDirArgs(spec), "--network", "none", "--entrypoint", "node", IMAGE, "-e", probe]),
    60_000,
  );
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const added = spec.securityContext.capabilities?.add ?? [];
  assert.deepEqual(spec.securityContext.capabilities?.drop, ["ALL"]);
  const want = capMask(added);
  assert.equal(BigInt("0x" + got.capEff), want, `effective capabilities ${got.capEff}, want ${added}`);
  assert.equal(BigInt("0x" + got.capPrm), want);
  assert.equal(BigInt("0x" + got.capBnd), want, "nothing more can be gained");
  assert.equal(got.uid, String(spec.securityContext.runAsUser));
  assert.equal(got.noNewPrivs, "1");
  // the root is read-only (nothing writable that Kubernetes would not give); the emptyDir mounts are not
  assert.deepEqual(got.writes, { "/opt/netsig/x": "EROFS", "/tmp/x": "EROFS", "/var/lib/netsig/x": "ok", "/var/log/netsig/x": "ok" });
  assert.equal(got.prebuiltRealm, true, "the image's realm-bundle.json matches its engine/ sources (no bundling at each start)");
});

test("image: replay of examples/dns-lo.pcap with the shipped signatures and rule pack gives the findings it gives outside the container", {
  skip,
  timeout: 180_000,
}, async () => {
  const pcap = join(EXAMPLES, "dns-lo.pcap");
  const local = netsig(["replay", pcap, "--signatures", SHIPPED_SIGNATURES, "--rules", "@shipped"]);
  assert.equal(local.code, 0, local.stderr);
  const want = local.stdout.split("\n").filter(Boolean);
  assert.ok(want.length > 0, "the capture gives findings");

  const name = containerName("replay");
  const r = await finish(
    name,
    podmanRun(name, [
      // the host's name, which findings carry (and hash into findingID): the same bytes are expected
      ...SECURITY,
      ...podmanEmptyDirArgs(spec),
      "--network",
      "none",
      "--hostname",
      hostname(),
      "-v",
      `${EXAMPLES}:/data:ro`,
      IMAGE,
      "replay",
      "/data/dns-lo.pcap",
      "--signatures",
      "/opt/netsig/signatures",
      "--rules",
      "@shipped",
    ]),
    60_000,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no crash, no stack trace");
  assert.deepEqual(r.stdout.split("\n").filter(Boolean), want, "the same findings, byte for byte");
  const summary =
    /netsig: signatures: (\d+) active, (\d+) skipped; rules: (\d+) active, (\d+) skipped; (\d+) findings, 0 signature errors/.exec(
      r.stderr,
    );
  assert.ok(summary, r.stderr);
  assert.equal(Number(summary[2]) + Number(summary[4]), 0, "nothing skipped");
  assert.equal(Number(summary[5]), want.length);
});

test("image: live capture on lo (host network) with the example's signature ConfigMap reports the test's DNS queries; SIGTERM drains, writes the findings file, exits 0 with the summary", {
  skip,
  timeout: 180_000,
}, async () => {
  // the example's own signature (the netsig-signatures ConfigMap), mounted
  // read-only where the example mounts it; readable by the sandbox's user
  const docs = loadAll(readFileSync(K8S, "utf8")) as { kind: string; metadata: { name: string }; data?: Record<string, string> }[];
  const cm = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === "netsig-signatures")!;
  const sigMount = spec.volumeMounts.find((m) => m.name === "signatures")!.mountPath;
  const dir = mkdtempSync(join(tmpdir(), "netsig-image-"));
  chmodSync(dir, 0o755);
  const sigs = join(dir, "sigs");
  const logs = join(dir, "log");
  for (const d of [sigs, logs]) spawnSync("mkdir", ["-m", "755", d]);
  for (const [file, text] of Object.entries(cm.data!)) writeFileSync(join(sigs, file), text, { mode: 0o644 });
  // the findings file goes to the findings emptyDir: a folder of the host here, to be read after the exit
  const findingsMount = spec.volumeMounts.find((m) => m.name === "findings")!.mountPath;
  const emptyDirs = podmanEmptyDirArgs(spec);
  const at = emptyDirs.indexOf(findingsMount);
  assert.ok(at > 0, "the findings folder is an emptyDir");
  emptyDirs.splice(at - 1, 2, "-v", `${logs}:${findingsMount}`);

  const name = containerName("live");
  const run = podmanRun(name, [
    ...SECURITY,
    ...emptyDirs,
    "--network",
    "host",
    "-v",
    `${sigs}:${sigMount}:ro`,
    IMAGE,
    "run",
    "--iface",
    "lo",
    "--bpf",
    `udp and host ${QUERY_ADDR}`,
    "--signatures",
    "/opt/netsig/signatures",
    "--signatures",
    sigMount,
    "--rules",
    "@shipped",
    "--output-file",
    `${findingsMount}/findings.jsonl`,
  ]);
  try {
    // a query for a watched name every 200 ms until its finding is printed (the first ones may come before the capture starts)
    const qname = `image-${process.pid}.netsig.test`;
    let sent = 0;
    const seen = await until(() => {
      if (run.out().includes(qname)) return true;
      if (sent++ % 10 === 0) query(qname);
      return false;
    }, 90_000);
    assert.ok(seen, `no finding for ${qname} after ${Math.ceil(sent / 10)} queries; stderr:\n${run.err()}`);
    assert.doesNotMatch(run.err(), /internal error|\n\s+at /);
    const lines = run
      .out()
      .split("\n")
      .filter((l) => l.includes(qname))
      .map((l) => JSON.parse(l));
    assert.ok(
      lines.some((f) => JSON.stringify(f).includes("DNS-WATCH")),
      `the example's DNS-WATCH signature fired:\n${run.out()}`,
    );
    // the sandbox runs as nobody inside the container
    const top = spawnSync("podman", ["top", name, "user", "args"], { encoding: "utf8" });
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /^nobody\s+.*node/m, `a process of the container runs as nobody:\n${top.stdout}`);

    // SIGTERM, then SIGKILL after STOP_WAIT seconds: only a drain within that exits 0
    const stop = spawnSync("podman", ["stop", "--time", String(STOP_WAIT), name], { encoding: "utf8" });
    assert.equal(stop.status, 0, stop.stderr);
    const r = await finish(name, run, 60_000);
    assert.equal(r.code, 0, `exit code ${r.code} (137: killed after ${STOP_WAIT} s without exiting); stderr:\n${r.stderr}`);
    const summary = /netsig: signatures: (\d+) findings, 0 signature errors/.exec(r.stderr);
    assert.ok(summary, `the summary line:\n${r.stderr}`);
    const printed = r.stdout.split("\n").filter(Boolean).length;
    assert.equal(Number(summary[1]), printed, "every finding counted was printed");
    // the drain wrote every printed finding to the file on the emptyDir
    const written = readFileSync(join(logs, "findings.jsonl"), "utf8").split("\n").filter(Boolean);
    assert.equal(written.length, printed);
    assert.ok(written.some((l) => l.includes(qname)));
  } finally {
    spawnSync("podman", ["rm", "-f", name]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("image: cleanup of the test's containers", { skip }, () => {
  for (const n of names) spawnSync("podman", ["rm", "-f", "--ignore", n]);
});

/** one DNS query for `name` over UDP to QUERY_ADDR port 5355 (LLMNR, decoded as DNS; nothing needs to answer: the query is what is captured) */
function query(name: string): void {
  const s = createSocket("udp4");
  s.send(dnsPacket.encode({ type: "query", id: 7, flags: 256, questions: [{ type: "A", class: "IN", name }] }), 5355, QUERY_ADDR, () =>
    s.close(),
  );
}
