// What the grammar allows at a cursor (syntax/expected.ts), as a table: the literal or comment the
// cursor is in, the word being typed, and tokens that must (and must not) come next. The stretch
// walked back to is the item line's, as the parser splits files (parse.ts).
import { describe, expect, it } from "vitest";
import { expectedAt, MAX_ASSIST_TEXT, MAX_ASSIST_TOKENS } from "../src/syntax/expected.js";
import { stretchStartBefore } from "../src/syntax/parse.js";

interface Row {
  readonly text: string;
  readonly inside?: "string" | "regex" | "comment" | null;
  /** The text of the word being typed. */
  readonly word?: string;
  readonly next?: readonly string[];
  readonly notNext?: readonly string[];
}

const rows: readonly Row[] = [
  { text: 'rule x when action.type == "w" and ', inside: null, next: ["Identifier", "Not", "LParen", "StringLiteral"], notNext: ["Rule", "Because", "Deny"] },
  { text: "rule x when am", word: "am", next: ["Identifier", "Not"] },
  { text: 'rule x when a > 1 deny because "r" ', next: ["Rule", "Let", "Test"], notNext: ["Because", "And"] },
  { text: "rule x when a > 1\n  ", next: ["Deny", "Allow", "Require", "Redact", "Label", "And", "Or"], notNext: ["Because", "Between"] },
  { text: "rule x ", next: ["On", "When"], notNext: ["Deny"] },
  { text: "rule x on ", next: ["Identifier"], notNext: ["When"] },
  { text: 'rule x when memo == "ab', inside: "string", word: '"ab' },
  { text: "rule x when memo matches /ab", inside: "regex", word: "/ab" },
  { text: "rule x when memo matches /ab/i", inside: "regex" },
  { text: "rule x when memo / 2 > 1 and ", inside: null, next: ["Identifier"] },
  { text: "rule x when a > 1 // note ", inside: "comment" },
  { text: "rule x when a > 1 /* note ", inside: "comment" },
  { text: "rule x when a > 1 /* note */ ", inside: null, next: ["Deny"] },
  { text: 'rule x when a == "x" ', inside: null, next: ["And", "Deny"] },
  { text: "rule a when x deny\n\nrule b when ", next: ["Identifier"], notNext: ["Rule"] },
  { text: 'test "t" {\n  expect deny by ', next: ["Name"] },
  { text: `rule x when ${"(".repeat(70)}`, next: [] },
];

describe("expectedAt", () => {
  it.each(rows)("$text", (row) => {
    const e = expectedAt(row.text, row.text.length);
    if (row.inside !== undefined) expect(e.inside).toBe(row.inside);
    if (row.word !== undefined) expect(row.text.slice(e.wordStart)).toBe(row.word);
    const next = new Set(e.next.map((n) => n.token));
    for (const t of row.next ?? []) expect(next, t).toContain(t);
    for (const t of row.notNext ?? []) expect(next, t).not.toContain(t);
    if (row.next?.length === 0) expect(e.next).toEqual([]);
  });

  it("is not asked past its limits", () => {
    const many = `rule x when ${"a == 1 and ".repeat(MAX_ASSIST_TOKENS / 4 + 1)}`;
    expect(expectedAt(many, many.length).next).toEqual([]);
    const long = `rule x when memo == 1 and ${" ".repeat(MAX_ASSIST_TEXT)}`;
    expect(expectedAt(long, long.length).next).toEqual([]);
  });
});

describe("stretchStartBefore", () => {
  it.each([
    ["default deny\nrule a when x deny\n  and y", 13],
    ["default deny\n  rule a", 0],
    ["rule a\nrules\n", 0],
    ["let A = 1\r\nrule b", 11],
    ["", 0],
  ] as const)("%j starts at %d", (text, start) => {
    expect(stretchStartBefore(text, text.length)).toBe(start);
  });

  it("gives up past its limit", () => {
    expect(stretchStartBefore(`rule a\n${"// c\n".repeat(100)}`, 507, 100)).toBe(-1);
  });
});
