/**
 * Properties (`property NAME: always|never OUTCOMES when CONDITION`): the language (parsed,
 * checked, formatted, kept out of the compiled module), the interpreter's check on one input,
 * and `proveProperties` (packages/analysis) against known answers, the issue's three examples on
 * the example policies, history predicates and regexes, and random sampling: whenever deciding
 * random inputs finds one a property fails on, the prover reports a counterexample.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PropertyResult, proveProperties } from "../packages/analysis/src/index.js";
import { type Compilation, compileSource, emit, nodeHost } from "../packages/compiler/src/compile.js";
import { formatSource } from "../packages/compiler/src/format/format.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { checkProperty } from "../packages/compiler/src/properties.js";

const noFiles = { readFile: (): undefined => undefined };

function compile(text: string, name = "p.armor", host = noFiles as typeof nodeHost): Compilation {
  const c = compileSource(name, text, host);
  if (!c.ok) throw new Error(`${name} does not compile: ${c.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  return c;
}

const codes = (text: string): string[] => compileSource("p.armor", text, noFiles).diagnostics.map((d) => d.code);

describe("properties in the language", () => {
  it.each([
    ["never allow, with a condition", 'default allow\nproperty p: never allow when action.type == "wire"\n', []],
    ["always, several outcomes", 'default allow\nproperty p: always deny or require approval or redacted when user.org == "x"\n', []],
    ["no condition: every input", "default deny\nproperty p: never allow\n", []],
    ["a let and a history predicate", 'default deny\nlet L = 5\nproperty p: never allow when count(type == "w" within 1h) > L\n', []],
    ["`property` is still a field name", "default allow\nwhen action.property == 1 deny\nwhen property == 2 deny\n", []],
    ["a missing mode", "default deny\nproperty p: allow\n", ["A101"]],
    ["an unknown outcome", "default deny\nproperty p: never approved\n", ["A101"]],
    ["a missing colon", "default deny\nproperty p never allow\n", ["A101"]],
    ["two properties of one name", "default deny\nproperty p: never allow\nproperty p: always deny\n", ["A230"]],
    ["a condition that is not a boolean", "default deny\nproperty p: never allow when action.amount + 1\n", ["A301"]],
    ["a condition reading `result`", "default deny\nproperty p: never allow when result.ok == true\n", ["A218"]],
    ["an unknown function", "default deny\nproperty p: never allow when nope(1)\n", ["A209"]],
  ])("%s", (_name, text, expected) => {
    // A404 (no default) and A406 (no rules) are beside the point here
    expect(codes(text).filter((c) => c !== "A404" && c !== "A406")).toEqual(expected);
  });

  it("checks a property like a rule's condition and records its outcomes", () => {
    const c = compile('default allow\nproperty big: never allow or redacted when action.type == "wire" and action.amount > 10_000\n');
    expect(c.policy.properties).toMatchObject([{ name: "big", mode: "never", outcomes: ["allow", "redacted"], line: 2, column: 1 }]);
  });

  it("leaves the compiled module unchanged (but for the source's hash)", () => {
    const rules = 'default allow\nrule big when action.type == "wire" and count(type == "wire" within 1h) > 3 deny\n';
    const props = 'property p: never allow when count(type == "other" within 2h) > 1 and memo matches /secret/\nproperty q: always deny when count(type == "wire" within 1h) > 3\n';
    const a = compile(rules);
    const b = compile(rules + props);
    expect(b.policy.trackers).toEqual(a.policy.trackers);
    expect(b.policy.propertyTrackers).toHaveLength(1);
    const js = (c: Compilation): string => emit(c).js.replaceAll(c.policy.sourceHash, "HASH");
    expect(js(b)).toBe(js(a));
  });

  it("formats a property and reads back the same", () => {
    const text = 'default allow\nproperty   p :  never   allow or require   approval   when action.type=="wire" // why\n';
    const out = formatSource("p.armor", text).text!;
    expect(out).toBe('default allow\n\nproperty p: never allow or require approval when action.type == "wire"  // why\n');
    expect(compile(out).policy.properties).toMatchObject([{ name: "p", mode: "never", outcomes: ["allow", "require_approval"] }]);
  });
});

describe("checkProperty: one input, with the interpreter", () => {
  const c = compile(
    'default allow\nrule big when action.type == "wire" and amount > 100 require approval\nproperty p: never allow when action.type == "wire" and amount > 50\nproperty h: always deny when count(type == "wire" within 1h) > 2\n',
  );
  const [p, h] = c.policy.properties;
  it.each([
    ["holds", p!, { action: { type: "wire", amount: 101 } }, undefined, "holds"],
    ["fails", p!, { action: { type: "wire", amount: 60 } }, undefined, "fails"],
    ["the condition does not hold", p!, { action: { type: "wire", amount: 10 } }, undefined, "not-applicable"],
    ["the condition cannot be evaluated", p!, { action: { type: "wire", amount: "x" } }, undefined, "not-applicable"],
    ["a history predicate's value given", h!, { action: { type: "wire" } }, [3], "fails"],
    [
      "a history predicate scanned",
      h!,
      { action: { type: "wire" }, time: "2026-01-01T10:00:00Z", history: [1, 2, 3].map((i) => ({ action: { type: "wire" }, time: `2026-01-01T09:5${i}:00Z` })) },
      undefined,
      "fails",
    ],
    ["a history predicate under its bound", h!, { action: { type: "wire" } }, [2], "not-applicable"],
  ])("%s", (_name, property, input, values, status) => {
    expect(checkProperty(c.policy, property, input, { trackerValues: values }).status).toBe(status);
  });
});

// ---- proofs ------------------------------------------------------------------------------------

async function prove(text: string): Promise<PropertyResult[]> {
  return proveProperties(compile(text), { timeoutMs: 20_000, searchSamples: 300 });
}

/** The counterexample decided again by the interpreter: the property fails on it. */
function confirmFails(c: Compilation, r: PropertyResult): void {
  expect(r.example, r.property.name).not.toBeNull();
  const values = r.example!.history.length > 0 ? r.example!.history.map((h) => h.value) : undefined;
  expect(checkProperty(c.policy, r.property, r.example!.input, { trackerValues: values }).status, JSON.stringify(r.example)).toBe("fails");
}

interface Case {
  readonly name: string;
  readonly policy: string;
  /** Each property's verdict, by name. */
  readonly expected: Record<string, "holds" | "fails">;
}

const cases: Case[] = [
  {
    name: "thresholds",
    policy: `default allow
rule review when action.type == "wire" and amount > 10000 require approval
rule cap when action.type == "wire" and amount > 250000 deny
property big: never allow when action.type == "wire" and amount > 10000
property bigger: never allow when action.type == "wire" and amount > 5000
property huge: always deny when action.type == "wire" and amount > 250000
property huge_approved: always require approval when action.type == "wire" and amount > 250000
`,
    expected: { big: "holds", bigger: "fails", huge: "holds", huge_approved: "fails" },
  },
  {
    name: "lists, strings and missing fields",
    policy: `default deny
let OK = ["a@corp.example", "a+b@corp.example"]
rule known when action.type == "mail" and to in OK allow
rule internal when action.type == "mail" and to ends_with "@corp.example" and not (to contains "+") allow
property outside: never allow when action.type == "mail" and not (to ends_with "@corp.example")
property plus: never allow when action.type == "mail" and to contains "+"
property missing: never allow when not exists(to)
`,
    expected: { outside: "holds", plus: "fails", missing: "holds" },
  },
  {
    name: "regexes",
    policy: `default allow
rule secrets when body matches /secret/ redact body matching /(password|secret)=[a-z0-9]+/
property same: always redacted or deny when body matches /secret/
property narrower: always redacted or deny when body matches /^secret=/
property wider: always redacted or deny when body matches /secre/
property any_password: always redacted when body contains "password"
`,
    // a body that is a list holding "password" fails `matches` (an error: deny, not redacted)
    expected: { same: "holds", narrower: "holds", wider: "fails", any_password: "fails" },
  },
  {
    name: "history predicates",
    policy: `default allow
rule burst when action.type == "wire" and count(type == "wire" within 1h) >= 5 deny
rule seen_fraud when seen(type == "fraud_flag" within 24h) deny
property burst: always deny when action.type == "wire" and count(type == "wire" within 1h) > 5
property flagged: never allow when seen(type == "fraud_flag" within 24h)
property flagged_week: never allow when seen(type == "fraud_flag" within 7d)
`,
    expected: { burst: "holds", flagged: "holds", flagged_week: "fails" },
  },
  {
    name: "any and all over a list of the input",
    policy: `default allow
let BLOCKED = ["evil-corp", "shady-llc"]
rule blocked when action.type == "wire" and any(r in recipients: r in BLOCKED) deny
property never_blocked: never allow when action.type == "wire" and recipients contains "evil-corp"
property all_fine: always allow when action.type == "wire" and all(r in recipients: r == "bob")
property one_blocked: always deny when action.type == "wire" and any(r in recipients: r == "shady-llc")
property evil_only: always deny when action.type == "wire" and any(r in recipients: r == "evil-corp" or r == "mallory")
`,
    expected: { never_blocked: "holds", all_fine: "holds", one_blocked: "holds", evil_only: "fails" },
  },
  {
    name: "evaluation errors deny",
    policy: `default allow
rule big when amount > 100 deny
property strings: always deny when amount == "x"
property no_error_allows: never allow when amount > 100
`,
    expected: { strings: "holds", no_error_allows: "holds" },
  },
];

describe("proveProperties: known answers", () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    "%s",
    async (_name, c) => {
      const compiled = compile(c.policy);
      const results = await prove(c.policy);
      expect(Object.fromEntries(results.map((r) => [r.property.name, r.status]))).toEqual(c.expected);
      for (const r of results) {
        if (r.status === "fails") {
          expect(r.method).toBe("solver");
          confirmFails(compiled, r);
        }
      }
    },
    120_000,
  );

  it("gives the shortest counterexample the solver allows: only the fields that matter", async () => {
    const [r] = await prove(
      'default allow\nrule review when action.type == "wire" and amount > 10000 require approval\nproperty p: never allow when action.type == "wire" and amount > 5000 and memo != "x"\n',
    );
    expect(r!.status).toBe("fails");
    expect(Object.keys(r!.example!.input.action).sort()).toEqual(["amount", "type"]);
    expect(r!.example!.decision.decision).toBe("allow");
  }, 60_000);
});

// JavaScript rounds arithmetic to doubles, and `length` counts code points: a proof that holds
// only on exact reals, or on UTF-16 code units, is never reported as holding
describe("proveProperties: rounding and code points", () => {
  it.each([
    {
      name: "`a + 1 > a` is false for a = 1e16: the property fails",
      policy: 'default allow\nrule r when action.type == "w" and action.a + 1 > action.a deny\nproperty p: never allow when action.type == "w"\n',
      status: "fails",
      example: (a: Record<string, unknown>) => typeof a.a === "number" && a.a + 1 === a.a,
    },
    {
      name: '`length("😀")` is 1, not 2: the property fails',
      policy: 'default allow\nrule r when action.type == "w" and length(action.s) >= 2 deny\nproperty p: never allow when action.type == "w" and action.s starts_with "😀"\n',
      status: "fails",
      example: (a: Record<string, unknown>) => a.s === "😀",
    },
    {
      name: "a bound that survives rounding still holds",
      policy: 'default allow\nrule r when action.type == "w" and action.a * 2 > 10 deny\nproperty p: never allow when action.type == "w" and action.a > 6\n',
      status: "holds",
    },
    {
      name: "`length` of strings without a surrogate pair, and a lower bound with them, still hold",
      policy:
        'default allow\nrule r when action.type == "w" and length(action.s) > 1 deny\nproperty ascii: never allow when action.type == "w" and action.s == "ab"\nproperty prefix: never allow when action.type == "w" and action.s starts_with "abcd"\n',
      status: "holds",
    },
  ])(
    "$name",
    async (k) => {
      const compiled = compile(k.policy);
      const results = await prove(k.policy);
      for (const r of results) {
        expect(r.status, r.note ?? "").toBe(k.status);
        if (r.status === "fails") {
          confirmFails(compiled, r);
          expect(k.example?.(r.example!.input.action as Record<string, unknown>), JSON.stringify(r.example!.input)).toBe(true);
        }
        // what the encoding bounds is reported, a proof's too
        expect(r.notEncoded.length).toBeGreaterThan(0);
      }
    },
    120_000,
  );

  it("says why a proof on exact reals is not one", async () => {
    // without the search's luck, the result is "not proved", with the reason
    const text = 'default allow\nrule r when action.type == "w" and action.a + 1 > action.a deny\nproperty p: never allow when action.type == "w"\n';
    const [r] = await proveProperties(compile(text), { timeoutMs: 20_000, searchSamples: 1 });
    expect(r!.status).not.toBe("holds");
    if (r!.status === "unknown") expect(r!.note).toMatch(/^not proved: proved only for arithmetic on exact reals/);
    else confirmFails(compile(text), r!);
  }, 120_000);
});

describe("the issue's three examples, on the example policies", () => {
  const example = (dir: string, properties: string): Compilation => {
    const file = join(import.meta.dirname, "../examples", dir, "policy.armor");
    return compile(`${readFileSync(file, "utf8")}\n${properties}`, file, nodeHost);
  };

  it("payments: no wire over 10,000 is allowed without approval, nothing to evil-corp is allowed", async () => {
    const c = example(
      "payments",
      `property big_wires_reviewed: never allow when action.type == "wire_transfer" and action.amount > 10000
property no_evil_corp: never allow or require approval when action.type in ["wire_transfer", "add_payee"] and action.recipient == "evil-corp"
property no_evil_corp_reads: never allow when action.recipient == "evil-corp"
`,
    );
    const results = await proveProperties(c, { timeoutMs: 30_000, searchSamples: 300 });
    expect(Object.fromEntries(results.map((r) => [r.property.name, r.status]))).toEqual({ big_wires_reviewed: "holds", no_evil_corp: "holds", no_evil_corp_reads: "fails" });
    // a balance look-up that names evil-corp is allowed: the sanctions rule is about payments
    const reads = results[2]!;
    confirmFails(c, reads);
    expect(reads.example!.input.action.type).toMatch(/^(get_balance|list_transactions)$/);
  }, 180_000);

  it("email: every send_email to an external domain is at least redacted or approved, except for the outreach group", async () => {
    const c = example(
      "email",
      `property external_checked: always deny or require approval or redacted when action.type == "send_email" and not (action.to ends_with "@acme.example")
property external_checked_outside_outreach: always deny or require approval or redacted when action.type == "send_email" and not (action.to ends_with "@acme.example") and not (user.groups contains "outreach")
`,
    );
    const results = await proveProperties(c, { timeoutMs: 30_000, searchSamples: 300 });
    expect(results.map((r) => r.status)).toEqual(["fails", "holds"]);
    confirmFails(c, results[0]!);
    expect(JSON.stringify(results[0]!.example!.input.user)).toContain("outreach");
  }, 180_000);
});

// ---- the property: random sampling never finds a failure the prover misses ---------------------

const FIELDS = ["amount", "recipient", "user.role"];
const NUMS = ["0", "5", "100", "-1", "2.5"];
const STRS = ['"a"', '"admin"', '"x@evil.com"', '""'];
const atomArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("==", "!=", "<", ">="), fc.constantFrom(...NUMS, ...STRS)).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("contains", "starts_with", "ends_with"), fc.constantFrom(...STRS)).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom('["a", "admin"]', "[5, 100]")).map(([f, l]) => `${f} in ${l}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("/^a/", "/min$/", "/[0-9]+/")).map(([f, r]) => `${f} matches ${r}`),
  fc.constantFrom('action.type == "wire"', "exists(amount)"),
);
const condArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: atomArb },
  { weight: 2, arbitrary: fc.tuple(atomArb, fc.constantFrom("and", "or"), atomArb).map(([a, op, b]) => `(${a} ${op} ${b})`) },
  { weight: 1, arbitrary: atomArb.map((a) => `not (${a})`) },
);
const effectArb = fc.constantFrom("deny", "allow", 'require approval from "ops"', "redact recipient");
const outcomesArb = fc.subarray(["allow", "deny", "require approval", "redacted"], { minLength: 1 }).map((o) => o.join(" or "));
const policyArb = fc
  .tuple(fc.constantFrom("allow", "deny"), fc.array(fc.tuple(condArb, effectArb), { minLength: 1, maxLength: 3 }), fc.constantFrom("always", "never"), outcomesArb, condArb)
  .map(([d, rules, mode, outcomes, when]) => `default ${d}\n${rules.map(([c, e], i) => `rule r${i} when ${c} ${e}\n`).join("")}property p: ${mode} ${outcomes} when ${when}\n`);
const valueArb = fc.oneof(fc.constantFrom(0, 5, 100, -1, 2.5, 101, 4.5), fc.constantFrom("a", "admin", "x@evil.com", "", "ab", "b1"), fc.constant(null), fc.boolean());
const inputArb = fc.record({
  type: fc.constantFrom("wire", "other"),
  amount: fc.option(valueArb, { nil: undefined }),
  recipient: fc.option(valueArb, { nil: undefined }),
  role: fc.option(valueArb, { nil: undefined }),
});

describe("proveProperties: random policies and properties", () => {
  it("reports a counterexample whenever sampling finds an input the property fails on", async () => {
    await fc.assert(
      fc.asyncProperty(policyArb, fc.array(inputArb, { minLength: 40, maxLength: 40 }), async (text, inputs) => {
        const c = compile(text);
        const [r] = await proveProperties(c, { timeoutMs: 5_000, searchSamples: 200 });
        // everything these policies use is encoded: the solver answers, and its examples reproduce
        expect(r!.status, `${text}\n${r!.note}`).not.toBe("unknown");
        const property = c.policy.properties[0]!;
        for (const raw of inputs) {
          const input = JSON.parse(JSON.stringify({ action: { type: raw.type, amount: raw.amount, recipient: raw.recipient }, user: { role: raw.role } }));
          if (checkProperty(c.policy, property, input).status === "fails") expect(r!.status, `${text}\n${JSON.stringify(input)}`).toBe("fails");
        }
        if (r!.status === "fails") {
          expect(r!.method).toBe("solver");
          const d = evaluatePolicy(c.policy, r!.example!.input).result;
          expect(checkProperty(c.policy, property, r!.example!.input).status, `${text}\n${JSON.stringify(r!.example)}`).toBe("fails");
          expect(d.decision).toBe(r!.example!.decision.decision);
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 25), seed: process.env.PROPERTY_RUNS ? undefined : 19 },
    );
  }, 600_000);
});
