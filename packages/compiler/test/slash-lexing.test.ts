/**
 * A slash is a regex only where a regex can stand (after `matches`, and after `matching` that
 * follows the field path of a redaction); everywhere else it is division. Tables of sources and the tokens they
 * lex to, then the trees they parse to.
 */
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { parse } from "../src/syntax/parse.js";

/** The tokens of a condition, as `Kind:image` for regexes and slashes and plain images otherwise. */
function lex(condition: string): string[] {
  const r = parse("t.armor", `rule r when ${condition} deny\n`);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.tokens.slice(3, -1).map((t) => (t.tokenType.name === "RegexLiteral" ? `re:${t.image}` : t.tokenType.name === "Slash" ? "div" : t.image));
}

describe("a slash after", () => {
  it.each([
    ["a / b / c > 1", ["a", "div", "b", "div", "c", ">", "1"]],
    ["x matches /a/ and y / 2 > 1", ["x", "matches", "re:/a/", "and", "y", "div", "2", ">", "1"]],
    ["x matches /a\\/b/i and (y) / 2 > 1", ["x", "matches", "re:/a\\/b/i", "and", "(", "y", ")", "div", "2", ">", "1"]],
    ["x matches\n  /a/ and y > 1", ["x", "matches", "re:/a/", "and", "y", ">", "1"]],
    ["x matches /* a comment */ /a/", ["x", "matches", "re:/a/"]],
    ["x matches // a comment\n  /a/", ["x", "matches", "re:/a/"]],
    ["a // a comment / not division\n  > 1", ["a", ">", "1"]],
    ["a /* comment */ / 2 > 1", ["a", "div", "2", ">", "1"]],
    ["action.matches / 2 > 1", ["action", ".", "matches", "div", "2", ">", "1"]],
    ["matching / 2 > 1", ["matching", "div", "2", ">", "1"]],
    ['count(type == "a" within 1h) / 2 >= 1', ["count", "(", "type", "==", '"a"', "within", "1h", ")", "div", "2", ">=", "1"]],
    // a field called `matching` after a soft keyword is a field, divided
    ["sum(amount where matching / 2 > 1) > 0", ["sum", "(", "amount", "where", "matching", "div", "2", ">", "1", ")", ">", "0"]],
    ['seen(type == "a" since matching / 2 > 1)', ["seen", "(", "type", "==", '"a"', "since", "matching", "div", "2", ">", "1", ")"]],
  ])("`%s`", (source, tokens) => {
    expect(lex(source)).toEqual(tokens);
  });

  it("`matching` in a redaction starts a regex, after a bare field or a dotted path", () => {
    for (const [path, regex] of [
      ["body", "/\\d+/"],
      ["payload.and", "/x/g"],
      ["action.payload.where", "/y/"],
    ] as const) {
      const r = parse("t.armor", `rule r when true redact ${path} matching ${regex}\n`);
      expect(r.diagnostics).toEqual([]);
      expect(r.tokens.filter((t) => t.tokenType.name === "RegexLiteral").map((t) => t.image)).toEqual([regex]);
    }
  });

  it("a regex where a value goes is a syntax error, not a regex", () => {
    const c = compileSource("t.armor", "default allow\nrule r when path == /secret/ deny\n");
    expect(c.diagnostics.map((d) => d.code)).toContain("A101");
  });
});

describe("precedence and grouping", () => {
  const tree = (e: unknown): string => {
    const x = e as { kind: string; op?: string; left?: unknown; right?: unknown; segments?: { name: string }[]; raw?: string; expr?: unknown };
    if (x.kind === "arith" || x.kind === "compare") return `(${tree(x.left)} ${x.op} ${tree(x.right)})`;
    if (x.kind === "paren") return tree(x.expr);
    if (x.kind === "path") return x.segments!.map((s) => s.name).join(".");
    return x.raw ?? x.kind;
  };
  it.each([
    ["a + b * c > 1", "((a + (b * c)) > 1)"],
    ["a * b + c > 1", "(((a * b) + c) > 1)"],
    ["a - b - c > 1", "(((a - b) - c) > 1)"],
    ["a / b / c > 1", "(((a / b) / c) > 1)"],
    ["a - -1 > 1", "((a - -1) > 1)"],
    ["1 < a + 1", "(1 < (a + 1))"],
    ["(a + b) * c == 6", "(((a + b) * c) == 6)"],
  ])("`%s` is %s", (source, shape) => {
    const r = parse("t.armor", `rule r when ${source} deny\n`);
    const rule = r.ast.items[0] as { condition: unknown };
    expect(tree(rule.condition)).toBe(shape);
  });
});
