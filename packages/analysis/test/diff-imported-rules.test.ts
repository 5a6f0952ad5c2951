/**
 * `armorc diff` naming where the rules responsible for each side are written: a rule of the
 * compared policy by its line, an imported rule by its file and line, in the text, JSON and
 * Markdown reports. Each case is two versions of a policy (read through an in-memory host).
 */
import { type CompilerHost, compileSource } from "@agent-armor/compiler";
import { describe, expect, it } from "vitest";
import { diffPolicies, renderDiff } from "../src/index.js";

const DIR = "/project";

function hostOf(files: Record<string, string>): CompilerHost {
  return { readFile: (p) => (p.startsWith(`${DIR}/`) && Object.hasOwn(files, p.slice(DIR.length + 1)) ? files[p.slice(DIR.length + 1)] : undefined) };
}

const BASE = 'default deny\nlet SANCTIONED = ["evil-corp"]\nrule no_sanctioned when action.type == "wire" and recipient in SANCTIONED deny\n';

const cases: { name: string; files: Record<string, string>; old: string; new: string; text: RegExp[]; json: { side: "old" | "new"; id: string; file: string; line: number }[] }[] = [
  {
    name: "an imported rule disabled in the new version",
    files: { "base.armor": BASE },
    old: 'default allow\nimport "./base.armor" as base\n',
    new: 'default allow\nimport "./base.armor" as base\ndisable base.no_sanctioned\n',
    text: [/ {2}old: deny by base\.no_sanctioned \(\/project\/base\.armor:3\)/, / {2}new: allow by the default/],
    json: [{ side: "old", id: "base.no_sanctioned", file: "/project/base.armor", line: 3 }],
  },
  {
    name: "an imported rule overridden by a rule of the policy",
    files: { "base.armor": BASE },
    old: 'default allow\nimport "./base.armor" as base\n',
    new: 'default allow\nimport "./base.armor" as base\n\noverride base.no_sanctioned when action.type == "wire" and recipient in base.SANCTIONED require approval\n',
    text: [/ {2}old: deny by base\.no_sanctioned \(\/project\/base\.armor:3\)/, / {2}new: require_approval by base\.no_sanctioned \(line 4\)/],
    json: [
      { side: "old", id: "base.no_sanctioned", file: "/project/base.armor", line: 3 },
      { side: "new", id: "base.no_sanctioned", file: "/project/new.armor", line: 4 },
    ],
  },
];

describe("armorc diff names the file of an imported rule", () => {
  it.each(cases)(
    "$name",
    async (c) => {
      const host = hostOf({ ...c.files, "old.armor": c.old, "new.armor": c.new });
      const oldC = compileSource(`${DIR}/old.armor`, c.old, host);
      const newC = compileSource(`${DIR}/new.armor`, c.new, host);
      const r = await diffPolicies(oldC, newC, { timeoutMs: 20_000 });
      expect(r.status).toBe("changed");
      const text = renderDiff(r, "text");
      for (const re of c.text) expect(text).toMatch(re);
      const markdown = renderDiff(r, "markdown");
      for (const re of c.text) expect(markdown).toMatch(new RegExp(re.source.replace("^ {2}", "").replace(" {2}", "- ")));
      const changed = r.findings.filter((f) => f.status === "changed");
      const named = changed.flatMap((f) => (["old", "new"] as const).flatMap((side) => f.example![side].responsible.map((x) => ({ side, id: x.id, file: x.file, line: x.line }))));
      for (const want of c.json) expect(named).toContainEqual(want);
      const json = JSON.parse(renderDiff(r, "json")) as typeof r;
      expect(json.findings.flatMap((f) => (f.example === null ? [] : [...f.example.old.responsible, ...f.example.new.responsible])).every((x) => typeof x.file === "string")).toBe(true);
    },
    120_000,
  );
});
