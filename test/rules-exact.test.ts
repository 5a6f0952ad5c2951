/**
 * Exact "never fires" and "shadowed" (packages/analysis rules.ts): a table of policies with the
 * verdict for each call rule, every example decided again by the interpreter, and the merge with
 * the compiler's syntactic A401/A402 (a proof it misses is added; a warning the solver refutes
 * becomes an info with the input that refutes it).
 */
import { describe, expect, it } from "vitest";
import { analyseRules, exactRuleDiagnostics } from "../packages/analysis/src/index.js";
import { type Compilation, compileSource } from "../packages/compiler/src/compile.js";
import { evaluatePolicy } from "../packages/compiler/src/interpreter.js";

const noFiles = { readFile: (): undefined => undefined };

function compile(text: string): Compilation {
  const c = compileSource("p.armor", text, noFiles);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => `${d.code} ${d.message}`).join("; "));
  return c;
}

type V = "proved" | "example" | "unknown";

interface Case {
  readonly name: string;
  readonly policy: string;
  /** Per rule id: [never fires, shadowed] (null: not asked). */
  readonly expected: Record<string, [V, V | null]>;
}

const cases: Case[] = [
  {
    name: "contradictions the fast check sees, and one through arithmetic it does not",
    policy: "default allow\nrule dead when amount > 10 and amount < 5 deny\nrule dead2 when amount > 10 and amount * 2 < 5 deny\nrule live when amount > 10 deny\n",
    expected: { dead: ["proved", null], dead2: ["proved", null], live: ["example", "example"] },
  },
  {
    name: "a rule covered by a broader deny",
    policy: "default allow\nrule big when amount > 100 deny\nrule hidden when amount > 200 require approval\nrule fine when amount > 50 require approval\n",
    expected: { big: ["example", "example"], hidden: ["example", "proved"], fine: ["example", "example"] },
  },
  {
    name: "an allow rule under `default allow` never changes the decision",
    policy: 'default allow\nrule ok when user.role == "admin" allow\nrule no when amount > 5 deny\n',
    expected: { ok: ["example", "proved"], no: ["example", "example"] },
  },
  {
    name: "an error that denies makes a rule matter (the fast check says it is shadowed)",
    policy: "default allow\nrule big when amount > 100 deny\nrule review when memo matches /x/ and amount > 100 require approval\n",
    expected: { big: ["example", "example"], review: ["example", "example"] },
  },
  {
    name: "history predicates",
    policy:
      'default allow\nrule burst when count(type == "w" within 1h) > 5 deny\nrule burst2 when count(type == "w" within 1h) > 9 deny\nrule never when seen(type == "x") and not seen(type == "x") deny\n',
    expected: { burst: ["example", "example"], burst2: ["example", "proved"], never: ["proved", null] },
  },
  {
    name: "doubles and code points: never proved from exact reals or UTF-16 lengths",
    policy:
      'default allow\nrule emoji when action.type == "w" and action.s starts_with "😀" and length(action.s) < 2 deny\nrule big when action.type == "v" and action.a + 1 == action.a deny\nrule ok when action.type == "x" and action.a * 2 > 10 and action.a < 4 deny\n',
    // `big` fires for a = 1e16 (1e16 + 1 is 1e16), `emoji` for "😀"; `ok` is impossible for every rounding
    expected: { emoji: ["example", "example"], big: ["example", "example"], ok: ["proved", null] },
  },
];

describe("exact never-fires and shadowed", () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    "%s",
    async (_name, k) => {
      const c = compile(k.policy);
      const results = await analyseRules(c, { timeoutMs: 20_000 });
      const got = Object.fromEntries(results.map((r) => [r.rule.id, [r.neverFires.status, r.shadowed?.status ?? null]]));
      expect(got).toEqual(k.expected);
      for (const r of results) {
        const values = (input: { history: readonly { value: unknown }[] }) => (c.policy.trackers.length > 0 ? input.history.map((h) => h.value) : undefined);
        if (r.neverFires.status === "example") {
          const d = evaluatePolicy(c.policy, r.neverFires.input.input, { trackerValues: values(r.neverFires.input) }).result;
          expect(d.rules.map((x) => x.id)).toContain(r.rule.id);
        }
        if (r.shadowed?.status === "example") {
          const input = r.shadowed.input;
          const a = evaluatePolicy(c.policy, input.input, { trackerValues: values(input) }).result;
          const b = evaluatePolicy({ ...c.policy, rules: c.policy.rules.filter((x) => x !== r.rule) }, input.input, { trackerValues: values(input) }).result;
          expect([a.decision, a.rules.some((x) => x.effect === "redact")]).not.toEqual([b.decision, b.rules.some((x) => x.effect === "redact")]);
        }
      }
    },
    120_000,
  );

  it("keeps the fast check's warnings the solver confirms, adds its proofs, and refutes a wrong one with an input", async () => {
    const c = compile(
      "default allow\nrule big when amount > 100 deny\nrule review when memo matches /x/ and amount > 100 require approval\nrule hidden when amount > 200 require approval\nrule dead2 when amount > 10 and amount * 2 < 5 allow\n",
    );
    expect(c.diagnostics.map((d) => `${d.code} ${d.severity} ${c.source.positionAt(d.span.start).line + 1}`).sort()).toEqual(["A402 warning 3", "A402 warning 4"]);
    const merged = exactRuleDiagnostics(c, await analyseRules(c));
    expect(merged.map((d) => `${d.code} ${d.severity} ${c.source.positionAt(d.span.start).line + 1}`).sort()).toEqual(["A401 warning 5", "A402 info 3", "A402 warning 4"]);
    const refuted = merged.find((d) => d.severity === "info")!;
    expect(refuted.message).toMatch(/rule `review` matters, though the fast check says it is shadowed: .* is decided deny with it and allow without it/);
  }, 120_000);
});
