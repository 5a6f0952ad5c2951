/**
 * Ids of anonymous rules: made from the rule's condition and effect, so that formatting,
 * comments, blank lines and the other rules of the file do not change them, while editing the
 * rule does; unique within the file; and how a test that names a rule by its old `FILE:LINE`
 * id is told the new one.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { compileSource, compileTests } from "../src/compile.js";
import { formatSource } from "../src/format/format.js";
import { type AnonymousRule, anonymousRuleIds, canonicalRule } from "../src/semantic/rule-id.js";
import type { RuleDecl } from "../src/syntax/ast.js";
import { parse } from "../src/syntax/parse.js";
import { policyForTests } from "../src/testing/api.js";

/** Rule ids in source order; the policy must have no errors. */
function ruleIds(text: string, file = "policy.armor"): string[] {
  const c = compileSource(file, text);
  expect(c.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return c.policy.rules.map((r) => r.id);
}

function format(text: string): string {
  const r = formatSource("policy.armor", text);
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("; "));
  return r.text;
}

const RULE_A = 'when action.type == "wire_transfer" and amount > 10_000 require approval from "finance" timeout 15m';
const RULE_B = 'when action.type in ["sql_query", "list_tables"] and user.role not in ["analyst"] deny because "no data role"';
const RULE_C = "when context.tenant == null and user.id != null and user.role == null deny";
const NAMED = 'rule big_mail\n  when action.type == "send_email" and size > 1_000_000\n  deny';

const base = ["default allow", "", RULE_A, "", NAMED, "", RULE_B, RULE_C, ""].join("\n");

/**
 * Each case rewrites `base`; `ids` lists the result's rule ids: a number is the id of that rule
 * of `base` (0..3: RULE_A, big_mail, RULE_B, RULE_C), `"new"` an id `base` does not have.
 */
const cases: { name: string; edit: (text: string) => string; ids: (number | "new")[] }[] = [
  { name: "formatting", edit: format, ids: [0, 1, 2, 3] },
  { name: "formatting twice", edit: (t) => format(format(t)), ids: [0, 1, 2, 3] },
  { name: "comments above and inside the rules", edit: (t) => t.replace(RULE_A, `// wires\n/* reviewed */\n${RULE_A.replace(" and ", " /* big */ and ")}  // trailing`), ids: [0, 1, 2, 3] },
  { name: "blank lines above every rule", edit: (t) => t.replace(/\n(?=when|rule)/g, "\n\n\n"), ids: [0, 1, 2, 3] },
  { name: "a rule spread over lines and indented differently", edit: (t) => t.replace(RULE_A, RULE_A.replace(" and ", "\n      and ").replace(" require", "\n  require")), ids: [0, 1, 2, 3] },
  { name: "a named rule added above", edit: (t) => t.replace(RULE_A, `rule first when amount < 0 deny\n${RULE_A}`), ids: ["new", 0, 1, 2, 3] },
  { name: "an anonymous rule added above", edit: (t) => t.replace(RULE_A, `when amount < 0 deny\n${RULE_A}`), ids: ["new", 0, 1, 2, 3] },
  { name: "a rule above removed", edit: (t) => t.replace(RULE_A, ""), ids: [1, 2, 3] },
  { name: "the rules moved", edit: (t) => t.replace(RULE_A, "").replace(RULE_C, `${RULE_C}\n${RULE_A}`), ids: [1, 2, 3, 0] },
  { name: "two anonymous rules swapped", edit: (t) => t.replace(`${RULE_B}\n${RULE_C}`, `${RULE_C}\n${RULE_B}`), ids: [0, 1, 3, 2] },
  { name: "the reason reworded", edit: (t) => t.replace('"no data role"', '"the role may not read data"'), ids: [0, 1, 2, 3] },
  { name: "the reason removed", edit: (t) => t.replace(' because "no data role"', ""), ids: [0, 1, 2, 3] },
  {
    name: "digit separators, duration units and string escapes respelled",
    edit: (t) => t.replace("10_000", "10000").replace("15m", "900s").replace('"finance"', '"fin\\u0061nce"'),
    ids: [0, 1, 2, 3],
  },
  {
    name: "parentheses around the condition and its operands",
    edit: (t) => t.replace('when action.type == "wire_transfer" and amount > 10_000', 'when ((action.type == "wire_transfer") and (amount > 10_000))'),
    ids: [0, 1, 2, 3],
  },
  {
    name: "a chain regrouped by parentheses",
    edit: (t) => t.replace("null and user.id != null and", "null and (user.id != null and").replace("user.role == null deny", "user.role == null) deny"),
    ids: [0, 1, 2, 3],
  },
  { name: "CRLF line ends", edit: (t) => t.replace(/\n/g, "\r\n"), ids: [0, 1, 2, 3] },
  { name: "the condition edited", edit: (t) => t.replace("10_000", "20_000"), ids: ["new", 1, 2, 3] },
  { name: "an operand added", edit: (t) => t.replace(RULE_C, RULE_C.replace(" deny", " and user.x == 1 deny")), ids: [0, 1, 2, "new"] },
  { name: "the effect edited", edit: (t) => t.replace(RULE_C, RULE_C.replace(" deny", " require approval")), ids: [0, 1, 2, "new"] },
  { name: "the approval group edited", edit: (t) => t.replace('"finance"', '"treasury"'), ids: ["new", 1, 2, 3] },
  { name: "the approval timeout edited", edit: (t) => t.replace("15m", "30m"), ids: ["new", 1, 2, 3] },
  { name: "operands reordered", edit: (t) => t.replace('action.type == "wire_transfer" and amount > 10_000', 'amount > 10_000 and action.type == "wire_transfer"'), ids: ["new", 1, 2, 3] },
];

describe("anonymous rule ids", () => {
  const before = ruleIds(base);

  it("have the documented form", () => {
    expect(before).toEqual([
      expect.stringMatching(/^policy\.armor:require_approval-wire_transfer-[0-9a-f]{10}$/),
      "big_mail",
      expect.stringMatching(/^policy\.armor:deny-sql_query-[0-9a-f]{10}$/),
      expect.stringMatching(/^policy\.armor:deny-[0-9a-f]{10}$/),
    ]);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const after = ruleIds(c.edit(base));
    expect(after).toHaveLength(c.ids.length);
    c.ids.forEach((want, i) => {
      if (want === "new") expect(before, `rule ${i}`).not.toContain(after[i]);
      else expect(after[i], `rule ${i}`).toBe(before[want]);
    });
  });

  it("do not depend on the directory of the file", () => {
    expect(ruleIds(base, "/srv/policies/policy.armor")).toEqual(before);
    expect(ruleIds(base, "C:\\policies\\policy.armor")).toEqual(before);
    expect(ruleIds(base, "other.armor")[0]).toBe(before[0]!.replace("policy.armor:", "other.armor:"));
  });

  it("number only rules identical in form and reason, in source order, and keep the numbers when other rules move", () => {
    const dup = "when amount > 5 deny";
    const ids = ruleIds(["default allow", dup, RULE_C, dup, dup].join("\n"));
    expect(ids[1]).not.toBe(ids[0]);
    expect(ids.slice(2)).toEqual([`${ids[0]}#2`, `${ids[0]}#3`]);
    expect(ruleIds(["default allow", RULE_A, dup, dup, RULE_C, dup].join("\n"))).toEqual([before[0], ids[0], `${ids[0]}#2`, ids[1], `${ids[0]}#3`]);
  });

  it("warn once about rules identical in form and reason to an earlier one (A407), and only then", () => {
    const warned = (lines: string[]): number[] =>
      compileSource("policy.armor", ["default allow", ...lines].join("\n"))
        .diagnostics.filter((d) => d.code === "A407")
        .map((d) => d.span.start);
    const dup = 'when amount > 5 deny because "big"';
    const text = ["default allow", dup, dup.replace("  ", " "), `when (amount > 5) deny because "b\\u0069g"`].join("\n");
    const found = compileSource("policy.armor", text).diagnostics.filter((d) => d.code === "A407");
    expect(found.map((d) => d.message)).toEqual(["this rule repeats an earlier rule: same condition, effect and reason (3 copies in all)"]);
    expect(found[0]!.span.start).toBe(text.indexOf(dup, text.indexOf(dup) + 1));
    expect(warned([dup, dup.replace('"big"', '"large"')])).toEqual([]);
    expect(warned([dup, dup.replace("deny", "allow")])).toEqual([]);
    expect(warned([dup, `rule named ${dup}`])).toEqual([]);
  });

  it("are fixed at 10 hash digits, so a rule whose first 6 digits collide with another's renames neither", () => {
    // found by search: these two canonical forms share the first six hex digits of their SHA-256
    const [x, y] = ['when action.type == "a" and action.n == 137 deny', 'when action.type == "a" and action.n == 2548 deny'];
    const hash = (text: string): string =>
      createHash("sha256")
        .update(canonicalRule(parse("p.armor", text).ast.items[0] as RuleDecl))
        .digest("hex");
    expect(hash(x).slice(0, 6)).toBe(hash(y).slice(0, 6));
    const alone = ruleIds(`default allow\n${x}`, "p.armor");
    expect(alone).toEqual([`p.armor:deny-a-${hash(x).slice(0, 10)}`]);
    expect(ruleIds(["default allow", x, y].join("\n"), "p.armor")).toEqual([alone[0], `p.armor:deny-a-${hash(y).slice(0, 10)}`]);
  });

  it("tell apart true collisions of the hash digits by more digits (forced with fewer digits)", () => {
    const decls = (texts: string[]): AnonymousRule[] => texts.map((t) => ({ decl: parse("p.armor", t).ast.items[0] as RuleDecl, condition: null }));
    // 17 different forms with 1 hex digit: at least two share it
    const texts = Array.from({ length: 17 }, (_, i) => `when amount == ${i} deny`);
    const { ids } = anonymousRuleIds("p.armor", decls(texts), { hashDigits: 1 });
    const list = [...ids.values()];
    expect(new Set(list).size).toBe(17);
    const digits = list.map((id) => id.split("-").at(-1)!.length);
    expect(digits.some((n) => n > 1)).toBe(true);
    expect(digits.some((n) => n === 1)).toBe(true);
  });

  it("tell apart rules of one form with different reasons by their reasons, whatever their order", () => {
    const rule = 'when action.type == "wire" and amount > 5 deny';
    const [a, b] = [`${rule} because "limit"`, `${rule} because "fraud"`];
    const [idA, idB] = ruleIds(["default allow", a, b].join("\n"));
    expect(idA).toMatch(/^policy\.armor:deny-wire-[0-9a-f]{10}~[0-9a-f]{6}$/);
    expect(idB).toMatch(/^policy\.armor:deny-wire-[0-9a-f]{10}~[0-9a-f]{6}$/);
    expect(idA).not.toBe(idB);
    // the order of the two does not matter, nor a rule of another form between them
    expect(ruleIds(["default allow", b, RULE_C, a].join("\n"))).toEqual([idB, ruleIds(`default allow\n${RULE_C}`)[0], idA]);
    // a rule of that form added above a rule alone in its form never takes the old id
    const [old] = ruleIds(`default allow\n${a}`);
    expect(ruleIds(["default allow", b, a].join("\n"))).not.toContain(old);
    // no reason and an empty reason are different reasons
    expect(new Set(ruleIds(["default allow", rule, `${rule} because ""`].join("\n"))).size).toBe(2);
  });

  it("tell apart reasons whose digits collide by more digits (forced with fewer digits)", () => {
    const texts = Array.from({ length: 17 }, (_, i) => `when amount == 1 deny because "r${i}"`);
    const { ids } = anonymousRuleIds(
      "p.armor",
      texts.map((t) => ({ decl: parse("p.armor", t).ast.items[0] as RuleDecl, condition: null })),
      { reasonDigits: 1 },
    );
    expect(new Set(ids.values()).size).toBe(17);
    expect([...ids.values()].every((id) => /^p\.armor:deny-[0-9a-f]{10}~[0-9a-f]+$/.test(id))).toBe(true);
  });

  /** TYPE is the type the checked rule applies to, whatever the names in its condition. */
  const typeCases: { name: string; lines: string[]; type: string | null }[] = [
    { name: "a let named type", lines: ['let type = "delete_all"', 'when type == "delete_all" and action.type == "read" allow'], type: "read" },
    { name: "a let named type used alone", lines: ['let type = "delete_all"', 'when type == "delete_all" and amount > 1 allow'], type: null },
    { name: "a let holding the type", lines: ['let T = "wire"', "when action.type == T deny"], type: "wire" },
    { name: "a let holding a list of types", lines: ['let TS = ["mail", "wire"]', "when action.type in TS deny"], type: "mail" },
    { name: "the bare field type", lines: ['when type == "wire" deny'], type: "wire" },
    { name: "the type on the left", lines: ['when "wire" == action.type deny'], type: "wire" },
    { name: "a later conjunct", lines: ['when amount > 5 and action.type == "wire" deny'], type: "wire" },
  ];

  it.each(typeCases.map((c) => [c.name, c] as const))("name the action type the rule applies to: %s", (_name, c) => {
    const ids = ruleIds(["default allow", ...c.lines].join("\n"));
    expect(ids[0]!.split(":")[1]!.split("-").slice(1, -1).join("-") || null).toBe(c.type);
  });

  it("cannot be taken by a rule name", () => {
    // the generated ids all contain `:`, which a rule name (an identifier) cannot
    for (const name of ["policy.armor:deny-abcdef", '"policy.armor:deny-abcdef"']) {
      const c = compileSource("policy.armor", `default allow\nrule ${name} when true deny`);
      expect(
        c.diagnostics.filter((d) => d.severity === "error").map((d) => d.code),
        name,
      ).toContain("A101");
    }
  });
});

describe("tests naming anonymous rules", () => {
  const policy = ["default allow", "", 'when action.type == "drop" deny', ""].join("\n");
  const id = ruleIds(policy)[0]!;
  const table: { name: string; by: string; code: string | null; help?: RegExp; fix?: string }[] = [
    { name: "by the new id", by: JSON.stringify(id), code: null },
    {
      name: "by the old FILE:LINE id",
      by: '"policy.armor:3"',
      code: "A201",
      help: /the anonymous rule on line 3 is `policy\.armor:deny-drop-[0-9a-f]{10}`.*give the rule a name/,
      fix: JSON.stringify(id),
    },
    { name: "by a FILE:LINE with no anonymous rule", by: '"policy.armor:2"', code: "A201" },
    { name: "by a mistyped id, fixed as a string", by: JSON.stringify(`${id.slice(0, -1)}x`), code: "A201", fix: JSON.stringify(id) },
  ];

  it.each(table.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const test = `test "t" {\n  action { type: "drop" }\n  expect deny by ${c.by}\n}\n`;
    for (const [where, diagnostics] of [
      ["in the policy", compileSource("policy.armor", policy + test).diagnostics],
      ["in a test file", compileTests("policy.test.armor", test, compileSource("policy.armor", policy)).diagnostics],
    ] as const) {
      const d = diagnostics.filter((x) => x.severity === "error");
      expect(
        d.map((x) => x.code),
        where,
      ).toEqual(c.code ? [c.code] : []);
      if (c.help) expect(d[0]!.help, where).toMatch(c.help);
      if (c.fix)
        expect(
          d[0]!.fixes?.map((f) => f.edits[0]!.newText),
          where,
        ).toEqual([c.fix]);
    }
  });
});

describe("policy tests from JavaScript naming rules that do not exist", () => {
  const text = ["default allow", "", 'when action.type == "drop" deny', ""].join("\n");
  const input = { action: { type: "drop" } };

  it.each([
    ["an old FILE:LINE id", "policy.armor:3", /`policy\.armor:3` is an anonymous rule's id of the old form, FILE:LINE; that rule's id is now `policy\.armor:deny-drop-[0-9a-f]{10}`/],
    ["a name the policy lacks", "drop_rule", /`drop_rule` is not a rule of policy\.armor\nrules: policy\.armor:deny-drop-[0-9a-f]{10}$/],
  ])("%s is refused, naming the rules there are", async (_name, by, message) => {
    const p = await policyForTests("policy.armor", text);
    expect(() => p.expect(input, { decision: "deny", by: [by] })).toThrow(message);
    expect(p.expect(input, { decision: "deny", by: [ruleIds(text)[0]!] }).decision).toBe("deny");
  });
});
