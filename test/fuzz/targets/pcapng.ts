// Target: the pcapng reader (engine/capture/pcapng.ts, reader.ts).
import { BYTE_OPS, byteOp, mutated, PCAPNG_OPS, pcapngOp } from "../mutate";
import { captureSeeds } from "../seeds";
import type { Target } from "../harness";
import { bytes, runCapture } from "./capture";

export const target: Target<Buffer> = {
  name: "pcapng",
  property: "the reader never throws (damage is a CaptureError in the summary), records lie inside the input, buffer and stream agree",
  modules: ["engine/capture/pcapng.js", "engine/capture/reader.js"],
  arbitrary: () =>
    mutated(captureSeeds().pcapng, PCAPNG_OPS + BYTE_OPS, (b, op) =>
      op[0] < PCAPNG_OPS ? pcapngOp(b, op) : byteOp(b, [op[0] - PCAPNG_OPS, op[1], op[2], op[3]]),
    ),
  ...bytes,
  run: runCapture,
};
