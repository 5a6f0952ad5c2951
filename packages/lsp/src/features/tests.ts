/**
 * Code lenses on tests ("run test", "last result") and running one test with the compiler's
 * test runner (`runSuite` with a filter), as the `armor.runTest` command; running a policy's
 * whole suite, as the `armor.runTests` command, with the report `armorc test` prints.
 */
import { renderText } from "@agent-armor/compiler";
import { humanReport, runSuite } from "@agent-armor/compiler/testing";
import type { CodeLens } from "vscode-languageserver";
import type { Analysis } from "../analysis.js";
import { basename, type Documents, isTestFile, policyUriOf, testUriOf, uriToPath } from "../documents.js";
import { toRange } from "../positions.js";

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

export function codeLenses(a: Analysis, results: TestResults): CodeLens[] {
  const ast = a.kind === "policy" ? a.compilation.ast : a.ast;
  const out: CodeLens[] = [];
  for (const item of ast.items) {
    if (item.kind !== "test" || !item.name) continue;
    const range = toRange(a.source, item.name.span);
    const name = item.name.value;
    out.push({ range, command: { title: "▶ run test", command: RUN_TEST, arguments: [a.uri, name] } });
    const last = results.get(resultKey(a.uri, name));
    if (last) {
      const title = last.passed ? "last result: passed" : `last result: failed${last.failures[0] ? `: ${last.failures[0]}` : ""}`;
      out.push({ range, command: { title, command: "" } });
    }
  }
  return out;
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
    { filter: new RegExp(`^${escapeRegex(name)}$`), host: documents.host() },
  );
  const errors = suite.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) return { name, passed: false, failures: errors.map((d) => `${d.code} ${d.message}`) };
  const result = suite.results.find((r) => r.test.name === name && r.test.file === uriToPath(uri));
  if (!result) return { name, passed: false, failures: [`no test named ${JSON.stringify(name)}`] };
  return { name, passed: result.passed, failures: result.failures };
}

export interface SuiteReport {
  /** The policy's path, and the test file's (`null` when the policy has no `NAME.test.armor`). */
  readonly policyFile: string;
  readonly testFile: string | null;
  /** Why nothing ran (a test file without its policy); the other fields are then empty. */
  readonly problem: string | null;
  /** Errors in the policy or its tests: no test ran. */
  readonly errors: number;
  readonly results: readonly TestOutcome[];
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
  const empty = { policyFile, testFile, errors: 0, results: [], diagnosticsText: "", report: "" };
  if (!policy) {
    return { ...empty, problem: isTestFile(uri) ? `${basename(uriToPath(uri))} tests ${basename(policyFile)}, which does not exist` : `${basename(policyFile)} does not exist` };
  }
  const suite = await runSuite({ policyFile, policyText: policy.text, testFiles: tests && testFile ? [{ name: testFile, text: tests.text }] : [] }, { host: documents.host() });
  const errors = suite.diagnostics.filter((d) => d.severity === "error").length;
  return {
    policyFile,
    testFile,
    problem: null,
    errors,
    results: suite.results.map((r) => ({ name: r.test.name, passed: r.passed, failures: r.failures })),
    diagnosticsText: errors > 0 ? renderText(suite.diagnostics, suite.sources, { color: false }) : "",
    report: humanReport([suite], { coverage: true }),
  };
}
