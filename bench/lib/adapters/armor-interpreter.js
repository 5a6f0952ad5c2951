// Agent Armor's reference interpreter (evaluatePolicy over the checked IR): the definition of the
// semantics, not meant to be fast. create() times compileSource (parse + check + analysis).
import { compileSource, evaluatePolicy } from "@agent-armor/compiler";
import { prepareFor, specToArmor } from "../gen-armor.js";

export default {
  name: "agent-armor-interpreter",
  kind: "reference",
  packages: ["@agent-armor/compiler"],
  async: false,
  notes: "compileSource once; evaluatePolicy(policy, input).result.decision per decision",
  async create(spec) {
    const c = compileSource(`${spec.name}.armor`, specToArmor(spec));
    if (!c.ok) throw new Error("does not compile");
    const policy = c.policy;
    return { decide: (input) => evaluatePolicy(policy, input).result.decision, prepare: prepareFor(spec) };
  },
};
