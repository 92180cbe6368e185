// Target: the classic pcap reader (engine/capture/pcap.ts, reader.ts).
import { BYTE_OPS, byteOp, mutated, PCAP_OPS, pcapOp } from "../mutate";
import { captureSeeds } from "../seeds";
import type { Target } from "../harness";
import { bytes, runCapture } from "./capture";

export const target: Target<Buffer> = {
  name: "pcap",
  property: "the reader never throws (damage is a CaptureError in the summary), records lie inside the input, buffer and stream agree",
  modules: ["engine/capture/pcap.js", "engine/capture/reader.js"],
  arbitrary: () =>
    mutated(captureSeeds().pcap, PCAP_OPS + BYTE_OPS, (b, op) =>
      op[0] < PCAP_OPS ? pcapOp(b, op) : byteOp(b, [op[0] - PCAP_OPS, op[1], op[2], op[3]]),
    ),
  ...bytes,
  run: runCapture,
};
