/** `@agent-armor/compiler/testing`: policy tests from JavaScript, and the test runner's parts. */
export { type Expected, loadPolicyForTests, PolicyAssertionError, PolicyCompileError, type PolicyUnderTest, policyForTests } from "./api.js";
export { DEFAULT_TEST_TIME, type Expectation, type TestCase } from "./cases.js";
export { type Discovery, discover, FIXTURES_MARKER, policyOf, type TestTarget, testFileOf, testWithoutPolicy } from "./discover.js";
export { coverageTable, humanReport, jsonReport, junitReport, percent, type Totals, totals } from "./report.js";
export { checkExpectations, decidingRules, describeDecision, type RuleCoverage, runSuite, type Suite, type TestResult } from "./runner.js";
