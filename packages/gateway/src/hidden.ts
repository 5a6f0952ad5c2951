/**
 * `--hide-denied-tools`: which tools the policy denies always, whatever their arguments, the
 * user, the context, the time or the session history.
 *
 * A tool is always denied when some rule with effect `deny` lists the tool among its
 * `actionTypes` and is `typeOnly` (its condition is only the type test), as the compiled
 * module's metadata says. Deciding `{ type: tool }` with no arguments would not tell: a rule such
 * as `when action.type == "x" and amount > 10 deny` denies the bare action but allows real calls.
 */

export interface RuleMeta {
  readonly id: string;
  readonly effect: string;
  readonly actionTypes?: readonly string[] | null;
  readonly typeOnly?: boolean;
  readonly [k: string]: unknown;
}

/** The tools among `tools` that the policy always denies. */
export function alwaysDeniedTools(rules: readonly RuleMeta[], tools: readonly string[]): Set<string> {
  const denied = new Set<string>();
  for (const tool of tools) {
    if (rules.some((r) => r.effect === "deny" && r.typeOnly === true && Array.isArray(r.actionTypes) && r.actionTypes.includes(tool))) denied.add(tool);
  }
  return denied;
}
