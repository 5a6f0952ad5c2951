/**
 * The docs test's own pieces: anchors, annotations, output placeholders, `// =>` checks and the
 * Markdown reader, on small inputs whose answers are known.
 */
import { describe, expect, it } from "vitest";
import { blockProblem, githubAnchor, parseAnnotation, readMarkdown } from "./markdown.js";
import { instrumentJs, outputPattern, uncheckedValues } from "./run.js";

describe("githubAnchor", () => {
  it.each([
    ["7. History: count and seen", "7-history-count-and-seen"],
    ["armorc test [PATH...]", "armorc-test-path"],
    ["The language server's re-check after an edit (5,000-line policy)", "the-language-servers-re-check-after-an-edit-5000-line-policy"],
    ["A301 type-mismatch", "a301-type-mismatch"],
    ["3.8 Limits", "38-limits"],
  ])("%s → #%s", (heading, anchor) => expect(githubAnchor(heading)).toBe(anchor));
});

describe("parseAnnotation", () => {
  it.each([
    ["skip: needs a terminal to answer the prompt", { skip: "needs a terminal to answer the prompt" }],
    ["skip: a reason; with a semicolon", { skip: "a reason; with a semicolon" }],
    ["expect A301, A404", { expect: ["A301", "A404"] }],
    ["expect none", { expect: [] }],
    ["files cli; run armorc check payments.armor; exit 1; stderr", { files: "cli", run: "armorc check payments.armor", exit: 1, stderr: true }],
    ['decide {"action": {"type": "a;b"}} => deny by r1, r2', { decide: [{ stage: "call", input: '{"action": {"type": "a;b"}}', decision: "deny", by: ["r1", "r2"] }] }],
    ['decide result {"action": {"type": "x"}, "result": 1} => allow', { decide: [{ stage: "result", input: '{"action": {"type": "x"}, "result": 1}', decision: "allow" }] }],
    ["saves actions.schema.json", { saves: "actions.schema.json" }],
    ['each-line schema "./a.json"\\ndefault allow', { eachLine: 'schema "./a.json"\ndefault allow' }],
  ])("%s", (text, want) => expect(parseAnnotation(text)).toEqual(want));

  it.each([
    ["skip", /needs a reason/],
    ["skip: no", /needs a reason/],
    ["expect 301", /diagnostic codes/],
    ["decide {} => maybe", /unknown docs-test directive/],
    ["frobnicate", /unknown docs-test directive/],
    ["each-line", /unknown docs-test directive/],
  ])("refuses %s", (text, error) => expect(() => parseAnnotation(text)).toThrow(error));
});

describe("outputPattern", () => {
  it.each([
    ["ok: <n> records", "ok: 11 records\n", true],
    ["ok: <n> records", "ok: many records\n", false],
    ["decided at <time> by <id>", "decided at 2026-03-02T10:00:00.123Z by mf3k2-a1b2-7\n", true],
    ["hash <hash>", "hash 9f86d081884c7d65\n", true],
    ["took <duration>", "took 12.5 ms\n", true],
    ["first\n...\nlast", "first\nlast\n", true],
    ["first\n...\nlast", "first\na\nb\nlast\n", true],
    ["first\n...\nlast", "first\na\nb\n", false],
    ["a (b) [c] $d", "a (b) [c] $d\n", true],
    ["exact", "exact but more\n", false],
  ])("%j against %j", (shown, printed, matches) => expect(outputPattern(shown).test(printed)).toBe(matches));
});

describe("instrumentJs", () => {
  const run = (code: string): Promise<unknown> => new (Object.getPrototypeOf(async () => {}).constructor)(instrumentJs(code))();
  it.each([
    ["const x = { a: 1, b: [1, 2] };\n// => { a: 1 }", true],
    ["const x = { a: 1 };\n// => { a: 2 }", false],
    ["[1, 2, 3];\n// => [1, 2]", false],
    ["const x = {\n  a: { b: 'c' },\n};\n// => { a: { b: 'c' } }", true],
    ["Math.max(\n  1,\n  5,\n);\n// => 5", true],
    ["1 + 1;\n// => 3", false],
  ])("%j", async (code, passes) => {
    if (passes) await expect(run(code)).resolves.toBeUndefined();
    else await expect(run(code)).rejects.toThrow(/\/\/ =>/);
  });
});

describe("uncheckedValues", () => {
  it.each([
    ['const d = decide(x);\n// { decision: "deny" }', ['// { decision: "deny" }']],
    ['const d = decide(x);\n// => { decision: "deny" }', []],
    ["// a mismatch throws PolicyAssertionError", []],
    ["f(); // [1, 2] at the end of a line is prose", []],
  ])("%j", (code, want) => expect(uncheckedValues(code)).toEqual(want));
});

describe("readMarkdown", () => {
  const text = [
    "# Title", // 1
    "", // 2
    "See [the CLI](cli.md#armorc-check) and", // 3
    "[results](../bench/RESULTS.md), 34.0 ms median.", // 4
    "", // 5
    "<!-- docs-test: expect A301 -->", // 6
    "```armor", // 7
    'when amount > "x" deny', // 8
    "```", // 9
    "", // 10
    "- a list item:", // 11
    "", // 12
    "  ```sh", // 13
    "  npx armorc --version", // 14
    "  ```", // 15
  ].join("\n");
  const doc = readMarkdown("doc.md", text);

  it("finds blocks with their line, language and annotation", () => {
    expect(doc.blocks.map((b) => [b.line, b.lang, b.annotation])).toEqual([
      [7, "armor", { expect: ["A301"] }],
      [13, "sh", {}],
    ]);
  });
  it("finds links on their own line, and figures with their paragraph's links", () => {
    expect(doc.links.map((l) => [l.line, l.href])).toEqual([
      [3, "cli.md#armorc-check"],
      [4, "../bench/RESULTS.md"],
    ]);
    expect(doc.figures.map((f) => [f.line, f.text, f.links.length])).toEqual([[4, "34.0 ms", 2]]);
  });
  it("collects heading anchors", () => expect([...doc.anchors]).toEqual(["title"]));
});

describe("blockProblem: a block that would pass without checking anything fails", () => {
  it.each([
    ["armor", "", null],
    ["armor", 'decide {"action": {"type": "x"}} => deny', null],
    ["sh", "files cli; exit 1", null],
    ["text", "files cli; run armorc check payments.armor; exit 1; stderr", null],
    ["json", "run armorc eval p.armor --input i.json", null],
    ["text", "each-line default allow", null],
    ["json", "saves actions.schema.json", null],
    ["text", "", null],
    ["lua", "", null],
    ["text", "skip: shown for its shape only", null],
    ["bash", "", /`bash` block is not run/],
    ["ts", "", /`ts` block is not run/],
    ["text", 'decide {"action": {"type": "x"}} => deny', /does not act on `decide`/],
    ["armor", "exit 1", /does not act on `exit`/],
    ["sh", "expect A301", /does not act on `expect`/],
    ["js", "stderr", /does not act on `stderr`/],
    ["text", "run armorc check p.armor; decide {} => allow", /with `run` does not act on `decide`/],
    ["json", "schema examples/payments/actions.schema.json", /does not act on `schema`/],
  ])("%s block with %j", (lang, annotation, problem) => {
    const got = blockProblem({ lang, annotation: parseAnnotation(annotation) });
    if (problem === null) expect(got).toBeNull();
    else expect(got).toMatch(problem);
  });
});
