// Target: DNS messages (engine/decode/dns.ts, dnsname.ts): names, labels,
// compression pointers (loops, forward, self), counts, records and RDATA.
import { decodeDnsMessage, DnsFormatError } from "../../../engine/decode/dns";
import * as craft from "../../../tools/lib/craft";
import { BYTE_OPS, byteOp, DNS_OPS, dnsOp, mutated } from "../mutate";
import { dnsSeeds } from "../seeds";
import type { Target } from "../harness";
import { runFrames } from "./frames";

export const target: Target<Buffer> = {
  name: "dns",
  property:
    "decodeDnsMessage returns a message whose sections hold exactly the header's counts, or throws DnsFormatError (nothing else); " +
    "the message as UDP/53 through events and JSON never throws",
  modules: [
    "engine/decode/dns.js",
    "engine/decode/dnsname.js",
    "engine/decode/text.js",
    "engine/decode/ipaddr.js",
    "engine/events/build.js",
    "engine/events/vocab.js",
  ],
  arbitrary: () =>
    mutated(dnsSeeds(), DNS_OPS + BYTE_OPS, (b, op) =>
      op[0] < DNS_OPS ? dnsOp(b, op) : byteOp(b, [op[0] - DNS_OPS, op[1], op[2], op[3]]),
    ),
  encode: (b) => b,
  decode: (b) => b,
  run(msg) {
    try {
      const m = decodeDnsMessage(msg);
      const got = [m.questions.length, m.answers.length, m.authorities.length, m.additionals.length].join("/");
      const want = [m.qdCount, m.anCount, m.nsCount, m.arCount].join("/");
      if (got !== want) throw new Error(`sections ${got}, header counts ${want}`);
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
    }
    if (msg.length > 65000) return;
    for (const [sp, dp] of [
      [40000, 53],
      [53, 40000],
    ]) {
      const frame = craft.ethernet(
        craft.ipv4({ src: "10.0.0.1", dst: "10.0.0.53", protocol: 17 }, craft.udp({ srcPort: sp, dstPort: dp }, msg)),
      );
      runFrames({ linkType: 1, frames: [frame] });
    }
  },
};
