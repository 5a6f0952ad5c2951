/**
 * Facts about a JavaScript snippet that rules can use without regexes over its text, read from
 * its syntax tree (acorn):
 *
 * - `imports`: modules named by `import ... from "m"`, `import("m")` and `require("m")` with a
 *   literal name (a computed name makes `dynamic` true instead);
 * - `calls`: the global functions it calls by name (`fetch(...)`, `send_email(...)`): the host
 *   functions it may use, and any other global it calls;
 * - `urls` and `hosts`: string and template literals that are http(s) URLs, and their hosts;
 * - `dynamic`: whether it does something these facts cannot see through: `eval`, `Function`,
 *   `import(x)` or `require(x)` with a computed name, or a global reached by a computed member
 *   (`globalThis[x]`).
 *
 * The facts are what the text says, not what it will do: code can build a URL from pieces, or
 * call a function through an alias. A rule that must hold whatever the code does belongs on the
 * host functions' own actions (each call is decided), and `dynamic` says when the text hides
 * something.
 */
import { parse } from "acorn";
import { simple } from "acorn-walk";

export interface CodeFacts {
  imports: string[];
  calls: string[];
  urls: string[];
  hosts: string[];
  dynamic: boolean;
  /** Why the facts could not be read (the code does not parse); the lists are then empty and `dynamic` true. */
  error: string | null;
}

const MAX_FACTS = 256;
const GLOBAL_OBJECTS = new Set(["globalThis", "self", "window", "global"]);

/** The facts of `code`, read as the body of an async function (as the sandbox runs it). */
export function javaScriptFacts(code: string): CodeFacts {
  const imports = new Set<string>();
  const calls = new Set<string>();
  const urls = new Set<string>();
  let dynamic = false;
  let tree: ReturnType<typeof parse>;
  try {
    tree = parse(code, { ecmaVersion: "latest", sourceType: "module", allowReturnOutsideFunction: true, allowAwaitOutsideFunction: true, locations: false });
  } catch (e) {
    return { imports: [], calls: [], urls: [], hosts: [], dynamic: true, error: e instanceof Error ? e.message : String(e) };
  }
  const add = (set: Set<string>, v: string): void => {
    if (set.size < MAX_FACTS) set.add(v);
  };
  const literal = (n: { type: string; value?: unknown; expressions?: unknown[]; quasis?: { value: { cooked?: string | null } }[] }): string | undefined => {
    if (n.type === "Literal" && typeof n.value === "string") return n.value;
    if (n.type === "TemplateLiteral" && n.expressions?.length === 0) return n.quasis?.[0]?.value.cooked ?? undefined;
    return undefined;
  };
  simple(tree, {
    ImportDeclaration(n) {
      add(imports, String(n.source.value));
    },
    ExportNamedDeclaration(n) {
      if (n.source) add(imports, String(n.source.value));
    },
    ExportAllDeclaration(n) {
      add(imports, String(n.source.value));
    },
    ImportExpression(n) {
      const m = literal(n.source as never);
      if (m === undefined) dynamic = true;
      else add(imports, m);
    },
    CallExpression(n) {
      const callee = n.callee;
      if (callee.type === "Identifier") {
        add(calls, callee.name);
        if (callee.name === "require") {
          const first = n.arguments[0];
          const m = first === undefined ? undefined : literal(first as never);
          if (m === undefined) dynamic = true;
          else add(imports, m);
        }
        if (callee.name === "eval" || callee.name === "Function") dynamic = true;
      } else if (callee.type === "MemberExpression" && callee.object.type === "Identifier" && GLOBAL_OBJECTS.has(callee.object.name)) {
        if (!callee.computed && callee.property.type === "Identifier") add(calls, callee.property.name);
        else {
          const m = literal(callee.property as never);
          if (m === undefined) dynamic = true;
          else add(calls, m);
        }
      }
    },
    NewExpression(n) {
      if (n.callee.type === "Identifier" && n.callee.name === "Function") dynamic = true;
    },
    MemberExpression(n) {
      if (n.computed && n.object.type === "Identifier" && GLOBAL_OBJECTS.has(n.object.name) && literal(n.property as never) === undefined) dynamic = true;
    },
    Literal(n) {
      if (typeof n.value === "string" && isUrl(n.value)) add(urls, n.value);
    },
    TemplateLiteral(n) {
      const first = n.quasis[0]?.value.cooked;
      if (typeof first === "string" && isUrl(first)) add(urls, n.expressions.length === 0 ? first : `${first}…`);
    },
  });
  const hosts = new Set<string>();
  for (const u of urls) {
    const h = hostOf(u);
    if (h !== null) add(hosts, h);
  }
  return { imports: [...imports], calls: [...calls], urls: [...urls], hosts: [...hosts], dynamic, error: null };
}

const isUrl = (s: string): boolean => /^https?:\/\/[^\s/]/i.test(s);

/** The host of an http(s) URL (lowercase, no port), or null. */
export function hostOf(url: string): string | null {
  const m = /^https?:\/\/(?:[^@/?#\s]*@)?(\[[^\]]*\]|[^:/?#\s…]+)/i.exec(url);
  return m === null ? null : (m[1] as string).toLowerCase();
}
