/**
 * The one path by which user text reaches emitted JavaScript. Every string, field name, rule id,
 * reason, regex program and literal value from a policy is written through `jsValue`, which
 * produces a JavaScript expression that evaluates to exactly that value and can break out of
 * nothing: strings are JSON-quoted with the line and paragraph separators and `<` escaped (so no `</script>`
 * or `<!--` can appear); object
 * keys are computed keys (so `__proto__` is an ordinary field); numbers are finite or rejected.
 */

export function jsString(s: string): string {
  return JSON.stringify(s).replace(/[\u2028\u2029<]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export function jsValue(v: unknown): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return jsString(v);
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new Error(`cannot emit the number ${String(v)}`);
      return Object.is(v, -0) ? "-0" : String(v);
    case "object":
      if (Array.isArray(v)) return `[${v.map(jsValue).join(", ")}]`;
      return `{${Object.entries(v as Record<string, unknown>)
        // computed keys define own properties; a plain "__proto__" key would set the prototype
        .map(([k, x]) => `[${jsString(k)}]: ${jsValue(x)}`)
        .join(", ")}}`;
    default:
      throw new Error(`cannot emit a value of type ${typeof v}`);
  }
}

/**
 * A comment line that user text cannot end early: line terminators become spaces, and `<` is
 * written `\u003c` so that no `</script>` or `<!--` appears even in comments.
 */
export function jsComment(text: string): string {
  return `// ${text.replace(/[\r\n\u2028\u2029]+/g, " ").replace(/</g, "\\u003c")}`;
}
