/**
 * Inlay hints, all from the cached analysis and only for the requested range:
 *
 * - a test: its decision by the interpreter and whether its expectations hold (`evaluate.ts`,
 *   cached per analysis);
 * - a rule: "never fires" / "shadowed by R" from the compiler's rule analysis (A401, A402), and
 *   the action types it applies to when they are not written in it as strings (narrowed through
 *   a let, for example);
 * - a let whose value is computed: the value the checker folded it to;
 * - a history predicate without `within`: that it counts over the whole session;
 * - a field read from the action: its type from the schema, once per rule.
 */
import { catalog, type Diagnostic, type IR, type PolicyDecision, type Span, showValue, typeName } from "@agent-armor/compiler";
import { decidingRules } from "@agent-armor/compiler/testing";
import { type InlayHint, InlayHintKind, type Range } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { toOffset, toRange } from "../positions.js";
import { explainTest } from "./evaluate.js";

/** At most this many characters of a value in a hint. */
const SHOWN = 40;

function clip(s: string): string {
  return s.length > SHOWN ? `${s.slice(0, SHOWN - 1)}…` : s;
}

export function inlayHints(a: Analysis, project: Project, range: Range): InlayHint[] {
  const span = { start: toOffset(a.source, range.start), end: toOffset(a.source, range.end) };
  const inRange = (s: Span): boolean => s.start <= span.end && span.start <= s.end;
  const hint = (offset: number, label: string, kind?: InlayHintKind, tooltip?: string): InlayHint => ({
    position: toRange(a.source, { start: offset, end: offset }).start,
    label,
    ...(kind !== undefined ? { kind } : {}),
    paddingLeft: true,
    ...(tooltip !== undefined ? { tooltip } : {}),
  });
  const out: InlayHint[] = [...testHints(a, project, inRange, hint)];
  if (a.kind === "policy") out.push(...policyHints(a, inRange, hint));
  return out.sort((x, y) => x.position.line - y.position.line || x.position.character - y.position.character);
}

type MakeHint = (offset: number, label: string, kind?: InlayHintKind, tooltip?: string) => InlayHint;

function testHints(a: Analysis, project: Project, inRange: (s: Span) => boolean, hint: MakeHint): InlayHint[] {
  const out: InlayHint[] = [];
  for (const item of (a.kind === "policy" ? a.compilation.ast : a.ast).items) {
    if (item.kind !== "test" || item.name === null || !inRange(item.span)) continue;
    const e = explainTest(a, project, item.name.value, false);
    if (e === null) continue;
    if (e.problem !== null) out.push(hint(item.name.span.end, "⚠ not decided", undefined, e.problem));
    else {
      const ok = e.failures === null || e.failures.length === 0;
      out.push(hint(item.name.span.end, `${ok ? "✓" : "✗"} ${clip(shortDecision(e.decision!))}`, undefined, ok ? e.summary : [...e.failures!, e.summary].join("\n")));
    }
  }
  return out;
}

function policyHints(a: PolicyAnalysis, inRange: (s: Span) => boolean, hint: MakeHint): InlayHint[] {
  const out: InlayHint[] = [];
  const c = a.compilation;
  const rules = new Map(c.policy.rules.map((r) => [r.span.start, r]));
  const ruleAt = (s: Span): IR.Rule | undefined => rules.get(s.start);
  for (const item of c.ast.items) {
    if (!inRange(item.span)) continue;
    if (item.kind === "rule") {
      const rule = ruleAt(item.span);
      const at = item.name?.span.end ?? item.span.start;
      for (const label of ruleNotes(a, item.span, rule, ruleAt)) out.push(hint(at, label));
    } else if (item.kind === "let" && item.name !== null && !isWritten(item.value)) {
      const value = c.model.lets.get(item.name.name)?.value;
      if (value !== undefined) out.push(hint(item.value.span.end, `= ${clip(showValue(value))}`, undefined, showValue(value)));
    }
  }
  for (const t of c.policy.trackers) {
    if (t.withinMs === null && inRange(t.span)) out.push(hint(t.span.end, "over the whole session"));
  }
  const typed = new Set<string>();
  for (const ref of c.model.fieldReferences) {
    if (ref.root !== "action" || ref.info === null || !inRange(ref.span)) continue;
    const rule = c.policy.rules.find((r) => r.span.start <= ref.span.start && ref.span.end <= r.span.end);
    const key = `${rule?.span.start ?? -1}:${ref.path.join(".")}`;
    if (typed.has(key)) continue;
    typed.add(key);
    out.push({ ...hint(ref.span.end, `: ${typeName(ref.info.type).replace(/^an? /, "")}`, InlayHintKind.Type), paddingLeft: false });
  }
  return out;
}

/** A decision in a few words: `deny by R`, `allow (default)`, `deny (error in R)`. */
function shortDecision(d: PolicyDecision): string {
  if (d.errors.length > 0) return `${d.decision} (error${d.errors[0]!.rule ? ` in ${d.errors[0]!.rule}` : ""})`;
  const by = decidingRules(d);
  return by.length > 0 ? `${d.decision} by ${by.join(", ")}` : d.rules.length === 0 ? `${d.decision} (default)` : d.decision;
}

/** A let's value is written when it is a literal or a list of literals; otherwise the checker computed it. */
function isWritten(e: { kind: string; elements?: readonly { kind: string }[] }): boolean {
  return e.kind === "literal" || (e.kind === "list" && (e.elements ?? []).every((x) => x.kind === "literal"));
}

/** What the rule analysis says of a rule, and the action types it applies to when they are not written in it. */
function ruleNotes(a: PolicyAnalysis, span: Span, rule: IR.Rule | undefined, ruleAt: (s: Span) => IR.Rule | undefined): string[] {
  const notes: string[] = [];
  const about = (d: Diagnostic): boolean => d.span.start === span.start && d.span.end === span.end && d.file === a.source.name;
  for (const d of a.compilation.diagnostics) {
    if (!about(d)) continue;
    if (d.code === catalog.neverFires.code) notes.push("never fires");
    else if (d.code === catalog.shadowedEffect.code) {
      const by = d.related?.[0] ? ruleAt(d.related[0].span) : undefined;
      notes.push(by ? `shadowed by ${by.id}` : "shadowed");
    }
  }
  if (rule?.actionTypes && rule.actionTypes.length > 0) {
    const text = a.text.slice(span.start, span.end);
    if (rule.actionTypes.some((t) => !text.includes(JSON.stringify(t)))) notes.push(`on ${clip(rule.actionTypes.join(", "))}`);
  }
  return notes;
}
