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

/** The longest string a counterexample may hold: far below the matcher's limits, so no limit is reached. */
export const MAX_STRING = 4096;

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
  private counter = 0;
  /** Assertions written last, when every variable is known (equality of two lists or objects). */
  private readonly deferred: (() => Term)[] = [];

  defer(assertion: () => Term): void {
    this.deferred.push(assertion);
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

  timeField(field: TimeField): string {
    let name = this.time.get(field);
    if (!name) {
      name = this.declare(`time_${field}`, field === "hour" || field === "minute" ? "Int" : "String");
      this.time.set(field, name);
    }
    return name;
  }

  tracker(key: string, kind: IR.TrackerKind, text: string): TrackerVar {
    let t = this.trackerByKey.get(key);
    if (!t) {
      const i = this.trackers.length;
      const sort = kind === "count" ? "Int" : kind === "seen" ? "Bool" : "Real";
      t = { index: i, key, kind, text, value: this.declare(`k${i}v`, sort), none: this.declare(`k${i}z`, "Bool") };
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
    for (const d of this.deferred) assert(d());
    for (const p of this.paths) {
      assert(`(and (<= 0 ${p.tag}) (<= ${p.tag} 5) (<= 0 ${p.h}) (<= (str.len ${p.s}) ${MAX_STRING}))`);
      // the input's shape, checked before any rule: action.type is a string
      if (p.root === "action" && p.fields.length === 1 && p.fields[0] === "type") assert(smt.eq(p.tag, String(Tag.string)));
      // a field read through a value that is not an object is null
      const parent = this.pathByKey.get(JSON.stringify([p.root, ...p.fields.slice(0, -1)]));
      if (parent && p.fields.length > 0) assert(`(=> (not (= ${p.tag} 0)) (= ${parent.tag} ${Tag.object}))`);
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
