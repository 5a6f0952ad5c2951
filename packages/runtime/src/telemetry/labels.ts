/**
 * Label values for metrics, bounded by the policy: an action type the policy does not name is
 * `other`, and so is a rule past the limit, so that no input can make a label set grow; and the
 * cause of a decision that failed closed, read from its errors.
 */
import type { PolicyModule } from "@agent-armor/contract";
import type { Decision, FiredRule } from "../types.js";
import type { FailCause } from "./options.js";

/** The most distinct action types, and rule ids, a policy gives label values of its own. */
export const MAX_LABEL_VALUES = 1000;

export interface PolicyLabels {
  readonly types: ReadonlySet<string>;
  readonly rules: ReadonlySet<string>;
}

const cache = new WeakMap<PolicyModule, PolicyLabels>();

/** The action types and rule ids of a policy that may be label values (computed once per module). */
export function policyLabels(module: PolicyModule): PolicyLabels {
  let labels = cache.get(module);
  if (labels === undefined) {
    const types = new Set<string>();
    const rules = new Set<string>();
    for (const r of module.policy.rules) {
      if (rules.size < MAX_LABEL_VALUES) rules.add(r.id);
      for (const t of r.actionTypes ?? []) if (types.size < MAX_LABEL_VALUES) types.add(t);
    }
    const branches = module.actionBranches;
    if (branches !== null && typeof branches === "object") for (const t of Object.keys(branches)) if (types.size < MAX_LABEL_VALUES) types.add(t);
    labels = { types, rules };
    cache.set(module, labels);
  }
  return labels;
}

/** The action's `type` when the policy names it; `other` otherwise (any value, of any length); `none` without an action. */
export function actionTypeLabel(labels: PolicyLabels, action: unknown): string {
  if (action === null || typeof action !== "object") return "none";
  const type = Object.hasOwn(action, "type") ? (action as { type?: unknown }).type : undefined;
  return typeof type === "string" && labels.types.has(type) ? type : "other";
}

/**
 * The rule that decided, as a label: one of the policy's rule ids, `none`, or `other`. An action
 * allowed after an approval was decided by its approval rule, one allowed as redacted by the
 * redacting rule; a deny without a denying rule by
 * the rule whose evaluation failed, or by the approval rule whose approval was not given.
 */
export function ruleLabel(labels: PolicyLabels, d: Pick<Decision, "decision" | "rules" | "errors">): string {
  const rule = firstOf(d.rules, d.decision) ?? (d.decision === "allow" ? (firstOf(d.rules, "require_approval") ?? firstOf(d.rules, "redact")) : firstOf(d.rules, "require_approval"));
  const id = rule?.id ?? (d.decision === "deny" ? d.errors.find((e) => e.rule !== null)?.rule : undefined);
  if (id === undefined || id === null) return "none";
  return labels.rules.has(id) ? id : "other";
}

function firstOf(rules: readonly FiredRule[], effect: string): FiredRule | undefined {
  for (const r of rules) if (r.effect === effect) return r;
  return undefined;
}

/**
 * The causes by the start of the runtime's fixed texts (the enforcer's steps write them);
 * `packages/runtime/test/telemetry.test.ts` keeps this table in step with them.
 */
const CAUSES: readonly (readonly [string, FailCause])[] = [
  ["the audit log failed", "audit"],
  ["the policy failed", "evaluation"],
  ["history store unavailable", "history"],
  ["approval required, but no approval handler", "approval"],
  ["approval timed out", "approval"],
  ["the approval handler failed", "approval"],
  ["the action kept changing", "approval"],
  ["the result kept changing", "approval"],
  ["the output kept changing", "approval"],
];

/**
 * Why a decision failed closed, or null when it did not (an allow, or a deny that rules or an
 * approver gave without an error). A rule that could not be evaluated is `evaluation`; an action,
 * user or context that is not JSON or not of the policy's schema, a value that cannot be hashed,
 * a scope whose history cannot be kept and the like are `input`.
 */
export function failCause(d: Pick<Decision, "decision" | "errors">): FailCause | null {
  if (d.decision !== "deny" || d.errors.length === 0) return null;
  // the last error is the one that turned the decision (an audit failure is added after the rest)
  const last = d.errors[d.errors.length - 1]!;
  for (const [start, cause] of CAUSES) if (last.message.startsWith(start)) return cause;
  if (last.rule !== null) return "evaluation";
  if (last.message.startsWith("approval rejected")) return null;
  return "input";
}
