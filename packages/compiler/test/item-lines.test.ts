/**
 * Where the parser cuts a file into stretches: at every item line (an item keyword at column 0,
 * after `\n` or `\r`, not followed by a letter, digit or `_`), and nowhere else: not after
 * U+2028/U+2029, not at `rules` or `rule_x`. Checked against the definition as a regex, on texts
 * made of the fragments that decide it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "../src/syntax/parse.js";

const keywords = ["policy", "schema", "default", "timezone", "let", "rule", "test", "import", "param", "disable", "override", "property"];
const itemLine = new RegExp(`^(?:${keywords.join("|")})(?![A-Za-z0-9_])`, "gm");

function expectedStarts(text: string): number[] {
  const starts = [0];
  for (const m of text.matchAll(itemLine)) {
    const before = text.charCodeAt(m.index - 1);
    if (m.index > 0 && (before === 10 || before === 13)) starts.push(m.index);
  }
  return starts;
}

describe("item lines", () => {
  it("are where the definition puts them", () => {
    const fragment = fc.constantFrom(...keywords, "\n", "\r", "\r\n", "\u2028", "\u2029", " ", "s", "X", "_", "1", "x", "rul", "// c", '"', "(");
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        const text = parts.join("");
        const starts = parse("f.armor", text).chunks.map((c) => c.start);
        const expected = expectedStarts(text).filter((s) => s < text.length || text.length === 0);
        // a block comment left open joins stretches; these texts have none
        expect(starts).toEqual(expected.length > 0 ? expected : [0]);
      }),
      { numRuns: 2000 },
    );
  });
});
