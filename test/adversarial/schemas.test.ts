/**
 * Hostile action schemas: unions that refer to themselves or to each other, references shared so
 * often that a walk of every path would never end, chains of references deeper than any stack,
 * type names that are prototype keys, pointers that need escaping. The compiler reads each into
 * action types and branches without throwing or hanging (invariant 1), and the runtime's errors
 * for an action come from its own type's branch, or from the whole schema when no branch decides.
 */
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { createEnforcer } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";

const obj = (type: string, required: string[] = []) => ({
  type: "object",
  properties: { type: { const: type }, ...Object.fromEntries(required.map((f) => [f, { type: "string" }])) },
  required: ["type", ...required],
  additionalProperties: false,
});

/** `$defs` L0..L{n-1}, each a union of the next one twice: 2^n paths over n nodes. */
function doubled(n: number) {
  const defs: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) defs[`L${i}`] = { anyOf: [{ $ref: `#/$defs/L${i + 1}` }, { $ref: `#/$defs/L${i + 1}` }] };
  defs[`L${n}`] = obj("leaf", ["x"]);
  return { $ref: "#/$defs/L0", $defs: defs };
}

/** A union whose alternative refers to the next, n deep. */
function chain(n: number) {
  const defs: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) defs[`C${i}`] = { oneOf: [obj(`t${i}`, ["x"]), { $ref: `#/$defs/C${i + 1}` }] };
  defs[`C${n}`] = obj(`t${n}`, ["x"]);
  return { $ref: "#/$defs/C0", $defs: defs };
}

/** A schema that contains itself without end cannot decide any action: the runtime denies. */
const OVERFLOW = "the policy failed: Maximum call stack size exceeded";
const invalid = (m: string) => (m === OVERFLOW ? m : `invalid action: ${m}`);

/** [name, schema, the branches the compiler records (a subset is enough), an action, the errors the runtime gives]. */
const cases: [string, unknown, Record<string, string | null>, Record<string, unknown>, string[]][] = [
  [
    "a union that refers to itself",
    { oneOf: [{ $ref: "#" }, obj("a", ["x"])] },
    { a: null },
    { type: "a" },
    // no branch decides `a` (the self-reference admits any type); the whole schema never ends, and ajv's overflow denies
    [OVERFLOW],
  ],
  [
    "two unions that refer to each other",
    { oneOf: [{ $ref: "#/$defs/A" }], $defs: { A: { oneOf: [{ $ref: "#/$defs/B" }, obj("x", ["y"])] }, B: { oneOf: [{ $ref: "#/$defs/A" }] } } },
    { x: null },
    { type: "x", y: "1" },
    [OVERFLOW],
  ],
  // a valid action: an invalid one collects every path's errors in ajv (2^40), see the report
  ["a reference shared by every level, 40 levels", doubled(40), { leaf: null }, { type: "leaf", x: "1" }, []],
  ["a chain of unions 50 deep", chain(50), { t0: "/$defs/C0/oneOf/0", t50: "/$defs/C49/oneOf/1" }, { type: "t50" }, ["`t50` lacks the field `x`"]],
  [
    "prototype keys as type names",
    { oneOf: [obj("__proto__", ["x"]), obj("constructor", ["y"]), obj("toString")] },
    { __proto__: "/oneOf/0", constructor: "/oneOf/1", toString: "/oneOf/2" },
    { type: "constructor" },
    ["`constructor` lacks the field `y`"],
  ],
  ["a definition name that needs escaping", { oneOf: [{ $ref: "#/$defs/a~1b%25" }], $defs: { "a/b%": obj("slash", ["x"]) } }, { slash: "/oneOf/0" }, { type: "slash", x: 1 }, ["`x` must be string"]],
  [
    "field names that need escaping in a pointer",
    { oneOf: [{ type: "object", properties: { type: { const: "put" }, "a/b": { type: "string" }, "c~d": { type: "object", properties: { "e/f": { type: "string" } } } }, required: ["type"] }] },
    { put: "/oneOf/0" },
    { type: "put", "a/b": 1, "c~d": { "e/f": 2 } },
    ["`a/b` must be string", "`c~d.e/f` must be string"],
  ],
];

describe("hostile action schemas", () => {
  it.each(cases)("%s", async (_name, schema, branches, action, expected) => {
    const text = JSON.stringify(schema);
    const c = compileSource("p.armor", 'schema "./s.json"\ndefault allow\n', { readFile: (p: string) => (p.endsWith("s.json") ? text : undefined) });
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(c.policy?.actionBranches).toMatchObject(branches);
    const e = await createEnforcer({ policy: await loadModule(emit(c).js), throwOnDeny: false });
    const decision = await e.decide(action);
    expect(decision.errors).toEqual(expected.map((m) => ({ rule: null, message: invalid(m) })));
    if (expected.length > 0) expect(decision.decision).toBe("deny");
  });
});

describe("test files: schema errors name the field as written and point at its value", () => {
  const schema = JSON.stringify({
    oneOf: [{ type: "object", properties: { type: { const: "put" }, "a/b": { type: "string" }, "c~d": { type: "object", properties: { "e/f": { type: "string" } } } }, required: ["type"] }],
  });
  const source = 'schema "./s.json"\ndefault allow\ntest "t" {\n  action { type: "put", "a/b": 1, "c~d": { "e/f": 2 } }\n  expect allow\n}\n';
  it.each([
    ["a field with `/`", "`a/b` must be string", "1"],
    ["a field with `~` holding one with `/`", "`c~d.e/f` must be string", "2"],
  ])("%s", (_name, message, at) => {
    const c = compileSource("p.armor", source, { readFile: (p: string) => (p.endsWith("s.json") ? schema : undefined) });
    const d = c.diagnostics.find((x) => x.code === "A606" && x.message === message);
    expect(d, c.diagnostics.map((x) => `${x.code} ${x.message}`).join("\n")).toBeDefined();
    // at the field's value, not at the action as a whole
    expect(source.slice(d!.span.start, d!.span.end)).toBe(at);
  });
});
