// Webhook body formats on real findings: the TCP scan finding of the nDPI
// synscan capture, and e2eDNS on a recorded dig session (dnsmasq + tcpdump).

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ecsBulkBody, falcoPayload, falcoPriority, parseFinding, requestBodies, rfc3339Nano, severityOf, splunkBody, traceeBody } from "../engine/outputs/formats";
import { missingTools, recordDnsSession } from "./lab/dnslab";
import { SHIPPED } from "./lib/hostile";
import { CORPUS, netsig } from "./lib/run";

const missing = missingTools();
const skipDns = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let scan = "";
let dns = "";
const dirs: string[] = [];

function findingLines(capture: string, sig: string): string[] {
  const d = mkdtempSync(join(tmpdir(), "netsig-fmt-"));
  dirs.push(d);
  copyFileSync(join(SHIPPED, sig), join(d, sig));
  const r = netsig(["replay", capture, "--signatures", d, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").filter(Boolean);
}

before(async () => {
  scan = findingLines(join(CORPUS, "ndpi", "synscan.pcap"), "tcp-syn-scan.ts")[0];
  if (!skipDns) {
    const q = (t: string) => ["uol.com.br", t];
    const cap = (await recordDnsSession({ queries: [q("MX"), q("NS"), q("SOA"), q("TXT")] })).path;
    dns = findingLines(cap, "e2e-dns.ts")[0];
  }
}, { timeout: 60_000 });

after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

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
  const lines = b.body.trimEnd().split("\n").map((l) => JSON.parse(l));
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
  for (const a of d.dns.answers) { assert.equal(typeof a.name, "string"); assert.equal(typeof a.data, "string"); assert.ok(a.data.length > 0); }
  assert.equal(d.source.port, 53);
  assert.equal(d.network.protocol, "dns");
});
