/**
 * `armorc diff` and the rules of the `result` and `output` stages, which the solver does not
 * compare. A pair whose stage rules differ (a rule added, removed, disabled, reordered, or changed:
 * its condition, what it redacts and with what text, its label) is never "no behaviour change
 * (proved)": the rules that differ are named as not compared, and the exit code is 2 unless a
 * change to calls is shown (1). A pair whose stage rules are the same in both versions decides
 * those stages alike, so it may still be proved unchanged. Each row is checked through the text,
 * JSON and Markdown reports and the exit code of the built `armorc`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type DiffResult, diffPolicies, renderDiff } from "../packages/analysis/src/index.js";
import { compileSource } from "../packages/compiler/src/compile.js";
import { repoRoot } from "./support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");
let work: string;

beforeAll(() => {
  expect(existsSync(join(repoRoot, "packages", "cli", "dist", "bundle", "armorc.js")), "run `npm run build` first").toBe(true);
  work = mkdtempSync(join(tmpdir(), "armorc-diff-stages-"));
});

interface Case {
  readonly name: string;
  readonly old: string;
  readonly new: string;
  readonly status: DiffResult["status"];
  /** The rules named as differing: `STAGE RULE`, in any order. */
  readonly differ: readonly string[];
}

const OUTPUT_X = 'default allow\nrule m on output when output.text matches /secret/ redact output.text matching /secret/ with "X"\n';
const RESULT_TWO =
  'default allow\nrule a on result when action.type == "read" redact result.text matching /\\d{4}/ with "#"\nrule b on result when action.type == "read" redact result.text matching /\\d+/ with "*"\n';

const CASES: readonly Case[] = [
  {
    name: "every card-number protection of the result and output stages disabled",
    old: 'default allow\nimport "armor:pci" as pci\n',
    new: 'default allow\nimport "armor:pci" as pci\ndisable pci.mask_pan_in_output\ndisable pci.withhold_pan_in_output\ndisable pci.mask_pan_in_result\ndisable pci.withhold_pan_in_result\n',
    status: "unknown",
    differ: ["result pci.mask_pan_in_result", "result pci.withhold_pan_in_result", "output pci.mask_pan_in_output", "output pci.withhold_pan_in_output"],
  },
  {
    name: "an output redaction's text changed",
    old: OUTPUT_X,
    new: OUTPUT_X.replace('with "X"', 'with "Y"'),
    status: "unknown",
    differ: ["output m"],
  },
  {
    name: "an output redaction's pattern widened",
    old: OUTPUT_X,
    new: OUTPUT_X.replace("matching /secret/", "matching /secret|key/"),
    status: "unknown",
    differ: ["output m"],
  },
  {
    name: "a result rule's label changed",
    old: 'default allow\nrule u on result when action.type == "fetch" label "untrusted"\n',
    new: 'default allow\nrule u on result when action.type == "fetch" label "trusted"\n',
    status: "unknown",
    differ: ["result u"],
  },
  {
    name: "a result rule added",
    old: "default allow\n",
    new: "default allow\nrule w on result when result.size > 10 deny\n",
    status: "unknown",
    differ: ["result w"],
  },
  {
    name: "two result redactions swapped (they apply in order)",
    old: RESULT_TWO,
    new: 'default allow\nrule b on result when action.type == "read" redact result.text matching /\\d+/ with "*"\nrule a on result when action.type == "read" redact result.text matching /\\d{4}/ with "#"\n',
    status: "unknown",
    differ: ["result a", "result b"],
  },
  {
    name: "an output rule changed beside a shown change to calls",
    old: `${OUTPUT_X}rule big when action.type == "wire" and amount > 100 deny\n`,
    new: `${OUTPUT_X.replace('with "X"', 'with "Y"')}rule big when action.type == "wire" and amount > 1000 deny\n`,
    status: "changed",
    differ: ["output m"],
  },
  {
    name: "the same stage rules, with a call rule's formatting changed",
    old: `${RESULT_TWO}rule big when action.type == "wire" and amount > 100 deny\n`,
    new: `${RESULT_TWO}rule big\n  when action.type == "wire"\n    and amount > 100\n  deny\n`,
    status: "unchanged",
    differ: [],
  },
];

const EXIT = { unchanged: 0, changed: 1, unknown: 2 } as const;

describe("armorc diff: rules of the result and output stages", () => {
  it.each(CASES)(
    "$name",
    async (c) => {
      const dir = mkdtempSync(join(work, "case-"));
      const oldPath = join(dir, "old.armor");
      const newPath = join(dir, "new.armor");
      writeFileSync(oldPath, c.old);
      writeFileSync(newPath, c.new);
      const r = await diffPolicies(compileSource(oldPath, c.old), compileSource(newPath, c.new));
      expect(r.status).toBe(c.status);
      const named = r.notCompared.filter((n) => n.why !== undefined).map((n) => `${n.stage} ${n.rule}`);
      expect(named.sort()).toEqual([...c.differ].sort());

      const text = renderDiff(r, "text");
      const headline = text.split("\n")[0]!;
      if (c.status !== "unchanged") expect(headline).not.toContain("no behaviour change");
      for (const d of c.differ) {
        const [stage, rule] = d.split(" ");
        expect(text).toMatch(new RegExp(`^not compared: rule ${rule!.replace(".", "\\.")} of .*\\b${stage}\\b`, "m"));
      }
      if (c.differ.length === 0) expect(text).not.toContain("not compared");

      const markdown = renderDiff(r, "markdown");
      if (c.status !== "unchanged") expect(markdown).not.toContain("no behaviour change");
      for (const d of c.differ) expect(markdown).toContain(`> not compared: rule ${d.split(" ")[1]} of `);

      const cli = spawnSync(process.execPath, [bin, "diff", oldPath, newPath, "--format", "json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
      expect(cli.status, cli.stderr).toBe(EXIT[c.status]);
      const json = JSON.parse(cli.stdout) as DiffResult;
      expect(json.status).toBe(c.status);
      expect(
        json.notCompared
          .filter((n) => typeof n.why === "string")
          .map((n) => `${n.stage} ${n.rule}`)
          .sort(),
      ).toEqual([...c.differ].sort());
    },
    120_000,
  );
});
