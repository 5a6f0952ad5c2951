/**
 * Facts about a JavaScript snippet that rules can use without regexes over its text, read from
 * its syntax tree (acorn):
 *
 * - `imports`: modules named by `import ... from "m"`, `import("m")` and `require("m")` with a
 *   literal name (a computed name makes `dynamic` true instead);
 * - `calls`: the global functions it calls by name (`fetch(...)`, `send_email(...)`): the host
 *   functions it may use, and any other global it calls;
 * - `urls` and `hosts`: string and template literals that are http(s) URLs, and their hosts;
 * - `dynamic`: whether it does something these facts cannot see through: any mention of `eval`,
 *   `Function` or `Reflect`, `.constructor`, `import(x)` or `require(x)` with a computed name, a
 *   global reached by a computed member (`globalThis[x]`), a callee that is neither a name nor a
 *   member with a written name (`(0, eval)(...)`, `f()(...)`, `o[k](...)`), or code that cannot be
 *   read.
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
  /** Why the facts could not be read (`SyntaxError: ...` when the code does not parse); the lists are then empty and `dynamic` true. */
  error: string | null;
}

const MAX_FACTS = 256;
/**
 * Code longer than this is not read (its facts are an error, `dynamic` true). Facts are read on
 * the thread that decides: 64 KiB parses in tens of milliseconds at worst (a megabyte took
 * seconds, stalling every other decision meanwhile).
 */
export const MAX_CODE_CHARS = 65_536;
const GLOBAL_OBJECTS = new Set(["globalThis", "self", "window", "global"]);
/** Names whose mere mention hides what the code does: a reference, not only a call (`const e = eval`). */
const HIDING_NAMES = new Set(["eval", "Function", "Reflect"]);

type Node = { type: string; [k: string]: unknown };
const failed = (error: string): CodeFacts => ({ imports: [], calls: [], urls: [], hosts: [], dynamic: true, error });

/**
 * The facts of `code`, read exactly as the sandbox runs it: a script (not a module; `import`
 * declarations do not parse there, as in QuickJS) whose text is the body of an async arrow
 * function. Never throws: code it cannot read (too long, too deep to walk) has an `error` and
 * `dynamic` true.
 */
export function javaScriptFacts(code: string): CodeFacts {
  if (code.length > MAX_CODE_CHARS) return failed(`the code is longer than ${MAX_CODE_CHARS} characters`);
  try {
    return readFacts(code);
  } catch (e) {
    return failed(e instanceof RangeError ? "the code is nested too deeply to read" : e instanceof Error ? e.message : String(e));
  }
}

/** The text QuickJS evaluates for `code` (quickjs-run.ts wraps it the same way). */
const wrap = (code: string): string => `(async () => {\n${code}\n})()`;

function readFacts(code: string): CodeFacts {
  const imports = new Set<string>();
  const calls = new Set<string>();
  const urls = new Set<string>();
  let dynamic = false;
  let tree: ReturnType<typeof parse>;
  try {
    tree = parse(wrap(code), { ecmaVersion: "latest", sourceType: "script", locations: false });
  } catch (e) {
    // marked as the parser's: code that does not parse fails as `syntax` (see run-code.ts)
    // (acorn says a nesting deeper than its stack with a SyntaxError too: that code may be valid)
    if (e instanceof SyntaxError && e.message.startsWith("Not enough stack space")) return failed("the code is nested too deeply to read");
    return failed(e instanceof SyntaxError ? `SyntaxError: ${e.message}` : e instanceof Error ? e.message : String(e));
  }
  // the wrapper's own call of the arrow function is not the code's
  const wrapper = ((tree.body[0] as unknown as { expression: unknown }) ?? { expression: null }).expression;
  const add = (set: Set<string>, v: string): void => {
    if (set.size < MAX_FACTS) set.add(v);
  };
  const literal = (n: { type: string; value?: unknown; expressions?: unknown[]; quasis?: { value: { cooked?: string | null } }[] }): string | undefined => {
    if (n.type === "Literal" && typeof n.value === "string") return n.value;
    if (n.type === "TemplateLiteral" && n.expressions?.length === 0) return n.quasis?.[0]?.value.cooked ?? undefined;
    return undefined;
  };
  /** The name of a member's property when the text says it (`a.b`, `a["b"]`), else undefined. */
  const propertyName = (m: Node): string | undefined => {
    const p = m.property as Node;
    if (!m.computed && p.type === "Identifier") return p.name as string;
    return literal(p as never);
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
    Identifier(n) {
      if (HIDING_NAMES.has(n.name)) dynamic = true;
    },
    CallExpression(n) {
      if (n === wrapper) return;
      const callee = n.callee as unknown as Node;
      if (callee.type === "Identifier") {
        const name = callee.name as string;
        add(calls, name);
        if (name === "require") {
          const first = n.arguments[0];
          const m = first === undefined ? undefined : literal(first as never);
          if (m === undefined) dynamic = true;
          else add(imports, m);
        }
      } else if (callee.type === "MemberExpression") {
        const object = callee.object as Node;
        const name = propertyName(callee);
        if (name === undefined) dynamic = true;
        else if ((object.type === "Identifier" && GLOBAL_OBJECTS.has(object.name as string)) || object.type === "ThisExpression") add(calls, name);
      } else if (callee.type !== "FunctionExpression" && callee.type !== "ArrowFunctionExpression") {
        // `(0, eval)(...)`, `f()(...)`, `(a || b)(...)`: what is called is not in the text
        dynamic = true;
      }
    },
    MemberExpression(n) {
      const name = propertyName(n as unknown as Node);
      if (name === "constructor") dynamic = true;
      if (n.computed && name === undefined && ((n.object.type === "Identifier" && GLOBAL_OBJECTS.has(n.object.name)) || n.object.type === "ThisExpression")) dynamic = true;
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
