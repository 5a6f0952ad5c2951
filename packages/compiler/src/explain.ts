/**
 * Explanations: every rule, whether it fired, and each of its conditions with the values that
 * made it true or false, from the reference interpreter's trace. Used by `armorc eval --explain`
 * and by `armorc test` for failing tests.
 */
import type { RuleExplanation } from "./interpreter.js";
import type { SourceFile } from "./syntax/source.js";

export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export const noPaint: Paint = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };

export function showValue(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return "null";
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function sameSpan(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start === b.start && a.end === b.end;
}

export function explainRules(source: SourceFile, explanations: readonly RuleExplanation[], paint: Paint = noPaint, indent = ""): string {
  const lines: string[] = [];
  for (const { rule, fired, error, trace } of explanations) {
    const status = error !== null ? paint.red(`error: ${error}`) : fired ? paint.green("fired") : paint.dim("did not fire");
    lines.push(`${indent}${paint.bold(`rule ${rule.id}`)} (${rule.effect.kind}, line ${rule.line}): ${status}`);
    // `A not in L` is `not` over `in` with the same span: shown once, with the value of the `not`
    const negated = new Map<unknown, unknown>();
    for (const t of trace) if (t.expr.kind === "not" && t.expr.arg.kind === "in" && sameSpan(t.expr.span, t.expr.arg.span)) negated.set(t.expr.arg, t.value);
    for (const t of trace) {
      if (t.expr.kind === "and" || t.expr.kind === "or" || t.expr.kind === "not") continue;
      const text = source.text.slice(t.expr.span.start, t.expr.span.end).replace(/\s+/g, " ");
      const values = t.operands ? `  ${paint.dim(`with ${t.operands.map(showValue).join(", ")}`)}` : "";
      const value = negated.has(t.expr) ? negated.get(t.expr) : t.value;
      const verdict = value === true ? paint.green("true") : paint.yellow(String(value));
      lines.push(`${indent}  ${text}  ->  ${verdict}${values}`);
    }
    if (trace.length === 0 && error === null) lines.push(`${indent}  ${paint.dim("(condition is constant)")}`);
  }
  return `${lines.join("\n")}\n`;
}
