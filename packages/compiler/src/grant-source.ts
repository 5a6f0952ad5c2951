/**
 * Grants in a decision (`require approval ... grant`): an action that the one approval rule that
 * fired would send for approval is allowed when `input.grants` holds a live grant of that rule
 * for its scope (the session, `input.session.id`, or the value of a field of the action) with,
 * for `up to`, at least the action's amount left. The decision then says which grant (`grant:
 * { id, rule, expiresAt }`). Deny rules and evaluation errors are decided before: a grant only
 * ever stands in for an approval.
 *
 * One JavaScript text, like the regex matcher: compiled modules carry it as it is, and the
 * interpreter instantiates it once (`grantedDecision`), so both decide grants with the same code.
 * `$scanTime` is the time scanner of decision-input.ts (emitted modules carry its twin).
 */
import { scanTime } from "./decision-input.js";
import type { PolicyDecision } from "./ir.js";

/** The most grants `decide` reads in `input.grants`. */
export const MAX_INPUT_GRANTS = 1000;

export const GRANT_SOURCE = `// grants: see grant-source.ts in the compiler
function $grantOwn(o, k) {
  return o !== null && typeof o === "object" && !Array.isArray(o) && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}
function $grantPath(action, path) {
  let v = action;
  for (const k of path.split(".").slice(1)) v = $grantOwn(v, k);
  return v;
}
function $grantFor(input, offer, now) {
  const grants = $grantOwn(input, "grants");
  if (grants === undefined || grants === null) return null;
  if (!Array.isArray(grants)) return { error: "\`grants\` must be a list of grants" };
  if (grants.length > ${MAX_INPUT_GRANTS}) return { error: "\`grants\` holds more than ${MAX_INPUT_GRANTS} grants" };
  const want = offer.scope === "session" ? $grantOwn($grantOwn(input, "session"), "id") : $grantPath($grantOwn(input, "action"), offer.scope);
  if (typeof want !== "string" && typeof want !== "boolean" && !(typeof want === "number" && want - want === 0)) return null;
  let amount = null;
  if (offer.of !== null) {
    amount = $grantPath($grantOwn(input, "action"), offer.of);
    if (typeof amount !== "number" || amount - amount !== 0 || amount < 0) return null;
  }
  let t;
  for (let i = 0; i < grants.length; i++) {
    const g = grants[i];
    const id = $grantOwn(g, "id"), rule = $grantOwn(g, "rule"), scope = $grantOwn(g, "scope"), expiresAt = $grantOwn(g, "expiresAt");
    if (typeof id !== "string" || typeof rule !== "string" || typeof scope !== "string" || typeof expiresAt !== "string") {
      return { error: "\`grants[" + i + "]\` is not a grant: it needs a string \`id\`, \`rule\`, \`scope\` and \`expiresAt\`" };
    }
    if (rule !== offer.rule || scope !== offer.scope || $grantOwn(g, "value") !== want) continue;
    const expires = $scanTime(expiresAt);
    if (typeof expires !== "number") return { error: "\`grants[" + i + "].expiresAt\` is not an ISO-8601 date-time with an offset" };
    if (t === undefined) {
      const time = $grantOwn(input, "time");
      t = time === undefined || time === null ? now() : typeof time === "string" ? $scanTime(time) : "";
      if (typeof t !== "number") return { error: "\`time\` is not an ISO-8601 date-time with an offset" };
    }
    if (!(t < expires)) continue;
    if (amount !== null) {
      const remaining = $grantOwn(g, "remaining");
      if (typeof remaining !== "number" || !(amount <= remaining)) continue;
    }
    return { id, rule, expiresAt };
  }
  return null;
}
function $granted(d, input, now) {
  if (d.decision !== "require_approval" || d.approval === null || d.approval.grant === undefined) return d;
  let n = 0;
  for (const r of d.rules) if (r.effect === "require_approval") n++;
  if (n !== 1) return d;
  let g;
  try {
    g = $grantFor(input, d.approval.grant, now);
  } catch {
    g = { error: "\`grants\` could not be read" };
  }
  if (g === null) return d;
  if (g.error !== undefined) return { ...d, decision: "deny", approval: null, errors: [{ rule: d.approval.grant.rule, message: g.error }] };
  return { ...d, decision: "allow", grant: g };
}
`;

type Granted = (d: PolicyDecision, input: unknown, now: () => number) => PolicyDecision;

let instance: Granted | undefined;

/**
 * The decision with the grants of `input` applied (see above): the interpreter's copy of the
 * code compiled modules carry. The text is this file's constant, never user input.
 */
export function grantedDecision(d: PolicyDecision, input: unknown, now: () => number): PolicyDecision {
  instance ??= new Function("$scanTime", `${GRANT_SOURCE}\nreturn $granted;`)(scanTime) as Granted;
  return instance(d, input, now);
}
