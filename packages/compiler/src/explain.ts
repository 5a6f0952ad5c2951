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

/** One condition of a rule's trace as data: its text as written, its value, and what it compared. */
export interface ConditionLine {
  readonly span: { readonly start: number; readonly end: number };
  /** The condition's text, whitespace runs made one space. */
  readonly text: string;
  readonly value: unknown;
  /** For `A not in L`: the value of `A in L` (`value` is the negation's). */
  readonly inner?: { readonly text: string; readonly value: unknown };
  /** The operand values of a comparison, in order. */
  readonly operands?: readonly unknown[];
}

/**
 * The conditions of one rule's trace. Every condition shows its own value as written: `and`/`or`
 * are left out (their operands are shown), an explicit `not C` gets a line of its own after `C`'s,
 * and `A not in L`, which is `not` around `A in L` with the same span, is one line with the
 * value of the `not` and, as `inner`, the value of the `in`.
 */
export function conditionLines(source: SourceFile, trace: readonly Trace[]): ConditionLine[] {
  const text = (s: { start: number; end: number }): string => source.text.slice(s.start, s.end).replace(/\s+/g, " ");
  const notIn = new Map<IR.Expr, unknown>();
  for (const t of trace) if (t.expr.kind === "not" && sameSpan(t.expr.span, t.expr.arg.span)) notIn.set(t.expr.arg, t.value);
  const lines: ConditionLine[] = [];
  for (const t of trace) {
    if (t.expr.kind === "and" || t.expr.kind === "or") continue;
    if (t.expr.kind === "not" && notIn.has(t.expr.arg)) continue;
    const operands = t.operands ? { operands: t.operands } : {};
    if (notIn.has(t.expr) && t.expr.kind === "in") {
      const inner = { text: `${text(t.expr.left.span)} in ${text(t.expr.list.span)}`, value: t.value };
      lines.push({ span: t.expr.span, text: text(t.expr.span), value: notIn.get(t.expr), inner, ...operands });
      continue;
    }
    lines.push({ span: t.expr.span, text: text(t.expr.span), value: t.value, ...operands });
  }
  return lines;
}

function traceLines(source: SourceFile, trace: readonly Trace[], paint: Paint): string[] {
  return conditionLines(source, trace).map((c) => {
    const values = c.operands ? `  ${paint.dim(`with ${c.operands.map(showValue).join(", ")}`)}` : "";
    const inner = c.inner ? `  (${c.inner.text}  ->  ${verdict(c.inner.value, paint)})` : "";
    return `${c.text}  ->  ${verdict(c.value, paint)}${inner}${values}`;
  });
}

/**
 * Every rule's conditions with their values. An imported rule's conditions are read from its own
 * file, found in `sources` (a compilation's), and its line is shown with the file's name.
 */
export function explainRules(source: SourceFile, explanations: readonly RuleExplanation[], paint: Paint = noPaint, indent = "", sources?: ReadonlyMap<string, SourceFile>): string {
  const lines: string[] = [];
  for (const { rule, fired, error, trace } of explanations) {
    const status = error !== null ? paint.red(`error: ${error}`) : fired ? paint.green("fired") : paint.dim("did not fire");
    const own = rule.file === undefined ? source : sources?.get(rule.file);
    const where = rule.file === undefined ? `line ${rule.line}` : `${rule.file}:${rule.line}`;
    lines.push(`${indent}${paint.bold(`rule ${rule.id}`)} (${rule.effect.kind}, ${where}): ${status}`);
    if (own !== undefined) for (const line of traceLines(own, trace, paint)) lines.push(`${indent}  ${line}`);
    if (trace.length === 0 && error === null) lines.push(`${indent}  ${paint.dim("(condition is constant)")}`);
  }
  return `${lines.join("\n")}\n`;
}
