// The hand-written function (handwritten.js) given what the language guarantees and what
// compiled `decide` returns, written by hand for this workload: the cost of the guarantees
// themselves, with no compiler involved. It is what compiled `decide` can at best come down to.
//   - the input is { action, user } (the decision input, as the compiled adapter gets it);
//   - fields are read as own fields only: the input and the action must be plain objects and
//     Object.prototype must have none of the keys read (otherwise: deny, as a stand-in for the
//     slower own-field path, which this workload never takes);
//   - every ordering comparison checks that its operand is a number: a wrong type is an error
//     that denies, never a silent `false`;
//   - the result is the full decision object: decision, the fired rules (frozen, shared),
//     approval, the caller's action, errors.
// Like handwritten.js, only data (deny list, filler thresholds) is read from the spec.
import { BUSINESS_HOURS, WIRE_APPROVAL_THRESHOLD } from "../spec.js";
import { prepareInput } from "../gen-armor.js";
import handwritten from "./handwritten.js";

export default {
  name: "handwritten-guarded",
  kind: "reference",
  packages: [],
  async: false,
  notes: "handwritten.js with the language's guarantees and the full decision object",
  async create(spec) {
    await handwritten.create(spec); // the same checks that the spec says what the code assumes
    const DENY = new Set(spec.sets.denyList);
    const FROM = BUSINESS_HOURS.from, TO = BUSINESS_HOURS.to, WIRE = WIRE_APPROVAL_THRESHOLD;
    const NONE = Object.freeze([]);
    const rule = (id, effect) => Object.freeze({ id, effect, reason: null });
    const WIRE_LARGE = rule("r1_wire_large", "require_approval");
    const WIRE_DENY = rule("r2_wire_denylist", "deny");
    const APPROVAL = Object.freeze({ from: null, timeoutMs: null });
    const FIRED = {
      large: Object.freeze([WIRE_LARGE]),
      deny: Object.freeze([WIRE_DENY]),
      both: Object.freeze([WIRE_LARGE, WIRE_DENY]),
      email: Object.freeze([rule("r3_email_offhours", "deny")]),
    };
    // type -> [amount threshold, the fired-rules list of its filler rule]
    const FILLER = new Map();
    for (const r of spec.rules) if (!r.id.startsWith("r")) FILLER.set(r.when[0].value, [r.when[1].value, Object.freeze([rule(r.id, "deny")])]);

    const result = (decision, rules, approval, action) => ({ decision, rules, approval, action, errors: NONE });
    const failed = (action, message) => ({ decision: "deny", rules: NONE, approval: null, action, errors: [{ rule: null, message }] });
    const number = (v) => {
      if (typeof v === "number") return v;
      throw new TypeError("`>` needs two numbers");
    };

    function decide(input) {
      let a;
      if (
        !(input != null && input.__proto__ === Object.prototype &&
          !("action" in Object.prototype) && !("amount" in Object.prototype) && !("hour" in Object.prototype) &&
          !("recipient" in Object.prototype) && !("role" in Object.prototype) && !("type" in Object.prototype) && !("user" in Object.prototype) &&
          (a = input.action) != null && a.__proto__ === Object.prototype && typeof a.type === "string")
      ) return failed(null, "not a plain input");
      try {
        switch (a.type) {
          case "wire_transfer": {
            const large = number(a.amount) > WIRE;
            const denied = DENY.has(a.recipient);
            if (denied) return result("deny", large ? FIRED.both : FIRED.deny, null, a);
            if (large) return result("require_approval", FIRED.large, APPROVAL, a);
            return result("allow", NONE, null, a);
          }
          case "send_email": {
            const u = input.user;
            const role = u != null && u.__proto__ === Object.prototype ? u.role : null;
            if (role !== "admin" && (number(a.hour) < FROM || number(a.hour) > TO)) return result("deny", FIRED.email, null, a);
            return result("allow", NONE, null, a);
          }
          default: {
            const f = FILLER.get(a.type);
            if (f !== undefined && number(a.amount) > f[0]) return result("deny", f[1], null, a);
            return result("allow", NONE, null, a);
          }
        }
      } catch (e) {
        return failed(a, e.message);
      }
    }
    return { decide: (input) => decide(input).decision, prepare: prepareInput };
  },
};
