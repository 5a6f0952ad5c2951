/**
 * Code lenses on tests ("run test", "last result") and running one test with the compiler's
 * test runner (`runSuite` with a filter), as the `armor.runTest` command; running a policy's
 * whole suite, as the `armor.runTests` command, with the report `armorc test` prints.
 */
import { renderText } from "@agent-armor/compiler";
import { describeDecision, humanReport, runSuite } from "@agent-armor/compiler/testing";
import type { CodeLens, Range } from "vscode-languageserver";
import type { Analysis, Project } from "../analysis.js";
import { basename, type Documents, isTestFile, policyUriOf, testUriOf, uriToPath } from "../documents.js";
import { toRange } from "../positions.js";
import { EXPLAIN_TEST, type Explanation, explainTest } from "./evaluate.js";

export const RUN_TEST = "armor.runTest";
export const RUN_TESTS = "armor.runTests";

export interface TestOutcome {
  readonly name: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
}

/** The last outcome of each test, by `uri \0 name`. */
export type TestResults = ReadonlyMap<string, TestOutcome>;

export function resultKey(uri: string, name: string): string {
  return `${uri}\u0000${name}`;
}

/**
 * The tests decided when lenses are asked for; the lenses of later tests are decided when the
 * editor resolves them (VS Code resolves only the visible ones), so a file of thousands of tests
 * costs a bounded amount per request.
 */
export const DECIDED_LENSES = 100;

/** What a lens resolves: the test `name` of the document `uri`. */
export interface LensData {
  readonly uri: string;
  readonly name: string;
}

/** The decision lens's title: the decision and whether the test's expectations hold. */
export function decisionTitle(e: Explanation): string {
  if (e.problem !== null) return `⚠ not decided: ${clip(e.problem, 100)}`;
  if (e.failures === null || e.failures.length === 0) return `✓ ${clip(e.summary, 100)} · explain`;
  return `✗ ${clip(e.failures[0]!, 100)} · explain`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function codeLenses(a: Analysis, results: TestResults, project: Project): CodeLens[] {
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  const out: CodeLens[] = [];
  let decided = 0;
  for (const item of ast.items) {
    if (item.kind !== "test" || !item.name) continue;
    const range = toRange(a.source, item.name.span);
    const name = item.name.value;
    out.push({ range, command: { title: "▶ run test", command: RUN_TEST, arguments: [a.uri, name] } });
    out.push(decided++ < DECIDED_LENSES ? decisionLens(a, project, name, range) : { range, data: { uri: a.uri, name } satisfies LensData });
    const last = results.get(resultKey(a.uri, name));
    if (last) {
      const title = last.passed ? "last result: passed" : `last result: failed${last.failures[0] ? `: ${last.failures[0]}` : ""}`;
      out.push({ range, command: { title, command: "" } });
    }
  }
  return out;
}

/** The lens that shows a test's decision, decided by the interpreter; it opens the explanation. */
export function decisionLens(a: Analysis, project: Project, name: string, range: CodeLens["range"]): CodeLens {
  const e = explainTest(a, project, name, false);
  const title = e === null ? `no test named ${JSON.stringify(name)}` : decisionTitle(e);
  return { range, command: { title, command: EXPLAIN_TEST, arguments: [a.uri, name] } };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Runs one test of a document (a policy's own test, or a test in a `.test.armor` file). */
export async function runTest(uri: string, name: string, documents: Documents): Promise<TestOutcome> {
  const testFile = isTestFile(uri);
  const policyUri = testFile ? policyUriOf(uri) : uri;
  const policy = documents.get(policyUri);
  if (!policy) return { name, passed: false, failures: ["there is no policy beside this test file"] };
  const tests = testFile ? documents.get(uri) : undefined;
  const suite = await runSuite(
    { policyFile: uriToPath(policyUri), policyText: policy.text, testFiles: tests ? [{ name: uriToPath(uri), text: tests.text }] : [] },
    { filter: new RegExp(`^${escapeRegex(name)}$`), host: documents.host(uriToPath(policyUri)) },
  );
  const errors = suite.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) return { name, passed: false, failures: errors.map((d) => `${d.code} ${d.message}`) };
  const result = suite.results.find((r) => r.test.name === name && r.test.file === uriToPath(uri));
  if (!result) return { name, passed: false, failures: [`no test named ${JSON.stringify(name)}`] };
  return { name, passed: result.passed, failures: result.failures };
}

/** A test's outcome in a suite, with where the test is and what it expected and got. */
export interface SuiteTestResult extends TestOutcome {
  /** The file the test is written in, and the test's range there. */
  readonly uri: string;
  readonly range: Range;
  /** The test's `expect` lines as written, and the decision it got (as `armorc test` describes it). */
  readonly expected: string;
  readonly actual: string;
  /** For a failing test: every rule of its stage with its conditions' values; null when it passed. */
  readonly explanation: string | null;
}

export interface RuleCoverageReport {
  readonly id: string;
  /** The rule's line in the policy, 0-based. */
  readonly line: number;
  readonly fired: number;
  readonly notFired: number;
}

export interface SuiteReport {
  /** The policy's path, and the test file's (`null` when the policy has no `NAME.test.armor`). */
  readonly policyFile: string;
  readonly testFile: string | null;
  /** Why nothing ran (a test file without its policy); the other fields are then empty. */
  readonly problem: string | null;
  /** Errors in the policy or its tests: no test ran. */
  readonly errors: number;
  readonly results: readonly SuiteTestResult[];
  /** Every rule: in how many tests of its stage it fired and did not (`armorc test --coverage`). */
  readonly coverage: readonly RuleCoverageReport[];
  /** The errors as `armorc check` prints them ("" when none), and the report as `armorc test --coverage` prints it, without colour. */
  readonly diagnosticsText: string;
  readonly report: string;
}

/**
 * Runs the suite of the policy a document belongs to: `NAME.armor` with the tests in it and in
 * `NAME.test.armor` beside it; either may be the document.
 */
export async function runPolicyTests(uri: string, documents: Documents): Promise<SuiteReport> {
  const policyUri = isTestFile(uri) ? policyUriOf(uri) : uri;
  const testUri = isTestFile(uri) ? uri : testUriOf(uri);
  const policyFile = uriToPath(policyUri);
  const policy = documents.get(policyUri);
  const tests = documents.get(testUri);
  const testFile = tests ? uriToPath(testUri) : null;
  const empty = { policyFile, testFile, errors: 0, results: [], coverage: [], diagnosticsText: "", report: "" };
  if (!policy) {
    return { ...empty, problem: isTestFile(uri) ? `${basename(uriToPath(uri))} tests ${basename(policyFile)}, which does not exist` : `${basename(policyFile)} does not exist` };
  }
  const suite = await runSuite({ policyFile, policyText: policy.text, testFiles: tests && testFile ? [{ name: testFile, text: tests.text }] : [] }, { host: documents.host(policyFile) });
  const errors = suite.diagnostics.filter((d) => d.severity === "error").length;
  return {
    policyFile,
    testFile,
    problem: null,
    errors,
    results: suite.results.map((r) => {
      const source = suite.sources.get(r.test.file)!;
      const expected = r.test.expectations.map((e) => source.text.slice(e.span.start, e.span.end)).join("\n");
      const uri = r.test.file === policyFile ? policyUri : testUri;
      return {
        name: r.test.name,
        passed: r.passed,
        failures: r.failures,
        uri,
        range: toRange(source, r.test.span),
        expected,
        actual: describeDecision(r.decision, r.test.stage),
        explanation: r.explanation,
      };
    }),
    coverage: suite.coverage.map((c) => ({ id: c.id, line: c.line - 1, fired: c.fired, notFired: c.notFired })),
    diagnosticsText: errors > 0 ? renderText(suite.diagnostics, suite.sources, { color: false }) : "",
    report: humanReport([suite], { coverage: true }),
  };
}
