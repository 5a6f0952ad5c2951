/** The public API of @agent-armor/runtime. */

export { MAX_STAGE_DEPTH, MAX_STAGE_TEXT, MAX_STAGE_VALUES } from "@agent-armor/contract";
export * from "./approvals.js";
export * from "./audit.js";
export * from "./audit-ship.js";
export * from "./audit-verify.js";
export { type VerifyFileOptions, verifyAuditLogFile } from "./audit-verify-file.js";
export {
  ActionDenied,
  type ApprovalOutcome,
  type AuditOption,
  createEnforcer,
  type DecideOptions,
  type Enforcer,
  type EnforcerOptions,
  GrantNeedsReservation,
  HistoryStoreUnavailable,
  InvalidInputError,
  type LoadResult,
  NoReservation,
  type OutputMessage,
  type RecordInfo,
  type RecordResult,
  type ResultInfo,
  ResultWithheld,
  type RunResult,
  type ShadowFlip,
  type ShadowReport,
  ToolFailed,
} from "./enforcer.js";
export { addPartial, partialsValue } from "./exact-sum.js";
export {
  type Awaitable,
  type Grant,
  type GrantHolder,
  type GrantStore,
  type GrantsFound,
  type GrantUseResult,
  grantKey,
  grantValue,
  type IssuedApproval,
  type LapsedUse,
  MAX_GRANTS,
  MAX_GRANTS_PER_SCOPE,
  MAX_ISSUED,
  MAX_ISSUED_PER_SESSION,
  type MemoryGrantStore,
  memoryGrantStore,
  memoryIssued,
  newGrant,
  roundedDown,
} from "./grants.js";
export * from "./hash.js";
export {
  MAX_OPEN_ENTRIES,
  MAX_SCOPES,
  MAX_SESSION_LABELS,
  memoryHistoryStore,
  RECENT_LIMIT,
  type Reservation,
  SCOPE_OVERSHOOT,
  scopesFull,
  type TrackerSource,
  type TrackerValue,
} from "./history.js";
export { type CompilerApi, type LoadedPolicy, type LoadOptions, loadPolicy, type PolicyDiagnostic, PolicyLoadError, type PolicySource } from "./load.js";
export { type ReplayExample, Replayer, type ReplayGap, type ReplayKind, type ReplayOptions, type ReplayReport, type ReplayRuleChange } from "./replay.js";
export { type ReplayFileOptions, type ReplayFileResult, replayAuditLogFile } from "./replay-file.js";
export * from "./store.js";
export { MAX_LABEL_VALUES } from "./telemetry/labels.js";
export type { DecisionEvent, FailCause, TelemetryObserver, TelemetryOptions } from "./telemetry/options.js";
export { INSTRUMENTATION } from "./telemetry/probe.js";
export { MAX_TIMER_MS, setLongTimeout } from "./timers.js";
export type * from "./types.js";
export { type ActionValidator, compileValidator } from "./validate.js";
