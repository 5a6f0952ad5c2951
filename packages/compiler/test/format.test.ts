/**
 * The formatter: baseline cases in `test/cases/fmt/NAME.armor` with the expected output beside
 * each as `NAME.formatted.armor` (run with `UPDATE_BASELINES=1` to rewrite them), a property test
 * over generated policies, and the refusal of broken files.
 *
 * Every check also asserts the formatter's invariants: the output parses, formatting it again
 * changes nothing, its AST equals the input's with spans removed, and it keeps every comment.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { formatSource, quoteString } from "../src/format/format.js";
import { parse } from "../src/syntax/parse.js";

const casesDir = fileURLToPath(new URL("../../../test/cases/fmt/", import.meta.url));
const update = process.env.UPDATE_BASELINES === "1";

function format(text: string, fileName = "test.armor"): string {
  const r = formatSource(fileName, text);
  if (!r.ok) throw new Error(`refused: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.text;
}

/** Comment texts as a sorted list; line breaks and trailing blanks of lines do not count. */
function commentTexts(text: string): string[] {
  return parse("c.armor", text)
    .ast.comments.map((c) =>
      c.text
        .replace(/\r\n?/g, "\n")
        .split("\n")
        .map((l) => l.trimEnd())
        .join("\n"),
    )
    .sort();
}

/** The AST without positions; a string literal compares by value (its spelling may change). */
function shape(text: string): unknown {
  const { ast } = parse("s.armor", text);
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === "span" || k === "opSpan" || k === "nameSpan" || k === "sourceStart" || k === "comments") continue;
      if (k === "raw" && typeof o.value === "string") continue;
      out[k] = strip(x);
    }
    return out;
  };
  return strip(ast);
}

function syntaxErrors(text: string): string[] {
  return parse("e.armor", text)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => d.message);
}

/** The formatter's invariants for one input and its formatted output. */
function checkInvariants(input: string, output: string): void {
  expect(syntaxErrors(output)).toEqual([]);
  expect(format(output)).toBe(output);
  expect(shape(output)).toEqual(shape(input));
  expect(commentTexts(output)).toEqual(commentTexts(input));
  if (output !== "") expect(output.endsWith("\n") && !output.endsWith("\n\n")).toBe(true);
  expect(output).not.toMatch(/[ \t]+$/m);
  expect(output).not.toContain("\r");
}

describe("formatter baselines (test/cases/fmt)", () => {
  const names = readdirSync(casesDir)
    .filter((f) => f.endsWith(".armor") && !f.endsWith(".formatted.armor"))
    .map((f) => f.slice(0, -".armor".length))
    .sort();

  it("has the cases", () => {
    expect(names.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of names) {
    it(name, () => {
      const input = readFileSync(`${casesDir}${name}.armor`, "utf8");
      const actual = format(input, `${name}.armor`);
      const baselinePath = `${casesDir}${name}.formatted.armor`;
      if (update) writeFileSync(baselinePath, actual);
      else expect(actual).toBe(readFileSync(baselinePath, "utf8"));
      checkInvariants(input, actual);
    });
  }
});

describe("formatter", () => {
  it("refuses a file with syntax errors and returns the diagnostics", () => {
    for (const text of ["rule r when deny", "let = 5", "when a == deny", 'test "t" { action { type: } }', "/* open"]) {
      const r = formatSource("bad.armor", text);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.diagnostics.length).toBeGreaterThan(0);
        expect(r.diagnostics.some((d) => d.severity === "error" && d.file === "bad.armor")).toBe(true);
      }
    }
  });

  it("formats CRLF input exactly like LF input", () => {
    const lf = readFileSync(`${casesDir}sketch-full.armor`, "utf8");
    expect(format(lf.replace(/\n/g, "\r\n"))).toBe(format(lf));
  });

  it("keeps a single-line anonymous rule on one line and breaks a long one", () => {
    expect(format('when action.type == "drop_database" deny')).toBe('when action.type == "drop_database" deny\n');
    const long = `when ${Array.from({ length: 8 }, (_, i) => `field_${i} == "value number ${i}"`).join(" and ")} deny`;
    const out = format(long);
    expect(out.split("\n")[0]).toBe('when field_0 == "value number 0"');
    expect(out).toContain('\n    and field_1 == "value number 1"\n');
    expect(out.endsWith("\n  deny\n")).toBe(true);
  });

  it.each([
    ["a right-to-left override", "a\u202eb", '"a\\u202eb"'],
    ["a first-strong isolate and its pop", "\u2068x\u2069", '"\\u2068x\\u2069"'],
    ["a zero-width space", "a\u200bb", '"a\\u200bb"'],
    ["a line separator", "a\u2028b", '"a\\u2028b"'],
    ["a byte order mark", "\ufeffa", '"\\ufeffa"'],
    ["visible non-ASCII text, as it is", "é😀ü", '"é😀ü"'],
  ])("writes %s as an escape only when it is invisible", (_name, value, quoted) => {
    expect(quoteString(value)).toBe(quoted);
  });

  it("escapes strings canonically", () => {
    expect(quoteString('a"b\\c\n\t\r\u0000\u0008\u000c/é😀')).toBe('"a\\"b\\\\c\\n\\t\\r\\u0000\\u0008\\u000c/é😀"');
    expect(format('let S = "\\/\\u00e9\\u{1F600}"')).toBe('let S = "/é😀"\n');
  });

  it("breaks every condition line that would pass 100 columns", () => {
    const out = format(readFileSync(`${casesDir}long-conditions.armor`, "utf8"));
    const whenLines = out.split("\n").filter((l) => /^\s*(when|and|or)\b/.test(l));
    for (const l of whenLines) expect(l.length).toBeLessThanOrEqual(100);
  });
});

// ---- property test: generated policies ---------------------------------------------------

const name = fc.constantFrom("amount", "recipient", "body", "size", "x1", "_y", "HIGH_VALUE");
const path = fc.oneof(name, fc.constantFrom("action.type", "user.role", "context.env", "time.hour", "action.payload.card"));
const stringPiece = fc.constantFrom("a", "xyz", " ", "é", "😀", "日本", "'", "\\n", '\\"', "\\\\", "\\/", "\\u00e9", "\\u{1F600}", "\\t", "\\0", "\\u0007", "/");
const str = fc.array(stringPiece, { maxLength: 6 }).map((ps) => `"${ps.join("")}"`);
const num = fc.constantFrom("0", "42", "10_000", "1.5", "-3", "1e3", "2_5.0_1", "-0.25");
const duration = fc.constantFrom("30s", "15m", "1h", "7d", "250ms", "1_0m");
const regex = fc.constantFrom("/secret/", "/a\\/b/i", "/[/]x/m", "/\\d{3}-\\d{2}/", "/^$/s");
const literal = fc.oneof(str, num, fc.constantFrom("true", "false", "null"));
const literalList = fc
  .array(literal, { maxLength: 4 })
  .chain((xs) => fc.boolean().map((trailing) => ["[", ...xs.flatMap((x, i) => (i === 0 ? [x] : [",", x])), ...(trailing && xs.length > 0 ? [","] : []), "]"]));
const compareOp = fc.constantFrom("==", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "ends_with");

type Tokens = readonly string[];
const joined = (parts: Tokens[], op: string): Tokens => parts.flatMap((p, i) => (i === 0 ? p : [op, ...p]));

/** Conditions nested at most `depth` levels (calls and parentheses open a level). */
function exprOf(depth: number): fc.Arbitrary<Tokens> {
  const simple: fc.Arbitrary<Tokens>[] = [literal.map((l) => [l]), path.map((p) => [p]), literalList, path.map((p) => ["exists", "(", p, ")"])];
  const operand: fc.Arbitrary<Tokens> =
    depth === 0
      ? fc.oneof(...simple)
      : fc.oneof(
          ...simple,
          fc.tuple(exprOf(depth - 1), duration).map(([c, d]) => ["count", "(", ...c, "within", d, ")"]),
          fc.tuple(exprOf(depth - 1), fc.option(duration)).map(([c, d]) => ["seen", "(", ...c, ...(d ? ["within", d] : []), ")"]),
          exprOf(depth - 1).map((e) => ["(", ...e, ")"]),
        );
  const comparison = fc.oneof(
    operand,
    fc.tuple(operand, compareOp, operand).map(([l, op, r]) => [...l, op, ...r]),
    fc.tuple(operand, fc.constantFrom(["in"], ["not", "in"]), literalList).map(([l, op, r]) => [...l, ...op, ...r]),
    fc.tuple(operand, operand, operand).map(([v, lo, hi]) => [...v, "between", ...lo, "and", ...hi]),
    fc.tuple(operand, regex).map(([v, r]) => [...v, "matches", r]),
  );
  const negated = fc.tuple(fc.nat({ max: 2 }), comparison).map(([n, c]) => [...Array<string>(n).fill("not"), ...c]);
  const and = fc.array(negated, { minLength: 1, maxLength: 4 }).map((ops) => joined(ops, "and"));
  return fc.array(and, { minLength: 1, maxLength: 3 }).map((ops) => joined(ops, "or"));
}
const expr = exprOf(2);

const effect: fc.Arbitrary<Tokens> = fc
  .tuple(
    fc.oneof(
      fc.constant(["allow"]),
      fc.constant(["deny"]),
      fc.tuple(fc.option(str), fc.option(duration)).map(([g, t]) => ["require", "approval", ...(g ? ["from", g] : []), ...(t ? ["timeout", t] : [])]),
      fc.tuple(path, fc.option(regex)).map(([p, r]) => ["redact", p, ...(r ? ["matching", r] : [])]),
    ),
    fc.option(str),
  )
  .map(([e, reason]) => [...e, ...(reason ? ["because", reason] : [])]);

function dataOf(depth: number): fc.Arbitrary<Tokens> {
  const object = fc
    .array(fc.tuple(fc.constantFrom("type", "amount", "from", "true", '"to-address"', '"plain"', '""'), depth === 0 ? literal.map((l) => [l]) : dataOf(depth - 1)), {
      maxLength: 3,
    })
    .map((es) => ["{", ...es.flatMap(([k, v], i) => [...(i === 0 ? [] : [","]), k, ":", ...v]), "}"]);
  return depth === 0
    ? object
    : fc.oneof(
        literal.map((l) => [l]),
        literalList,
        object,
      );
}
const data = dataOf(2);
const objectData = dataOf(1).filter((d) => d[0] === "{");

const step: fc.Arbitrary<Tokens> = fc.oneof(
  fc.tuple(fc.constantFrom("action", "user", "context"), objectData).map(([k, v]) => [k, ...v]),
  fc.constant(["time", '"2026-03-02T10:00:00Z"']),
  fc
    .tuple(
      fc.option(fc.constantFrom("1", "50", "1_000")),
      objectData,
      fc.option(
        fc.oneof(
          duration.map((d) => ["within", d]),
          duration.map((d) => ["ago", d]),
          fc.constant(["at", '"2026-03-02T09:00:00Z"']),
        ),
      ),
    )
    .map(([n, e, p]) => ["history", ...(n ? [n, "of"] : []), ...e, ...(p ?? [])]),
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom(["allow"], ["deny"], ["require_approval"], ["error"], ["approval", "from", '"g"'], ["action.body"]),
        data.map((v) => ["action.amount", "==", ...v]),
      ),
      fc.array(fc.constantFrom("r1", "wire_review", "deny"), { maxLength: 3 }),
    )
    .map(([o, by]) => ["expect", ...o, ...(by.length > 0 ? ["by", ...by.flatMap((b, i) => (i === 0 ? [b] : [",", b]))] : [])]),
);

const item: fc.Arbitrary<Tokens> = fc.oneof(
  fc.tuple(fc.constantFrom("payments", "p2"), fc.option(str)).map(([n, v]) => ["policy", n, ...(v ? ["version", v] : [])]),
  str.map((s) => ["schema", s]),
  fc.constantFrom(["default", "allow"], ["default", "deny"]),
  fc.constant(["timezone", '"Europe/Zurich"']),
  fc
    .tuple(
      name,
      fc.oneof(
        literal.map((l) => [l]),
        literalList,
        name.map((n) => [n]),
      ),
    )
    .map(([n, v]) => ["let", n, "=", ...v]),
  fc.tuple(fc.constantFrom("r1", "wire_review", "long_rule_name"), expr, effect).map(([n, c, e]) => ["rule", n, "when", ...c, ...e]),
  fc.tuple(expr, effect).map(([c, e]) => ["when", ...c, ...e]),
  fc.tuple(str, fc.array(step, { maxLength: 4 })).map(([n, s]) => ["test", n, "{", ...s.flat(), "}"]),
);

/** What may separate two tokens: spaces, line breaks, blank lines and comments of both kinds. */
const separator = fc.oneof(
  { arbitrary: fc.constantFrom(" ", "  ", "\n", "\n  "), weight: 12 },
  { arbitrary: fc.constantFrom("\n\n", "\r\n", "\t", "\n\n\n  "), weight: 2 },
  { arbitrary: fc.constantFrom(" /* c */ ", "/* b */\n", "\n/* own */\n", " /* two\n lines */ ", "\n/* then code */ ", "/**/"), weight: 1 },
  { arbitrary: fc.constantFrom(" // trailing\n", "\n// own line\n", "\n\n// after blank\n\n", " // x\n// y\n"), weight: 1 },
);

const policySource = fc
  .array(item, { minLength: 1, maxLength: 6 })
  .map((items) => items.flat())
  .chain((tokens) =>
    fc
      .tuple(fc.array(separator, { minLength: tokens.length + 1, maxLength: tokens.length + 1 }), fc.boolean())
      .map(([seps, lead]) => tokens.map((t, i) => (i > 0 || lead ? seps[i]! : "") + t).join("") + seps[tokens.length]!),
  );

/** Every rule's id, anonymous rules' included (docs/language.md §5.1). */
function ruleIds(text: string): string[] {
  return [...compileSource("p.armor", text, { readFile: () => undefined }).model.rules.keys()];
}

describe("formatter properties", () => {
  it("is idempotent, keeps the AST and every comment, and prints parseable text", () => {
    fc.assert(
      fc.property(policySource, (src) => {
        expect(syntaxErrors(src)).toEqual([]);
        const out = format(src);
        checkInvariants(src, out);
      }),
      { numRuns: Number(process.env.FORMAT_PROPERTY_RUNS ?? 200) },
    );
  });

  it("keeps the id of every rule, anonymous rules included", () => {
    fc.assert(
      fc.property(policySource, (src) => {
        expect(ruleIds(format(src))).toEqual(ruleIds(src));
      }),
      { numRuns: Number(process.env.FORMAT_PROPERTY_RUNS ?? 200) },
    );
  });
});
