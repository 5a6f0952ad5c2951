/**
 * The state every step of the enforcer works on: what the options fixed when it was created, the
 * policies in force, the session history, the pending reservations and the audit log.
 */
import { DEFAULT_WRITE_TIMEOUT_MS } from "../audit.js";
import { type GrantStore, memoryGrantStore, memoryIssued } from "../grants.js";
import { memoryHistoryStore, SessionTrackers, type TrackerSource } from "../history.js";
import { loadPolicy } from "../load.js";
import { isSharedStore, type SharedHistoryStore } from "../store.js";
import { Telemetry } from "../telemetry/probe.js";
import type { HistoryStore } from "../types.js";
import type { EnforcerOptions, ShadowReport } from "./api.js";
import { type AuditChannel, auditChannel } from "./audit-step.js";
import { Reservations } from "./history-step.js";
import { idSource } from "./ids.js";
import { type Active, activate, meta, refuseGrants } from "./policies.js";

export interface EnforcerState {
  /**
   * The options as given. The callbacks (`onDecision`, `onError`, `onShadowFlip`, `approvals`)
   * and `approvalTimeoutMs`, `onAuditFailure` and `validate` are read from here when they are
   * needed; the rest was read once, into the fields below.
   */
  readonly options: EnforcerOptions;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
  /** Hands a failure the enforcer absorbs to `onError`; never throws. */
  readonly report: (e: unknown) => void;
  readonly decisionId: (now: number) => string;
  /** The session history the steps read and record into: the in-memory trackers, or a view of a shared store's answer (store-step.ts). */
  readonly trackers: TrackerSource;
  /** The shared store the entry points ask before deciding, or null when the history is in this process. */
  readonly store: SharedHistoryStore | null;
  readonly reservations: Reservations;
  /** The grants approvers gave: the history store's, or kept in this process. */
  readonly grants: GrantStore;
  /**
   * The approval-requiring decisions this enforcer issued that offer a grant (`Enforcer.grant`
   * makes grants only of these): the grant store's record, shared with the processes that share
   * it, or kept in this process when the store keeps none.
   */
  readonly issued: Required<Pick<GrantStore, "issue" | "take">>;
  /** The audit log, or null when decisions are not recorded. */
  readonly audit: AuditChannel | null;
  readonly throwOnDeny: boolean;
  /** The policy in force; `reload` swaps it. */
  active: Active;
  /** The files the policy in force was compiled from (for `watch`). */
  files: string[];
  /** The candidate decided beside it, if any; `setShadow` swaps it. */
  shadow: Active | null;
  /** When the shadow candidate started being counted (ms), or null without one. */
  shadowSince: number | null;
  readonly shadowStats: ShadowReport;
  /** Spans and metrics (telemetry/): checked at each entry point; null probes when no SDK listens. */
  readonly telemetry: Telemetry;
}

const DEFAULT_RESERVATION_TTL_MS = 10 * 60_000;
const DEFAULT_MAX_RESERVATIONS = 10_000;
const DEFAULT_MAX_RESERVATIONS_PER_SESSION = 1_000;

/** Loads the policies, then opens the audit log: a policy that does not load leaves no log behind. */
export async function enforcerState(options: EnforcerOptions): Promise<EnforcerState> {
  const clock = options.clock ?? Date.now;
  const report = reporter(options);
  const loaded = await loadPolicy(options.policy);
  const active = activate(loaded.module, options.validate);
  const shadow: Active | null = options.shadow !== undefined ? activate((await loadPolicy(options.shadow)).module, options.validate) : null;
  const shadowStats: ShadowReport = { candidate: shadow ? meta(shadow.module) : null, decisions: 0, flips: 0, byKind: {} };
  const store = isSharedStore(options.history) ? options.history : null;
  const local = store === null ? ((options.history as HistoryStore | undefined) ?? memoryHistoryStore()) : memoryHistoryStore();
  const trackers = new SessionTrackers(local, report);
  // a grant must hold wherever the policy is enforced: a shared store that keeps none cannot
  if (store !== null) for (const a of shadow === null ? [active] : [active, shadow]) refuseGrants(store, a);
  const grants = (store === null ? local.grants : store.grants) ?? memoryGrantStore();
  const issued = grants.issue !== undefined && grants.take !== undefined ? { issue: grants.issue.bind(grants), take: grants.take.bind(grants) } : memoryIssued();
  const audit = auditChannel(options.audit, options.auditTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS);
  const reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  // a cap that is not a number (NaN) would leave reservations unbounded: the default then
  const maxReservations = Math.max(1, Number.isFinite(options.maxReservations) ? options.maxReservations! : DEFAULT_MAX_RESERVATIONS);
  const perSession = Math.max(1, Math.min(maxReservations, Number.isFinite(options.maxReservationsPerSession) ? options.maxReservationsPerSession! : DEFAULT_MAX_RESERVATIONS_PER_SESSION));
  const reservations = new Reservations(reservationTtlMs, maxReservations, perSession);
  const shadowSince = shadow === null ? null : clock();
  const telemetry = new Telemetry(options.telemetry ?? {}, report);
  return {
    telemetry,
    options,
    clock,
    report,
    decisionId: idSource(),
    trackers,
    store,
    reservations,
    grants,
    issued,
    audit,
    throwOnDeny: options.throwOnDeny ?? true,
    active,
    files: loaded.files,
    shadow,
    shadowSince,
    shadowStats,
  };
}

function reporter(options: EnforcerOptions): (e: unknown) => void {
  return (e) => {
    const error = e instanceof Error ? e : new Error(String(e));
    try {
      options.onError?.(error);
    } catch {
      // a failing error callback must not change a decision
    }
  };
}
