/**
 * Explanations: every rule, whether it fired, and each of its conditions (negations included)
 * with its own value and the values that made it true or false, from the reference interpreter's trace. Used by `armorc eval --explain`
 * and by `armorc test` for failing tests.
 */
import type { RuleExplanation, Trace } from "./interpreter.js";
import type * as IR from "./ir.js";
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

/** A condition's value as the explanation shows it: booleans bare, other values as JSON. */
function verdict(value: unknown, paint: Paint): string {
  if (value === true) return paint.green("true");
  if (value === false) return paint.yellow("false");
  return paint.yellow(showValue(value));
}

/**
 * The lines of one rule's trace. Every condition shows its own value as written: `and`/`or` are
 * left out (their operands are shown), an explicit `not C` gets a line of its own after `C`'s,
 * and `A not in L`, which is `not` around `A in L` with the same span, is one line with the
 * value of the `not` and, in parentheses, the value of the `in`.
 */
function traceLines(source: SourceFile, trace: readonly Trace[], paint: Paint): string[] {
  const text = (s: { start: number; end: number }): string => source.text.slice(s.start, s.end).replace(/\s+/g, " ");
  const notIn = new Map<IR.Expr, unknown>();
  for (const t of trace) if (t.expr.kind === "not" && sameSpan(t.expr.span, t.expr.arg.span)) notIn.set(t.expr.arg, t.value);
  const lines: string[] = [];
  for (const t of trace) {
    if (t.expr.kind === "and" || t.expr.kind === "or") continue;
    if (t.expr.kind === "not" && notIn.has(t.expr.arg)) continue;
    const values = t.operands ? `  ${paint.dim(`with ${t.operands.map(showValue).join(", ")}`)}` : "";
    if (notIn.has(t.expr) && t.expr.kind === "in") {
      const inner = `${text(t.expr.left.span)} in ${text(t.expr.list.span)}`;
      lines.push(`${text(t.expr.span)}  ->  ${verdict(notIn.get(t.expr), paint)}  (${inner}  ->  ${verdict(t.value, paint)})${values}`);
      continue;
    }
    lines.push(`${text(t.expr.span)}  ->  ${verdict(t.value, paint)}${values}`);
  }
  return lines;
}

export function explainRules(source: SourceFile, explanations: readonly RuleExplanation[], paint: Paint = noPaint, indent = ""): string {
  const lines: string[] = [];
  for (const { rule, fired, error, trace } of explanations) {
    const status = error !== null ? paint.red(`error: ${error}`) : fired ? paint.green("fired") : paint.dim("did not fire");
    lines.push(`${indent}${paint.bold(`rule ${rule.id}`)} (${rule.effect.kind}, line ${rule.line}): ${status}`);
    for (const line of traceLines(source, trace, paint)) lines.push(`${indent}  ${line}`);
    if (trace.length === 0 && error === null) lines.push(`${indent}  ${paint.dim("(condition is constant)")}`);
  }
  return `${lines.join("\n")}\n`;
}
