/** The public API of @agent-armor/contract: types, and the values and rules they share. */

export type { CompiledSource, CompilerApi } from "./compiler.js";
export type { Diagnostic, DiagnosticFix, PolicyDiagnostic, Position, Severity, Span, TextEdit } from "./diagnostics.js";
export type {
  ApprovalAsk,
  DecisionError,
  DecisionInput,
  DecisionKind,
  EffectKind,
  FiredRule,
  GrantInput,
  GrantOffer,
  GrantUse,
  OutputDecisionInput,
  PolicyDecision,
  PolicyMetadata,
  PolicyModule,
  PolicyTracker,
  ResultDecisionInput,
  Stage,
  Value,
} from "./module.js";
export { builtInKind, keyPlace, MAX_STAGE_DEPTH, MAX_STAGE_TEXT, MAX_STAGE_VALUES, REDACTED } from "./module.js";
