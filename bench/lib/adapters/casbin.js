// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/casbin.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// (e) casbin ABAC, following casbin's documented pattern for "large numbers of ABAC rules":
//   [request_definition] r = sub, act          sub = the action object (attributes), act = its type
//   [policy_definition]  p = sub_rule, act, decision
//   [policy_effect]      e = some(where (p.eft == allow))      -> stops at the first matching policy
//   [matchers]           m = r.act == p.act && eval(p.sub_rule)
// Policy lines are loaded strongest-effect first (all deny rules, then require_approval rules), so
// the first match IS the decision; enforceExSync() returns it as the "explain" policy line.
// No match -> default allow.
// Set membership uses a custom matcher function, inSet(value, 'setName'), registered with
// addFunction() (backed by a JS Set). casbin's native `x in ('a', 'b')` cannot be used inside an
// eval()'d rule in casbin 5.51: bracketCompatible() (documented TODO: "didn't support nested
// bracket") rewrites the parentheses that eval() wraps around the rule and the matcher fails with
// "Unclosed (" -- or, with an array literal, silently turns the rule into an always-true array.
import { newEnforcer, newModelFromString } from "casbin";
import { rulesByPrecedence, splitTypeConstraint } from "../spec.js";

const MODEL = `
[request_definition]
r = sub, act

[policy_definition]
p = sub_rule, act, decision

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.act == p.act && eval(p.sub_rule)
`;

const OPS = { eq: "==", ne: "!=", gt: ">", gte: ">=", lt: "<", lte: "<=" };

function lit(v) {
  if (typeof v === "string") {
    if (/['\\]/.test(v)) throw new Error(`casbin adapter: unsupported string ${v}`);
    return `'${v}'`;
  }
  return String(v);
}

function casbinCond(c, spec) {
  if (c.any) return `(${c.any.map((x) => casbinCond(x, spec)).join(" || ")})`;
  if (c.all) return `(${c.all.map((x) => casbinCond(x, spec)).join(" && ")})`;
  const lhs = `r.sub.${c.path}`;
  if (c.op === "in_set") return `inSet(${lhs}, ${lit(c.set)})`;
  return `${lhs} ${OPS[c.op]} ${lit(c.value)}`;
}

export default {
  name: "casbin",
  kind: "engine",
  packages: ["casbin"],
  async: false,
  notes: "ABAC with eval(p.sub_rule), policies ordered by precedence, enforceExSync (first match)",
  async create(spec) {
    // casbin has regexMatch(), but inside an eval()'d rule the parentheses of a pattern meet the
    // same bracketCompatible() rewrite as above: every decision fails with "Unclosed (" (tried)
    if (spec.workload === "patterns") throw new Error("regexMatch() inside an eval()'d rule fails on patterns with parentheses (\"Unclosed (\", casbin's bracketCompatible)");
    const e = await newEnforcer(newModelFromString(MODEL));
    const sets = new Map(Object.entries(spec.sets).map(([k, v]) => [k, new Set(v)]));
    await e.addFunction("inSet", (value, setName) => sets.get(setName).has(value));
    const rows = rulesByPrecedence(spec).map((r) => {
      const { type, rest } = splitTypeConstraint(r);
      if (type === null) throw new Error("casbin adapter: every rule needs a top-level type constraint");
      const subRule = rest.length ? rest.map((c) => casbinCond(c, spec)).join(" && ") : "true";
      return [subRule, type, r.effect];
    });
    await e.addPolicies(rows);
    const dflt = spec.default;
    function decide(a) {
      const [ok, line] = e.enforceExSync(a, a.type);
      return ok ? line[2] : dflt;
    }
    return { decide, info: { policies: rows.length } };
  },
};
