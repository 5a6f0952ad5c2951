/**
 * What the model reads when the policy stops a tool call or withholds its result: a tool result
 * in one machine-readable shape, the same in every Agent Armor adapter. Each adapter carries this
 * file (an adapter depends on the runtime and its framework only); test/adversarial/adapters.test.ts
 * holds the copies to the same answers.
 */
import { ActionDenied, type Decision, ResultWithheld } from "@agent-armor/runtime";

export interface ArmorDenial {
  denied: true;
  /** `call`: the call did not run; `result`: it ran and its result was withheld; `output`: the model's message was withheld. */
  stage: "call" | "result" | "output";
  /** The final decision (`deny`; an approval that was not given denies). */
  decision: Decision["decision"];
  /** The rules that decided: the denying ones, else the approval rules. */
  rules: { id: string; reason: string | null }[];
  /** Evaluation errors, invalid input, approvals rejected or timed out. */
  errors: string[];
  /** One line a person or a model can read. */
  message: string;
}

/** The denial for a decision that is not `allow`, at the stage it was made. */
export function denialOf(decision: Decision, stage: ArmorDenial["stage"]): ArmorDenial {
  const denying = decision.rules.filter((r) => r.effect === "deny");
  const deciding = denying.length > 0 ? denying : decision.rules.filter((r) => r.effect === "require_approval");
  const rules = deciding.map((r) => ({ id: r.id, reason: r.reason ?? null }));
  const errors = decision.errors.map((e) => (e.rule ? `${e.rule}: ${e.message}` : e.message));
  const type = String((decision.action as { type?: unknown } | null)?.type ?? "?");
  const why = [...rules.map((r) => (r.reason ? `${r.id}: ${r.reason}` : r.id)), ...errors];
  const what = stage === "call" ? `the policy denied \`${type}\`` : stage === "result" ? `the policy withheld the result of \`${type}\`` : "the policy withheld the model's message";
  return { denied: true, stage, decision: decision.decision, rules, errors, message: why.length > 0 ? `${what} (${why.join("; ")})` : what };
}

/** The denial `run` rejected with, or undefined when the rejection is not the policy's (a tool failure). */
export function denialOfRejection(error: unknown): ArmorDenial | undefined {
  if (error instanceof ActionDenied) return denialOf(error.decision, "call");
  if (error instanceof ResultWithheld) return denialOf(error.decision, "result");
  return undefined;
}

/** The text of what a tool threw; never throws itself. */
export function failureText(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return "the tool failed with a value that has no text";
  }
}
