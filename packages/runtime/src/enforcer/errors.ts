/** The errors the enforcer throws, and the text of what a tool or a callback threw. */
import type { Decision, StageDecision } from "../types.js";

/** Thrown by `run` (and wrapped tools) when an action is denied; carries the decision. */
export class ActionDenied extends Error {
  constructor(readonly decision: Decision) {
    super(describeDenial(decision));
    this.name = "ActionDenied";
  }
}

/**
 * Thrown by `run` (and wrapped tools) when the tool ran but the policy withholds its result (a
 * rule on results denied, its approval was not given, or the result is not JSON within limits);
 * carries the result stage's decision, whose `result` is null: the withheld value goes no further.
 */
export class ResultWithheld extends Error {
  constructor(readonly decision: StageDecision) {
    super(describeWithholding(decision));
    this.name = "ResultWithheld";
  }
}

/**
 * Thrown by `run` (and wrapped tools) when the tool threw and the policy has rules on results:
 * the tool's error was decided as the result `{ error: MESSAGE }` and allowed, and this error
 * carries its message as the policy left it (redacted where a rule redacted it). The tool's own
 * error goes no further: its stack, cause and other fields were not decided.
 */
export class ToolFailed extends Error {
  constructor(
    readonly decision: Decision,
    readonly resultDecision: StageDecision,
    decided: unknown,
  ) {
    const error = decided !== null && typeof decided === "object" ? (decided as { error?: unknown }).error : undefined;
    super(typeof error === "string" ? error : `the tool \`${String((decision.action as { type?: unknown } | null)?.type ?? "?")}\` failed`);
    this.name = "ToolFailed";
  }
}

function describeWithholding(d: StageDecision): string {
  const denying = d.rules.filter((r) => r.effect === "deny");
  const reasons = [...denying.map((r) => `${r.id}${r.reason ? `: ${r.reason}` : ""}`), ...d.errors.map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.message))];
  return `the result of \`${String((d.action as { type?: unknown } | null)?.type ?? "?")}\` was withheld${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`;
}

/** Thrown by `checkResult` with `requireReservation` when its `decisionId` names no pending reservation of the session and action. */
export class NoReservation extends Error {
  override readonly name = "NoReservation";
}

/**
 * Thrown by `record` for an input that is not JSON all the way down (a non-finite number, a
 * function, a value that contains itself); `decide` and `run` deny such inputs instead.
 */
export class InvalidInputError extends TypeError {
  override readonly name = "InvalidInputError";
}

/**
 * Thrown by `record` and `release` when the shared history store does not answer: the action was
 * not counted (or not taken back). Its message starts `history store unavailable: STORE`.
 */
export class HistoryStoreUnavailable extends Error {
  override readonly name = "HistoryStoreUnavailable";
}

/**
 * Thrown by `record` for an action a live grant's amount (`grant ... up to N of action.F`) governs,
 * when the record settles no reservation of it: such an action is recorded only under the
 * reservation that took its amount (`decide` with `reserve`, then `record` with its decision id),
 * so that no amount is used twice or not at all. Nothing was counted; a `record_refused` outcome record says why.
 */
export class GrantNeedsReservation extends Error {
  override readonly name = "GrantNeedsReservation";
  constructor(
    message: string,
    /** The grant that governs the action. */
    readonly grantId: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by `record` given the `decisionId` of a pending reservation of another session, or of
 * this session for another action: a reservation is settled only by its own session with its own
 * action. Nothing was counted; a `record_refused` outcome record says why.
 */
export class ReservationMismatch extends Error {
  override readonly name = "ReservationMismatch";
}

function describeDenial(d: Decision): string {
  // the rules that decided: the denying ones when any fired, else the approval rules
  const denying = d.rules.filter((r) => r.effect === "deny");
  const deciding = denying.length > 0 ? denying : d.rules.filter((r) => r.effect === "require_approval");
  const reasons = [...deciding.map((r) => `${r.id}${r.reason ? `: ${r.reason}` : ""}`), ...d.errors.map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.message))];
  return `action \`${String((d.action as { type?: unknown } | null)?.type ?? "?")}\` denied${reasons.length > 0 ? ` (${reasons.join("; ")})` : ""}`;
}

/** What the outcome record says a tool threw; never throws itself. */
export function errorText(e: unknown): string {
  try {
    return e instanceof Error ? String(e.message) : String(e);
  } catch {
    return "the tool threw a value that has no text";
  }
}
