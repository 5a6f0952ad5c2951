/**
 * A namespace named like a field shorthand's root (docs/language.md §18): `import "./x.armor" as
 * body` would make `body.text` read the import's let rather than the action's `body.text`. With a
 * schema that has the field, the namespace is refused (A705, at the name after `as`, in the file
 * that imports); without one, `NS.NAME` reads the import, and a name the import lacks is A201
 * whose help names the field's spelling `action.NS.NAME`.
 */
import { describe, expect, it } from "vitest";
import { type CompilerHost, compileSource, emit } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";
import { loadModule } from "../packages/compiler/src/load.js";

const DIR = "/project";
const SCHEMA = JSON.stringify({
  oneOf: [
    { type: "object", properties: { type: { const: "email" }, body: { type: "object", properties: { text: { type: "string" } } } }, required: ["type"] },
    { type: "object", properties: { type: { const: "wire" }, amount: { type: "number" } }, required: ["type"] },
  ],
});
const X = 'let text = "hello"\nlet LIMIT = 5\n';

function compile(files: Record<string, string>) {
  const host: CompilerHost = { readFile: (p) => (Object.hasOwn(files, p.slice(DIR.length + 1)) ? files[p.slice(DIR.length + 1)] : undefined) };
  return compileSource(`${DIR}/main.armor`, files["main.armor"]!, host);
}

interface Case {
  name: string;
  files: Record<string, string>;
  /** `CODE@FILE:LINE:COLUMN` of each error */
  errors: string[];
  /** a text the help of the first error must contain */
  help?: string;
  /** the decision of `{ type: "email", body: { text: "hello" } }` when it compiles */
  hello?: "allow" | "deny";
}

const RULE = 'rule r when action.type == "email" and body.text == "hello" deny\n';
const CASES: Case[] = [
  {
    name: "with a schema whose action has the field, the namespace is refused at its name",
    files: { "main.armor": `schema "s.json"\ndefault allow\nimport "./x.armor" as body\n${RULE}`, "s.json": SCHEMA, "x.armor": X },
    errors: ["A705@main.armor:3:23"],
    help: "choose another name after `as` (`body_rules`)",
  },
  {
    name: "in an imported file, with the root's schema, the namespace is refused in that file",
    files: { "main.armor": 'schema "s.json"\ndefault allow\nimport "./mid.armor" as mid\n', "mid.armor": 'import "./x.armor" as body\n', "s.json": SCHEMA, "x.armor": X },
    errors: ["A705@mid.armor:1:23"],
  },
  {
    name: "with a schema without the field, the namespace reads the import",
    files: { "main.armor": `schema "s.json"\ndefault allow\nimport "./x.armor" as amounts\nrule r when action.type == "wire" and amount > amounts.LIMIT deny\n`, "s.json": SCHEMA, "x.armor": X },
    errors: [],
  },
  {
    name: "without a schema, `NS.NAME` reads the import's let",
    files: { "main.armor": `default allow\nimport "./x.armor" as body\n${RULE}`, "x.armor": X },
    errors: [],
    hello: "deny",
  },
  {
    name: "without a schema, a name the import lacks is A201 naming the field's spelling",
    files: { "main.armor": 'default allow\nimport "./x.armor" as body\nrule r when action.type == "email" and body.size > 3 deny\n', "x.armor": X },
    errors: ["A201@main.armor:3:40"],
    help: "for the action's field write `action.body.size`",
  },
];

function located(c: ReturnType<typeof compile>, files: Record<string, string>): string[] {
  return c.diagnostics
    .filter((d) => d.severity === "error")
    .map((d) => {
      const name = d.file.slice(DIR.length + 1);
      const before = files[name]!.slice(0, d.span.start).split("\n");
      return `${d.code}@${name}:${before.length}:${before.at(-1)!.length + 1}`;
    });
}

describe("a namespace named like a field shorthand's root", () => {
  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    const compiled = compile(c.files);
    expect(located(compiled, c.files)).toEqual(c.errors);
    if (c.help !== undefined) expect(compiled.diagnostics.find((d) => d.severity === "error")?.help).toContain(c.help);
    if (c.hello !== undefined) {
      const input = { action: { type: "email", body: { text: "hello" } } };
      const module = await loadModule(emit(compiled).js);
      expect(module.decide(input).decision).toBe(c.hello);
      expect(evaluatePolicy(compiled.policy, input).result.decision).toBe(c.hello);
    }
  });
});
