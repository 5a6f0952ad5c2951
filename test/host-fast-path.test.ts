/**
 * `host(s)` turns away strings that cannot be absolute URLs before the URL parser (which throws
 * for them, slowly), with the answers of the parser alone: the interpreter's `host` and the
 * emitted `$host` against a reference that always asks the parser, over odd inputs.
 */
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { loadModule } from "../packages/compiler/src/load.js";
import { host, mayBeAbsoluteUrl } from "../packages/compiler/src/semantics.js";

/** host() as it was: the parser decides everything. */
function reference(v: string): string | null {
  let h: string;
  try {
    h = new URL(v).hostname;
  } catch {
    return null;
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h === "" ? null : h.toLowerCase();
}

const INPUTS: string[] = [
  "",
  ":",
  "::",
  "http:",
  "http:x.example",
  "https:/one-slash.example",
  "//x",
  "//x.example/path",
  "/path",
  "a:",
  "a:b",
  "1http://x.example",
  "+http://x.example",
  ".http://x.example",
  " http://space.example/",
  " \t\u0000\u001fHTTP://Lead.Example/",
  "\u0020\u00a0http://nbsp.example/",
  "h\tt\ntp://tab.example/",
  "http\r://cr.example/",
  "a+b.c-d://Scheme.Example/",
  "A1://x.example/",
  "ｈttp://fullwidth.example/",
  "http：//fullwidth-colon.example/",
  "é://x.example",
  "http\u200b://zero-width.example/",
  "\ud800http://x.example",
  "http://\ud800.example",
  "mailto:a@example.com",
  "file:///etc/passwd",
  "https://example.com./",
  "HTTPS://A.Example:1/",
  "http://[::1]:8080/",
  "not a url",
  "key: value",
  "user@host.example",
  "x".repeat(100_000),
  `${"a".repeat(100_000)}://long.example/`,
  `http://${"b".repeat(100_000)}.example/`,
  `${" ".repeat(1000)}http://spaces.example`,
];

/** How many times `new URL` runs while `f` does. */
async function parses(f: () => unknown): Promise<number> {
  const Real = globalThis.URL;
  let n = 0;
  globalThis.URL = class extends Real {
    constructor(url: string | URL, base?: string | URL) {
      n++;
      super(url, base);
    }
  } as typeof URL;
  try {
    await f();
  } finally {
    globalThis.URL = Real;
  }
  return n;
}

const NOT_URLS = ["plain text", "", ":", "//x.example/path", "a b:c", "1http://x.example", "x".repeat(100_000)];

describe("host() before the URL parser", () => {
  it("never asks the parser about a string that is not an absolute URL", async () => {
    expect(await parses(() => NOT_URLS.map((v) => host(v)))).toBe(0);
    const c = compileSource("main.armor", 'default allow\nrule r when action.type == "t" and host(action.u) != null deny\n');
    const m = await loadModule(emit(c).js);
    expect(await parses(() => NOT_URLS.map((u) => m.decide({ action: { type: "t", u } })))).toBe(0);
    expect(await parses(() => host("https://x.example/"))).toBe(1);
  });

  it("answers as the parser alone would, in the interpreter", () => {
    for (const v of INPUTS) expect(host(v), JSON.stringify(v.slice(0, 40))).toBe(reference(v));
  });

  it("turns away only what the parser refuses", () => {
    for (const v of INPUTS) {
      if (mayBeAbsoluteUrl(v)) continue;
      expect(() => new URL(v), JSON.stringify(v.slice(0, 40))).toThrow();
    }
    expect(mayBeAbsoluteUrl("no colon at all")).toBe(false);
    expect(mayBeAbsoluteUrl("http://x")).toBe(true);
  });

  it("answers as the parser alone would, in the compiled module", async () => {
    const c = compileSource("main.armor", 'default allow\nrule r when action.type == "t" and host(action.u) == action.h deny\n');
    const m = await loadModule(emit(c).js);
    for (const v of INPUTS) {
      const d = m.decide({ action: { type: "t", u: v, h: reference(v) } });
      expect(d.decision, JSON.stringify(v.slice(0, 40))).toBe("deny");
    }
  });
});
