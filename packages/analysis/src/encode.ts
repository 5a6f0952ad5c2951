/**
 * The checked IR of a policy's call stage as SMT terms over a `Vocabulary`'s variables: for each
 * rule whether its condition fails (an evaluation error) and whether it fires, and the policy's
 * decision as a term per decision kind. It follows the reference interpreter (interpreter.ts and
 * semantics.ts): conditions short-circuit left to right, `null` makes an ordering, `in`, `between`,
 * `matches` or string operator false, an operand of another wrong type is an error, and an error
 * in any rule denies (docs/language.md §6.5, §8).
 *
 * `any`/`all` over a list read from the input, whose condition only compares the element with
 * primitive literals (`==`, `!=`, `in [...]`, `and`, `or`, `not`), are exact: the condition is
 * then a constant for each literal the list may hold and another for every other element, so the
 * quantifier is a test of the list's memberships and hidden part (see `quantifier`).
 *
 * What is not encoded (other quantifiers, the value functions but `length` of a string, detectors,
 * regex assertions but the outer anchors, the stage values of results and outputs, ...) becomes an
 * opaque value: free variables, the same for the same expression in both policies. The encoding
 * then over-approximates: a proof of "no difference" still holds, but a solution may not be one
 * of a real input, so every solution is re-decided before it is believed. Each such place is
 * reported with its location.
 */
import type { IR } from "@agent-armor/compiler";
import { literalAffix, literalSide } from "./ir-shapes.js";
import { encodeSearch } from "./regex.js";
import { forEachLiteral } from "./search.js";
import type { Term } from "./smt.js";
import * as smt from "./smt.js";
import { AFTER_HOST, asciiCaseMap, asciiOnly, BEFORE_HOST, caseExcluded, casePreimage, HOST_REGEX, isSimpleHost } from "./text-functions.js";
import { type InputRoot, type ListElement, OTHER, type PathVar, Tag, type TrackerVar, Vocabulary, WEEKDAYS } from "./vocabulary.js";

/** A symbolic value: whether evaluating it fails, its type tag and its value in each type. */
interface Sym {
  readonly err: Term;
  readonly tag: Term;
  readonly b: Term;
  readonly n: Term;
  readonly s: Term;
  /** The field path it reads, when it is one (for list membership, `exists` and object equality). */
  readonly path?: PathVar;
  /** A literal's value, when it is one. */
  readonly literal?: IR.Value;
  /** `lower(arg)`/`upper(arg)`: the argument's string, so that a comparison with a literal asks the argument (text-functions.ts). */
  readonly cased?: { readonly name: "lower" | "upper"; readonly arg: Term; readonly ascii: Term; readonly free: Term };
  /** A string function's result: a string or null, never a list (so `contains` on it is no membership). */
  readonly text?: true;
}

export interface NotEncoded {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly what: string;
}

export interface RuleTerms {
  readonly rule: IR.Rule;
  /** The rule's evaluation fails (its condition, or its redaction). */
  readonly err: Term;
  /** The rule fires (its condition holds without an error). */
  readonly fires: Term;
}

export type Outcome = "allow" | "deny" | "require_approval";
export const OUTCOMES: readonly Outcome[] = ["allow", "require_approval", "deny"];

export interface PolicyEncoding {
  readonly policy: IR.Policy;
  readonly rules: readonly RuleTerms[];
  /** The decision is this kind (exactly one holds). */
  readonly decision: Readonly<Record<Outcome, Term>>;
  /** Some redaction fired. */
  readonly redacted: Term;
  /** The vocabulary's tracker for each of the policy's trackers. */
  readonly trackers: readonly TrackerVar[];
  readonly notEncoded: readonly NotEncoded[];
  /** Rules of the result and output stages, which the encoding leaves out. */
  readonly otherStages: readonly IR.Rule[];
}

const T = (k: keyof typeof Tag): Term => String(Tag[k]);
const isTag = (v: Sym, k: keyof typeof Tag): Term => smt.eq(v.tag, T(k));
const NO = { b: smt.FALSE, n: "0.0", s: '""' };

/** A structural key of an expression: its meaning in a policy, without spans, with regexes and trackers by content. */
export function exprKey(policy: IR.Policy, e: unknown): string {
  return JSON.stringify(e, (k, v) => {
    if (k === "span") return undefined;
    if (k === "regex" && typeof v === "number") return `${policy.regexes[v]!.source}/${policy.regexes[v]!.flags}`;
    if (k === "tracker" && typeof v === "number") return trackerKey(policy, policy.trackers[v]!);
    return v;
  });
}

/**
 * A history predicate by meaning: every field of the tracker but its index and place, so that a
 * field a later version of the language adds (a scope, say) keeps two predicates apart.
 */
export function trackerKey(policy: IR.Policy, t: IR.Tracker): string {
  const { index: _index, span: _span, ...meaning } = t;
  return exprKey(policy, meaning);
}

/** The most steps one comparison of input values may take (semantics.ts `MAX_WORK`, docs/language.md §3). */
const MAX_WORK = 10_000_000;
/** The longest string the matcher takes (docs/language.md §6.6); past it a match errs. */
const MAX_MATCH_LENGTH = 1_048_576;

const ARITH_ROUNDING = "arithmetic, which JavaScript rounds to doubles (encoded within the rounding's bounds)";
const EXACT_REALS = "arithmetic on exact reals (JavaScript rounds each step to a double)";
/** Round to nearest: a double's relative error is at most 2^-53 ... */
const HALF_ULP = "(/ 1.0 9007199254740992.0)";
/** ... and, among the subnormals, its absolute error at most 2^-1075. */
const HALF_SUBNORMAL = `(/ 1.0 ${2n ** 1075n}.0)`;
/** A rounded result is infinite only when the exact one is at least about 1.798e308; 1e308 is below that. */
const OVERFLOW_BELOW = `${10n ** 308n}.0`;
/** Counting Unicode code points is not encoded (see `stringLength`). */
/** Where `lower`, `upper` and `host` are exact (text-functions.ts); elsewhere their result is free. */
const CASE_MAPPING = "`lower`/`upper` of ASCII text (another character's case mapping is left free)";
const HOST_SHAPE = "`host` of `http(s)://` URLs with an ASCII lower-case host, or of text without `:` (another URL's host is left free)";
const CODE_POINTS = "`length` of a string with more than one character outside the Basic Multilingual Plane (its code points are bounded, not counted)";

/** The most elements `any`/`all` visit in one condition (semantics.ts `MAX_QUANTIFIER_VISITS`); one more is an evaluation error. */
const MAX_QUANTIFIER_VISITS = 100_000;

type Primitive = string | number | boolean;

const isPrimitive = (v: unknown): v is Primitive => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
const isElement = (e: IR.Expr, variable: string): boolean => e.kind === "path" && e.root === "local" && e.fields.length === 1 && e.fields[0] === variable;

/**
 * Whether `e` only tests the quantifier's element against primitive literals: `x == L`, `x != L`
 * (either side), `x in [L, ...]`, `and`, `or`, `not` and boolean literals. Such a condition never
 * fails (a primitive literal is compared without a walk) and its value depends only on which
 * literal the element equals.
 */
function elementTest(e: IR.Expr, variable: string): boolean {
  switch (e.kind) {
    case "literal":
      return typeof e.value === "boolean";
    case "and":
    case "or":
      return e.args.every((a) => elementTest(a, variable));
    case "not":
      return elementTest(e.arg, variable);
    case "compare":
      return (
        (e.op === "==" || e.op === "!=") &&
        ((isElement(e.left, variable) && e.right.kind === "literal" && isPrimitive(e.right.value)) || (isElement(e.right, variable) && e.left.kind === "literal" && isPrimitive(e.left.value)))
      );
    case "in":
      return isElement(e.left, variable) && e.list.kind === "literal" && Array.isArray(e.list.value) && e.list.value.every(isPrimitive);
    default:
      return false;
  }
}

function collectLiterals(e: IR.Expr, out: Set<Primitive>): void {
  if (e.kind === "and" || e.kind === "or") for (const a of e.args) collectLiterals(a, out);
  else if (e.kind === "not") collectLiterals(e.arg, out);
  else if (e.kind === "compare") for (const side of [e.left, e.right]) side.kind === "literal" && isPrimitive(side.value) && out.add(side.value);
  else if (e.kind === "in" && e.list.kind === "literal" && Array.isArray(e.list.value)) for (const v of e.list.value) if (isPrimitive(v)) out.add(v);
}

/** An `elementTest` condition's value for an element (`===`, as the interpreter compares with a primitive literal). */
function testElement(e: IR.Expr, variable: string, element: ListElement): boolean {
  switch (e.kind) {
    case "literal":
      return e.value === true;
    case "and":
      return e.args.every((a) => testElement(a, variable, element));
    case "or":
      return e.args.some((a) => testElement(a, variable, element));
    case "not":
      return !testElement(e.arg, variable, element);
    case "compare": {
      const lit = (isElement(e.left, variable) ? e.right : e.left) as IR.LiteralExpr;
      const same = element !== OTHER && element === lit.value;
      return e.op === "==" ? same : !same;
    }
    case "in":
      return element !== OTHER && (e.list as IR.LiteralExpr & { value: IR.Value[] }).value.includes(element);
    default:
      return false;
  }
}

/** The most names `host` offers the solver as whole hosts (each is a case it may split on). */
const MAX_HOST_NAMES = 64;
const hostNamesByPolicy = new WeakMap<IR.Policy, readonly string[]>();

/**
 * Adds to `vocab.hostNames` the string literals of `policy` (its rules, trackers and properties)
 * that have a host's shape (`isSimpleHost`), up to MAX_HOST_NAMES in all. Encoding a policy does
 * it; a caller encoding two policies over one vocabulary does it for both first, so that a `host`
 * term made while encoding the first offers the names of the second too.
 */
export function noteHostNames(vocab: Vocabulary, policy: IR.Policy): void {
  let names = hostNamesByPolicy.get(policy);
  if (names === undefined) {
    const found = new Set<string>();
    forEachLiteral(policy, (v) => {
      if (typeof v === "string" && isSimpleHost(v)) found.add(v);
    });
    names = [...found];
    hostNamesByPolicy.set(policy, names);
  }
  for (const n of names) if (vocab.hostNames.size < MAX_HOST_NAMES) vocab.hostNames.add(n);
}

/** The checker's history predicates read `item` (the entry) and `current` (the action decided). */
type Mode = "decision" | "entry";

class Encoder {
  readonly notEncoded: NotEncoded[] = [];

  constructor(
    readonly vocab: Vocabulary,
    readonly policy: IR.Policy,
    readonly source: SourceLines,
    /** `entry`: encoding a history condition only to learn whether it can fail (see `trackerMayErr`). */
    readonly mode: Mode = "decision",
  ) {
    noteHostNames(vocab, policy);
  }

  private unsupported(e: IR.Expr, what: string): void {
    const { line, column } = this.source.lineColumn(e.span.start);
    this.notEncoded.push({ file: this.policy.file, line, column, what });
  }

  /** An opaque value for `e`: free, shared with the same expression anywhere. */
  private opaque(e: IR.Expr, what: string, bool: boolean): Sym {
    this.unsupported(e, what);
    // the fields it reads still get variables: counterexamples and the random search fill them in
    this.readPaths(e);
    return this.vocab.shared(`opaque:${exprKey(this.policy, e)}`, () => {
      const v = this.vocab;
      const tag = bool ? T("bool") : v.declare("o", "Int");
      if (!bool) v.lines.push(`(assert (and (<= 0 ${tag}) (<= ${tag} 5)))`);
      return { err: v.declare("o", "Bool"), tag, b: v.declare("o", "Bool"), n: v.declare("o", "Real"), s: v.declare("o", "String") };
    });
  }

  private bool(err: Term, value: Term): Sym {
    return { err: this.vocab.define("Bool", err), tag: T("bool"), b: this.vocab.define("Bool", value), n: NO.n, s: NO.s };
  }

  private literal(value: IR.Value): Sym {
    const base = { err: smt.FALSE, ...NO, literal: value };
    if (value === null) return { ...base, tag: T("null") };
    if (typeof value === "boolean") return { ...base, tag: T("bool"), b: String(value) };
    if (typeof value === "number") return { ...base, tag: T("number"), n: smt.real(value) };
    if (typeof value === "string") return { ...base, tag: T("string"), s: smt.str(value) };
    return { ...base, tag: Array.isArray(value) ? T("list") : T("object") };
  }

  private pathSym(root: InputRoot, fields: readonly string[]): Sym {
    const p = this.vocab.path(root, fields);
    return { err: smt.FALSE, tag: p.tag, b: p.b, n: `${p.n}`, s: p.s, path: p };
  }

  private readPaths(x: unknown): void {
    if (x === null || typeof x !== "object") return;
    if (Array.isArray(x)) {
      for (const y of x) this.readPaths(y);
      return;
    }
    const o = x as Partial<IR.PathExpr>;
    if (o.kind === "path" && o.fields && o.fields.length > 0 && (o.root === "action" || o.root === "current" || o.root === "user" || o.root === "context" || o.root === "session")) {
      this.vocab.path(o.root === "current" ? "action" : o.root, o.fields);
    }
    for (const [k, v] of Object.entries(o)) if (k !== "span") this.readPaths(v);
  }

  /** A condition's value (`sem.truth`): booleans as they are, null false, anything else an error. */
  truth(v: Sym): { err: Term; val: Term } {
    return { err: smt.or(v.err, smt.and(smt.not(isTag(v, "null")), smt.not(isTag(v, "bool")))), val: smt.and(isTag(v, "bool"), v.b) };
  }

  /**
   * A condition's error and value. The same condition (by meaning) has the same terms in both
   * policies, so the solver sees at once that the rules a change leaves alone decide alike.
   */
  condition(e: IR.Expr): { err: Term; val: Term } {
    const key = `condition:${exprKey(this.policy, e)}`;
    const before = this.notEncoded.length;
    const cached = this.vocab.shared(key, () => {
      const t = this.truth(this.expr(e));
      return { err: this.vocab.define("Bool", t.err), val: this.vocab.define("Bool", t.val), notEncoded: [] as string[] };
    });
    // what was not encoded is reported for each policy that has it, at its own place
    if (this.notEncoded.length > before) cached.notEncoded.push(...this.notEncoded.slice(before).map((n) => n.what));
    else for (const what of cached.notEncoded) this.unsupported(e, what);
    return cached;
  }

  expr(e: IR.Expr): Sym {
    switch (e.kind) {
      case "literal":
        return this.literal(e.value);
      case "path":
        if (this.mode === "entry" && (e.root === "item" || e.root === "current") && e.fields.length > 0) return this.pathSym("action", e.fields);
        if (e.root === "action" || e.root === "current" || e.root === "user" || e.root === "context" || e.root === "session") {
          if (e.root !== "action" && e.root !== "current" && e.fields.length === 0) return this.pathSym(e.root, []);
          if (e.fields.length > 0) return this.pathSym(e.root === "current" ? "action" : e.root, e.fields);
        }
        return this.opaque(e, `\`${e.root}\` values`, false);
      case "time":
        return this.time(e);
      case "and":
      case "or":
        return this.junction(e);
      case "not": {
        const a = this.condition(e.arg);
        return this.bool(a.err, smt.not(a.val));
      }
      case "compare":
        return this.compare(e);
      case "in":
        return this.inList(e);
      case "between":
        return this.between(e);
      case "matches":
        return this.matches(e);
      case "stringOp":
        return this.stringOp(e);
      case "exists": {
        const v = this.expr(e.path);
        return this.bool(v.err, smt.not(isTag(v, "null")));
      }
      case "count":
      case "seen":
      case "aggregate":
        return this.tracker(e.tracker, e);
      case "fn":
        return this.fn(e);
      case "arith":
        return this.arith(e);
      case "quantifier":
        return this.quantifier(e);
      default:
        // a construct this encoding does not know (a newer compiler's): left open and reported, never guessed
        return this.opaque(e, `an expression of kind \`${String((e as { kind: unknown }).kind)}\` (unknown to the encoding)`, false);
    }
  }

  private time(e: IR.TimeExpr): Sym {
    if (this.policy.timezone !== this.vocab.timezone) return this.opaque(e, "`time` in another timezone than the other policy's", false);
    const name = this.vocab.timeField(e.field);
    // an input whose `time` is not a date-time makes every read of a field an error
    const err = this.vocab.badTime();
    if (e.field === "hour" || e.field === "minute") return { err, tag: T("number"), b: NO.b, n: `(to_real ${name})`, s: NO.s };
    return { err, tag: T("string"), b: NO.b, n: NO.n, s: name };
  }

  private junction(e: IR.AndExpr | IR.OrExpr): Sym {
    // from the last operand back: `a and REST` fails when a fails, or a holds and REST fails
    let err: Term = smt.FALSE;
    let val: Term = e.kind === "and" ? smt.TRUE : smt.FALSE;
    for (let i = e.args.length - 1; i >= 0; i--) {
      const a = this.condition(e.args[i]!);
      if (e.kind === "and") {
        err = smt.or(a.err, smt.and(a.val, err));
        val = smt.and(a.val, val);
      } else {
        err = smt.or(a.err, smt.and(smt.not(a.val), err));
        val = smt.or(a.val, val);
      }
    }
    return this.bool(err, val);
  }

  /** `sem.equals` of two values (no error: `==` compares values of any types). */
  private equal(l: Sym, r: Sym, at: IR.Expr): Term {
    const both = (k: keyof typeof Tag): Term => smt.and(isTag(l, k), isTag(r, k));
    const composite = smt.or(both("list"), both("object"));
    return smt.or(
      both("null"),
      smt.and(both("bool"), smt.eq(l.b, r.b)),
      smt.and(both("number"), smt.eq(l.n, r.n)),
      smt.and(both("string"), this.sameString(l, r)),
      composite === smt.FALSE ? smt.FALSE : smt.and(composite, this.compositeEqual(l, r, at)),
    );
  }

  /** Two strings are equal; `lower(x) == "lit"` is asked of `x` (see `viaArgument`). */
  private sameString(l: Sym, r: Sym): Term {
    return this.viaArgument(l, r, (lit) => lit) ?? this.viaArgument(r, l, (lit) => lit) ?? smt.eq(l.s, r.s);
  }

  /**
   * A test of `lower(x)`/`upper(x)` against a string literal, asked of `x`: on ASCII text, `x`
   * in the regex `wrap(preimage of the literal)`; on other text, the test of the free result
   * (`test`, equality by default). Undefined when `cased` is no case mapping or `lit` no string literal.
   */
  private viaArgument(cased: Sym, lit: Sym, wrap: (re: Term) => Term, test?: (s: Term, lit: Term) => Term): Term | undefined {
    if (!cased.cased || typeof lit.literal !== "string") return undefined;
    const c = cased.cased;
    const pre = casePreimage(c.name, lit.literal);
    const onAscii = pre === "re.none" ? smt.FALSE : `(str.in_re ${c.arg} ${wrap(pre)})`;
    return smt.ite(c.ascii, onAscii, test ? test(c.free, lit.s) : smt.eq(c.free, lit.s));
  }

  /**
   * Two lists, or two objects, are equal in a counterexample (model.ts builds them) when they hold
   * the same literals or fields, recursively, and the same hidden part. A literal list or object is
   * not encoded.
   */
  private compositeEqual(l: Sym, r: Sym, at: IR.Expr): Term {
    if (!l.path || !r.path) return this.opaque(at, "`==` with a list or object literal", true).b;
    return this.vocab.equal(l.path, r.path);
  }

  private compare(e: IR.CompareExpr): Sym {
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    const err = smt.or(l.err, r.err);
    if (e.op === "==" || e.op === "!=") {
      const same = this.equal(l, r, e);
      // without a primitive literal side the comparison walks its operands on a budget: two
      // strings of the same length cost their length (composite values: see `assumptions`)
      const walked = literalSide(e) ? smt.FALSE : smt.and(isTag(l, "string"), isTag(r, "string"), smt.eq(`(str.len ${l.s})`, `(str.len ${r.s})`), `(> (str.len ${l.s}) ${MAX_WORK})`);
      return this.bool(smt.or(err, walked), e.op === "==" ? same : smt.not(same));
    }
    const anyNull = smt.or(isTag(l, "null"), isTag(r, "null"));
    const nums = smt.and(isTag(l, "number"), isTag(r, "number"));
    const strs = smt.and(isTag(l, "string"), isTag(r, "string"));
    const wrong = smt.and(smt.not(anyNull), smt.not(nums), smt.not(strs));
    const strOp = e.op === "<" ? smt.app("str.<", l.s, r.s) : e.op === "<=" ? smt.app("str.<=", l.s, r.s) : e.op === ">" ? smt.app("str.<", r.s, l.s) : smt.app("str.<=", r.s, l.s);
    return this.bool(smt.or(err, wrong), smt.or(smt.and(nums, smt.app(e.op, l.n, r.n)), smt.and(strs, strOp)));
  }

  private between(e: IR.BetweenExpr): Sym {
    const v = this.expr(e.value);
    const lo = this.expr(e.low);
    const hi = this.expr(e.high);
    const all = (k: keyof typeof Tag): Term => smt.and(isTag(v, k), isTag(lo, k), isTag(hi, k));
    const anyNull = smt.or(isTag(v, "null"), isTag(lo, "null"), isTag(hi, "null"));
    const wrong = smt.and(smt.not(anyNull), smt.not(all("number")), smt.not(all("string")));
    const inNumbers = smt.and(all("number"), smt.app("<=", lo.n, v.n), smt.app("<=", v.n, hi.n));
    const inStrings = smt.and(all("string"), smt.app("str.<=", lo.s, v.s), smt.app("str.<=", v.s, hi.s));
    return this.bool(smt.or(v.err, lo.err, hi.err, wrong), smt.or(inNumbers, inStrings));
  }

  /** Whether the list at `list` holds `item`: exact for a primitive literal item; opaque otherwise. */
  private holds(list: Sym, item: Sym, at: IR.Expr): Term {
    const lit = item.literal;
    if (list.path && (typeof lit === "string" || typeof lit === "number" || typeof lit === "boolean")) return this.vocab.member(list.path, lit);
    return this.opaque(at, "membership of a value that is not a literal in a list read from the input", true).b;
  }

  private inList(e: IR.InExpr): Sym {
    const l = this.expr(e.left);
    if (e.list.kind === "literal" && Array.isArray(e.list.value)) {
      const any = (e.list.value as IR.Value[]).map((x) => this.equal(l, this.literal(x), e));
      return this.bool(l.err, smt.and(smt.not(isTag(l, "null")), smt.or(...any)));
    }
    const list = this.expr(e.list);
    const nulls = smt.or(isTag(l, "null"), isTag(list, "null"));
    const wrong = smt.and(smt.not(nulls), smt.not(isTag(list, "list")));
    const val = smt.and(smt.not(nulls), isTag(list, "list"));
    return this.bool(smt.or(l.err, list.err, wrong), val === smt.FALSE ? val : smt.and(val, this.holds(list, l, e)));
  }

  private matches(e: IR.MatchesExpr): Sym {
    const v = this.expr(e.value);
    const wrong = smt.and(smt.not(isTag(v, "null")), smt.not(isTag(v, "string")));
    const r = encodeSearch(this.policy.regexes[e.regex]!);
    const m = r.ok ? smt.app("str.in_re", v.s, r.search) : this.opaque(e, `\`matches\` with ${r.why}`, true).b;
    // the matcher takes strings of at most MAX_MATCH_LENGTH code units; a longer one is an error
    const tooLong = smt.and(isTag(v, "string"), `(> (str.len ${v.s}) ${MAX_MATCH_LENGTH})`);
    return this.bool(smt.or(v.err, wrong, tooLong), smt.and(isTag(v, "string"), m));
  }

  private stringOp(e: IR.StringOpExpr): Sym {
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    const nulls = smt.or(isTag(l, "null"), isTag(r, "null"));
    const strs = smt.and(isTag(l, "string"), isTag(r, "string"));
    const list = e.op === "contains" && !l.text ? isTag(l, "list") : smt.FALSE;
    const wrong = smt.and(smt.not(nulls), smt.not(list), smt.not(strs));
    const test = (a: Term, b: Term): Term => (e.op === "contains" ? smt.app("str.contains", a, b) : e.op === "starts_with" ? smt.app("str.prefixof", b, a) : smt.app("str.suffixof", b, a));
    const wrap = (pre: Term): Term => (e.op === "contains" ? `(re.++ re.all ${pre} re.all)` : e.op === "starts_with" ? `(re.++ ${pre} re.all)` : `(re.++ re.all ${pre})`);
    const op = this.viaArgument(l, r, wrap, test) ?? test(l.s, r.s);
    const inList = list === smt.FALSE ? smt.FALSE : smt.and(smt.not(nulls), list, this.holds(l, r, e));
    // on the budget of one comparison: `contains` costs both lengths, the others the shorter one
    // (`starts_with`/`ends_with` a literal cost nothing)
    const la = `(str.len ${l.s})`;
    const lb = `(str.len ${r.s})`;
    const steps = e.op === "contains" ? `(+ ${la} ${lb})` : `(ite (< ${la} ${lb}) ${la} ${lb})`;
    const walked = literalAffix(e) ? smt.FALSE : smt.and(strs, `(> ${steps} ${MAX_WORK})`);
    return this.bool(smt.or(l.err, r.err, wrong, walked), smt.or(inList, smt.and(strs, op)));
  }

  /**
   * `any(x in L: C)` / `all(...)` with `L` a field of the input and `C` a test of `x` against
   * primitive literals only (`elementTest`): `C` is a constant for each literal and one constant
   * (`OTHER`) for every other element, so the quantifier holds when the list holds a literal, or
   * a hidden element, that decides it (for `all`: when none holds that refutes it). Such a
   * condition never fails and walks nothing; what fails is a list of another type, or a visit
   * past the interpreter's limit (MAX_QUANTIFIER_VISITS): certain when no element decides the
   * quantifier, and, when one does, a matter of where it is: some order fails exactly when
   * at least that many elements do not decide it, and the list's order Bool picks the deciding
   * elements first or last (vocabulary.ts `QuantifiedList`, which model.ts builds). Exact while
   * every quantifier over the list is decided by the same elements; otherwise the limit is left
   * open past it, and reported.
   * Anything else is opaque.
   */
  private quantifier(e: IR.QuantifierExpr): Sym {
    const what = `\`${e.quantifier}(...)\``;
    // a list bound by an outer quantifier, or a stage's value, is not an input field
    if (e.list.kind !== "path" || !["action", "current", "user", "context", "session", "item"].includes(e.list.root) || !elementTest(e.condition, e.variable)) return this.opaque(e, what, true);
    const list = this.expr(e.list);
    if (!list.path) return this.opaque(e, what, true);
    const p = list.path;
    const wanted = e.quantifier === "any";
    const literals = new Set<string | number | boolean>();
    collectLiterals(e.condition, literals);
    for (const lit of literals) this.vocab.member(p, lit);
    const decides = (v: ListElement): boolean => testElement(e.condition, e.variable, v) === wanted;
    const { found, pastLimit } = this.vocab.shared(`quantifier:${p.index}:${exprKey(this.policy, e)}`, () => {
      const q = this.vocab.quantified(p, decides);
      const found = this.vocab.declare("q", "Bool");
      const pastLimit = this.vocab.declare("qp", "Bool");
      // declared now: the script's declarations are read before the deferred assertions are written
      const free = this.vocab.declare("qf", "Bool");
      const length = this.vocab.listLength(p);
      // every membership is known only once every expression is encoded
      this.vocab.defer(() => {
        const members = [...p.members.values()];
        const deciding = members.filter((m) => decides(m.value)).map((m) => m.name);
        // the elements before a deciding one when those come last: every other one
        const others = `(+ ${members
          .filter((m) => !decides(m.value))
          .map((m) => `(ite ${m.name} 1 0)`)
          .join(" ")} ${decides(OTHER) ? "0" : p.h})`;
        // quantifiers over this list decided by other elements: past the limit is left open (reported)
        const past = q.exact ? smt.and(q.order, `(>= ${others} ${MAX_QUANTIFIER_VISITS})`) : smt.and(free, `(> ${length} ${MAX_QUANTIFIER_VISITS})`);
        return smt.and(smt.eq(found, smt.or(...deciding, decides(OTHER) ? `(> ${p.h} 0)` : smt.FALSE)), smt.eq(pastLimit, past));
      });
      return { found, pastLimit };
    });
    const isList = isTag(list, "list");
    const wrong = smt.and(smt.not(isTag(list, "null")), smt.not(isList));
    // visiting more than the limit fails: every element when none decides, else those up to the deciding one
    const tooLong = smt.and(isList, smt.ite(found, pastLimit, `(> ${this.vocab.listLength(p)} ${MAX_QUANTIFIER_VISITS})`));
    return this.bool(smt.or(list.err, wrong, tooLong), smt.and(isList, wanted ? found : smt.not(found)));
  }

  private tracker(index: number, at: IR.Expr): Sym {
    const def = this.policy.trackers[index]!;
    if (!(TRACKER_KINDS as readonly string[]).includes(def.kind)) return this.opaque(at, `a history predicate of kind \`${def.kind}\` (unknown to the encoding)`, false);
    const t = this.trackerVar(index);
    // reading it fails when the history is malformed, when an entry in its window poisons it
    // (its condition or value cannot be evaluated there), and, in a scan with a window, when
    // `time` is malformed
    const err = this.vocab.define(
      "Bool",
      smt.or(this.vocab.badHistory(), trackerMayErr(this.vocab, this.policy, def) ? t.poison : smt.FALSE, def.withinMs !== null ? this.vocab.badTime() : smt.FALSE),
    );
    if (t.kind === "seen") return { err, tag: T("bool"), b: t.value, n: NO.n, s: NO.s };
    const n = t.kind === "count" ? `(to_real ${t.value})` : t.value;
    const tag = t.kind === "max" || t.kind === "min" ? `(ite ${t.none} ${T("null")} ${T("number")})` : T("number");
    return { err, tag, b: NO.b, n, s: NO.s };
  }

  trackerVar(index: number): TrackerVar {
    const t = this.policy.trackers[index]!;
    return this.vocab.tracker(trackerKey(this.policy, t), t.kind, this.source.text(t.span).replace(/\s+/g, " "), t.withinMs !== null);
  }

  private fn(e: IR.FnExpr): Sym {
    if (e.name === "lower" || e.name === "upper") return this.changeCase(e, e.name);
    if (e.name === "host") return this.host(e);
    if (e.name !== "length") return this.opaque(e, `\`${e.name}(...)\``, false);
    const v = this.expr(e.arg);
    const wrong = smt.and(smt.not(isTag(v, "null")), smt.not(isTag(v, "string")), smt.not(isTag(v, "list")));
    // a list read from the input has a length (vocabulary.ts); a list of another kind is left open
    const listLength = v.path ? `(to_real ${this.vocab.listLength(v.path)})` : this.opaque(e, "`length` of a list that is not a field of the input", false).n;
    const n = smt.ite(isTag(v, "string"), `(to_real ${this.stringLength(e, v.s)})`, smt.ite(isTag(v, "list"), listLength, "0.0"));
    const tag = smt.ite(isTag(v, "null"), T("null"), T("number"));
    return { err: this.vocab.define("Bool", smt.or(v.err, wrong)), tag: this.vocab.define("Int", tag), b: NO.b, n: this.vocab.define("Real", n), s: NO.s };
  }

  /** A string function's error and result tag: `null` stays null, another non-string is an error. */
  private stringArgument(v: Sym): { err: Term; isNull: Term } {
    const isNull = isTag(v, "null");
    return { err: this.vocab.define("Bool", smt.or(v.err, smt.and(smt.not(isNull), smt.not(isTag(v, "string"))))), isNull };
  }

  /**
   * `lower(x)`/`upper(x)` (text-functions.ts): exact on ASCII text, free on other text; the
   * exact flag keeps the solver's first try to ASCII.
   */
  private changeCase(e: IR.FnExpr, name: "lower" | "upper"): Sym {
    const v = this.expr(e.arg);
    const { err, isNull } = this.stringArgument(v);
    return this.vocab.shared(`case:${name}:${v.err}:${v.tag}:${v.s}`, () => {
      const vocab = this.vocab;
      const flag = vocab.exact(CASE_MAPPING);
      const ascii = vocab.define("Bool", asciiOnly(v.s));
      vocab.lines.push(`(assert (=> ${flag} ${ascii}))`);
      const free = vocab.declare("case", "String");
      // what holds of every string (checked over every code point): `toLowerCase` gives no ASCII
      // upper-case letter, `toUpperCase` no ASCII lower-case one
      vocab.lines.push(`(assert (not (str.in_re ${free} ${caseExcluded(name)})))`);
      const s = vocab.define("String", smt.ite(ascii, asciiCaseMap(name, v.s), free));
      return { err, tag: vocab.define("Int", smt.ite(isNull, T("null"), T("string"))), b: NO.b, n: NO.n, s, cased: { name, arg: v.s, ascii, free }, text: true };
    });
  }

  /**
   * `host(x)` (text-functions.ts): `null` for text without `:`; the host of a URL of the simple
   * shape; free (null or any string) otherwise, where the exact flag keeps the solver's first try
   * out of.
   */
  private host(e: IR.FnExpr): Sym {
    const v = this.expr(e.arg);
    const { err, isNull } = this.stringArgument(v);
    return this.vocab.shared(`host:${v.err}:${v.tag}:${v.s}`, () => {
      const vocab = this.vocab;
      const flag = vocab.exact(HOST_SHAPE);
      const noUrl = vocab.define("Bool", smt.not(smt.app("str.contains", v.s, '":"')));
      // the URL is taken apart only where `simple` holds; left false, the host is free (never
      // wrong: the exact flag makes the solver's first try take the URL apart where it can). The
      // host is the one stretch between the parts (neither can hold a host's last character).
      const simple = vocab.declare("simple", "Bool");
      const part = (choices: readonly Term[], regex: Term): Term => {
        const other = vocab.declare("url", "String");
        const picks = choices.map(() => vocab.declare("pick", "Bool"));
        // a string of the regex only when no whole string is picked, so that Z3 derives none it need not
        vocab.lines.push(`(assert (=> ${smt.and(simple, smt.not(smt.or(...picks)))} (str.in_re ${other} ${regex})))`);
        return vocab.define(
          "String",
          choices.reduceRight((rest: Term, choice, i) => smt.ite(picks[i]!, choice, rest), other),
        );
      };
      const before = part(['"https://"', '"http://"'], BEFORE_HOST);
      const host = part([...vocab.hostNames].map(smt.str), HOST_REGEX);
      const after = part(['""', `(str.++ "/" ${vocab.declare("path", "String")})`], AFTER_HOST);
      vocab.lines.push(`(assert (=> ${simple} (= ${v.s} (str.++ ${before} ${host} ${after}))))`);
      vocab.lines.push(`(assert (=> ${flag} (or ${noUrl} ${simple})))`);
      const freeNull = vocab.declare("hostnull", "Bool");
      const free = vocab.declare("host", "String");
      const tag = smt.ite(smt.or(isNull, noUrl), T("null"), smt.ite(simple, T("string"), smt.ite(freeNull, T("null"), T("string"))));
      return { err, tag: vocab.define("Int", tag), b: NO.b, n: NO.n, s: vocab.define("String", smt.ite(simple, host, free)), text: true };
    });
  }

  /**
   * A string's number of Unicode code points (semantics.ts `length`): its UTF-16 length less its
   * surrogate pairs. Z3 cannot count the pairs, so their number P is free within what certainly
   * holds: none without a pair, at least one with one, and at most half the length.
   */
  private stringLength(e: IR.Expr, s: Term): Term {
    return this.vocab.shared(`codepoints:${s}`, () => {
      this.unsupported(e, CODE_POINTS);
      const v = this.vocab;
      const pairs = v.declare("sp", "Int");
      const units = `(str.len ${s})`;
      const pair = `(re.++ (re.range ${smt.char(0xd800)} ${smt.char(0xdbff)}) (re.range ${smt.char(0xdc00)} ${smt.char(0xdfff)}))`;
      const hasPair = `(str.in_re ${s} (re.++ re.all ${pair} re.all))`;
      v.lines.push(`(assert (and (<= 0 ${pairs}) (<= (* 2 ${pairs}) ${units}) (= ${hasPair} (>= ${pairs} 1))))`);
      return v.define("Int", `(- ${units} ${pairs})`);
    });
  }

  private arith(e: IR.ArithExpr): Sym {
    // JavaScript rounds each step to a double and errs past the largest one (semantics.ts
    // `arith`): the result is a free value within the rounding's bounds of the exact one, and may
    // overflow only where the exact one is that large; the exact value is the solver's first try
    this.unsupported(e, ARITH_ROUNDING);
    const flag = this.vocab.exact(EXACT_REALS);
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    const v = this.vocab;
    const nums = smt.and(isTag(l, "number"), isTag(r, "number"));
    const byZero = e.op === "/" ? smt.eq(r.n, "0.0") : smt.FALSE;
    const real = v.define("Real", smt.app(e.op, l.n, r.n));
    const value = v.declare("a", "Real");
    const overflow = v.declare("ovf", "Bool");
    const abs = (t: Term): Term => `(ite (>= ${t} 0.0) ${t} (- ${t}))`;
    v.lines.push(`(assert (=> ${flag} (and (= ${value} ${real}) (not ${overflow}))))`);
    v.lines.push(`(assert (=> (not ${overflow}) (<= ${abs(`(- ${value} ${real})`)} (+ (* ${HALF_ULP} ${abs(real)}) ${HALF_SUBNORMAL}))))`);
    v.lines.push(`(assert (=> ${overflow} (>= ${abs(real)} ${OVERFLOW_BELOW})))`);
    const err = smt.or(l.err, r.err, smt.not(nums), smt.and(nums, byZero), smt.and(nums, smt.not(byZero), overflow));
    return { err: v.define("Bool", err), tag: T("number"), b: NO.b, n: value, s: NO.s };
  }

  /** A redaction fails when its regex meets a value that is neither a string nor null. */
  redactionError(effect: Extract<IR.Effect, { kind: "redact" }>): Term {
    if (effect.root !== "action" || effect.regex === null) return smt.FALSE;
    const v = this.pathSym("action", effect.path);
    return smt.and(smt.not(isTag(v, "null")), smt.not(isTag(v, "string")));
  }
}

const TRACKER_KINDS = ["count", "seen", "sum", "max", "min"] as const;

/**
 * Whether reading a history predicate can be an evaluation error because of its entries: its
 * condition (or `since`) can fail on some entry, it reads a value (`sum`, `max`, `min`: an entry
 * without a number fails), or it has correlation keys (a key that cannot be made). The condition
 * is encoded over a scratch vocabulary with the entry as the action; an error term that folds to
 * false means no entry can make it fail.
 */
function trackerMayErr(vocab: Vocabulary, policy: IR.Policy, t: IR.Tracker): boolean {
  if (t.value !== null || t.keys.length > 0) return true;
  const scratch = new Encoder(new Vocabulary(vocab.timezone), policy, { lineColumn: () => ({ line: 0, column: 0 }), text: () => "" }, "entry");
  return [t.condition, t.since].some((c) => c !== null && scratch.condition(c).err !== smt.FALSE);
}

/** What the interpreter's `combine` decides from the rules' terms. */
function decide(policy: IR.Policy, rules: readonly RuleTerms[], vocab: Vocabulary): Record<Outcome, Term> {
  const fired = (kinds: string[]): Term => smt.or(...rules.filter((r) => kinds.includes(r.rule.effect.kind)).map((r) => r.fires));
  const denied = vocab.define("Bool", smt.or(...rules.map((r) => r.err), fired(["deny"])));
  const approval = vocab.define("Bool", fired(["require_approval"]));
  const allowed = vocab.define("Bool", fired(["allow", "redact"]));
  const none = smt.and(smt.not(denied), smt.not(approval), smt.not(allowed));
  const byDefault = (k: Outcome): Term => (policy.defaultDecision === k ? none : smt.FALSE);
  return {
    deny: vocab.define("Bool", smt.or(denied, byDefault("deny"))),
    require_approval: vocab.define("Bool", smt.or(smt.and(smt.not(denied), approval), byDefault("require_approval"))),
    allow: vocab.define("Bool", smt.or(smt.and(smt.not(denied), smt.not(approval), allowed), byDefault("allow"))),
  };
}

export interface SourceLines {
  lineColumn(offset: number): { line: number; column: number };
  text(span: { start: number; end: number }): string;
}

/** Encodes the call stage of `policy` (or the call-stage rules among `only`) over `vocab`'s variables. */
export function encodePolicy(vocab: Vocabulary, policy: IR.Policy, source: SourceLines, only: readonly IR.Rule[] = policy.rules): PolicyEncoding {
  const enc = new Encoder(vocab, policy, source);
  const rules: RuleTerms[] = [];
  for (const rule of only) {
    if (rule.stage !== "call") continue;
    const c = enc.condition(rule.condition);
    const fires = vocab.define("Bool", smt.and(smt.not(c.err), c.val));
    const redactErr = rule.effect.kind === "redact" ? smt.and(fires, enc.redactionError(rule.effect)) : smt.FALSE;
    rules.push({ rule, err: vocab.define("Bool", smt.or(c.err, redactErr)), fires });
  }
  const trackers = policy.trackers.map((_, i) => enc.trackerVar(i));
  const decision = decide(policy, rules, vocab);
  const redacted = vocab.define("Bool", smt.or(...rules.filter((r) => r.rule.effect.kind === "redact").map((r) => r.fires)));
  const otherStages = policy.rules.filter((r) => r.stage !== "call");
  return { policy, rules, decision, redacted, trackers, notEncoded: enc.notEncoded, otherStages };
}

/**
 * A condition of `policy` (a property's `when`) as terms over `vocab`'s variables: whether it
 * fails and whether it is true. The same condition as a rule's has the same terms.
 */
export function encodeCondition(vocab: Vocabulary, policy: IR.Policy, source: SourceLines, e: IR.Expr): { err: Term; val: Term; notEncoded: readonly NotEncoded[] } {
  const enc = new Encoder(vocab, policy, source);
  const c = enc.condition(e);
  return { err: c.err, val: c.val, notEncoded: enc.notEncoded };
}

export { Vocabulary, WEEKDAYS };
