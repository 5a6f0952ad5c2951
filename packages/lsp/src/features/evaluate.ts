/**
 * Deciding in the editor: a test case, or an input JSON file (or a selection of it), decided
 * with the policy by the reference interpreter, with every rule of the stage explained (the
 * `armorc eval --explain` trace: each condition's value, negations included, for the rules that
 * did not fire too). The interpreter's limits bound every evaluation (work budgets, the regex
 * matcher's limits, the nesting limit checked before an input is parsed), so a hostile policy or
 * input is decided, or denied with the error, in bounded time. A policy that does not check is
 * not decided: the explanation says why and where.
 *
 * A test's explanation is cached per analysis (a new analysis on every edit of the test's file
 * or its policy), so lenses and inlay hints re-run on edit and never twice for one version.
 */
import {
  type Compilation,
  conditionLines,
  type Diagnostic,
  evaluatePolicy,
  explainRules,
  type IR,
  MAX_FILE_BYTES,
  type PolicyDecision,
  parseJsonInput,
  type SourceFile,
  type Span,
  type Stage,
  showValue,
  stageOfInput,
  type TestCase,
} from "@agent-armor/compiler";
import { checkExpectations, describeDecision } from "@agent-armor/compiler/testing";
import type { Range } from "vscode-languageserver";
import type { Analysis, PolicyAnalysis, Project } from "../analysis.js";
import { basename } from "../documents.js";
import { toRange } from "../positions.js";

/** `[uri, name]`: explain one test of a document. */
export const EXPLAIN_TEST = "armor.explainTest";
/** `[policyUri, inputUri, { text?, range?, stage? }]`: decide an input JSON file, or a range of it. */
export const EVALUATE = "armor.evaluate";

export interface ConditionReport {
  /** The condition as written, and where in the policy. */
  readonly text: string;
  readonly range: Range;
  /** Its value, shown as JSON (`true`, `false`, `"x"`, ...). */
  readonly value: string;
  /** For `A not in L`: the `in` and its value. */
  readonly inner?: { readonly text: string; readonly value: string };
  /** A comparison's operand values, shown as JSON. */
  readonly operands?: readonly string[];
}

export interface RuleReport {
  readonly id: string;
  readonly effect: IR.EffectKind;
  readonly range: Range;
  readonly fired: boolean;
  /** The evaluation error that denied, naming this rule; null when it evaluated. */
  readonly error: string | null;
  /** The conditions it evaluated, innermost first; none when its condition is constant. */
  readonly conditions: readonly ConditionReport[];
}

export interface Explanation {
  /** What was decided: `test "NAME"`, or the input file's name (with the selection's lines). */
  readonly subject: string;
  readonly policyUri: string;
  /** Why nothing was decided (the policy or the test has errors, the input is not JSON), or null. */
  readonly problem: string | null;
  /** Where the problem is. */
  readonly problemAt: { readonly uri: string; readonly range: Range } | null;
  readonly stage: Stage;
  readonly decision: PolicyDecision | null;
  /** The decision in one line (`deny by no_secrets`), or the problem. */
  readonly summary: string;
  /** For a test: the expectations that did not hold (empty when it passes); null for an input. */
  readonly failures: readonly string[] | null;
  /** Every rule of the stage, in source order. */
  readonly rules: readonly RuleReport[];
  /** The whole explanation as text, as `armorc eval --explain` prints it. */
  readonly text: string;
}

/** At most this many characters of a shown value (a huge string stays readable). */
const SHOWN = 60;

function shown(v: unknown): string {
  const s = showValue(v);
  return s.length > SHOWN ? `${s.slice(0, SHOWN - 3)}...` : s;
}

function errorsOutside(c: Compilation, testSpans: readonly Span[]): Diagnostic[] {
  const inTest = (d: Diagnostic): boolean => testSpans.some((s) => s.start <= d.span.start && d.span.end <= s.end);
  return c.diagnostics.filter((d) => d.severity === "error" && d.file === c.source.name && !inTest(d));
}

function testSpansOf(c: Compilation): Span[] {
  return c.ast.items.filter((i) => i.kind === "test").map((i) => i.span);
}

/** Why a policy cannot decide (its errors outside its tests), or null. */
function policyProblem(policy: PolicyAnalysis): { problem: string; at: { uri: string; range: Range } } | null {
  const errors = errorsOutside(policy.compilation, testSpansOf(policy.compilation));
  const first = errors[0];
  if (first === undefined) return null;
  const line = policy.source.positionAt(first.span.start).line + 1;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return {
    problem: `the policy does not check, so nothing is decided: ${basename(policy.source.name)}:${line}: ${first.code} ${first.message}${more}`,
    at: { uri: policy.uri, range: toRange(policy.source, first.span) },
  };
}

function notDecided(subject: string, policyUri: string, stage: Stage, problem: string, at: { uri: string; range: Range } | null): Explanation {
  return { subject, policyUri, problem, problemAt: at, stage, decision: null, summary: `not decided: ${problem}`, failures: null, rules: [], text: `${subject}: not decided\n${problem}\n` };
}

/**
 * Decides `input` at `stage` with the interpreter and, with `explain`, explains every rule of the
 * stage (without it, `rules` is empty and `text` has only the decision: what a lens shows).
 */
function decide(subject: string, policy: PolicyAnalysis, input: unknown, stage: Stage, expectations: TestCase["expectations"] | null, explain = true): Explanation {
  const { result, explanations } = evaluatePolicy(policy.compilation.policy, input, { explain, stage });
  const source: SourceFile = policy.source;
  // an imported rule's spans are in its own file (docs/language.md §18)
  const sources = policy.compilation.sources as ReadonlyMap<string, SourceFile>;
  const sourceOf = (file: string | undefined): SourceFile => (file === undefined ? source : (sources.get(file) ?? source));
  const rules: RuleReport[] = explanations.map(({ rule, fired, error, trace }) => ({
    id: rule.id,
    effect: rule.effect.kind,
    range: toRange(sourceOf(rule.file), rule.span),
    fired,
    error,
    conditions: conditionLines(sourceOf(rule.file), trace).map((c) => ({
      text: c.text,
      range: toRange(sourceOf(rule.file), c.span),
      value: shown(c.value),
      ...(c.inner ? { inner: { text: c.inner.text, value: shown(c.inner.value) } } : {}),
      ...(c.operands ? { operands: c.operands.map(shown) } : {}),
    })),
  }));
  const summary = describeDecision(result, stage);
  const failures = expectations === null ? null : checkExpectations(expectations, result, stage);
  const verdict = failures === null ? "" : failures.length === 0 ? "passes\n" : `fails:\n${failures.map((f) => `  ${f}\n`).join("")}`;
  // a decision with an error names it; the rules' lines below say which rule and why
  const text = `${subject} (${stage} stage): ${summary}\n${verdict}${explain ? `\n${explainRules(source, explanations, undefined, "", sources)}` : ""}`;
  return { subject, policyUri: policy.uri, problem: null, problemAt: null, stage, decision: result, summary, failures, rules, text };
}

/** The test cases a document holds, and the file they are written in. */
function testsOf(a: Analysis): readonly TestCase[] {
  if (a.kind === "policy") return a.compilation.tests.filter((t) => t.file === a.source.name);
  return a.tests?.tests ?? [];
}

const explained = new WeakMap<Analysis, Map<string, Explanation>>();

/**
 * Explains the test named `name` of a document (a policy's own test, or one in its `.test.armor`);
 * null when there is none. Without `explain`, only decides it (lenses and hints show no more, and
 * explaining every rule costs far more than deciding: bench/lsp-lens.mjs).
 */
export function explainTest(a: Analysis, project: Project, name: string, explain = true): Explanation | null {
  let cache = explained.get(a);
  const key = `${explain ? "explained" : "decided"}\u0000${name}`;
  const hit = cache?.get(key);
  if (hit !== undefined) return hit;
  const item = (a.kind === "policy" ? a.compilation.ast : a.ast).items.find((i) => i.kind === "test" && i.name?.value === name);
  if (item === undefined) return null;
  const subject = `test ${JSON.stringify(name)}`;
  const policy = project.policyOf(a);
  let out: Explanation;
  if (policy === null) out = notDecided(subject, a.uri, "call", "there is no policy beside this test file", null);
  else {
    const problem = policyProblem(policy);
    const own = a.diagnostics.filter((d) => d.severity === "error" && d.file === a.source.name && item.span.start <= d.span.start && d.span.end <= item.span.end);
    const test = testsOf(a).find((t) => t.name === name);
    if (problem !== null) out = notDecided(subject, policy.uri, test?.stage ?? "call", problem.problem, problem.at);
    else if (own[0] !== undefined || test === undefined) {
      const first = own[0];
      const why = first ? `the test does not check: ${first.code} ${first.message}` : "the test does not check";
      out = notDecided(subject, policy.uri, test?.stage ?? "call", why, first ? { uri: a.uri, range: toRange(a.source, first.span) } : null);
    } else out = decide(subject, policy, test.input, test.stage, test.expectations, explain);
  }
  if (cache === undefined) {
    cache = new Map();
    explained.set(a, cache);
  }
  cache.set(key, out);
  return out;
}

export interface InputOptions {
  /** The input document's text (unsaved, or not on disk); read from disk when absent. */
  readonly text?: string;
  /** Only this part of the text (a selection of JSON). */
  readonly range?: Range;
  /** The stage to decide; by default, from the input (`output` or `result` present). */
  readonly stage?: Stage;
}

/** Decides an input JSON text with a policy. `text` is the input document's whole text. */
export function evaluateInput(policy: PolicyAnalysis, inputUri: string, text: string, options: InputOptions, source: SourceFile): Explanation {
  const name = basename(source.name);
  const start = options.range ? source.offsetAt({ line: options.range.start.line, column: options.range.start.character }) : 0;
  const end = options.range ? source.offsetAt({ line: options.range.end.line, column: options.range.end.character }) : text.length;
  const lines = options.range ? ` lines ${options.range.start.line + 1}-${options.range.end.line + 1}` : "";
  const subject = `${name}${lines}`;
  const problem = policyProblem(policy);
  if (problem !== null) return notDecided(subject, policy.uri, options.stage ?? "call", problem.problem, problem.at);
  if (text.length > MAX_FILE_BYTES) return notDecided(subject, policy.uri, options.stage ?? "call", `the input is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`, null);
  const parsed = parseJsonInput(source.name, text.slice(start, Math.max(start, end)));
  if (!parsed.ok) {
    const d = parsed.diagnostic;
    const span = { start: start + d.span.start, end: start + d.span.end };
    const line = source.positionAt(span.start);
    const why = `${d.code} ${d.message} (${name}:${line.line + 1}:${line.column + 1}); ${d.help ?? ""}`.replace(/; $/, "");
    return notDecided(subject, policy.uri, options.stage ?? "call", why, { uri: inputUri, range: toRange(source, span) });
  }
  return decide(subject, policy, parsed.value, options.stage ?? stageOfInput(parsed.value), null);
}
