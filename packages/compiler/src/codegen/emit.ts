/**
 * Codegen: one specialized JavaScript decision module from the checked IR.
 *
 * - Dispatch on `action.type` through a Map to one function per action type, which evaluates
 *   only the rules that can fire for that type (plus the rules that apply to every type), in
 *   source order. A decision costs about the same with 10 rules or 10,000.
 * - Within a type's function, conjuncts that only test `action.type` are known and dropped.
 * - Lists used with `in` become Sets; regex programs, lists and rule descriptors are hoisted to
 *   module constants; literal patterns become `includes`; constants were folded by the checker.
 * - On the common path nothing is allocated beyond the result.
 * - The module is self-contained: it imports nothing, so it runs in Node, Deno, Bun and workers.
 *
 * User text reaches the output only through `escape.ts`.
 */
import { createHash } from "node:crypto";
import type * as IR from "../ir.js";
import { REGEX_LENGTH_SOURCE, REGEX_VM_SOURCE } from "../regex/index.js";
import { readsOnlyType } from "../semantic/dispatch.js";
import * as sem from "../semantics.js";
import { jsComment, jsString, jsValue } from "./escape.js";
import { helperClosure, helpers } from "./prelude.js";

export type ModuleFormat = "esm" | "cjs";

export interface EmitOptions {
  readonly format?: ModuleFormat;
  readonly compilerVersion?: string;
}

export interface EmitOutput {
  readonly js: string;
  readonly dts: string;
}

const isPrimitive = (v: IR.Value): v is string | number | boolean | null => v === null || typeof v !== "object";

class Emitter {
  private readonly used = new Set<string>(["$f", "$err"]);
  private readonly constants: string[] = [];
  private readonly constantKeys = new Map<string, string>();
  /** Whether a pattern is matched (`__reLength` and `$E` are needed) and whether by the matcher. */
  private usesRegex = false;
  private usesRegexVm = false;
  private temps = 0;
  /** Keys read straight off the input or the action on the plain-object fast path (see `plainRead`). */
  private readonly plainKeys = new Set<string>(["action", "type"]);
  /** Inside tracker functions, which the runtime also calls outside `decide`: no fast path. */
  private inTracker = false;
  /** While emitting a rule function: the literals it reads from `$c`, in order. */
  private templateConsts: string[] | null = null;
  /** Rule function templates by text: their names. */
  private readonly ruleTemplates = new Map<string, string>();
  private readonly ruleTemplateFns: string[] = [];

  constructor(private readonly policy: IR.Policy) {}

  private use(name: string): string {
    this.used.add(name);
    return name;
  }

  private constant(prefix: string, code: string): string {
    const key = `${prefix}|${code}`;
    let name = this.constantKeys.get(key);
    if (!name) {
      name = `${prefix}${this.constants.length}`;
      this.constants.push(`const ${name} = ${code};`);
      this.constantKeys.set(key, name);
    }
    return name;
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
    this.templateConsts.push(jsValue(v));
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
    const t = this.temp(), u = this.temp();
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
        if (e.root === "item") code = item;
        else if (e.root === "action") {
          code = "$A";
          if (e.fields.length > 0 && !this.inTracker) {
            code = this.plainRead("$A", e.fields[0]!);
            from = 1;
          }
        } else code = this.inTracker ? `${this.use("$f")}($I, ${jsString(e.root)})` : this.plainRead("$I", e.root);
        for (let i = from; i < e.fields.length; i++) code = this.inTracker ? `$f(${code}, ${jsString(e.fields[i]!)})` : this.nestedRead(code, e.fields[i]!);
        return code;
      }
      case "time":
        return e.field === "date" ? "$timeDate()" : `($time(), $${e.field})`;
      case "count":
      case "seen":
        return `$k${e.tracker}()`;
      default:
        return this.cond(e, item);
    }
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
          const lo = this.lit(e.low.value), hi = this.lit(e.high.value);
          return `((${t} = ${this.value(e.value, item)}) === null ? false : typeof ${t} === "number" && ${t} - ${t} === 0 ? ${t} >= ${lo} && ${t} <= ${hi} : $btw(${t}, ${lo}, ${hi}))`;
        }
        return `${this.use("$btw")}(${this.value(e.value, item)}, ${this.value(e.low, item)}, ${this.value(e.high, item)})`;
      }
      case "matches": {
        const r = this.policy.regexes[e.regex]!;
        const t = this.temp();
        this.use("$subj");
        this.usesRegex = true;
        this.use("$E");
        // the length limit applies to every pattern, literal ones too (docs/language.md)
        if (r.literal !== null) return `((${t} = $subj(${this.value(e.value, item)})) !== null && __reLength(${t}).includes(${jsString(r.literal)}))`;
        this.usesRegexVm = true;
        const program = this.constant("$P", jsValue(r.program));
        return `((${t} = $subj(${this.value(e.value, item)})) !== null && __reTest(${program}, ${t}))`;
      }
      case "stringOp": {
        if (e.right.kind === "literal" && typeof e.right.value === "string" && e.op !== "contains") {
          const t = this.temp();
          const method = e.op === "starts_with" ? "startsWith" : "endsWith";
          this.use("$so");
          return `((${t} = ${this.value(e.left, item)}) === null ? false : typeof ${t} === "string" ? ${t}.${method}(${jsString(e.right.value)}) : $so(${jsString(e.op)}, ${t}, ${jsString(e.right.value)}))`;
        }
        return `${this.use("$so")}(${jsString(e.op)}, ${this.value(e.left, item)}, ${this.value(e.right, item)})`;
      }
      case "exists":
        return `(${this.value(e.path, item)} !== null)`;
    }
  }

  private compare(e: IR.CompareExpr, item: string): string {
    const { op, left, right } = e;
    if (op === "==" || op === "!=") {
      const neg = op === "!=" ? "!" : "";
      const litSide = right.kind === "literal" && isPrimitive(right.value) ? right : left.kind === "literal" && isPrimitive(left.value) ? left : null;
      if (litSide) {
        const other = litSide === right ? left : right;
        return `${neg}(${this.value(other, item)} === ${this.lit((litSide as IR.LiteralExpr).value as string | number | boolean | null)})`;
      }
      return `${neg}${this.use("$eq")}(${this.value(left, item)}, ${this.value(right, item)})`;
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
    return `${this.use("$ord")}(${jsString(op)}, ${this.value(left, item)}, ${this.value(right, item)})`;
  }

  private inList(e: IR.InExpr, item: string): string {
    if (e.list.kind === "literal" && Array.isArray(e.list.value) && (e.list.value as IR.Value[]).every(isPrimitive)) {
      const values = e.list.value as IR.Value[];
      const set = this.constant("$S", `new Set(${jsValue(values)})`);
      const t = this.temp();
      return `((${t} = ${this.value(e.left, item)}) !== null && ${set}.has(${t}))`;
    }
    return `${this.use("$in")}(${this.value(e.left, item)}, ${this.value(e.list, item)})`;
  }

  // ---- rules -----------------------------------------------------------------------------

  /** Drops the top-level conjuncts that only test `action.type` and hold for every dispatched type. */
  private specialize(rule: IR.Rule): IR.Expr {
    const types = rule.actionTypes;
    if (types === null) return rule.condition;
    const keep = (c: IR.Expr): boolean => !(readsOnlyType(c) && types.every((t) => evalTypeOnly(c, t) === true));
    if (rule.condition.kind === "and") {
      const args = rule.condition.args.filter(keep);
      if (args.length === 0) return { kind: "literal", value: true, span: rule.condition.span };
      return args.length === 1 ? args[0]! : { ...rule.condition, args };
    }
    return keep(rule.condition) ? rule.condition : { kind: "literal", value: true, span: rule.condition.span };
  }

  /**
   * The rule's condition as a shared template function `$g<n>($D, $o, $A, $I, $plain)` (its
   * literals are `$D[$o]`, `$D[$o + 1]`, … of a dispatch entry; the action, the input and
   * whether both are plain objects come from decide) and this rule's literals, or null when the
   * condition is always true for the rule's action types.
   */
  private ruleFunction(rule: IR.Rule): { fn: string; consts: string[] } | null {
    this.temps = 0;
    const condition = this.specialize(rule);
    if (isTrue(condition)) return null;
    const consts: string[] = [];
    this.templateConsts = consts;
    const body = this.cond(condition, "$item");
    this.templateConsts = null;
    const temps = Array.from({ length: this.temps }, (_, i) => `t${i}`);
    const text = [`($D, $o, $A, $I, $plain) {`, ...(temps.length > 0 ? [`  let ${temps.join(", ")};`] : []), `  return ${body};`, `}`].join("\n");
    let fn = this.ruleTemplates.get(text);
    if (fn === undefined) {
      fn = `$g${this.ruleTemplates.size}`;
      this.ruleTemplates.set(text, fn);
      this.ruleTemplateFns.push(`${jsComment(`condition of rule ${rule.id}, line ${rule.line}${consts.length > 0 ? ", and of the rules of the same shape" : ""}`)}\nfunction ${fn}${text}`);
    }
    return { fn, consts };
  }

  private trackerFunction(t: IR.Tracker): string {
    this.temps = 0;
    this.inTracker = true;
    const cond = this.cond(t.condition, "$item");
    this.inTracker = false;
    const temps = Array.from({ length: this.temps }, (_, i) => `t${i}`);
    this.use("$history");
    if (t.withinMs !== null) this.use("$now");
    const lines = [
      `function $m${t.index}($item) {`,
      ...(temps.length > 0 ? [`  let ${temps.join(", ")};`] : []),
      `  return ${cond};`,
      `}`,
      `function $k${t.index}() {`,
      `  if ($trackerValues[${t.index}] !== undefined) return $trackerValues[${t.index}];`,
      `  const actions = $history();`,
      ...(t.withinMs !== null ? [`  const now = $now();`] : []),
      `  let n = 0;`,
      `  for (let i = 0; i < actions.length; i++) {`,
      ...(t.withinMs !== null ? [`    const at = $historyTimes[i];`, `    if (at !== null && now - at >= ${t.withinMs}) continue;`] : []),
      `    if ($m${t.index}(actions[i])) {`,
      `      n++;`,
      ...(t.kind === "seen" ? [`      break;`] : []),
      `    }`,
      `  }`,
      `  return ($trackerValues[${t.index}] = ${t.kind === "seen" ? "n > 0" : "n"});`,
      `}`,
    ];
    return lines.join("\n");
  }

  /**
   * One rule inside a per-type function. Its data is in the type's entry of \`$D\` (\`D\`), at
   * \`o + at\` (see ruleSlots): rule descriptor (whose \`id\` names the rule in errors), the
   * approval or the redaction path and regex when the effect has them, then the literals of its
   * condition. The only rule of a type has no descriptor slot: it is the one element of the
   * type's frozen list of fired rules, \`D[o + 1]\`.
   */
  private ruleStep(rule: IR.Rule, fn: { fn: string; consts: string[] } | null, slot: number, at: number, only: boolean): string {
    const effect = rule.effect;
    const descriptor = only ? "D[o + 1][0]" : `D[o + ${at}]`;
    const x = only ? at : at + 1; // the approval, or the redaction path and regex
    const mark =
      effect.kind === "deny"
        ? "eff |= 8;"
        : effect.kind === "require_approval"
          ? `eff |= 4; ap ??= D[o + ${x}];`
          : effect.kind === "allow"
            ? "eff |= 1;"
            : `eff |= 2; O = ${this.use("$redact")}(O, D[o + ${x}], 0${effect.regex === null ? "" : `, D[o + ${x + 1}]`});`;
    // which rules fired: a bit per slot (the list of fired rules is looked up once per decision,
    // see \`$rules\`), or past 30 rules for one type, a list
    const push = slot < 30 ? `m |= ${2 ** slot};` : `(F ??= []).push(${descriptor});`;
    if (fn === null) {
      if (effect.kind !== "redact") return `  ${push} ${mark}`;
      return `  ${push} try { ${mark} } catch (e) { E = $err(E, e, ${descriptor}.id); }`;
    }
    const consts = x + effectDataSize(rule);
    return `  try { if (${fn.fn}(D, o + ${consts}, $A, $I, $plain)) { ${push} ${mark} } } catch (e) { E = $err(E, e, ${descriptor}.id); }`;
  }

  /** A rule's data in a dispatch entry (see ruleStep). */
  private ruleSlots(rule: IR.Rule, fn: { fn: string; consts: string[] } | null, only: boolean): string[] {
    const i = rule.index;
    const effect = rule.effect;
    const data = only ? [] : [`$R${i}`];
    if (effect.kind === "require_approval") data.push(`$AP${i}`);
    if (effect.kind === "redact") data.push(`$X${i}`);
    if (effect.kind === "redact" && effect.regex !== null) data.push(this.regexProgram(effect.regex));
    return [...data, ...(fn?.consts ?? [])];
  }

  private regexProgram(index: number): string {
    this.usesRegex = true;
    this.usesRegexVm = true;
    this.use("$E");
    return this.constant("$P", jsValue(this.policy.regexes[index]!.program));
  }

  emit(options: EmitOptions): EmitOutput {
    const p = this.policy;
    const format = options.format ?? "esm";
    const ruleFns = p.rules.map((r) => this.ruleFunction(r));
    const trackerFns = p.trackers.map((t) => this.trackerFunction(t));
    if (p.rules.some((r) => usesTime(r.condition))) {
      this.use("$now");
      this.use("$dateText");
      if (p.timezone !== null) this.use("$zoneOffset");
    }

    // dispatch: one function per action type named by some rule, and one for all other types
    const generic = p.rules.filter((r) => r.actionTypes === null).map((r) => r.index);
    const byType = new Map<string, number[]>();
    for (const r of p.rules) for (const t of r.actionTypes ?? []) byType.set(t, [...(byType.get(t) ?? []), r.index]);
    // Per-type functions are templates too: types whose rules have the same shapes (the same
    // condition templates and effects, in the same order) share one function, and each type has
    // an entry in one flat array of data, \`$D\`, which the function reads from the entry's offset:
    //   [type function, the frozen list of the one rule (a type with one rule) or a cache of the
    //    frozen lists of fired rules by bit mask, then for each rule: descriptor (except for the
    //    one rule of a type, whose descriptor is in the list), approval or redaction path and
    //    redaction regex when the effect has them, the literals of its condition]
    // One array keeps the data of a type together in memory, whatever the number of types. It is
    // module-private and never handed out, so it is not frozen (V8 reads frozen arrays more slowly).
    const dispatchFns: string[] = [];
    const typeTemplates = new Map<string, string>();
    /** How many action types use each per-type function, for the order of decide's switch. */
    const templateUses = new Map<string, number>();
    const singleRuleTypes = new Set<number>();
    const data: string[] = [];
    let dataLength = 0;
    /** Adds the entry of a type with these rules to \`$D\`; returns its offset and its per-type function. */
    const entry = (indices: number[], comment: string): { offset: number; fn: string } => {
      const sorted = [...indices].sort((a, b) => a - b);
      const slots: string[] = [];
      const offsets: number[] = [];
      const stepTexts: string[] = [];
      if (sorted.length === 1) singleRuleTypes.add(sorted[0]!);
      sorted.forEach((i, slot) => {
        const at = 2 + slots.length;
        offsets.push(at);
        stepTexts.push(this.ruleStep(p.rules[i]!, ruleFns[i]!, slot, at, sorted.length === 1));
        slots.push(...this.ruleSlots(p.rules[i]!, ruleFns[i]!, sorted.length === 1));
      });
      const steps = stepTexts.join("\n");
      let name = typeTemplates.get(steps);
      if (name === undefined) {
        name = `$t${typeTemplates.size}`;
        typeTemplates.set(steps, name);
        const offsetsName = `$O${name.slice(2)}`;
        const fired =
          sorted.length === 0
            ? "$NONE"
            : sorted.length === 1
              ? "m === 0 ? $NONE : D[o + 1]"
              : sorted.length > 30
                ? `$rulesOver30(D, o, m, F, ${offsetsName})`
                : `m === 0 ? $NONE : D[o + 1][m] ?? $rules(D, o, m, ${offsetsName})`;
        dispatchFns.push(
          [
            jsComment(comment),
            ...(sorted.length > 1 ? [`const ${offsetsName} = ${jsValue(offsets)};`] : []),
            `function ${name}(o, $A, $I, $plain) {`,
            ...(sorted.length === 0
              ? [`  return $result($NONE, null, 0, null, $A);`]
              : [
                  `  const D = $D;`,
                  `  let m = 0, ${sorted.length > 30 ? "F = null, " : ""}E = null, eff = 0, ap = null, O = $A;`,
                  steps,
                  `  return $result(${fired}, E, eff, ap, O);`,
                ]),
            `}`,
          ].join("\n"),
        );
      }
      templateUses.set(name, (templateUses.get(name) ?? 0) + 1);
      const items = [name, sorted.length === 1 ? `$F${sorted[0]}` : "[]", ...slots];
      const offset = dataLength;
      data.push(`  ${items.join(", ")},`);
      dataLength += items.length;
      return { offset, fn: name };
    };
    const dispatchEntries: string[] = [];
    const types: { type: string; offset: number; fn: string; firstRule: number }[] = [];
    for (const [type, indices] of [...byType.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const { offset, fn } = entry([...indices, ...generic], `action type ${type}, and every type whose rules have the same shapes`);
      types.push({ type, offset, fn, firstRule: indices[0]! });
      dispatchEntries.push(`  [${jsString(type)}, ${offset}],`);
    }
    const otherEntry = entry([...generic], "any other action type").offset;
    // Action types with a per-type function of their own (the first few, in source order) are
    // found by a switch on the type, before the Map: a switch on the length and one string
    // comparison is cheaper than a Map lookup, and turns other types away without comparing
    // strings. Types that share a function (families of similar tools) go through the Map.
    const own = types
      .filter((t) => templateUses.get(t.fn) === 1)
      .sort((a, b) => a.firstRule - b.firstRule)
      .slice(0, OWN_SWITCH);
    const byLength = new Map<number, typeof own>();
    for (const t of own) byLength.set(t.type.length, [...(byLength.get(t.type.length) ?? []), t]);
    const ownSwitch =
      own.length === 0
        ? []
        : [
            `// the action types with a per-type function of their own, by their length first`,
            `switch (type.length) {`,
            ...[...byLength.entries()]
              .sort(([a], [b]) => a - b)
              .flatMap(([length, ts]) => [
                `  case ${length}:`,
                ...ts.map((t) => `    if (type === ${jsString(t.type)}) return ${t.fn}(${t.offset}, action, input, plain);`),
                `    break;`,
              ]),
            `}`,
          ];
    // decide calls the per-type functions that the most types use directly (V8 can inline a
    // direct call), and the others through the entry
    const ownFns = new Set(own.map((t) => t.fn));
    const direct = [...templateUses.entries()]
      .filter(([name]) => !ownFns.has(name))
      .sort(([, a], [, b]) => b - a)
      .slice(0, DIRECT_CALLS)
      .map(([name]) => name);
    const call = (fn: string): string => `${fn}(entry, action, input, plain)`;
    const dispatchCall = [
      ...ownSwitch,
      `// every other type through the Map`,
      `const entry = $dispatch.get(type) ?? $other;`,
      `const run = $D[entry];`,
      `switch (run) {`,
      ...direct.map((fn) => `  case ${fn}: return ${call(fn)};`),
      `  default: return ${call("run")};`,
      `}`,
    ];

    const rulesMeta = p.rules.map((r) => ({
      id: r.id,
      effect: r.effect.kind,
      reason: r.reason,
      line: r.line,
      column: r.column,
      span: { start: r.span.start, end: r.span.end },
      actionTypes: r.actionTypes,
      /** The rule fires for every action of its types: its condition is only the type test. */
      typeOnly: r.actionTypes !== null && isTrue(this.specialize(r)),
    }));
    const meta = {
      name: p.name,
      version: p.version,
      sourceHash: p.sourceHash,
      file: p.file,
      default: p.defaultDecision,
      timezone: p.timezone,
      schema: p.schema,
      compiler: options.compilerVersion ?? null,
      rules: rulesMeta,
      trackers: p.trackers.map((t) => ({ kind: t.kind, withinMs: t.withinMs })),
    };

    const perRule: string[] = [];
    for (const r of p.rules) {
      perRule.push(`const $R${r.index} = Object.freeze({ id: ${jsString(r.id)}, effect: ${jsString(r.effect.kind)}, reason: ${jsValue(r.reason)} });`);
      if (singleRuleTypes.has(r.index)) perRule.push(`const $F${r.index} = Object.freeze([$R${r.index}]);`);
      if (r.effect.kind === "require_approval") perRule.push(`const $AP${r.index} = Object.freeze({ from: ${jsValue(r.effect.from)}, timeoutMs: ${jsValue(r.effect.timeoutMs)} });`);
      if (r.effect.kind === "redact") perRule.push(`const $X${r.index} = Object.freeze(${jsValue(r.effect.path)});`);
    }

    const usesTimeParts = p.rules.some((r) => usesTime(r.condition));
    // the helpers that read the input lazily (the time and the history) find it in module state
    const lazyInput = this.used.has("$now") || this.used.has("$history");
    const exportKw = format === "esm" ? "export " : "";
    // decide's guards, registered before the helpers are listed
    this.use("$failed");
    if (p.trackers.length > 0 && lazyInput) this.use("$tv");
    const out: string[] = [
      jsComment(`Generated by armorc${options.compilerVersion ? ` ${options.compilerVersion}` : ""} from ${p.file}. Do not edit.`),
      jsComment(`policy ${p.name}${p.version ? ` version ${p.version}` : ""}, source sha256 ${p.sourceHash}`),
      `"use strict";`,
      "",
      ...helperClosure(this.used).map((h) => helpers[h]!.source),
      ...(this.usesRegex ? [REGEX_LENGTH_SOURCE] : []),
      ...(this.usesRegexVm ? [REGEX_VM_SOURCE] : []),
      "",
      ...(lazyInput
        ? [
            `// decision state of the time and history helpers, set and reset by decide(); decide is`,
            `// synchronous, so one set of slots suffices`,
            `let $I = null, $nowValue = undefined, $timeRead = false, $historyRead = false;`,
          ]
        : []),
      ...(p.trackers.length > 0
        ? [
            `const $historyActions = [], $historyTimes = [], $trackerValues = new Array(${p.trackers.length});`,
            `const $trackerKinds = ${jsValue(p.trackers.map((t) => t.kind))};`,
          ]
        : []),
      `const $NONE = Object.freeze([]);`,
      "",
      ...(usesTimeParts ? [timeFunction(p.timezone)] : []),
      ...this.constants,
      ...perRule,
      "",
      ...trackerFns,
      ...this.ruleTemplateFns,
      "",
      `// the decision for the effects that fired (bits of eff: 8 deny, 4 require approval, 2 redact, 1 allow)`,
      `const $DECISIONS = [${jsString(p.defaultDecision)}, ${[...Array(15)].map((_, i) => ((i + 1) & 8 ? '"deny"' : (i + 1) & 4 ? '"require_approval"' : '"allow"')).join(", ")}];`,
      `/** The decision object: one shape for every decision. An evaluation error denies. */`,
      `function $result(F, E, eff, ap, O) {`,
      `  if (E !== null) return { decision: "deny", rules: F, approval: null, action: O, errors: E };`,
      `  return { decision: $DECISIONS[eff], rules: F, approval: (eff & 12) === 4 ? ap : null, action: O, errors: $NONE };`,
      `}`,
      `/** The frozen list of the rules whose bits are set in m, in source order (their descriptors are at offsets from o); cached in the entry. */`,
      `function $rules(D, o, m, offsets) {`,
      `  const F = [];`,
      `  for (let s = 0; s < 30 && s < offsets.length; s++) if ((m & (1 << s)) !== 0) F.push(D[o + offsets[s]]);`,
      `  return (D[o + 1][m] = Object.freeze(F));`,
      `}`,
      `function $rulesOver30(D, o, m, rest, offsets) {`,
      `  if (rest === null) return m === 0 ? $NONE : D[o + 1][m] ?? $rules(D, o, m, offsets);`,
      `  const F = m === 0 ? [] : [...(D[o + 1][m] ?? $rules(D, o, m, offsets))];`,
      `  for (const r of rest) F.push(r);`,
      `  return F;`,
      `}`,
      "",
      ...dispatchFns,
      "",
      `// the entries of the action types: the data of their rules (see the per-type functions)`,
      `const $D = [`,
      ...data,
      `];`,
      `// where each action type's entry starts in $D`,
      `const $dispatch = new Map([`,
      ...dispatchEntries,
      `]);`,
      `const $other = ${otherEntry};`,
      "",
      `function $inputError(input, message) {`,
      `  const action = input !== null && typeof input === "object" ? $f(input, "action") : null;`,
      `  return { decision: "deny", rules: [], approval: null, action, errors: [{ rule: null, message }] };`,
      `}`,
      "",
      `/**`,
      ` * Decides one input: { action, user?, context?, time?, history? }. Never throws.`,
      ` * trackerValues, when given, holds the value of each history predicate (see \`trackers\`) and`,
      ` * replaces the scan of input.history, for runtimes that keep their own counters.`,
      ` */`,
      `${exportKw}function decide(input, trackerValues) {`,
      `  // rules catch their own errors; a getter or a Proxy trap that throws while the input is read`,
      `  // (or a malformed tracker value) ends up here: the input is read again through hasOwnProperty,`,
      `  // as the interpreter reads it (an own \`__proto__\` getter is then not called), and what still`,
      `  // throws denies`,
      `  try {`,
      `    return $decide(input, trackerValues, false);`,
      `  } catch {`,
      `    try {`,
      `      return $decide(input, trackerValues, true);`,
      `    } catch (e) {`,
      `      return $failed(input, e);`,
      `    }`,
      `  }`,
      `}`,
      `function $decide(input, trackerValues, careful) {`,
      `  let action, type, plain;`,
      `  // the common case: the input and the action are plain objects (\`__proto__\` is read as decide()`,
      `  // always read it: an own \`__proto__\` field is never Object.prototype in JSON input), no key the`,
      `  // policy reads is on Object.prototype, and the type is a string: then reading a field is reading`,
      `  // an own field. (\`__proto__\` is read rather than Object.getPrototypeOf, which costs more than`,
      `  // the rest of a small decision.) \`careful\`: a getter or Proxy trap threw here, see decide().`,
      `  if (`,
      `    !careful && input != null && input.__proto__ === Object.prototype &&`,
      `    ${[...this.plainKeys].sort().map((k) => `!(${jsString(k)} in Object.prototype)`).join(" && ")} &&`,
      `    (action = input.action) != null && action.__proto__ === Object.prototype && typeof (type = action.type) === "string"`,
      `  ) {`,
      `    plain = true;`,
      `  } else {`,
      `    // anything else: own fields through hasOwnProperty, and the input errors`,
      `    if (input === null || typeof input !== "object" || Array.isArray(input)) return $inputError(input, "the input must be an object with an \`action\`");`,
      `    action = $f(input, "action");`,
      `    if (action === null || typeof action !== "object" || Array.isArray(action)) return $inputError(input, "\`action\` must be an object");`,
      `    type = $f(action, "type");`,
      `    if (typeof type !== "string") return $inputError(input, "\`action.type\` must be a string");`,
      `    plain = false;`,
      `  }`,
      ...(lazyInput
        ? [
            `  $I = input;`,
            `  $nowValue = undefined;`,
            `  $timeRead = false;`,
            `  $historyRead = false;`,
            ...(p.trackers.length > 0
              ? [
                  `  for (let i = 0; i < ${p.trackers.length}; i++) $trackerValues[i] = $tv(trackerValues, i, $trackerKinds[i]);`,
                ]
              : []),
            `  try {`,
            ...dispatchCall.map((l) => `    ${l}`),
            `  } finally {`,
            `    $I = null;`,
            ...(p.trackers.length > 0 ? [`    if ($historyActions.length !== 0) $historyActions.length = 0;`] : []),
            `  }`,
          ]
        : dispatchCall.map((l) => `  ${l}`)),
      `}`,
      "",
      `${exportKw}const policy = Object.freeze(${jsValue(meta)});`,
      "",
      `/** History predicates, for runtimes that keep their own counters: whether an executed action counts (throws on an evaluation error). */`,
      `${exportKw}const trackers = Object.freeze([${p.trackers.map((t) => `Object.freeze({ kind: ${jsString(t.kind)}, withinMs: ${jsValue(t.withinMs)}, key: ${jsString(trackerKey(t))}, matches: (action) => $m${t.index}(action) })`).join(", ")}]);`,
    ];
    out.push(
      "",
      `/** The JSON Schema of the actions, as the policy's \`schema\` names it, or null. */`,
      `${exportKw}const actionSchema = ${p.actionSchema === null ? "null" : `Object.freeze(${jsValue(p.actionSchema)})`};`,
      "",
      `/** For each action type, the JSON pointer in \`actionSchema\` of the union branch that alone decides an action of that type (null: the whole schema does), or null. */`,
      `${exportKw}const actionBranches = ${p.actionBranches === null ? "null" : `Object.freeze(${jsValue(p.actionBranches)})`};`,
    );
    if (format === "cjs") out.push("", "module.exports = { decide, policy, trackers, actionSchema, actionBranches };");
    return { js: out.join("\n") + "\n", dts: declarations() };
  }
}

/**
 * `$time()` fills the time slots once per decision; the reads are `$hour` etc. afterwards, and
 * `$timeDate()` for the date, whose text is made only when a rule reads it. In a zone, the instant
 * is shifted by the zone's offset (`$zoneOffset`, cached per hour); the fields are arithmetic on
 * the (shifted) instant, as `timeParts` in decision-input.ts computes them.
 */
function timeFunction(zone: string | null): string {
  return `${zone === null ? "" : `const $clock = new Intl.DateTimeFormat("en-US", { timeZone: ${jsString(zone)}, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });\n`}const $weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
let $hour = 0, $minute = 0, $weekday = "", $days = 0, $date = null;
function $time() {
  if (!$timeRead) {
    const t = $now();
    const local = ${zone === null ? "t" : "t + $zoneOffset(t)"};
    $days = Math.floor(local / 86400000);
    const inDay = local - $days * 86400000;
    $hour = Math.floor(inDay / 3600000);
    $minute = Math.floor(inDay / 60000) % 60;
    // 1970-01-01 was a Thursday
    $weekday = $weekdays[((($days + 4) % 7) + 7) % 7];
    $date = null;
    $timeRead = true;
  }
}
function $timeDate() {
  $time();
  return $date ??= $dateText($days);
}`;
}

/**
 * A tracker's identity across policy versions: the same kind, window and condition give the same
 * key, so a runtime can keep a predicate's counters when a policy is reloaded.
 */
function trackerKey(t: IR.Tracker): string {
  const condition = JSON.stringify(t.condition, (k, v: unknown) => (k === "span" ? undefined : v));
  return createHash("sha256").update(`${t.kind}|${t.withinMs}|${condition}`).digest("hex").slice(0, 32);
}

/** How many action types with a function of their own decide finds by a switch on the type. */
const OWN_SWITCH = 8;

/** How many per-type functions decide calls directly, in a switch (one comparison each). */
const DIRECT_CALLS = 8;

/** How many slots of a dispatch entry a rule's approval, or redaction path and regex, take. */
function effectDataSize(rule: IR.Rule): number {
  const e = rule.effect;
  return e.kind === "require_approval" ? 1 : e.kind === "redact" ? (e.regex === null ? 1 : 2) : 0;
}

/** Expressions that always evaluate to a number: counts, `time.hour`, `time.minute`. */
function knownNumber(e: IR.Expr): boolean {
  return e.kind === "count" || (e.kind === "time" && (e.field === "hour" || e.field === "minute"));
}

function isTrue(e: IR.Expr): boolean {
  return e.kind === "literal" && e.value === true;
}

function usesTime(e: IR.Expr): boolean {
  switch (e.kind) {
    case "time":
      return true;
    case "and":
    case "or":
      return e.args.some(usesTime);
    case "not":
      return usesTime(e.arg);
    case "compare":
    case "stringOp":
      return usesTime(e.left) || usesTime(e.right);
    case "in":
      return usesTime(e.left) || usesTime(e.list);
    case "between":
      return usesTime(e.value) || usesTime(e.low) || usesTime(e.high);
    case "matches":
      return usesTime(e.value);
    default:
      return false;
  }
}

/** Evaluates a condition that reads only `action.type`; `undefined` when it would be an error. */
function evalTypeOnly(e: IR.Expr, type: string): unknown {
  try {
    const v = (x: IR.Expr): unknown => {
      switch (x.kind) {
        case "literal":
          return x.value;
        case "path":
          return type;
        case "and":
          return x.args.every((a) => sem.truth(v(a)));
        case "or":
          return x.args.some((a) => sem.truth(v(a)));
        case "not":
          return !sem.truth(v(x.arg));
        case "compare":
          return x.op === "==" ? sem.equals(v(x.left), v(x.right)) : x.op === "!=" ? !sem.equals(v(x.left), v(x.right)) : sem.order(x.op, v(x.left), v(x.right));
        case "in":
          return sem.inList(v(x.left), v(x.list));
        default:
          throw new sem.EvaluationError("not type-only");
      }
    };
    return v(e);
  } catch {
    return undefined;
  }
}

/** The module's types: those of @agent-armor/contract (module.ts), held equal to them by test/contract.test.ts. */
function declarations(): string {
  return `// Generated by armorc. Do not edit.
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

export interface DecisionInput {
  action: { type: string; [field: string]: unknown };
  user?: Record<string, unknown>;
  context?: Record<string, unknown>;
  /** ISO-8601; the current time when absent. */
  time?: string;
  /** Earlier executed actions of this session, for count(...) and seen(...). */
  history?: { action: { type: string; [field: string]: unknown }; time?: string }[];
}

export type DecisionKind = "allow" | "deny" | "require_approval";

export type EffectKind = "allow" | "deny" | "require_approval" | "redact";

export interface FiredRule {
  id: string;
  effect: EffectKind;
  reason: string | null;
}

export interface DecisionError {
  rule: string | null;
  message: string;
}

export interface PolicyDecision {
  decision: DecisionKind;
  rules: FiredRule[];
  approval: { from: string | null; timeoutMs: number | null } | null;
  action: unknown;
  errors: DecisionError[];
}

export interface PolicyMetadata {
  readonly name: string;
  readonly version: string | null;
  readonly sourceHash: string;
  readonly file: string;
  readonly default: "allow" | "deny";
  readonly timezone: string | null;
  readonly schema: string | null;
  readonly compiler: string | null;
  readonly rules: readonly {
    readonly id: string;
    readonly effect: EffectKind;
    readonly reason: string | null;
    readonly line: number;
    readonly column: number;
    readonly span: { readonly start: number; readonly end: number };
    readonly actionTypes: readonly string[] | null;
    /** Whether the condition is only a test of the action type (the rule fires for every action of its types). */
    readonly typeOnly: boolean;
  }[];
  readonly trackers: readonly { readonly kind: "count" | "seen"; readonly withinMs: number | null }[];
}

export interface PolicyTracker {
  readonly kind: "count" | "seen";
  readonly withinMs: number | null;
  /** Identity of the predicate (kind, window, condition) across policy versions. */
  readonly key: string;
  matches(action: unknown): boolean;
}

/**
 * Decides one input, a \`DecisionInput\`. Takes any value and never throws: an input or rule that
 * cannot be evaluated yields deny.
 */
export declare function decide(input: unknown, trackerValues?: readonly (number | boolean | undefined)[]): PolicyDecision;
export declare const policy: PolicyMetadata;
export declare const trackers: readonly PolicyTracker[];
/** The JSON Schema of the actions named by the policy's \`schema\`, or null. */
export declare const actionSchema: Readonly<Record<string, unknown>> | null;
/**
 * For each action type of \`actionSchema\`, the JSON pointer of the union branch (\`oneOf\`/\`anyOf\`
 * alternative) that alone decides whether an action of that type is valid, or null when the whole
 * schema must be checked; null without a schema.
 */
export declare const actionBranches: Readonly<Record<string, string | null>> | null;
`;
}

export function emitModule(policy: IR.Policy, options: EmitOptions = {}): EmitOutput {
  return new Emitter(policy).emit(options);
}
