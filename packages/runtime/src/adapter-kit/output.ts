/** The model's final text, decided by the policy's rules on output before the user reads it. */
import type { Enforcer } from "../enforcer/api.js";
import type { ActionContext, StageDecision } from "../types.js";
import { type ArmorDenial, denialOf } from "./denial.js";

export type CheckedText = { allowed: true; text: string; decision: StageDecision } | { allowed: false; denial: ArmorDenial; decision: StageDecision };

/**
 * Decides a model's text with `enforcer.checkOutput` (an `output` record in the audit log): the
 * text as the policy rewrote it (redactions applied), or the denial when it is withheld.
 */
export async function checkText(enforcer: Enforcer, text: string, ctx?: ActionContext): Promise<CheckedText> {
  const decision = await enforcer.checkOutput({ text }, ctx);
  const output = decision.output as { text?: unknown } | null | undefined;
  if (decision.decision === "allow" && typeof output?.text === "string") return { allowed: true, text: output.text, decision };
  return { allowed: false, denial: denialOf(decision, "output"), decision };
}
