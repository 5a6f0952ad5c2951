/**
 * Running policy tests: a policy and its tests (its own `test` blocks and those of its
 * `.test.armor` file) are checked, the policy is compiled and loaded, and every test is decided
 * by the compiled module, the code that runs in production. A failing test is explained with the
 * reference interpreter's trace. Coverage counts, for every rule, the tests where it fired and
 * the tests where it did not.
 */

import type { PolicyModule } from "@agent-armor/contract";
import { type CompilerHost, compileSource, compileTests, emit, nodeHost } from "../compile.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { explainRules, noPaint, type Paint, showValue } from "../explain.js";
import { evaluatePolicy } from "../interpreter.js";
import type { EffectKind, PolicyDecision, Stage } from "../ir.js";
import { loadModule } from "../load.js";
import { equals } from "../semantics.js";
import type { SourceFile } from "../syntax/source.js";
import type { Expectation, TestCase, TestStage } from "./cases.js";

export interface TestResult {
  readonly test: TestCase;
  readonly passed: boolean;
  /** One line per expectation that did not hold. */
  readonly failures: readonly string[];
  readonly decision: PolicyDecision;
  /** For failing tests: every rule's conditions with their values. */
  readonly explanation: string | null;
  readonly durationMs: number;
}

export interface RuleCoverage {
  readonly id: string;
  /** The file the rule is written in: the policy's, or an imported file's. */
  readonly file: string;
  readonly effect: EffectKind;
  readonly line: number;
  /** The stage the rule decides; only the tests of that stage count for it. */
  readonly stage: Stage;
  /** Tests (of the rule's stage) in which the rule fired. */
  readonly fired: number;
  /** Tests (of the rule's stage) in which it did not fire. */
  readonly notFired: number;
}

export interface Suite {
  readonly policyFile: string;
  readonly testFiles: readonly string[];
  readonly sources: ReadonlyMap<string, SourceFile>;
  /** The files the policy imports (each has its own tests, run as a suite of its own). */
  readonly imports: readonly string[];
  /** Diagnostics of the policy and its test files; with errors, no test runs. */
  readonly diagnostics: readonly Diagnostic[];
  readonly results: readonly TestResult[];
  readonly coverage: readonly RuleCoverage[];
  /** How many tests the filter left out. */
  readonly filteredOut: number;
}

export interface SuiteInput {
  readonly policyFile: string;
  readonly policyText: string;
  readonly testFiles: readonly { name: string; text: string }[];
}

export interface RunOptions {
  /** Only tests whose name contains this text (or matches this regex). */
  readonly filter?: string | RegExp;
  readonly host?: CompilerHost;
  readonly paint?: Paint;
}

function matches(filter: string | RegExp | undefined, name: string): boolean {
  if (filter === undefined) return true;
  return typeof filter === "string" ? name.includes(filter) : filter.test(name);
}

/**
 * The rules a decision was made by: the deny rules of a deny, the approval rules of a
 * require_approval, the allow and redact rules of an allow. `expect D by R` names exactly these.
 */
export function decidingRules(d: PolicyDecision): string[] {
  const effects = d.decision === "deny" ? ["deny"] : d.decision === "require_approval" ? ["require_approval"] : ["allow", "redact"];
  return d.rules.filter((r) => effects.includes(r.effect)).map((r) => r.id);
}

/** Why no rule is named: a call no rule decided falls to the default; a result or output passes. */
function undecided(d: PolicyDecision, stage: Stage): string {
  if (d.errors.length > 0) return "";
  if (stage === "call") return d.rules.length === 0 ? " (the default; no rule fired)" : "";
  return ` (no rule decided the ${stage}: it passes)`;
}

export function describeDecision(d: PolicyDecision, stage: Stage = "call"): string {
  const by = decidingRules(d);
  const others = d.rules.map((r) => r.id).filter((id) => !by.includes(id));
  const errors = d.errors.length > 0 ? `; errors: ${d.errors.map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.message)).join("; ")}` : "";
  return `${d.decision}${by.length > 0 ? ` by ${by.join(", ")}` : undecided(d, stage)}${others.length > 0 ? ` (also fired: ${others.join(", ")})` : ""}${errors}`;
}

function fieldOf(value: unknown, path: readonly string[]): unknown {
  let v: unknown = value;
  for (const k of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, k)) return null;
    v = (v as Record<string, unknown>)[k];
  }
  return v ?? null;
}

/** What did not hold, one line per expectation; empty when the test passes. */
export function checkExpectations(expectations: readonly Expectation[], d: PolicyDecision, stage: Stage = "call"): string[] {
  const described = describeDecision(d, stage);
  const failures: string[] = [];
  for (const e of expectations) {
    switch (e.kind) {
      case "decision": {
        const by = decidingRules(d);
        const sameRules = e.rules === null || (e.rules.length === by.length && e.rules.every((r) => by.includes(r)));
        if (d.decision !== e.decision || !sameRules) {
          failures.push(`expected ${e.decision}${e.rules ? ` by ${e.rules.join(", ") || "no rule"}` : ""}, got ${described}`);
        }
        break;
      }
      case "error":
        if (d.errors.length === 0) failures.push(`expected an evaluation error, got ${described}`);
        break;
      case "approval":
        if (d.decision !== "require_approval" || d.approval?.from !== e.from) {
          failures.push(`expected approval from ${JSON.stringify(e.from)}, got ${d.decision === "require_approval" ? `approval from ${JSON.stringify(d.approval?.from ?? null)}` : described}`);
        }
        break;
      case "field": {
        const actual = fieldOf(e.root === "action" ? d.action : e.root === "result" ? d.result : d.output, e.path);
        const name = [e.root, ...e.path].join(".");
        if (!equals(actual, e.value)) failures.push(`expected ${name} == ${showValue(e.value)}, got ${showValue(actual)} (decision: ${described})`);
        break;
      }
      case "labels": {
        const labels = d.labels ?? [];
        const same = labels.length === e.labels.length && e.labels.every((l) => labels.includes(l));
        if (!same) failures.push(`expected labels == ${showValue(e.labels)}, got ${showValue(labels)} (decision: ${described})`);
        break;
      }
    }
  }
  return failures;
}

/** The compiled module's decision at a test's stage: `decide`, `decideResult` or `decideOutput`. */
function decideAt(module: PolicyModule, stage: TestStage, input: unknown): PolicyDecision {
  if (stage === "call") return module.decide(input);
  const decide = stage === "result" ? module.decideResult : module.decideOutput;
  // every module the compiler emits has all three; one that lacks a stage cannot pass its tests
  if (!decide) throw new Error(`the compiled module has no decision function for the ${stage} stage`);
  return decide.call(module, input);
}

export async function runSuite(input: SuiteInput, options: RunOptions = {}): Promise<Suite> {
  const host = options.host ?? nodeHost;
  const compilation = compileSource(input.policyFile, input.policyText, host);
  const testCompilations = input.testFiles.map((f) => compileTests(f.name, f.text, compilation));
  const sources = new Map<string, SourceFile>([...compilation.sources, [input.policyFile, compilation.source], ...testCompilations.map((t) => [t.source.name, t.source] as [string, SourceFile])]);
  const diagnostics = [...compilation.diagnostics, ...testCompilations.flatMap((t) => t.diagnostics)];
  const imports = compilation.files.slice(1).map((f) => f.path);
  const base = { policyFile: input.policyFile, testFiles: input.testFiles.map((f) => f.name), sources, imports, diagnostics };
  const coverage = (results: readonly TestResult[]): RuleCoverage[] =>
    compilation.policy.rules.map((r) => {
      const ofStage = results.filter((t) => t.test.stage === r.stage);
      const fired = ofStage.filter((t) => t.decision.rules.some((x) => x.id === r.id)).length;
      return { id: r.id, file: r.file ?? input.policyFile, effect: r.effect.kind, line: r.line, stage: r.stage, fired, notFired: ofStage.length - fired };
    });
  if (hasErrors(diagnostics)) return { ...base, results: [], coverage: coverage([]), filteredOut: 0 };

  const all = [...compilation.tests, ...testCompilations.flatMap((t) => t.tests)];
  const selected = all.filter((t) => matches(options.filter, t.name));
  const module = await loadModule(emit(compilation).js);
  const results: TestResult[] = [];
  for (const test of selected) {
    const started = performance.now();
    const decision = decideAt(module, test.stage, test.input);
    const durationMs = performance.now() - started;
    const failures = checkExpectations(test.expectations, decision, test.stage);
    let explanation: string | null = null;
    if (failures.length > 0) {
      const { explanations } = evaluatePolicy(compilation.policy, test.input, { explain: true, stage: test.stage });
      explanation = explainRules(compilation.source, explanations, options.paint ?? noPaint, "    ", compilation.sources);
    }
    results.push({ test, passed: failures.length === 0, failures, decision, explanation, durationMs });
  }
  return { ...base, results, coverage: coverage(results), filteredOut: all.length - selected.length };
}
