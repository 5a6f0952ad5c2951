/** The public API of @agent-armor/runtime. */
export { ActionDenied, createEnforcer, InvalidInputError, type ApprovalOutcome, type AuditOption, type DecideOptions, type Enforcer, type EnforcerOptions, type LoadResult, type RecordInfo, type RecordResult, type RunResult, type ShadowFlip, type ShadowReport } from "./enforcer.js";
export { memoryHistoryStore, RECENT_LIMIT, type Reservation } from "./history.js";
export { loadPolicy, PolicyLoadError, type CompilerApi, type LoadedPolicy, type LoadOptions, type PolicyDiagnostic, type PolicySource } from "./load.js";
export { compileValidator, type ActionValidator } from "./validate.js";
export * from "./approvals.js";
export * from "./audit.js";
export * from "./audit-verify.js";
export { verifyAuditLogFile, type VerifyFileOptions } from "./audit-verify-file.js";
export * from "./hash.js";
export { MAX_TIMER_MS, setLongTimeout } from "./timers.js";
export type * from "./types.js";
