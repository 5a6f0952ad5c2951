/** The public API of @agent-armor/compiler. */

export {
  type CompilerApi,
  type DecisionError,
  type DecisionInput,
  type DecisionKind,
  type EffectKind,
  type FiredRule,
  type PolicyDecision,
  type PolicyMetadata,
  type PolicyModule,
  type PolicyTracker,
  REDACTED,
} from "@agent-armor/contract";
export { type EmitOptions, type EmitOutput, emitModule, type ModuleFormat } from "./codegen/emit.js";
export { type Compilation, type CompilerHost, compileSource, compileTests, emit, nodeHost, policySourceHash, type TestFileCompilation } from "./compile.js";
export { timeParts } from "./decision-input.js";
export { allEntries, type CatalogEntry, catalog, type DiagnosticTag, docsAnchor, type Severity } from "./diagnostics/catalog.js";
export { type Diagnostic, hasErrors, makeDiagnostic, type RelatedInfo, replacement, sortDiagnostics } from "./diagnostics/diagnostic.js";
export { renderText, toJson, toSarif } from "./diagnostics/render.js";
// ---- for the command line (@agent-armor/cli): re-exports only, no new code ---------------------
export { type ConditionLine, conditionLines, explainRules, noPaint, type Paint, showValue } from "./explain.js";
export { type FormatResult, formatSource } from "./format/format.js";
export { type ImportHost, MAX_IMPORT_DEPTH, MAX_IMPORTED_FILES, type PolicyFile, type ResolvedImport } from "./imports.js";
export { parseJsonInput } from "./input-text.js";
export { type Evaluation, evaluateCondition, evaluatePolicy, type RuleExplanation, type Trace } from "./interpreter.js";
export type * as IR from "./ir.js";
export { type JsonText, parseJsonText } from "./json-text.js";
export * as facts from "./language/facts.js";
export { loadModule } from "./load.js";
export { jsonTooDeepAt, MAX_NESTING } from "./nesting.js";
export { checkProperty, decisionIsOneOf, describeProperty, meetsProperty, type PropertyCheck, type PropertyCheckOptions, propertyPolicy } from "./properties.js";
export { MAX_FILE_BYTES, readRegularFile } from "./read-file.js";
// ---- for @agent-armor/analysis: a regex's syntax tree (flags already applied), to encode it in a solver
export type { Node as RegexNode } from "./regex/ast.js";
export { Assertion as RegexAssertion } from "./regex/ast.js";
export { parseRegexTree } from "./regex/parser.js";
export type { FieldReference, LetSymbol, LocalSymbol, RuleSymbol, SemanticModel } from "./semantic/checker.js";
export { currentAllowedAt } from "./semantic/current-scope.js";
export { closest } from "./semantic/names.js";
export { actionTypesAt, currentTypesAt } from "./semantic/narrowing.js";
export type { ActionSchema, ActionTypeInfo, FieldInfo } from "./semantic/schema.js";
export type { ReadonlySpanTable } from "./semantic/span-table.js";
export { type Type, typeName } from "./semantic/types.js";
export { type Stage, stageOfInput } from "./stage-input.js";
export type * as AST from "./syntax/ast.js";
export { type Expected, expectedAt, MAX_ASSIST_TOKENS, type NextToken } from "./syntax/expected.js";
export { type ParseResult, parse, type Token } from "./syntax/parse.js";
export { type Position, SourceFile, type Span, span } from "./syntax/source.js";
export { keywordNames, keywordOfToken } from "./syntax/tokens.js";
export type { TestCase } from "./testing/cases.js";
export { VERSION } from "./version.js";
