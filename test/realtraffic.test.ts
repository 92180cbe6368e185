// Real traffic: dnsmasq (Debian's) serves the lab zones on 127.0.0.1:53 and
// [::1]:53, dig asks every lab query over UDP and TCP, v4 and v6, tcpdump
// records it on `lo` (Ethernet) and on `any` (Linux cooked v2), and netsig's
// CLI replays the captures. Each answer netsig decodes must be the one the lab
// serves (tools/lab/dnslab.ts LAB_QUERIES).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LAB_QUERIES, missingTools, recordDnsSession, type LabQuery, type LabRR } from "../tools/lab/dnslab";
import { netsig } from "./lib/run";

type Json = Record<string, any>;

const missing = missingTools();
// on CI the tools must be there (.ci/run installs them): never skip there
const skip = missing.length && !process.env.CI ? `needs ${missing.join(", ")} (installed by .ci/run)` : false;

interface Recorded {
  file: string;
  events: Json[];
  stderr: string;
  code: number;
}
const recorded: Record<string, Recorded> = {};

function replay(file: string): Recorded {
  const r = netsig([
    "replay",
    file,
    "--events",
    "net_packet_dns,net_packet_dns_request,net_packet_dns_response,net_packet_tcp,net_packet_udp",
  ]);
  return {
    file,
    events: r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
    stderr: r.stderr,
    code: r.code,
  };
}

const arg = (ev: Json, name: string) => ev.args.find((a: Json) => a.name === name)?.value;

// every lab query, both transports, both families
const QUERIES = LAB_QUERIES.flatMap((q) => [
  { q, tcp: false, server: "127.0.0.1" },
  { q, tcp: true, server: "127.0.0.1" },
  { q, tcp: false, server: "::1" },
  { q, tcp: true, server: "::1" },
]);

before(
  async () => {
    if (skip) return;
    for (const iface of ["lo", "any"]) {
      const s = await recordDnsSession({
        iface,
        queries: QUERIES.map(({ q, tcp, server }) => ({ args: q.digArgs, tcp, server })),
      });
      recorded[iface] = replay(s.path);
      recorded[iface].file = s.path;
    }
  },
  { timeout: 180_000 },
);

after(() => undefined);

/** the Tracee record netsig should print for a lab RR */
function expectRR(rr: LabRR): Json {
  const base = { name: rr.name, type: rr.type, class: "IN", TTL: rr.ttl };
  switch (rr.type) {
    case "A":
    case "AAAA":
      return { ...base, IP: rr.address };
    case "NS":
      return { ...base, NS: rr.nsdname };
    case "CNAME":
      return { ...base, CNAME: rr.cname };
    case "PTR":
      return { ...base, PTR: rr.ptrdname };
    case "MX":
      return { ...base, MX: { preference: rr.preference, name: rr.exchange } };
    case "SOA":
      return {
        ...base,
        SOA: {
          MName: rr.mname,
          RName: rr.rname,
          serial: rr.serial,
          refresh: rr.refresh,
          retry: rr.retry,
          expire: rr.expire,
          minimum: rr.minimum,
        },
      };
    case "SRV":
      return { ...base, SRV: { priority: rr.priority, weight: rr.weight, port: rr.port, name: rr.target } };
    case "TXT":
      return { ...base, TXTs: rr.strings };
    default:
      throw new Error("unknown lab RR");
  }
}

function pick(actual: Json, expected: Json): Json {
  return Object.fromEntries(Object.keys(expected).map((k) => [k, actual[k]]));
}

function responsesFor(r: Recorded, q: LabQuery, transport: "UDP" | "TCP", v6: boolean): Json[] {
  return r.events.filter((e) => {
    if (e.eventName !== "net_packet_dns") return false;
    const d = arg(e, "proto_dns");
    return (
      d.QR === 1 &&
      d.questions[0]?.name === q.qname &&
      d.questions[0]?.type === q.qtype &&
      arg(e, "src").includes(":") === v6 &&
      arg(e, "src_port") === 53 &&
      // transport: a TCP-carried message's packet also produced a net_packet_tcp at the same timestamp
      r.events.some((t) => t.eventName === (transport === "TCP" ? "net_packet_tcp" : "net_packet_udp") && t.timestamp === e.timestamp)
    );
  });
}

for (const iface of ["lo", "any"]) {
  test(`replaying the ${iface} capture: no errors, every packet decoded`, { skip }, () => {
    const r = recorded[iface];
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, / 0 malformed/);
    const requests = r.events.filter((e) => e.eventName === "net_packet_dns_request");
    assert.equal(requests.length, QUERIES.length, "one dns_request per dig query");
    const responses = r.events.filter((e) => e.eventName === "net_packet_dns_response");
    assert.equal(responses.length, QUERIES.length, "one dns_response per dig query");
    if (iface === "any") {
      // captured on any: the interface is unknown in the file (SLL2 carries an index), so "any"
      assert.ok(requests.every((e) => arg(e, "metadata").iface === "any"));
    }
  });

  for (const { q, tcp, server } of QUERIES) {
    const v6 = server === "::1";
    const transport = tcp ? "TCP" : "UDP";
    test(`${iface}: ${q.tag} ${q.qtype} ${q.qname} over ${transport} to ${server}`, { skip }, () => {
      const r = recorded[iface];
      const got = responsesFor(r, q, transport, v6);
      assert.equal(got.length, 1, `one response to ${q.qname}/${q.qtype} over ${transport} v${v6 ? 6 : 4}`);
      const d = arg(got[0], "proto_dns");
      assert.equal(d.responseCode, q.rcodeNum === 0 ? "no error" : "non-existent domain");
      assert.equal(d.AA, q.aa ? 1 : 0);
      assert.equal(d.ANCount, q.answers.length);
      assert.equal(d.NSCount, q.authority.length);
      assert.deepEqual(
        d.answers.map((a: Json, i: number) => pick(a, expectRR(q.answers[i]))),
        q.answers.map(expectRR),
      );
      assert.deepEqual(
        d.authorities.map((a: Json, i: number) => pick(a, expectRR(q.authority[i]))),
        q.authority.map(expectRR),
      );
      // the simple event agrees with the full one
      const simple = r.events.find(
        (e) =>
          e.eventName === "net_packet_dns_response" &&
          e.timestamp === got[0].timestamp &&
          arg(e, "metadata").dst_port === arg(got[0], "dst_port"),
      )!;
      assert.ok(simple, "a matching net_packet_dns_response");
      assert.equal(arg(simple, "metadata").protocol, tcp ? 6 : 17);
      const answers = arg(simple, "dns_response")[0].dns_answer;
      if (q.answers.length === 0) assert.equal(answers, null);
      else
        assert.deepEqual(
          answers.map((a: Json) => a.answer_type),
          q.answers.map((a) => a.type),
        );
    });
  }
}
