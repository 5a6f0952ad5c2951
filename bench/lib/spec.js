// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/spec.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// Policy spec: the single, engine-neutral description of the workload.
//
// A spec is plain JSON:
//   {
//     version: 1, name, default: "allow",
//     precedence: ["deny", "require_approval", "allow"],   // first = strongest
//     sets:  { <name>: [string, ...] },                      // named string sets
//     rules: [ { id, effect: "deny"|"require_approval", when: [Cond, ...] } ]
//   }
// `when` is an implicit AND of conditions. A condition is one of
//   { path: "a.b", op: "eq"|"ne"|"gt"|"gte"|"lt"|"lte", value: <string|integer|boolean> }
//   { path: "a.b", op: "in_set", set: "<name in sets>" }
//   { any: [Cond, ...] }   (OR)
//   { all: [Cond, ...] }   (AND)
// Decision = strongest effect among matching rules (per `precedence`), else `default`.
// All numbers in the workload are integers (Cedar has no floating point type).

export const DECISIONS = ["allow", "deny", "require_approval"];
export const RANK = { allow: 0, require_approval: 1, deny: 2 };

export const WIRE_APPROVAL_THRESHOLD = 10000;
export const BUSINESS_HOURS = { from: 9, to: 17 }; // inclusive; "outside" = hour < 9 || hour > 17
export const DENY_LIST_SIZE = 100;
export const FIRST_FILLER_K = 4; // filler rules are tool_4 .. tool_N  (rules 1..3 are the named ones)

export function denyList() {
  const out = [];
  for (let i = 0; i < DENY_LIST_SIZE; i++) out.push(`acct_blocked_${String(i).padStart(3, "0")}`);
  return out;
}

/** Build the N-rule spec (N >= 3). */
export function makeSpec(N) {
  if (!Number.isInteger(N) || N < 3) throw new Error(`N must be an integer >= 3, got ${N}`);
  const rules = [
    {
      id: "r1_wire_large",
      effect: "require_approval",
      when: [
        { path: "type", op: "eq", value: "wire_transfer" },
        { path: "amount", op: "gt", value: WIRE_APPROVAL_THRESHOLD },
      ],
    },
    {
      id: "r2_wire_denylist",
      effect: "deny",
      when: [
        { path: "type", op: "eq", value: "wire_transfer" },
        { path: "recipient", op: "in_set", set: "denyList" },
      ],
    },
    {
      id: "r3_email_offhours",
      effect: "deny",
      when: [
        { path: "type", op: "eq", value: "send_email" },
        { path: "user.role", op: "ne", value: "admin" },
        {
          any: [
            { path: "hour", op: "lt", value: BUSINESS_HOURS.from },
            { path: "hour", op: "gt", value: BUSINESS_HOURS.to },
          ],
        },
      ],
    },
  ];
  for (let k = FIRST_FILLER_K; k <= N; k++) {
    rules.push({
      id: `f${k}_tool_${k}`,
      effect: "deny",
      when: [
        { path: "type", op: "eq", value: `tool_${k}` },
        { path: "amount", op: "gt", value: k },
      ],
    });
  }
  return {
    version: 1,
    name: `agent-actions-N${N}`,
    default: "allow",
    precedence: ["deny", "require_approval", "allow"],
    sets: { denyList: denyList() },
    rules,
  };
}

/** Strongest of two decisions. */
export function stronger(a, b) {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * If `rule.when` has a top-level `type == X` conjunct, return X and the remaining conditions.
 * Several adapters use this to map the action type onto the engine's native "action" notion.
 */
export function splitTypeConstraint(rule) {
  const idx = rule.when.findIndex((c) => c.path === "type" && c.op === "eq");
  if (idx < 0) return { type: null, rest: rule.when };
  return { type: rule.when[idx].value, rest: rule.when.filter((_, i) => i !== idx) };
}

/** Rules sorted strongest-effect first (stable). */
export function rulesByPrecedence(spec) {
  const order = new Map(spec.precedence.map((d, i) => [d, i]));
  return spec.rules
    .map((r, i) => ({ r, i }))
    .sort((x, y) => order.get(x.r.effect) - order.get(y.r.effect) || x.i - y.i)
    .map((x) => x.r);
}
