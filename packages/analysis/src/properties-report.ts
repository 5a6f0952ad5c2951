/** Properties' results as text (a terminal, the language server's message) and as JSON data. */
import type { PropertyResult } from "./properties.js";

/**
 * One line for the property's verdict, the lines of its counterexample or of why it is not proved,
 * and what the encoding left open or bounded on the way (for a proof too: it says what the proof
 * took as free), each place once.
 */
export function propertyLines(r: PropertyResult, at: string): string[] {
  const head = `property ${r.property.name} (${at})`;
  const open = notEncodedLines(r).map((l) => `    ${l}`);
  if (r.status === "holds") return [`${head}: holds for every input (proved)`, ...open];
  if (r.status === "unknown") return [`${head}: NOT PROVED, ${r.note}`, ...open];
  return [`${head}: FAILS`, ...counterexampleLines(r).map((l) => `    ${l}`), ...open];
}

/** `not encoded: FILE:LINE:COLUMN: WHAT`, once for each place and construct. */
export function notEncodedLines(r: PropertyResult): string[] {
  return [...new Set(r.notEncoded.map((n) => `not encoded: ${n.file}${n.line > 0 ? `:${n.line}:${n.column}` : ""}: ${n.what}`))];
}

/** What a failing property's counterexample is, and how it is decided. */
export function counterexampleLines(r: PropertyResult): string[] {
  const e = r.example;
  if (e === null) return [];
  const d = e.decision;
  const by =
    d.errors.length > 0
      ? `the error of ${d.errors.map((x) => `${x.rule ?? "the input"} (${x.message})`).join(", ")}`
      : d.rules.length > 0
        ? `rules ${d.rules.map((x) => x.id).join(", ")}`
        : "the default";
  const redacted = d.rules.some((x) => x.effect === "redact") ? " with a redaction" : "";
  const out = [`counterexample${r.method === "search" ? ` (found by a bounded search: ${r.note})` : ""}: ${JSON.stringify(e.input)}`];
  for (const h of e.history) out.push(`history: ${h.predicate} = ${JSON.stringify(h.value)}`);
  out.push(`decided ${d.decision}${redacted} by ${by} (the interpreter and the compiled module agree)`);
  for (const line of r.replacements) out.push(`replaced: ${line}`);
  return out;
}

/** The result as data, for `armorc test --reporter json`. */
export function propertyJson(r: PropertyResult, file: string): unknown {
  return {
    name: r.property.name,
    file,
    line: r.property.line,
    status: r.status,
    method: r.method,
    note: r.note,
    example: r.example === null ? null : { input: r.example.input, history: r.example.history, decision: r.example.decision.decision, rules: r.example.decision.rules.map((x) => x.id) },
    notEncoded: [...new Set(r.notEncoded.map((n) => `${n.file}:${n.line}:${n.column}: ${n.what}`))],
    replacements: r.replacements,
    solverMs: r.solverMs,
    searchSamples: r.searchSamples,
  };
}
