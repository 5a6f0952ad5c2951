/** The public API of @agent-armor/analysis: policy analyses on an SMT solver (Z3). */
export {
  CHANGE_KINDS,
  type ChangeKind,
  DEFAULT_SEARCH_SAMPLES,
  DEFAULT_TIMEOUT_MS,
  type DiffOptions,
  type DiffResult,
  diffPolicies,
  type Finding,
  type SideDecision,
} from "./diff.js";
export { encodeCondition, encodePolicy, type NotEncoded, type Outcome, type PolicyEncoding, type RuleTerms } from "./encode.js";
export { type Assignment, buildInput, type Counterexample } from "./model.js";
export { DEFAULT_PROPERTY_SAMPLES, DEFAULT_PROPERTY_TIMEOUT_MS, type PropertyOptions, type PropertyResult, proveProperties } from "./properties.js";
export { counterexampleLines, notEncodedLines, propertyJson, propertyLines } from "./properties-report.js";
export { type DiffFormat, renderDiff } from "./report.js";
export { exactRuleDiagnostics } from "./rule-diagnostics.js";
export { analyseRules, DEFAULT_RULE_TIMEOUT_MS, type RuleAnalysis, type Verdict } from "./rules.js";
export { type Answer, injectSolverFault, openSession, preloadSolver, type Session, type SolverFault } from "./solver.js";
export { Vocabulary } from "./vocabulary.js";
