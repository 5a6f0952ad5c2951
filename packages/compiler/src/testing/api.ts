/**
 * Policy tests from JavaScript, for people who test in vitest or jest:
 *
 *   import { loadPolicyForTests } from "@agent-armor/compiler/testing";
 *   const payments = await loadPolicyForTests("policies/payments.armor");
 *   payments.expect({ action: { type: "wire_transfer", amount: 25000 } }, { decision: "require_approval", by: ["wire_review"] });
 *
 * Decisions come from the compiled module; a failed expectation throws a `PolicyAssertionError`
 * whose message shows the expected and actual decision and every rule's conditions with their
 * values, and whose `expected`/`actual` let test runners print a diff.
 */
import { readFileSync } from "node:fs";
import type { PolicyModule } from "@agent-armor/contract";
import { type Compilation, compileSource, emit, nodeHost } from "../compile.js";
import { renderText } from "../diagnostics/render.js";
import { explainRules } from "../explain.js";
import { evaluatePolicy } from "../interpreter.js";
import type { PolicyDecision } from "../ir.js";
import { loadModule } from "../load.js";
import { baseName } from "../semantic/checker.js";
import { lineIds } from "../semantic/rule-id.js";
import { equals } from "../semantics.js";
import { type Stage, stageOfInput } from "../stage-input.js";
import { decidingRules, describeDecision, runSuite, type Suite } from "./runner.js";

export interface Expected {
  decision?: "allow" | "deny" | "require_approval";
  /** Exactly the rules the decision was made by (see `expect ... by` in docs/language.md). */
  by?: string[];
  /** The approval group of a require_approval decision. */
  approvalFrom?: string | null;
  /** Fields the (rewritten) action must have; others are not compared. */
  action?: Record<string, unknown>;
  /** Whether the decision must (or must not) carry evaluation errors. */
  error?: boolean;
  /** The stage to decide; by default the one the input asks for (`output`, `result`, else the call). */
  stage?: Stage;
  /** Fields the (rewritten) result must have, at the result stage; others are not compared. */
  result?: Record<string, unknown>;
  /** Fields the (rewritten) message must have, at the output stage; others are not compared. */
  output?: Record<string, unknown>;
  /** Exactly the labels the decision adds, in any order. */
  labels?: string[];
}

/** The fields of `value` that `expected` names, own fields only (missing: undefined). */
function pick(value: unknown, expected: Record<string, unknown>): Record<string, unknown> {
  const v = (value !== null && typeof value === "object" ? value : {}) as Record<string, unknown>;
  return Object.fromEntries(Object.keys(expected).map((k) => [k, Object.hasOwn(v, k) ? v[k] : undefined]));
}

export class PolicyAssertionError extends Error {
  /** Lets vitest and jest print a diff of the compared values. */
  readonly showDiff = true;
  constructor(
    message: string,
    readonly expected: unknown,
    readonly actual: unknown,
  ) {
    super(message);
    this.name = "PolicyAssertionError";
  }
}

export interface PolicyUnderTest {
  readonly compilation: Compilation;
  readonly policy: PolicyModule["policy"];
  /** The compiled policy's decision at `stage` (by default the one the input asks for: see `stageOfInput`). */
  decide(input: unknown, stage?: Stage): PolicyDecision;
  /** Every rule's conditions with the values that made them true or false for this input. */
  explain(input: unknown, stage?: Stage): string;
  /** Throws a PolicyAssertionError unless the decision meets every stated expectation. */
  expect(input: unknown, expected: Expected): PolicyDecision;
  /** Runs the policy's own `test` blocks (and its NAME.test.armor file, if given). */
  runTests(options?: { testFile?: { name: string; text: string }; filter?: string | RegExp }): Promise<Suite>;
}

export class PolicyCompileError extends Error {
  constructor(readonly compilation: Compilation) {
    super(`${compilation.source.name} does not compile:\n${renderText(compilation.diagnostics, new Map([[compilation.source.name, compilation.source]]), { color: false })}`);
    this.name = "PolicyCompileError";
  }
}

function actualShape(d: PolicyDecision, expected: Expected): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (expected.decision !== undefined) out.decision = d.decision;
  if (expected.by !== undefined) out.by = decidingRules(d);
  if (expected.approvalFrom !== undefined) out.approvalFrom = d.approval?.from ?? null;
  if (expected.action !== undefined) out.action = pick(d.action, expected.action);
  if (expected.result !== undefined) out.result = pick((d as { result?: unknown }).result, expected.result);
  if (expected.output !== undefined) out.output = pick((d as { output?: unknown }).output, expected.output);
  if (expected.labels !== undefined) out.labels = [...(d.labels ?? [])];
  if (expected.error !== undefined) out.error = d.errors.length > 0;
  return out;
}

function normalized(expected: Expected): Record<string, unknown> {
  const out: Record<string, unknown> = { ...expected };
  delete out.stage;
  if (expected.by) out.by = [...expected.by];
  return out;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Refuses expected rule ids the policy does not have, telling an old `FILE:LINE` id's new form. */
function checkRuleIds(compilation: Compilation, ids: readonly string[]): void {
  const rules = compilation.model.rules;
  const unknown = ids.filter((id) => !rules.has(id));
  if (unknown.length === 0) return;
  const old = lineIds(baseName(compilation.source.name), rules.values(), (offset) => compilation.source.positionAt(offset).line + 1);
  const lines = unknown.map((id) => {
    const now = old.get(id);
    return now === undefined
      ? `\`${id}\` is not a rule of ${compilation.source.name}`
      : `\`${id}\` is an anonymous rule's id of the old form, FILE:LINE; that rule's id is now \`${now}\` (give the rule a name to keep one id across edits)`;
  });
  throw new PolicyAssertionError(`${lines.join("\n")}\nrules: ${[...rules.keys()].join(", ")}`, [...ids], [...rules.keys()]);
}

export async function policyForTests(fileName: string, text: string): Promise<PolicyUnderTest> {
  const compilation = compileSource(fileName, text, nodeHost);
  if (!compilation.ok) throw new PolicyCompileError(compilation);
  const module = await loadModule(emit(compilation).js);
  const explain = (input: unknown, stage = stageOfInput(input)): string =>
    explainRules(compilation.source, evaluatePolicy(compilation.policy, input, { explain: true, stage }).explanations, undefined, "", compilation.sources);
  const decide = (input: unknown, stage = stageOfInput(input)): PolicyDecision =>
    (stage === "result" ? module.decideResult! : stage === "output" ? module.decideOutput! : module.decide).call(module, input);
  return {
    compilation,
    policy: module.policy,
    decide,
    explain,
    expect(input, expected) {
      if (expected.by !== undefined) checkRuleIds(compilation, expected.by);
      const stage = expected.stage ?? stageOfInput(input);
      const d = decide(input, stage);
      const actual = actualShape(d, expected);
      const want = normalized(expected);
      const ok =
        (expected.decision === undefined || d.decision === expected.decision) &&
        (expected.by === undefined || sameSet(actual.by as string[], expected.by)) &&
        (expected.approvalFrom === undefined || actual.approvalFrom === expected.approvalFrom) &&
        (expected.action === undefined || equals(actual.action, expected.action)) &&
        (expected.result === undefined || equals(actual.result, expected.result)) &&
        (expected.output === undefined || equals(actual.output, expected.output)) &&
        (expected.labels === undefined || sameSet(actual.labels as string[], expected.labels)) &&
        (expected.error === undefined || actual.error === expected.error);
      if (!ok) {
        if (expected.by !== undefined && sameSet(actual.by as string[], expected.by)) actual.by = expected.by;
        if (expected.labels !== undefined && sameSet(actual.labels as string[], expected.labels)) actual.labels = expected.labels;
        throw new PolicyAssertionError(`the policy decided ${describeDecision(d)}\nexpected ${JSON.stringify(want)}\nactual   ${JSON.stringify(actual)}\n\n${explain(input, stage)}`, want, actual);
      }
      return d;
    },
    runTests: (options = {}) =>
      runSuite({ policyFile: fileName, policyText: text, testFiles: options.testFile ? [options.testFile] : [] }, options.filter !== undefined ? { filter: options.filter } : {}),
  };
}

/** Compiles and loads a policy file for tests. */
export async function loadPolicyForTests(path: string): Promise<PolicyUnderTest> {
  return policyForTests(path, readFileSync(path, "utf8"));
}
