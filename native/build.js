// Builds native/pktstats (the kernel's packet-socket drop counts for live
// capture, and --snaplen) with the node-gyp that npm carries. It is netsig's
// install script (so a project that installs netsig builds it, when npm runs
// that script) and can be run by hand: node node_modules/netsig/native/build.js.
// Optional: when it cannot be built, netsig runs and says what is unavailable.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const dir = join(__dirname, "pktstats");
const gyp =
  process.env.npm_config_node_gyp ||
  join(process.execPath, "..", "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const args = [gyp, "rebuild"];
const nodedir = process.env.npm_config_nodedir || (existsSync("/usr/include/node/node_api.h") ? "/usr" : "");
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r =
  process.platform === "linux" && existsSync(gyp)
    ? spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8" })
    : { status: 1, stderr: process.platform === "linux" ? "node-gyp not found" : "Linux only" };
if (r.status === 0) {
  // (run by hand, say so; as an install script npm shows it only with --foreground-scripts)
  process.stderr.write(`netsig: built ${join(dir, "build", "Release", "pktstats.node")}\n`);
} else {
  const why =
    String(r.stderr || r.error || "")
      .trim()
      .split("\n")
      .filter((l) => /ERR!|error/i.test(l))
      .slice(0, 1)
      .join("") || `status ${r.status}`;
  process.stderr.write(`netsig: kernel drop counts for live capture are unavailable (native/pktstats did not build: ${why})\n`);
}
