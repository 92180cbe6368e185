// Suppression (a per-rule rate limit, and "the same key within a window
// counts once", in packet time) and output templates, for rules and
// correlations inside the sandbox realm.

import type { TraceeEvent } from "../../types/events";
import type { FieldIR, SuppressIR, TemplateIR } from "../../types/rule-ir";
import { firstValue } from "./fields";
import { ReportLimiter } from "../../sdk/helpers";

/** the text of a field's first value (or the one `value` picks), "<NA>" when it has none (as Falco prints) */
export function valueText(ev: TraceeEvent, f: FieldIR, value: (ev: TraceeEvent, f: FieldIR) => unknown = firstValue): string {
  const v = value(ev, f);
  if (v === undefined || v === null) return "<NA>";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function render(t: TemplateIR, ev: TraceeEvent, value: (ev: TraceeEvent, f: FieldIR) => unknown = firstValue): string {
  let s = "";
  for (let i = 0; i < t.length; i++) {
    const p = t[i];
    s += typeof p === "string" ? p : valueText(ev, p, value);
  }
  return s;
}

/** per-rule rate limit and "the same key within a window counts once" (packet time) */
export class Suppressor {
  private readonly limiter: ReportLimiter | null;
  private windowStart = -1;
  private inWindow = 0;
  /** findings held back */
  suppressed = 0;

  constructor(private readonly ir: SuppressIR) {
    this.limiter = ir.window > 0 ? new ReportLimiter(ir.window, ir.maxKeys) : null;
  }

  /** whether a finding on `ev` goes out (`key` overrides the key fields) */
  allow(ev: TraceeEvent, key?: string): boolean {
    const now = ev.timestamp;
    if (this.limiter !== null) {
      let k = key ?? "";
      if (key === undefined) {
        const by = this.ir.by;
        for (let i = 0; i < by.length; i++) k += (i ? "\u001f" : "") + valueText(ev, by[i]);
      }
      if (this.limiter.seen(k, now)) {
        this.suppressed++;
        return false;
      }
    }
    if (this.ir.rate > 0) {
      if (this.windowStart < 0 || now < this.windowStart || now - this.windowStart >= this.ir.per * 1e9) {
        this.windowStart = now;
        this.inWindow = 0;
      }
      if (this.inWindow >= this.ir.rate) {
        this.suppressed++;
        return false;
      }
      this.inWindow++;
    }
    return true;
  }

  clear(): void {
    this.limiter?.clear();
    this.windowStart = -1;
    this.inWindow = 0;
  }
}
