/** What the sandbox reads from JavaScript for the policy: imports, calls, URLs and hosts, and when the text hides something. */
import { describe, expect, it } from "vitest";
import { javaScriptFacts } from "../src/js-facts.js";

const cases: { name: string; code: string; facts: Partial<ReturnType<typeof javaScriptFacts>> }[] = [
  { name: "plain arithmetic", code: "return 1 + 2", facts: { imports: [], calls: [], urls: [], hosts: [], dynamic: false, error: null } },
  {
    name: "static imports do not parse (the code is a script's function body, as QuickJS runs it)",
    code: 'import fs from "node:fs"; export * from "child_process";',
    facts: { imports: [], dynamic: true, error: expect.stringMatching(/import|export/) },
  },
  { name: "an HTML-like comment hides nothing (read as a script, as QuickJS reads it)", code: 'let x = 1\nx <!-- /*\nawait send_email({to: "x"})\nx <!-- */ x', facts: { calls: ["send_email"] } },
  { name: "(0, eval)(...)", code: `(0, eval)("send_email({})")`, facts: { dynamic: true } },
  { name: "eval under another name", code: 'const e = eval; e("1")', facts: { dynamic: true } },
  { name: "a function's constructor", code: '(() => {}).constructor("return send_email")()', facts: { dynamic: true } },
  { name: "Reflect.apply", code: "Reflect.apply(send_email, null, [{}])", facts: { dynamic: true } },
  { name: "this.x(...) is a call of x", code: 'await this.send_email({to: "a@b"})', facts: { calls: ["send_email"], dynamic: false } },
  { name: "a call of a call's result", code: "f()()", facts: { dynamic: true } },
  { name: "a method with a computed name", code: "const k = 'x'; o[k]()", facts: { dynamic: true } },
  { name: "method calls and function expressions are plain", code: "[1].map((x) => x).filter(Boolean); (function () {})(); (async () => 1)()", facts: { dynamic: false } },
  { name: "a member chain too deep to walk", code: `a${".b".repeat(32_000)}`, facts: { dynamic: true, error: expect.any(String) } },
  { name: "a call chain too deep to walk", code: `f${"()".repeat(32_000)}`, facts: { dynamic: true, error: expect.any(String) } },
  // facts are read on the thread that decides: longer code would stall every other decision
  { name: "code longer than 65,536 characters", code: `//${"x".repeat(65_535)}`, facts: { dynamic: true, error: "the code is longer than 65536 characters" } },
  {
    name: "require and import() with literal names",
    code: 'const cp = require("child_process"); const m = await import(`net`);',
    facts: { imports: ["child_process", "net"], calls: ["require"], dynamic: false },
  },
  { name: "require with a computed name", code: 'const m = require("child" + "_process")', facts: { imports: [], dynamic: true } },
  { name: "import() with a computed name", code: "const n = 'fs'; await import(n)", facts: { imports: [], dynamic: true } },
  { name: "eval and Function", code: 'eval("1"); new Function("return 1")', facts: { calls: ["eval"], dynamic: true } },
  { name: "Function mentioned, not called", code: "const F = Function", facts: { dynamic: true } },
  { name: "globals reached by a computed member", code: "const k = 'fetch'; globalThis[k]('x')", facts: { dynamic: true } },
  { name: "globals reached by name", code: 'globalThis.fetch("https://a.test"); globalThis["send_email"]({})', facts: { calls: ["fetch", "send_email"], dynamic: false } },
  {
    name: "URLs in strings and templates, with their hosts",
    code: 'await fetch("https://API.Example.com:8443/v1?q=1"); await fetch(`http://user:pw@evil.test/${path}`); const s = "not a url: ftp://x"',
    facts: { urls: ["https://API.Example.com:8443/v1?q=1", "http://user:pw@evil.test/…"], hosts: ["api.example.com", "evil.test"], calls: ["fetch"] },
  },
  { name: "code that does not parse", code: "return (", facts: { imports: [], calls: [], dynamic: true, error: expect.stringContaining("Unexpected token") } },
  {
    name: "prototype-named modules and calls are plain strings",
    code: 'require("__proto__"); constructor(); __proto__()',
    facts: { imports: ["__proto__"], calls: ["require", "constructor", "__proto__"] },
  },
];

describe("javaScriptFacts", () => {
  it.each(cases)("$name", ({ code, facts }) => {
    expect(javaScriptFacts(code)).toMatchObject(facts);
  });

  it("keeps at most 256 of each fact", () => {
    const code = Array.from({ length: 1000 }, (_, i) => `f${i}("https://h${i}.test/")`).join(";");
    const facts = javaScriptFacts(code);
    expect([facts.calls.length, facts.urls.length, facts.hosts.length]).toEqual([256, 256, 256]);
  });
});
