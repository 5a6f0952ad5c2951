// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/json-rules-engine.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// (d) json-rules-engine: each spec rule becomes an engine rule whose event type is the effect.
// Facts = the action's top-level fields; "user.role" uses fact "user" with JSONPath "$.role"
// (the library's default path resolver). engine.run() evaluates all rules (async, Promise-based);
// the adapter reduces the fired events by precedence. decide() therefore returns a Promise.
import jre from "json-rules-engine";
import { RANK } from "../spec.js";

const { Engine } = jre;

const OPS = { eq: "equal", ne: "notEqual", gt: "greaterThan", gte: "greaterThanInclusive", lt: "lessThan", lte: "lessThanInclusive", in_set: "in" };

function toCondition(c, spec, regexes) {
  if (c.any) return { any: c.any.map((x) => toCondition(x, spec, regexes)) };
  if (c.all) return { all: c.all.map((x) => toCondition(x, spec, regexes)) };
  const [fact, ...rest] = c.path.split(".");
  // patterns (bench/lib/patterns.js): a custom operator over V8's RegExp, the engine's documented
  // way to add an operator; the condition's value is the regex's index
  if (c.op === "matches") {
    regexes.push(new RegExp(c.pattern, c.flags));
    return { fact, operator: "matches", value: regexes.length - 1 };
  }
  const out = { fact, operator: OPS[c.op], value: c.op === "in_set" ? spec.sets[c.set] : c.value };
  if (rest.length) out.path = `$.${rest.join(".")}`;
  return out;
}

export default {
  name: "json-rules-engine",
  kind: "engine",
  packages: ["json-rules-engine"],
  async: true,
  notes: "one rule per spec rule; await engine.run(action); events reduced by precedence",
  async create(spec) {
    const engine = new Engine([], { allowUndefinedFacts: true });
    const regexes = [];
    engine.addOperator("matches", (value, index) => typeof value === "string" && regexes[index].test(value));
    for (const r of spec.rules) {
      engine.addRule({ name: r.id, conditions: { all: r.when.map((c) => toCondition(c, spec, regexes)) }, event: { type: r.effect } });
    }
    const dflt = spec.default;
    async function decide(action) {
      const { events } = await engine.run(action);
      let best = dflt;
      for (const e of events) if (RANK[e.type] > RANK[best]) best = e.type;
      return best;
    }
    return { decide };
  },
};
