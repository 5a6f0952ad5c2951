// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/adapters/handwritten.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// (a) Hand-written baseline: what a person would type for this workload.
// A switch on the action type with plain ifs; the ~N filler rules ("tool_k and amount > k => deny")
// are an arbitrary type->threshold table, so the hand-written code keeps them in a Map (O(1) in N).
// Only data (deny list, filler thresholds) is read from the spec; the logic of rules 1-3 is hard-coded,
// and create() asserts that the spec says what the code assumes.

import { NAMED_PATTERNS } from "../patterns.js";
import { BUSINESS_HOURS, WIRE_APPROVAL_THRESHOLD } from "../spec.js";

/**
 * The pattern workload (bench/lib/patterns.js) by hand: a switch on the type, V8's RegExp for
 * each pattern; the filler rules' patterns in a Map from type to RegExp.
 */
function patternsByHand(spec) {
  const named = new Map(Object.entries(NAMED_PATTERNS));
  const FILLER = new Map();
  for (const r of spec.rules) {
    const [t, m] = r.when;
    const mine = named.get(r.id);
    if (mine && (m.pattern !== mine.re.source || m.flags !== mine.re.flags || t.value !== mine.type || r.effect !== mine.effect))
      throw new Error(`handwritten: spec does not match the hand-written rule ${r.id}`);
    if (!mine) {
      if (r.effect !== "deny" || r.when.length !== 2 || t.op !== "eq" || m.op !== "matches" || m.path !== "arg") throw new Error(`handwritten: unexpected filler rule shape ${r.id}`);
      FILLER.set(t.value, new RegExp(m.pattern, m.flags));
    }
  }
  const DESTRUCTIVE = NAMED_PATTERNS.p1_shell_destructive.re,
    PIPE = NAMED_PATTERNS.p2_pipe_to_shell.re,
    EXFIL = NAMED_PATTERNS.p3_exfil_host.re;
  const SECRET = NAMED_PATTERNS.p4_secret_path.re,
    PII = NAMED_PATTERNS.p5_pii_in_email.re;
  function decide(a) {
    switch (a.type) {
      case "shell":
        return DESTRUCTIVE.test(a.command) || PIPE.test(a.command) ? "deny" : "allow";
      case "http_post":
        return EXFIL.test(a.url) ? "deny" : "allow";
      case "read_file":
        return SECRET.test(a.path) ? "require_approval" : "allow";
      case "send_email":
        return PII.test(a.body) ? "require_approval" : "allow";
      default: {
        const re = FILLER.get(a.type);
        return re?.test(a.arg) ? "deny" : "allow";
      }
    }
  }
  return { decide };
}

export default {
  name: "handwritten",
  kind: "baseline",
  packages: [],
  async: false,
  notes: "switch(type) + plain ifs; filler thresholds in a Map; deny list in a Set",
  async create(spec) {
    if (spec.workload === "patterns") return patternsByHand(spec);
    const byId = new Map(spec.rules.map((r) => [r.id, r]));
    const r1 = byId.get("r1_wire_large");
    if (r1?.effect !== "require_approval" || r1.when[1].value !== WIRE_APPROVAL_THRESHOLD) throw new Error("handwritten: spec does not match the hand-written rule 1");
    if (!byId.get("r2_wire_denylist") || !byId.get("r3_email_offhours")) throw new Error("handwritten: spec does not match the hand-written rules 2/3");

    const DENY = new Set(spec.sets.denyList);
    const FILLER = new Map(); // type -> amount threshold (deny when amount > threshold)
    for (const r of spec.rules) {
      if (r.id.startsWith("r")) continue;
      const [t, a] = r.when;
      if (r.effect !== "deny" || r.when.length !== 2 || t.path !== "type" || t.op !== "eq" || a.path !== "amount" || a.op !== "gt")
        throw new Error(`handwritten: unexpected filler rule shape ${r.id}`);
      FILLER.set(t.value, a.value);
    }
    const FROM = BUSINESS_HOURS.from,
      TO = BUSINESS_HOURS.to,
      WIRE = WIRE_APPROVAL_THRESHOLD;

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
