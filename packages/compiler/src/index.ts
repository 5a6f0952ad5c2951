/** The public API of @agent-armor/compiler. */
export { compileSource, emit, nodeHost, type Compilation, type CompilerHost } from "./compile.js";
export { emitModule, type EmitOptions, type EmitOutput, type ModuleFormat } from "./codegen/emit.js";
export { catalog, allEntries, docsAnchor, type CatalogEntry, type DiagnosticTag, type Severity } from "./diagnostics/catalog.js";
export { type Diagnostic, hasErrors, makeDiagnostic, sortDiagnostics } from "./diagnostics/diagnostic.js";
export { renderText, toJson, toSarif } from "./diagnostics/render.js";
export { evaluatePolicy, type Evaluation, type RuleExplanation, type Trace } from "./interpreter.js";
export { loadModule } from "./load.js";
export { REDACTED, type CompilerApi, type DecisionError, type DecisionInput, type DecisionKind, type EffectKind, type FiredRule, type PolicyDecision, type PolicyMetadata, type PolicyModule, type PolicyTracker } from "@agent-armor/contract";
export { parse, type ParseResult, type Token } from "./syntax/parse.js";
export { SourceFile, span, type Span, type Position } from "./syntax/source.js";
export type * as IR from "./ir.js";
export { VERSION } from "./version.js";

// ---- for the command line (@agent-armor/cli): re-exports only, no new code ---------------------
export { explainRules, type Paint } from "./explain.js";
export { parseJsonText, type JsonText } from "./json-text.js";
export { jsonTooDeepAt, MAX_NESTING } from "./nesting.js";

// ---- for the language server (@agent-armor/lsp): re-exports only, no new code ------------------
export { compileTests, type TestFileCompilation } from "./compile.js";
export { formatSource, type FormatResult } from "./format/format.js";
export type { SemanticModel, LetSymbol, RuleSymbol, FieldReference } from "./semantic/checker.js";
export { actionTypesAt } from "./semantic/narrowing.js";
export type { ActionSchema, ActionTypeInfo, FieldInfo } from "./semantic/schema.js";
export { typeName, type Type } from "./semantic/types.js";
export { type RelatedInfo, replacement } from "./diagnostics/diagnostic.js";
export type * as AST from "./syntax/ast.js";
export { keywordNames } from "./syntax/tokens.js";
export * as facts from "./language/facts.js";
export type { TestCase } from "./testing/cases.js";
