// The hand-written function (handwritten.js) given what the language guarantees and what
// compiled `decide` returns, written by hand for this workload: the cost of the guarantees
// themselves, with no compiler involved. Its decision objects are those of compiled `decide`
// for every input, well-formed or not:
//   - it takes the decision input { action, user }, as the compiled adapter does;
//   - fields are read as own fields only: plain loads when the input and the action are plain
//     objects and Object.prototype has none of the keys read, hasOwnProperty otherwise; an input
//     that is not an object with an object `action` and a string `action.type` is denied with
//     the language's input error (docs/language.md §10.1);
//   - an ordering comparison on a missing field (null) is false, and on any other value that is
//     not a finite number an evaluation error of its rule (each rule under its own `try`): the
//     decision is then `deny` and names the rule (§8);
//   - the result is the full decision object: decision, the fired rules (frozen, shared),
//     approval, the caller's action, errors (§10.2).
// Like handwritten.js, only data (deny list, filler thresholds) is read from the spec.

import { prepareInput } from "../gen-armor.js";
import { BUSINESS_HOURS, WIRE_APPROVAL_THRESHOLD } from "../spec.js";
import handwritten from "./handwritten.js";

const hasOwn = Object.prototype.hasOwnProperty;
/** An own field, null when missing, as the language reads fields of anything but plain objects. */
function own(o, k) {
  if (o === null || typeof o !== "object" || Array.isArray(o) || !hasOwn.call(o, k)) return null;
  const v = o[k];
  return v === undefined ? null : v;
}
function kind(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "list";
  const t = typeof v;
  if (t === "object") return "object";
  if (t === "number") return v - v === 0 ? t : "non-finite number";
  return t === "string" || t === "boolean" ? t : "unsupported value";
}
class EvaluationError extends Error {}
const ordered = (op, v) => {
  if (v === null) return false;
  throw new EvaluationError(`\`${op}\` needs two numbers or two strings, got ${kind(v)} and number`);
};
/** v > k and v < k for a number constant k, as the language defines them (a non-finite v errs). */
const gt = (v, k) => (typeof v === "number" && v - v === 0 ? v > k : ordered(">", v));
const lt = (v, k) => (typeof v === "number" && v - v === 0 ? v < k : ordered("<", v));
const message = (e) => (e instanceof EvaluationError ? e.message : `internal error: ${String(e?.message || e)}`);

export default {
  name: "handwritten-guarded",
  kind: "reference",
  packages: [],
  async: false,
  notes: "handwritten.js with the language's guarantees and the full decision object",
  async create(spec) {
    if (spec.workload === "patterns") throw new Error("written for the peer workload only");
    await handwritten.create(spec); // the same checks that the spec says what the code assumes
    const DENY = new Set(spec.sets.denyList);
    const FROM = BUSINESS_HOURS.from,
      TO = BUSINESS_HOURS.to,
      WIRE = WIRE_APPROVAL_THRESHOLD;
    const NONE = Object.freeze([]);
    const rule = (id, effect) => Object.freeze({ id, effect, reason: null });
    const WIRE_LARGE = rule("r1_wire_large", "require_approval");
    const WIRE_DENY = rule("r2_wire_denylist", "deny");
    const EMAIL = rule("r3_email_offhours", "deny");
    const APPROVAL = Object.freeze({ from: null, timeoutMs: null });
    const FIRED_LARGE = Object.freeze([WIRE_LARGE]),
      FIRED_DENY = Object.freeze([WIRE_DENY]),
      FIRED_BOTH = Object.freeze([WIRE_LARGE, WIRE_DENY]);
    const FIRED_EMAIL = Object.freeze([EMAIL]);
    // type -> [amount threshold, the fired-rules list of its filler rule]
    const FILLER = new Map();
    for (const r of spec.rules) if (!r.id.startsWith("r")) FILLER.set(r.when[0].value, [r.when[1].value, Object.freeze([rule(r.id, "deny")])]);

    const result = (decision, rules, approval, action) => ({ decision, rules, approval, action, errors: NONE, labels: NONE });
    const failed = (rules, action, errors) => ({ decision: "deny", rules, approval: null, action, errors, labels: NONE });
    const inputError = (input, msg) => ({
      decision: "deny",
      rules: [],
      approval: null,
      action: input !== null && typeof input === "object" ? own(input, "action") : null,
      errors: [{ rule: null, message: msg }],
      labels: NONE,
    });

    function decide(input) {
      let a, plain;
      if (
        input != null &&
        input.__proto__ === Object.prototype &&
        !("action" in Object.prototype) &&
        !("amount" in Object.prototype) &&
        !("hour" in Object.prototype) &&
        !("recipient" in Object.prototype) &&
        !("role" in Object.prototype) &&
        !("type" in Object.prototype) &&
        !("user" in Object.prototype) &&
        (a = input.action) != null &&
        a.__proto__ === Object.prototype &&
        typeof a.type === "string"
      ) {
        plain = true;
      } else {
        if (input === null || typeof input !== "object" || Array.isArray(input)) return inputError(input, "the input must be an object with an `action`");
        a = own(input, "action");
        if (a === null || typeof a !== "object" || Array.isArray(a)) return inputError(input, "`action` must be an object");
        if (typeof own(a, "type") !== "string") return inputError(input, "`action.type` must be a string");
        plain = false;
      }
      let v,
        errors = null;
      switch (plain ? a.type : own(a, "type")) {
        case "wire_transfer": {
          let large = false,
            denied = false;
          try {
            large = gt(plain ? ((v = a.amount) === undefined ? null : v) : own(a, "amount"), WIRE);
          } catch (e) {
            (errors ??= []).push({ rule: WIRE_LARGE.id, message: message(e) });
          }
          try {
            const r = plain ? ((v = a.recipient) === undefined ? null : v) : own(a, "recipient");
            denied = r !== null && DENY.has(r);
          } catch (e) {
            (errors ??= []).push({ rule: WIRE_DENY.id, message: message(e) });
          }
          const fired = large ? (denied ? FIRED_BOTH : FIRED_LARGE) : denied ? FIRED_DENY : NONE;
          if (errors !== null) return failed(fired, a, errors);
          if (denied) return result("deny", fired, null, a);
          if (large) return result("require_approval", fired, APPROVAL, a);
          return result("allow", NONE, null, a);
        }
        case "send_email": {
          let offHours = false;
          try {
            const u = plain ? ((v = input.user) === undefined ? null : v) : own(input, "user");
            const role = u !== null && plain && typeof u === "object" && u.__proto__ === Object.prototype ? ((v = u.role) === undefined ? null : v) : own(u, "role");
            if (role !== "admin") {
              const hour = plain ? ((v = a.hour) === undefined ? null : v) : own(a, "hour");
              offHours = lt(hour, FROM) || gt(hour, TO);
            }
          } catch (e) {
            errors = [{ rule: EMAIL.id, message: message(e) }];
          }
          if (errors !== null) return failed(NONE, a, errors);
          return offHours ? result("deny", FIRED_EMAIL, null, a) : result("allow", NONE, null, a);
        }
        default: {
          const f = FILLER.get(plain ? a.type : own(a, "type"));
          if (f === undefined) return result("allow", NONE, null, a);
          let over = false;
          try {
            over = gt(plain ? ((v = a.amount) === undefined ? null : v) : own(a, "amount"), f[0]);
          } catch (e) {
            return failed(NONE, a, [{ rule: f[1][0].id, message: message(e) }]);
          }
          return over ? result("deny", f[1], null, a) : result("allow", NONE, null, a);
        }
      }
    }
    return { decide: (input) => decide(input).decision, prepare: prepareInput, decideFull: decide };
  },
};
