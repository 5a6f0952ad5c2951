/**
 * Ids of anonymous rules (`when CONDITION EFFECT`), made from what the rule says rather than
 * where it stands, so that formatting the file, editing comments and blank lines, and adding,
 * removing or moving other rules leave them unchanged.
 *
 *   FILE:EFFECT[-TYPE]-HASH[#N]        e.g. payments.armor:deny-wire_transfer-3f9a2c
 *
 * - FILE is the base name of the policy file, so the id does not depend on the directory the
 *   compiler ran in.
 * - EFFECT is `allow`, `deny`, `require_approval` or `redact`.
 * - TYPE is the first action type the condition compares `action.type` (or bare `type`) with as a
 *   string literal, among its top-level `and` operands; absent when there is none (or it is
 *   `""`). It is cut to 32 characters, and characters other than `A-Z a-z 0-9 _ . -` become `_`:
 *   it is there to be read, the hash is what tells rules apart.
 * - HASH is the first 6 hex digits of the SHA-256 of the rule's canonical form (`canonicalRule`):
 *   its condition and effect as a tree of decoded values, so layout, comments, parentheses, digit
 *   separators, string escapes and the spelling of a duration do not count, and neither does the
 *   `because` reason (correcting a reason keeps the id). Two different rules whose ids would be
 *   equal both get as many more digits as it takes to tell them apart.
 * - `#N` (N = 2, 3, ...) marks the second, third, ... rule of the same canonical form, in source
 *   order.
 *
 * Editing a rule's condition or effect makes it another rule, with another id. A rule that must
 * keep its id across edits is given a name (`rule NAME when ...`). A rule name is an identifier,
 * which never contains `:`, so names and these ids cannot collide.
 */
import { createHash } from "node:crypto";
import type * as A from "../syntax/ast.js";

const HASH_DIGITS = 6;
const TYPE_CHARS = 32;

/** The id of each anonymous rule of `rules` (in source order), unique among them. */
export function anonymousRuleIds(fileBaseName: string, rules: readonly A.RuleDecl[]): Map<A.RuleDecl, string> {
  const entries = rules.map((decl) => {
    const canonical = canonicalRule(decl);
    return { decl, canonical, hash: createHash("sha256").update(canonical).digest("hex"), prefix: `${fileBaseName}:${readablePart(decl)}` };
  });
  // one entry per canonical form; later rules of the same form are numbered below
  const forms = new Map<string, (typeof entries)[number]>();
  for (const e of entries) if (!forms.has(e.canonical)) forms.set(e.canonical, e);
  const digits = hashDigits([...forms.values()]);
  const ids = new Map<A.RuleDecl, string>();
  const copies = new Map<string, number>();
  for (const e of entries) {
    const copy = (copies.get(e.canonical) ?? 0) + 1;
    copies.set(e.canonical, copy);
    const base = `${e.prefix}-${e.hash.slice(0, digits.get(e.canonical)!)}`;
    ids.set(e.decl, copy === 1 ? base : `${base}#${copy}`);
  }
  return ids;
}

/**
 * How many hash digits each canonical form needs: 6, or, for forms whose ids would collide,
 * the fewest that tell every form of that id apart (a SHA-256 collision, which would need all
 * 64, is not expected).
 */
function hashDigits(forms: readonly { canonical: string; hash: string; prefix: string }[]): Map<string, number> {
  const byId = new Map<string, (typeof forms)[number][]>();
  for (const f of forms) {
    const id = `${f.prefix}-${f.hash.slice(0, HASH_DIGITS)}`;
    const group = byId.get(id);
    if (group) group.push(f);
    else byId.set(id, [f]);
  }
  const out = new Map<string, number>();
  for (const group of byId.values()) {
    let n = HASH_DIGITS;
    while (n < 64 && new Set(group.map((f) => f.hash.slice(0, n))).size < group.length) n++;
    for (const f of group) out.set(f.canonical, n);
  }
  return out;
}

function readablePart(decl: A.RuleDecl): string {
  const effect = decl.effect?.kind ?? "missing";
  const type = readableType(firstActionType(decl.condition) ?? "");
  return type === "" ? effect : `${effect}-${type}`;
}

/** Only characters that read plainly in a log line or a terminal, and not too many of them. */
function readableType(type: string): string {
  return type.slice(0, TYPE_CHARS).replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** The first action type a top-level `and` operand compares the action's type with, as written. */
function firstActionType(condition: A.Expr): string | null {
  for (const c of conjuncts(condition)) {
    if (c.kind !== "compare") continue;
    if (c.op === "==") {
      const literal = isTypePath(c.left) ? unparen(c.right) : isTypePath(c.right) ? unparen(c.left) : null;
      if (literal?.kind === "literal" && typeof literal.value === "string") return literal.value;
    } else if (c.op === "in" && isTypePath(c.left)) {
      const list = unparen(c.right);
      const first = list.kind === "list" && list.elements[0] ? unparen(list.elements[0]) : null;
      if (first?.kind === "literal" && typeof first.value === "string") return first.value;
    }
  }
  return null;
}

function conjuncts(e: A.Expr): A.Expr[] {
  return flatten("and", [e]);
}

function unparen(e: A.Expr): A.Expr {
  let x = e;
  while (x.kind === "paren") x = x.expr;
  return x;
}

function isTypePath(e: A.Expr): boolean {
  const x = unparen(e);
  if (x.kind !== "path") return false;
  const names = x.segments.map((s) => s.name);
  return (names.length === 1 && names[0] === "type") || (names.length === 2 && names[0] === "action" && names[1] === "type");
}

/**
 * The rule's condition and effect as one string, independent of layout: each node is written
 * as `(kind operands...)`, literals as JSON of their decoded values, durations in milliseconds,
 * regexes as JSON of their source and flags. Parentheses written in the source are left out
 * (the tree holds the grouping), and so are those that only regroup a chain of one operator
 * (`(a and b) and c` is `a and b and c`: same operands, same order of evaluation). Nesting is
 * bounded by the parser's limit (A109).
 */
export function canonicalRule(decl: A.RuleDecl): string {
  return `(rule ${canonicalExpr(decl.condition)} ${canonicalEffect(decl.effect)})`;
}

function canonicalEffect(e: A.EffectNode | null): string {
  if (e === null) return "(missing)";
  switch (e.kind) {
    case "allow":
    case "deny":
      return `(${e.kind})`;
    case "require_approval":
      return `(require_approval ${json(e.from?.value ?? null)} ${json(e.timeout?.ms ?? null)})`;
    case "redact":
      return `(redact ${e.path ? canonicalExpr(e.path) : "null"} ${e.regex ? canonicalRegex(e.regex) : "null"})`;
  }
}

function canonicalExpr(e: A.Expr): string {
  switch (e.kind) {
    case "missing":
      return "(missing)";
    case "literal":
      return json(e.value);
    case "list":
      return `(list${e.elements.map((x) => ` ${canonicalExpr(x)}`).join("")})`;
    case "path":
      return `(path${e.segments.map((s) => ` ${s.name}`).join("")})`;
    case "call":
      return `(call ${e.callee.name} ${canonicalExpr(e.argument)} ${json(e.window?.ms ?? null)})`;
    case "not":
      return `(not ${canonicalExpr(e.operand)})`;
    case "and":
    case "or":
      return `(${e.kind}${flatten(e.kind, e.operands)
        .map((x) => ` ${canonicalExpr(x)}`)
        .join("")})`;
    case "compare":
      return `(${json(e.op)} ${canonicalExpr(e.left)} ${canonicalExpr(e.right)})`;
    case "between":
      return `(between ${canonicalExpr(e.value)} ${canonicalExpr(e.low)} ${canonicalExpr(e.high)})`;
    case "matches":
      return `(matches ${canonicalExpr(e.value)} ${e.regex ? canonicalRegex(e.regex) : "null"})`;
    case "paren":
      return canonicalExpr(e.expr);
  }
}

/** The operands of a chain of `kind`, with chains of the same operator inside it spliced in. */
function flatten(kind: "and" | "or", operands: readonly A.Expr[]): A.Expr[] {
  return operands.flatMap((x) => {
    const inner = unparen(x);
    return inner.kind === kind ? flatten(kind, inner.operands) : [inner];
  });
}

function canonicalRegex(r: A.RegexNode): string {
  return `(regex ${json(r.source)} ${json(r.flags)})`;
}

function json(v: unknown): string {
  return JSON.stringify(v);
}

/**
 * For migrating tests written when an anonymous rule's id was `FILE:LINE` (the line of its
 * `when`): that old id → the rule's id now, for each anonymous rule of the file as it is.
 */
export function lineIds(fileBaseName: string, rules: Iterable<{ readonly id: string; readonly decl: A.RuleDecl }>, lineOf: (offset: number) => number): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rules) if (r.decl.anonymous) out.set(`${fileBaseName}:${lineOf(r.decl.span.start)}`, r.id);
  return out;
}
