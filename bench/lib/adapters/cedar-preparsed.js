// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/cedar-preparsed.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// (c') Cedar via cedar-wasm, policy set parsed ONCE with preparsePolicySet() and evaluated with
// statefulIsAuthorized() (cached in the wasm instance). This is the fair "best Cedar" number.
import { cedar, makeResultMapper, requestFor, SKIP_FORCED_GC, translate } from "./cedar-common.js";

let seq = 0;
export default {
  name: "cedar-preparsed",
  kind: "engine",
  packages: ["@cedar-policy/cedar-wasm"],
  async: false,
  skipForcedGc: SKIP_FORCED_GC,
  notes: "preparsePolicySet once + statefulIsAuthorized per decision",
  async create(spec) {
    const c = cedar();
    const { policies, effectById } = translate(spec);
    const id = `${spec.name}#${++seq}`;
    const res = c.preparsePolicySet(id, { staticPolicies: policies });
    if (res.type !== "success") throw new Error(`cedar preparse: ${JSON.stringify(res.errors)}`);
    const toDecision = makeResultMapper(effectById);
    function decide(a) {
      const call = requestFor(a);
      call.preparsedPolicySetId = id;
      return toDecision(c.statefulIsAuthorized(call));
    }
    return { decide, info: { cedarVersion: c.getCedarVersion(), policies: Object.keys(policies).length } };
  },
};
