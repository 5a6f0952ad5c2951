// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/handwritten.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// (a) Hand-written baseline: what a person would type for this workload.
// A switch on the action type with plain ifs; the ~N filler rules ("tool_k and amount > k => deny")
// are an arbitrary type->threshold table, so the hand-written code keeps them in a Map (O(1) in N).
// Only data (deny list, filler thresholds) is read from the spec; the logic of rules 1-3 is hard-coded,
// and create() asserts that the spec says what the code assumes.
import { BUSINESS_HOURS, WIRE_APPROVAL_THRESHOLD } from "../spec.js";

export default {
  name: "handwritten",
  kind: "baseline",
  packages: [],
  async: false,
  notes: "switch(type) + plain ifs; filler thresholds in a Map; deny list in a Set",
  async create(spec) {
    const byId = new Map(spec.rules.map((r) => [r.id, r]));
    const r1 = byId.get("r1_wire_large");
    if (!r1 || r1.effect !== "require_approval" || r1.when[1].value !== WIRE_APPROVAL_THRESHOLD)
      throw new Error("handwritten: spec does not match the hand-written rule 1");
    if (!byId.get("r2_wire_denylist") || !byId.get("r3_email_offhours"))
      throw new Error("handwritten: spec does not match the hand-written rules 2/3");

    const DENY = new Set(spec.sets.denyList);
    const FILLER = new Map(); // type -> amount threshold (deny when amount > threshold)
    for (const r of spec.rules) {
      if (r.id.startsWith("r")) continue;
      const [t, a] = r.when;
      if (r.effect !== "deny" || r.when.length !== 2 || t.path !== "type" || t.op !== "eq" || a.path !== "amount" || a.op !== "gt")
        throw new Error(`handwritten: unexpected filler rule shape ${r.id}`);
      FILLER.set(t.value, a.value);
    }
    const FROM = BUSINESS_HOURS.from, TO = BUSINESS_HOURS.to, WIRE = WIRE_APPROVAL_THRESHOLD;

    function decide(a) {
      switch (a.type) {
        case "wire_transfer":
          if (DENY.has(a.recipient)) return "deny";
          if (a.amount > WIRE) return "require_approval";
          return "allow";
        case "send_email":
          if (a.user.role !== "admin" && (a.hour < FROM || a.hour > TO)) return "deny";
          return "allow";
        default: {
          const k = FILLER.get(a.type);
          if (k !== undefined && a.amount > k) return "deny";
          return "allow";
        }
      }
    }
    return { decide };
  },
};
