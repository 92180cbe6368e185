// Shared by the bundle (host) and the sandbox worker, without esbuild.

/**
 * The globals the realm and signatures use most. In a vm context every global
 * lookup goes through the contextified global's interceptor (a call into C++),
 * which made the realm ~3x slower inside the sandbox than outside; passed in
 * as parameters of a wrapper function they are plain local variables.
 */
export const REALM_GLOBALS = [
  "Object",
  "Array",
  "JSON",
  "Math",
  "String",
  "Number",
  "Boolean",
  "Symbol",
  "BigInt",
  "Error",
  "TypeError",
  "RangeError",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "Date",
  "RegExp",
  "Reflect",
  "Uint8Array",
  "Uint16Array",
  "Uint32Array",
  "Int32Array",
  "Float64Array",
  "ArrayBuffer",
  "DataView",
  "parseInt",
  "parseFloat",
  "isNaN",
  "isFinite",
  "encodeURIComponent",
  "decodeURIComponent",
  "NaN",
  "Infinity",
  "undefined",
] as const;

/**
 * `code` run with the common globals as local variables (its lines stay
 * where they were); `extra`: more locals, name -> the expression they hold
 */
export function withLocalGlobals(code: string, extra: Record<string, string> = {}): string {
  const names = [...Object.keys(extra), ...REALM_GLOBALS].join(", ");
  const values = [...Object.values(extra), ...REALM_GLOBALS].join(", ");
  return `(function (${names}) {${code}\n})(${values});`;
}
