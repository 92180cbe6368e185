// One benchmark stage over a capture, in its own process:
//   node dist/bench/modes.js MODE FILE [SIGNATURES_DIR]
// MODE: read | decode | events | json | sigs | sigs-unsandboxed
//   sigs: decode, hand the packets to the signature engine (sandbox worker)
//   loaded from SIGNATURES_DIR, deliver every selected event; sigs-unsandboxed:
//   the same signatures run in-process, without the sandbox.
//   rules / rules-unsandboxed: the same with a folder of YAML rules (--rules).
// Prints one JSON line: {"mode","packets","events","ms","cpuMs"} (wall and CPU time);
// events also prints "counts", the events built of each type.
// The events and json modes build --events' default set (as `netsig replay`
// does); BENCH_EVENTS=all: every type, the opt-in flow events too.

import { readCapture } from "../engine/capture/reader";
import { Decoder } from "../engine/decode/decoder";
import { ALL_EVENTS } from "../engine/events/build";
// (--events' default: the opt-in flow events are not part of the DNS bench)
import { DEFAULT_EVENTS, RECORD_EVENTS } from "../engine/events/registry";
import { goJSON } from "../engine/events/json";
import { EventBytesWriter } from "../engine/events/jsonbytes";
import { EventPipeline } from "../engine/events/pipeline";
import { FdOutput } from "../engine/outputs/stdout";
import { openSync } from "node:fs";
import { startSignatures } from "../engine/app/detection";
import { EVENT_NAMES, Ev } from "../engine/types/events";

const DNS_EVENTS = (1 << Ev.DNS) | (1 << Ev.DNSRequest) | (1 << Ev.DNSResponse);
const MASK = process.env.BENCH_EVENTS === "all" ? ALL_EVENTS : DEFAULT_EVENTS;

async function main(): Promise<void> {
  const [mode, file, dir] = process.argv.slice(2);
  let extra: Record<string, unknown> = {};
  let packets = 0;
  let events = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  switch (mode) {
    case "read": {
      await readCapture(file, () => {
        packets++;
      });
      break;
    }
    case "decode": {
      const d = new Decoder();
      await readCapture(file, (rec) => {
        d.decode(rec);
      });
      packets = d.stats.packets;
      break;
    }
    case "events": {
      // The events are kept (a ring of the last 4096), as any consumer holds
      // them for a while: a sink that drops them at once let V8's escape
      // analysis skip building them, and timed 0.9 s instead of 2.0 s.
      const keep = new Array<unknown>(4096);
      const p = new EventPipeline(MASK, "bench", (ev) => {
        keep[events++ & 4095] = ev;
      });
      await readCapture(file, p.onPacket);
      packets = p.decoder.stats.packets;
      const counts: Record<string, number> = {};
      p.eventCounts.forEach((n, k) => {
        if (n > 0) counts[EVENT_NAMES[k] as string] = n;
      });
      extra = { counts };
      break;
    }
    case "json": {
      const out = new FdOutput(openSync("/dev/null", "w"));
      const json = new EventBytesWriter("bench", goJSON);
      let last = -1;
      let ts = "";
      const p: EventPipeline = new EventPipeline(MASK, "bench", (ev, kind, pk) => {
        const n = p.decoder.stats.packets;
        if (n !== last) {
          last = n;
          ts = pk.timestampString();
        }
        json.write(out.writer, ev, kind, ts);
        events++;
      });
      await readCapture(file, p.onPacket);
      out.flush();
      packets = p.decoder.stats.packets;
      break;
    }
    case "sigs":
    case "sigs-unsandboxed":
    case "rules":
    case "rules-unsandboxed": {
      const rules = mode.startsWith("rules");
      const { engine } = await startSignatures(
        { dirs: rules ? [] : [dir], ruleDirs: rules ? [dir] : [], sandboxed: !mode.endsWith("unsandboxed"), watch: false },
        "bench",
      );
      if (engine.problems.length) throw new Error(`signatures did not load: ${engine.problems.map((p) => p.message).join("; ")}`);
      const p = new EventPipeline(0, "bench", () => undefined);
      p.needDns = (engine.mask & DNS_EVENTS) !== 0;
      p.needRecords = (engine.mask & RECORD_EVENTS) !== 0;
      p.tap = (pk, n) => {
        engine.push(pk, n);
      };
      await readCapture(file, p.onPacket, { between: () => engine.drain() });
      await engine.signal({ type: "source_complete" });
      await engine.close();
      packets = p.decoder.stats.packets;
      extra = {
        signatures: engine.signatures.size,
        findings: engine.stats.findings,
        errors: engine.stats.errors,
        sent: engine.stats.packetsSent,
      };
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(JSON.stringify({ mode, packets, events, ms, cpuMs, ...extra }) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
