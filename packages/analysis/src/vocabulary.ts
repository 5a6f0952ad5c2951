/**
 * The free variables of an encoding, shared by the policies encoded together (so that the old and
 * the new policy read the same input): one group per field path a policy reads, list memberships,
 * the `time` fields, one variable per history predicate, and opaque values for what is not
 * encoded. It also collects the script's lines (declarations and definitions, in the order made)
 * and writes the constraints that tie the variables together.
 *
 * A field path's value is modelled by a type tag (`Tag`) and one variable per type; a list by
 * which of the literals the policies look for it holds, plus a count of other elements; an object
 * by the fields the policies read, plus a number standing for the fields they do not.
 */
import type { IR } from "@agent-armor/compiler";
import type { Term } from "./smt.js";
import * as smt from "./smt.js";

/** The type tag of a value. */
export const Tag = { null: 0, bool: 1, number: 2, string: 3, list: 4, object: 5 } as const;

/** The longest string the random search builds (the solver's strings have no bound). */
export const MAX_STRING = 4096;

/** How deep `==` follows two objects field by field; deeper, their equality is left free (and reported). */
export const MAX_EQUAL_DEPTH = 8;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export type InputRoot = "action" | "user" | "context" | "session";

export interface PathVar {
  readonly index: number;
  readonly root: InputRoot;
  readonly fields: readonly string[];
  /** Variable names: tag, boolean, number, string, and the hidden part of a list or object. */
  readonly tag: string;
  readonly b: string;
  readonly n: string;
  readonly s: string;
  readonly h: string;
  /** List memberships: the literal (by key) → its Bool variable. */
  readonly members: Map<string, { readonly value: string | number | boolean; readonly name: string }>;
  /** Set once `any`/`all` reads the list (`Vocabulary.quantified`). */
  quantified?: QuantifiedList;
}

/** An element of a list that equals none of the literals looked for in it (a hidden one). */
export const OTHER: unique symbol = Symbol("other element");
export type ListElement = string | number | boolean | typeof OTHER;

/**
 * A list that `any`/`all` read: whether each element decides the quantifier (`any`: its condition
 * holds; `all`: it does not), per quantifier, and the Bool that orders the list: false, the
 * deciding elements first; true, last (model.ts builds it so). A deciding element then comes
 * first or after every other, which is all that the visit limit needs (encode.ts `quantifier`):
 * exact while every quantifier over the list is decided by the same elements.
 */
export interface QuantifiedList {
  readonly order: string;
  readonly decides: ((v: ListElement) => boolean)[];
  /** Known when every expression is encoded: whether the quantifiers over the list agree on the deciding elements. */
  exact: boolean;
}

export interface TrackerVar {
  readonly index: number;
  readonly key: string;
  readonly kind: IR.TrackerKind;
  /** The predicate as written (the first policy's text), for reports. */
  readonly text: string;
  readonly value: string;
  /** `max`/`min`: whether no entry matched (the value is null). */
  readonly none: string;
  /**
   * Whether the predicate is poisoned: an entry in its window on which its condition (or value)
   * cannot be evaluated, which makes reading it an evaluation error (a runtime passes `{ error }`).
   */
  readonly poison: string;
  /** Whether it has a window (then a malformed `time` makes reading it fail). */
  readonly windowed: boolean;
}

export type TimeField = IR.TimeField;

export class Vocabulary {
  readonly lines: string[] = [];

  /** The zone `time` fields are read in: the first policy's; another policy's `time` reads are opaque. */
  constructor(readonly timezone: string | null) {}

  readonly paths: PathVar[] = [];
  private readonly pathByKey = new Map<string, PathVar>();
  readonly trackers: TrackerVar[] = [];
  private readonly trackerByKey = new Map<string, TrackerVar>();
  readonly time = new Map<TimeField, string>();
  private readonly opaque = new Map<string, unknown>();
  /** Set once something reads the history: the input's `history` is not a list of entries. */
  historyBad: string | null = null;
  /** Set once something reads `time`: the input's `time` is not a date-time. */
  timeBad: string | null = null;
  /** Places the encoding left open while writing the deferred assertions (nested `==` too deep). */
  readonly lateNotEncoded: string[] = [];
  /**
   * Set once the encoding approximates a value (arithmetic, which JavaScript rounds to doubles):
   * true, it takes the exact value (the solver's first try, for examples that reproduce); free,
   * only bounds that certainly hold. A proof ("impossible") counts only without it (solver.ts).
   */
  exactFlag: string | null = null;
  /** Why the encoding approximates, for the reports of what is not proved. */
  readonly approximations = new Set<string>();
  /**
   * Names the policies encoded with this vocabulary may compare a URL's host with (their string
   * literals of a host's shape, `noteHostNames`): `host` offers them to the solver as whole hosts.
   */
  readonly hostNames = new Set<string>();
  private counter = 0;
  /** Assertions written last, when every variable is known (equality of two lists or objects). */
  private readonly deferred: (() => Term)[] = [];

  /** Pairs of paths compared with `==` (or whose fields are, below such a pair): their Bool, by key. */
  private readonly equalPairs = new Map<string, { readonly a: PathVar; readonly b: PathVar; readonly depth: number; readonly name: string }>();

  defer(assertion: () => Term): void {
    this.deferred.push(assertion);
  }

  /**
   * Whether the values at two paths are equal (`sem.equals`): a Bool whose definition is written
   * with the constraints, once every field read anywhere is known (see `equalityTerms`).
   */
  equal(a: PathVar, b: PathVar, depth = 0): string {
    if (a.index === b.index) return smt.TRUE;
    const [x, y] = a.index < b.index ? [a, b] : [b, a];
    const key = `${x.index}:${y.index}`;
    let pair = this.equalPairs.get(key);
    if (!pair) {
      pair = { a: x, b: y, depth, name: this.declare("ce", "Bool") };
      this.equalPairs.set(key, pair);
    }
    return pair.name;
  }

  /** The fields of `p` some path reads, directly or below them. */
  private children(p: PathVar): string[] {
    const out = new Set<string>();
    for (const q of this.paths) if (q.root === p.root && q.fields.length > p.fields.length && p.fields.every((f, i) => q.fields[i] === f)) out.add(q.fields[p.fields.length]!);
    return [...out];
  }

  /** The nearest path above `p` that has variables (a root read whole counts), or null. */
  private ancestor(p: PathVar): PathVar | null {
    for (let n = p.fields.length - 1; n >= 0; n--) {
      const a = this.pathByKey.get(JSON.stringify([p.root, ...p.fields.slice(0, n)]));
      if (a) return a;
    }
    return null;
  }

  /**
   * The definitions of the equality Bools. First the pairs are closed: two objects compared have
   * the same fields read (a field read under one is read under the other, so a counterexample
   * holds it on both sides), and each pair of fields is a pair in turn, down to MAX_EQUAL_DEPTH
   * levels; deeper, objects' equality is left free and reported (`lateNotEncoded`). Then each
   * pair is equal when the tags agree and the values do: primitives by value, lists by the
   * literals they hold and their hidden part, objects by their fields and their hidden part.
   */
  private equalityTerms(): Term[] {
    let changed = true;
    while (changed) {
      changed = false;
      // a Map's iteration visits the entries added during it
      for (const { a, b, depth } of this.equalPairs.values()) {
        if (depth >= MAX_EQUAL_DEPTH) continue;
        for (const f of new Set([...this.children(a), ...this.children(b)])) {
          const size = this.paths.length + this.equalPairs.size;
          this.equal(this.path(a.root, [...a.fields, f]), this.path(b.root, [...b.fields, f]), depth + 1);
          if (this.paths.length + this.equalPairs.size > size) changed = true;
        }
      }
    }
    return [...this.equalPairs.values()].map((p) => smt.eq(p.name, this.equalTerm(p.a, p.b, p.depth)));
  }

  private equalTerm(a: PathVar, b: PathVar, depth: number): Term {
    const tag = (p: PathVar, k: keyof typeof Tag): Term => smt.eq(p.tag, String(Tag[k]));
    const lists = [smt.eq(a.h, b.h)];
    for (const key of new Set([...a.members.keys(), ...b.members.keys()])) {
      const value = (a.members.get(key) ?? b.members.get(key))!.value;
      lists.push(smt.eq(this.member(a, value), this.member(b, value)));
    }
    const objects = [smt.eq(a.h, b.h)];
    const fields = new Set([...this.children(a), ...this.children(b)]);
    if (fields.size > 0 && depth >= MAX_EQUAL_DEPTH) {
      this.lateNotEncoded.push(`\`==\` of objects nested more than ${MAX_EQUAL_DEPTH} levels deep`);
      objects.push(this.declare("ce", "Bool"));
    } else {
      for (const f of fields) objects.push(this.equal(this.path(a.root, [...a.fields, f]), this.path(b.root, [...b.fields, f]), depth + 1));
    }
    return smt.and(
      smt.eq(a.tag, b.tag),
      smt.or(
        tag(a, "null"),
        smt.and(tag(a, "bool"), smt.eq(a.b, b.b)),
        smt.and(tag(a, "number"), smt.eq(a.n, b.n)),
        smt.and(tag(a, "string"), smt.eq(a.s, b.s)),
        smt.and(tag(a, "list"), ...lists),
        smt.and(tag(a, "object"), ...objects),
      ),
    );
  }

  /** The flag of exact values (see `exactFlag`), recording why the encoding approximates. */
  exact(why: string): string {
    this.approximations.add(why);
    this.exactFlag ??= this.declare("exact", "Bool");
    return this.exactFlag;
  }

  /** What `openSession` needs to tell a proof from an approximation's artefact. */
  approximation(): { readonly flag: string; readonly why: readonly string[] } | null {
    return this.exactFlag === null ? null : { flag: this.exactFlag, why: [...this.approximations] };
  }

  declare(prefix: string, sort: "Bool" | "Int" | "Real" | "String"): string {
    const name = `${prefix}${this.counter++}`;
    this.lines.push(`(declare-const ${name} ${sort})`);
    return name;
  }

  /** A name for `term` (a `define-fun`), unless it is already short. */
  define(sort: "Bool" | "Int" | "Real" | "String", term: Term): Term {
    if (!term.includes(" ")) return term;
    const name = `d${this.counter++}`;
    this.lines.push(`(define-fun ${name} () ${sort} ${term})`);
    return name;
  }

  path(root: InputRoot, fields: readonly string[]): PathVar {
    const key = JSON.stringify([root, ...fields]);
    let p = this.pathByKey.get(key);
    if (!p) {
      const i = this.paths.length;
      p = {
        index: i,
        root,
        fields,
        tag: this.declare(`p${i}t`, "Int"),
        b: this.declare(`p${i}b`, "Bool"),
        n: this.declare(`p${i}n`, "Real"),
        s: this.declare(`p${i}s`, "String"),
        h: this.declare(`p${i}h`, "Int"),
        members: new Map(),
      };
      this.paths.push(p);
      this.pathByKey.set(key, p);
    }
    return p;
  }

  /** Whether the list at `p` holds `value` (a primitive literal). */
  member(p: PathVar, value: string | number | boolean): string {
    const key = JSON.stringify(value);
    let m = p.members.get(key);
    if (!m) {
      m = { value, name: this.declare(`m${p.index}_`, "Bool") };
      p.members.set(key, m);
    }
    return m.name;
  }

  /** Registers a quantifier over the list at `p` by which elements decide it. */
  quantified(p: PathVar, decides: (v: ListElement) => boolean): QuantifiedList {
    if (p.quantified === undefined) {
      const q: QuantifiedList = { order: this.declare(`p${p.index}o`, "Bool"), decides: [], exact: true };
      p.quantified = q;
      this.defer(() => {
        const elements: ListElement[] = [...[...p.members.values()].map((m) => m.value), OTHER];
        q.exact = new Set(q.decides.map((d) => elements.map((v) => (d(v) ? 1 : 0)).join(""))).size <= 1;
        if (!q.exact) this.lateNotEncoded.push("the visit limit of `any`/`all` over one list whose quantifiers are decided by different elements (left open past 100,000 elements)");
        return smt.TRUE;
      });
    }
    p.quantified.decides.push(decides);
    return p.quantified;
  }

  /**
   * The length of the list at `p`: the literals it holds and its hidden elements (model.ts builds
   * it so), written last, when every membership is known.
   */
  listLength(p: PathVar): string {
    return this.shared(`length:${p.index}`, () => {
      const name = this.declare("len", "Int");
      this.defer(() => smt.eq(name, `(+ ${p.h} ${[...p.members.values()].map((m) => `(ite ${m.name} 1 0)`).join(" ")} 0)`));
      return name;
    });
  }

  /** The flag that the input's history is malformed (every history predicate then errs). */
  badHistory(): string {
    this.historyBad ??= this.declare("history_bad", "Bool");
    return this.historyBad;
  }

  /** The flag that the input's `time` is malformed (every `time` field then errs). */
  badTime(): string {
    this.timeBad ??= this.declare("time_bad", "Bool");
    return this.timeBad;
  }

  timeField(field: TimeField): string {
    let name = this.time.get(field);
    if (!name) {
      name = this.declare(`time_${field}`, field === "hour" || field === "minute" ? "Int" : "String");
      this.time.set(field, name);
    }
    return name;
  }

  tracker(key: string, kind: IR.TrackerKind, text: string, windowed: boolean): TrackerVar {
    let t = this.trackerByKey.get(key);
    if (!t) {
      const i = this.trackers.length;
      const sort = kind === "count" ? "Int" : kind === "seen" ? "Bool" : "Real";
      t = { index: i, key, kind, text, value: this.declare(`k${i}v`, sort), none: this.declare(`k${i}z`, "Bool"), poison: this.declare(`k${i}e`, "Bool"), windowed };
      this.trackers.push(t);
      this.trackerByKey.set(key, t);
    }
    return t;
  }

  /** The same opaque value for the same key: an expression not encoded means the same in both policies. */
  shared<T>(key: string, make: () => T): T {
    if (this.opaque.has(key)) return this.opaque.get(key) as T;
    const v = make();
    this.opaque.set(key, v);
    return v;
  }

  /** The constraints every input satisfies, given the variables made so far. */
  constraints(): string[] {
    const out: string[] = [];
    const assert = (t: Term): void => {
      if (t !== smt.TRUE) out.push(`(assert ${t})`);
    };
    for (const t of this.equalityTerms()) assert(t);
    // after the equalities, which may add list memberships that a list's length counts
    for (const d of this.deferred) assert(d());
    for (const p of this.paths) {
      // strings have no bound: a regex may need a long one, and past the matcher's limit of
      // 1,048,576 characters a match errs (encode.ts says so); a model's long string is real
      assert(`(and (<= 0 ${p.tag}) (<= ${p.tag} 5) (<= 0 ${p.h}))`);
      // the input's shape, checked before any rule: action.type is a string
      if (p.root === "action" && p.fields.length === 1 && p.fields[0] === "type") assert(smt.eq(p.tag, String(Tag.string)));
      // a field read through a value that is not an object is null (the levels between a field and
      // its nearest ancestor with variables are objects a counterexample makes)
      const parent = this.ancestor(p);
      if (parent) assert(`(=> (not (= ${p.tag} 0)) (= ${parent.tag} ${Tag.object}))`);
    }
    for (const [field, name] of this.time) {
      if (field === "hour") assert(`(and (<= 0 ${name}) (<= ${name} 23))`);
      else if (field === "minute") assert(`(and (<= 0 ${name}) (<= ${name} 59))`);
      else if (field === "weekday") assert(smt.or(...WEEKDAYS.map((d) => smt.eq(name, smt.str(d)))));
      else assert(`(str.in_re ${name} ${DATE_REGEX})`);
    }
    const counts = new Map<string, TrackerVar>();
    for (const t of this.trackers) if (t.kind === "count") counts.set(sameEntries(t.key), t);
    for (const t of this.trackers) {
      if (t.kind === "count") assert(`(>= ${t.value} 0)`);
      const count = counts.get(sameEntries(t.key));
      // seen and max/min say whether an entry matched, which a count over the same entries says too
      if (t.kind === "seen" && count) assert(`(= ${t.value} (> ${count.value} 0))`);
      if ((t.kind === "max" || t.kind === "min") && count) assert(`(= ${t.none} (= ${count.value} 0))`);
      // `seen` tests every entry in the window as `count` does: an entry that poisons one poisons both
      if (t.kind === "seen" && count) assert(`(= ${t.poison} ${count.poison})`);
    }
    return out;
  }
}

/** The part of a tracker's key that names the entries it reads (without its kind and value). */
function sameEntries(key: string): string {
  const k = JSON.parse(key) as { kind: string; value: unknown; since: unknown };
  return k.since !== null ? `since:${key}` : JSON.stringify({ ...k, kind: null, value: null });
}

const digit = '(re.range "0" "9")';
const d2 = (a: string, b: string): string => `(re.++ (str.to_re "${a}") (re.range "${b[0]}" "${b[1]}"))`;
/** The two-digit multiples of 4 ("00", "04", ... "96"), as a regex union. */
const mult4 = (withZero: boolean): string =>
  `(re.union ${Array.from({ length: 25 }, (_, i) => String(i * 4).padStart(2, "0"))
    .filter((x) => withZero || x !== "00")
    .map((x) => `(str.to_re "${x}")`)
    .join(" ")})`;
/**
 * "YYYY-MM-DD" dates that exist: days 01..28 of any month, 29..30 of any month but February, 31
 * of the months that have it, and 29 February of the leap years (YY04..YY96 by four, and the
 * centuries divisible by 400).
 */
const LEAP_DAY = `(re.union (re.++ ${digit} ${digit} ${mult4(false)} (str.to_re "-02-29")) (re.++ ${mult4(true)} (str.to_re "00-02-29")))`;
const DATE_REGEX = `(re.union ${LEAP_DAY} (re.++ ((_ re.loop 4 4) ${digit}) (str.to_re "-") (re.union
 (re.++ (re.union ${d2("0", "19")} ${d2("1", "02")}) (str.to_re "-") (re.union ${d2("0", "19")} ${d2("1", "09")} ${d2("2", "08")}))
 (re.++ (re.union (str.to_re "01") ${d2("0", "39")} ${d2("1", "02")}) (str.to_re "-") (re.union (str.to_re "29") (str.to_re "30")))
 (re.++ (re.union (str.to_re "01") (str.to_re "03") (str.to_re "05") (str.to_re "07") (str.to_re "08") (str.to_re "10") (str.to_re "12")) (str.to_re "-31")))))`;
