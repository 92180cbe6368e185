// Flow events on real traffic, checked against tshark's dissection of the same
// capture: in a network namespace, dnsmasq answers alias.flows.test (a CNAME
// to www.flows.test, A and AAAA), dig asks it, curl fetches from Python's
// http.server over IPv4 and IPv6, a connection is refused, another is still
// open when the capture stops; tcpdump records lo. Every net_flow_* event's
// time, endpoints and community_id come from tshark's frames (its own
// Community ID dissector), the names from the DNS answers on the wire.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Netns, netnsUsable, sh, sleep, until } from "./lib/netns";
import { CLI, netsig } from "./lib/run";

const DIR = mkdtempSync(join(tmpdir(), "netsig-flows-"));
const PCAP = join(DIR, "flows.pcap");
const V4 = "127.0.0.21";
const V6 = "fd00:6e73::21";
const usable = netnsUsable("tshark", "dig", "curl", "tcpdump") && netnsUsable("/usr/sbin/dnsmasq");
let ns: Netns | null = null;

before(async () => {
  if (!usable) return;
  ns = new Netns(`nsflows${process.pid % 100000}`);
  ns.addAddress(`${V6}/128`);
  const dump = await ns.tcpdump(PCAP);
  await ns.dnsmasq([`--host-record=www.flows.test,${V4},${V6}`, "--cname=alias.flows.test,www.flows.test"]);
  await ns.start(["python3", "-m", "http.server", "8080", "--bind", V4], /Serving/);
  await ns.start(["python3", "-m", "http.server", "8080", "--bind", V6], /Serving/);
  const inNs = (...args: string[]) => ns!.run(...args);
  // the names first (UDP flows to dnsmasq), then the HTTP flows they name
  for (const t of ["A", "AAAA"])
    assert.match(inNs("dig", "@127.0.0.1", "+tries=1", "alias.flows.test", t).stdout, /CNAME\s+www\.flows\.test/);
  assert.equal(inNs("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${V4}:8080/`).stdout, "200");
  assert.equal(inNs("curl", "-s", "-g", "-o", "/dev/null", "-w", "%{http_code}", `http://[${V6}]:8080/`).stdout, "200");
  // refused: SYN, RST (no SYN-ACK, so no flow events)
  assert.notEqual(inNs("curl", "-s", "-o", "/dev/null", `http://${V4}:9/`).status, 0);
  // still open when the capture stops: its end comes from the end of the input
  await ns.start(
    ["python3", "-c", `import socket,time\ns=socket.create_connection(("${V4}",8080))\nprint("open",flush=True)\ntime.sleep(30)`],
    /open/,
  );
  await sleep(100);
  await dump.stop();
  assert.ok(statSync(PCAP).size > 0);
});

after(() => {
  ns?.close();
  rmSync(DIR, { recursive: true, force: true });
});

interface Frame {
  ns: bigint;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  tcp: boolean;
  stream: string;
  cid: string;
}

function tsharkFrames(file: string): Frame[] {
  const fields = [
    "frame.time_epoch",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
  ];
  fields.push("tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tcp.stream", "udp.stream", "communityid");
  const out = sh(
    "tshark",
    "-r",
    file,
    "--enable-protocol",
    "communityid",
    "-T",
    "fields",
    "-E",
    "separator=\t",
    ...fields.flatMap((f) => ["-e", f]),
  );
  return out
    .trim()
    .split("\n")
    .map((l) => l.split("\t"))
    .filter((c) => c[5] !== "" || c[7] !== "")
    .map((c) => {
      const [sec, frac] = c[0].split(".");
      const tcp = c[5] !== "";
      const flag = (v: string) => v === "1" || v === "True";
      return {
        ns: BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, "0")),
        src: c[1] || c[2],
        dst: c[3] || c[4],
        sport: Number(tcp ? c[5] : c[7]),
        dport: Number(tcp ? c[6] : c[8]),
        syn: flag(c[9]),
        ack: flag(c[10]),
        fin: flag(c[11]),
        rst: flag(c[12]),
        tcp,
        stream: (tcp ? "tcp" : "udp") + (tcp ? c[13] : c[14]),
        cid: c[15],
      };
    });
}

/** the flow events tshark's frames imply (Tracee's rules, netsig's end at the end of the input), as comparable lines */
function expectedEvents(frames: Frame[], names: Record<string, string[]>): string[] {
  const last = frames[frames.length - 1].ns;
  const streams = new Map<string, Frame[]>();
  for (const f of frames) streams.set(f.stream, [...(streams.get(f.stream) ?? []), f]);
  const out: { ns: bigint; line: string }[] = [];
  const line = (name: string, ns: bigint, src: string, dst: string, sp: number, dp: number, cid: string) =>
    `${ns} ${name} outgoing ${src}:${sp} > ${dst}:${dp} ${JSON.stringify(names[src] ?? [])} ${JSON.stringify(names[dst] ?? [])} ${cid}`;
  for (const fs of streams.values()) {
    if (fs[0].tcp) {
      const sa = fs.findIndex((f) => f.syn && f.ack);
      if (sa < 0) continue;
      const b = fs[sa];
      out.push({ ns: b.ns, line: line("net_flow_tcp_begin", b.ns, b.dst, b.src, b.dport, b.sport, b.cid) });
      const end = fs.slice(sa).find((f) => f.fin || f.rst);
      const ns = end ? end.ns : last;
      out.push({ ns, line: line("net_flow_tcp_end", ns, b.dst, b.src, b.dport, b.sport, b.cid) });
    } else {
      const f = fs[0];
      out.push({ ns: f.ns, line: line("net_flow_udp_begin", f.ns, f.src, f.dst, f.sport, f.dport, f.cid) });
      out.push({ ns: last, line: line("net_flow_udp_end", last, f.src, f.dst, f.sport, f.dport, f.cid) });
    }
  }
  return out.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0)).map((o) => o.line);
}

test("net_flow_* on real traffic (IPv4 and IPv6, UDP and TCP) agree with tshark: times, endpoints, community_id; names from the DNS answers", {
  skip: !usable && "needs root, tshark and dnsmasq",
}, () => {
  const r = netsig(["replay", PCAP, "--events", "net_flow_*", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout
    .trim()
    .split("\n")
    .map((l) => {
      const ev = JSON.parse(l);
      const a = Object.fromEntries(ev.args.map((x: { name: string; value: unknown }) => [x.name, x.value]));
      const ns = /^\{"timestamp":(\d+)/.exec(l)![1];
      return `${ns} ${ev.eventName} ${a.conn_direction} ${a.src}:${a.src_port} > ${a.dst}:${a.dst_port} ${JSON.stringify(a.src_dns)} ${JSON.stringify(a.dst_dns)} ${a.community_id}`;
    });
  // the names dnsmasq gave (checked on the wire by dig above): the question, then the CNAME's target
  const names = { [V4]: ["alias.flows.test", "www.flows.test"], [V6]: ["alias.flows.test", "www.flows.test"] };
  const want = expectedEvents(tsharkFrames(PCAP), names);
  // 2 DNS lookups (UDP), 3 HTTP connections (one open at the end), the refused one without events
  assert.equal(want.filter((l) => l.includes("_begin")).length, 5);
  assert.deepEqual([...got].sort(), [...want].sort());
  // in time order (the flushed ones last)
  assert.deepEqual(
    got.map((l) => BigInt(l.split(" ")[0])),
    got.map((l) => BigInt(l.split(" ")[0])).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
  );
});

const FLOW_END_SIG = `import type { EventSelector, NetEvent, Signal, Signature, SignatureContext, SignatureMetadata } from "netsig";
import { getFlow } from "netsig/helpers";
export default class FlowEnds implements Signature {
  private ctx!: SignatureContext;
  getMetadata(): SignatureMetadata {
    return { id: "TEST-FLOW-END", version: "1.0.0", name: "flow end", eventName: "flow_end", description: "every TCP flow end", tags: ["test"], properties: { Severity: 1 } };
  }
  getSelectedEvents(): EventSelector[] {
    return [{ source: "tracee", name: "net_flow_tcp_end" }];
  }
  init(ctx: SignatureContext): void {
    this.ctx = ctx;
  }
  onEvent(e: NetEvent): void {
    const f = getFlow(e);
    this.ctx.callback({ sigMetadata: this.getMetadata(), event: e, data: { src_port: f.srcPort, community_id: f.communityId } });
  }
  onSignal(_s: Signal): void {}
  close(): void {}
}
`;

test("run: a full table evicts (the flow ends, counted in /metrics); at SIGTERM the open flows end, to the output and the signatures", {
  skip: !usable && "needs root",
  timeout: 60_000,
}, async () => {
  const live = new Netns(`nsflrun${process.pid % 100000}`);
  try {
    const sigs = join(DIR, "run-sigs");
    mkdirSync(sigs);
    writeFileSync(join(sigs, "flow-end.ts"), FLOW_END_SIG);
    await live.start(["python3", "-m", "http.server", "8080", "--bind", "127.0.0.1"], /Serving/);
    const args = [
      "run",
      "--iface",
      "lo",
      "--bpf",
      "tcp port 8080",
      "--events",
      "net_flow_tcp_begin,net_flow_tcp_end",
      "--signatures",
      sigs,
      "--max-flows",
      "2",
      "--listen",
      "127.0.0.1:0",
    ];
    const run = spawn("ip", ["netns", "exec", live.name, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    run.stdout.on("data", (d: Buffer) => (out += d.toString()));
    run.stderr.on("data", (d: Buffer) => (err += d.toString()));
    assert.ok(await until(() => /capturing on lo/.test(err), 20_000), err);
    const port = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(err)![1];
    // three connections held open, one after the other
    const hold = `import socket,time\ncs=[]\nfor i in range(3):\n  cs.append(socket.create_connection(("127.0.0.1",8080))); time.sleep(0.3)\nprint("open",flush=True)\ntime.sleep(60)`;
    await live.start(["python3", "-c", hold], /open/);
    const lines = () =>
      out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    assert.ok(await until(() => lines().filter((e) => e.eventName === "net_flow_tcp_begin").length === 3, 10_000), out);
    const metrics = live.run("curl", "-s", `http://127.0.0.1:${port}/metrics`).stdout;
    const metric = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)`, "m").exec(metrics)?.[1]);
    assert.equal(metric('netsig_flows_total{proto="tcp"}'), 3, metrics);
    assert.equal(metric('netsig_flows_evicted_total{state="established"}'), 1);
    assert.equal(metric("netsig_flows_active"), 2);
    assert.equal(metric("netsig_flows_flushed_total"), 0);
    run.kill("SIGTERM");
    assert.ok(await until(() => run.exitCode !== null, 20_000), err);
    assert.equal(run.exitCode, 0, err);
    const evs = lines();
    const ends = evs.filter((e) => e.eventName === "net_flow_tcp_end");
    const findings = evs.filter((e) => e.eventName === "flow_end");
    // the evicted one ended at once; the two still open at SIGTERM
    assert.equal(ends.length, 3, out);
    assert.deepEqual(
      findings.map((f) => f.args.find((a: { name: string }) => a.name === "community_id").value).sort(),
      ends.map((e) => e.args.find((a: { name: string }) => a.name === "community_id").value).sort(),
    );
    assert.match(err, /flows: 3 TCP, 0 UDP, 1 evicted \(table full: --max-flows 2\), 2 open at the end/);
  } finally {
    live.close();
  }
});
