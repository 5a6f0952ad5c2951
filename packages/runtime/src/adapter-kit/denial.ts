/**
 * What the model reads when the policy stops a tool call or withholds its result: a tool result
 * in one machine-readable shape, the same in every Agent Armor framework adapter.
 */
import { ActionDenied, ResultWithheld } from "../enforcer/errors.js";
import type { Decision } from "../types.js";

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

/**
 * Why the arguments a tool's schema gives it are not the ones the policy decided (a default, a
 * coercion, a trim or a transform rewrote them after the decision), or null when they are, or
 * are the decided ones with fields left out (a schema that strips unknown fields gives the tool
 * less than was decided, never other values): the tool runs only with what was decided.
 */
export function rewrittenBySchema(name: string, decided: unknown, parsed: unknown): string | null {
  return within(parsed, decided, 0)
    ? null
    : `the input schema of \`${name}\` rewrites its arguments (a default, a coercion or a transform), so the tool would not run with the arguments the policy decided; give them as the schema leaves them`;
}

/** Whether `part` is `whole` with object fields left out, at any depth (bounded: the arguments are decided JSON). */
function within(part: unknown, whole: unknown, depth: number): boolean {
  if (depth > 64) return false;
  if (part === null || typeof part !== "object") return Object.is(part, whole) || (part === 0 && whole === 0);
  if (whole === null || typeof whole !== "object" || Array.isArray(part) !== Array.isArray(whole)) return false;
  if (Array.isArray(part)) {
    const w = whole as unknown[];
    return part.length === w.length && part.every((x, i) => within(x, w[i], depth + 1));
  }
  if (Object.getPrototypeOf(part) !== Object.prototype && Object.getPrototypeOf(part) !== null) return false;
  const w = whole as Record<string, unknown>;
  return Object.keys(part).every((k) => Object.hasOwn(w, k) && within((part as Record<string, unknown>)[k], w[k], depth + 1));
}
