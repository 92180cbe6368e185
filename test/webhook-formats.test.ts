// Webhook body formats on real findings: the TCP scan finding of the nDPI
// synscan capture, and e2eDNS (examples/tracee-e2e) on a recorded dig session
// (dnsmasq + tcpdump).

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { spawnSync } from "node:child_process";
import {
  ecsBulkBody,
  falcoPayload,
  findingCommunityId,
  falcoPriority,
  parseFinding,
  requestBodies,
  rfc3339Nano,
  severityOf,
  splunkBody,
  traceeBody,
} from "../engine/outputs/formats";
import { missingTools, recordDnsSession } from "../tools/lab/dnslab";
import { SHIPPED } from "./lib/hostile";
import { CORPUS, EXAMPLES, netsig, TRACEE_E2E } from "./lib/run";

const missing = missingTools();
const skipDns = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let scan = "";
let dns = "";
/** a rule's finding (with an output: template) on a net_packet_dns_request, with a pod's identity */
let ruleLine = "";
const dirs: string[] = [];

/** `sig` from `from` (default the shipped folder) alone over `capture` */
function findingLines(capture: string, sig: string, from = SHIPPED): string[] {
  const d = mkdtempSync(join(tmpdir(), "netsig-fmt-"));
  dirs.push(d);
  copyFileSync(join(from, sig), join(d, sig));
  const r = netsig(["replay", capture, "--signatures", d, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").filter(Boolean);
}

const RULE = `id: POD-TEST-QUERY
name: pod test query
description: every DNS query
severity: low
events: [net_packet_dns_request]
detection:
  q:
    dns.query|contains: '.'
  condition: q
output: '{dns.src_ip} asked for {dns.query}'
`;

before(
  async () => {
    scan = findingLines(join(CORPUS, "ndpi", "synscan.pcap"), "tcp-syn-scan.ts")[0];
    const d = mkdtempSync(join(tmpdir(), "netsig-fmt-rule-"));
    dirs.push(d);
    writeFileSync(join(d, "q.yaml"), RULE);
    const r = netsig(["replay", join(EXAMPLES, "dns-lo.pcap"), "--rules", d, "--quiet"], undefined, {
      POD_NAME: "web-1",
      POD_NAMESPACE: "shop",
      POD_UID: "uid-1",
      NETSIG_CONTAINER_NAME: "app",
      NETSIG_CONTAINER_IMAGE: "nginx:1.27",
      NETSIG_CONTAINER_ID: "8d5f1a2b3c4d5e6f7a8b9c0d",
    });
    assert.equal(r.code, 0, r.stderr);
    ruleLine = r.stdout.split("\n")[0];
    if (!skipDns) {
      const q = (t: string) => ["uol.com.br", t];
      const cap = (await recordDnsSession({ queries: [q("MX"), q("NS"), q("SOA"), q("TXT")] })).path;
      dns = findingLines(cap, "e2e-dns.ts", TRACEE_E2E)[0];
    }
  },
  { timeout: 60_000 },
);

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("severity mapping: Tracee 0-4 -> Falco priority, ECS event.severity keeps 0-4", () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(falcoPriority), ["Informational", "Notice", "Warning", "Error", "Critical"]);
  assert.equal(severityOf({}), 0);
  assert.equal(severityOf({ metadata: { Properties: { Severity: 3 } } }), 3);
  assert.equal(severityOf({ metadata: { Properties: { Severity: 9 } } }), 4);
  const f = parseFinding(scan);
  assert.equal(severityOf(f.ev), 2);
  const doc = JSON.parse(ecsBulkBody([f]).body.split("\n")[1]);
  assert.equal(doc.event.severity, 2);
  assert.equal(doc.log.level, "warning");
  assert.equal(falcoPayload(f).priority, "Warning");
});

test("time keeps nanoseconds (RFC 3339)", () => {
  assert.equal(rfc3339Nano(1278275057677893123n), "2010-07-04T20:24:17.677893123Z");
  const f = parseFinding(scan);
  assert.equal(f.tsNs, BigInt(/^\{"timestamp":(\d+)/.exec(scan)![1]));
});

test("tracee: a JSON array of the finding lines, timestamps exact", () => {
  const b = traceeBody([scan, scan]);
  assert.equal(b.body, `[${scan},${scan}]`);
  assert.equal(JSON.parse(b.body).length, 2);
});

test("falcosidekick: one payload per finding, required fields present and typed", () => {
  const bodies = requestBodies("falcosidekick", [scan, scan, scan]);
  assert.equal(bodies.length, 3);
  const p = JSON.parse(bodies[0].body);
  for (const k of ["output", "priority", "rule", "time", "source", "hostname"]) assert.equal(typeof p[k], "string", k);
  assert.ok(p.rule.length > 0 && p.output.length > 0);
  assert.match(p.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.equal(p.rule, "TCP port scan");
  assert.equal(typeof p.output_fields, "object");
  assert.equal(p.output_fields["fd.sip"], "172.16.0.8");
  assert.equal(p.output_fields["fd.dip"], "64.13.134.52");
  assert.equal(p.output_fields["fd.dport"], 8080);
  assert.equal(p.output_fields["netsig.distinct_ports"], 20);
  assert.deepEqual(p.tags, ["network", "tcp", "scan", "discovery"]);
  for (const v of Object.values(p.output_fields)) assert.ok(["string", "number", "boolean"].includes(typeof v));
});

test("splunk-hec: concatenated event objects with time/host/source/sourcetype/event", () => {
  const b = splunkBody([parseFinding(scan), parseFinding(scan)]);
  const objs = b.body.split("\n").map((l) => JSON.parse(l));
  assert.equal(objs.length, 2);
  assert.equal(objs[0].time, 1278275057.677);
  assert.equal(objs[0].source, "netsig");
  assert.equal(objs[0].sourcetype, "netsig:finding");
  assert.equal(typeof objs[0].host, "string");
  assert.equal(objs[0].event.eventName, "tcp_syn_scan");
});

test("ecs: _bulk NDJSON, create action with the findingID as _id, ECS fields", () => {
  const f = parseFinding(scan);
  const b = ecsBulkBody([f, f]);
  assert.equal(b.contentType, "application/x-ndjson");
  assert.ok(b.body.endsWith("\n"));
  const lines = b.body
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines[0], { create: { _id: f.ev.metadata.Properties.findingID } });
  const d = lines[1];
  assert.equal(d.source.ip, "172.16.0.8");
  assert.equal(d.destination.ip, "64.13.134.52");
  assert.equal(d.destination.port, 8080);
  assert.equal(d.network.transport, "tcp");
  assert.equal(d.rule.name, "TCP port scan");
  assert.equal(d.rule.id, "NETSIG-TCP-SYN-SCAN");
  assert.equal(d.threat.technique.id, "T1046");
  assert.equal(d.event.kind, "alert");
  assert.match(d["@timestamp"], /^2010-07-04T/);
});

test("ecs: dns.question.name and dns.answers from e2eDNS on a recorded dig session", { skip: skipDns }, () => {
  const d = JSON.parse(ecsBulkBody([parseFinding(dns)]).body.split("\n")[1]);
  assert.equal(d.rule.id, "DNS");
  assert.equal(d.dns.question.name, "uol.com.br");
  assert.equal(d.dns.type, "answer");
  assert.ok(d.dns.answers.length >= 1, JSON.stringify(d.dns));
  for (const a of d.dns.answers) {
    assert.equal(typeof a.name, "string");
    assert.equal(typeof a.data, "string");
    assert.ok(a.data.length > 0);
  }
  assert.equal(d.source.port, 53);
  assert.equal(d.network.protocol, "dns");
});

test("a rule's output: template is Falco's output and ECS's message (not netsig.output)", () => {
  const f = parseFinding(ruleLine);
  const p = falcoPayload(f);
  assert.match(p.output as string, /^\d{4}-\d\d-\d\dT[\d:.]+Z: Notice 127\.0\.0\.1 asked for www\.uol\.com\.br( |$)/);
  assert.equal((p.output_fields as Record<string, unknown>)["netsig.output"], undefined);
  const d = JSON.parse(ecsBulkBody([f]).body.split("\n")[1]);
  assert.equal(d.message, "127.0.0.1 asked for www.uol.com.br");
  assert.equal(d.netsig.finding.output, undefined);
});

test("ecs: a finding on net_packet_dns_request/_response (PktMeta, no src/dst args) has source.ip, destination.ip and ports", () => {
  const d = JSON.parse(ecsBulkBody([parseFinding(ruleLine)]).body.split("\n")[1]);
  assert.equal(d.source.ip, "127.0.0.1");
  assert.equal(d.destination.ip, "127.0.0.1");
  assert.equal(d.destination.port, 53);
  assert.equal(typeof d.source.port, "number");
  assert.equal(d.network.transport, "udp");
  assert.equal(d.network.protocol, "dns");
  assert.deepEqual(d.dns.question, { name: "www.uol.com.br", type: "A", class: "IN" });
  const p = falcoPayload(parseFinding(ruleLine)).output_fields as Record<string, unknown>;
  assert.equal(p["fd.sip"], "127.0.0.1");
  assert.equal(p["fd.dport"], 53);
});

test("splunk-hec: event.timestamp keeps its nanoseconds (the finding line itself is the event)", () => {
  const line = scan.replace(/^\{"timestamp":\d+/, '{"timestamp":1278275057677893123');
  const body = splunkBody([parseFinding(line)]).body;
  assert.match(body, /"event":\{"timestamp":1278275057677893123,/);
  const o = JSON.parse(body);
  assert.equal(o.time, 1278275057.677);
  assert.equal(o.event.eventName, "tcp_syn_scan");
});

test("pod fields: ECS orchestrator.*, container.*, host.* (the node), kubernetes.*; Falco k8s.* and container.*; Splunk host (the node) and fields", () => {
  const f = parseFinding(ruleLine);
  const ctx = {
    nodeName: "node-a",
    serviceAccount: "web-sa",
    clusterName: "prod-eu",
    labels: { app: "web", "app.kubernetes.io/version": "2" },
    annotations: { team: "shop", "kubectl.kubernetes.io/last-applied-configuration": "{...}" },
  };
  const d = JSON.parse(ecsBulkBody([f], ctx).body.split("\n")[1]);
  assert.deepEqual(d.orchestrator, {
    type: "kubernetes",
    namespace: "shop",
    resource: { type: "pod", name: "web-1", id: "uid-1", label: ["app:web", "app.kubernetes.io/version:2"], annotation: ["team:shop"] },
    cluster: { name: "prod-eu" },
  });
  assert.deepEqual(d.container, { id: "8d5f1a2b3c4d5e6f7a8b9c0d", name: "app", image: { name: "nginx:1.27" } });
  assert.deepEqual(d.host, { hostname: "node-a", name: "node-a" });
  assert.deepEqual(d.kubernetes, {
    pod: { name: "web-1", uid: "uid-1" },
    namespace: "shop",
    node: { name: "node-a" },
    labels: { app: "web", "app_kubernetes_io/version": "2" },
    annotations: { team: "shop" },
    serviceaccount: { name: "web-sa" },
    container: { name: "app" },
  });
  const p = falcoPayload(f, ctx);
  const o = p.output_fields as Record<string, unknown>;
  assert.equal(o["k8s.ns.name"], "shop");
  assert.equal(o["k8s.pod.name"], "web-1");
  assert.equal(o["container.id"], "8d5f1a2b3c4d", "Falco's 12-character container.id");
  assert.equal(o["container.name"], "app");
  assert.equal(o["k8s.pod.label[app]"], "web");
  assert.equal(p.hostname, "node-a");
  const h = JSON.parse(splunkBody([f], ctx).body);
  assert.equal(h.host, "node-a");
  assert.equal(h.fields.pod, "web-1");
  assert.equal(h.fields.namespace, "shop");
  assert.equal(h.event.kubernetes.podName, "web-1");
  // without a pod: none of them, and host is the event's hostName
  const bare = JSON.parse(ecsBulkBody([parseFinding(scan)]).body.split("\n")[1]);
  assert.equal(bare.orchestrator, undefined);
  assert.equal(bare.container, undefined);
  assert.equal(bare.host.name, parseFinding(scan).ev.hostName);
  // (no pod: of the indexed fields only the flow's Community ID)
  assert.deepEqual(Object.keys(JSON.parse(splunkBody([parseFinding(scan)]).body).fields), ["community_id"]);
});

/** tshark's Community ID (its own dissector) of the packets of a capture with these endpoints */
function tsharkCommunityId(capture: string, src: string, sport: number, dst: string, dport: number): string {
  const r = spawnSync(
    "tshark",
    [
      "-r",
      capture,
      "--enable-protocol",
      "communityid",
      "-T",
      "fields",
      "-E",
      "separator=,",
      "-e",
      "ip.src",
      "-e",
      "ip.dst",
      "-e",
      "tcp.srcport",
      "-e",
      "tcp.dstport",
      "-e",
      "udp.srcport",
      "-e",
      "udp.dstport",
      "-e",
      "communityid",
    ],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
  for (const l of r.stdout.split("\n")) {
    const [s, d, ts, td, us, ud, cid] = l.split(",");
    if (s === src && d === dst && Number(ts || us) === sport && Number(td || ud) === dport) return cid;
  }
  return "";
}

test("community_id: every format but tracee carries the triggering flow's Community ID v1, as tshark computes it", () => {
  // TCP (net_packet_tcp's proto_tcp ports) and UDP (dns_request's PktMeta)
  for (const [line, capture] of [
    [scan, join(CORPUS, "ndpi", "synscan.pcap")],
    [ruleLine, join(EXAMPLES, "dns-lo.pcap")],
  ] as const) {
    const f = parseFinding(line);
    const d = JSON.parse(ecsBulkBody([f]).body.split("\n")[1]);
    const want = tsharkCommunityId(capture, d.source.ip, d.source.port, d.destination.ip, d.destination.port);
    assert.match(want, /^1:[A-Za-z0-9+/]{27}=$/);
    assert.equal(d.network.community_id, want);
    assert.equal(findingCommunityId(f.ev), want);
    assert.equal((falcoPayload(f).output_fields as Record<string, unknown>)["netsig.community_id"], want);
    assert.equal(JSON.parse(splunkBody([f]).body).fields.community_id, want);
    // the Tracee format is the finding as printed: no field added
    assert.doesNotMatch(traceeBody([line]).body, /community_id/);
  }
  // ICMP: type and code from Tracee's typeCode name (the spec's echo request vector); a flow event's own arg
  const finding = (name: string, args: { name: string; value: unknown }[]) => ({ args: [{ name: "triggeredBy", value: { name, args } }] });
  const icmp = finding("net_packet_icmp", [
    { name: "src", value: "1.2.3.4" },
    { name: "dst", value: "5.6.7.8" },
    { name: "proto_icmp", value: { typeCode: "EchoRequest", checksum: 0, id: 1, seq: 1 } },
  ]);
  assert.equal(findingCommunityId(icmp), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
  const flow = finding("net_flow_tcp_begin", [{ name: "community_id", value: "1:abc" }]);
  assert.equal(findingCommunityId(flow), "1:abc");
  // no transport: none
  assert.equal(
    findingCommunityId(
      finding("net_packet_ipv4", [
        { name: "src", value: "1.2.3.4" },
        { name: "dst", value: "5.6.7.8" },
      ]),
    ),
    "",
  );
});
