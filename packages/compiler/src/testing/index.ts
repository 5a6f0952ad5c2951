/** `@agent-armor/compiler/testing`: policy tests from JavaScript, and the test runner's parts. */
export { loadPolicyForTests, policyForTests, PolicyAssertionError, PolicyCompileError, type Expected, type PolicyUnderTest } from "./api.js";
export { DEFAULT_TEST_TIME, type Expectation, type TestCase } from "./cases.js";
export { decidingRules, runSuite, type RuleCoverage, type Suite, type TestResult } from "./runner.js";
export { coverageTable, humanReport, jsonReport, junitReport, percent, totals, type Totals } from "./report.js";
export { discover, FIXTURES_MARKER, policyOf, testFileOf, testWithoutPolicy, type Discovery, type TestTarget } from "./discover.js";
