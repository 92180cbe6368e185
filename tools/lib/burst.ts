// A generated burst of DNS traffic for load tests and the live bench: query and
// response pairs between 127.77.1.1 and 127.77.1.2 (a /16 no other test uses)
// on LLMNR's port 5355, which netsig decodes as DNS, so the burst stays out
// of the "port 53" captures other tests take while they own the lab's server;
// as Ethernet frames for `tcpreplay -i lo`.
//
// The destination MAC is 02:02:02:02:02:02, not lo's 00:00:00:00:00:00, so the
// kernel marks each replayed frame PACKET_OTHERHOST and IP drops it: captures
// see it, no socket gets it and no ICMP error is sent back.

import * as dnsPacket from "dns-packet";
import { writeFileSync } from "node:fs";
import { ethernet, ipv4, pcapFile, udp, type PcapPacket } from "./craft";

export const BURST_NET = "127.77.0.0/16";
export const BURST_PORT = 5355;
/** the registered domains of the burst: every BURST_LONG_EVERY-th query carries a long hex label under one of them */
export const BURST_DOMAINS = Array.from({ length: 7 }, (_, k) => `burst${k}.example`);
const BURST_LONG_EVERY = 64;

function frame(src: string, dst: string, sport: number, dport: number, payload: Buffer): Buffer {
  return ethernet(ipv4({ src, dst, protocol: 17 }, udp({ srcPort: sport, dstPort: dport }, payload)));
}

/**
 * `packets` frames (rounded up to even): a query from 127.77.1.1 to
 * 127.77.1.2:5355 and its A response. Names are h<i>.burst<k>.example; every
 * 64th query's first label is 56 hex characters (dns-tunnel's long_label
 * indicator fires once per domain, BURST_DOMAINS.length findings at most).
 * `srcPort` overrides the query's source port (one flow, for a marker packet).
 */
export function burstFrames(packets: number, o: { srcPort?: number } = {}): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; out.length < packets; i++) {
    const id = i & 0xffff;
    const sport = o.srcPort ?? 20000 + (i % 40000);
    const domain = BURST_DOMAINS[i % BURST_DOMAINS.length];
    const label =
      i % BURST_LONG_EVERY === 0
        ? (i.toString(16).padStart(8, "0") + "9f3a61c2e07b4d58a1c6f0e29b37d4a8").repeat(2).slice(0, 56)
        : `h${i % 5000}`;
    const name = `${label}.${domain}`;
    const q = dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] });
    const r = dnsPacket.encode({
      type: "response",
      id,
      flags: 0x8180,
      questions: [{ type: "A", name }],
      answers: [{ type: "A", name, ttl: 60, data: `93.184.216.${i % 250}` }],
    });
    out.push(frame("127.77.1.1", "127.77.1.2", sport, BURST_PORT, q), frame("127.77.1.2", "127.77.1.1", BURST_PORT, sport, r));
  }
  return out;
}

/** the frames as a pcap file (LINKTYPE_ETHERNET), written to `path` */
export function writeBurst(path: string, frames: Buffer[]): string {
  const pk: PcapPacket[] = frames.map((data, i) => ({ tsSec: 1700000000 + Math.floor(i / 1e6), tsUsec: i % 1e6, data }));
  writeFileSync(path, pcapFile(1, pk));
  return path;
}
