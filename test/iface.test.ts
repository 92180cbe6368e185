// `run --iface A --iface B ...`: one capture per interface, one pipeline. In
// network namespaces this test creates (nothing leaves them): lo (Ethernet),
// a veth pair into a second namespace (Ethernet) and a tun device (raw IP,
// read by a small python3 helper), so the link types differ per capture.
// A DNS query on each is seen once, named by its interface; kernel drops are
// counted per interface.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { after, before, test } from "node:test";
import { until } from "./lib/receiver";
import { CLI, netsig } from "./lib/run";

const isRoot = process.getuid?.() === 0;
const hasPython = spawnSync("python3", ["-c", "import fcntl"]).status === 0;
const skip = !isRoot ? "needs root (network namespaces, live capture)" : !hasPython ? "needs python3 (the tun reader)" : false;

const NS_A = `netsig-a-${process.pid}`;
const NS_B = `netsig-b-${process.pid}`;

/** holds tun0 open (so it is up) and reads what is routed to it */
const TUN_READER = `import fcntl, os, struct, sys
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tun0", 0x0001 | 0x1000))  # TUNSETIFF: IFF_TUN | IFF_NO_PI
print("ready", flush=True)
while True:
    os.read(fd, 65536)
`;

let tunReader: ChildProcess | undefined;

function sh(...args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
}
const inA = (...args: string[]) => sh("ip", "netns", "exec", NS_A, ...args);

before(async () => {
  if (skip) return;
  sh("ip", "netns", "add", NS_A);
  sh("ip", "netns", "add", NS_B);
  inA("ip", "link", "set", "lo", "up");
  inA("ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", NS_B);
  inA("ip", "addr", "add", "10.200.0.1/24", "dev", "veth0");
  inA("ip", "link", "set", "veth0", "up");
  sh("ip", "netns", "exec", NS_B, "ip", "addr", "add", "10.200.0.2/24", "dev", "veth1");
  sh("ip", "netns", "exec", NS_B, "ip", "link", "set", "veth1", "up");
  sh("ip", "netns", "exec", NS_B, "ip", "link", "set", "lo", "up");
  tunReader = spawn("ip", ["netns", "exec", NS_A, "python3", "-c", TUN_READER], { stdio: ["ignore", "pipe", "inherit"] });
  let ready = "";
  tunReader.stdout!.on("data", (d: Buffer) => {
    ready += d;
  });
  if (!(await until(() => ready.includes("ready"), 10_000))) throw new Error("the tun reader did not start");
  inA("ip", "addr", "add", "10.202.0.1/24", "dev", "tun0");
  inA("ip", "link", "set", "tun0", "up");
  // the veth pair answers ARP once both ends are up
  if (!(await until(() => spawnSync("ip", ["netns", "exec", NS_A, "ping", "-c", "1", "-W", "1", "10.200.0.2"]).status === 0, 10_000))) {
    throw new Error("the veth pair does not answer");
  }
});

after(() => {
  if (skip) return;
  tunReader?.kill();
  spawnSync("ip", ["netns", "del", NS_A]);
  spawnSync("ip", ["netns", "del", NS_B]);
});

/** netsig run inside namespace A */
function runInA(args: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn("ip", ["netns", "exec", NS_A, process.execPath, CLI, "run", ...args]);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  return { child, out: () => out, err: () => err };
}

test("--iface lo --iface veth0 --iface tun0: a DNS query on each is one event, named by its interface, decoded by its own link type", {
  skip,
  timeout: 60_000,
}, async () => {
  const n = runInA([
    "--iface",
    "lo",
    "--iface",
    "veth0",
    "--iface",
    "tun0",
    "--bpf",
    "udp dst port 53",
    "--events",
    "net_packet_ipv4,net_packet_dns_request",
  ]);
  try {
    assert.ok(await until(() => n.err().includes("capturing on lo, veth0, tun0 (udp dst port 53)"), 15_000), n.err());
    // one query to each: over lo, to the veth peer, and routed into the tun
    const send = `const s = require("node:dgram").createSocket("udp4"); const enc = require(${JSON.stringify(require.resolve("dns-packet"))}).encode;
const q = (name, ip) => new Promise((r) => s.send(enc({ type: "query", id: 7, flags: 256, questions: [{ type: "A", class: "IN", name }] }), 53, ip, r));
(async () => { await q("lo.netsig.test", "127.0.0.1"); await q("veth.netsig.test", "10.200.0.2"); await q("tun.netsig.test", "10.202.0.2"); s.close(); })();`;
    inA(process.execPath, "-e", send);
    assert.ok(await until(() => n.out().split("\n").filter(Boolean).length >= 6, 10_000), n.out());
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    n.child.kill("SIGTERM");
    await new Promise((r) => n.child.once("close", r));
  }
  const events = n
    .out()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(events.length, 6, n.out());
  const reqs = events.filter((e) => e.eventName === "net_packet_dns_request");
  const seen = reqs.map((e) => [e.args[0].value.iface, e.args[1].value[0].query, e.args[0].value.dst_ip]);
  assert.deepEqual(seen, [
    ["lo", "lo.netsig.test", "127.0.0.1"],
    ["veth0", "veth.netsig.test", "10.200.0.2"],
    ["tun0", "tun.netsig.test", "10.202.0.2"],
  ]);
  const ips = events
    .filter((e) => e.eventName === "net_packet_ipv4")
    .map((e) => e.args.find((a: { name: string }) => a.name === "dst").value);
  assert.deepEqual(ips, ["127.0.0.1", "10.200.0.2", "10.202.0.2"]);
  assert.match(n.err(), /netsig: lo,veth0,tun0: 3 packets read, 3 decoded, 0 malformed/);
  for (const i of ["lo", "veth0", "tun0"])
    assert.match(n.err(), new RegExp(`netsig: ${i}: 1 packets captured, 0 dropped by the kernel\\n`));
});

test("kernel drops are counted per interface: a flood on lo and on veth0 while netsig is stopped (1 MB rings)", {
  skip,
  timeout: 60_000,
}, async () => {
  const n = runInA([
    "--iface",
    "lo",
    "--iface",
    "veth0",
    "--buffer-size",
    "1",
    "--bpf",
    "icmp and ip[2:2] == 1262",
    "--events",
    "net_packet_icmp",
  ]);
  const LO = 3000;
  const VETH = 1000;
  try {
    assert.ok(await until(() => n.err().includes("capturing on lo, veth0"), 15_000), n.err());
    n.child.kill("SIGSTOP");
    inA("ping", "-f", "-q", "-c", String(LO), "-s", "1234", "127.0.0.1");
    inA("ping", "-f", "-q", "-c", String(VETH), "-s", "1234", "10.200.0.2");
  } finally {
    n.child.kill("SIGCONT");
  }
  await new Promise((r) => setTimeout(r, 1500));
  n.child.kill("SIGINT");
  await new Promise((r) => n.child.once("close", r));
  const stat = (i: string) => {
    const m = new RegExp(`netsig: ${i}: (\\d+) packets captured, (\\d+) dropped by the kernel`).exec(n.err());
    assert.ok(m, n.err());
    return { captured: Number(m[1]), dropped: Number(m[2]) };
  };
  const lo = stat("lo");
  const veth = stat("veth0");
  assert.equal(n.out().trim().split("\n").filter(Boolean).length, lo.captured + veth.captured);
  assert.ok(lo.dropped > 0 && veth.dropped > 0, "a 1 MB ring cannot hold either flood");
  // lo queues each packet twice (outgoing and incoming copy; libpcap keeps one): its drops count double;
  // the pair at the moment the stopped ring fills may be split (one copy in, one dropped): +-0.5
  assert.ok(Math.abs(lo.captured + lo.dropped / 2 - 2 * LO) <= 0.5, `lo: ${JSON.stringify(lo)}`);
  // veth0 queues each request (outgoing) and each reply (incoming) once
  assert.equal(veth.captured + veth.dropped, 2 * VETH, `veth0: ${JSON.stringify(veth)}`);
  assert.match(
    n.err(),
    new RegExp(
      `netsig: all interfaces: ${lo.captured + veth.captured} packets captured, ${lo.dropped + veth.dropped} dropped by the kernel\n`,
    ),
  );
});

test("--iface given twice, or any with others: one-line errors", () => {
  const a = netsig(["run", "--iface", "lo", "--iface", "lo"]);
  assert.equal(a.code, 2);
  assert.equal(a.stderr, "netsig: error: --iface lo is given twice\n");
  const b = netsig(["run", "--iface", "any", "--iface", "lo"]);
  assert.equal(b.code, 2);
  assert.equal(b.stderr, "netsig: error: --iface any already captures on every interface: give it alone, or name the interfaces\n");
});
