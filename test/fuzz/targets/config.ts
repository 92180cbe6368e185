// Target: the --config loader (engine/cli/config.ts): YAML text -> options
// (withConfig) -> the run command's parseArgs.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withConfig } from "../../../engine/app/config";
import { parseCommand } from "../../../engine/app/args";
import { RUN_OPTIONS } from "../../../engine/cli/run";
import { UsageError } from "../../../engine/types/errors";
import { mutated, YAML_OPS, yamlOp } from "../mutate";
import { configSeeds } from "../seeds";
import type { Target } from "../harness";

let dir = "";
let file = "";

export const target: Target<string> = {
  name: "config",
  property:
    "a config file gives options or one UsageError naming the file (never another exception); " +
    "strict: the error names the file (defect 14), also with unbounded alias bombs and huge scalars (issue 14 defects 2 and 11)",
  modules: ["engine/cli/config.js", "engine/cli/args.js"],
  setup() {
    dir = mkdtempSync(join(tmpdir(), "netsig-fuzz-config-"));
    file = join(dir, "netsig.yaml");
  },
  teardown() {
    rmSync(dir, { recursive: true, force: true });
  },
  arbitrary: (strict) => mutated(configSeeds(), YAML_OPS, (t, op) => yamlOp(t, op, strict)),
  encode: (t) => Buffer.from(t, "utf8"),
  decode: (b) => b.toString("utf8"),
  run(text, strict) {
    writeFileSync(file, text);
    try {
      const args = withConfig(["--config", file], RUN_OPTIONS);
      parseCommand("netsig run", { args, allowPositionals: true, options: RUN_OPTIONS }, { also: ["config"] });
    } catch (e) {
      if (e instanceof UsageError) {
        // issue 14 defect 14: value errors do not always name file:line
        if (strict && !e.message.includes(file)) throw new Error(`a config error that does not name the file: ${e.message}`);
        return;
      }
      if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) return;
      throw e;
    }
  },
};
