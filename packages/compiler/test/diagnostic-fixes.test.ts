/**
 * Tags and fixes are data on the compiler's diagnostics, so that every tool (the language server,
 * `armorc check` in text, JSON and SARIF) offers the same ones: what each case's diagnostic of
 * `code` carries, with every fix applied to the source to show where it lands.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import type { Diagnostic } from "../src/diagnostics/diagnostic.js";
import { renderText, toJson, toSarif } from "../src/diagnostics/render.js";

function apply(text: string, d: Diagnostic): string[] {
  // every fix here is one edit
  return (d.fixes ?? []).map((f) => {
    expect(f.edits).toHaveLength(1);
    const e = f.edits[0]!;
    return `${f.title}: ${JSON.stringify(text.slice(0, e.span.start) + e.newText + text.slice(e.span.end))}`;
  });
}

const cases: { name: string; text: string; code: string; tags: string[] | undefined; fixes: string[] }[] = [
  {
    name: "a missing default goes after the headers, deny preferred",
    text: 'policy p\ntimezone "UTC"\nrule r when action.type == "x" deny\n',
    code: "A404",
    tags: ["file"],
    fixes: [
      'add `default deny`: "policy p\\ntimezone \\"UTC\\"\\ndefault deny\\nrule r when action.type == \\"x\\" deny\\n"',
      'add `default allow`: "policy p\\ntimezone \\"UTC\\"\\ndefault allow\\nrule r when action.type == \\"x\\" deny\\n"',
    ],
  },
  {
    name: "a missing default in a file without headers goes first",
    text: 'rule r when action.type == "x" deny\n',
    code: "A404",
    tags: ["file"],
    fixes: ['add `default deny`: "default deny\\nrule r when action.type == \\"x\\" deny\\n"', 'add `default allow`: "default allow\\nrule r when action.type == \\"x\\" deny\\n"'],
  },
  {
    name: "a missing default after a last header without a newline starts a line",
    text: "policy p",
    code: "A404",
    tags: ["file"],
    fixes: ['add `default deny`: "policy p\\ndefault deny\\n"', 'add `default allow`: "policy p\\ndefault allow\\n"'],
  },
  {
    name: "an unused let is unnecessary and removed with its line",
    text: 'default deny\nlet L = 1\nrule r when action.type == "x" deny\n',
    code: "A403",
    tags: ["unnecessary"],
    fixes: ['remove `L`: "default deny\\nrule r when action.type == \\"x\\" deny\\n"'],
  },
  {
    name: "a misspelt time field is replaced, with no tag",
    text: "default deny\nrule r when time.hours > 9 deny\n",
    code: "A207",
    tags: undefined,
    fixes: ['use `time.hour`: "default deny\\nrule r when time.hour > 9 deny\\n"'],
  },
];

describe("diagnostic tags and fixes", () => {
  it.each(cases)("$name", ({ text, code, tags, fixes }) => {
    const c = compileSource("p.armor", text);
    const d = c.diagnostics.find((x) => x.code === code);
    expect(d, `${code} in ${c.diagnostics.map((x) => x.code).join(", ")}`).toBeDefined();
    expect(d!.tags).toEqual(tags);
    expect(apply(text, d!)).toEqual(fixes);
  });

  it("reaches the text, JSON and SARIF renderings", () => {
    const text = "policy p\n";
    const c = compileSource("p.armor", text);
    const sources = new Map([["p.armor", c.source]]);
    const rendered = renderText(c.diagnostics, sources, { color: false });
    expect(rendered).toContain("= fix: add `default deny`");
    expect(rendered).toContain("= fix: add `default allow`");
    const json = toJson(c.diagnostics, sources).find((d) => d.code === "A404");
    expect(json!.tags).toEqual(["file"]);
    expect(json!.fixes!.map((f) => [f.edits[0]!.newText, f.edits[0]!.range])).toEqual([
      ["default deny\n", { start: { line: 2, column: 1 }, end: { line: 2, column: 1 } }],
      ["default allow\n", { start: { line: 2, column: 1 }, end: { line: 2, column: 1 } }],
    ]);
    const result = toSarif(c.diagnostics, sources, { name: "armorc", version: "0" }).runs[0]!.results.find((r) => r.ruleId === "A404");
    expect(result!.properties!.tags).toEqual(["file"]);
    expect(result!.fixes!.map((f) => [f.description.text, f.artifactChanges[0]!.replacements[0]!.deletedRegion, f.artifactChanges[0]!.replacements[0]!.insertedContent.text])).toEqual([
      ["add `default deny`", { startLine: 2, startColumn: 1, endLine: 2, endColumn: 1, charOffset: 9, charLength: 0 }, "default deny\n"],
      ["add `default allow`", { startLine: 2, startColumn: 1, endLine: 2, endColumn: 1, charOffset: 9, charLength: 0 }, "default allow\n"],
    ]);
  });
});
