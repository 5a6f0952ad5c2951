/**
 * The edit formatting falls back to when a line diff would be too long (one change, the text
 * between the common prefix and the common suffix) never begins or ends between the `\r` and the
 * `\n` of a line end, which is no position in the document: applied by a client that clamps
 * positions, such an edit would leave a stray `\r`.
 */
import { describe, expect, it } from "vitest";
import { middle } from "../../packages/lsp/src/features/formatting.js";

// [what, before, after, the change: start, end, text]
const CASES: [string, string, string, number, number, string][] = [
  ["a prefix that ends inside a CRLF", "ab\r\n", "ab\rQ\n", 2, 4, "\rQ\n"],
  ["a suffix that starts inside a CRLF", "A\r\n", "B\n", 0, 3, "B\n"],
  ["line ends of one kind are left alone", "a\nb\n", "a\nc\n", 2, 3, "c"],
];

describe("the single-change fallback of formatting", () => {
  it.each(CASES)("%s", (_what, before, after, start, end, text) => {
    const c = middle(before, after);
    expect(c).toEqual({ start, end, text });
    // applying it gives the formatted text
    expect(before.slice(0, c.start) + c.text + before.slice(c.end)).toBe(after);
  });
});
