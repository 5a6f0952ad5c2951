/**
 * Schema errors from the action type's own branch: which alternative of a union keyed by `type`
 * the compiler records for each type (`actionBranches`), the errors the runtime then gives (in the
 * decision and in its audit record), and the errors of a test file's action.
 */
import { type Compilation, compileSource, compileTests, emit, loadModule } from "@agent-armor/compiler";
import { type AuditRecord, createEnforcer } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";
import { constrainedRoot, inlineAnyOf, nestedDefs, openAlternative, payments, sharedType, singleType } from "./support/branch-schemas.js";

function compileWith(schema: unknown, rules = ""): Compilation {
  const text = JSON.stringify(schema);
  const c = compileSource("p.armor", `schema "./s.json"\ndefault allow\n${rules}`, { readFile: (p: string) => (p.endsWith("s.json") ? text : undefined) });
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return c;
}

describe("the compiler records each action type's branch", () => {
  it.each([
    ["oneOf through $ref (payments, draft 2020-12 with $id)", payments, { wire_transfer: "/oneOf/0", add_payee: "/oneOf/1", get_balance: "/oneOf/2", list_transactions: "/oneOf/3" }],
    ["inline anyOf (draft-07)", inlineAnyOf, { send_email: "/anyOf/0", http_post: "/anyOf/1" }],
    ["a union nested in $defs (draft 2020-12, no $id)", nestedDefs, { send_email: "/oneOf/0", read_file: "/$defs/files/oneOf/0", write_file: "/$defs/files/oneOf/1" }],
    ["a type in two alternatives", sharedType, { a: "/oneOf/0", b: null, c: "/oneOf/2" }],
    ["an alternative open to any type", openAlternative, { a: null }],
    ["a constraint beside the union", constrainedRoot, { a: null }],
    ["one action type, no union", singleType, { ping: "" }],
  ])("%s", async (_name, schema, expected) => {
    const c = compileWith(schema);
    expect(c.policy?.actionBranches).toEqual(expected);
    const module = await loadModule(emit(c).js);
    expect(module.actionBranches).toEqual(expected);
  });

  it("a policy without a schema has no branches", async () => {
    const c = compileSource("p.armor", "default allow\n");
    expect((await loadModule(emit(c).js)).actionBranches).toBeNull();
  });
});

const wire = { type: "wire_transfer", from_account: "ops-usd-01", recipient: "globex", recipient_country: "DE", recipient_account: "DE89", amount: 10, currency: "EUR" };

/** [name, schema, action, the errors of the decision, without the `invalid action: ` prefix]. */
const runtimeCases: [string, unknown, Record<string, unknown>, string[]][] = [
  ["$ref branch: one missing field", payments, { ...wire, recipient_account: undefined }, ["`wire_transfer` lacks the field `recipient_account`"]],
  [
    "$ref branch: several errors, nested paths named",
    payments,
    { ...wire, recipient_country: "de", amount: -5, note: "hi" },
    ["`wire_transfer` has an unexpected field `note`", '`recipient_country` must match pattern "^[A-Z]{2}$"', "`amount` must be > 0"],
  ],
  ["$ref branch: valid", payments, wire, []],
  [
    "an unknown type: one error naming the types",
    payments,
    { type: "wire_transfr", amount: 1 },
    ["the action type `wire_transfr` is not one of the schema's action types (`wire_transfer`, `add_payee`, `get_balance`, `list_transactions`)"],
  ],
  ["no type: one error", payments, { amount: 1 }, ["the action has no string `type` naming one of the schema's action types (`wire_transfer`, `add_payee`, `get_balance`, `list_transactions`)"]],
  [
    "inline anyOf: a nested object",
    inlineAnyOf,
    { type: "http_post", url: "https://x", payload: { headers: { cookie: "c" } } },
    ["`payload.headers` lacks the field `auth`", "`payload.headers` has an unexpected field `cookie`"],
  ],
  ["inline anyOf: two errors", inlineAnyOf, { type: "send_email", body: "far too long a body" }, ["`send_email` lacks the field `to`", "`body` must NOT have more than 10 characters"]],
  ["a union nested in $defs", nestedDefs, { type: "write_file", path: "/tmp/x" }, ["`write_file` lacks the field `data`"]],
  ["a union nested in $defs: valid", nestedDefs, { type: "read_file", path: "/tmp/x" }, []],
  ["a type of its own next to a shared one", sharedType, { type: "c" }, ["`c` lacks the field `s`"]],
  // no branch decides `b`: the whole schema's errors, which name no type
  ["a type in two alternatives", sharedType, { type: "b", s: 1 }, ["the action lacks the field `n`", "`s` must be string"]],
  ["an open alternative accepts an unknown type", openAlternative, { type: "zzz" }, []],
  [
    "an open alternative: the whole schema's errors",
    openAlternative,
    { type: "zzz", other: 1 },
    ["the action lacks the field `n`", "the action has an unexpected field `other`", "`other` must be boolean"],
  ],
  ["a constraint beside the union", constrainedRoot, { type: "a", n: 1 }, ["the action lacks the field `id`"]],
  ["one action type", singleType, { type: "ping" }, ["`ping` lacks the field `host`"]],
];

describe("the runtime reports only the action type's branch", () => {
  it.each(runtimeCases)("%s", async (_name, schema, action, expected) => {
    const module = await loadModule(emit(compileWith(schema)).js);
    const records: AuditRecord[] = [];
    const e = await createEnforcer({ policy: module, throwOnDeny: false, audit: { callback: (r) => void records.push(r) } });
    const input = JSON.parse(JSON.stringify(action)) as Record<string, unknown>;
    const { decision } = await e.run(input, {}, () => "done");
    const errors = expected.map((message) => ({ rule: null, message: `invalid action: ${message}` }));
    if (expected.length > 0) expect(decision.decision).toBe("deny");
    expect(decision.errors).toEqual(errors);
    const record = records.find((r) => r.kind === "decision") as (AuditRecord & { errors: unknown }) | undefined;
    expect(record?.errors).toEqual(errors);
  });
});

describe("a test file's action is checked against its type's branch", () => {
  /** [name, schema, the test's action, the A606 messages]. */
  const cases: [string, unknown, string, string[]][] = [
    [
      "$ref branch",
      payments,
      `{ type: "wire_transfer", from_account: "a", recipient: "b", recipient_country: "DE", amount: 5, currency: "EUR" }`,
      ["`wire_transfer` lacks the required field `recipient_account`"],
    ],
    [
      "several errors in the branch",
      payments,
      `{ type: "wire_transfer", from_account: "a", recipient: "b", recipient_country: "DE", recipient_account: "x", amount: "5", currency: "EUR", note: "n" }`,
      ["`amount` must be number", "`note` is not a field of `wire_transfer` in the schema"],
    ],
    ["a nested object", inlineAnyOf, `{ type: "http_post", url: "u", payload: { headers: { } } }`, ["`payload.headers` lacks the required field `auth`"]],
    ["a union nested in $defs", nestedDefs, `{ type: "write_file", path: "p" }`, ["`write_file` lacks the required field `data`"]],
    // no branch decides `b`: the whole schema's errors, which name no type
    ["a type in two alternatives", sharedType, `{ type: "b", s: 1 }`, ["the action lacks the required field `n`", "`s` must be string"]],
  ];
  it.each(cases)("%s", (_name, schema, action, expected) => {
    const t = compileTests("p.test.armor", `test "t" {\n  action ${action}\n  expect allow\n}\n`, compileWith(schema));
    expect(t.diagnostics.map((d) => [d.code, d.message])).toEqual(expected.map((m) => ["A606", m]));
  });
});
