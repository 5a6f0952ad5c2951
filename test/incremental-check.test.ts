/**
 * Re-checking after an edit gives exactly what checking from scratch gives. A compilation started
 * from the previous one takes over the rules that did not change (semantic/rule-cache.ts) and the
 * analysis facts of their conditions; fed random edit sequences on the example policies and the
 * packs, every diagnostic, the IR and the semantic model must equal a fresh compilation's.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Compilation, compileSource } from "../packages/compiler/src/compile.js";

const root = resolve(import.meta.dirname, "..");
const examples = readdirSync(join(root, "examples"))
  .map((d) => join(root, "examples", d, "policy.armor"))
  .filter((f) => existsSync(f));
const packDir = join(root, "packages/compiler/packs");
const packs = readdirSync(packDir)
  .filter((f) => f.endsWith(".armor") && !f.endsWith(".test.armor"))
  .map((f) => join(packDir, f));
const policies = [...examples, ...packs].map((path) => ({ path, text: readFileSync(path, "utf8") }));

/** Text that edits insert: characters typed mid-word, pieces of conditions that add regexes, trackers and lets, whole items. */
const pieces = [
  "x",
  "1",
  " ",
  "\n",
  '"',
  "(",
  ")",
  "/re/",
  " and amount > 5",
  " and path matches /secret/",
  ' and path matches glob("src/**")',
  ' and seen(type == "read_file" within 1h)',
  " and count(type == action.type within 10m) > 3",
  ' and any(r in recipients: r ends_with "@x.com")',
  "\nrule r when amount > 1 deny\n",
  '\nrule r2 when path matches /secret/ and seen(type == "read_file" within 1h) deny\n',
  "\nwhen amount > 1 deny\n",
  "\nlet L = [1, 2]\n",
  '\nlet amount = "x"\n',
  "\ndefault allow\n",
  "\nrule ",
];

interface Edit {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}
const edit = fc.record({ at: fc.nat(), remove: fc.nat({ max: 8 }), insert: fc.constantFrom(...pieces) });

function apply(text: string, e: Edit): string {
  const at = e.at % (text.length + 1);
  return text.slice(0, at) + e.insert + text.slice(Math.min(text.length, at + e.remove));
}

function expectSameCompilation(incremental: Compilation, fresh: Compilation): void {
  expect(incremental.diagnostics).toEqual(fresh.diagnostics);
  expect(incremental.policy).toEqual(fresh.policy);
  expect(incremental.tests).toEqual(fresh.tests);
  const [a, b] = [incremental.model, fresh.model];
  expect(a.fieldReferences).toEqual(b.fieldReferences);
  expect(a.locals).toEqual(b.locals);
  expect(a.lets).toEqual(b.lets);
  expect(a.rules).toEqual(b.rules);
  expect(a.narrowings).toEqual(b.narrowings);
}

describe("re-checking after edits", () => {
  it("equals a fresh compilation after every edit of a sequence", () => {
    fc.assert(
      fc.property(fc.constantFrom(...policies), fc.array(edit, { minLength: 1, maxLength: 8 }), ({ path, text: original }, edits) => {
        let text = original;
        let previous = compileSource(path, text);
        for (const e of edits) {
          text = apply(text, e);
          const incremental = compileSource(path, text, undefined, previous);
          expectSameCompilation(incremental, compileSource(path, text));
          previous = incremental;
        }
      }),
      { numRuns: 120 },
    );
  });

  it("takes over the rules an edit did not touch, and checks the edited one again", () => {
    const { path, text } = policies.find((p) => p.path.endsWith("finance.armor")) ?? policies[0]!;
    const before = compileSource(path, text);
    const rules = [...before.ruleCache!.rules.keys()];
    expect(rules.length).toBeGreaterThan(2);
    // a space typed at the end of the last rule's first line: the same length before it, so every earlier rule is the same object
    const last = rules[rules.length - 1]!;
    const at = text.indexOf("\n", last.span.start);
    const after = compileSource(path, `${text.slice(0, at)} ${text.slice(at)}`, undefined, before);
    const kept = [...after.ruleCache!.rules].filter(([item, record]) => before.ruleCache!.rules.get(item) === record);
    expect(kept.map(([item]) => item)).toEqual(rules.slice(0, -1));
    expect(after.ruleCache!.rules.get(after.ast.items.find((i) => i.kind === "rule" && i.span.start === last.span.start) as never)).not.toBe(before.ruleCache!.rules.get(last));
  });

  it("checks every rule again when a let changes", () => {
    const { path, text } = policies.find((p) => /^let /m.test(p.text))!;
    const before = compileSource(path, text);
    // the let's first letter replaced: the same length, so every rule after it is still the same object
    const at = text.search(/^let /m) + "let ".length;
    const after = compileSource(path, `${text.slice(0, at)}Q${text.slice(at + 1)}`, undefined, before);
    expect(after.ast.items.filter((i) => i.kind === "rule").some((i) => before.ruleCache!.rules.has(i as never))).toBe(true);
    const kept = [...after.ruleCache!.rules].filter(([item, record]) => before.ruleCache!.rules.get(item) === record);
    expect(kept).toEqual([]);
  });
});
