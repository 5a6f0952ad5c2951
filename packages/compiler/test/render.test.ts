import { describe, expect, it } from "vitest";
import type { CatalogEntry } from "../src/diagnostics/catalog.js";
import { allEntries, catalog, docsAnchor } from "../src/diagnostics/catalog.js";
import { type Diagnostic, type DiagnosticExtras, makeDiagnostic, replacement } from "../src/diagnostics/diagnostic.js";
import { artifactUri, layoutLine, renderText, summarize, toJson, toSarif } from "../src/diagnostics/render.js";
import { SourceFile } from "../src/syntax/source.js";

const ESC = "\u001b";

function sources(...files: SourceFile[]): Map<string, SourceFile> {
  return new Map(files.map((f) => [f.name, f]));
}

/** A diagnostic whose span covers the `occurrence`-th appearance of `needle` in the file. */
function at(entry: CatalogEntry, file: SourceFile, needle: string, message: string, extras: DiagnosticExtras = {}, occurrence = 0): Diagnostic {
  return makeDiagnostic(entry, file.name, spanOf(file, needle, occurrence), message, extras);
}

function spanOf(file: SourceFile, needle: string, occurrence = 0): { start: number; end: number } {
  let start = -1;
  for (let i = 0; i <= occurrence; i++) start = file.text.indexOf(needle, start + 1);
  if (start < 0) throw new Error(`${needle} not in ${file.name}`);
  return { start, end: start + needle.length };
}

const lines = (...ls: string[]): string => `${ls.join("\n")}\n`;

// Eleven lines of preamble so that the interesting line is line 12 and the gutter is two wide.
const payments = new SourceFile(
  "payments.armor",
  [
    'policy payments version "1.2.0"',
    "",
    'schema "./actions.schema.json"',
    "",
    "default allow",
    "",
    "let HIGH_VALUE = 10_000",
    "",
    "rule wire_review",
    '  when action.type == "wire" and amount > HIGH_VALUE',
    '  require approval from "finance" timeout 15m',
    '  when action.type == "wire" and amount > "x"',
    "  deny",
    "",
  ].join("\n"),
);

describe("renderText", () => {
  it("renders the rustc-style baseline", () => {
    const d = at(catalog.typeMismatch, payments, 'amount > "x"', '`amount` is a number, but `"x"` is a string', {
      help: "compare with a number, e.g. `amount > 10000`",
    });
    expect(renderText([d], sources(payments), { color: false })).toBe(
      lines(
        'error[A301]: `amount` is a number, but `"x"` is a string',
        "  --> payments.armor:12:34",
        "   |",
        '12 |   when action.type == "wire" and amount > "x"',
        "   |                                  ^^^^^^^^^^^^",
        "   |",
        "   = help: compare with a number, e.g. `amount > 10000`",
        "   = see: docs/diagnostics.md#a301-type-mismatch",
        "",
        "1 error",
      ),
    );
  });

  it("renders nothing for no diagnostics", () => {
    expect(renderText([], sources(payments), { color: false })).toBe("");
    expect(renderText([], sources(payments), { color: true })).toBe("");
  });

  it("separates diagnostics with a blank line and ends with a summary", () => {
    const f = new SourceFile("a.armor", "let X = 1\nwhen foo == 1 deny\n");
    const ds = [at(catalog.unusedLet, f, "X", "`X` is never used"), at(catalog.unknownName, f, "foo", "unknown name `foo`"), at(catalog.unknownName, f, "1", "another", {}, 1)];
    expect(renderText(ds, sources(f), { color: false })).toBe(
      lines(
        "warning[A403]: `X` is never used",
        " --> a.armor:1:5",
        "  |",
        "1 | let X = 1",
        "  |     ^",
        "  |",
        "  = see: docs/diagnostics.md#a403-unused-let",
        "",
        "error[A201]: unknown name `foo`",
        " --> a.armor:2:6",
        "  |",
        "2 | when foo == 1 deny",
        "  |      ^^^",
        "  |",
        "  = see: docs/diagnostics.md#a201-unknown-name",
        "",
        "error[A201]: another",
        " --> a.armor:2:13",
        "  |",
        "2 | when foo == 1 deny",
        "  |             ^",
        "  |",
        "  = see: docs/diagnostics.md#a201-unknown-name",
        "",
        "2 errors, 1 warning",
      ),
    );
  });

  it("summarizes every severity and pluralizes", () => {
    const f = new SourceFile("a.armor", "x");
    const d = (entry: CatalogEntry): Diagnostic => makeDiagnostic(entry, "a.armor", { start: 0, end: 1 }, "m");
    expect(summarize([d(catalog.unknownName)])).toBe("1 error");
    expect(summarize([d(catalog.neverFires), d(catalog.neverFires)])).toBe("2 warnings");
    expect(summarize([d(catalog.missingDefault), d(catalog.alwaysTrue), d(catalog.unknownName), d(catalog.missingDefault)])).toBe("1 error, 1 info, 2 hints");
    const text = renderText([d(catalog.missingDefault), d(catalog.alwaysTrue)], sources(f), { color: false });
    expect(text.endsWith("\n1 info, 1 hint\n")).toBe(true);
    expect(text).toContain("hint[A404]: m\n");
    expect(text).toContain("info[A405]: m\n");
  });

  it("underlines a multi-line span to the end of its first line and marks the rest", () => {
    const f = new SourceFile("m.armor", "rule r\n  when a == 1 and\n    b == 2\n  deny\n");
    const start = f.text.indexOf("a == 1");
    const end = f.text.indexOf("b == 2") + "b == 2".length;
    const d = makeDiagnostic(catalog.neverFires, "m.armor", { start, end }, "rule `r` can never fire");
    expect(renderText([d], sources(f), { color: false })).toBe(
      lines(
        "warning[A401]: rule `r` can never fire",
        " --> m.armor:2:8",
        "  |",
        "2 |   when a == 1 and",
        "  |        ^^^^^^^^^^",
        "...",
        "  |",
        "  = see: docs/diagnostics.md#a401-never-fires",
        "",
        "1 warning",
      ),
    );
  });

  it("treats a span that ends right after a line break as one line", () => {
    const f = new SourceFile("m.armor", "let X = 1\nlet Y = 2\n");
    const d = makeDiagnostic(catalog.unusedLet, "m.armor", { start: 0, end: 10 }, "`X` is never used");
    const text = renderText([d], sources(f), { color: false });
    expect(text).toContain("1 | let X = 1\n  | ^^^^^^^^^\n  |\n");
    expect(text).not.toContain("...");
  });

  it("draws one caret for empty spans, including at the end of a line and of the file", () => {
    const f = new SourceFile("e.armor", "when amount >\n");
    const mid = makeDiagnostic(catalog.unexpectedToken, "e.armor", { start: 5, end: 5 }, "here");
    const eol = makeDiagnostic(catalog.unexpectedToken, "e.armor", { start: 13, end: 13 }, "expected a value");
    const eof = makeDiagnostic(catalog.unexpectedToken, "e.armor", { start: 14, end: 14 }, "unexpected end of file");
    const text = renderText([mid, eol, eof], sources(f), { color: false });
    expect(text).toContain(lines(" --> e.armor:1:6", "  |", "1 | when amount >", "  |      ^"));
    expect(text).toContain(lines(" --> e.armor:1:14", "  |", "1 | when amount >", "  |              ^"));
    // The last line is empty: no trailing space after its gutter.
    expect(text).toContain(lines(" --> e.armor:2:1", "  |", "2 |", "  | ^"));
  });

  it("clamps spans that run past the end of the text", () => {
    const f = new SourceFile("c.armor", "deny");
    const d = makeDiagnostic(catalog.unexpectedToken, "c.armor", { start: 2, end: 99 }, "m");
    expect(renderText([d], sources(f), { color: false })).toContain("1 | deny\n  |   ^^\n");
  });

  it("expands tabs consistently so that carets line up", () => {
    const f = new SourceFile("t.armor", 'rule r\n\twhen\tamount >\t"x"\tdeny\n');
    const d = at(catalog.typeMismatch, f, '"x"', "m");
    expect(renderText([d], sources(f), { color: false })).toContain(
      lines(
        " --> t.armor:2:16", // the column counts a tab as one character
        "  |",
        '2 |     when    amount >    "x" deny',
        "  |                         ^^^",
      ),
    );
    // A span over a tab underlines the whole expanded tab.
    const tab = makeDiagnostic(catalog.unexpectedCharacter, "t.armor", { start: 7, end: 8 }, "m");
    expect(renderText([tab], sources(f), { color: false })).toContain("2 |     when");
    expect(renderText([tab], sources(f), { color: false })).toContain("\n  | ^^^^\n");
  });

  it("lays out wide, combining and control characters by display width", () => {
    expect(layoutLine("a\tb")).toEqual({ display: "a   b", columns: [0, 1, 4, 5] });
    expect(layoutLine("\t\t")).toEqual({ display: "        ", columns: [0, 4, 8] });
    // A CJK character is two columns wide; an astral emoji is two UTF-16 units and two columns.
    expect(layoutLine("\u540dx").columns).toEqual([0, 2, 3]);
    expect(layoutLine("\u{1F600}x").columns).toEqual([0, 0, 2, 3]);
    // A combining accent takes no column.
    expect(layoutLine("e\u0301x").columns).toEqual([0, 1, 1, 2]);
    // Escapes and bidirectional overrides never reach the terminal.
    expect(layoutLine("a\u001bb").display).toBe("a\u241bb");
    expect(layoutLine("a\u202eb")).toEqual({ display: "a<U+202E>b", columns: [0, 1, 9, 10] });
  });

  it("aligns carets after wide characters", () => {
    const f = new SourceFile("w.armor", 'when name == "\u540d\u524d" and amount > "x" deny\n');
    const d = at(catalog.typeMismatch, f, 'amount > "x"', "m");
    expect(renderText([d], sources(f), { color: false })).toContain(lines('1 | when name == "\u540d\u524d" and amount > "x" deny', `  | ${" ".repeat(24)}${"^".repeat(12)}`));
  });

  it("keeps CRLF line breaks out of the snippet", () => {
    const f = new SourceFile("w.armor", "let X = 1\r\nwhen foo deny\r\n");
    const d = at(catalog.unknownName, f, "foo", "m");
    expect(renderText([d], sources(f), { color: false })).toContain(lines(" --> w.armor:2:6", "  |", "2 | when foo deny", "  |      ^^^"));
  });

  it("shows related locations as notes and fixes as `= fix` lines", () => {
    const f = new SourceFile("r.armor", "rule a when x == 1 deny\n\n\n\n\n\n\n\n\nrule a when y == 1 deny\n");
    const second = spanOf(f, "a", 1);
    const d = at(
      catalog.duplicateRule,
      f,
      "a",
      "rule `a` is defined twice",
      {
        help: "rule ids must be unique",
        related: [{ file: "r.armor", span: spanOf(f, "a"), message: "the first `a` is here" }],
        fixes: [replacement("rename this rule to `a_2`", "r.armor", second, "a_2")],
      },
      1,
    );
    expect(renderText([d], sources(f), { color: false })).toBe(
      lines(
        "error[A202]: rule `a` is defined twice",
        "  --> r.armor:10:6",
        "   |",
        "10 | rule a when y == 1 deny",
        "   |      ^",
        "   |",
        "   = help: rule ids must be unique",
        "   = fix: rename this rule to `a_2`",
        "   = see: docs/diagnostics.md#a202-duplicate-rule",
        "note: the first `a` is here",
        "  --> r.armor:1:6",
        "   |",
        " 1 | rule a when x == 1 deny",
        "   |      ^",
        "",
        "1 error",
      ),
    );
  });

  it("renders a diagnostic without a source as a bare file location", () => {
    const d = makeDiagnostic(catalog.fileNotFound, "missing.armor", { start: 0, end: 0 }, "cannot read `missing.armor`", {
      related: [{ file: "other.armor", span: { start: 3, end: 4 }, message: "named here" }],
    });
    expect(renderText([d], new Map(), { color: false })).toBe(
      lines("error[A501]: cannot read `missing.armor`", " --> missing.armor", "  |", "  = see: docs/diagnostics.md#a501-file-not-found", "note: named here", " --> other.armor", "", "1 error"),
    );
  });

  it("never lets control characters from messages reach the terminal", () => {
    const f = new SourceFile("x.armor", "when a deny\n");
    const d = at(catalog.unknownName, f, "a", "unknown name `\u001b[2Jx\ny`");
    const text = renderText([d], sources(f), { color: false });
    expect(text).not.toContain(ESC);
    expect(text.split("\n")[0]).toBe("error[A201]: unknown name `\u241b[2Jx\u240ay`");
  });

  it("emits no escape codes with color off and coloured output with color on", () => {
    const ds = [
      at(catalog.typeMismatch, payments, 'amount > "x"', "an error", { help: "h" }),
      at(catalog.unusedLet, payments, "HIGH_VALUE", "a warning"),
      at(catalog.alwaysTrue, payments, "deny", "an info"),
    ];
    const plain = renderText(ds, sources(payments), { color: false });
    expect(plain).not.toContain(ESC);

    const coloured = renderText(ds, sources(payments), { color: true });
    expect(coloured).toContain(ESC);
    expect(coloured).toContain(`${ESC}[31m`); // red error
    expect(coloured).toContain(`${ESC}[33m`); // yellow warning
    expect(coloured).toContain(`${ESC}[34m`); // blue info
    expect(coloured).toContain(`${ESC}[1m`); // bold header
    expect(coloured).toContain(`${ESC}[2m`); // dim gutter
    // Stripping the escapes gives the plain text back.
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, "")).toBe(plain);
  });
});

describe("toJson", () => {
  it("adds 1-based ranges to the diagnostic, its related locations and the edits of its fixes", () => {
    const second = spanOf(payments, "amount");
    const d = at(catalog.typeMismatch, payments, 'amount > "x"', "m", {
      help: "h",
      related: [{ file: "payments.armor", span: spanOf(payments, "HIGH_VALUE"), message: "declared here" }],
      fixes: [replacement("t", "payments.armor", second, "amount2")],
      data: { suggestion: "amount" },
    });
    const [j] = toJson([d], sources(payments));
    expect(j).toEqual({
      code: "A301",
      name: "type-mismatch",
      severity: "error",
      message: "m",
      help: "h",
      file: "payments.armor",
      span: d.span,
      range: { start: { line: 12, column: 34 }, end: { line: 12, column: 46 } },
      docs: "docs/diagnostics.md#a301-type-mismatch",
      related: [
        {
          file: "payments.armor",
          span: spanOf(payments, "HIGH_VALUE"),
          range: { start: { line: 7, column: 5 }, end: { line: 7, column: 15 } },
          message: "declared here",
        },
      ],
      fixes: [
        {
          title: "t",
          edits: [{ file: "payments.armor", span: second, range: { start: { line: 10, column: 34 }, end: { line: 10, column: 40 } }, newText: "amount2" }],
        },
      ],
      data: { suggestion: "amount" },
    });
    // Plain data: a JSON round trip changes nothing.
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it("covers multi-line and empty spans and leaves absent fields out", () => {
    const f = new SourceFile("m.armor", "a\r\nbc\nd");
    const [multi, empty] = toJson(
      [makeDiagnostic(catalog.neverFires, "m.armor", { start: 1, end: 5 }, "m"), makeDiagnostic(catalog.unexpectedToken, "m.armor", { start: 7, end: 99 }, "eof")],
      sources(f),
    );
    expect(multi?.range).toEqual({ start: { line: 1, column: 2 }, end: { line: 2, column: 3 } });
    expect(empty?.range).toEqual({ start: { line: 3, column: 2 }, end: { line: 3, column: 2 } });
    expect(Object.keys(multi ?? {})).toEqual(["code", "name", "severity", "message", "file", "span", "range", "docs"]);
  });

  it("gives a null range when the file's text is unknown", () => {
    const [j] = toJson([makeDiagnostic(catalog.fileNotFound, "gone.armor", { start: 0, end: 0 }, "m")], new Map());
    expect(j?.range).toBeNull();
  });
});

describe("toSarif", () => {
  const tool = { name: "armorc", version: "0.1.0", informationUri: "https://example.com/agent-armor" };

  it("is a SARIF 2.1.0 log with the whole catalog as rules", () => {
    const log = toSarif([], sources(payments), tool);
    expect(log.version).toBe("2.1.0");
    expect(log.$schema).toMatch(/sarif-2\.1\.0/);
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.results).toEqual([]);
    expect(run.tool.driver.name).toBe("armorc");
    expect(run.tool.driver.version).toBe("0.1.0");
    expect(run.tool.driver.informationUri).toBe("https://example.com/agent-armor");
    expect(run.tool.driver.rules).toHaveLength(allEntries.length);
    run.tool.driver.rules.forEach((rule, i) => {
      const e = allEntries[i];
      expect(e).toBeDefined();
      if (e === undefined) return;
      expect(rule).toEqual({
        id: e.code,
        name: e.name,
        shortDescription: { text: e.summary },
        helpUri: docsAnchor(e),
        defaultConfiguration: { level: e.severity === "error" ? "error" : e.severity === "warning" ? "warning" : "note" },
      });
    });
    expect(new Set(run.tool.driver.rules.map((r) => r.id)).size).toBe(allEntries.length);
    expect(run.tool.driver.rules.find((r) => r.id === "A404")?.defaultConfiguration.level).toBe("note");
  });

  it("can resolve help URIs against a base", () => {
    const log = toSarif([], new Map(), { ...tool, helpBaseUri: "https://github.com/o/agent-armor/blob/main/" });
    expect(log.runs[0].tool.driver.rules.find((r) => r.id === "A301")?.helpUri).toBe("https://github.com/o/agent-armor/blob/main/docs/diagnostics.md#a301-type-mismatch");
  });

  it("reports results with rule indexes, levels, messages, regions, related locations and fixes", () => {
    const f = new SourceFile("policies/p.armor", "let X = 1\nwhen amout > X deny\nwhen a == 1 or\n  b == 2 deny\n");
    const typo = spanOf(f, "amout");
    const ds = [
      at(catalog.unknownName, f, "amout", "unknown name `amout`", {
        help: "did you mean `amount`?",
        related: [{ file: f.name, span: spanOf(f, "X"), message: "a let is here" }],
        fixes: [replacement("replace with `amount`", f.name, typo, "amount")],
      }),
      at(catalog.unusedLet, f, "X", "w"),
      at(catalog.alwaysTrue, f, "a == 1 or\n  b == 2", "i"),
      makeDiagnostic(catalog.missingDefault, f.name, { start: 0, end: 0 }, "h"),
    ];
    const run = toSarif(ds, sources(f), tool).runs[0];
    const rules = run.tool.driver.rules;
    expect(run.results).toHaveLength(4);
    for (const [i, r] of run.results.entries()) {
      expect(r.ruleId).toBe(ds[i]?.code);
      expect(r.ruleIndex).toBeDefined();
      expect(rules[r.ruleIndex ?? -1]?.id).toBe(r.ruleId);
      expect(r.locations[0]?.physicalLocation.artifactLocation.uri).toBe("policies/p.armor");
    }
    expect(run.results.map((r) => r.level)).toEqual(["error", "warning", "note", "note"]);
    expect(run.results[0]?.ruleIndex).toBe(allEntries.indexOf(catalog.unknownName));

    const [err, , multi, hint] = run.results;
    expect(err?.message.text).toBe("unknown name `amout`\nhelp: did you mean `amount`?");
    expect(run.results[1]?.message.text).toBe("w");
    // endColumn is exclusive: `amout` is columns 6..10 of line 2.
    expect(err?.locations[0]?.physicalLocation.region).toEqual({
      startLine: 2,
      startColumn: 6,
      endLine: 2,
      endColumn: 11,
      charOffset: typo.start,
      charLength: 5,
    });
    expect(multi?.locations[0]?.physicalLocation.region).toMatchObject({ startLine: 3, startColumn: 6, endLine: 4, endColumn: 9 });
    expect(hint?.locations[0]?.physicalLocation.region).toMatchObject({ startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 });

    expect(err?.relatedLocations).toEqual([
      {
        id: 0,
        physicalLocation: {
          artifactLocation: { uri: "policies/p.armor" },
          region: { startLine: 1, startColumn: 5, endLine: 1, endColumn: 6, charOffset: 4, charLength: 1 },
        },
        message: { text: "a let is here" },
      },
    ]);
    expect(err?.fixes).toEqual([
      {
        description: { text: "replace with `amount`" },
        artifactChanges: [
          {
            artifactLocation: { uri: "policies/p.armor" },
            replacements: [
              {
                deletedRegion: { startLine: 2, startColumn: 6, endLine: 2, endColumn: 11, charOffset: typo.start, charLength: 5 },
                insertedContent: { text: "amount" },
              },
            ],
          },
        ],
      },
    ]);
    expect(run.results[1]?.relatedLocations).toBeUndefined();
    expect(run.results[1]?.fixes).toBeUndefined();
    // The whole log is plain JSON.
    const log = toSarif(ds, sources(f), tool);
    expect(JSON.parse(JSON.stringify(log))).toEqual(log);
  });

  it("keeps the severity override and uses forward slashes in URIs", () => {
    const d = makeDiagnostic(catalog.unknownField, "policies\\p.armor", { start: 0, end: 1 }, "m", { severity: "error" });
    const [r] = toSarif([d], new Map(), tool).runs[0].results;
    expect(r?.level).toBe("error");
    expect(r?.ruleIndex).toBe(allEntries.indexOf(catalog.unknownField));
    expect(r?.locations[0]?.physicalLocation.artifactLocation.uri).toBe("policies/p.armor");
    // Without the text, the region is given by offsets.
    expect(r?.locations[0]?.physicalLocation.region).toEqual({ charOffset: 0, charLength: 1 });
  });

  it("turns file names into URI references", () => {
    expect(artifactUri("payments.armor")).toBe("payments.armor");
    expect(artifactUri("a\\b c.armor")).toBe("a/b%20c.armor");
    expect(artifactUri("/srv/p.armor")).toBe("file:///srv/p.armor");
    expect(artifactUri("C:\\work\\p.armor")).toBe("file:///C:/work/p.armor");
    expect(artifactUri("file:///srv/p.armor")).toBe("file:///srv/p.armor");
  });
});
