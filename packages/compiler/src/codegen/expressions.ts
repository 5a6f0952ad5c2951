/**
 * Conditions as JavaScript expressions: the expression compiler codegen plans a module with
 * (`plan.ts`). An expression is text; what it needs from the module is collected here as data
 * for the printer: the helpers it calls (in the order of first use), the constants it hoists
 * (sets, frozen literals, regex programs), the keys it reads on the plain-object fast path and
 * whether it matches regexes.
 *
 * User text reaches the output only through `escape.ts`.
 */
import type * as IR from "../ir.js";
import { constantSet, literalAffix, literalSide } from "../ir-shapes.js";
import { MAX_WORK } from "../semantics.js";
import { jsString, jsValue } from "./escape.js";

/** A primitive literal of a condition, read from data by a rule function template. */
export type Literal = string | number | boolean | null;

/** A hoisted module constant: `const <name> = <code>;`. */
export interface Constant {
  readonly name: string;
  readonly code: string;
}

/** A compiled condition: a JS expression over `$D`, `$o`, `$A`, `$I`, `$plain` and `t0`…`t<temps - 1>`. */
export interface CompiledCondition {
  readonly body: string;
  readonly temps: number;
  /** The values of `$D[$o]`, `$D[$o + 1]`, … that the body reads (rule conditions only). */
  readonly literals: readonly Literal[];
}

/** The prelude helper of each value function (`prelude.ts`), the compiled twin of its `semantics.ts` function. */
const FUNCTION_HELPERS: Record<IR.FnExpr["name"], string> = { host: "$host", lower: "$lower", upper: "$upper", length: "$length", strings: "$strings" };

const isPrimitive = (v: IR.Value): v is string | number | boolean | null => v === null || typeof v !== "object";

/** Expressions that always evaluate to a finite number: counts, `time.hour`, `time.minute`, number literals, arithmetic. */
function knownNumber(e: IR.Expr): boolean {
  return (
    e.kind === "count" ||
    (e.kind === "aggregate" && e.aggregate === "sum") ||
    (e.kind === "time" && (e.field === "hour" || e.field === "minute")) ||
    (e.kind === "literal" && typeof e.value === "number") ||
    e.kind === "arith"
  );
}

/** The limit of semantics.ts's MAX_QUANTIFIER_VISITS, which the emitted `$qb` counts down from. */
const QUANTIFIER_VISITS = 100_000;

export class ExpressionCompiler {
  /** The prelude helpers the module calls, in the order of first use (see `helperClosure`). */
  private readonly used = new Set<string>(["$f", "$err"]);
  readonly constants: Constant[] = [];
  private readonly constantKeys = new Map<string, string>();
  /** Whether a pattern is matched (`__reLength` and `$E` are needed) and whether by the matcher. */
  usesRegex = false;
  usesRegexVm = false;
  /** The detector checks the module calls (function names of regex/detector-source.ts). */
  readonly checks = new Set<string>();
  private temps = 0;
  /** Keys read straight off the input or the action on the plain-object fast path (see `plainRead`). */
  private readonly plainKeys = new Set<string>(["action", "type"]);
  /** Inside tracker functions, which the runtime also calls outside `decide`: no fast path. */
  private inTracker = false;
  /** While compiling a rule condition: the literals it reads from `$D`, in order. */
  private templateConsts: Literal[] | null = null;
  /** The locals of the quantifiers around the expression being compiled, outermost first, with their JS names. */
  private readonly locals: { readonly name: string; readonly js: string }[] = [];

  constructor(private readonly regexes: IR.Policy["regexes"]) {}

  use(name: string): string {
    this.used.add(name);
    return name;
  }

  uses(name: string): boolean {
    return this.used.has(name);
  }

  /** The helpers used so far, in the order of first use. */
  helpers(): string[] {
    return [...this.used];
  }

  /** The keys read on the plain-object fast path, sorted. */
  fastPathKeys(): string[] {
    return [...this.plainKeys].sort();
  }

  private constant(prefix: string, code: string): string {
    const key = `${prefix}|${code}`;
    let name = this.constantKeys.get(key);
    if (!name) {
      name = `${prefix}${this.constants.length}`;
      this.constants.push({ name, code });
      this.constantKeys.set(key, name);
    }
    return name;
  }

  /** The constant holding the program of `Policy.regexes[index]`, for the matcher. */
  regexProgram(index: number): string {
    this.usesRegex = true;
    this.usesRegexVm = true;
    this.use("$E");
    return this.constant("$P", jsValue(this.regexes[index]!.program));
  }

  /** The check of `Policy.regexes[index]` when it is a detector with one, else null. */
  regexCheck(index: number): string | null {
    return this.regexes[index]!.check;
  }

  /** The name of a detector's check function, which the module then carries. */
  check(name: string): string {
    this.checks.add(name);
    return name;
  }

  /** A rule's condition as the body of a template function: its literals are read from `$D`. */
  ruleCondition(condition: IR.Expr): CompiledCondition {
    this.temps = 0;
    const literals: Literal[] = [];
    this.templateConsts = literals;
    const body = this.cond(condition, "$item");
    this.templateConsts = null;
    return { body, temps: this.temps, literals };
  }

  /** A tracker's predicate over one history entry (`$item`): no fast path, literals inline. */
  trackerCondition(condition: IR.Expr): CompiledCondition {
    // its scan and the runtime's calls start the work budget (print.ts)
    this.use("$wb");
    this.temps = 0;
    this.inTracker = true;
    const body = this.cond(condition, "$item");
    this.inTracker = false;
    return { body, temps: this.temps, literals: [] };
  }

  /** A list of values read from one action (`$item`): the sides of a tracker's correlation keys. */
  trackerList(values: readonly IR.Expr[]): CompiledCondition {
    this.temps = 0;
    this.inTracker = true;
    const body = `[${values.map((v) => this.value(v, "$item")).join(", ")}]`;
    this.inTracker = false;
    return { body, temps: this.temps, literals: [] };
  }

  /**
   * The values of a tracker's keys read from one entry (`$item`), one list per key: `[value]` for
   * `ENTRY == current.F`, and for `any(x in LIST: x.G == current.F)` the value of each element.
   */
  trackerKeyParts(keys: readonly IR.TrackerKey[]): CompiledCondition {
    this.temps = 0;
    this.inTracker = true;
    const parts = keys.map((k) => {
      if (k.list === undefined) return `[${this.value(k.entry, "$item")}]`;
      const element = `$l${this.locals.length}`;
      const list = this.value(k.list.expr, "$item");
      this.locals.push({ name: k.list.variable, js: element });
      const value = this.value(k.entry, "$item");
      this.locals.pop();
      return `${this.use("$keyList")}(${list}).map((${element}) => (${element} === undefined ? null : ${value}))`;
    });
    this.inTracker = false;
    return { body: `[${parts.join(", ")}]`, temps: this.temps, literals: [] };
  }

  /** The number a `sum`/`max`/`min` tracker reads from one history entry (`$item`). */
  trackerValue(value: IR.Expr): CompiledCondition {
    this.temps = 0;
    this.inTracker = true;
    const body = this.value(value, "$item");
    this.inTracker = false;
    return { body, temps: this.temps, literals: [] };
  }

  private temp(): string {
    return `t${this.temps++}`;
  }

  /**
   * A primitive literal of a rule's condition. Rule functions are templates: their literals are
   * read from the type's dispatch entry (\`$D[$o + k]\`), so rules that differ only in literals (and in their
   * action types) share one function, and the per-type functions that run them share code too.
   * The values are the same; only where the code reads them from changes.
   */
  private lit(v: string | number | boolean | null): string {
    if (this.templateConsts === null) return jsValue(v);
    this.templateConsts.push(v);
    return `$D[$o + ${this.templateConsts.length - 1}]`;
  }

  /**
   * Field reads in rule functions, which get the input (\`$I\`), the action (\`$A\`) and \`$plain\`
   * as parameters from decide(). \`$plain\` is true when decide() has found that both are plain
   * objects (their prototype is Object.prototype) and that Object.prototype has none of the keys
   * the policy reads: then an own field and an ordinary property read are the same thing, and the
   * read skips hasOwnProperty. Otherwise the read is \`$f(obj, key)\`.
   */
  /** `$f(o, key)` for a value read from the input: the fast path when it is a plain object too. */
  private nestedRead(o: string, key: string): string {
    this.plainKeys.add(key);
    const t = this.temp(),
      u = this.temp();
    const k = jsString(key);
    return `((${u} = ${o}) !== null && $plain && typeof ${u} === "object" && ${u}.__proto__ === Object.prototype ? ((${t} = ${u}[${k}]) === undefined ? null : ${t}) : $f(${u}, ${k}))`;
  }

  private plainRead(obj: "$A" | "$I", key: string): string {
    this.use("$f");
    this.plainKeys.add(key);
    const t = this.temp();
    const k = jsString(key);
    return `($plain ? ((${t} = ${obj}[${k}]) === undefined ? null : ${t}) : $f(${obj}, ${k}))`;
  }

  // ---- expressions -----------------------------------------------------------------------

  /** A JS expression for the value of `e`. `item` names the history entry's action inside trackers. */
  private value(e: IR.Expr, item: string): string {
    switch (e.kind) {
      case "literal":
        return isPrimitive(e.value) ? jsValue(e.value) : this.constant("$L", `Object.freeze(${jsValue(e.value)})`);
      case "path": {
        let code: string;
        let from = 0;
        if (e.root === "local") {
          code = this.localName(e.fields[0]!);
          from = 1;
        } else if (e.root === "item") code = item;
        // the current action inside a tracker's scan, which runs only within decide ($I is the input)
        else if (e.root === "current") code = `${this.use("$f")}($I, "action")`;
        else if (e.root === "action") {
          code = "$A";
          if (e.fields.length > 0 && !this.inTracker) {
            code = this.plainRead("$A", e.fields[0]!);
            from = 1;
          }
        } else if (e.root === "result" || e.root === "output") {
          // the stage's value, read and checked once by decideResult/decideOutput
          code = this.use("$V");
        } else if (e.root === "itemLabels") code = this.use("$itemLabels");
        else code = this.inTracker ? `${this.use("$f")}($I, ${jsString(e.root)})` : this.plainRead("$I", e.root);
        for (let i = from; i < e.fields.length; i++) code = this.inTracker ? `$f(${code}, ${jsString(e.fields[i]!)})` : this.nestedRead(code, e.fields[i]!);
        return code;
      }
      case "time":
        return e.field === "date" ? "$timeDate()" : `($time(), $${e.field})`;
      case "count":
      case "seen":
      case "aggregate":
        return `$k${e.tracker}()`;
      case "fn":
        return `${this.use(FUNCTION_HELPERS[e.name])}(${this.value(e.arg, item)}${this.walk()})`;
      case "arith":
        return this.arith(e, item);
      default:
        return this.cond(e, item);
    }
  }

  /**
   * Whether walks are charged to the work budget here: inside a quantifier's condition, and
   * anywhere in a tracker's functions, whose budget covers a whole scan of the history (or one
   * call from a runtime). Elsewhere a comparison has a budget of its own.
   */
  private charged(): boolean {
    return this.locals.length > 0 || this.inTracker;
  }

  /** The last argument of a helper that walks values: `, 1` where walks are charged, else nothing (prelude.ts). */
  private walk(): string {
    return this.charged() ? ", 1" : "";
  }

  private localName(name: string): string {
    for (let i = this.locals.length - 1; i >= 0; i--) if (this.locals[i]!.name === name) return this.locals[i]!.js;
    throw new Error(`codegen: local \`${name}\` is not bound`);
  }

  /** An operand of arithmetic: number literals are read from data like the other literals of a rule. */
  private numberOperand(e: IR.Expr, item: string): string {
    return e.kind === "literal" && typeof e.value === "number" ? this.lit(e.value) : this.value(e, item);
  }

  /**
   * `a op b`: the JavaScript operator when both are numbers and the result is finite (for `/`, a
   * finite divisor: `x / Infinity` is finite); otherwise `$ar`, which says what was wrong.
   */
  private arith(e: IR.ArithExpr, item: string): string {
    const a = this.temp(),
      b = this.temp(),
      v = this.temp();
    this.use("$ar");
    const left = this.numberOperand(e.left, item);
    const right = this.numberOperand(e.right, item);
    const fallback = `$ar(${jsString(e.op)}, ${a}, ${b})`;
    if (knownNumber(e.left) && knownNumber(e.right)) return `((${v} = (${a} = ${left}) ${e.op} (${b} = ${right})) - ${v} === 0 ? ${v} : ${fallback})`;
    const divisor = e.op === "/" ? ` && ${b} - ${b} === 0` : "";
    // both operands are read before either is checked, as the interpreter does
    return `((${a} = ${left}), (${b} = ${right}), typeof ${a} === "number" && typeof ${b} === "number" && (${v} = ${a} ${e.op} ${b}) - ${v} === 0${divisor} ? ${v} : ${fallback})`;
  }

  /**
   * \`any(x in L: C)\` / \`all(...)\`: a module-level function with the loop (no closure is made per
   * decision), called with what the condition reads: the rule's data, action, input and \`$plain\`
   * (or the history entry, in a tracker), the locals of the quantifiers around it, and the list.
   * A quantifier that is not nested in another starts the visit budget \`$qb\` and the work budget
   * \`$wb\`; every element visited counts down the first, every walk in the condition the second
   * (semantics.ts, \`quantify\` in interpreter.ts).
   */
  private quantifier(e: IR.QuantifierExpr, item: string): string {
    const list = this.value(e.list, item);
    const outer = this.locals.map((l) => l.js);
    const element = `$l${outer.length}`;
    const savedTemps = this.temps;
    this.temps = 0;
    this.locals.push({ name: e.variable, js: element });
    const body = this.cond(e.condition, item);
    this.locals.pop();
    const temps = this.temps;
    this.temps = savedTemps;
    const context = this.inTracker ? [item] : ["$D", "$o", "$A", "$I", "$plain"];
    const wanted = e.quantifier === "any";
    this.use("$qb");
    this.use("$qList");
    this.use("$qOver");
    this.use("$wb");
    const code = [
      `function (${[...context, ...outer, "$list"].join(", ")}) {`,
      ...(temps > 0 ? [`  let ${Array.from({ length: temps }, (_, i) => `t${i}`).join(", ")};`] : []),
      `  if ($list === null) return false;`,
      `  if (!Array.isArray($list)) $qList(${jsString(e.quantifier)}, $list);`,
      // in a tracker, the scan (or the runtime's call) starts the work budget, not each entry
      ...(outer.length === 0 ? [`  $qb = ${QUANTIFIER_VISITS};`, ...(this.inTracker ? [] : [`  $wb = ${MAX_WORK};`])] : []),
      `  for (let $i = 0; $i < $list.length; $i++) {`,
      `    if (--$qb < 0) $qOver();`,
      `    let ${element} = $list[$i];`,
      `    if (${element} === undefined) ${element} = null;`,
      `    if (${body} === ${wanted}) return ${wanted};`,
      `  }`,
      `  return ${!wanted};`,
      `}`,
    ].join("\n");
    const fn = this.constant("$Q", code);
    return `${fn}(${[...context, ...outer, list].join(", ")})`;
  }

  /** A JS expression that is `true` or `false` (or throws an evaluation error). */
  private cond(e: IR.Expr, item: string): string {
    switch (e.kind) {
      case "literal":
        if (e.value === true || e.value === false) return String(e.value);
        return `${this.use("$truth")}(${this.value(e, item)})`;
      case "path":
      case "time":
      case "count":
      case "aggregate":
        return `${this.use("$truth")}(${this.value(e, item)})`;
      case "seen":
        return `$k${e.tracker}()`;
      case "and":
        return `(${e.args.map((a) => this.cond(a, item)).join(" && ")})`;
      case "or":
        return `(${e.args.map((a) => this.cond(a, item)).join(" || ")})`;
      case "not":
        return `!${this.cond(e.arg, item)}`;
      case "compare":
        return this.compare(e, item);
      case "in":
        return this.inList(e, item);
      case "between": {
        if (knownNumber(e.value) && e.low.kind === "literal" && e.high.kind === "literal" && typeof e.low.value === "number" && typeof e.high.value === "number") {
          const t = this.temp();
          return `((${t} = ${this.value(e.value, item)}) >= ${this.lit(e.low.value)} && ${t} <= ${this.lit(e.high.value)})`;
        }
        if (e.low.kind === "literal" && e.high.kind === "literal" && typeof e.low.value === "number" && typeof e.high.value === "number") {
          const t = this.temp();
          this.use("$btw");
          const lo = this.lit(e.low.value),
            hi = this.lit(e.high.value);
          return `((${t} = ${this.value(e.value, item)}) === null ? false : typeof ${t} === "number" && ${t} - ${t} === 0 ? ${t} >= ${lo} && ${t} <= ${hi} : $btw(${t}, ${lo}, ${hi}${this.walk()}))`;
        }
        return `${this.use("$btw")}(${this.value(e.value, item)}, ${this.value(e.low, item)}, ${this.value(e.high, item)}${this.walk()})`;
      }
      case "matches": {
        const r = this.regexes[e.regex]!;
        const t = this.temp();
        this.use("$subj");
        this.usesRegex = true;
        this.use("$E");
        const subject = `(${t} = $subj(${this.value(e.value, item)})) !== null`;
        // where walks are charged, the subject's length is, after the match (a string past the
        // matcher's limits gets the matcher's error)
        const charged = (match: string): string => (this.charged() ? `${this.use("$ws")}(${match}, ${t}.length)` : match);
        // the length limit applies to every pattern, literal ones too (docs/language.md)
        if (r.literal !== null) return `(${subject} && ${charged(`__reLength(${t}).includes(${jsString(r.literal)})`)})`;
        const program = this.regexProgram(e.regex);
        // a detector with a check: only candidates the check accepts are matches
        if (r.check !== null) return `(${subject} && ${charged(`__reTestV(${program}, ${t}, ${this.check(r.check)})`)})`;
        return `(${subject} && ${charged(`__reTest(${program}, ${t})`)})`;
      }
      case "stringOp": {
        if (literalAffix(e)) {
          const t = this.temp();
          const affix = (e.right as IR.LiteralExpr).value as string;
          const method = e.op === "starts_with" ? "startsWith" : "endsWith";
          this.use("$so");
          // $so here only says why a non-string is wrong: it throws before any walk
          return `((${t} = ${this.value(e.left, item)}) === null ? false : typeof ${t} === "string" ? ${t}.${method}(${jsString(affix)}) : $so(${jsString(e.op)}, ${t}, ${jsString(affix)}))`;
        }
        return `${this.use("$so")}(${jsString(e.op)}, ${this.value(e.left, item)}, ${this.value(e.right, item)}${this.walk()})`;
      }
      case "exists":
        return `(${this.value(e.path, item)} !== null)`;
      case "quantifier":
        return this.quantifier(e, item);
      case "fn":
      case "arith":
        return `${this.use("$truth")}(${this.value(e, item)})`;
    }
  }

  private compare(e: IR.CompareExpr, item: string): string {
    const { op, left, right } = e;
    if (op === "==" || op === "!=") {
      const neg = op === "!=" ? "!" : "";
      const litSide = literalSide(e);
      if (litSide) {
        const other = litSide === right ? left : right;
        return `${neg}(${this.value(other, item)} === ${this.lit(litSide.value as string | number | boolean | null)})`;
      }
      return `${neg}${this.use("$eq")}(${this.value(left, item)}, ${this.value(right, item)}${this.walk()})`;
    }
    if (knownNumber(left) && right.kind === "literal" && typeof right.value === "number") {
      return `(${this.value(left, item)} ${op} ${this.lit(right.value)})`;
    }
    if (right.kind === "literal" && typeof right.value === "number") {
      const t = this.temp();
      this.use("$ordErr");
      const lit = this.lit(right.value);
      // a finite number first (the common case); null is false; anything else is an error
      return `(typeof (${t} = ${this.value(left, item)}) === "number" && ${t} - ${t} === 0 ? ${t} ${op} ${lit} : ${t} !== null && $ordErr(${jsString(op)}, ${t}, ${lit}))`;
    }
    return `${this.use("$ord")}(${jsString(op)}, ${this.value(left, item)}, ${this.value(right, item)}${this.walk()})`;
  }

  private inList(e: IR.InExpr, item: string): string {
    if (constantSet(e)) {
      const values = (e.list as IR.LiteralExpr).value as IR.Value[];
      const set = this.constant("$S", `new Set(${jsValue(values)})`);
      const t = this.temp();
      return `((${t} = ${this.value(e.left, item)}) !== null && ${set}.has(${t}))`;
    }
    return `${this.use("$in")}(${this.value(e.left, item)}, ${this.value(e.list, item)}${this.walk()})`;
  }
}
