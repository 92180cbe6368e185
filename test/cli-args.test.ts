// Option errors of every netsig command are one netsig line (exit 2): the
// command, where its options are listed, and the closest option when one is
// close; never Node's parser message ("To specify a positional argument
// starting with a '-' ...") nor a stack.

import assert from "node:assert/strict";
import { test } from "node:test";
import { closestOption } from "../engine/app/args";
import { join } from "node:path";
import { CLI, netsig } from "./lib/run";

const one = (args: string[], want: string) => {
  const r = netsig(args);
  assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
  assert.equal(r.stderr, `netsig: error: ${want}\n`, args.join(" "));
  assert.equal(r.stdout, "");
};

test("an unknown option, for every command: one line, the command, its --help, a did-you-mean when close", () => {
  one(["run", "--x"], "unknown option --x for 'netsig run' (netsig run --help lists them)");
  one(
    ["run", "--sigantures", "s"],
    "unknown option --sigantures for 'netsig run': did you mean --signatures? (netsig run --help lists them)",
  );
  one(["run", "-z"], "unknown option -z for 'netsig run' (netsig run --help lists them)");
  one(["replay", "x.pcap", "--bogus=3"], "unknown option --bogus for 'netsig replay' (netsig replay --help lists them)");
  one(
    ["replay", "x.pcap", "--confg", "c.yaml"],
    "unknown option --confg for 'netsig replay': did you mean --config? (netsig replay --help lists them)",
  );
  one(
    ["replay", "x.pcap", "--webhok", "http://127.0.0.1:1/"],
    "unknown option --webhok for 'netsig replay': did you mean --webhook? (netsig replay --help lists them)",
  );
  one(
    ["rules", "validate", "--list", "d"],
    "unknown option --list for 'netsig rules validate': did you mean --lists? (netsig rules --help lists them)",
  );
  one(
    ["rules", "test", "f.yaml", "--pcp", "x"],
    "unknown option --pcp for 'netsig rules test': did you mean --pcap? (netsig rules --help lists them)",
  );
  one(
    ["rules", "list", "--rule", "d"],
    "unknown option --rule for 'netsig rules list': did you mean --rules? (netsig rules --help lists them)",
  );
  one(["signatures", "list", "--zzz"], "unknown option --zzz for 'netsig signatures list' (netsig signatures --help lists them)");
  one(
    ["signatures", "test", "f.ts", "--pacp", "x"],
    "unknown option --pacp for 'netsig signatures test': did you mean --pcap? (netsig signatures --help lists them)",
  );
  one(
    ["signatures", "new", "x", "--dri", "y"],
    "unknown option --dri for 'netsig signatures new': did you mean --dir? (netsig signatures --help lists them)",
  );
  // a value missing, or given to a flag
  one(["replay", "x.pcap", "--signatures"], "option --signatures of 'netsig replay' needs a value (netsig replay --help lists them)");
  one(["run", "--quiet=yes"], "option --quiet of 'netsig run' takes no value (netsig run --help lists them)");
});

test("did-you-mean: a typo or a prefix, not a different word", () => {
  const names = ["signatures", "rules", "iface", "bpf", "quiet", "help"];
  assert.equal(closestOption("--signatres", names), "--signatures");
  assert.equal(closestOption("--sig", names), "--signatures", "a prefix");
  assert.equal(closestOption("--ifcae", names), "--iface");
  assert.equal(closestOption("--color", names), "");
  assert.equal(closestOption("--hlp", names), "", "help is not suggested");
  assert.equal(closestOption("-q", names), "", "one letter: no guess");
});

test("standard output closed early (netsig ... | head -1): no stack trace", () => {
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  const pcap = join(__dirname, "..", "..", "examples", "dns-lo.pcap");
  for (const args of [`replay ${pcap} --output json`, "signatures list"]) {
    const r = spawnSync("bash", ["-c", `set -o pipefail; node ${JSON.stringify(CLI)} ${args} | head -c 10`], { encoding: "utf8" });
    assert.equal(r.stdout.length, 10, args);
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at |Unhandled/, `${args}: ${r.stderr}`);
  }
});
