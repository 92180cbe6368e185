// Target: the rule parser and compiler (engine/rules: YAML text -> parse ->
// schema -> lists/macros -> IR -> compileRules) and the compiled rules run on
// the events of real packets (the IR through JSON, as into the sandbox).
import { compileRuleFiles } from "../../../engine/rules/compile/compile";
import { compileRules } from "../../../engine/rules/run/runtime";
import type { UnitIR } from "../../../engine/types/rule-ir";
import type { TraceeEvent } from "../../../engine/types/events";
import { eventsOf } from "../../lib/run";
import { mutated, YAML_OPS, yamlOp } from "../mutate";
import { frameSeeds, ruleSeeds } from "../seeds";
import type { Target } from "../harness";
import { RULE_FILE_MAX_BYTES } from "../../../engine/bounded";

let events: TraceeEvent[] = [];

export const target: Target<string> = {
  name: "rules",
  property:
    "compiling never throws (a mistake is a problem with file:line:column); a rule that compiled loads and evaluates the events of real packets without throwing " +
    "(strict: also with unbounded alias bombs, 8 MiB scalars and 5000-deep nesting: issue 14 defects 2 and 11, fixed; a text past the rule file cap is refused unread, as netsig reads files)",
  modules: [
    "engine/rules/parse.js",
    "engine/rules/compile.js",
    "engine/rules/condition.js",
    "engine/rules/fields.js",
    "engine/rules/matchers.js",
    "engine/rules/modifiers.js",
    "engine/rules/regex.js",
    "engine/rules/runtime.js",
    "engine/rules/codegen.js",
    "engine/rules/lazy.js",
    "engine/rules/sigma.js",
    "engine/rules/suppress.js",
    "engine/rules/correlation.js",
    "engine/rules/shapes.js",
    "engine/rules/linear.js",
  ],
  timeLimitMs: 3000,
  setup() {
    const byLink = new Map<number, Buffer[]>();
    for (const f of frameSeeds().slice(0, 400)) {
      const l = byLink.get(f.linkType) ?? [];
      l.push(f.frame);
      byLink.set(f.linkType, l);
    }
    events = [];
    for (const [lt, frames] of byLink)
      events.push(
        ...eventsOf(
          lt,
          frames.map((data) => ({ data })),
        ).out.map((e) => e.ev),
      );
  },
  arbitrary: (strict) => mutated(ruleSeeds(), YAML_OPS, (t, op) => yamlOp(t, op, strict)),
  encode: (t) => Buffer.from(t, "utf8"),
  decode: (b) => b.toString("utf8"),
  run(text) {
    // (as netsig reads a rule file: past the cap it is refused before parsing, engine/bounded.ts)
    if (Buffer.byteLength(text) > RULE_FILE_MAX_BYTES) return;
    const r = compileRuleFiles([{ file: "/rules/fuzz.yaml", text }]);
    for (const p of r.problems) if (!(p.line >= 1 && p.column >= 1)) throw new Error(`a problem without its place: ${JSON.stringify(p)}`);
    for (const u of r.units) {
      const sig = compileRules(JSON.parse(JSON.stringify(u.ir)) as UnitIR);
      sig.init({ callback: () => undefined, logger: { debug() {}, info() {}, warn() {}, error() {} } });
      const sel = sig.getSelectedEvents().map((s) => s.name);
      for (const ev of events) {
        if (!sel.includes(ev.eventName) && !sel.includes("*")) continue;
        // (issue 14 defect 8, fixed: a field absent from the event is no value, never an exception)
        sig.onEvent(ev);
      }
      sig.onSignal({ type: "source_complete" });
    }
  },
};
