// Shared by the packet, dns and dnstcp targets: a few frames of one link type
// as one input, encoded as bytes (u32 link type, then u32 length + frame each).

import { ALL_EVENTS } from "../../../engine/events/build";
import { EventJSONWriter } from "../../../engine/events/json";
import { EventPipeline } from "../../../engine/events/pipeline";
import { EVENT_NAMES } from "../../../engine/types/events";
import type { PacketRecord } from "../../../engine/capture/types";

export interface Frames {
  linkType: number;
  frames: Buffer[];
}

export const framesCodec = {
  encode(x: Frames): Buffer {
    const parts: Buffer[] = [Buffer.alloc(4)];
    parts[0].writeUInt32BE(x.linkType >>> 0);
    for (const f of x.frames) {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(f.length);
      parts.push(h, f);
    }
    return Buffer.concat(parts);
  },
  decode(b: Buffer): Frames {
    const frames: Buffer[] = [];
    let off = 4;
    while (off + 4 <= b.length) {
      const n = b.readUInt32BE(off);
      frames.push(b.subarray(off + 4, off + 4 + n));
      off += 4 + n;
    }
    return { linkType: b.length >= 4 ? b.readUInt32BE(0) : 1, frames };
  },
};

const PORT_ARGS = new Set(["src_port", "dst_port", "srcPort", "dstPort"]);

function walk(v: unknown, path: string): void {
  if (typeof v === "number" && !Number.isFinite(v)) throw new Error(`${path} is ${v}`);
  if (Array.isArray(v))
    v.forEach((x, i) => {
      walk(x, `${path}[${i}]`);
    });
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (PORT_ARGS.has(k) && !(Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 65535))
        throw new Error(`${path}.${k} = ${String(x)} is not a port`);
      walk(x, `${path}.${k}`);
    }
  }
}

/**
 * The frames through decode -> all nine events -> JSON lines, with a fresh
 * pipeline (no state across inputs). Property: nothing throws, the decoder's
 * offsets stay inside the frame, every JSON line parses back with its event's
 * name, and no number in it is NaN/Infinity or an impossible port.
 */
export function runFrames(x: Frames): EventPipeline {
  const json = new EventJSONWriter("fuzz");
  const pipeline = new EventPipeline(ALL_EVENTS, "fuzz", (ev, kind, p) => {
    const line = json.write(ev, kind, p.timestampString());
    let o: { eventName?: string; args?: unknown };
    try {
      o = JSON.parse(line) as typeof o;
    } catch (e) {
      throw new Error(`event JSON does not parse: ${(e as Error).message}: ${line.slice(0, 200)}`);
    }
    if (o.eventName !== EVENT_NAMES[kind]) throw new Error(`eventName ${o.eventName} for kind ${EVENT_NAMES[kind]}`);
    walk(o.args, "args");
  });
  x.frames.forEach((f, i) => {
    const rec: PacketRecord = {
      tsSec: 1700000000 + i,
      tsNsec: i,
      linkType: x.linkType,
      iface: "",
      buf: f,
      offset: 0,
      caplen: f.length,
      origLen: f.length,
      fileOffset: i,
    };
    pipeline.onPacket(rec);
    const p = pipeline.decoder.packet;
    if (p.appOff > p.appEnd && p.appEnd !== 0) throw new Error(`appOff ${p.appOff} > appEnd ${p.appEnd}`);
    if (p.appEnd > p.end) throw new Error(`appEnd ${p.appEnd} past the frame's end ${p.end}`);
    if (p.end > p.buf.length)
      throw new Error(`end ${p.end} past its buffer (${p.buf.length} bytes${p.reassembled ? ", reassembled" : ""})`);
  });
  return pipeline;
}
