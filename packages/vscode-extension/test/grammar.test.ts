/**
 * The TextMate grammar (grammar/armor.tmLanguage.json) and the extension manifest, checked
 * without VS Code: the grammar's structure, that every regex compiles (the grammar keeps to the
 * common subset of Oniguruma and JavaScript regexes), and, through a small tokenizer that follows
 * TextMate's rules (leftmost match wins, ties go to the earlier pattern; begin/end regions with
 * their own patterns), the scopes of sample lines. The real tokenizer (vscode-textmate) runs in
 * test/e2e/vscode.test.ts, which reads scopes back from code-server.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as facts from "../../compiler/src/language/facts.js";

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, "..");
const root = join(pkgDir, "..", "..");

interface Rule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  include?: string;
  patterns?: Rule[];
  captures?: Record<string, Rule>;
  beginCaptures?: Record<string, Rule>;
  endCaptures?: Record<string, Rule>;
  comment?: string;
}
interface Grammar {
  scopeName: string;
  patterns: Rule[];
  repository: Record<string, Rule>;
}

const grammar = JSON.parse(readFileSync(join(root, "grammar", "armor.tmLanguage.json"), "utf8")) as Grammar;
const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
  main: string;
  activationEvents: string[];
  contributes: {
    languages: { id: string; extensions: string[]; configuration: string }[];
    grammars: { language: string; scopeName: string; path: string }[];
    snippets: { language: string; path: string }[];
    commands: { command: string; title: string; category?: string }[];
    configuration: { properties: Record<string, unknown> };
  };
};

function allRules(): Rule[] {
  const out: Rule[] = [];
  const walk = (r: Rule): void => {
    out.push(r);
    for (const p of r.patterns ?? []) walk(p);
    for (const caps of [r.captures, r.beginCaptures, r.endCaptures]) for (const c of Object.values(caps ?? {})) walk(c);
  };
  for (const p of grammar.patterns) walk(p);
  for (const r of Object.values(grammar.repository)) walk(r);
  return out;
}

// ---- a small TextMate tokenizer (single line, enough for these grammars) ----

interface Token {
  text: string;
  scopes: string[];
}

function expand(rules: Rule[]): Rule[] {
  return rules.flatMap((r) => {
    if (r.include !== undefined) {
      const target = grammar.repository[r.include.slice(1)];
      if (!target) throw new Error(`unknown include ${r.include}`);
      return target.match || target.begin ? [target] : expand(target.patterns ?? []);
    }
    return [r];
  });
}

/** Scopes per character of `line`. */
function tokenize(line: string): Token[] {
  const scopes: string[][] = [...line].map(() => ["source.armor"]);
  const paint = (from: number, to: number, name: string | undefined): void => {
    if (!name) return;
    for (let i = from; i < to; i++) scopes[i]!.push(name);
  };
  const paintCaptures = (m: RegExpExecArray, caps: Record<string, Rule> | undefined): void => {
    if (!caps || !m.indices) return;
    for (const [k, rule] of Object.entries(caps)) {
      const span = m.indices[Number(k)];
      if (!span) continue;
      paint(span[0], span[1], rule.name);
      if (rule.patterns) run(expand(rule.patterns), span[0], span[1], null);
    }
  };
  /** Tokenizes line[pos, limit) with `rules`; with `end`, stops after the end match. Returns the position reached. */
  function run(rules: Rule[], pos: number, limit: number, end: { re: RegExp; rule: Rule } | null): number {
    while (pos <= limit) {
      let best: { m: RegExpExecArray; rule: Rule | null } | null = null;
      const candidates: [RegExp, Rule | null][] = [];
      if (end) candidates.push([end.re, null]);
      for (const r of rules) candidates.push([new RegExp(r.match ?? r.begin!, "dg"), r]);
      for (const [re, rule] of candidates) {
        re.lastIndex = pos;
        const m = re.exec(line.slice(0, limit));
        if (m && (!best || m.index < best.m.index)) best = { m, rule };
      }
      if (!best) return limit;
      const { m, rule } = best;
      const start = m.index;
      const stop = start + m[0].length;
      if (rule === null) {
        paintCaptures(m, end!.rule.endCaptures);
        return stop;
      }
      if (rule.match !== undefined) {
        paint(start, stop, rule.name);
        paintCaptures(m, rule.captures);
        pos = stop > start ? stop : start + 1;
      } else {
        const endRe = new RegExp(rule.end!, "dg");
        const inner = expand(rule.patterns ?? []);
        // the region's name goes under the scopes painted inside it
        const depth = scopes.slice(start, limit).map((s) => s.length);
        paintCaptures(m, rule.beginCaptures ?? rule.captures);
        const after = run(inner, stop, limit, { re: endRe, rule });
        if (rule.name) for (let i = start; i < after; i++) scopes[i]!.splice(depth[i - start]!, 0, rule.name);
        pos = after > start ? after : start + 1;
      }
      if (pos >= limit) return limit;
    }
    return limit;
  }
  run(expand(grammar.patterns), 0, line.length, null);
  // merge characters with equal scopes into tokens
  const tokens: Token[] = [];
  for (let i = 0; i < line.length; i++) {
    const last = tokens[tokens.length - 1];
    const s = scopes[i]!;
    if (last && last.scopes.join(" ") === s.join(" ")) last.text += line[i];
    else tokens.push({ text: line[i]!, scopes: [...s] });
  }
  return tokens;
}

/** The innermost scope of the token that covers `text` in `line` (its first occurrence). */
function scopeOf(line: string, text: string, occurrence = 0): string {
  let at = -1;
  for (let k = 0; k <= occurrence; k++) at = line.indexOf(text, at + 1);
  if (at < 0) throw new Error(`${text} not in ${line}`);
  let pos = 0;
  const found = new Set<string>();
  for (const t of tokenize(line)) {
    const tEnd = pos + t.text.length;
    if (tEnd > at && pos < at + text.length) found.add(t.scopes[t.scopes.length - 1]!);
    pos = tEnd;
  }
  return [...found].join(" | ");
}

describe("grammar/armor.tmLanguage.json", () => {
  it("is a TextMate grammar for source.armor whose includes resolve", () => {
    expect(grammar.scopeName).toBe("source.armor");
    const includes = allRules().flatMap((r) => (r.include ? [r.include] : []));
    for (const inc of includes) {
      expect(inc.startsWith("#"), inc).toBe(true);
      expect(grammar.repository, inc).toHaveProperty(inc.slice(1));
    }
    for (const key of Object.keys(grammar.repository)) expect(includes, `repository.${key} is used`).toContain(`#${key}`);
  });

  it("has rules that are well formed, with compiling regexes and .armor scope names", () => {
    for (const r of allRules()) {
      const kinds = [r.match !== undefined, r.begin !== undefined, r.include !== undefined, r.match === undefined && r.begin === undefined && r.include === undefined];
      expect(kinds.filter(Boolean).length, JSON.stringify(r).slice(0, 120)).toBe(1);
      if (r.begin !== undefined) expect(r.end, `begin ${r.begin} has an end`).toBeTypeOf("string");
      for (const src of [r.match, r.begin, r.end]) {
        if (src === undefined) continue;
        expect(() => new RegExp(src), src).not.toThrow();
        // constructs that differ between Oniguruma and JavaScript: keep them out
        expect(src, "no \\h \\A \\Z \\G \\K, atomic groups or named backreferences").not.toMatch(/(?<!\\)\\[hAZGK]|\(\?>|\\k</);
      }
      if (r.name !== undefined) expect(r.name, r.name).toMatch(/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.armor$/);
    }
  });

  it("scopes comments, strings and their escapes", () => {
    expect(scopeOf('policy p // a comment "x"', "// a comment")).toMatch(/comment\.line\.double-slash/);
    expect(scopeOf("/* block */ rule r", "block")).toBe("comment.block.armor");
    expect(scopeOf('when body contains "hello\\n\\u{1F600}b"', "hello")).toBe("string.quoted.double.armor");
    expect(scopeOf('when body contains "a\\n\\u{1F600}b"', "\\n")).toBe("constant.character.escape.armor");
    expect(scopeOf('when body contains "a\\n\\u{1F600}b"', "\\u{1F600}")).toBe("constant.character.escape.armor");
    expect(scopeOf('when body contains "bad \\q"', "\\q")).toBe("invalid.illegal.escape.armor");
    expect(scopeOf("when x == 'single'", "'single'")).toBe("invalid.illegal.string.armor");
  });

  it("scopes numbers with `_`, durations, regex literals after `matches`/`matching`, and division elsewhere", () => {
    const line = 'when amount > 10_000 and amount < 2.5e3 and count(type == "x" within 15m) >= 3';
    expect(scopeOf(line, "10_000")).toBe("constant.numeric.armor");
    expect(scopeOf(line, "2.5e3")).toBe("constant.numeric.armor");
    expect(scopeOf(line, "15")).toBe("constant.numeric.duration.armor");
    expect(scopeOf(line, "m)")).toMatch(/keyword\.other\.unit\.armor/);
    expect(scopeOf(line, "count")).toBe("support.function.builtin.armor");
    const re = 'when path matches /secret\\/[a/b]+/i and x == "a/b"';
    expect(scopeOf(re, "secret")).toBe("string.regexp.armor");
    expect(scopeOf(re, "\\/")).toBe("constant.character.escape.regexp.armor");
    expect(scopeOf(re, "a/b]")).toBe("constant.other.character-class.set.regexp.armor");
    expect(scopeOf(re, "i and")).toMatch(/^keyword\.other\.regex-flags\.armor \| /);
    expect(scopeOf(re, "and")).toBe("keyword.operator.word.armor");
    expect(scopeOf(re, 'a/b"').split(" | ")[0]).toBe("string.quoted.double.armor"); // a string, not a regex or a division
    expect(scopeOf('redact memo matching /\\d{8,17}/g because "x"', "{8,17}")).toBe("keyword.operator.quantifier.regexp.armor");
    const division = "when x matches /a/ and y / 2 > 1 and a * b + c > 0";
    expect(scopeOf(division, "a/").split(" | ")[0]).toBe("string.regexp.armor");
    expect(scopeOf(division, "/ 2").split(" | ")[0]).toBe("keyword.operator.arithmetic.armor");
    expect(scopeOf(division, "2 >").split(" | ")[0]).toBe("constant.numeric.armor");
    expect(scopeOf(division, "* b").split(" | ")[0]).toBe("keyword.operator.arithmetic.armor");
    expect(scopeOf(division, "+ c").split(" | ")[0]).toBe("keyword.operator.arithmetic.armor");
  });

  // Lines that use every keyword where it is one (soft keywords are names elsewhere).
  const samples = [
    'policy p version "1" schema "s.json" default deny timezone "UTC"',
    "let X = [true, false, null]",
    'rule r when a and b or not c in L and d between 1 and 2 and e matches /x/ and f contains "y" and g starts_with "z" and h ends_with "w" allow because "why"',
    'rule q when count(type == "t" within 1h) > 1 and seen(type == "u") and exists(action.memo) require approval from "g" timeout 15m',
    "rule s when action.x and user.y and context.z and time.hour > 9 redact body matching /\\d+/",
    'rule m when sum(amount where type == "w" within 1h) > 1 and max(amount where true) > min(amount where true) and seen(type == "a" since type == "b") and seen(t == current.t) deny',
    'test "t" { history 3 of { type: "x" } within 1h',
    'history { type: "x" } ago 1h',
    'history { type: "x" } at "2026-01-01T00:00:00Z"',
    "expect deny by r, q",
    "expect require_approval",
    "expect error",
    'rule f when host(url) in ["a.com"] and lower(s) == upper(s) and length(strings(action)) > 1 deny',
    'rule t when p matches glob("src/**") redact body matching std.iban with "[iban]"',
    'rule l when any(r in recipients: r ends_with "@x.com") and all(m in messages: m.size > 1) deny',
    'when result.status == 1 and output.text == "x" label "untrusted" because "r"',
    'rule w on result when session.labels contains "y" deny',
    "rule g when x require approval quorum 2 grant session 1h up to 5 of action.amount",
    'rule u when count(type == "w" within 1h per user.id) > 1 and seen(type == "d" per deployment) deny',
    'import "./shared.armor" as shared with { limit: 1 }',
    "param limit: number = 1",
    "disable base.r",
    "override base.q when x deny",
    "property p: never allow or redacted when amount > 1",
    "property q: always deny",
  ];
  const scopeOfWord = (w: string, suffix = ""): string => {
    const line = samples.find((s) => new RegExp(`\\b${w}\\b${suffix}`).test(s));
    expect(line, `a sample line uses \`${w}\``).toBeDefined();
    return scopeOf(line!, w);
  };

  it("scopes every keyword of the language (language/facts.ts) as a keyword", () => {
    for (const { word } of facts.keywords) expect(scopeOfWord(word), word).toMatch(/^(keyword|storage|constant\.language)\./);
  });

  it("scopes every built-in function and every root of the input", () => {
    for (const { name } of facts.functions) expect(scopeOfWord(name, "\\("), name).toBe("support.function.builtin.armor");
    for (const { name } of facts.roots) expect(scopeOfWord(name, "\\."), name).toBe("variable.language.root.armor");
  });

  it("highlights no word that is not in the language", () => {
    const known = new Set([...facts.keywords.map((k) => k.word), ...facts.functions.map((f) => f.name), ...facts.roots.map((r) => r.name), ...facts.durationUnits]);
    const words = new Set<string>();
    for (const r of allRules()) {
      const scopes = [r.name, ...[r.captures, r.beginCaptures, r.endCaptures].flatMap((c) => Object.values(c ?? {}).map((x) => x.name))];
      if (!scopes.some((n) => n !== undefined && /^(keyword|storage|constant\.language|support\.function|variable\.language)\./.test(n) && !n.includes("regexp"))) continue;
      for (const src of [r.match, r.begin]) {
        // the words of the pattern: its text without escapes and character classes
        const text = (src ?? "").replace(/\[(?:\\.|[^\]])*\]/g, " ").replace(/\\./g, " ");
        for (const w of text.match(/[A-Za-z_]+/g) ?? []) words.add(w);
      }
    }
    expect([...words].filter((w) => !known.has(w)).sort()).toEqual([]);
    // and, the other way, every word of the language is in a highlighting pattern
    expect([...known].filter((w) => !words.has(w)).sort()).toEqual([]);
  });

  it("colours effects apart from other keywords", () => {
    const l = 'rule r when action.type == "x" allow because "y"';
    expect(scopeOf(l, "allow")).toBe("keyword.control.effect.allow.armor");
    expect(scopeOf("when x deny", "deny")).toBe("keyword.control.effect.deny.armor");
    expect(scopeOf('when x require approval from "g" timeout 1h', "require approval")).toBe("keyword.control.effect.require-approval.armor");
    expect(scopeOf("when x redact body", "redact")).toBe("keyword.control.effect.redact.armor");
    expect(scopeOf("default allow", "allow")).toBe("keyword.control.effect.default.armor");
    expect(scopeOf("expect require_approval by r", "require_approval")).toBe("keyword.control.effect.require-approval.armor");
    const others = allRules().filter((r) => r.name?.startsWith("keyword.control.") && !r.name.startsWith("keyword.control.effect.") && !r.name.includes("regexp"));
    expect(others.map((r) => r.name)).toEqual([]);
    expect(scopeOf("allowance == 1", "allowance")).toBe("variable.other.readwrite.armor");
  });

  it("names rules and lets, and the roots of the input", () => {
    expect(scopeOf("rule wire_review", "wire_review")).toBe("entity.name.function.rule.armor");
    expect(scopeOf("let LIMIT = 5", "LIMIT")).toBe("variable.other.constant.let.armor");
    expect(scopeOf("expect deny by wire_review, other", "other")).toBe("entity.name.function.rule.armor");
    const l = 'when action.type == "x" and user.role in R and context.tenant == "a" and time.hour > 9';
    for (const root of ["action", "user", "context", "time"]) expect(scopeOf(l, root), root).toBe("variable.language.root.armor");
    expect(scopeOf(l, "role")).toBe("variable.other.property.armor");
    // after a dot, keywords are field names
    expect(scopeOf("when action.default == true and context.in == 1", "default")).toBe("variable.other.property.armor");
    expect(scopeOf("when action.default == true and context.in == 1", "in ==")).toMatch(/^variable\.other\.property\.armor/);
  });

  it("treats soft keywords as names where they are fields", () => {
    expect(scopeOf("when per == 1 and action.deployment == 2", "per")).toBe("variable.other.readwrite.armor");
    expect(scopeOf("when per == 1 and action.deployment == 2", "deployment")).toBe("variable.other.property.armor");
    expect(scopeOf("when count(true per deployment.x) > 1", "deployment")).not.toMatch(/^keyword/);
    expect(scopeOf('when from == "ceo@example.com" and version matches /^2/', "from")).toBe("variable.other.readwrite.armor");
    expect(scopeOf('when from == "ceo@example.com" and version matches /^2/', "version")).toBe("variable.other.readwrite.armor");
    expect(scopeOf('require approval from "finance" timeout 15m', "from")).toBe("keyword.other.from.armor");
    expect(scopeOf('require approval from "finance" timeout 15m', "timeout")).toBe("keyword.other.timeout.armor");
    expect(scopeOf('when where == "x" and since > 1', "where")).toBe("variable.other.readwrite.armor");
    expect(scopeOf('when where == "x" and since > 1', "since")).toBe("variable.other.readwrite.armor");
    expect(scopeOf("when sum(amount where type == 1) > 0", "where")).toBe("keyword.other.history.armor");
    expect(scopeOf('action { type: "x", from: "a" }', "from")).toBe("variable.other.property.key.armor");
  });

  it("scopes operators and characters the language does not have", () => {
    const l = "when a == 1 and b != 2 and c <= 3 and d >= -4";
    for (const op of ["==", "!=", "<=", ">="]) expect(scopeOf(l, op), op).toBe("keyword.operator.comparison.armor");
    expect(scopeOf(l, "-")).toBe("keyword.operator.negation.armor");
    expect(scopeOf("let X = 1", "=")).toBe("keyword.operator.assignment.armor");
    expect(scopeOf("when a && b", "&&")).toBe("invalid.illegal.character.armor");
  });
});

describe("the extension manifest", () => {
  const c = manifest.contributes;
  it("contributes the armor language, its grammar, configuration, snippets, commands and settings", () => {
    expect(manifest.main).toBe("./dist/extension.js");
    // a workspace with policies activates it before one is opened: the Test Explorer lists their tests
    expect(manifest.activationEvents).toEqual(["onLanguage:armor", "workspaceContains:**/*.armor"]);
    expect(c.languages[0]).toMatchObject({ id: "armor", extensions: [".armor"] });
    expect(existsSync(join(pkgDir, c.languages[0]!.configuration))).toBe(true);
    expect(c.grammars[0]).toMatchObject({ language: "armor", scopeName: "source.armor", path: "./dist/armor.tmLanguage.json" });
    expect(existsSync(join(pkgDir, c.snippets[0]!.path))).toBe(true);
    expect(c.commands.map((x) => `${x.category}: ${x.title}`)).toEqual(expect.arrayContaining(["Agent Armor: Compile This Policy", "Agent Armor: Run Policy Tests"]));
    expect(Object.keys(c.configuration.properties)).toEqual(expect.arrayContaining(["armor.server.path", "armor.trace.server"]));
  });

  it("has a language configuration with comments, brackets and indentation rules whose regexes compile", () => {
    const conf = JSON.parse(readFileSync(join(pkgDir, "language-configuration.json"), "utf8"));
    expect(conf.comments).toEqual({ lineComment: "//", blockComment: ["/*", "*/"] });
    expect(conf.brackets).toEqual([
      ["{", "}"],
      ["[", "]"],
      ["(", ")"],
    ]);
    const inc = new RegExp(conf.indentationRules.increaseIndentPattern);
    const dec = new RegExp(conf.indentationRules.decreaseIndentPattern);
    expect(inc.test('test "t" {')).toBe(true);
    expect(inc.test('  action { type: "x" }')).toBe(false);
    expect(dec.test("}")).toBe(true);
    expect(new RegExp(conf.wordPattern).exec("15m")?.[0]).toBe("15m");
    for (const r of conf.onEnterRules) expect(() => new RegExp(r.beforeText)).not.toThrow();
  });

  it("has snippets for a policy header, rule, let and test", () => {
    const snippets = JSON.parse(readFileSync(join(pkgDir, "snippets", "armor.json"), "utf8")) as Record<string, { prefix: string | string[]; body: string[] }>;
    const prefixes = Object.values(snippets).flatMap((s) => [s.prefix].flat());
    expect(prefixes).toEqual(expect.arrayContaining(["policy", "rule", "let", "test"]));
  });
});
