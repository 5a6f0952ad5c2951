// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/cedar-common.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// Shared translation of the spec into Cedar (used by cedar-isAuthorized and cedar-preparsed).
//
// Modelling (documented in README):
//   principal = User::"agent"   with attrs {role, mfa}   (passed in `entities` on every call)
//   action    = Action::"<type>"
//   resource  = Resource::"default"
//   context   = {amount, recipient, hour}
// Every rule becomes a `forbid` policy (annotated @decision("deny"|"require_approval")) plus one
// `permit(principal, action, resource);` for the default allow. Cedar returns Allow iff no forbid
// matched; on Deny, diagnostics.reason lists the ids of ALL satisfied forbid policies, and the
// adapter maps ids -> effect (deny beats require_approval). One isAuthorized call per decision.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

// Loaded eagerly so that the wasm compile/instantiate time is counted as the engine's load time.
const cedarMod = require("@cedar-policy/cedar-wasm/nodejs");
// Harness hint: do not call a forced gc() between timing repeats. On Node 20.20.2 (V8 11.3) a forced
// GC after decide() has been TurboFan-optimised (with the JS->Wasm call inlined, the V8 default
// --turbo-inline-js-wasm-calls) triggers a lazy deopt that aborts the process with
// "Fatal error ... unreachable code" in Deoptimizer::DoComputeBuiltinContinuation.
// (Reproduced in isolation; --no-turbo-inline-js-wasm-calls avoids it at the same speed.)
export const SKIP_FORCED_GC = true;

export function cedar() {
  return cedarMod;
}

const CONTEXT_ATTRS = new Set(["amount", "recipient", "hour"]);

function cedarLit(v) {
  if (typeof v === "string") return JSON.stringify(v); // ASCII workload: JSON escapes are valid Cedar
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`Cedar has no floats: ${v}`);
    return String(v);
  }
  if (typeof v === "boolean") return String(v);
  throw new Error(`unsupported literal ${v}`);
}

function cedarExpr(path) {
  if (path === "type") return "action";
  if (path.startsWith("user.")) return `principal.${path.slice(5)}`;
  if (CONTEXT_ATTRS.has(path)) return `context.${path}`;
  throw new Error(`no Cedar mapping for path ${path}`);
}

const OPS = { eq: "==", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" };

function cedarCond(c, spec) {
  if (c.any) return `(${c.any.map((x) => cedarCond(x, spec)).join(" || ")})`;
  if (c.all) return `(${c.all.map((x) => cedarCond(x, spec)).join(" && ")})`;
  const lhs = cedarExpr(c.path);
  if (c.op === "in_set") return `[${spec.sets[c.set].map(cedarLit).join(", ")}].contains(${lhs})`;
  const rhs = c.path === "type" ? `Action::${cedarLit(c.value)}` : cedarLit(c.value);
  return `${lhs} ${OPS[c.op]} ${rhs}`;
}

/** Returns { policies: Record<id, text>, effectById: Map<id, effect> } */
export function translate(spec) {
  if (spec.workload === "patterns") throw new Error("Cedar has no regular expressions (`like` matches literal text with `*` wildcards only)");
  const policies = { default_allow: "permit(principal, action, resource);" };
  const effectById = new Map();
  for (const r of spec.rules) {
    // Put a top-level `type == X` into the policy scope (`action == Action::"X"`), the idiomatic form.
    const idx = r.when.findIndex((c) => c.path === "type" && c.op === "eq");
    const scopeAction = idx >= 0 ? `action == Action::${cedarLit(r.when[idx].value)}` : "action";
    const rest = r.when.filter((_, i) => i !== idx);
    const body = rest.length ? ` when { ${rest.map((c) => cedarCond(c, spec)).join(" && ")} }` : "";
    policies[r.id] = `@decision(${cedarLit(r.effect)})\nforbid(principal, ${scopeAction}, resource)${body};`;
    effectById.set(r.id, r.effect);
  }
  return { policies, effectById };
}

const PRINCIPAL = { type: "User", id: "agent" };
const RESOURCE = { type: "Resource", id: "default" };

/** Per-call request pieces (built fresh for every decision: that marshalling is part of the cost). */
export function requestFor(a) {
  return {
    principal: PRINCIPAL,
    action: { type: "Action", id: a.type },
    resource: RESOURCE,
    context: { amount: a.amount, recipient: a.recipient, hour: a.hour },
    entities: [{ uid: PRINCIPAL, attrs: { role: a.user.role, mfa: a.user.mfa }, parents: [] }],
  };
}

export function makeResultMapper(effectById) {
  return function toDecision(ans) {
    if (ans.type !== "success") throw new Error(`cedar failure: ${JSON.stringify(ans.errors)}`);
    const resp = ans.response;
    if (resp.diagnostics.errors.length) throw new Error(`cedar eval errors: ${JSON.stringify(resp.diagnostics.errors)}`);
    if (resp.decision === "allow") return "allow";
    let out = "allow";
    for (const id of resp.diagnostics.reason) {
      const e = effectById.get(id);
      if (e === "deny") return "deny";
      if (e === "require_approval") out = "require_approval";
    }
    if (out === "allow") throw new Error("cedar: deny without a known forbid reason");
    return out;
  };
}
