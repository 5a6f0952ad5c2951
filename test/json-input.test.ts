/**
 * JSON read from files (`armorc eval --input`, schemas) is reported at the offending token,
 * whether or not the JavaScript engine's message names a position.
 */
import { describe, expect, it } from "vitest";
import { parseJsonInput } from "../packages/cli/src/armorc/eval.js";
import { loadActionSchema } from "../packages/compiler/src/semantic/schema.js";
import { SourceFile } from "../packages/compiler/src/syntax/source.js";

/** Each malformed text and the 1-based line:column of its first invalid token. */
const malformed: { text: string; at: string }[] = [
  { text: `{"action": {"type": 'x'}}`, at: "1:21" },
  { text: `{\n  "action": {\n    "type": 'send_email'\n  }\n}\n`, at: "3:13" },
  { text: `{"action": {"type": "x"},}`, at: "1:26" },
  { text: `{"action": {"type": "x"} // why\n}`, at: "1:26" },
  { text: `{"action": /* c */ {"type": "x"}}`, at: "1:12" },
  { text: `{\n"action": {"type": "x", "n": NaN}}`, at: "2:30" },
  { text: `{"action": {"type": "x", "n": Infinity}}`, at: "1:31" },
  { text: `{"action": {"type": "x", "n": .5}}`, at: "1:31" },
  { text: `{"action": {"type": "x", "n": 0x10}}`, at: "1:32" },
  { text: `{"action": {"type": "x", "n": 01}}`, at: "1:32" },
  { text: `{action: {"type": "x"}}`, at: "1:2" },
  { text: `{"action": {"type": "x"}} {}`, at: "1:27" },
  { text: `{"action": [1,,2]}`, at: "1:15" },
  { text: `{"action": {"type": tru}}`, at: "1:21" },
  { text: `{"action": {"type": "a\tb"}}`, at: "1:23" },
  { text: `\n\n{"action": {"type": "x"`, at: "3:24" },
  { text: ``, at: "1:1" },
  { text: `\uFEFF{"action": {"type": "x"}}`, at: "1:1" },
];

function locate(name: string, text: string, offset: number): string {
  const p = new SourceFile(name, text).positionAt(offset);
  return `${p.line + 1}:${p.column + 1}`;
}

describe("JSON input errors", () => {
  it.each(malformed)("$text is located at $at", ({ text, at }) => {
    const r = parseJsonInput("input.json", text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.diagnostic.code).toBe("A502");
    expect(locate("input.json", text, r.diagnostic.span.start)).toBe(at);
    expect(r.diagnostic.message).not.toMatch(/is not valid JSON$|at position/);
  });

  it("accepts what JSON accepts", () => {
    expect(parseJsonInput("input.json", ' { "action" : { "type" : "x", "n": -1.5e3, "s": "\\u00e9\\n" } } ')).toEqual({
      ok: true,
      value: { action: { type: "x", n: -1500, s: "é\n" } },
    });
  });

  it.each(malformed)("a schema $text names line:column $at", ({ text, at }) => {
    const r = loadActionSchema("s.json", text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem).toBe("invalid-json");
    const [line, column] = at.split(":");
    expect(r.message).toContain(`at line ${line}, column ${column}:`);
  });
});
