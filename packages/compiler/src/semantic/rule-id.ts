/**
 * Ids of anonymous rules (`when CONDITION EFFECT`), made from what the rule says rather than
 * where it stands, so that formatting the file, editing comments and blank lines, and adding,
 * removing or moving other rules leave them unchanged.
 *
 *   FILE:EFFECT[-TYPE]-HASH[~REASON][#N]     e.g. payments.armor:deny-wire_transfer-3f9a2c01d4
 *
 * - FILE is the base name of the policy file, so the id does not depend on the directory the
 *   compiler ran in; characters other than `A-Z a-z 0-9 _ . -` become `_`, so that an id is one
 *   printable line whatever the file is called.
 * - EFFECT is `allow`, `deny`, `require_approval` or `redact`.
 * - TYPE is the first action type that a top-level `and` operand of the checked condition
 *   compares `action.type` with (after lets are resolved, so it is the type the rule applies to,
 *   never a let that happens to be called `type`); absent when there is none (or it is `""`). It
 *   is cut to 32 characters and reduced like FILE: it is there to be read, the hash is what tells
 *   rules apart.
 * - HASH is the first 10 hex digits (40 bits) of the SHA-256 of the rule's canonical form
 *   (`canonicalRule`): its condition and effect as a tree of decoded values, so layout, comments,
 *   parentheses, digit separators, string escapes and the spelling of a duration do not count,
 *   and neither does the `because` reason (correcting a reason keeps the id). The length is
 *   fixed, so adding a rule never changes another's HASH, except in the fallback for a true
 *   collision: when two different forms of one FILE:EFFECT[-TYPE] share all 10 digits (about 5
 *   in 100,000 for a file of 10,000 such rules), both get as many more digits as tell them apart.
 * - `~REASON` is present only when rules of the same canonical form give different reasons: each
 *   of them then carries the first 6 hex digits of the SHA-256 of its reason (the JSON of the
 *   text, or `null` without one), more if two reasons of the form share those. So which rule
 *   keeps which id never depends on their order; adding a rule of the same form with another
 *   reason gives the existing rule a new id, which no other rule takes.
 * - `#N` (N = 2, 3, ...) marks the second, third, ... rule identical in form and reason, in
 *   source order; such duplicates decide identically, and the checker warns about them (A407).
 *
 * Editing a rule's condition or effect makes it another rule, with another id. A rule that must
 * keep its id across edits is given a name (`rule NAME when ...`). A rule name is an identifier,
 * which never contains `:`, so names and these ids cannot collide.
 */
import { createHash } from "node:crypto";
import type * as IR from "../ir.js";
import type * as A from "../syntax/ast.js";

const TYPE_CHARS = 32;

export interface IdOptions {
  /** Hex digits of HASH before the collision fallback; 10 (tests force collisions with fewer). */
  readonly hashDigits?: number;
  /** Hex digits of REASON before the collision fallback; 6. */
  readonly reasonDigits?: number;
}

/** An anonymous rule as the ids are made from: its declaration and its checked condition. */
export interface AnonymousRule {
  readonly decl: A.RuleDecl;
  /** The checked condition (lets resolved, constants folded), or null when it has none. */
  readonly condition: IR.Expr | null;
}

export interface AnonymousRuleIds {
  /** The id of each anonymous rule, unique among them. */
  readonly ids: Map<A.RuleDecl, string>;
  /** Each rule identical in form and reason to an earlier one → that earlier rule. */
  readonly duplicates: Map<A.RuleDecl, A.RuleDecl>;
}

interface Entry {
  readonly decl: A.RuleDecl;
  readonly canonical: string;
  readonly hash: string;
  readonly reason: string;
  readonly prefix: string;
}

/** The ids of the anonymous rules of `rules` (in source order), and which are duplicates. */
export function anonymousRuleIds(fileBaseName: string, rules: readonly AnonymousRule[], options: IdOptions = {}): AnonymousRuleIds {
  const file = readable(fileBaseName);
  const entries: Entry[] = rules.map(({ decl, condition }) => {
    const canonical = canonicalRule(decl);
    return { decl, canonical, hash: sha256(canonical), reason: sha256(json(decl.effect?.reason?.value ?? null)), prefix: `${file}:${readablePart(decl, condition)}` };
  });
  const forms = groupBy(entries, (e) => e.canonical);
  const hashDigits = distinctDigits(
    [...forms.values()].map((g) => g[0]!),
    (e) => e.prefix,
    (e) => e.hash,
    options.hashDigits ?? 10,
  );
  const ids = new Map<A.RuleDecl, string>();
  const duplicates = new Map<A.RuleDecl, A.RuleDecl>();
  for (const group of forms.values()) {
    const first = group[0]!;
    const base = `${first.prefix}-${first.hash.slice(0, hashDigits.get(first)!)}`;
    const byReason = groupBy(group, (e) => e.reason);
    const reasonDigits =
      byReason.size > 1
        ? distinctDigits(
            [...byReason.values()].map((g) => g[0]!),
            () => "",
            (e) => e.reason,
            options.reasonDigits ?? 6,
          )
        : null;
    for (const same of byReason.values()) {
      const head = same[0]!;
      const id = reasonDigits ? `${base}~${head.reason.slice(0, reasonDigits.get(head)!)}` : base;
      same.forEach((e, i) => {
        ids.set(e.decl, i === 0 ? id : `${id}#${i + 1}`);
        if (i > 0) duplicates.set(e.decl, head.decl);
      });
    }
  }
  return { ids, duplicates };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/**
 * How many digits of `digest` each item shows: `digits`, or, for items whose `scope` and first
 * `digits` digits are equal, the fewest that tell every item of that group apart (all 64 of a
 * SHA-256 would take a SHA-256 collision, which is not expected).
 */
function distinctDigits<T>(items: readonly T[], scope: (item: T) => string, digest: (item: T) => string, digits: number): Map<T, number> {
  const out = new Map<T, number>();
  for (const group of groupBy(items, (x) => `${scope(x)}-${digest(x).slice(0, digits)}`).values()) {
    let n = digits;
    while (n < 64 && new Set(group.map((x) => digest(x).slice(0, n))).size < group.length) n++;
    for (const x of group) out.set(x, n);
  }
  return out;
}

function readablePart(decl: A.RuleDecl, condition: IR.Expr | null): string {
  const effect = decl.effect?.kind ?? "missing";
  const type = readable((condition ? firstActionType(condition) : null) ?? "").slice(0, TYPE_CHARS);
  return type === "" ? effect : `${effect}-${type}`;
}

/** Only characters that read plainly in a log line or a terminal, and not too many of them. */
function readable(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/**
 * The first action type a top-level `and` operand of the checked condition compares the action's
 * type with: `action.type == "x"`, `"x" == action.type`, or the first string of
 * `action.type in [...]`.
 */
function firstActionType(condition: IR.Expr): string | null {
  for (const c of condition.kind === "and" ? condition.args : [condition]) {
    if (c.kind === "compare" && c.op === "==") {
      const literal = isTypePath(c.left) ? c.right : isTypePath(c.right) ? c.left : null;
      if (literal?.kind === "literal" && typeof literal.value === "string") return literal.value;
    } else if (c.kind === "in" && isTypePath(c.left) && c.list.kind === "literal" && Array.isArray(c.list.value)) {
      const first = (c.list.value as IR.Value[])[0];
      if (typeof first === "string") return first;
    }
  }
  return null;
}

function isTypePath(e: IR.Expr): boolean {
  return e.kind === "path" && e.root === "action" && e.fields.length === 1 && e.fields[0] === "type";
}

function unparen(e: A.Expr): A.Expr {
  let x = e;
  while (x.kind === "paren") x = x.expr;
  return x;
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

function canonicalGrant(g: A.GrantNode): string {
  return `(grant ${canonicalExpr(g.scope)} ${json(g.duration?.ms ?? null)} ${json(g.limit?.value ?? null)} ${g.amount ? canonicalExpr(g.amount) : "null"})`;
}

function canonicalEffect(e: A.EffectNode | null): string {
  if (e === null) return "(missing)";
  switch (e.kind) {
    case "allow":
    case "deny":
      return `(${e.kind})`;
    case "require_approval":
      // quorum and grant only when written, so rules without them keep their ids
      // a group read from a param or let by its name, so an importer's value keeps the id
      return `(require_approval ${e.fromName ? `(name ${e.fromName.segments.map((s) => s.name).join(".")})` : json(e.from?.value ?? null)} ${json(e.timeout?.ms ?? null)}${e.quorum ? ` (quorum ${json(e.quorum.value)})` : ""}${e.grant ? ` ${canonicalGrant(e.grant)}` : ""})`;
    case "label":
      return `(label ${json(e.label?.value ?? null)})`;
    case "redact":
      // the text only when written, so rules without `with` keep their ids
      return `(redact ${e.path ? canonicalExpr(e.path) : "null"} ${e.regex ? canonicalRegex(e.regex) : "null"}${e.text ? ` ${json(e.text.kind === "string" ? e.text.value : `let:${e.text.name}`)}` : ""})`;
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
      return `(call ${e.callee.name} ${canonicalExpr(e.argument)} ${json(e.window?.ms ?? null)}${e.clause ? ` (${e.clause.keyword} ${canonicalExpr(e.clause.expr)})` : ""}${e.scope ? ` (per ${canonicalExpr(e.scope.path)})` : ""})`;
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
    case "quantifier":
      return `(${e.callee.name} ${json(e.variable?.name ?? null)} ${canonicalExpr(e.list)} ${canonicalExpr(e.condition)})`;
    case "arith":
      return `(${json(e.op)} ${canonicalExpr(e.left)} ${canonicalExpr(e.right)})`;
  }
}

/** The operands of a chain of `kind`, with chains of the same operator inside it spliced in. */
function flatten(kind: "and" | "or", operands: readonly A.Expr[]): A.Expr[] {
  return operands.flatMap((x) => {
    const inner = unparen(x);
    return inner.kind === kind ? flatten(kind, inner.operands) : [inner];
  });
}

function canonicalRegex(r: A.PatternNode): string {
  switch (r.kind) {
    case "regex":
      return `(regex ${json(r.source)} ${json(r.flags)})`;
    case "detector":
      return `(detector ${json(r.head)} ${json(r.name)})`;
    case "glob":
      return `(glob ${json(r.head)} ${json(r.glob.value)})`;
  }
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
