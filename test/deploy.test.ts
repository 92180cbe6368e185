// The Dockerfile, .dockerignore and the Kubernetes sidecar example, checked
// against the code they use (Docker itself is not run here): every YAML
// document parses; netsig's arguments are flags `netsig run --help` lists; the
// config ConfigMap is a valid --config file; the signature ConfigMap loads and
// fires; volumes, ConfigMaps and the Secret referenced exist; the probes'
// command works against a real server; the Dockerfile's npm scripts, copied
// paths and entry point exist, everything under what it copies is sent to the
// build, and the podman options test/image.test.ts runs the image with are
// the example's securityContext. (The image itself is built and run by
// test/image.test.ts.)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadAll } from "js-yaml";
import { SHIPPED_SIGNATURES } from "../engine/app/detection";
import { NETSIG_ENV, POD_ENV } from "../engine/app/podinfo";
import { SHIPPED_RULES } from "../engine/rules/compile/load";
import { capMask, podmanEmptyDirArgs, podmanSecurityArgs, sidecarSpec } from "./lib/container";
import { netsig } from "./lib/run";

const ROOT = join(__dirname, "..", "..");
const K8S = join(ROOT, "deploy", "kubernetes", "netsig-sidecar.yaml");
/** flags the example uses that another branch adds (engine/cli/ops.ts); checked by --help once merged */
const PENDING_FLAGS = new Set(["--listen"]);

interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: any;
}

function docs(): K8sDoc[] {
  return loadAll(readFileSync(K8S, "utf8")) as K8sDoc[];
}

function sidecar() {
  const all = docs();
  const dep = all.find((d) => d.kind === "Deployment")!;
  const pod = dep.spec.template.spec;
  return { all, dep, pod, c: pod.containers.find((c: { name: string }) => c.name === "netsig") };
}

test("k8s: every document parses, with apiVersion, kind and name; an app container and netsig share the pod (no host network)", () => {
  const all = docs();
  assert.deepEqual(
    all.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`),
    ["v1 ConfigMap netsig-config", "v1 ConfigMap netsig-signatures", "v1 Secret netsig-webhook", "apps/v1 Deployment web"],
  );
  const { dep, pod, c } = sidecar();
  assert.deepEqual(
    pod.containers.map((x: { name: string }) => x.name),
    ["app", "netsig"],
  );
  assert.equal(pod.hostNetwork, undefined, "the pod's own network namespace");
  assert.deepEqual(dep.spec.selector.matchLabels, dep.spec.template.metadata.labels);
  // the packet socket (NET_RAW, NET_ADMIN for its buffer) and the sandbox's switch to nobody (SETUID, SETGID)
  assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"], add: ["NET_RAW", "NET_ADMIN", "SETUID", "SETGID"] });
  assert.equal(c.securityContext.runAsUser, 0, "uid 0: added capabilities reach no other user under no_new_privs");
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.privileged, false);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
});

test("k8s: netsig's arguments are flags `netsig run --help` lists", () => {
  const { c } = sidecar();
  const help = netsig(["run", "--help"]);
  assert.equal(help.code, 0);
  const listed = new Set(help.stdout.match(/--[a-z][a-z0-9-]*/g));
  assert.equal(c.args[0], "run");
  const flags = (c.args as string[]).filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
  assert.ok(flags.length >= 2, String(c.args));
  const unknown = flags.filter((f) => !listed.has(f) && !PENDING_FLAGS.has(f));
  assert.deepEqual(unknown, [], "flags run does not know");
  for (const f of PENDING_FLAGS)
    if (!listed.has(f)) process.stderr.write(`deploy test: ${f} is not in run --help yet (added by the ops branch)\n`);
});

test("k8s: the config ConfigMap is a valid --config file; --config points into its mount; the token variable comes from the Secret", () => {
  const { all, pod, c } = sidecar();
  const cm = all.find((d) => d.metadata.name === "netsig-config")!;
  const dir = mkdtempSync(join(tmpdir(), "netsig-deploy-"));
  try {
    const file = join(dir, "netsig.yaml");
    writeFileSync(file, cm.data!["netsig.yaml"]);
    // the file is read and checked (keys, types) before --help is answered
    const r = netsig(["run", "--config", file, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(file, cm.data!["netsig.yaml"] + "ifacee: eth0\n");
    assert.equal(netsig(["run", "--config", file, "--help"]).code, 2, "(the check does reject a bad key)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cfgPath = c.args[c.args.indexOf("--config") + 1] as string;
  const mount = c.volumeMounts.find((m: { mountPath: string }) => cfgPath.startsWith(m.mountPath + "/"));
  assert.ok(mount, `a volume is mounted over ${cfgPath}`);
  assert.equal(mount.subPath, undefined, "a folder mount (subPath mounts never see ConfigMap updates)");
  const vol = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  assert.equal(vol.configMap.name, "netsig-config");
  assert.ok(cfgPath.slice(mount.mountPath.length + 1) in cm.data!, "the file is a key of the ConfigMap");

  const cfg = loadAll(cm.data!["netsig.yaml"])[0] as Record<string, unknown>;
  const envName = cfg["webhook-token-env"] as string;
  const env = c.env.find((e: { name: string }) => e.name === envName);
  assert.ok(env, `the container sets ${envName}`);
  const ref = env.valueFrom.secretKeyRef;
  const secret = all.find((d) => d.kind === "Secret" && d.metadata.name === ref.name);
  assert.ok(secret && ref.key in secret.stringData!, "from a key of the Secret");
  // the folders in signatures: the image's shipped ones, and the mounted ConfigMap
  const sigMount = c.volumeMounts.find((m: { name: string }) => m.name === "signatures");
  assert.deepEqual(cfg.signatures, ["/opt/netsig/signatures", sigMount.mountPath]);
  assert.equal(pod.volumes.find((v: { name: string }) => v.name === "signatures").configMap.name, "netsig-signatures");
  // every mount has its volume, and every volume's ConfigMap is in the file
  for (const m of c.volumeMounts)
    assert.ok(
      pod.volumes.some((v: { name: string }) => v.name === m.name),
      m.name,
    );
  for (const v of pod.volumes)
    if (v.configMap)
      assert.ok(
        all.some((d) => d.kind === "ConfigMap" && d.metadata.name === v.configMap.name),
        v.name,
      );
  // the spool and the output file are on writable volumes (the root file system is read-only)
  for (const p of [cfg["spool-dir"], cfg["output-file"]] as string[]) {
    const m = c.volumeMounts.find((x: { mountPath: string }) => p.startsWith(x.mountPath + "/"));
    assert.ok(m && !m.readOnly, p);
  }
});

test("k8s: the pod's identity is wired: every Downward API variable netsig reads from a fieldRef is set from the right field, the container variables are set, --pod-info is the downwardAPI volume's mount with labels and annotations", () => {
  const { all, pod, c } = sidecar();
  const env = new Map<string, any>(c.env.map((e: { name: string }) => [e.name, e]));
  const fieldOf: Record<keyof typeof POD_ENV, string> = {
    podName: "metadata.name",
    podNamespace: "metadata.namespace",
    podUID: "metadata.uid",
    nodeName: "spec.nodeName",
    serviceAccount: "spec.serviceAccountName",
  };
  for (const [key, name] of Object.entries(POD_ENV)) {
    assert.equal(env.get(name)?.valueFrom?.fieldRef?.fieldPath, fieldOf[key as keyof typeof POD_ENV], `${name} from its fieldRef`);
  }
  for (const name of [NETSIG_ENV.containerName, NETSIG_ENV.containerImage]) assert.ok(env.get(name)?.value, `${name} is set`);
  assert.equal(env.get(NETSIG_ENV.containerName).value, pod.containers[0].name, "the app container's name");
  assert.equal(env.get(NETSIG_ENV.containerImage).value, pod.containers[0].image, "and its image");
  // every variable the example sets that looks like one of netsig's is one netsig reads
  const known = new Set([...Object.values(POD_ENV), ...Object.values(NETSIG_ENV), "NETSIG_WEBHOOK_TOKEN"]);
  for (const name of env.keys()) assert.ok(known.has(name), `${name} is read by netsig`);

  const cfg = loadAll(all.find((d) => d.metadata.name === "netsig-config")!.data!["netsig.yaml"])[0] as Record<string, string>;
  const mount = c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === cfg["pod-info"]);
  assert.ok(mount, `a volume is mounted on pod-info ${cfg["pod-info"]}`);
  assert.equal(mount.subPath, undefined, "a folder mount (the kubelet's updates reach it)");
  const vol = pod.volumes.find((v: { name: string }) => v.name === mount.name);
  const items = Object.fromEntries(
    vol.downwardAPI.items.map((i: { path: string; fieldRef: { fieldPath: string } }) => [i.path, i.fieldRef.fieldPath]),
  );
  assert.deepEqual(items, { labels: "metadata.labels", annotations: "metadata.annotations" });
});

test("k8s: the signature ConfigMap loads and fires (signatures list, signatures test on the bundled capture)", () => {
  const cm = docs().find((d) => d.metadata.name === "netsig-signatures")!;
  const dir = mkdtempSync(join(tmpdir(), "netsig-deploy-sigs-"));
  try {
    for (const [name, text] of Object.entries(cm.data!)) writeFileSync(join(dir, name), text);
    const l = netsig(["signatures", "list", "--signatures", dir]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /DNS-WATCH/);
    const t = netsig(["signatures", "test", join(dir, "dns-watch.ts"), "--pcap", join(ROOT, "examples", "dns-lo.pcap")]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stderr + t.stdout, /\b[1-9]\d* findings, 0 errors/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("k8s: the probes ask /healthz and /readyz at --listen's address; their command exits 0 on 200, 1 on 503 and when nothing listens", async () => {
  const { c } = sidecar();
  const listen = c.args[c.args.indexOf("--listen") + 1] as string;
  assert.equal(listen, "127.0.0.1:9464");
  const probes = [
    [c.livenessProbe, "/healthz"],
    [c.readinessProbe, "/readyz"],
  ] as const;
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url!);
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const [probe, path] of probes) {
      const cmd = probe.exec.command as string[];
      assert.equal(cmd[0], "node");
      assert.ok(cmd[2].includes(`http://${listen}${path}`), cmd[2]);
      // the same command, pointed at this test's server
      // (asynchronously: the server answers from this process)
      const probeAt = (p: number): Promise<number | null> =>
        new Promise((resolve) => {
          spawn(process.execPath, [cmd[1], cmd[2].replace(listen, `127.0.0.1:${p}`)], { stdio: "ignore" }).on("close", (code) =>
            resolve(code),
          );
        });
      status = 200;
      assert.equal(await probeAt(port), 0);
      status = 503;
      assert.equal(await probeAt(port), 1);
      assert.equal(await probeAt(1), 1, "connection refused");
    }
  } finally {
    server.close();
  }
  assert.deepEqual(paths, ["/healthz", "/healthz", "/readyz", "/readyz"]);
});

test("Dockerfile: both bases are build arguments with public defaults (Node 20); npm scripts it runs exist; libpcap's runtime is found or installed", () => {
  const lines = dockerfileLines();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const from = lines.filter((l) => l.startsWith("FROM "));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ${...} build arguments
  assert.deepEqual(from, ["FROM ${BASE} AS build", "FROM ${RUNTIME_BASE}"]);
  // ARGs before the first FROM: the defaults a plain `docker build .` uses
  const first = lines.indexOf(from[0]);
  const args = Object.fromEntries(
    lines
      .slice(0, first)
      .filter((l) => l.startsWith("ARG "))
      .map((l) => l.slice(4).split("=")),
  );
  assert.match(args.BASE, /^node:20-/, "a public Node 20 image");
  assert.match(args.RUNTIME_BASE, /^node:20-/);
  // the build script gives the local base for both
  const script = readFileSync(join(ROOT, "deploy", "build-image.sh"), "utf8");
  assert.match(script, /--build-arg "BASE=\$BASE" --build-arg "RUNTIME_BASE=\$BASE"/);
  const runs = lines.filter((l) => l.startsWith("RUN ")).join("\n");
  assert.match(runs, /apt-get install -y --no-install-recommends libpcap-dev/);
  // trixie renamed the runtime package (t64); either is installed, none when the base has libpcap
  assert.match(runs, /pkg=libpcap0\.8t64 && \{ apt-cache show "\$pkg" >\/dev\/null 2>&1 \|\| pkg=libpcap0\.8; \}/);
  // npm ci runs `install`, which compiles the native part (it is also what a project
  // that installs the package runs), then `prepare`, which builds
  assert.match(runs, /npm ci/);
  assert.ok(existsSync(join(ROOT, "package-lock.json")));
  assert.match(pkg.scripts.prepare, /npm run build/);
  assert.equal(pkg.scripts.install, "node native/build.js");
  for (const s of [...runs.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1])) assert.ok(s in pkg.scripts, `npm run ${s}`);
  for (const s of pkg.scripts.prepare.match(/npm run ([\w:-]+)/g)!.map((m: string) => m.slice(8))) assert.ok(s in pkg.scripts, s);
  // node-gyp must not download headers: the base's own (official images /usr/local, Debian /usr)
  assert.match(runs, /npm_config_nodedir=\/usr\/local/);
  assert.match(runs, /npm_config_nodedir=\/usr;/);
});

test("Dockerfile: every file under what it copies from the context is sent (.dockerignore, as Docker and podman read it); nothing built here is", () => {
  const lines = dockerfileLines();
  const ignore = dockerignore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));
  const fromContext = lines.filter((l) => l.startsWith("COPY ") && !l.includes("--from=")).flatMap((l) => l.split(/\s+/).slice(1, -1));
  assert.deepEqual(fromContext, [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "engine",
    "signatures",
    "examples/tracee-e2e",
    "native",
    "rules",
  ]);
  let files = 0;
  for (const p of fromContext) {
    assert.ok(existsSync(join(ROOT, p)), p);
    for (const f of walk(p)) {
      // (native/pktstats/build: what a local build made, rebuilt in the image)
      if (f.startsWith("native/pktstats/build/")) continue;
      files++;
      assert.ok(ignore(f), `${f} is sent to the build`);
    }
  }
  assert.ok(files > 100, `${files} files`);
  // what `npm ci`'s prepare runs and reads (issue 13: native/build.js once was not sent)
  for (const f of [
    "native/build.js",
    "native/pktstats/binding.gyp",
    "native/pktstats/pktstats.c",
    "signatures/tsconfig.json",
    "examples/tracee-e2e/tsconfig.json",
    "examples/tracee-e2e/e2e-dns.ts",
    "engine/rules/compile/standalone.ts",
    "engine/sandbox/bundle.ts",
    "engine/rules/compile/schema.json",
  ]) {
    assert.ok(existsSync(join(ROOT, f)), f);
    assert.ok(ignore(f), `${f} is sent`);
  }
  for (const f of [
    "node_modules/ajv/package.json",
    "dist/engine/cli/main.js",
    ".git/HEAD",
    "native/pktstats/build/Makefile",
    "test/deploy.test.ts",
    ".ci/run",
    "examples/dns-lo.pcap",
    "examples/record-example.sh",
  ]) {
    assert.ok(!ignore(f), `${f} is not sent`);
  }
});

test("dockerignore matcher: the last matching pattern wins, a pattern matches a path or a folder above it, ** spans folders", () => {
  const m = dockerignore("*\n!native\nnative/pktstats/build\n!a/**/*.ts\n");
  assert.equal(m("native/build.js"), true);
  assert.equal(m("native/pktstats/build/x.o"), false);
  assert.equal(m("engine/x.ts"), false);
  assert.equal(m("a/b/c/x.ts"), true);
  assert.equal(m("a/b/c/x.js"), false);
});

test("Dockerfile: the runtime stage has what netsig reads at run time; the entry point is the bin", () => {
  const lines = dockerfileLines();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const runs = lines.filter((l) => l.startsWith("RUN ")).join("\n");
  // what the build stage produces, which the runtime stage copies: the same paths a local build makes
  const fromBuild = lines.filter((l) => l.startsWith("COPY --from=build ")).map((l) => l.split(/\s+/)[2].replace(/^\/src\//, ""));
  assert.deepEqual(fromBuild, ["package.json", "node_modules", "dist/engine", "signatures", "native/pktstats/build/Release/pktstats.node"]);
  for (const p of fromBuild.slice(0, 4)) assert.ok(existsSync(join(ROOT, p)), p);
  // generated at build time and read at run time
  for (const f of ["dist/engine/sandbox/realm-bundle.json", "dist/engine/rules/compile/schema-validators.js"])
    assert.ok(existsSync(join(ROOT, f)), f);
  assert.match(runs, /test -f dist\/engine\/sandbox\/realm-bundle\.json/);
  assert.match(runs, /prebuiltBundle\(\)/, "the build fails when the image's realm bundle would be stale");
  // without the TypeScript sources the bundle is checked against the compiled files, which the image has
  const bundle = JSON.parse(readFileSync(join(ROOT, "dist", "engine", "sandbox", "realm-bundle.json"), "utf8")) as { compiled: [string][] };
  assert.ok(bundle.compiled.length > 0);
  for (const [f] of bundle.compiled) assert.match(f, /^dist\/engine\//, "copied by COPY dist/engine");
  // the rule pack: --rules @shipped is /opt/netsig/rules
  assert.ok(lines.includes("COPY rules rules"));
  assert.equal(SHIPPED_RULES, join(ROOT, "rules"));
  // the entry point: `netsig`, linked to package.json's bin, a node script
  assert.ok(lines.includes('ENTRYPOINT ["netsig"]'));
  const link = /ln -s \/opt\/netsig\/(\S+) \/usr\/local\/bin\/netsig/.exec(runs);
  assert.ok(link, "netsig is on PATH");
  assert.equal(link[1], pkg.bin.netsig);
  assert.match(readFileSync(join(ROOT, link[1]), "utf8"), /^#!\/usr\/bin\/env node\n/);
  // the image keeps the repository's layout under /opt/netsig: dist/engine/cli finds ../../../signatures
  assert.equal(SHIPPED_SIGNATURES, join(ROOT, "signatures"));
});

test("k8s -> podman: the image test's options are the sidecar's securityContext and emptyDirs", () => {
  const s = sidecarSpec(K8S);
  assert.deepEqual(podmanSecurityArgs(s.securityContext), [
    "--user",
    "0",
    "--cap-drop",
    "ALL",
    "--cap-add",
    "NET_RAW",
    "--cap-add",
    "NET_ADMIN",
    "--cap-add",
    "SETUID",
    "--cap-add",
    "SETGID",
    "--security-opt",
    "no-new-privileges",
    "--read-only",
    "--read-only-tmpfs=false",
  ]);
  assert.deepEqual(podmanEmptyDirArgs(s), ["--tmpfs", "/var/lib/netsig", "--tmpfs", "/var/log/netsig"]);
  assert.throws(() => podmanSecurityArgs({ ...s.securityContext, seccompProfile: { type: "RuntimeDefault" } } as never), /seccompProfile/);
  assert.equal(capMask(["NET_ADMIN", "NET_RAW"]), 0x3000n);
});

function dockerfileLines(): string[] {
  const df = readFileSync(join(ROOT, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  return df
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
}

/** every file under a path of the repository (relative paths), or the path itself when a file */
function walk(p: string): string[] {
  const full = join(ROOT, p);
  if (!statSync(full).isDirectory()) return [p];
  return readdirSync(full).flatMap((e) => walk(`${p}/${e}`));
}

/**
 * .dockerignore as Docker (moby/patternmatcher) and podman read it: a path is
 * excluded when the last pattern matching it, or a folder above it, is not
 * negated; `*` and `?` stay within a folder, `**` spans any number of them.
 * Returns whether a path is sent.
 */
function dockerignore(text: string): (path: string) => boolean {
  const pats = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const neg = l.startsWith("!");
      const glob = (neg ? l.slice(1) : l).replace(/^\/+/, "").replace(/\/+$/, "");
      const re = glob
        .split(/(\*\*\/?|\*|\?)/)
        .map((t) =>
          t === "**" || t === "**/"
            ? "(?:.*/)?" + (t === "**" ? ".*" : "")
            : t === "*"
              ? "[^/]*"
              : t === "?"
                ? "[^/]"
                : t.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
        )
        .join("");
      return { neg, re: new RegExp(`^${re}$`) };
    });
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let sent = true;
    for (const p of pats) if (prefixes.some((x) => p.re.test(x))) sent = p.neg;
    return sent;
  };
}
