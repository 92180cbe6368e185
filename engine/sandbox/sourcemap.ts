// Positions in a signature's own file for errors raised in its transpiled
// code: the stack's line:column in the generated JavaScript, mapped back
// through the inline source map esbuild wrote (base64 VLQ "mappings").

import type { SignatureSource } from "../types/sources";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

/** generated line (1-based) -> list of [generated column, original line, original column] (0-based) */
function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = [];
  let srcLine = 0,
    srcCol = 0,
    src = 0,
    name = 0;
  for (const lineText of mappings.split(";")) {
    const segs: [number, number, number][] = [];
    let genCol = 0;
    for (const seg of lineText.split(",")) {
      if (seg === "") continue;
      const vals: number[] = [];
      let shift = 0,
        value = 0;
      for (const ch of seg) {
        const d = B64_VALUE.get(ch);
        if (d === undefined) break;
        value += (d & 31) << shift;
        if (d & 32) {
          shift += 5;
          continue;
        }
        vals.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
      genCol += vals[0] ?? 0;
      if (vals.length >= 4) {
        src += vals[1];
        srcLine += vals[2];
        srcCol += vals[3];
        if (vals.length >= 5) name += vals[4];
        segs.push([genCol, srcLine, srcCol]);
      }
    }
    lines.push(segs);
  }
  void src;
  void name;
  return lines;
}

const cache = new WeakMap<SignatureSource, [number, number, number][][] | null>();

function mapOf(s: SignatureSource): [number, number, number][][] | null {
  if (cache.has(s)) return cache.get(s)!;
  let map: [number, number, number][][] | null = null;
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(s.code);
  if (m) {
    try {
      map = decodeMappings((JSON.parse(Buffer.from(m[1], "base64").toString("utf8")) as { mappings: string }).mappings);
    } catch {
      map = null;
    }
  }
  cache.set(s, map);
  return map;
}

/** the original position of a generated one (1-based lines and columns) */
export function originalPosition(s: SignatureSource, line: number, column: number): { line: number; column: number } {
  const map = mapOf(s);
  const segs = map?.[line - 1];
  if (!segs || segs.length === 0) return { line, column };
  let best = segs[0];
  for (const seg of segs) if (seg[0] <= column - 1) best = seg;
  return { line: best[1] + 1, column: best[2] + 1 };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** the first frame of `stack` in the signature's code, mapped to its file */
export function mapStack(s: SignatureSource, stack: string): { line: number; column: number } | null {
  const inFile = new RegExp(`${escapeRe(s.file)}:(\\d+):(\\d+)`).exec(stack);
  if (inFile) return originalPosition(s, Number(inFile[1]), Number(inFile[2]));
  // in-process (new Function): two header lines before the code
  const anon = /<anonymous>:(\d+):(\d+)/.exec(stack);
  if (anon) return originalPosition(s, Number(anon[1]) - 2, Number(anon[2]));
  return null;
}
