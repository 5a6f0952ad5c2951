/**
 * `actionTypesAt`: the action types the checker knows at a position of a rule (`$0`), as tools
 * ask for them (the language server's completion of `action.`). `null` is any type.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { actionTypesAt } from "../src/semantic/narrowing.js";

const schema = JSON.stringify({
  oneOf: ["a", "b", "c"].map((t) => ({ type: "object", properties: { type: { const: t }, x: { type: "string" } }, required: ["type"] })),
});
const host = { readFile: (path: string) => (path.endsWith("s.json") ? schema : undefined) };

const cases: { name: string; rule: string; types: string[] | null }[] = [
  { name: "a type test before the position narrows", rule: 'when action.type == "a" and $0x == "1" deny', types: ["a"] },
  { name: "so does one with the literal first", rule: 'when "b" == action.type and $0x == "1" deny', types: ["b"] },
  { name: "an `or` of type tests narrows to their union", rule: 'when (type == "a" or type == "c") and $0x == "1" deny', types: ["a", "c"] },
  { name: "`in` a let narrows to its values", rule: 'when type in L and $0x == "1" deny', types: ["a", "b"] },
  { name: "two tests narrow to what they share", rule: 'when type in L and type != "x" and type == "b" and $0x == "1" deny', types: ["b"] },
  { name: "a test after the position does not", rule: 'when $0x == "1" and type == "a" deny', types: null },
  { name: "one `or` branch does not narrow the other", rule: 'when type == "a" or $0x == "1" deny', types: null },
  { name: "a history condition reads an earlier action", rule: 'when type == "a" and seen($0x == "1" within 1h) deny', types: null },
  { name: "the effect sees what the whole condition narrows to", rule: 'when type == "a" or type == "b" redact $0x', types: ["a", "b"] },
];

describe("actionTypesAt", () => {
  it.each(cases)("$name", ({ rule, types }) => {
    const text = `schema "s.json"\ndefault deny\nlet L = ["a", "b"]\nrule r ${rule}\n`;
    const offset = text.indexOf("$0");
    const c = compileSource("p.armor", text.replace("$0", ""), host);
    expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const item = c.ast.items.find((i) => i.kind === "rule") ?? null;
    const found = actionTypesAt(c.model, item, offset);
    expect(found === null ? null : [...found].sort()).toEqual(types);
  });
});
