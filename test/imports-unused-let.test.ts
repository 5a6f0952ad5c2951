/**
 * A let of an imported file that only an importer reads (`NS.LET`) is used: no "never used"
 * warning (A403) in the imported file; a let no file reads still gets one.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../packages/compiler/src/compile.js";

const BASE = 'default allow\nlet SANCTIONED = ["evil-corp"]\nlet UNUSED = 1\nlet GROUP = "finance"\n';

function unusedLets(files: Record<string, string>): string[] {
  const c = compileSource("/project/main.armor", files["main.armor"]!, { readFile: (p) => files[p.replace(/^\/project\//, "")] });
  return c.diagnostics.filter((d) => d.code === "A403").map((d) => `${d.file.replace(/^\/project\//, "")}: ${d.message}`);
}

// [what, files, the A403 warnings]
const CASES: [string, Record<string, string>, string[]][] = [
  [
    "a let read in a condition through the namespace",
    { "main.armor": 'default allow\nimport "./base.armor" as base\nrule r when action.type == "email" and to in base.SANCTIONED deny\n', "base.armor": BASE },
    ["base.armor: let `UNUSED` is never used", "base.armor: let `GROUP` is never used"],
  ],
  [
    "a let read as an approver group and one in a let of the importer",
    {
      "main.armor": 'default allow\nimport "./base.armor" as base\nlet LIST = base.SANCTIONED\nrule r when action.type == "email" and to in LIST require approval from base.GROUP\n',
      "base.armor": BASE,
    },
    ["base.armor: let `UNUSED` is never used"],
  ],
  [
    "read by one of two importers of the same file",
    {
      "main.armor": 'default allow\nimport "./a.armor" as a\nimport "./b.armor" as b\n',
      "a.armor": 'default allow\nimport "./base.armor" as base\nrule r when action.type == "x" and to in base.SANCTIONED deny\n',
      "b.armor": 'default allow\nimport "./base.armor" as base\nrule r when action.type == "y" and amount > base.UNUSED deny\n',
      "base.armor": BASE,
    },
    ["base.armor: let `GROUP` is never used"],
  ],
  [
    "no importer reads it",
    { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE },
    ["base.armor: let `SANCTIONED` is never used", "base.armor: let `UNUSED` is never used", "base.armor: let `GROUP` is never used"],
  ],
  [
    "the importer's own unused let is still reported",
    {
      "main.armor":
        'default allow\nimport "./base.armor" as base\nlet MINE = 2\nrule r when action.type == "email" and to in base.SANCTIONED and amount > base.UNUSED require approval from base.GROUP\n',
      "base.armor": BASE,
    },
    ["main.armor: let `MINE` is never used"],
  ],
];

describe("A403 in an imported file", () => {
  it.each(CASES)("%s", (_what, files, expected) => {
    expect(unusedLets(files).sort()).toEqual([...expected].sort());
  });
});
