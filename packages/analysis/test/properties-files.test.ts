/**
 * Properties written outside the policy's own file, proved against the policy: those of its
 * `.test.armor` file (checked with the policy's names, numbered after its trackers and regexes)
 * and those of the files it imports (proved against the merged policy, with the importer's
 * `disable`, `override` and parameters; a counterexample names the replacement that breaks it).
 * Each case is a set of files read through an in-memory host and the verdict of every property.
 */
import { type CompilerHost, compileSource, compileTests } from "@agent-armor/compiler";
import { describe, expect, it } from "vitest";
import { type PropertyResult, proveProperties } from "../src/index.js";

const DIR = "/project";

function hostOf(files: Record<string, string>): CompilerHost {
  return { readFile: (p) => (p.startsWith(`${DIR}/`) && Object.hasOwn(files, p.slice(DIR.length + 1)) ? files[p.slice(DIR.length + 1)] : undefined) };
}

interface Verdict {
  readonly name: string;
  /** The file that states the property, relative to the project. */
  readonly file: string;
  readonly status: PropertyResult["status"];
  /** A text each `replaced:` line must hold, in order (none: no replacement is named). */
  readonly replaced?: readonly string[];
  /** Fields the counterexample's action must have. */
  readonly action?: Record<string, unknown>;
}

async function prove(files: Record<string, string>): Promise<Verdict[]> {
  const c = compileSource(`${DIR}/main.armor`, files["main.armor"]!, hostOf(files));
  expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const results = await proveProperties(c, { timeoutMs: 20_000 });
  const testText = files["main.test.armor"];
  if (testText !== undefined) {
    const t = compileTests(`${DIR}/main.test.armor`, testText, c);
    expect(t.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    results.push(...(await proveProperties(c, { timeoutMs: 20_000, sources: new Map([[t.source.name, t.source]]) }, t.propertyPolicy!)));
  }
  return results.map((r) => ({
    name: r.property.name,
    file: (r.property.file ?? c.source.name).slice(DIR.length + 1),
    status: r.status,
    replaced: r.replacements,
    ...(r.example !== null ? { action: r.example.input.action as Record<string, unknown> } : {}),
  }));
}

const POLICY = `default allow
let LIMIT = 10000
rule review when action.type == "wire" and amount > LIMIT require approval
rule sanctions when user.org == "evil-corp" deny
`;

const BASE = `default deny
param wire_limit: number = 10000
let SANCTIONED = ["evil-corp"]
rule no_sanctioned when action.type == "wire" and recipient in SANCTIONED deny
rule big_wires when action.type == "wire" and amount > wire_limit require approval
rule busy when count(type == "wire" within 1h) > 100 deny
property sanctioned_denied: always deny when action.type == "wire" and recipient in SANCTIONED
property big_reviewed: never allow when action.type == "wire" and amount > wire_limit
`;

const cases: { name: string; files: Record<string, string>; verdicts: Verdict[] }[] = [
  {
    name: "a test file's properties read the policy's lets and are proved or refuted against it",
    files: {
      "main.armor": POLICY,
      "main.test.armor": `property reviewed: never allow when action.type == "wire" and amount > LIMIT
property evil: always deny when user.org == "evil-corp"
property small: always allow when action.type == "wire" and amount > 100
`,
    },
    verdicts: [
      { name: "reviewed", file: "main.test.armor", status: "holds", replaced: [] },
      { name: "evil", file: "main.test.armor", status: "holds", replaced: [] },
      { name: "small", file: "main.test.armor", status: "fails", replaced: [], action: { type: "wire", amount: 10001 } },
    ],
  },
  {
    name: "a test file's history predicates and regexes come after the policy's own",
    files: {
      "main.armor": `${POLICY}rule spam when action.type == "mail" and to matches /spam/ deny
property own_mail: always deny when action.type == "mail" and to matches /spam/ and seen(type == "x" within 1h)
`,
      "main.test.armor": `property frequent: never allow when action.type == "wire" and count(type == "wire" within 1h) > 3 and amount > 20000
property mail: always deny when action.type == "mail" and to matches /^spam$/ and count(type == "mail" within 1d) > 2
`,
    },
    verdicts: [
      { name: "own_mail", file: "main.armor", status: "holds", replaced: [] },
      { name: "frequent", file: "main.test.armor", status: "holds", replaced: [] },
      { name: "mail", file: "main.test.armor", status: "holds", replaced: [] },
    ],
  },
  {
    name: "an imported file's properties hold in an importer that keeps its rules",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": BASE },
    verdicts: [
      { name: "base.sanctioned_denied", file: "base.armor", status: "holds", replaced: [] },
      { name: "base.big_reviewed", file: "base.armor", status: "holds", replaced: [] },
    ],
  },
  {
    name: "the importer's parameters are the ones proved with",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base with { wire_limit: 500 }\n', "base.armor": BASE },
    verdicts: [
      { name: "base.sanctioned_denied", file: "base.armor", status: "holds", replaced: [] },
      { name: "base.big_reviewed", file: "base.armor", status: "holds", replaced: [] },
    ],
  },
  {
    name: "a disable that breaks an imported property is named in its counterexample",
    files: { "main.armor": 'default allow\nimport "./base.armor" as base\ndisable base.no_sanctioned\n', "base.armor": BASE },
    verdicts: [
      {
        name: "base.sanctioned_denied",
        file: "base.armor",
        status: "fails",
        replaced: ["base.no_sanctioned (/project/base.armor:4) would deny this input; it is disabled at /project/main.armor:3:1"],
        action: { type: "wire", recipient: "evil-corp" },
      },
      { name: "base.big_reviewed", file: "base.armor", status: "holds", replaced: [] },
    ],
  },
  {
    name: "an override that breaks an imported property is named in its counterexample",
    files: {
      "main.armor": 'default allow\nimport "./base.armor" as base\noverride base.big_wires when action.type == "wire" and amount > 50000 require approval\n',
      "base.armor": BASE,
    },
    verdicts: [
      { name: "base.sanctioned_denied", file: "base.armor", status: "holds", replaced: [] },
      {
        name: "base.big_reviewed",
        file: "base.armor",
        status: "fails",
        replaced: ["base.big_wires (/project/base.armor:5) would require approval for this input; the override at /project/main.armor:3:1 does not fire on it"],
        action: { type: "wire", amount: 10001 },
      },
    ],
  },
  {
    name: "the root's property-only predicates are numbered after every imported rule's",
    files: {
      "main.armor": `default allow
import "./base.armor" as base
property own: never allow when action.type == "wire" and seen(type == "x" within 1h) and amount > 10000
property unguarded: never allow when action.type == "wire" and amount <= 10000 and seen(type == "x" within 1h)
property quiet: always deny when action.type == "wire" and count(type == "wire" within 1h) > 100 and not seen(type == "y" within 1h)
`,
      "base.armor": BASE,
    },
    verdicts: [
      { name: "own", file: "main.armor", status: "holds", replaced: [] },
      // read as the imported rule's count before: reported as holding, though a small wire is allowed
      { name: "unguarded", file: "main.armor", status: "fails", replaced: [], action: { type: "wire" } },
      { name: "quiet", file: "main.armor", status: "holds", replaced: [] },
      { name: "base.sanctioned_denied", file: "base.armor", status: "holds", replaced: [] },
      { name: "base.big_reviewed", file: "base.armor", status: "holds", replaced: [] },
    ],
  },
  {
    name: "a file imported through another keeps both namespaces, and a test file proves against the whole",
    files: {
      "main.armor": 'default allow\nimport "./agent.armor" as agent\n',
      "agent.armor": 'import "./base.armor" as base with { wire_limit: 2000 }\nrule no_night when time.hour < 6 deny\n',
      "base.armor": BASE,
      "main.test.armor": 'property reviewed: never allow when action.type == "wire" and amount > 2000\n',
    },
    verdicts: [
      { name: "agent.base.sanctioned_denied", file: "base.armor", status: "holds", replaced: [] },
      { name: "agent.base.big_reviewed", file: "base.armor", status: "holds", replaced: [] },
      { name: "reviewed", file: "main.test.armor", status: "holds", replaced: [] },
    ],
  },
];

describe("properties of test files and imported files", () => {
  it.each(cases)(
    "$name",
    async ({ files, verdicts }) => {
      const got = await prove(files);
      expect(got.map(({ action: _a, ...v }) => v)).toEqual(verdicts.map(({ action: _a, ...v }) => v));
      for (const [i, v] of verdicts.entries()) if (v.action !== undefined) expect(got[i]!.action).toMatchObject(v.action);
    },
    120_000,
  );
});
