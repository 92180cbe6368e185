// Proves the DNS lab works: the real dnsmasq answers every lab query over UDP
// and TCP on 127.0.0.1 and ::1, and real tcpdump captures (on lo and on any)
// hold each query and its exact expected answer, as tshark decodes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  LAB,
  LAB_BASIC_QUERIES,
  LAB_QUERIES,
  LINKTYPE,
  QTYPE_NUM,
  dig,
  lockPath,
  makeTempDir,
  missingTools,
  readCaptureLinktype,
  recordDnsSession,
  startDnsmasq,
  startTcpdump,
  tsharkFields,
  type DigQuery,
  type LabQuery,
  type LabRR,
} from "../tools/lab/dnslab";

const SERVERS = ["127.0.0.1", "::1"] as const;
const TRANSPORTS = [false, true] as const; // tcp?

const FIELDS = [
  "frame.protocols",
  "ip.dst",
  "ipv6.dst",
  "dns.id",
  "dns.flags.response",
  "dns.flags.rcode",
  "dns.flags.authoritative",
  "dns.qry.name",
  "dns.qry.type",
  "dns.count.answers",
  "dns.count.auth_rr",
  "dns.resp.name",
  "dns.resp.type",
  "dns.resp.ttl",
  "dns.a",
  "dns.aaaa",
  "dns.mx.preference",
  "dns.mx.mail_exchange",
  "dns.ns",
  "dns.soa.mname",
  "dns.soa.rname",
  "dns.soa.serial_number",
  "dns.soa.refresh_interval",
  "dns.soa.retry_interval",
  "dns.soa.expire_limit",
  "dns.soa.minimum_ttl",
  "dns.txt",
  "dns.srv.service",
  "dns.srv.proto",
  "dns.srv.name",
  "dns.srv.priority",
  "dns.srv.weight",
  "dns.srv.port",
  "dns.srv.target",
  "dns.ptr.domain_name",
  "dns.cname",
] as const;
type Field = (typeof FIELDS)[number];
type Row = Record<Field, string>;

interface Sent {
  q: LabQuery;
  server: string;
  tcp: boolean;
  id: number;
}

function toRows(raw: string[][]): Row[] {
  return raw.map((cells) => {
    const r = {} as Row;
    FIELDS.forEach((f, i) => {
      r[f] = cells[i] ?? "";
    });
    return r;
  });
}

const list = (s: string): string[] => (s === "" ? [] : s.split("|"));

/** What tshark must show for one RR list, field by field, in packet order. */
function expectedFields(rrs: readonly LabRR[]): Partial<Record<Field, string[]>> {
  const e: Partial<Record<Field, string[]>> = {};
  const add = (f: Field, v: string | number): void => {
    (e[f] ??= []).push(String(v));
  };
  for (const rr of rrs) {
    // tshark 4.0 shows an SRV owner as dns.srv.service/proto/name, not dns.resp.name
    if (rr.type !== "SRV") add("dns.resp.name", rr.name);
    add("dns.resp.type", QTYPE_NUM[rr.type]);
    add("dns.resp.ttl", rr.ttl);
    switch (rr.type) {
      case "A":
        add("dns.a", rr.address);
        break;
      case "AAAA":
        add("dns.aaaa", rr.address);
        break;
      case "MX":
        add("dns.mx.preference", rr.preference);
        add("dns.mx.mail_exchange", rr.exchange);
        break;
      case "NS":
        add("dns.ns", rr.nsdname);
        break;
      case "SOA":
        add("dns.soa.mname", rr.mname);
        add("dns.soa.rname", rr.rname);
        add("dns.soa.serial_number", rr.serial);
        add("dns.soa.refresh_interval", rr.refresh);
        add("dns.soa.retry_interval", rr.retry);
        add("dns.soa.expire_limit", rr.expire);
        add("dns.soa.minimum_ttl", rr.minimum);
        break;
      case "TXT":
        for (const s of rr.strings) add("dns.txt", s);
        break;
      case "SRV": {
        const [service, proto, ...rest] = rr.name.split(".");
        add("dns.srv.service", service as string);
        add("dns.srv.proto", proto as string);
        add("dns.srv.name", rest.join("."));
        add("dns.srv.priority", rr.priority);
        add("dns.srv.weight", rr.weight);
        add("dns.srv.port", rr.port);
        add("dns.srv.target", rr.target);
        break;
      }
      case "PTR":
        add("dns.ptr.domain_name", rr.ptrdname);
        break;
      case "CNAME":
        add("dns.cname", rr.cname);
        break;
    }
  }
  return e;
}

async function runQueries(queries: readonly LabQuery[]): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (const server of SERVERS) {
    for (const tcp of TRANSPORTS) {
      for (const q of queries) {
        const out = await dig(q.digArgs, { server, tcp });
        const m = /status: (\w+), id: (\d+)/.exec(out);
        assert.ok(m, `dig printed no header for ${q.tag} @${server} tcp=${tcp}:\n${out}`);
        assert.equal(m[1], q.rcode, `${q.tag} @${server} tcp=${tcp}: dig status`);
        assert.match(out, /flags: qr aa[ ;]/, `${q.tag}: authoritative answer expected`);
        sent.push({ q, server, tcp, id: Number(m[2]) });
      }
    }
  }
  return sent;
}

/** Assert that the capture holds each sent query and its exact expected response. */
async function assertCapture(file: string, sent: readonly Sent[]): Promise<void> {
  const rows = toRows(await tsharkFields(file, FIELDS, { displayFilter: "dns" }));
  for (const s of sent) {
    const where = `${s.q.tag} (${s.q.qname} ${s.q.qtype}) @${s.server} ${s.tcp ? "tcp" : "udp"} id ${s.id}`;
    const mine = rows.filter((r) => {
      const dst = s.server.includes(":") ? r["ipv6.dst"] : r["ip.dst"];
      const proto = s.tcp ? ":tcp:" : ":udp:";
      return (
        Number(r["dns.id"]) === s.id &&
        r["dns.qry.name"] === s.q.qname &&
        Number(r["dns.qry.type"]) === QTYPE_NUM[s.q.qtype] &&
        r["frame.protocols"].includes(proto) &&
        dst === s.server
      );
    });
    const queries = mine.filter((r) => r["dns.flags.response"] === "0");
    const responses = mine.filter((r) => r["dns.flags.response"] === "1");
    assert.equal(queries.length, 1, `${where}: query packets in capture`);
    assert.equal(responses.length, 1, `${where}: response packets in capture`);
    const r = responses[0] as Row;
    assert.equal(Number(r["dns.flags.rcode"]), s.q.rcodeNum, `${where}: rcode`);
    assert.equal(r["dns.flags.authoritative"], s.q.aa ? "1" : "0", `${where}: AA`);
    assert.equal(Number(r["dns.count.answers"]), s.q.answers.length, `${where}: ANCOUNT`);
    assert.equal(Number(r["dns.count.auth_rr"]), s.q.authority.length, `${where}: NSCOUNT`);

    // every RR (answer + authority; the EDNS OPT pseudo-RR is dropped) in order
    const exp = expectedFields([...s.q.answers, ...s.q.authority]);
    const got: Partial<Record<Field, string[]>> = {};
    for (const f of FIELDS) {
      if (!f.startsWith("dns.") || f.startsWith("dns.flags") || f.startsWith("dns.count") || f === "dns.id") continue;
      if (f === "dns.qry.name" || f === "dns.qry.type") continue;
      let v = list(r[f]);
      if (f === "dns.resp.name") v = v.filter((n) => n !== "<Root>");
      if (f === "dns.resp.type") v = v.filter((t) => t !== "41");
      if (v.length) got[f] = v;
    }
    assert.deepEqual(got, exp, `${where}: decoded records`);
  }
}

test("dns lab: dnsmasq answers, tcpdump captures on lo and any, tshark sees every answer", async (t) => {
  assert.deepEqual(missingTools(), [], "lab tools must be installed (see .ci/run)");
  const server = await startDnsmasq();
  try {
    await t.test("capture on lo (LINKTYPE_ETHERNET)", async () => {
      const file = path.join(makeTempDir(), "lo.pcap");
      const td = await startTcpdump("lo", file, "port 53");
      let sent: Sent[];
      try {
        sent = await runQueries(LAB_QUERIES);
      } finally {
        await td.stop();
      }
      const stats = await td.stop();
      assert.equal(td.linktype, "EN10MB");
      assert.equal(readCaptureLinktype(file), LINKTYPE.ETHERNET);
      assert.equal(stats.droppedByKernel, 0, "tcpdump dropped packets");
      // UDP: 2 packets per query; TCP: at least handshake + query + response + teardown
      assert.ok(stats.captured >= sent.length * 2, `captured ${stats.captured}`);
      await assertCapture(file, sent);
    });

    await t.test("capture on any (LINKTYPE_LINUX_SLL2) via recordDnsSession", async () => {
      const queries: DigQuery[] = [];
      for (const srv of SERVERS)
        for (const tcp of TRANSPORTS) for (const q of LAB_BASIC_QUERIES) queries.push({ args: q.digArgs, server: srv, tcp });
      const file = path.join(makeTempDir(), "any.pcap");
      const rec = await recordDnsSession({ queries, iface: "any", file, startServer: false });
      assert.equal(rec.path, file);
      assert.equal(rec.linktype, "LINUX_SLL2");
      assert.equal(readCaptureLinktype(file), LINKTYPE.LINUX_SLL2);
      assert.equal(rec.stats.droppedByKernel, 0);
      const sent: Sent[] = rec.outputs.map((out, i) => {
        const dq = queries[i] as DigQuery;
        const q = LAB_BASIC_QUERIES[i % LAB_BASIC_QUERIES.length] as LabQuery;
        const m = /status: (\w+), id: (\d+)/.exec(out);
        assert.ok(m, out);
        assert.equal(m[1], q.rcode);
        return { q, server: dq.server as string, tcp: dq.tcp === true, id: Number(m[2]) };
      });
      await assertCapture(file, sent);
    });

    await t.test("the seed zone: SOA mailbox is exactly root.uol.com.br", async () => {
      const out = await dig(["+short", "uol.com.br", "SOA"]);
      assert.equal(
        out.trim(),
        `${LAB.soa.mname}. ${LAB.soa.rname}. ${LAB.soa.serial} ${LAB.soa.refresh} ${LAB.soa.retry} ${LAB.soa.expire} ${LAB.soa.minimum}`,
      );
      assert.equal((await dig(["+short", "uol.com.br", "MX"])).trim(), "10 mx.uol.com.br.");
      assert.equal((await dig(["+short", "uol.com.br", "NS"], { server: "::1", tcp: true })).trim(), "eliot.uol.com.br.");
    });
  } finally {
    await server.stop();
  }
});

test("dns lab: the port lock makes a second owner wait, and stale locks are broken", async () => {
  const lib = path.join(__dirname, "..", "tools", "lab", "dnslab.js");
  // another process takes the server for ~1.5 s
  const child = spawn(
    process.execPath,
    [
      "-e",
      `require(${JSON.stringify(lib)}).startDnsmasq().then(s => { console.log("HELD"); setTimeout(() => s.stop(), 1500); }, e => { console.error(e); process.exit(1); })`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("HELD")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`child exited ${code} before holding the lab`)));
    });
    const t0 = Date.now();
    const s = await startDnsmasq();
    const waited = Date.now() - t0;
    try {
      assert.ok(waited >= 1000, `second owner started after ${waited} ms, expected to wait for the first`);
      assert.match(await dig(["+short", "netsig.test", "A"]), /127\.0\.0\.20/);
    } finally {
      await s.stop();
    }
  } finally {
    child.kill("SIGKILL");
  }

  // a lock left by a dead process is broken at once
  const dead = spawn("true");
  await new Promise((r) => dead.once("exit", r));
  const p = lockPath(53);
  try {
    fs.writeFileSync(p, JSON.stringify({ pid: dead.pid, since: new Date().toISOString(), port: 53 }), { flag: "wx" });
  } catch {
    // somebody holds the real lock right now; skip the stale part
    return;
  }
  const t1 = Date.now();
  const s2 = await startDnsmasq();
  try {
    assert.ok(Date.now() - t1 < 10_000, "stale lock should be broken quickly");
  } finally {
    await s2.stop();
  }
  const after = fs.existsSync(p) ? (JSON.parse(fs.readFileSync(p, "utf8")) as { pid: number }) : undefined;
  assert.notEqual(after?.pid, process.pid, "stop() releases the lock");
});
