// Sandbox escapes: each published vm2 escape technique (and the ways into
// the realm the signatures share) as its own signature file, loaded beside
// Tracee's e2eDNS port and replayed on real dig/dnsmasq traffic. Each must
// fail: the engine survives (exit 0), says what happened in one line (no
// stack trace), e2eDNS still fires exactly once, no file appears and no
// process is spawned (the PoCs write /tmp/netsig-pwned-<name> and spawn
// `touch` when they get the host's process), and /etc/passwd never shows.
// The cases are in test/lib/escapes.ts.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { before, test } from "node:test";
import { Worker } from "node:worker_threads";
import vm from "node:vm";
import { realmBundle } from "../engine/sandbox/bundle";
import { sandboxWorkerOptions } from "../engine/detect/engine";
import { missingTools, recordDnsSession } from "../tools/lab/dnslab";
import { ESCAPES, escapeFile } from "./lib/escapes";
import { runWith } from "./lib/hostile";

const missing = missingTools();
const skip = missing.length && !process.env.CI ? `needs ${missing.join(", ")}` : false;
let capture = "";

before(
  async () => {
    if (skip) return;
    const q = (t: string) => ["uol.com.br", t];
    capture = (await recordDnsSession({ queries: [q("MX"), q("NS"), q("SOA"), q("TXT")] })).path;
  },
  { timeout: 120_000 },
);

// a line of /etc/passwd that would show if a PoC read the file
const passwdLine =
  readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("root:")) ?? "root:x:0:0:";
const pwned = () => readdirSync("/tmp").filter((f) => f.startsWith("netsig-pwned"));

for (const c of ESCAPES) {
  test(`escape ${c.name} (${c.what}) fails; the host is untouched; e2eDNS still fires`, { skip, timeout: 120_000 }, () => {
    const file = `${c.name}.ts`;
    const r = runWith({ [file]: escapeFile(c) }, capture);
    const all = r.stdout + r.stderr;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, c.expect);
    assert.doesNotMatch(r.stderr, /internal error|sandbox error|\n\s+at /);
    assert.doesNotMatch(all, /ESCAPED/);
    assert.ok(!all.includes(passwdLine), "/etc/passwd leaked");
    assert.deepEqual(
      r.found.map((f) => f.eventName).filter((n) => n === "DNS"),
      ["DNS"],
      all,
    );
    assert.deepEqual(pwned(), [], "a PoC wrote or spawned something");
  });
}

test("the sandbox worker starts with an empty environment: a secret of the host's is not in its process.env", {
  timeout: 30_000,
}, async () => {
  process.env.NETSIG_SECRET_TEST = "x";
  try {
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(JSON.stringify(process.env))", {
      eval: true,
      ...sandboxWorkerOptions(64),
    });
    const env = JSON.parse(
      await new Promise<string>((res, rej) => {
        w.once("message", res);
        w.once("error", rej);
      }),
    ) as Record<string, string>;
    await w.terminate();
    assert.equal(env.NETSIG_SECRET_TEST, undefined);
    assert.deepEqual(Object.keys(env), []);
    // and the control: a worker started without env: {} does see it
    const c = new Worker("require('node:worker_threads').parentPort.postMessage(process.env.NETSIG_SECRET_TEST)", { eval: true });
    assert.equal(await new Promise((res) => c.once("message", res)), "x");
    await c.terminate();
  } finally {
    delete process.env.NETSIG_SECRET_TEST;
  }
});

test("the realm's intrinsics end up frozen (Object.isFrozen), and a signature cannot pollute or replace them", () => {
  // the sandbox's own realm script (bundle.ts), in a fresh context, as the worker runs it
  const ctx = vm.createContext({ __hostName: "t", __mark: () => undefined, __key: "k" });
  for (const script of realmBundle()) vm.runInContext(script, ctx);
  const checked = vm.runInContext(
    `(() => {
    const names = ["Object", "Array", "Function", "String", "Number", "Boolean", "Symbol", "Error", "RegExp", "Date", "Map", "Set",
      "Promise", "JSON", "Math", "Reflect", "ArrayBuffer", "DataView", "Uint8Array", "Uint16Array", "Float64Array"];
    const notFrozen = [];
    for (const n of names) {
      const v = globalThis[n];
      if (!Object.isFrozen(v)) notFrozen.push(n);
      if (typeof v === "function" && v.prototype && !Object.isFrozen(v.prototype)) notFrozen.push(n + ".prototype");
    }
    const gen = Object.getPrototypeOf(function* () {});
    for (const [n, h] of [["%TypedArray%.prototype", Object.getPrototypeOf(Uint8Array.prototype)], ["%ArrayIteratorPrototype%", Object.getPrototypeOf([][Symbol.iterator]())],
      ["%IteratorPrototype%", Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))], ["%MapIteratorPrototype%", Object.getPrototypeOf(new Map()[Symbol.iterator]())],
      ["%SetIteratorPrototype%", Object.getPrototypeOf(new Set()[Symbol.iterator]())], ["%StringIteratorPrototype%", Object.getPrototypeOf(""[Symbol.iterator]())],
      ["%GeneratorFunction.prototype%", gen], ["%GeneratorPrototype%", gen.prototype], ["%GeneratorFunction%", gen.constructor]]) {
      if (!Object.isFrozen(h)) notFrozen.push(n);
    }
    const tries = [];
    const attempt = (what, f, ok) => { try { f(); } catch (e) { /* strict code throws; both count */ } if (!ok()) tries.push(what); };
    attempt("Object.prototype.x", () => { Object.prototype.polluted = 1; }, () => ({}).polluted === undefined);
    attempt("Array.prototype[0]", () => { Array.prototype[0] = "p"; }, () => [,][0] === undefined);
    attempt("Array.prototype.push", () => { Array.prototype.push = () => 0; }, () => { const a = []; a.push(1); return a.length === 1; });
    attempt("Array.prototype.map (defineProperty)", () => { Object.defineProperty(Array.prototype, "map", { value: () => [] }); }, () => [1].map((x) => x + 1)[0] === 2);
    attempt("Array.prototype[1] (getter)", () => { Object.defineProperty(Array.prototype, "1", { get: () => "p" }); }, () => [0, , 2][1] === undefined);
    attempt("Array.prototype.length", () => { Array.prototype.length = 3; }, () => Array.prototype.length === 0 && [].concat([]).length === 0);
    attempt("Array.prototype.__proto__", () => { Object.setPrototypeOf(Array.prototype, { polluted: 1 }); }, () => [].polluted === undefined);
    attempt("Uint8Array.prototype.fill", () => { Uint8Array.prototype.fill = null; }, () => typeof new Uint8Array(1).fill === "function");
    attempt("%TypedArray%.prototype.set", () => { Object.getPrototypeOf(Uint8Array.prototype).set = null; }, () => typeof new Uint8Array(1).set === "function");
    attempt("JSON.stringify", () => { JSON.stringify = () => "x"; }, () => JSON.stringify(1) === "1");
    attempt("%ArrayIteratorPrototype%.next", () => { Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true }); }, () => { let n = 0; for (const x of [1, 2]) n += x; return n === 3; });
    attempt("globalThis.JSON", () => { globalThis.JSON = {}; }, () => typeof JSON.parse === "function");
    // typed arrays and arrays still work as values
    const u = new Uint8Array(4); u[1] = 200; const a = new Array(3); a[2] = 5;
    return JSON.stringify({ notFrozen, tries, works: u[1] === 200 && a[2] === 5 });
  })()`,
    ctx,
  ) as string;
  const check = JSON.parse(checked) as { notFrozen: string[]; tries: string[]; works: boolean };
  assert.deepEqual(check.notFrozen, []);
  assert.deepEqual(check.tries, [], "these changes took effect");
  assert.equal(check.works, true);
});
