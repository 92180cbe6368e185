#!/usr/bin/env bash
# Records examples/dns-lo.pcap, the capture bundled with the README, using the
# project's test lab (tools/lab/dnslab.ts): real dnsmasq answering the lab zones
# (uol.com.br, netsig.test) on 127.0.0.1 and ::1, real dig, real tcpdump on lo.
#
# What is in it (all loopback traffic made by this script):
#   - dig A, AAAA, MX, NS, SOA, TXT, SRV, PTR, CNAME and an NXDOMAIN query,
#     each over UDP and TCP, to 127.0.0.1 and to ::1 (40 exchanges);
#   - ping -c 2 127.0.0.1 and ping -6 -c 2 ::1 (ICMP and ICMPv6 echo);
#   - one TCP connection to 127.0.0.1:7777 (a small node server that answers
#     "ping" with "pong from netsig").
#
# Usage: examples/record-example.sh [OUT.pcap]   (default examples/dns-lo.pcap)
# Needs root (tcpdump, port 53), and dnsmasq-base dnsutils tcpdump iputils-ping.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$here/dns-lo.pcap}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

cd "$root"
# Other modules' type errors must not stop the lab from being emitted.
npx tsc -p tsconfig.json >/dev/null 2>&1 || true
if [ ! -f dist/tools/lab/dnslab.js ]; then
  echo "record-example: dist/tools/lab/dnslab.js was not built (run npx tsc -p tsconfig.json)" >&2
  exit 1
fi

OUT="$out" node - <<'EOF'
"use strict";
const lab = require(process.cwd() + "/dist/tools/lab/dnslab.js");
const net = require("node:net");
const fs = require("node:fs");
const { execFileSync } = require("node:child_process");

const out = process.env.OUT;
const TCP_PORT = 7777;

async function tcpExchange() {
  const server = net.createServer((sock) => {
    sock.setEncoding("utf8");
    sock.on("data", (d) => {
      if (d.includes("ping")) sock.end("pong from netsig\n");
    });
  });
  await new Promise((r) => server.listen(TCP_PORT, "127.0.0.1", r));
  try {
    const reply = await new Promise((resolve, reject) => {
      const c = net.connect(TCP_PORT, "127.0.0.1", () => c.write("ping\n"));
      let got = "";
      c.setEncoding("utf8");
      c.on("data", (d) => (got += d));
      c.on("end", () => {
        c.end();
        resolve(got);
      });
      c.on("error", reject);
    });
    // let the FIN/ACK exchange finish before the server goes away
    await new Promise((r) => setTimeout(r, 200));
    return reply.trim();
  } finally {
    await new Promise((r) => server.close(r));
  }
}

(async () => {
  const tmp = out + ".tmp";
  fs.rmSync(tmp, { force: true });
  const server = await lab.startDnsmasq();
  let td;
  try {
    td = await lab.startTcpdump("lo", tmp, `port 53 or icmp or icmp6 or tcp port ${TCP_PORT}`);
    let n = 0;
    for (const srv of ["127.0.0.1", "::1"]) {
      for (const tcp of [false, true]) {
        for (const q of lab.LAB_BASIC_QUERIES) {
          const o = await lab.dig(q.digArgs, { server: srv, tcp });
          const status = (/status: (\w+)/.exec(o) || [])[1];
          if (status !== q.rcode) throw new Error(`${q.tag} @${srv}: got ${status}, want ${q.rcode}`);
          n++;
        }
      }
    }
    console.log(`dig: ${n} queries answered as expected`);
    execFileSync("ping", ["-n", "-c", "2", "-i", "0.2", "127.0.0.1"], { stdio: "ignore" });
    execFileSync("ping", ["-6", "-n", "-c", "2", "-i", "0.2", "::1"], { stdio: "ignore" });
    console.log("ping: 2 ICMP echo exchanges with 127.0.0.1, 2 ICMPv6 with ::1");
    console.log(`tcp: 127.0.0.1:${TCP_PORT} answered "${await tcpExchange()}"`);
    const stats = await td.stop();
    if (stats.droppedByKernel !== 0) throw new Error(`tcpdump dropped ${stats.droppedByKernel} packets`);
    fs.renameSync(tmp, out);
    const size = fs.statSync(out).size;
    console.log(`wrote ${out}: ${stats.captured} packets, ${size} bytes, link type ${td.linktype}`);
  } finally {
    if (td) await td.stop().catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    await server.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
EOF

# what tshark sees, as a check
tshark -r "$out" -q -z io,phs 2>/dev/null | sed -n '1,40p' || true
