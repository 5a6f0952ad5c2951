/**
 * Hostile properties in test files and imported files: a property the solver cannot finish (in a
 * test file, in an imported file), properties in a cycle of imports, a property whose guarantee
 * is a rule the importer disables, and broken property sources in a test file. What must hold: a
 * proof stops at its timeout and says so (never "holds"), a cycle is a diagnostic in the files
 * involved and nothing is proved, a disabled rule is named in the counterexample, and the front
 * end reports a broken property with a code and a location in the file that states it.
 */
import { describe, expect, it } from "vitest";
import { proveProperties } from "../../packages/analysis/src/index.js";
import { type CompilerHost, compileSource, compileTests } from "../../packages/compiler/src/compile.js";

const DIR = "/project";

function hostOf(files: Record<string, string>): CompilerHost {
  return { readFile: (p) => (p.startsWith(`${DIR}/`) && Object.hasOwn(files, p.slice(DIR.length + 1)) ? files[p.slice(DIR.length + 1)] : undefined) };
}

function compile(files: Record<string, string>) {
  return compileSource(`${DIR}/main.armor`, files["main.armor"]!, hostOf(files));
}

/** Regex inclusion under `.*` on both sides: Z3 does not settle it within a second. */
const HARD_RULE = "rule secrets when body matches /(password|secret)=[a-z0-9]+/ redact body matching /(password|secret)=[a-z0-9]+/\n";
const HARD_PROPERTY = "property hard: always redacted or deny when body matches /secret=[a-z]/\n";

describe("properties the solver cannot finish, outside the policy's file", () => {
  it.each([
    { name: "in a test file", files: { "main.armor": `default allow\n${HARD_RULE}`, "main.test.armor": HARD_PROPERTY }, property: "hard", file: "main.test.armor" },
    {
      name: "in an imported file",
      files: { "main.armor": 'default allow\nimport "./base.armor" as base\n', "base.armor": `default allow\n${HARD_RULE}${HARD_PROPERTY}` },
      property: "base.hard",
      file: "base.armor",
    },
  ])(
    "$name: stops at the timeout and is not proved",
    async ({ files, property, file }) => {
      const c = compile(files);
      expect(c.ok).toBe(true);
      const test = (files as Record<string, string>)["main.test.armor"];
      const t = test === undefined ? null : compileTests(`${DIR}/main.test.armor`, test, c);
      const options = { timeoutMs: 1_000, searchSamples: 100, ...(t !== null ? { sources: new Map([[t.source.name, t.source]]) } : {}) };
      const started = performance.now();
      const results = await proveProperties(c, options, t?.propertyPolicy ?? c.policy);
      // the solver's limit bounds the proof (generous for a shared machine)
      expect(performance.now() - started).toBeLessThan(60_000);
      const r = results.find((x) => x.property.name === property)!;
      expect(r.property.file).toBe(`${DIR}/${file}`);
      expect(r.status).toBe("unknown");
      expect(r.note).toMatch(/the solver gave up \(timeout of 1000 ms\).*a bounded search of 100 inputs found no counterexample/);
    },
    120_000,
  );
});

describe("hostile import graphs and replaced rules", () => {
  it("a cycle of imports that state properties is a diagnostic in the files involved, and nothing is proved", async () => {
    const files = {
      "main.armor": 'default allow\nimport "./a.armor" as a\nproperty p: never allow when action.type == "x"\n',
      "a.armor": 'import "./b.armor" as b\nrule r when action.type == "x" deny\nproperty pa: never allow when action.type == "x"\n',
      "b.armor": 'import "./a.armor" as a\nproperty pb: always deny when action.type == "x"\n',
    };
    const c = compile(files);
    expect(c.ok).toBe(false);
    const cycle = c.diagnostics.filter((d) => d.code === "A703");
    expect(cycle.length).toBeGreaterThan(0);
    expect(cycle.every((d) => d.file.startsWith(`${DIR}/`) && d.span.end > d.span.start)).toBe(true);
    await expect(proveProperties(c)).rejects.toThrow(/has errors; only policies that compile can be proved/);
  });

  it.each([
    {
      name: "a property whose guarantee is a rule the importer disables fails, naming the disable",
      main: 'default allow\nimport "./base.armor" as base\ndisable base.guard\n',
      status: "fails",
      replaced: [/^base\.guard \(\/project\/base\.armor:2\) would deny this input; it is disabled at \/project\/main\.armor:3:1$/],
    },
    {
      name: "a disabled rule that other rules cover leaves the property proved, naming nothing",
      main: 'default allow\nimport "./base.armor" as base\ndisable base.guard\nrule own_guard when user.org == "evil-corp" deny\n',
      status: "holds",
      replaced: [],
    },
    {
      name: "an override that approves where the imported rule denied breaks the property, naming the override",
      main: 'default allow\nimport "./base.armor" as base\noverride base.guard when user.org == "evil-corp" require approval\n',
      status: "fails",
      replaced: [/^the override of base\.guard at \/project\/main\.armor:3:1 fires on this input \(require approval for\); base\.guard \(\/project\/base\.armor:2\) would deny it$/],
    },
  ])(
    "$name",
    async ({ main, status, replaced }) => {
      const c = compile({ "main.armor": main, "base.armor": 'default deny\nrule guard when user.org == "evil-corp" deny\nproperty evil: always deny when user.org == "evil-corp"\n' });
      expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const [r] = await proveProperties(c, { timeoutMs: 20_000 });
      expect(r!.property.name).toBe("base.evil");
      expect(r!.status).toBe(status);
      expect(r!.replacements).toHaveLength(replaced.length);
      for (const [i, re] of replaced.entries()) expect(r!.replacements[i]).toMatch(re);
    },
    120_000,
  );
});

describe("broken properties in a test file", () => {
  const policy = 'default allow\nproperty dup: never allow when action.type == "x"\nrule r when action.type == "x" deny\n';
  it.each([
    { name: "a name the policy already gives a property", text: 'property dup: never allow when action.type == "y"\n', code: "A230", at: "dup", related: "/project/main.armor" },
    { name: "an unknown function", text: "property p: always deny when lenght(action.to) > 3\n", code: "A209", at: "lenght" },
    { name: "a condition that is not a condition", text: "property p: always deny when action.amount + 1\n", code: "A3", at: "action.amount + 1" },
    { name: "a property without a mode", text: "property p: deny when action.type == 1\n", code: "A1", at: "" },
    { name: "a rule in a test file is still A601", text: 'rule r2 when action.type == "x" deny\n', code: "A601", at: "rule r2" },
  ])("$name", ({ text, code, at, related }) => {
    const c = compile({ "main.armor": policy });
    expect(c.ok).toBe(true);
    const t = compileTests(`${DIR}/main.test.armor`, text, c);
    const d = t.diagnostics.find((x) => x.code.startsWith(code));
    expect(d, JSON.stringify(t.diagnostics.map((x) => [x.code, x.message]))).toBeDefined();
    expect(d!.file).toBe(`${DIR}/main.test.armor`);
    expect(text.slice(d!.span.start, d!.span.end)).toContain(at);
    if (related !== undefined) expect(d!.related?.[0]?.file).toBe(related);
    expect(t.propertyPolicy).toBeNull();
  });
});
