/**
 * Properties (`property NAME: always|never OUTCOMES when CONDITION`) on one input, with the
 * reference interpreter: whether the condition holds and, when it does, whether the decision
 * meets the property. The proof for every input is `@agent-armor/analysis`'s; this is the
 * definition it is held to, and what confirms its counterexamples.
 */
import { evaluateCondition, evaluatePolicy } from "./interpreter.js";
import type * as IR from "./ir.js";

export interface PropertyCheck {
  /** `holds`: the condition holds and the decision meets the property; `fails`: it does not; `not-applicable`: the condition does not hold (or cannot be evaluated). */
  readonly status: "holds" | "fails" | "not-applicable";
  readonly decision: IR.PolicyDecision;
  /** Why the condition could not be evaluated, when it could not (the property then says nothing of the input). */
  readonly conditionError: string | null;
}

export interface PropertyCheckOptions {
  readonly now?: () => number;
  /** Values of `[...policy.trackers, ...policy.propertyTrackers]`, replacing the scan of `input.history`. */
  readonly trackerValues?: readonly unknown[];
}

/** The policy whose trackers are the rules' and the properties' predicates, for a property's condition. */
export function propertyPolicy(policy: IR.Policy): IR.Policy {
  return policy.propertyTrackers.length === 0 ? policy : { ...policy, trackers: [...policy.trackers, ...policy.propertyTrackers] };
}

/** Whether a decision is one of the property's outcomes (`redacted`: a redaction rule fired). */
export function decisionIsOneOf(decision: IR.PolicyDecision, outcomes: readonly IR.PropertyOutcome[]): boolean {
  return outcomes.some((o) => (o === "redacted" ? decision.rules.some((r) => r.effect === "redact") : decision.decision === o));
}

/** Whether a decision meets the property (on an input where its condition holds). */
export function meetsProperty(property: IR.Property, decision: IR.PolicyDecision): boolean {
  const one = decisionIsOneOf(decision, property.outcomes);
  return property.mode === "always" ? one : !one;
}

/** The property on one call input. */
export function checkProperty(policy: IR.Policy, property: IR.Property, input: unknown, options: PropertyCheckOptions = {}): PropertyCheck {
  const values = options.trackerValues;
  const decision = evaluatePolicy(policy, input, { now: options.now, trackerValues: values?.slice(0, policy.trackers.length) }).result;
  const condition = evaluateCondition(propertyPolicy(policy), property.condition, input, { now: options.now, trackerValues: values });
  if ("error" in condition) return { status: "not-applicable", decision, conditionError: condition.error };
  if (!condition.value) return { status: "not-applicable", decision, conditionError: null };
  return { status: meetsProperty(property, decision) ? "holds" : "fails", decision, conditionError: null };
}

/** `always deny or require approval`, as written. */
export function describeProperty(property: IR.Property): string {
  const word = (o: IR.PropertyOutcome): string => (o === "require_approval" ? "require approval" : o);
  return `${property.mode} ${property.outcomes.map(word).join(" or ")}`;
}
