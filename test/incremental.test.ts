/**
 * Re-parsing after an edit gives exactly what parsing from scratch gives. `parse(file, text,
 * previous)` reuses the stretches (item to item) whose text did not change and moves their spans;
 * fed random edit sequences on the example policies, the result must equal a fresh parse in
 * every AST node, span, diagnostic and token, and a compilation started from the previous one
 * must equal a fresh compilation.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../packages/compiler/src/compile.js";
import { type ParseResult, parse } from "../packages/compiler/src/syntax/parse.js";

const root = resolve(import.meta.dirname, "..");
const examples = readdirSync(join(root, "examples"))
  .map((d) => join(root, "examples", d, "policy.armor"))
  .filter((f) => existsSync(f))
  .map((f) => readFileSync(f, "utf8"));

/** Text that edits insert: pieces of items, item keywords at line starts, comment and string delimiters. */
const pieces = [
  "x",
  "1",
  " ",
  "\n",
  "\r\n",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  '"',
  "/*",
  "*/",
  "//",
  "/re/",
  " and ",
  " when ",
  "\nrule r when amount > 1 deny\n",
  "\nrule ",
  "\nlet L = [1, 2]\n",
  '\ntest "t" {\n  action { type: "x" }\n  expect deny\n}\n',
  "\ndefault allow\n",
  "\n/* rule in a comment\nrule c when true deny\n",
  "\u2028",
  "#",
];

interface Edit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}
const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 12 }), insert: fc.constantFrom(...pieces) });

function apply(text: string, e: Edit): string {
  const at = e.at % (text.length + 1);
  return text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
}

function tokensOf(p: ParseResult): unknown[] {
  return p.tokens.map((t) => [t.tokenType.name, t.image, t.startOffset, t.endOffset]);
}

function expectSameParse(incremental: ParseResult, fresh: ParseResult): void {
  expect(incremental.ast).toEqual(fresh.ast);
  expect(incremental.diagnostics).toEqual(fresh.diagnostics);
  expect(tokensOf(incremental)).toEqual(tokensOf(fresh));
}

describe("re-parsing after edits", () => {
  it("equals a fresh parse after every edit of a sequence", () => {
    fc.assert(
      fc.property(fc.constantFrom(...examples), fc.array(edit, { minLength: 1, maxLength: 12 }), (original, edits) => {
        let text = original;
        let previous = parse("policy.armor", text);
        for (const e of edits) {
          text = apply(text, e);
          const incremental = parse("policy.armor", text, previous);
          expectSameParse(incremental, parse("policy.armor", text));
          previous = incremental;
        }
      }),
      { numRuns: 150 },
    );
  });

  it("reuses the items an edit did not touch", () => {
    const text = examples[0]!;
    const before = parse("policy.armor", text);
    // a letter typed into the name of the last rule but one
    const last = text.lastIndexOf("\nrule ");
    const at = text.lastIndexOf("\nrule ", last - 1) + "\nrule ".length;
    const after = parse("policy.armor", `${text.slice(0, at)}x${text.slice(at)}`, before);
    const reused = after.ast.items.filter((item) => before.ast.items.includes(item));
    // the items before the edited one are the very same objects; the ones after it are moved copies
    expect(reused.length).toBeGreaterThan(0);
    expect(reused).toEqual(before.ast.items.filter((item) => item.span.end < at));
    expect(after.ast.items.filter((item) => item.span.start > at).every((item) => !before.ast.items.includes(item))).toBe(true);
  });

  it("does not reuse a previous parse of another file", () => {
    const text = examples[0]!;
    const before = parse("a.armor", text);
    const other = parse("b.armor", text, before);
    expect(other.ast.items.some((item) => before.ast.items.includes(item))).toBe(false);
    expect(other.diagnostics.every((d) => d.file === "b.armor")).toBe(true);
  });

  it("compiles from a previous compilation to the same result as from scratch", () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        let text = examples[0]!;
        let previous = compileSource("policy.armor", text, { readFile: () => undefined });
        for (const e of edits) {
          text = apply(text, e);
          const incremental = compileSource("policy.armor", text, { readFile: () => undefined }, previous);
          const fresh = compileSource("policy.armor", text, { readFile: () => undefined });
          expect(incremental.diagnostics).toEqual(fresh.diagnostics);
          expect(incremental.policy).toEqual(fresh.policy);
          previous = incremental;
        }
      }),
      { numRuns: 40 },
    );
  });
});
