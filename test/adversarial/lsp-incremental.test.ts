/**
 * Hostile edits to the language server's incremental path. The server compiles each version of a
 * policy from the previous compilation (`compileSource(file, text, host, previous)`), which reuses
 * the items whose text did not change; whatever the edit, the diagnostics and the checked policy
 * must be exactly those of a compilation from scratch. Each case is a sequence of edits applied
 * one after another, every intermediate version compared.
 */
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { type Compilation, compileSource } from "../../packages/compiler/src/compile.js";
import { Analyses } from "../../packages/lsp/src/analysis.js";
import { Documents } from "../../packages/lsp/src/documents.js";

const host = { readFile: () => undefined };

/** A policy of `items` items: lets, rules of several shapes, tests; line breaks as given. */
function policy(items: number, eol = "\n"): string {
  const out = ['policy hostile version "1.0.0"', "default deny", ""];
  // two header items, then `items` more
  for (let i = 0; i < items; i++) {
    switch (i % 4) {
      case 0:
        out.push(`let LIMIT_${i} = ${1000 + i}`, "");
        break;
      case 1:
        out.push(`rule big_${i}`, `  when amount > LIMIT_${i - 1} and recipient in ["a-${i}", "b-${i}"]`, `  deny because "big ${i}"`, "");
        break;
      case 2:
        out.push(`rule read_${i} when path matches /secret-${i}/ and seen(type == "read_file" within 30m) deny`, "");
        break;
      case 3:
        out.push(`test "t ${i}" {`, `  action { type: "wire", amount: ${i} }`, "  expect deny", "}", "");
        break;
    }
  }
  return out.join(eol) + eol;
}

type Where = number | "start" | "end" | { readonly after: string; readonly nth?: number };
interface Edit {
  readonly at: Where;
  readonly remove?: number;
  readonly insert?: string;
}

function offset(text: string, at: Where): number {
  if (at === "start") return 0;
  if (at === "end") return text.length;
  if (typeof at === "number") return at < 0 ? text.length + at : at;
  let found = -1;
  for (let n = 0; n <= (at.nth ?? 0); n++) {
    found = text.indexOf(at.after, found + 1);
    if (found < 0) throw new Error(`no \`${at.after}\` in the text`);
  }
  return found + at.after.length;
}

function apply(text: string, e: Edit): string {
  const at = offset(text, e.at);
  return text.slice(0, at) + (e.insert ?? "") + text.slice(Math.min(text.length, at + (e.remove ?? 0)));
}

function expectSame(incremental: Compilation, fresh: Compilation): void {
  expect(incremental.diagnostics).toEqual(fresh.diagnostics);
  expect(incremental.policy).toEqual(fresh.policy);
  expect(incremental.ast).toEqual(fresh.ast);
}

/** Applies the edits in turn, each version compiled from the previous one and from scratch. */
function run(start: string, edits: readonly Edit[]): Compilation {
  let text = start;
  let previous = compileSource("policy.armor", text, host);
  for (const e of edits) {
    text = apply(text, e);
    const incremental = compileSource("policy.armor", text, host, previous);
    expectSame(incremental, compileSource("policy.armor", text, host));
    previous = incremental;
  }
  return previous;
}

const small = policy(60);
const crlf = policy(60, "\r\n");

const cases: readonly { readonly name: string; readonly text: string; readonly edits: readonly Edit[] }[] = [
  {
    name: "a rule split in two by an item line typed into its condition",
    text: small,
    edits: [{ at: { after: "when amount > LIMIT_4", nth: 0 }, insert: "\nrule split when amount > 1 deny\n  and" }],
  },
  {
    name: "two items joined: the line break before a `rule` removed, then put back",
    text: small,
    edits: [
      { at: { after: 'big 5"', nth: 0 }, remove: 2 },
      { at: { after: 'big 5"', nth: 0 }, insert: "\n" },
      { at: { after: 'big 5"', nth: 0 }, insert: "\n" },
    ],
  },
  {
    name: "an item keyword indented, so its item joins the one before",
    text: small,
    edits: [{ at: { after: "\n", nth: 20 }, insert: " " }],
  },
  {
    name: "the first byte: typed, deleted, a line break, a keyword",
    text: small,
    edits: [
      { at: "start", insert: "x" },
      { at: "start", remove: 2 },
      { at: "start", insert: "\n" },
      { at: "start", insert: "rule first when true deny\n" },
    ],
  },
  {
    name: "the last byte: deleted, a rule appended without a final line break, a letter typed",
    text: small,
    edits: [
      { at: -1, remove: 1 },
      { at: "end", insert: "\nrule last when amount > 1 deny" },
      { at: "end", insert: "x" },
      { at: -1, remove: 1 },
    ],
  },
  {
    name: "an unterminated string across every item after it, then closed",
    text: small,
    edits: [
      { at: { after: 'because "big 1', nth: 0 }, remove: 1 },
      { at: { after: "big 5", nth: 0 }, insert: "x" },
      { at: { after: 'because "big 1', nth: 0 }, insert: '"' },
    ],
  },
  {
    name: "a string opened at the first item and never closed",
    text: small,
    edits: [
      { at: { after: "policy hostile version " }, insert: '"' },
      { at: "end", insert: "x" },
    ],
  },
  {
    name: "a block comment opened across many items, then closed further down, then removed",
    text: small,
    edits: [
      { at: { after: "\n", nth: 5 }, insert: "/* " },
      { at: { after: "rule read_14" }, insert: " */" },
      { at: { after: "\n", nth: 5 }, remove: 3 },
    ],
  },
  {
    name: "CRLF line ends: a digit changed, a letter typed after a field, a bare CR, a LF turned CRLF",
    text: crlf,
    edits: [
      { at: { after: "LIMIT_4 = 100" }, remove: 1, insert: "7" },
      { at: { after: "amount", nth: 3 }, insert: "x" },
      { at: { after: '"big 9"' }, insert: "\r" },
      { at: { after: "\r\n", nth: 30 }, remove: 2, insert: "\n" },
      { at: { after: "\n", nth: 30 }, insert: "\r" },
    ],
  },
  {
    name: "every line end of a CRLF file's first rule turned LF",
    text: crlf,
    edits: [
      { at: { after: "rule big_1" }, remove: 2, insert: "\n" },
      { at: { after: 'in ["a-1", "b-1"]' }, remove: 2, insert: "\n" },
    ],
  },
];

describe("incremental compilation under hostile edits equals compiling from scratch", () => {
  it.each(cases)("$name", ({ text, edits }) => {
    run(text, edits);
  });

  it("a 5,000-item file edited at both ends", () => {
    const big = policy(5000);
    const last = run(big, [
      { at: "start", insert: "x" },
      { at: "end", insert: "rule tail when amount > 1 deny\n" },
      { at: "start", remove: 1 },
      { at: "end", insert: "x" },
      { at: -1, remove: 1 },
      { at: { after: "tail when amount > " }, remove: 1, insert: "2" },
      { at: { after: "LIMIT_0 = 100" }, remove: 1, insert: "9" },
    ]);
    expect(last.ast.items.length).toBe(2 + 5000 + 1);
  }, 120_000);

  it("through the server's analysis cache: the same diagnostics as a compilation from scratch", () => {
    const uri = pathToFileURL("/nonexistent/hostile/policy.armor").href;
    const documents = new Documents();
    const analyses = new Analyses(documents, null);
    let text = policy(5000);
    let version = 1;
    documents.openDocument(uri, version, text);
    analyses.analysis(uri);
    const end = (t: string) => {
      const lines = t.split("\n");
      return { line: lines.length - 1, character: lines[lines.length - 1]!.length };
    };
    for (const e of [
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '"' },
      { range: { start: end(text), end: end(text) }, text: "rule tail when" },
    ]) {
      documents.change(uri, ++version, [e]);
      text = documents.change(uri, version, [])!.getText();
      const fresh = compileSource("/nonexistent/hostile/policy.armor", text, host);
      expect(analyses.analysis(uri)!.diagnostics).toEqual(fresh.diagnostics);
    }
  }, 120_000);
});
