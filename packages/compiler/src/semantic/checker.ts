/**
 * The checker: resolves names, loads the action schema, gives every expression a type, lowers
 * the AST to the checked IR (folding lets and constants, hoisting regexes and history trackers)
 * and reports name and type diagnostics. Rule analysis over the IR lives in `analysis.ts`.
 */
import { createHash } from "node:crypto";
import type { DiagnosticFix } from "@agent-armor/contract";
import { catalog } from "../diagnostics/catalog.js";
import { type Diagnostic, type DiagnosticBag, replacement } from "../diagnostics/diagnostic.js";
import * as IR from "../ir.js";
import { REDACTED } from "../ir.js";
import * as facts from "../language/facts.js";
import { MAX_LITERAL_VALUES, MAX_NESTING, valueTooLarge } from "../nesting.js";
import { detectorDef } from "../patterns/detectors.js";
import { globToRegex } from "../patterns/glob.js";
import { parseRegex } from "../regex/index.js";
import * as sem from "../semantics.js";
import type * as A from "../syntax/ast.js";
import { movedFrom } from "../syntax/parse.js";
import { type SourceFile, type Span, span } from "../syntax/source.js";
import { buildTestCases, type TestCase } from "../testing/cases.js";
import { currentSides, pickedBy } from "./current-scope.js";
import { dispatchTypes } from "./dispatch.js";
import { exprKey } from "./expr-key.js";
import { closest } from "./names.js";
import { dataValue, PARAM_TYPE_HELP, paramTypeProblem } from "./params.js";
import { type LoweredRule, letsFingerprint, movedRecord, type RuleCache, type RuleEffect, type RuleRecord, sameNumbers } from "./rule-cache.js";
import { anonymousRuleIds, lineIds } from "./rule-id.js";
import type { ActionSchema, ActionTypeInfo, FieldInfo } from "./schema.js";
import { branchRecord } from "./schema-branches.js";
import { type ReadonlySpanTable, SpanTable } from "./span-table.js";
import { ANY, BOOL, LIST, NULL, NUM, OBJ, STR, type Type, typeName, typeOfValue } from "./types.js";

/** The most approvers `quorum N` may ask for. */
const MAX_QUORUM = 100;
/** The longest grant (`grant session 7d`). */
export const MAX_GRANT_MS = 7 * 86_400_000;

export interface LetSymbol {
  readonly name: string;
  readonly decl: A.LetDecl;
  value: IR.Value | undefined;
  type: Type;
  readonly references: Span[];
}

export interface RuleSymbol {
  readonly id: string;
  readonly decl: A.RuleDecl;
  readonly references: Span[];
}

/** A field read, recorded for hover, completion and go-to-definition. */
export interface FieldReference {
  readonly span: Span;
  readonly root: "action" | "item" | "result";
  readonly path: readonly string[];
  /** Action types in scope where the field was read (`null`: all). */
  readonly actionTypes: readonly string[] | null;
  readonly info: FieldInfo | null;
}

/** What the checker knows about a file, for the language server and the test runner. */
export interface SemanticModel {
  readonly lets: ReadonlyMap<string, LetSymbol>;
  readonly rules: ReadonlyMap<string, RuleSymbol>;
  readonly fieldReferences: readonly FieldReference[];
  /**
   * The action types each condition restricts the subject to when it is true (`action.type ==
   * "x"`, `type in L`, an `and` or `or` of such tests), by the expression's span; narrowing.ts
   * reads what holds at a position from it.
   */
  readonly narrowings: ReadonlySpanTable<ReadonlySet<string>>;
  readonly schema: ActionSchema | null;
  /** The local names bound by `any`/`all`, with their uses. */
  readonly locals: readonly LocalSymbol[];
}

/** A name bound by `any(NAME in LIST: CONDITION)` or `all(...)`, visible in `CONDITION` only. */
export interface LocalSymbol {
  readonly name: string;
  /** Where the name is bound. */
  readonly span: Span;
  /** The condition, where the name is visible. */
  readonly scope: Span;
  /** The whole `any(...)` or `all(...)`. */
  readonly within: Span;
  /** The list as written, for hover: "`r` ranges over `recipients`". */
  readonly listText: string;
  /** What the schema says of the list's elements, when it says anything. */
  readonly element: FieldInfo | null;
  /** The element's type. */
  readonly type: Type;
  readonly references: Span[];
}

export interface CheckInput {
  readonly ast: A.FileNode;
  readonly source: SourceFile;
  readonly schema: ActionSchema | null;
  readonly bag: DiagnosticBag;
  /** The values an importer gives this file's `param`s (already checked against their types); absent ones take their defaults. */
  readonly params?: ReadonlyMap<string, IR.Value>;
  /** The lets of the files this one imports, by namespace: `NAMESPACE.LET` reads them. */
  readonly imported?: ReadonlyMap<string, ReadonlyMap<string, { readonly value: IR.Value; readonly type: Type }>>;
  /** The ids of the imported rules (`base.big`), which this file's tests may name. */
  readonly importedRules?: ReadonlySet<string>;
  /**
   * Properties written in another file (a `.test.armor` file) about this policy: checked with this
   * file's names after its own properties, reported into that file's bag with its positions.
   */
  readonly extraProperties?: ExtraProperties;
  /**
   * The rule cache of an earlier check of the same file (`CheckOutput.ruleCache`): the rules it
   * checked that are unchanged, and read nothing that changed, are taken over (rule-cache.ts).
   */
  readonly previous?: RuleCache | null;
}

/**
 * Extra properties, checked: their conditions index this file's own numbering, where `regexes`
 * start at `regexesFrom` and `trackers` (the history predicates only they read) at `trackersFrom`.
 */
export interface ExtraPropertiesIR {
  readonly properties: readonly IR.Property[];
  readonly regexes: readonly IR.RegexDef[];
  readonly regexesFrom: number;
  readonly trackers: readonly IR.Tracker[];
  readonly trackersFrom: number;
}

/** The `property` items of another file, with the text and the bag their spans and diagnostics belong to. */
export interface ExtraProperties {
  readonly items: readonly A.PropertyDecl[];
  readonly source: SourceFile;
  readonly bag: DiagnosticBag;
}

interface Scope {
  /** Inside `count(...)`/`seen(...)`: names refer to the earlier action. */
  readonly history: boolean;
  /** The action types the subject can have here, narrowed by `action.type == "..."`. */
  types: ReadonlySet<string> | null;
  /** Inside a history condition: the `current.F` paths that may be read (one side of a top-level `==`). */
  readonly currentAt?: ReadonlySet<A.Expr>;
  /** Inside a history condition: the action types the enclosing rule is narrowed to there, for `current.F`. */
  readonly currentTypes?: ReadonlySet<string> | null;
  /** The names bound by the `any`/`all` around this point (absent: none). */
  readonly locals?: ReadonlyMap<string, LocalSymbol>;
}

interface Lowered {
  readonly expr: IR.Expr;
  readonly type: Type;
  /** Action types this expression, when true, restricts the subject to. */
  readonly narrows?: ReadonlySet<string>;
}

/** Names a local of `any`/`all` may not take: the roots of the input (`current` reads the current action in history conditions). */
const reservedRoots: ReadonlySet<string> = new Set([...facts.roots.map((r) => r.name), "current"]);

/** The members of `time` (language/facts.ts) with their checker types. */
const timeFields: ReadonlyMap<string, { field: IR.TimeField; type: Type }> = new Map(facts.timeFields.map((f) => [f.name, { field: f.name, type: f.type === "number" ? NUM : STR }]));

/** What a label may be: 1 to 64 letters, digits and `_ - . : /` (docs/language.md, "Stages and labels"). */
const LABEL_TEXT = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** `a, b and c`. */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

export interface CheckOutput {
  readonly policy: IR.Policy;
  /**
   * The properties of `extraProperties`, with `file` set, and where their numbering starts: their
   * conditions index regexes and trackers of this file's own numbering, the new ones from
   * `regexesFrom` and `trackersFrom` on (the policy's own properties' trackers come before them).
   */
  readonly extra: ExtraPropertiesIR | null;
  /** The file's own `test` blocks, checked and lowered. */
  readonly tests: readonly TestCase[];
  readonly model: SemanticModel;
  /** The lets of imported files this file reads (`NS.LET`), by namespace: they are used, though not in their own file. */
  readonly importedReads: ReadonlyMap<string, ReadonlySet<string>>;
  /** What checking each rule did, for the next check of the same file (`CheckInput.previous`); null when the file imports. */
  readonly ruleCache: RuleCache | null;
}

export function checkFile(input: CheckInput): CheckOutput {
  return new Checker(input).run();
}

class Checker {
  private readonly lets = new Map<string, LetSymbol>();
  private readonly rules = new Map<string, RuleSymbol>();
  private readonly fieldReferences: FieldReference[] = [];
  private readonly fieldReferenceAt = new SpanTable<FieldReference>();
  private readonly narrowings = new SpanTable<ReadonlySet<string>>();
  private readonly locals: LocalSymbol[] = [];
  /** What the schema says of the value of a local's path (`m.to`), by span, for a quantifier over it. */
  private readonly localInfoAt = new SpanTable<FieldInfo | null>();
  /** `{type}` for each action type tested with `==`, shared by the tests (narrowing sets are never changed). */
  private readonly singleTypes = new Map<string, ReadonlySet<string>>();
  private readonly regexes: IR.RegexDef[] = [];
  private readonly trackers: IR.Tracker[] = [];
  private readonly trackerKeys = new Map<string, number>();
  /** `regexes` by `regexKey`: equal patterns share one entry. */
  private readonly regexKeys = new Map<string, number>();
  /** The effects of the rule being checked, kept for the next check (`RuleCache`); null when not kept. */
  private effects: RuleEffect[] | null = null;
  private readonly previous: RuleCache | null;
  /** This check's records, for the next one. */
  private nextCache: RuleCache | null = null;
  private readonly ast: A.FileNode;
  /** The file being checked; another file's while its extra properties are checked (`lowerExtraProperties`). */
  private source: SourceFile;
  private readonly schema: ActionSchema | null;
  private bag: DiagnosticBag;
  private readonly extraProperties: ExtraProperties | null;
  private readonly params: ReadonlyMap<string, IR.Value>;
  private readonly imported: ReadonlyMap<string, ReadonlyMap<string, { readonly value: IR.Value; readonly type: Type }>>;
  /** The lets that are `param`s: an importer may be the one that reads them, so they are never reported unused. */
  private readonly paramNames = new Set<string>();
  private readonly importedRules: ReadonlySet<string>;
  private readonly importedReads = new Map<string, Set<string>>();
  private readonly resolving = new Set<string>();
  /** The comparison whose operands are being lowered, for the fix of a field read through a list (A321). */
  private comparison: A.CompareExpr | null = null;
  /** Whether the path being checked is a redaction's, which cannot reach into a list either (A321). */
  private redacting = false;
  /** The stage of the rule being checked: which of `result` and `output` its condition may read. */
  private stage: IR.Stage = "call";
  /** Whether the rule being checked names an unknown stage (A217): its stage-specific names are then not reported again. */
  private stageUnknown = false;

  constructor(input: CheckInput) {
    this.ast = input.ast;
    this.source = input.source;
    this.schema = input.schema;
    this.bag = input.bag;
    this.params = input.params ?? new Map();
    this.imported = input.imported ?? new Map();
    this.importedRules = input.importedRules ?? new Set();
    this.extraProperties = input.extraProperties ?? null;
    this.previous = input.previous ?? null;
  }

  private report(entry: (typeof catalog)[keyof typeof catalog], at: Span, message: string, extras?: Parameters<DiagnosticBag["report"]>[3]): Diagnostic {
    const diagnostic = this.bag.report(entry, at, message, extras);
    this.effects?.push({ kind: "diagnostic", diagnostic });
    return diagnostic;
  }

  /** A let read at `at`. */
  private referenceLet(sym: LetSymbol, at: Span): void {
    sym.references.push(at);
    this.effects?.push({ kind: "let", name: sym.name, at });
    this.resolveLet(sym);
  }

  run(): CheckOutput {
    const headers = this.headers();
    this.declareLets();
    // every let is resolved before the rules read them, in the order they are declared, so that
    // what a let means never depends on which rule reads it first
    for (const sym of this.lets.values()) this.resolveLet(sym);
    // `default require approval from NAME` reads a let: known once the lets are declared
    const defaultDecl = this.ast.items.find((i): i is A.DefaultDecl => i.kind === "default");
    if (headers.defaultApproval !== null && defaultDecl?.fromName) headers.defaultApproval = { ...headers.defaultApproval, from: this.approvalGroup(defaultDecl) };
    const rules = this.lowerRules();
    // after the rules: the history predicates only properties read are numbered after the rules'
    const ruleTrackers = this.trackers.length;
    const properties = this.lowerProperties(this.ast.items, new Map());
    const extra = this.lowerExtraProperties(properties);
    for (const sym of this.lets.values()) {
      this.resolveLet(sym);
      if (sym.references.length === 0 && sym.decl.name && !this.paramNames.has(sym.name)) {
        this.report(catalog.unusedLet, sym.decl.name.span, `let \`${sym.name}\` is never used`, {
          help: "remove it, or use it in a rule",
          fixes: [replacement(`remove \`${sym.name}\``, this.bag.file, lineSpan(this.source, sym.decl.span), "")],
        });
      }
      if (sym.decl.name && this.schema && [...this.schema.types.values()].some((t) => t.fields.has(sym.name))) {
        this.report(catalog.letShadowsField, sym.decl.name.span, `let \`${sym.name}\` has the name of an action field`, {
          help: `a bare \`${sym.name}\` now means the let; write \`action.${sym.name}\` for the field, or rename the let`,
        });
      }
    }
    const tests = this.checkTests();
    const policy: IR.Policy = {
      name: headers.name,
      version: headers.version,
      file: this.bag.file,
      sourceHash: createHash("sha256").update(this.source.text).digest("hex"),
      defaultDecision: headers.defaultDecision ?? "deny",
      defaultApproval: headers.defaultApproval,
      defaultExplicit: headers.defaultDecision !== null,
      timezone: headers.timezone,
      rules,
      trackers: this.trackers.slice(0, ruleTrackers),
      grants: rules.some((r) => r.effect.kind === "require_approval" && r.effect.grant !== null),
      schema: headers.schema,
      actionSchema: this.schema?.document ?? null,
      actionBranches: this.schema ? branchRecord(this.schema.branches) : null,
      properties,
      propertyTrackers: this.trackers.slice(ruleTrackers, extra?.trackersFrom),
      // the regexes of the extra properties are theirs: `extra.regexesFrom` says where they start
      regexes: extra === null ? this.regexes : this.regexes.slice(0, extra.regexesFrom),
    };
    return {
      policy,
      extra: extra === null ? null : { ...extra, regexes: this.regexes.slice(extra.regexesFrom), trackers: this.trackers.slice(extra.trackersFrom) },
      tests,
      model: { lets: this.lets, rules: this.rules, fieldReferences: this.fieldReferences, narrowings: this.narrowings, schema: this.schema, locals: this.locals },
      importedReads: this.importedReads,
      ruleCache: this.nextCache,
    };
  }

  // ---- headers ---------------------------------------------------------------------------

  private headers(): {
    name: string;
    version: string | null;
    defaultDecision: IR.Policy["defaultDecision"] | null;
    defaultApproval: IR.Policy["defaultApproval"];
    timezone: string | null;
    schema: string | null;
  } {
    const seen = new Map<string, A.Item>();
    const out = {
      name: baseName(this.bag.file).replace(/\.armor$/, ""),
      version: null as string | null,
      defaultDecision: null as IR.Policy["defaultDecision"] | null,
      defaultApproval: null as IR.Policy["defaultApproval"],
      timezone: null as string | null,
      schema: null as string | null,
    };
    for (const item of this.ast.items) {
      if (
        item.kind === "let" ||
        item.kind === "rule" ||
        item.kind === "test" ||
        item.kind === "import" ||
        item.kind === "param" ||
        item.kind === "disable" ||
        item.kind === "override" ||
        item.kind === "property"
      )
        continue;
      const first = seen.get(item.kind);
      if (first) {
        this.report(catalog.duplicateHeader, item.span, `\`${item.kind}\` is declared twice`, {
          help: "keep one declaration",
          related: [{ file: this.bag.file, span: first.span, message: "first declared here" }],
        });
        continue;
      }
      seen.set(item.kind, item);
      switch (item.kind) {
        case "policy":
          if (item.name) out.name = item.name.name;
          out.version = item.version?.value ?? null;
          break;
        case "default":
          out.defaultDecision = item.effect;
          if (item.effect === "require_approval") {
            const quorum = this.quorum(item.quorum);
            out.defaultApproval = { from: item.from?.value ?? null, timeoutMs: item.timeout?.ms ?? null, ...(quorum !== 1 ? { quorum } : {}) };
            if (item.grant !== null) {
              this.report(catalog.grantWithoutApproval, item.grant.span, "`default require approval` cannot grant: a grant covers the later actions of one rule", {
                help: 'write the approval as a rule with the grant (`when action.type == "wire" require approval grant session 1h`)',
              });
            }
          }
          break;
        case "schema":
          out.schema = item.path?.value ?? null;
          break;
        case "timezone":
          if (item.zone) {
            if (isTimeZone(item.zone.value)) out.timezone = item.zone.value === "UTC" ? null : item.zone.value;
            else {
              const suggestion = closest(item.zone.value, supportedZones());
              this.report(catalog.invalidTimezone, item.zone.span, `\`${item.zone.value}\` is not a known time zone`, {
                help: suggestion ? `did you mean \`${suggestion}\`?` : 'use an IANA zone name such as "Europe/Zurich" or "UTC"',
                ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, item.zone.span, JSON.stringify(suggestion))], data: { suggestion } } : {}),
              });
            }
          }
          break;
      }
    }
    if (!seen.has("default")) {
      this.report(catalog.missingDefault, span(0, 0), "the policy has no `default`, so actions that no rule decides are denied", {
        help: "add `default deny` to say so, or `default allow` to allow them",
        fixes: defaultFixes(this.ast, this.source, this.bag.file),
      });
    }
    return out;
  }

  // ---- lets ------------------------------------------------------------------------------

  private declareLets(): void {
    for (const item of this.ast.items) {
      if (item.kind === "param" && item.name) this.declareParam(item, item.name);
      if (item.kind !== "let" || !item.name) continue;
      const existing = this.lets.get(item.name.name);
      if (existing) {
        this.report(catalog.duplicateLet, item.name.span, `let \`${item.name.name}\` is declared twice`, {
          help: "rename one of them",
          related: [{ file: this.bag.file, span: existing.decl.span, message: "first declared here" }],
        });
        continue;
      }
      this.lets.set(item.name.name, { name: item.name.name, decl: item, value: undefined, type: ANY, references: [] });
    }
  }

  /**
   * A `param` is a let whose value is the importer's (checked against the declared type by
   * imports.ts) or its default; the default is checked against the type here.
   */
  private declareParam(item: A.ParamDecl, name: A.Ident): void {
    const existing = this.lets.get(name.name);
    if (existing) {
      this.report(catalog.duplicateLet, name.span, `\`${name.name}\` is declared twice`, {
        help: "rename one of them",
        related: [{ file: this.bag.file, span: existing.decl.span, message: "first declared here" }],
      });
      return;
    }
    const fallback = item.value === null ? null : dataValue(item.value);
    const problem = paramTypeProblem(item, fallback);
    if (problem !== null) this.report(catalog.importParam, item.value?.span ?? item.span, `the default of \`${name.name}\` ${problem}`, { help: PARAM_TYPE_HELP });
    const value = this.params.has(name.name) ? this.params.get(name.name)! : fallback;
    this.paramNames.add(name.name);
    const decl: A.LetDecl = { kind: "let", name, value: { kind: "missing", span: item.span }, span: item.span };
    this.lets.set(name.name, { name: name.name, decl, value, type: value === null ? ANY : typeOfValue(value), references: [] });
  }

  private resolveLet(sym: LetSymbol): void {
    if (sym.value !== undefined) return;
    if (this.resolving.has(sym.name)) {
      this.report(catalog.letCycle, sym.decl.name?.span ?? sym.decl.span, `let \`${sym.name}\` refers to itself`, {
        help: "a let's value must be a constant that does not depend on itself",
      });
      sym.value = null;
      sym.type = ANY;
      return;
    }
    if (this.resolving.size >= MAX_NESTING) {
      // resolving a let resolves the lets it names first, recursively: the chain is bounded
      this.report(catalog.nestingTooDeep, sym.decl.name?.span ?? sym.decl.span, `\`${sym.name}\` is reached through a chain of more than ${MAX_NESTING} lets`, {
        help: "a let may name another let, which may name another, at most 64 deep; write the value out",
      });
      sym.value = null;
      sym.type = ANY;
      return;
    }
    this.resolving.add(sym.name);
    // what resolving a let does is the let's, not the rule's that happened to read it first
    const effects = this.effects;
    this.effects = null;
    const lowered = this.lower(sym.decl.value, { history: false, types: null }, true);
    this.effects = effects;
    this.resolving.delete(sym.name);
    if (lowered.expr.kind === "literal") {
      sym.value = lowered.expr.value;
      // a value that could not be resolved (already reported) stays untyped, so uses do not cascade
      sym.type = lowered.type === ANY ? ANY : typeOfValue(lowered.expr.value);
    } else {
      if (sym.decl.value.kind !== "missing") {
        this.report(catalog.nonConstantLet, sym.decl.value.span, `the value of \`${sym.name}\` is not a constant`, {
          help: "a let holds a literal, a list of constants, another let, or an operator other than `matches` applied to constants (`LIMIT > 0`); write conditions on fields in the rules",
        });
      }
      sym.value = null;
      sym.type = ANY;
    }
  }

  // ---- rules -----------------------------------------------------------------------------

  private lowerRules(): IR.Rule[] {
    // a named rule whose name is missing is broken; its syntax error says so, and an id made
    // up for it would only collide with the rules that recovery found after it
    const items = this.ast.items.map((i) => (i.kind === "override" ? i.rule : i)).filter((i): i is A.RuleDecl => i.kind === "rule" && (i.anonymous || i.name !== null));
    const cache = this.ruleCache();
    const lowered = items.map((item) => this.cachedRule(item, cache));
    // anonymous ids read the checked conditions (a let named `type` is not the action's type)
    const anonymous = anonymousRuleIds(
      baseName(this.bag.file),
      lowered.filter((l) => l.item.anonymous).map((l) => ({ decl: l.item, condition: l.condition })),
    );
    this.reportDuplicates(anonymous.duplicates);
    if (cache !== null) this.nextCache = { file: this.bag.file, lets: cache.lets, schema: this.schema, rules: cache.next };
    const out: IR.Rule[] = [];
    for (const { item, condition, effect, stage } of lowered) {
      const id = item.name ? item.name.name : anonymous.ids.get(item)!;
      const existing = this.rules.get(id);
      if (existing) {
        this.report(catalog.duplicateRule, item.name?.span ?? item.span, `rule \`${id}\` is declared twice`, {
          help: "rule ids must be unique within a policy; rename one",
          related: [{ file: this.bag.file, span: existing.decl.name?.span ?? existing.decl.span, message: "first declared here" }],
        });
      } else this.rules.set(id, { id, decl: item, references: [] });
      if (!item.effect || !effect) continue;
      const pos = this.source.positionAt(item.span.start);
      out.push({
        index: out.length,
        id,
        anonymous: item.anonymous,
        stage,
        condition,
        // a grant covers the rule it is written on
        effect: effect.kind === "require_approval" && effect.grant !== null ? { ...effect, grant: { ...effect.grant, rule: id } } : effect,
        reason: item.effect.reason?.value ?? null,
        span: item.span,
        line: pos.line + 1,
        column: pos.column + 1,
        actionTypes: dispatchTypes(condition),
      });
    }
    return out;
  }

  // ---- properties ------------------------------------------------------------------------

  /**
   * The properties (`property NAME: always|never OUTCOMES when CONDITION`), checked like a call
   * rule's condition. A broken one (no name, mode or outcome: a syntax error says so) is left out.
   */
  private lowerProperties(items: readonly A.Item[], names: Map<string, { readonly file: string; readonly span: Span }>): IR.Property[] {
    const out: IR.Property[] = [];
    for (const item of items) {
      if (item.kind !== "property") continue;
      let condition: IR.Expr = { kind: "literal", value: true, span: item.span };
      if (item.condition !== null) {
        const cond = this.lower(item.condition, { history: false, types: null }, false);
        this.expectCondition(cond, item.condition.span);
        condition = cond.expr;
      }
      if (item.name === null || item.mode === null || item.outcomes.length === 0) continue;
      const first = names.get(item.name.name);
      if (first) {
        this.report(catalog.duplicateProperty, item.name.span, `property \`${item.name.name}\` is declared twice`, {
          help: "property names are unique within a policy; rename one",
          related: [{ file: first.file, span: first.span, message: "first declared here" }],
        });
        continue;
      }
      names.set(item.name.name, { file: this.bag.file, span: item.name.span });
      const pos = this.source.positionAt(item.span.start);
      out.push({
        name: item.name.name,
        mode: item.mode,
        outcomes: [...new Set(item.outcomes.map((o) => o.outcome))],
        condition,
        span: item.span,
        line: pos.line + 1,
        column: pos.column + 1,
        ...(this.extraProperties !== null && this.bag === this.extraProperties.bag ? { file: this.bag.file } : {}),
      });
    }
    return out;
  }

  /**
   * The properties of another file (`extraProperties`), checked with this file's names: the
   * checker reads that file's text and reports into its bag while it lowers them, and their
   * names are unique together with this file's properties (A230).
   */
  private lowerExtraProperties(own: readonly IR.Property[]): Omit<ExtraPropertiesIR, "regexes" | "trackers"> | null {
    const extra = this.extraProperties;
    if (extra === null) return null;
    const regexesFrom = this.regexes.length;
    const trackersFrom = this.trackers.length;
    const names = new Map(own.map((p) => [p.name, { file: this.bag.file, span: this.nameSpan(p) }]));
    const [source, bag] = [this.source, this.bag];
    this.source = extra.source;
    this.bag = extra.bag;
    try {
      return { properties: this.lowerProperties(extra.items, names), regexesFrom, trackersFrom };
    } finally {
      this.source = source;
      this.bag = bag;
    }
  }

  /** The span of a property's name in this file. */
  private nameSpan(p: IR.Property): Span {
    const item = this.ast.items.find((i) => i.kind === "property" && i.name?.name === p.name);
    return item?.kind === "property" && item.name !== null ? item.name.span : p.span;
  }

  /**
   * Where this check keeps what checking each rule did, with the records of the previous check
   * that it may take over (`rule-cache.ts`); null when the file imports or is imported (its names
   * then come from other files).
   */
  private ruleCache(): { readonly previous: ReadonlyMap<A.RuleDecl, RuleRecord> | null; readonly next: Map<A.RuleDecl, RuleRecord>; readonly lets: string } | null {
    if (this.imported.size > 0 || this.params.size > 0 || this.importedRules.size > 0 || this.extraProperties !== null) return null;
    const lets = letsFingerprint(this.ast, this.source.text);
    const p = this.previous;
    const same = p !== null && p.file === this.bag.file && p.schema === this.schema && p.lets === lets;
    return { previous: same ? p.rules : null, next: new Map(), lets };
  }

  /** A rule checked, or taken over from the previous check when nothing it read changed. */
  private cachedRule(item: A.RuleDecl, cache: ReturnType<Checker["ruleCache"]>): LoweredRule {
    if (cache === null) return this.lowerRule(item);
    let old = cache.previous?.get(item);
    let delta = 0;
    if (old === undefined && cache.previous !== null) {
      // the same text moved by an edit before it: the record moves with it
      const from = movedFrom.get(item);
      old = from === undefined ? undefined : cache.previous.get(from.item as A.RuleDecl);
      delta = from?.delta ?? 0;
    }
    if (old !== undefined && this.keepsNumbers(old)) {
      const record = delta === 0 ? old : movedRecord(old, item, delta);
      this.replay(record);
      cache.next.set(item, record);
      return record.lowered;
    }
    const effects: RuleEffect[] = [];
    this.effects = effects;
    try {
      const lowered = this.lowerRule(item);
      cache.next.set(item, { lowered, effects });
      return lowered;
    } finally {
      this.effects = null;
    }
  }

  /** Whether a record's regexes and trackers would keep their numbers if it were replayed now. */
  private keepsNumbers(record: RuleRecord): boolean {
    const regexes = { count: this.regexes.length, index: (key: string) => this.regexKeys.get(key) };
    const trackers = { count: this.trackers.length, index: (key: string) => this.trackerKeys.get(key) };
    return sameNumbers(record.effects, regexes, trackers);
  }

  /** Replays a rule's effects on the checker's state, in order. */
  private replay(record: RuleRecord): void {
    for (const e of record.effects) {
      switch (e.kind) {
        case "diagnostic":
          this.bag.items.push(e.diagnostic);
          break;
        case "let":
          this.lets.get(e.name)!.references.push(e.at);
          break;
        case "field": {
          const ref = e.ref as FieldReference;
          this.fieldReferences.push(ref);
          this.fieldReferenceAt.set(ref.span, ref);
          break;
        }
        case "narrowing":
          this.narrowings.set(e.at, e.types);
          break;
        case "local":
          this.locals.push(e.symbol as LocalSymbol);
          break;
        case "localInfo":
          this.localInfoAt.set(e.at, e.info);
          break;
        case "regex":
          if (e.def.index === this.regexes.length) {
            this.regexes.push(e.def);
            this.regexKeys.set(e.key, e.def.index);
          }
          break;
        case "tracker":
          if (e.tracker.index === this.trackers.length) {
            this.trackers.push(e.tracker);
            this.trackerKeys.set(e.key, e.tracker.index);
          }
          break;
      }
    }
  }

  /** A rule's condition and effect, checked. */
  private lowerRule(item: A.RuleDecl): LoweredRule {
    this.stage = this.ruleStage(item);
    const cond = this.lower(item.condition, { history: false, types: null }, false);
    this.expectCondition(cond, item.condition.span);
    if (cond.expr.kind === "literal" && cond.expr.value === true && !(item.condition.kind === "literal" && item.condition.value === true)) {
      this.report(catalog.alwaysTrue, item.condition.span, "this condition is always true, so the rule fires for every action", {
        help: "write `when true` if that is meant; otherwise check the constants in the condition",
      });
    }
    // the effect sees the action types the whole condition narrows to
    const effect = item.effect ? this.lowerEffect(item.effect, { history: false, types: cond.narrows ?? null }) : null;
    const stage = this.stage;
    this.stage = "call";
    this.stageUnknown = false;
    return { item, stage, condition: cond.expr, effect };
  }

  /** The stage named by `on STAGE` (`call` without one); an unknown name is A217 and checks as `call`. */
  private ruleStage(item: A.RuleDecl): IR.Stage {
    const name = item.stage;
    if (name === null) return "call";
    const stage = IR.STAGES.find((s) => s === name.name);
    if (stage !== undefined) return stage;
    const suggestion = closest(name.name, IR.STAGES);
    this.stageUnknown = true;
    this.report(catalog.unknownStage, name.span, `\`${name.name}\` is not a stage`, {
      help: `${suggestion ? `did you mean \`on ${suggestion}\`? ` : ""}a rule decides a tool call (\`on call\`, the default), what the tool returned (\`on result\`) or what the model says (\`on output\`)`,
      ...(suggestion ? { fixes: [replacement(`use \`on ${suggestion}\``, this.bag.file, name.span, suggestion)], data: { suggestion } } : {}),
    });
    return "call";
  }

  /**
   * Anonymous rules identical in condition, effect and reason to an earlier one (A407): one
   * warning per set of copies, at the second, so that thousands of copies stay one finding.
   */
  private reportDuplicates(duplicates: ReadonlyMap<A.RuleDecl, A.RuleDecl>): void {
    const copies = new Map<A.RuleDecl, A.RuleDecl[]>();
    for (const [rule, first] of duplicates) {
      const list = copies.get(first);
      if (list) list.push(rule);
      else copies.set(first, [rule]);
    }
    for (const [first, repeats] of copies) {
      const more = repeats.length > 1 ? ` (${(repeats.length + 1).toLocaleString("en-US")} copies in all)` : "";
      this.report(catalog.repeatedRule, repeats[0]!.span, `this rule repeats an earlier rule: same condition, effect and reason${more}`, {
        help: "remove the copies; if more than one is meant, give each a name (`rule NAME when ...`) or its own reason",
        related: [{ file: this.bag.file, span: first.span, message: "the earlier rule" }],
      });
    }
  }

  private lowerEffect(e: A.EffectNode, scope: Scope): IR.Effect {
    switch (e.kind) {
      case "allow":
      case "deny":
        return { kind: e.kind };
      case "require_approval":
        return { kind: "require_approval", from: this.approvalGroup(e), timeoutMs: e.timeout?.ms ?? null, quorum: this.quorum(e.quorum), grant: this.grantOffer(e.grant, scope) };
      case "label":
        return { kind: "label", label: this.label(e.label) };
      case "redact": {
        if (this.stage !== "call") return this.redactStageValue(e, this.stage, scope);
        const segments = e.path?.segments ?? [];
        if (e.path && (segments[0]?.name === "result" || segments[0]?.name === "output")) {
          const root = segments[0].name;
          if (!this.stageUnknown) {
            this.report(catalog.redactStageRoot, e.path.span, `a rule on calls cannot redact \`${root}\``, {
              help: `\`${root}\` is only known at the ${root} stage: write \`rule NAME on ${root}\`; on calls, redact a field of the action`,
            });
          }
          return { kind: "redact", root: "action", path: [], regex: e.regex ? this.pattern(e.regex) : null, text: this.redactText(e.text) };
        }
        let fields = segments.map((s) => s.name);
        if (fields[0] === "action") fields = fields.slice(1);
        if (fields.length === 0 || (fields.length === 1 && fields[0] === "type") || ["user", "context", "time"].includes(segments[0]?.name ?? "")) {
          if (e.path) {
            this.report(catalog.invalidRedactPath, e.path.span, `cannot redact \`${segments.map((s) => s.name).join(".")}\``, {
              help: "redact a field of the action other than `type`, e.g. `redact body`",
            });
          }
        } else if (e.path) {
          this.redacting = true;
          const type = this.fieldInfo("action", fields, scope, e.path.segments[segments[0]?.name === "action" ? 1 : 0]!.span.start, e.path.span);
          this.redacting = false;
          this.redactMatchingString(e, type);
        }
        const regex = e.regex ? this.pattern(e.regex) : null;
        return { kind: "redact", root: "action", path: fields, regex, text: this.redactText(e.text) };
      }
    }
  }

  /** `quorum N`: a whole number from 1 to 100 (A325); 1 when absent or wrong. */
  private quorum(q: A.NumberNode | null): number {
    if (q === null) return 1;
    if (Number.isInteger(q.value) && q.value >= 1 && q.value <= MAX_QUORUM) return q.value;
    this.report(catalog.invalidQuorum, q.span, `\`quorum ${q.raw}\` is not a whole number from 1 to ${MAX_QUORUM}`, {
      help: 'name how many distinct approvers must approve, e.g. `require approval from "finance" quorum 2`',
    });
    return 1;
  }

  /**
   * `grant SCOPE DURATION [up to N of FIELD]`: checked, as an offer whose rule id the caller fills
   * in; null (reported) where no rule's approval on calls could be granted or a part is wrong.
   */
  private grantOffer(g: A.GrantNode | null, scope: Scope): IR.GrantOffer | null {
    if (g === null) return null;
    if (this.stage !== "call") {
      this.report(catalog.grantWithoutApproval, g.span, `a rule on ${this.stage} cannot grant approvals`, {
        help: "grants cover later tool calls that a rule sends for approval: put `grant` on a rule on calls, or approve each value",
      });
      return null;
    }
    const names = g.scope.segments.map((s) => s.name);
    let ok = true;
    if (!(names.length === 1 && names[0] === "session") && !(names.length >= 2 && names[0] === "action")) {
      ok = false;
      this.report(catalog.grantScope, g.scope.span, `a grant cannot be scoped to \`${names.join(".") || "nothing"}\``, {
        help: "grant for the session (`grant session 1h`) or for one value of a field of the action (`grant action.to 1h`)",
      });
    } else if (names[0] === "action") this.fieldInfo("action", names.slice(1), scope, g.scope.segments[1]!.span.start, g.scope.span);
    const ms = g.duration?.ms ?? null;
    if (g.duration !== null && (ms === null || ms <= 0 || ms > MAX_GRANT_MS)) {
      ok = false;
      this.report(catalog.grantDuration, g.duration.span, `a grant of \`${g.duration.raw}\` is ${ms !== null && ms > MAX_GRANT_MS ? "longer than the longest grant, 7 days" : "empty"}`, {
        help: "grant for a duration from 1ms to 7d, e.g. `grant session 1h`; past it, approvers are asked again",
      });
    }
    let of: string | null = null;
    if (g.limit !== null || g.amount !== null) {
      const amount = g.amount?.segments.map((s) => s.name) ?? [];
      const type = amount.length >= 2 && amount[0] === "action" ? this.fieldInfo("action", amount.slice(1), scope, g.amount!.segments[1]!.span.start, g.amount!.span) : null;
      if (g.limit === null || !(g.limit.value > 0) || type === null || (type & NUM) === 0) {
        ok = false;
        const why =
          g.limit !== null && !(g.limit.value > 0)
            ? `the limit of a grant must be more than 0, not \`${g.limit.raw}\``
            : type === null
              ? `\`up to\` adds up a field of the action, not \`${amount.join(".") || "nothing"}\``
              : `\`up to\` adds up a number, but \`${amount.join(".")}\` is ${typeName(type)}`;
        this.report(catalog.grantAmount, g.amount?.span ?? g.span, why, {
          help: "name a positive limit and a numeric field, e.g. `grant action.to 1h up to 50000 of action.amount`",
        });
      }
      of = amount.join(".");
    }
    if (!ok || ms === null) return null;
    return { rule: "", scope: names.join("."), durationMs: ms, upTo: g.limit?.value ?? null, of };
  }

  /** `redact PATH matching P` rewrites a string; a field the schema says is never one makes it an error of the rule on every action (A301). */
  private redactMatchingString(e: Extract<A.EffectNode, { kind: "redact" }>, type: Type): void {
    if (!e.regex || !e.path || (type & STR) !== 0 || type === NULL) return;
    const written = sourceText(this.source, e.path.span);
    this.report(catalog.typeMismatch, e.path.span, `\`redact ... matching\` needs a string field, but \`${written}\` is ${typeName(type)}`, {
      help: `the redaction would be an evaluation error whenever the field is set; redact the whole field (\`redact ${written}\`), or a string field`,
    });
  }

  /** `redact result.PATH` / `redact output.PATH` on the result and output stages: the path must start with the stage's value. */
  private redactStageValue(e: Extract<A.EffectNode, { kind: "redact" }>, stage: "result" | "output", scope: Scope): IR.Effect {
    const segments = e.path?.segments ?? [];
    const fields = segments.slice(1).map((s) => s.name);
    if (e.path && (segments[0]?.name !== stage || fields.length === 0)) {
      const written = segments.map((s) => s.name).join(".");
      const example = stage === "result" ? "redact result.body" : "redact output.text";
      this.report(catalog.redactStageRoot, e.path.span, `a rule on ${stage === "result" ? "results" : "output"} cannot redact \`${written}\``, {
        help: `${stage === "result" ? "at the result stage the action has already been decided" : "a message of the model has no action"}; redact a field of \`${stage}\`, e.g. \`${example}\``,
      });
    } else if (e.path && stage === "result") {
      this.redacting = true;
      const type = this.resultFieldInfo(fields, scope, e.path.span);
      this.redacting = false;
      this.redactMatchingString(e, type);
    }
    const regex = e.regex ? this.pattern(e.regex) : null;
    return { kind: "redact", root: stage, path: fields, regex, text: this.redactText(e.text) };
  }

  /** The text of `label "L"`: 1 to 64 letters, digits and `_ - . : /` (A319). */
  private label(node: A.StringNode | null): string {
    if (node === null) return "";
    const text = node.value;
    if (!LABEL_TEXT.test(text)) {
      const problem = text.length === 0 ? "a label cannot be empty" : text.length > 64 ? "a label has at most 64 characters" : `\`${text}\` is not a label`;
      this.report(catalog.invalidLabel, node.span, problem, {
        help: 'a label is 1 to 64 letters, digits and `_ - . : /`, e.g. `label "untrusted"` or `label "pii:card"`',
      });
    }
    return text;
  }

  // ---- expressions -----------------------------------------------------------------------

  private expectCondition(l: Lowered, at: Span): void {
    if ((l.type & (BOOL | NULL)) === 0) {
      this.report(catalog.typeMismatch, at, `a condition must be true or false, but this is ${typeName(l.type)}`, {
        help: "compare the value, e.g. `amount > 100` or `exists(amount)`",
      });
    }
  }

  /** Lowers an expression, and keeps what it narrows for the semantic model. */
  private lower(e: A.Expr, scope: Scope, constant: boolean): Lowered {
    const l = this.lowerExpr(e, scope, constant);
    if (l.narrows) {
      this.narrowings.set(e.span, l.narrows);
      this.effects?.push({ kind: "narrowing", at: e.span, types: l.narrows });
    }
    return l;
  }

  private lowerExpr(e: A.Expr, scope: Scope, constant: boolean): Lowered {
    switch (e.kind) {
      case "missing":
        return { expr: { kind: "literal", value: false, span: e.span }, type: ANY };
      case "literal":
        return { expr: { kind: "literal", value: e.value, span: e.span }, type: typeOfValue(e.value) };
      case "paren":
        return this.lower(e.expr, scope, constant);
      case "list": {
        const items = e.elements.map((x) => this.lower(x, scope, constant));
        if (items.every((i) => i.expr.kind === "literal")) {
          const value = items.map((i) => (i.expr as IR.LiteralExpr).value);
          return { expr: { kind: "literal", value: this.boundedValue(value, e.span), span: e.span }, type: LIST };
        }
        const bad = items.find((i) => i.expr.kind !== "literal");
        this.report(catalog.typeMismatch, bad?.expr.span ?? e.span, "list elements must be constants", {
          help: "write literals or lets in a list; compare fields with `==` or `in`",
        });
        return { expr: { kind: "literal", value: [], span: e.span }, type: LIST };
      }
      case "path":
        return this.path(e, scope, constant);
      case "not": {
        const inner = this.lower(e.operand, scope, constant);
        this.expectCondition(inner, e.operand.span);
        if (inner.expr.kind === "literal" && isBoolOrNull(inner.expr.value)) {
          return { expr: { kind: "literal", value: !sem.truth(inner.expr.value), span: e.span }, type: BOOL };
        }
        return { expr: { kind: "not", arg: inner.expr, span: e.span }, type: BOOL };
      }
      case "and":
      case "or":
        return this.logical(e, scope, constant);
      case "compare":
        return this.compare(e, scope, constant);
      case "between": {
        const v = this.lower(e.value, scope, constant);
        const lo = this.lower(e.low, scope, constant);
        const hi = this.lower(e.high, scope, constant);
        const common = orderable(v.type) & orderable(lo.type) & orderable(hi.type);
        if (common === 0) {
          this.report(catalog.typeMismatch, e.span, `\`between\` needs three numbers or three strings, got ${typeName(v.type)}, ${typeName(lo.type)} and ${typeName(hi.type)}`, {
            help: "write e.g. `time.hour between 9 and 17`",
          });
        }
        const expr: IR.Expr = { kind: "between", value: v.expr, low: lo.expr, high: hi.expr, span: e.span };
        return this.fold(expr, BOOL);
      }
      case "matches": {
        const v = this.lower(e.value, scope, constant);
        if ((v.type & (STR | NULL)) === 0 || v.type === NULL) {
          this.report(catalog.typeMismatch, e.value.span, `\`matches\` needs a string, but this is ${typeName(v.type)}`, { help: "match a string field, e.g. `path matches /secret/`" });
        }
        if (!e.regex) return { expr: { kind: "literal", value: false, span: e.span }, type: BOOL };
        const regex = this.pattern(e.regex);
        return { expr: { kind: "matches", value: v.expr, regex, span: e.span }, type: BOOL };
      }
      case "call":
        return this.call(e, scope, constant);
      case "quantifier":
        return this.quantifier(e, scope, constant);
      case "arith":
        return this.arith(e, scope, constant);
    }
  }

  /** `any(NAME in LIST: CONDITION)`, `all(...)`: the name is bound to each element in the condition. */
  private quantifier(e: A.QuantifierExpr, scope: Scope, constant: boolean): Lowered {
    const q = e.callee.name === "all" ? "all" : "any";
    if (constant) {
      this.report(catalog.nonConstantLet, e.span, `\`${q}(...)\` is not a constant`, { help: "use it in a rule's condition instead" });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    const list = this.lower(e.list, scope, false);
    if ((list.type & LIST) === 0) {
      this.report(catalog.typeMismatch, e.list.span, `\`${q}\` needs a list after \`in\`, but this is ${typeName(list.type)}`, {
        help: `write \`${q}(x in LIST: CONDITION)\` over a list field, e.g. \`${q}(r in recipients: r ends_with "@example.com")\``,
      });
    }
    const variable = e.variable;
    if (variable === null) return { expr: { kind: "literal", value: false, span: e.span }, type: BOOL };
    const name = variable.name;
    if (reservedRoots.has(name)) {
      this.report(catalog.localShadowsRoot, variable.span, `\`${name}\` cannot name the elements of a list: it is the input root \`${name}\``, {
        help: `choose another name, e.g. \`${q}(x in ${sourceText(this.source, e.list.span)}: ...)\``,
      });
    }
    const element = this.listElement(e.list);
    const symbol: LocalSymbol = {
      name,
      span: variable.span,
      scope: e.condition.span,
      within: e.span,
      listText: sourceText(this.source, e.list.span),
      element,
      type: element ? element.type : ANY,
      references: [],
    };
    this.locals.push(symbol);
    this.effects?.push({ kind: "local", symbol });
    const locals = new Map(scope.locals ?? []);
    locals.set(name, symbol);
    const cond = this.lower(e.condition, { ...scope, locals }, false);
    this.expectCondition(cond, e.condition.span);
    return { expr: { kind: "quantifier", quantifier: q, variable: name, list: list.expr, condition: cond.expr, span: e.span }, type: BOOL };
  }

  /**
   * `a + b`, `a - b`, `a * b`, `a / b`: both operands must be able to be numbers (a field typed
   * number-or-null is fine: a missing one is an evaluation error at run time). Constants fold,
   * and constants with no finite result (`1 / 0`) are an error here rather than at run time.
   */
  private arith(e: A.ArithExpr, scope: Scope, constant: boolean): Lowered {
    const left = this.lower(e.left, scope, constant);
    const right = this.lower(e.right, scope, constant);
    let typed = true;
    for (const [side, l] of [
      [e.left, left],
      [e.right, right],
    ] as const) {
      if ((l.type & NUM) !== 0) continue;
      typed = false;
      const text = sourceText(this.source, side.span);
      const written = l.expr.kind === "literal" && typeof l.expr.value === "string" && l.expr.value.trim() !== "" ? Number(l.expr.value) : Number.NaN;
      this.report(catalog.typeMismatch, side.span, `\`${e.op}\` needs two numbers, but \`${text}\` is ${l.type === NULL ? "null" : typeName(l.type)}`, {
        help: Number.isFinite(written) ? `write the number without quotes: \`${written}\`` : "arithmetic works on numbers only; compare strings with `==`, `contains` or `matches`",
      });
    }
    const expr: IR.ArithExpr = { kind: "arith", op: e.op, left: left.expr, right: right.expr, span: e.span };
    if (left.expr.kind !== "literal" || right.expr.kind !== "literal") return { expr, type: NUM };
    try {
      return { expr: { kind: "literal", value: sem.arith(e.op, left.expr.value, right.expr.value), span: e.span }, type: NUM };
    } catch (err) {
      if (typed && err instanceof sem.EvaluationError) {
        this.report(catalog.constantArithmetic, e.span, `\`${sourceText(this.source, e.span)}\` has no value: ${err.message}`, {
          help: e.op === "/" ? "divide by a constant other than zero" : "keep constants within about ±1.8e308",
        });
      }
      // reported: an unknown value, so that the let or rule using it does not cascade
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
  }

  /** What the schema says of the elements of a quantifier's list (a field or a local's field). */
  private listElement(list: A.Expr): FieldInfo | null {
    const inner = list.kind === "paren" ? list.expr : list;
    const info = this.localInfoAt.has(inner.span) ? this.localInfoAt.get(inner.span)! : (this.fieldReferenceAt.get(inner.span)?.info ?? null);
    return info?.items ?? null;
  }

  /** `x` or `x.f.g` where `x` is a local: the element, or its fields (checked when the schema describes them). */
  private localPath(e: A.PathExpr, symbol: LocalSymbol): Lowered {
    symbol.references.push(e.segments[0]!.span);
    const fields = e.segments.map((s) => s.name);
    let info: FieldInfo | null = symbol.element;
    let type: Type = symbol.type;
    for (let i = 1; i < e.segments.length && info !== null; i++) {
      const seg = e.segments[i]!;
      const next: FieldInfo | undefined = info.fields?.get(seg.name);
      if (next === undefined) {
        if (info.fields !== null && (info.type & OBJ) !== 0) {
          const suggestion = closest(seg.name, info.fields.keys());
          this.report(catalog.unknownField, seg.span, `\`${seg.name}\` is not a field of the elements of \`${symbol.listText}\` in the schema`, {
            help: suggestion
              ? `did you mean \`${suggestion}\`?`
              : `the fields are ${[...info.fields.keys()]
                  .slice(0, 12)
                  .map((c) => `\`${c}\``)
                  .join(", ")}`,
            severity: info.open ? "warning" : "error",
            ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, seg.span, suggestion)], data: { suggestion } } : {}),
          });
        }
        info = null;
        type = ANY;
        break;
      }
      info = next;
      type = next.type | NULL;
    }
    if (e.segments.length > 1 && info === null) type = ANY;
    this.localInfoAt.set(e.span, info);
    this.effects?.push({ kind: "localInfo", at: e.span, info });
    return { expr: { kind: "path", root: "local", fields, span: e.span }, type };
  }

  /**
   * `and` chains narrow the action types for the conjuncts after a type test; `or` narrows only
   * when every branch does. Scopes are never mutated: narrowing flows through return values, so
   * a type test inside `not (...)` or one `or` branch cannot leak out.
   */
  private logical(e: A.LogicalExpr, scope: Scope, constant: boolean): Lowered {
    const args: IR.Expr[] = [];
    let local: Scope = scope;
    let narrows: ReadonlySet<string> | undefined;
    const branchNarrows: (ReadonlySet<string> | undefined)[] = [];
    let decided: boolean | undefined;
    for (const operand of e.operands) {
      const l = this.lower(operand, local, constant);
      this.expectCondition(l, operand.span);
      // operands after a constant that decides the result are still checked, then dropped
      if (decided !== undefined) continue;
      branchNarrows.push(l.narrows);
      if (e.kind === "and" && l.narrows) {
        narrows = intersect(narrows, l.narrows);
        local = { ...scope, types: intersect(local.types ?? undefined, l.narrows) };
      }
      if (l.expr.kind === "literal" && isBoolOrNull(l.expr.value)) {
        const b = sem.truth(l.expr.value);
        if (e.kind === "and" ? !b : b) decided = b;
        continue;
      }
      args.push(l.expr);
    }
    if (decided !== undefined) return { expr: { kind: "literal", value: decided, span: e.span }, type: BOOL };
    if (e.kind === "or") {
      narrows = branchNarrows.every((n) => n !== undefined) ? new Set(branchNarrows.flatMap((n) => [...n!])) : undefined;
    }
    if (args.length === 0) return { expr: { kind: "literal", value: e.kind === "and", span: e.span }, type: BOOL };
    if (args.length === 1) return { expr: args[0]!, type: BOOL, ...(narrows ? { narrows } : {}) };
    return { expr: { kind: e.kind, args, span: e.span }, type: BOOL, ...(narrows ? { narrows } : {}) };
  }

  private compare(e: A.CompareExpr, scope: Scope, constant: boolean): Lowered {
    const outer = this.comparison;
    this.comparison = e;
    const left = this.lower(e.left, scope, constant);
    const right = this.lower(e.right, scope, constant);
    this.comparison = outer;
    const lt = left.type;
    const rt = right.type;
    let expr: IR.Expr;
    switch (e.op) {
      case "==":
      case "!=": {
        if ((lt & rt) === 0 && lt !== ANY && rt !== ANY) {
          this.mismatch(
            e,
            `\`${sourceText(this.source, e.left.span)}\` is ${typeName(lt)} and \`${sourceText(this.source, e.right.span)}\` is ${typeName(rt)}, so they are never equal`,
            "compare values of the same type",
          );
        }
        this.checkEnum(e.left, right, scope);
        this.checkEnum(e.right, left, scope);
        expr = { kind: "compare", op: e.op, left: left.expr, right: right.expr, span: e.span };
        const folded = this.fold(expr, BOOL);
        const narrows = e.op === "==" ? (this.typeNarrowing(left, right) ?? this.typeNarrowing(right, left)) : undefined;
        return narrows ? { ...folded, narrows } : folded;
      }
      case "<":
      case "<=":
      case ">":
      case ">=":
        if ((orderable(lt) & orderable(rt)) === 0) {
          this.mismatch(
            e,
            `\`${e.op}\` needs two numbers or two strings, but \`${sourceText(this.source, e.left.span)}\` is ${typeName(lt)} and \`${sourceText(this.source, e.right.span)}\` is ${typeName(rt)}`,
            this.orderingHelp(e, left, right),
          );
        }
        expr = { kind: "compare", op: e.op, left: left.expr, right: right.expr, span: e.span };
        return this.fold(expr, BOOL);
      case "in":
      case "not in": {
        if ((rt & (LIST | NULL)) === 0 || rt === NULL)
          this.mismatch(e, `\`${e.op}\` needs a list on its right, but this is ${typeName(rt)}`, 'write a list such as `["a", "b"]` or the name of a let that holds one');
        if (right.expr.kind === "literal" && Array.isArray(right.expr.value)) {
          this.checkEnumList(e.left, right.expr.value as IR.Value[], scope);
        }
        const inExpr: IR.Expr = { kind: "in", left: left.expr, list: right.expr, span: e.span };
        const folded = this.fold(inExpr, BOOL);
        if (e.op === "not in") {
          if (folded.expr.kind === "literal") return { expr: { kind: "literal", value: !folded.expr.value, span: e.span }, type: BOOL };
          return { expr: { kind: "not", arg: folded.expr, span: e.span }, type: BOOL };
        }
        const narrows = this.typeListNarrowing(left, right);
        return narrows ? { ...folded, narrows } : folded;
      }
      case "contains":
      case "starts_with":
      case "ends_with": {
        const leftOk = e.op === "contains" ? (lt & (STR | LIST)) !== 0 : (lt & STR) !== 0;
        if (!leftOk || ((lt & LIST) === 0 && (rt & STR) === 0)) {
          this.mismatch(
            e,
            `\`${e.op}\` needs ${e.op === "contains" ? "a string or a list" : "a string"} on its left and a string on its right, got ${typeName(lt)} and ${typeName(rt)}`,
            `write e.g. \`command ${e.op} "rm -rf"\``,
          );
        }
        expr = { kind: "stringOp", op: e.op, left: left.expr, right: right.expr, span: e.span };
        return this.fold(expr, BOOL);
      }
    }
  }

  private mismatch(e: A.CompareExpr, message: string, help: string): void {
    this.report(catalog.typeMismatch, e.span, message, { help });
  }

  /** `action.type == "x"` narrows the subject to type x. */
  private typeNarrowing(subject: Lowered, value: Lowered): ReadonlySet<string> | undefined {
    if (!isTypePath(subject.expr) || value.expr.kind !== "literal" || typeof value.expr.value !== "string") return undefined;
    const type = value.expr.value;
    let one = this.singleTypes.get(type);
    if (one === undefined) {
      one = new Set([type]);
      this.singleTypes.set(type, one);
    }
    return one;
  }

  private typeListNarrowing(subject: Lowered, list: Lowered): ReadonlySet<string> | undefined {
    if (!isTypePath(subject.expr) || list.expr.kind !== "literal" || !Array.isArray(list.expr.value)) return undefined;
    const values = list.expr.value as IR.Value[];
    if (!values.every((v) => typeof v === "string")) return undefined;
    return new Set(values as string[]);
  }

  /** Warns when a literal compared with a field is outside the field's enum (or not an action type). */
  private checkEnum(subjectAst: A.Expr, value: Lowered, scope: Scope): void {
    if (value.expr.kind !== "literal") return;
    this.checkEnumList(subjectAst, [value.expr.value], scope, value.expr.span);
  }

  private checkEnumList(subjectAst: A.Expr, values: IR.Value[], scope: Scope, at?: Span): void {
    if (subjectAst.kind !== "path" || !this.schema) return;
    const names = subjectAst.segments.map((s) => s.name);
    // a local of `any`/`all` is not the action's field, whatever its name
    if (scope.locals?.has(names[0] ?? "")) return;
    const isType = (names.length === 1 && names[0] === "type" && !this.lets.has("type")) || (names.length === 2 && names[0] === "action" && names[1] === "type");
    if (isType) {
      // a schema without action types is A307 already; it has no types to compare with
      if (this.schema.types.size === 0) return;
      for (const v of values) {
        if (typeof v !== "string" || this.schema.types.has(v)) continue;
        const suggestion = closest(v, this.schema.types.keys());
        this.report(catalog.unknownActionType, at ?? subjectAst.span, `\`${v}\` is not an action type in the schema`, {
          help: suggestion ? `did you mean \`${suggestion}\`?` : `the schema's action types are ${[...this.schema.types.keys()].map((t) => `\`${t}\``).join(", ")}`,
          ...(suggestion && at ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, at, JSON.stringify(suggestion))], data: { suggestion } } : {}),
        });
      }
      return;
    }
    const ref = this.fieldReferenceAt.get(subjectAst.span);
    const allowed = ref?.info?.values;
    if (!allowed || scope.types === null) return;
    for (const v of values) {
      if (allowed.some((a) => sem.equals(a, v))) continue;
      this.report(catalog.valueNotInEnum, at ?? subjectAst.span, `\`${JSON.stringify(v)}\` is not one of the values the schema allows for \`${names.join(".")}\``, {
        help: `allowed: ${allowed.map((a) => `\`${JSON.stringify(a)}\``).join(", ")}`,
      });
    }
  }

  private call(e: A.CallExpr, scope: Scope, constant: boolean): Lowered {
    const name = e.callee.name;
    if (constant) {
      this.report(catalog.nonConstantLet, e.span, `\`${name}(...)\` is not a constant`, { help: "use it in a rule's condition instead" });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    const fact = facts.functionFact(name);
    if (fact === undefined) {
      const suggestion = closest(
        name,
        facts.functions.map((f) => f.name),
      );
      this.report(catalog.unknownFunction, e.callee.span, `\`${name}\` is not a function`, {
        help: suggestion ? `did you mean \`${suggestion}\`?` : `the functions are ${listed(facts.functions.map((f) => `\`${f.usage}\``))}`,
        ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, e.callee.span, suggestion)], data: { suggestion } } : {}),
      });
      return { expr: { kind: "literal", value: false, span: e.span }, type: ANY };
    }
    if (isValueFunction(fact)) return this.valueFunction(e, fact, scope);
    const result = fact.result === "number" ? NUM : fact.result === "number?" ? NUM | NULL : BOOL;
    const window = fact.parameters.find((p) => p.type === "duration");
    if (window === undefined && e.window) this.report(catalog.unknownFunction, e.window.span, `\`${name}\` takes no window`, { help: `write \`${fact.usage}\`` });
    if (window === undefined && e.scope) this.report(catalog.invalidScope, e.scope.span, `\`${name}\` takes no \`per\``, { help: `\`per\` belongs to the history functions; write \`${fact.usage}\`` });
    if (fact.name === "glob") {
      this.report(catalog.typeMismatch, e.span, "`glob(...)` is a pattern, not a value", { help: 'match a string against it: `path matches glob("src/**")`' });
      return { expr: { kind: "literal", value: false, span: e.span }, type: BOOL };
    }
    if (fact.name === "exists") {
      if (e.clause) this.report(catalog.historyClause, e.clause.span, `\`exists\` takes no \`${e.clause.keyword}\``, { help: `write \`${fact.usage}\`` });
      const arg = e.argument.kind === "paren" ? e.argument.expr : e.argument;
      const l = this.lower(arg, scope, false);
      if (l.expr.kind !== "path") {
        this.report(catalog.typeMismatch, e.argument.span, "`exists` needs a field, e.g. `exists(action.memo)`", { help: "pass the path of a field" });
        return { expr: { kind: "literal", value: false, span: e.span }, type: result };
      }
      return { expr: { kind: "exists", path: l.expr, span: e.span }, type: result };
    }
    if (fact.name === "any" || fact.name === "all") {
      this.report(catalog.malformedQuantifier, e.span, `\`${name}\` is written \`${name}(NAME in LIST: CONDITION)\``, {
        help: `name the elements and give the list, e.g. \`${name}(r in recipients: r ends_with "@example.com")\``,
      });
      return { expr: { kind: "literal", value: false, span: e.span }, type: result };
    }
    if (scope.history) {
      this.report(catalog.historyScope, e.span, `\`${name}\` cannot be nested inside another history condition`, { help: "write the conditions side by side with `and`" });
      return { expr: { kind: "literal", value: false, span: e.span }, type: result };
    }
    if (scope.locals !== undefined && scope.locals.size > 0) {
      this.report(catalog.historyInQuantifier, e.span, `\`${name}(...)\` cannot be used inside the condition of \`any\` or \`all\``, {
        help: "a history condition does not depend on the list's elements: write it beside the quantifier with `and`",
      });
      return { expr: { kind: "literal", value: false, span: e.span }, type: result };
    }
    // the value functions, `glob` and `exists` have returned above: what is left is a history predicate
    const kind = fact.name as IR.Tracker["kind"];
    const inner: Scope = { history: true, types: null };
    const clause = this.historyClause(e, kind);
    // `current.F` is read only in the condition that picks the entries, as one side of a top-level `==` (current-scope.ts)
    const picked = pickedBy(e);
    const correlated: Scope = { history: true, types: null, currentAt: picked ? currentSides(picked) : new Set(), currentTypes: scope.types };
    let condition: IR.Expr;
    let value: IR.Expr | null = null;
    let since: IR.Expr | null = null;
    if (kind === "sum" || kind === "max" || kind === "min") {
      value = this.aggregateValue(e, kind, inner);
      const cond = clause ? this.lower(clause, correlated, false) : null;
      if (cond && clause) this.expectCondition(cond, clause.span);
      condition = cond?.expr ?? { kind: "literal", value: false, span: e.span };
    } else {
      const cond = this.lower(e.argument, correlated, false);
      this.expectCondition(cond, e.argument.span);
      condition = cond.expr;
      if (clause) {
        const b = this.lower(clause, inner, false);
        this.expectCondition(b, clause.span);
        since = b.expr;
      }
    }
    const withinMs = e.window?.ms ?? null;
    const trackerScope = this.historyScopeOf(e, scope);
    const split = correlationKeys(condition);
    condition = split.condition;
    const key = `${kind}|${withinMs}|${exprKey(condition)}|${since ? exprKey(since) : ""}|${value ? exprKey(value) : ""}|${IR.scopeText(trackerScope)}`;
    const shared = this.trackerKeys.get(key);
    const index = shared ?? this.trackers.length;
    const tracker: IR.Tracker = { index, kind, condition, since, value, withinMs, scope: trackerScope, span: e.span, keys: split.keys, rest: split.rest };
    if (shared === undefined) {
      this.trackers.push(tracker);
      this.trackerKeys.set(key, index);
    }
    // the tracker as this rule would add it: replayed after the one it shares has gone, it is added
    this.effects?.push({ kind: "tracker", key, tracker });
    if (kind === "sum" || kind === "max" || kind === "min") return { expr: { kind: "aggregate", aggregate: kind, tracker: index, span: e.span }, type: result };
    return { expr: { kind, tracker: index, span: e.span }, type: result };
  }

  /**
   * The scope after `per` (docs/language.md §7.1): `deployment`, or a field of `user` or `context`
   * (untyped), or of the action (typed by the schema where the rule is narrowed, A302), that can
   * hold a string or a number; anything else is A220 and reads the session.
   */
  private historyScopeOf(e: A.CallExpr, scope: Scope): IR.TrackerScope {
    const per = e.scope;
    if (per === null) return { kind: "session" };
    const names = per.path.segments.map((s) => s.name);
    const text = names.join(".");
    const bad = (message: string, help: string, fix?: string): IR.TrackerScope => {
      this.report(catalog.invalidScope, per.path.segments.length > 0 ? per.path.span : per.span, message, {
        help,
        ...(fix !== undefined ? { fixes: [replacement(`write \`per ${fix}\``, this.bag.file, per.path.span, fix)] } : {}),
      });
      return { kind: "session" };
    };
    // a `per` without a scope is a syntax error already (A101)
    if (names.length === 0) return { kind: "session" };
    const head = names[0]!;
    if (names.length === 1 && head === "deployment") return { kind: "deployment" };
    if (names.length === 1 && head === "session") return bad("the session is the default scope", "leave `per session` out: a history predicate without `per` reads the session's history");
    if ((head === "user" || head === "context" || head === "action") && names.length === 1) {
      return bad(`\`per ${head}\` needs a field`, `a scope is one value: write \`per ${head}.id\` or another field that holds a string or a number`, `${head}.id`);
    }
    if (head === "user" || head === "context") return { kind: "path", root: head, fields: names.slice(1) };
    if (head !== "action") {
      const known = head === "time" || head === "current" || head === "result" || head === "output";
      return bad(
        known ? `\`per ${text}\` is not a scope` : `\`${head}\` is not a scope`,
        "a scope is `deployment` or a field of `user`, `context` or `action` (`per user.id`, `per context.tenant`, `per action.account`)",
        known || names.length > 1 ? undefined : `action.${head}`,
      );
    }
    // an action field: typed where the rule is narrowed, as the rule would read it
    const l = this.lower(per.path, { history: false, types: scope.types }, false);
    if ((l.type & (STR | NUM)) === 0) {
      this.report(catalog.invalidScope, per.path.span, `\`${text}\` is ${typeName(l.type)}, and a scope is a string or a number`, {
        help: "scope by a field that holds an id, a name or a number",
      });
      return { kind: "session" };
    }
    return { kind: "path", root: "action", fields: names.slice(1) };
  }

  /**
   * `host(url)`, `lower(s)`, `upper(s)`, `length(x)`, `strings(v)`: the argument is typed by the
   * function's fact; `strings(action)` may take the whole action (the earlier one in history).
   * Constant arguments are folded with the language's own semantics.
   */
  private valueFunction(e: A.CallExpr, fact: facts.FunctionFact & { name: IR.FnExpr["name"] }, scope: Scope): Lowered {
    const name = fact.name;
    if (e.window) this.report(catalog.unknownFunction, e.window.span, `\`${name}\` takes no window`, { help: `write \`${fact.usage}\`` });
    if (e.scope) this.report(catalog.invalidScope, e.scope.span, `\`${name}\` takes no \`per\``, { help: `\`per\` belongs to the history functions; write \`${fact.usage}\`` });
    const result = VALUE_FUNCTION_RESULTS[name];
    let arg = e.argument;
    while (arg.kind === "paren") arg = arg.expr;
    const wholeAction = name === "strings" && arg.kind === "path" && arg.segments.length === 1 && arg.segments[0]!.name === "action" && (this.stage !== "output" || scope.history);
    const l: Lowered = wholeAction ? { expr: { kind: "path", root: scope.history ? "item" : "action", fields: [], span: arg.span }, type: OBJ } : this.lower(e.argument, scope, false);
    const accepted = VALUE_FUNCTION_ARGUMENTS[fact.parameters[0]!.type]!;
    // a field's type includes null (missing), which every value function takes
    const kinds = l.type & ~NULL;
    if (kinds !== 0 && (kinds & accepted) === 0) {
      const text = sourceText(this.source, e.argument.span);
      const needs = VALUE_FUNCTION_ARGUMENT_NAMES[fact.parameters[0]!.type]!;
      this.report(catalog.typeMismatch, e.argument.span, `\`${name}\` needs ${needs}, but \`${text}\` is ${typeName(l.type)}`, {
        help: `\`${fact.usage}\` takes ${fact.parameters[0]!.doc}; compare \`${text}\` directly, or pass a field that holds ${needs}`,
      });
    }
    const expr: IR.Expr = { kind: "fn", name, arg: l.expr, span: e.span };
    if (l.expr.kind !== "literal") return { expr, type: result };
    try {
      return { expr: { kind: "literal", value: sem.callFunction(name, l.expr.value) as IR.Value, span: e.span }, type: result };
    } catch {
      // a wrong constant argument is already reported; keep the node so it fails at run time too
      return { expr, type: result };
    }
  }

  /**
   * The `where` or `since` clause of a history function, when it is the one the function takes:
   * `sum`, `max` and `min` need `where`, `seen` may have `since`, `count` takes neither (A212).
   */
  private historyClause(e: A.CallExpr, kind: "count" | "seen" | "sum" | "max" | "min"): A.Expr | null {
    const wanted = kind === "seen" ? "since" : kind === "count" ? null : "where";
    if (e.clause === null) {
      if (wanted === "where") {
        this.report(catalog.historyClause, e.span, `\`${kind}\` needs \`where\` and a condition`, {
          help: `write e.g. \`${kind}(amount where type == "wire_transfer" within 24h)\`: the number to take, then which earlier actions count`,
        });
      }
      return null;
    }
    if (e.clause.keyword === wanted) return e.clause.expr;
    const help =
      wanted === null
        ? "`count` takes one condition: join the conditions with `and`, or use `seen(A since B)` for an order"
        : wanted === "since"
          ? "`seen` takes `since B`: `seen(A since B)` is an entry matching A after the last entry matching B"
          : `\`${kind}\` takes \`where\`: \`${kind}(amount where type == "wire_transfer")\``;
    this.report(catalog.historyClause, e.clause.span, `\`${kind}\` takes no \`${e.clause.keyword}\``, { help });
    return null;
  }

  /** The number `sum`, `max` or `min` reads from each matching entry; it must be able to be a number (A315). */
  private aggregateValue(e: A.CallExpr, kind: "sum" | "max" | "min", inner: Scope): IR.Expr {
    const v = this.lower(e.argument, inner, false);
    if ((v.type & NUM) === 0) {
      this.report(catalog.aggregateNotNumber, e.argument.span, `\`${kind}\` needs a number from each entry, but this is ${typeName(v.type)}`, {
        help: `${kind === "sum" ? "add up" : "compare"} a numeric field, e.g. \`${kind}(amount where type == "wire_transfer")\`, and count entries with \`count(...)\``,
      });
    }
    return v.expr;
  }

  /**
   * A list built from lets can nest deeper than its text, and repeat a large let many times: a
   * value past the limits is reported and replaced by an empty list (docs/language.md §3.8).
   */
  private boundedValue(value: IR.Value[], at: Span): IR.Value[] {
    const problem = valueTooLarge(value);
    if (problem === null) return value;
    if (problem === "deep") {
      this.report(catalog.nestingTooDeep, at, `this list nests deeper than ${MAX_NESTING} levels`, {
        help: "lists, including the lists of the lets they name, may nest at most 64 deep",
      });
    } else {
      this.report(catalog.valueTooLarge, at, `this list holds more than ${MAX_LITERAL_VALUES.toLocaleString("en-US")} values`, {
        help: "lists, counting the elements of the lists inside them, hold at most 100,000 values; check the lets it repeats",
      });
    }
    return [];
  }

  /** `NAMESPACE.LET`: a let of an imported file, as a constant. */
  private importedLet(e: A.PathExpr, namespace: ReadonlyMap<string, { readonly value: IR.Value; readonly type: Type }>): Lowered {
    const [head, name] = e.segments;
    const let_ = name !== undefined && e.segments.length === 2 ? namespace.get(name.name) : undefined;
    if (let_ === undefined) {
      const suggestion = name !== undefined ? closest(name.name, namespace.keys()) : null;
      this.report(catalog.unknownName, e.span, `\`${e.segments.map((s) => s.name).join(".")}\` is not a let of the file imported as \`${head!.name}\``, {
        help: suggestion
          ? `did you mean \`${head!.name}.${suggestion}\`?`
          : `\`${head!.name}.NAME\` reads a let (or param) of the imported file; for the action's field write \`action.${e.segments.map((s) => s.name).join(".")}\``,
      });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    const reads = this.importedReads.get(head!.name);
    if (reads === undefined) this.importedReads.set(head!.name, new Set([name!.name]));
    else reads.add(name!.name);
    return { expr: { kind: "literal", value: let_.value, span: e.span }, type: let_.type };
  }

  private path(e: A.PathExpr, scope: Scope, constant: boolean): Lowered {
    const segs = e.segments;
    const head = segs[0];
    if (!head) return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    // a local of `any`/`all` shadows a let and a field of the same name
    const localSymbol = scope.locals?.get(head.name);
    if (localSymbol) return this.localPath(e, localSymbol);
    const let_ = segs.length === 1 ? this.lets.get(head.name) : undefined;
    if (let_) {
      this.referenceLet(let_, head.span);
      return { expr: { kind: "literal", value: let_.value ?? null, span: e.span }, type: let_.type };
    }
    const names = segs.map((s) => s.name);
    const namespace = this.imported.get(head.name);
    if (namespace !== undefined && !this.lets.has(head.name)) return this.importedLet(e, namespace);
    if (constant) {
      const suggestion = closest(head.name, this.lets.keys());
      this.report(catalog.nonConstantLet, e.span, `\`${names.join(".")}\` is not a constant`, {
        help: suggestion
          ? `did you mean the let \`${suggestion}\`?`
          : "a let's value is a literal, a list of constants, another let, or an operator applied to constants (`LIMIT > 0`); it cannot read fields",
      });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    const root = head.name;
    if (root === "current") return this.currentPath(e, scope);
    if (root === "labels" && scope.history && segs.length === 1) return { expr: { kind: "path", root: "itemLabels", fields: [], span: e.span }, type: LIST };
    if (root === "session") return this.sessionPath(e, scope);
    if (root === "output" && scope.history) {
      this.report(catalog.historyScope, e.span, "`output` cannot be read inside a history condition", {
        help: "inside `count(...)` and `seen(...)`, conditions read the earlier action and its `labels`; move this condition outside",
      });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    if ((root === "result" || root === "output") && !scope.history) return this.stageValuePath(e, root, scope);
    if (root === "result" && scope.history) {
      // reserved: inside count/seen/sum, `result.F` will read what the earlier action returned
      this.report(catalog.historyResult, e.span, `\`${names.join(".")}\` would read the earlier action's recorded result, which history entries do not hold yet`, {
        help: "conditions in `count`, `seen`, `sum`, `max` and `min` read the earlier action; a field of the action named `result` is `action.result`",
        fixes: [replacement("read the action's field `result`", this.bag.file, head.span, "action.result")],
      });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    if (root === "user" || root === "context") {
      if (scope.history) {
        this.report(catalog.historyScope, e.span, `\`${root}\` cannot be read inside a history condition`, {
          help: "inside `count(...)` and `seen(...)`, conditions read the earlier action; move this condition outside",
        });
        return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
      }
      return { expr: { kind: "path", root, fields: names.slice(1), span: e.span }, type: ANY };
    }
    if (root === "time") {
      if (scope.history) {
        this.report(catalog.historyScope, e.span, "`time` cannot be read inside a history condition", { help: "use `within DURATION` to limit the window" });
        return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
      }
      const member = segs[1];
      const info = member && segs.length === 2 ? timeFields.get(member.name) : undefined;
      if (!info) {
        const suggestion = member ? closest(member.name, [...timeFields.keys()]) : null;
        this.report(catalog.unknownTimeField, e.span, `\`${names.join(".")}\` is not a time value`, {
          help: `${suggestion ? `did you mean \`time.${suggestion}\`? ` : ""}the time values are ${listed([...timeFields.keys()].map((f) => `time.${f}`))}`,
          ...(suggestion && member ? { fixes: [replacement(`use \`time.${suggestion}\``, this.bag.file, member.span, suggestion)], data: { suggestion } } : {}),
        });
        return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
      }
      return { expr: { kind: "time", field: info.field, span: e.span }, type: info.type };
    }
    const explicit = root === "action";
    if (this.stage === "output" && !scope.history) return this.actionAtOutput(e);
    const fields = explicit ? names.slice(1) : names;
    const pathRoot: IR.PathRoot = scope.history ? "item" : "action";
    if (fields.length === 0) {
      this.report(catalog.unknownRoot, e.span, "`action` alone is not a value", { help: "read a field, e.g. `action.type`" });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    const firstField = explicit ? segs[1]! : head;
    const type = this.fieldInfo(pathRoot, fields, scope, firstField.span.start, e.span);
    return { expr: { kind: "path", root: pathRoot, fields, span: e.span }, type };
  }

  /**
   * `result[.F]` in a rule on results and `output[.F]` in a rule on output: the stage's value. In a
   * rule of another stage it is A218, whose fix reads the action's field of that name.
   */
  private stageValuePath(e: A.PathExpr, root: "result" | "output", scope: Scope): Lowered {
    const fields = e.segments.slice(1).map((s) => s.name);
    if (this.stage !== root && this.stageUnknown) return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    if (this.stage !== root) {
      const when = root === "result" ? "after the tool ran" : "when the model writes a message";
      this.report(catalog.stageScope, e.span, `a rule on ${this.stage === "call" ? "calls" : this.stage === "result" ? "results" : "output"} cannot read \`${root}\``, {
        help: `\`${root}\` is only known ${when}: write \`rule NAME on ${root}\`; a field of the action named \`${root}\` is \`action.${root}\``,
        ...(this.stage === "call" ? { fixes: [replacement(`read the action's field \`${root}\``, this.bag.file, e.segments[0]!.span, `action.${root}`)] } : {}),
      });
      return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    }
    if (root === "output") {
      const type = fields.length === 0 ? OBJ : fields.length === 1 && fields[0] === "text" ? STR | NULL : ANY;
      return { expr: { kind: "path", root, fields, span: e.span }, type };
    }
    const type = fields.length === 0 ? ANY : this.resultFieldInfo(fields, scope, e.span);
    return { expr: { kind: "path", root, fields, span: e.span }, type };
  }

  /** A rule on output reads no action: a message of the model is not a tool call (A218). */
  private actionAtOutput(e: A.PathExpr): Lowered {
    this.report(catalog.stageScope, e.span, `a rule on output cannot read \`${e.segments.map((s) => s.name).join(".")}\`: a message of the model has no action`, {
      help: "a rule on output reads `output` (`output.text`), `user`, `context`, `time`, `session.labels` and the history; to decide on a tool call, write a rule on calls",
    });
    return { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
  }

  /** `session.labels`: the session's labels, a list of strings; `session` has no other value. */
  private sessionPath(e: A.PathExpr, scope: Scope): Lowered {
    const none: Lowered = { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    if (scope.history) {
      this.report(catalog.historyScope, e.span, "`session` cannot be read inside a history condition", {
        help: "inside `count(...)` and `seen(...)`, `labels` is the earlier entry's labels; move `session.labels` outside",
      });
      return none;
    }
    const member = e.segments[1];
    if (member?.name !== "labels" || e.segments.length !== 2) {
      this.report(catalog.unknownRoot, e.span, `\`${e.segments.map((s) => s.name).join(".")}\` is not a value`, {
        help: "`session.labels` is the one value of `session`: the labels the session has collected",
        ...(member && member.name !== "labels" && closest(member.name, ["labels"]) ? { fixes: [replacement("use `session.labels`", this.bag.file, member.span, "labels")] } : {}),
      });
      return none;
    }
    return { expr: { kind: "path", root: "session", fields: ["labels"], span: e.span }, type: LIST };
  }

  /**
   * The type of `result.F...` from the `result` schemas of the action types in scope; any value
   * when a type in scope has none. A field no result schema has, where all are closed, is A302.
   */
  private resultFieldInfo(fields: readonly string[], scope: Scope, pathSpan: Span): Type {
    const record = (info: FieldInfo | null): void => this.recordField(pathSpan, "result", fields, scope, info);
    const types = this.schema ? (scope.types ? [...scope.types].map((t) => this.schema!.types.get(t)) : [...this.schema.types.values()]) : [];
    if (types.length === 0 || types.some((t) => t?.result == null)) {
      record(null);
      return ANY;
    }
    let type: Type = 0;
    let found: FieldInfo | null = null;
    for (const t of types) {
      let info: FieldInfo | null = t!.result!;
      for (const f of fields) {
        const next: FieldInfo | undefined = info.fields?.get(f);
        if (next === undefined) {
          if (info.open || info.fields === null) type |= ANY;
          info = null;
          break;
        }
        info = next;
      }
      if (info !== null) {
        type |= info.type | NULL;
        found ??= info;
      }
    }
    record(found);
    if (type !== 0) return type;
    const where = scope.types ? `\`${[...scope.types].join("`, `")}\`` : "any action type";
    this.report(catalog.unknownField, pathSpan, `\`result.${fields.join(".")}\` is not in the result schema of ${where}`, {
      help: "check the field's name against the action type's `result` schema, or add it there",
    });
    return ANY;
  }

  /**
   * `current.F` inside a history condition: a field of the current action, checked against the
   * action types the enclosing rule is narrowed to. Anywhere but one side of a top-level `==` of
   * the condition that picks the entries it is A213: trackers find entries by equal keys.
   */
  private currentPath(e: A.PathExpr, scope: Scope): Lowered {
    const fields = e.segments.slice(1).map((s) => s.name);
    const none: Lowered = { expr: { kind: "literal", value: null, span: e.span }, type: ANY };
    const why =
      '`current.F` may only be one side of an `==` joined by `and` to the rest of the condition that picks the earlier actions, e.g. `seen(type == "approve_sale" and ticker == current.ticker)`, or of the single `==` of such an `any(x in LIST: x == current.F)` over a list of the earlier action: the runtime finds earlier actions by equal keys in constant time, and any other use would need a scan of the whole history';
    if (this.stage === "output") return this.actionAtOutput(e);
    if (!scope.history) {
      this.report(catalog.currentScope, e.span, "`current` can only be read inside a history condition", {
        help: "outside `count`, `seen`, `sum`, `max` and `min`, read the current action directly: `action.F` or `F`",
      });
      return none;
    }
    if (!scope.currentAt?.has(e)) {
      const inList = scope.locals !== undefined && scope.locals.size > 0;
      const help = inList
        ? 'over a list, `current.F` may only be read as `any(x in LIST: x == current.F)` or `any(x in LIST: x.G == current.F)` (that `==` alone, in `any`, not `all`), the `any` joined by `and` to the rest of the condition that picks the earlier actions, e.g. `seen(type == "receive_email" and any(f in from: f == current.to))`: the runtime files each earlier action under every element\'s value and finds it by the current one in constant time, which no other condition allows'
        : why;
      this.report(catalog.currentScope, e.span, "`current` cannot be read here", { help });
      return none;
    }
    if (fields.length === 0) {
      this.report(catalog.currentScope, e.span, "`current` alone is not a value", { help: "read a field of the current action, e.g. `current.ticker`" });
      return none;
    }
    const outer: Scope = { history: false, types: scope.currentTypes ?? null };
    const type = this.fieldInfo("action", fields, outer, e.segments[1]!.span.start, e.span);
    return { expr: { kind: "path", root: "current", fields, span: e.span }, type };
  }

  /** A field read, for the semantic model (hover, completion) and the checks that look it up by span. */
  private recordField(pathSpan: Span, root: FieldReference["root"], fields: readonly string[], scope: Scope, info: FieldInfo | null): void {
    const ref: FieldReference = { span: pathSpan, root, path: fields, actionTypes: scope.types ? [...scope.types] : null, info };
    this.fieldReferences.push(ref);
    this.fieldReferenceAt.set(pathSpan, ref);
    this.effects?.push({ kind: "field", ref });
  }

  /** The type of an action field; reports unknown fields against the schema. */
  private fieldInfo(root: "action" | "item", fields: string[], scope: Scope, fieldStart: number, pathSpan: Span): Type {
    if (fields.length === 1 && fields[0] === "type") {
      this.recordField(pathSpan, root, fields, scope, null);
      return STR;
    }
    if (!this.schema || this.schema.types.size === 0) {
      this.recordField(pathSpan, root, fields, scope, null);
      return ANY;
    }
    let types: ActionTypeInfo[];
    if (scope.types) {
      types = [];
      for (const name of scope.types) {
        const t = this.schema.types.get(name);
        if (t !== undefined) types.push(t);
      }
    } else types = [...this.schema.types.values()];
    if (types.length === 0) {
      this.recordField(pathSpan, root, fields, scope, null);
      return ANY;
    }
    let type: Type = 0;
    let found: FieldInfo | null = null;
    let anyOpen = false;
    const candidates = new Set<string>();
    let depthReached = 0;
    /** The index of a field that is a list and is read through, in some action type. */
    let throughList: number | null = null;
    for (const t of types) {
      let map: ReadonlyMap<string, FieldInfo> | null = t.fields;
      let open = t.open;
      let info: FieldInfo | undefined;
      for (let i = 0; i < fields.length; i++) {
        info = map?.get(fields[i]!);
        if (!info) {
          if (map && i >= depthReached) {
            if (i > depthReached) candidates.clear();
            depthReached = i;
            for (const k of map.keys()) candidates.add(k);
          }
          if (open || map === null) anyOpen = true;
          break;
        }
        if (i < fields.length - 1) {
          if ((info.type & OBJ) === 0) {
            if ((info.type & LIST) !== 0) throughList ??= i;
            info = undefined;
            break;
          }
          open = info.open;
          map = info.fields;
          if (map === null) {
            anyOpen = true;
            info = undefined;
            type |= ANY;
            break;
          }
        }
      }
      if (info) {
        type |= info.type | NULL;
        found ??= info;
      }
    }
    this.recordField(pathSpan, root, fields, scope, found);
    if (type !== 0) return type;
    if (throughList !== null) {
      this.reportFieldOfList(fields, throughList, fieldStart, pathSpan);
      return ANY;
    }
    const missing = fields[depthReached] ?? fields[0]!;
    const suggestion = closest(missing, candidates);
    const where = scope.types ? `\`${[...scope.types].join("`, `")}\`` : "any action type";
    let offset = fieldStart;
    for (let i = 0; i < depthReached; i++) offset += (fields[i]?.length ?? 0) + 1;
    const at = span(offset, offset + missing.length);
    this.report(catalog.unknownField, at, `\`${missing}\` is not a field of ${where} in the schema`, {
      help: suggestion
        ? `did you mean \`${suggestion}\`?`
        : candidates.size > 0
          ? `the fields are ${[...candidates]
              .slice(0, 12)
              .map((c) => `\`${c}\``)
              .join(", ")}`
          : "add the field to the schema",
      severity: anyOpen ? "warning" : "error",
      ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, at, suggestion)], data: { suggestion } } : {}),
    });
    return ANY;
  }

  /**
   * `emails.to` where `emails` is a list (A321): a list has no fields, so the read is always
   * `null`. The help names `any(...)`; inside a comparison, a fix rewrites it into one.
   */
  private reportFieldOfList(fields: readonly string[], list: number, fieldStart: number, pathSpan: Span): void {
    let offset = fieldStart;
    for (let i = 0; i < list; i++) offset += fields[i]!.length + 1;
    const listName = fields[list]!;
    const next = fields[list + 1]!;
    const at = span(offset, offset + listName.length + 1 + next.length);
    const listText = this.source.text.slice(pathSpan.start, offset + listName.length);
    const local = /^[a-z]/i.test(listName) ? listName[0]!.toLowerCase() : "x";
    const element = `${local}.${fields.slice(list + 1).join(".")}`;
    if (this.redacting) {
      this.report(catalog.fieldOfList, at, `\`${listName}\` is a list, and a list has no field \`${next}\``, {
        help: `a redaction cannot reach into the elements of a list, so this one would change nothing; redact the whole list: \`redact ${listText}\``,
        fixes: [replacement(`redact \`${listText}\``, this.bag.file, pathSpan, listText)],
      });
      return;
    }
    const c = this.comparison;
    const side = c === null ? null : sameSpan(c.left.span, pathSpan) ? "left" : sameSpan(c.right.span, pathSpan) ? "right" : null;
    let example = `any(${local} in ${listText}: ${element} == ...)`;
    let fixes: DiagnosticFix[] = [];
    if (c !== null && side !== null) {
      const other = this.source.text.slice((side === "left" ? c.right : c.left).span.start, (side === "left" ? c.right : c.left).span.end);
      const test = side === "left" ? `${element} ${c.op} ${other}` : `${other} ${c.op} ${element}`;
      const rewritten = `any(${local} in ${listText}: ${test})`;
      example = rewritten;
      if (rewritten.length <= 200) fixes = [replacement(`test the elements: \`${rewritten}\``, this.bag.file, c.span, rewritten)];
    }
    this.report(catalog.fieldOfList, at, `\`${listName}\` is a list, and a list has no field \`${next}\``, {
      help: `reading a field of a list is always \`null\`; to test its elements, write \`${example}\` (or \`all(...)\` for every element)`,
      ...(fixes.length > 0 ? { fixes } : {}),
    });
  }

  private regex(r: A.RegexNode): number {
    const parsed = parseRegex(r.source, r.flags);
    if (!parsed.ok) {
      const at = Math.min(r.sourceStart + parsed.offset, r.span.end);
      this.report(catalog.invalidRegex, span(at, Math.min(at + 1, r.span.end)), parsed.message, parsed.help ? { help: parsed.help } : {});
    }
    return this.addRegex({
      source: r.source,
      flags: r.flags,
      span: r.span,
      program: parsed.ok ? parsed.program : null,
      literal: parsed.ok ? parsed.literal : null,
      detector: null,
      check: null,
      glob: null,
    });
  }

  /** The index of a pattern in `Policy.regexes`: equal patterns share one entry. */
  private addRegex(def: Omit<IR.RegexDef, "index">): number {
    const key = regexKey(def);
    const existing = this.regexKeys.get(key);
    if (existing !== undefined) {
      // the entry as this rule would add it: replayed after the one it shares has gone, it is added
      if (this.effects !== null) this.effects.push({ kind: "regex", key, def: { index: existing, ...def } });
      return existing;
    }
    const index = this.regexes.length;
    const entry: IR.RegexDef = { index, ...def };
    this.regexes.push(entry);
    this.regexKeys.set(key, index);
    this.effects?.push({ kind: "regex", key, def: entry });
    return index;
  }

  /** A regex literal, a detector (`std.NAME`) or a glob (`glob("...")`), as a regex entry. */
  private pattern(p: A.PatternNode): number {
    if (p.kind === "regex") return this.regex(p);
    if (p.kind === "detector") return this.detector(p);
    if (p.head !== "glob") {
      this.report(catalog.unknownFunction, span(p.span.start, p.span.start + p.head.length), `\`${p.head}(...)\` is not a pattern`, {
        help: 'the only pattern function is `glob("...")`; a regex is written `/.../`',
        ...(closest(p.head, ["glob"]) ? { fixes: [replacement("use `glob`", this.bag.file, span(p.span.start, p.span.start + p.head.length), "glob")], data: { suggestion: "glob" } } : {}),
      });
    }
    const glob = p.glob.value;
    const translated = globToRegex(glob);
    let parsed: ReturnType<typeof parseRegex> | null = null;
    if (translated.ok) {
      parsed = parseRegex(translated.regex, "");
      if (!parsed.ok) this.report(catalog.invalidGlob, p.glob.span, `this glob cannot be matched: ${parsed.message}`, { help: "check the class ranges (`[a-z]`, not `[z-a]`) and the glob's size" });
    } else {
      // a column inside the glob when the string has no escapes (then offsets are the same)
      const raw = this.source.text.slice(p.glob.span.start + 1, p.glob.span.end - 1);
      const at = raw === glob ? p.glob.span.start + 1 + translated.offset : p.glob.span.start;
      this.report(catalog.invalidGlob, span(at, raw === glob ? at + 1 : p.glob.span.end), translated.message, { help: translated.help });
    }
    return this.addRegex({
      source: translated.ok ? translated.regex : glob,
      flags: "",
      span: p.span,
      program: parsed?.ok ? parsed.program : null,
      literal: null,
      detector: null,
      check: null,
      glob,
    });
  }

  private detector(p: A.DetectorNode): number {
    const def = p.head === "std" ? detectorDef(p.name) : undefined;
    if (def === undefined) {
      const names = facts.detectors.map((d) => d.name);
      // `lib.iban`: the name is a detector, the prefix is wrong
      const suggestion = p.head === "std" ? closest(p.name, names) : detectorDef(p.name) ? p.name : null;
      const at = p.head === "std" ? p.nameSpan : p.span;
      this.report(catalog.unknownDetector, at, p.head === "std" ? `\`std.${p.name}\` is not a detector` : `\`${p.head}.${p.name}\` is not a pattern`, {
        help: suggestion ? `did you mean \`std.${suggestion}\`?` : `the detectors are ${listed(names.map((n) => `\`std.${n}\``))}`,
        ...(suggestion ? { fixes: [replacement(`use \`std.${suggestion}\``, this.bag.file, at, p.head === "std" ? suggestion : `std.${suggestion}`)], data: { suggestion } } : {}),
      });
      return this.addRegex({ source: "", flags: "", span: p.span, program: null, literal: null, detector: `${p.head}.${p.name}`, check: null, glob: null });
    }
    const parsed = parseRegex(def.pattern, def.flags);
    if (!parsed.ok) throw new Error(`detector std.${def.name}: ${parsed.message}`);
    return this.addRegex({ source: def.pattern, flags: def.flags, span: p.span, program: parsed.program, literal: null, detector: def.name, check: def.check, glob: null });
  }

  /** The replacement text of a redaction: `with "TEXT"`, `with LET` (a string let), or the default. */
  /**
   * The group of `require approval from ...`: a string, or a `param` or let holding one (also
   * `NS.LET` of an import), read at compile time: the group is part of what the policy says,
   * recorded and shown to approvers, so it never depends on the action.
   */
  private approvalGroup(e: { readonly from: A.StringNode | null; readonly fromName: A.PathExpr | null }): string | null {
    if (e.from !== null) return e.from.value;
    const name = e.fromName;
    if (name === null || name.segments.length === 0) return null;
    const text = name.segments.map((s) => s.name).join(".");
    const head = name.segments[0]!;
    const constant = (name.segments.length === 1 && this.lets.has(head.name)) || (name.segments.length === 2 && this.imported.has(head.name) && !this.lets.has(head.name));
    if (!constant) {
      const strings = [...this.lets.values()].filter((l) => l.decl.name !== null && (l.value === undefined || typeof l.value === "string")).map((l) => l.name);
      const suggestion = name.segments.length === 1 ? closest(head.name, strings) : null;
      this.report(catalog.approvalGroup, name.span, `\`${text}\` is not a \`param\` or let: the approver group must be known at compile time`, {
        help: suggestion
          ? `did you mean \`${suggestion}\`?`
          : 'write the group as a string (`from "finance"`) or name a `param` or let that holds one (`param approvers: string = "finance"`); it cannot read the action, the user or the context',
        ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, name.span, suggestion)], data: { suggestion } } : {}),
      });
      return null;
    }
    const lowered = this.path(name, { history: false, types: null }, true);
    if (lowered.expr.kind !== "literal" || lowered.type === ANY) return null; // already reported
    const value = lowered.expr.value;
    if (typeof value !== "string") {
      this.report(catalog.approvalGroup, name.span, `\`from\` needs a string, but \`${text}\` is ${typeName(lowered.type)}`, {
        help: 'give it a string value, the name of the approvers\' group (`param approvers: string = "finance"`)',
      });
      return null;
    }
    return value;
  }

  private redactText(t: A.RedactText | null): string {
    if (t === null) return REDACTED;
    if (t.kind === "string") return t.value;
    const let_ = this.lets.get(t.name);
    if (!let_) {
      const suggestion = closest(t.name, this.lets.keys());
      this.report(catalog.unknownName, t.span, `\`${t.name}\` is not a let`, {
        help: suggestion ? `did you mean \`${suggestion}\`?` : 'the text after `with` is a string, or a let that holds one: `with "[card]"`',
        ...(suggestion ? { fixes: [replacement(`use \`${suggestion}\``, this.bag.file, t.span, suggestion)], data: { suggestion } } : {}),
      });
      return REDACTED;
    }
    this.referenceLet(let_, t.span);
    if (typeof let_.value !== "string") {
      this.report(catalog.invalidRedactText, t.span, `\`with\` needs a string, but \`${t.name}\` is ${typeName(let_.type)}`, { help: 'give the let a string value, e.g. `let CARD_TEXT = "[card]"`' });
      return REDACTED;
    }
    return let_.value;
  }

  /** Folds an operator whose operands are all literals, using the language's own semantics. */
  /**
   * The help of an ordering comparison between a number and something else, naming the operand
   * that is a number: `time.hour < "9"` gets `time.hour < 9`.
   */
  private orderingHelp(e: A.CompareExpr, left: Lowered, right: Lowered): string {
    const numberOnLeft = (orderable(left.type) & NUM) !== 0;
    if (!numberOnLeft && (orderable(right.type) & NUM) === 0) return "compare numbers with numbers and strings with strings";
    const [num, other] = numberOnLeft ? [e.left, right] : [e.right, left];
    const numText = sourceText(this.source, num.span);
    const text = other.expr.kind === "literal" && typeof other.expr.value === "string" ? other.expr.value.trim() : "";
    const written = text === "" ? Number.NaN : Number(text);
    if (Number.isFinite(written)) {
      return `compare with a number: \`${numberOnLeft ? `${numText} ${e.op} ${written}` : `${written} ${e.op} ${numText}`}\``;
    }
    return `compare \`${numText}\` with a number, or with a field or let that holds one`;
  }

  private fold(expr: IR.Expr, type: Type): Lowered {
    const operands: IR.Expr[] =
      expr.kind === "compare" || expr.kind === "stringOp" ? [expr.left, expr.right] : expr.kind === "in" ? [expr.left, expr.list] : expr.kind === "between" ? [expr.value, expr.low, expr.high] : [];
    if (operands.length === 0 || !operands.every((o) => o.kind === "literal")) return { expr, type };
    const v = operands.map((o) => (o as IR.LiteralExpr).value);
    try {
      let value: boolean;
      if (expr.kind === "compare") value = expr.op === "==" ? sem.equals(v[0], v[1]) : expr.op === "!=" ? !sem.equals(v[0], v[1]) : sem.order(expr.op, v[0], v[1]);
      else if (expr.kind === "stringOp") value = sem.stringOp(expr.op, v[0], v[1]);
      else if (expr.kind === "in") value = sem.inList(v[0], v[1]);
      else value = sem.between(v[0], v[1], v[2]);
      return { expr: { kind: "literal", value, span: expr.span }, type: BOOL };
    } catch {
      // a type error between constants is already reported; keep the node so it fails at run time too
      return { expr, type };
    }
  }

  // ---- tests -----------------------------------------------------------------------------

  private checkTests(): TestCase[] {
    const tests = this.ast.items.filter((i): i is A.TestDecl => i.kind === "test");
    return buildTestCases(tests, this.bag.file, {
      bag: this.bag,
      rules: new Set([...this.rules.keys(), ...this.importedRules]),
      lineIds: lineIds(baseName(this.bag.file), this.rules.values(), (offset) => this.source.positionAt(offset).line + 1),
      schema: this.schema,
      lineOf: (offset) => this.source.positionAt(offset).line + 1,
      onRuleReference: (rule, at) => this.rules.get(rule)?.references.push(at),
    });
  }
}

// ---- helpers -----------------------------------------------------------------------------

/** The checker types of a value function's argument kinds and results (language/facts.ts). */
const VALUE_FUNCTION_ARGUMENTS: Record<string, Type> = { string: STR | NULL, stringOrList: STR | LIST | NULL, value: ANY };
const VALUE_FUNCTION_ARGUMENT_NAMES: Record<string, string> = { string: "a string", stringOrList: "a string or a list", value: "a value" };
const VALUE_FUNCTION_RESULTS: Record<IR.FnExpr["name"], Type> = { host: STR | NULL, lower: STR | NULL, upper: STR | NULL, length: NUM | NULL, strings: LIST };

/** What makes two patterns the same entry of `Policy.regexes`. */
function regexKey(def: Omit<IR.RegexDef, "index">): string {
  return `${def.source}\u0000${def.flags}\u0000${def.detector ?? ""}\u0001${def.glob ?? ""}\u0001${def.detector === null ? 0 : 1}${def.glob === null ? 0 : 1}`;
}

function isValueFunction(fact: facts.FunctionFact): fact is facts.FunctionFact & { name: IR.FnExpr["name"] } {
  return Object.hasOwn(VALUE_FUNCTION_RESULTS, fact.name);
}

function sameSpan(a: Span, b: Span): boolean {
  return a.start === b.start && a.end === b.end;
}

function isTypePath(e: IR.Expr): boolean {
  return e.kind === "path" && (e.root === "action" || e.root === "item") && e.fields.length === 1 && e.fields[0] === "type";
}

function orderable(t: Type): Type {
  return t === ANY ? NUM | STR : t & (NUM | STR);
}

function isBoolOrNull(v: IR.Value): v is boolean | null {
  return v === true || v === false || v === null;
}

/** The types in both; the sets are never changed once made, so an operand that is already the answer is returned as it is. */
function intersect(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): ReadonlySet<string> {
  if (a === undefined || a === b) return b;
  let all = true;
  for (const x of a) {
    if (!b.has(x)) {
      all = false;
      break;
    }
  }
  if (all) return a;
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}

function sourceText(source: SourceFile, s: Span): string {
  const t = source.text.slice(s.start, s.end);
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}

/**
 * A404's fixes: `default deny` (preferred) or `default allow`, on a line of its own after the
 * headers at the top of the file (policy, schema, timezone), or at its start.
 */
function defaultFixes(ast: A.FileNode, source: SourceFile, file: string): DiagnosticFix[] {
  let at = 0;
  for (const item of ast.items) {
    if (item.kind !== "policy" && item.kind !== "schema" && item.kind !== "timezone") break;
    const lineEnd = source.text.indexOf("\n", item.span.end);
    at = lineEnd === -1 ? source.text.length : lineEnd + 1;
  }
  const newline = at === source.text.length && at > 0 && !source.text.endsWith("\n") ? "\n" : "";
  return (["deny", "allow"] as const).map((effect) => replacement(`add \`default ${effect}\``, file, span(at, at), `${newline}default ${effect}\n`));
}

function lineSpan(source: SourceFile, s: Span): Span {
  const startLine = source.positionAt(s.start).line;
  const endLine = source.positionAt(s.end).line;
  return span(source.offsetAt({ line: startLine, column: 0 }), source.offsetAt({ line: endLine + 1, column: 0 }));
}

export function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] ?? file;
}

let zones: string[] | undefined;
function supportedZones(): string[] {
  zones ??= typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones;
}

/** Zones already tried: building a formatter costs about a millisecond, and an editor re-checks on every keystroke. */
const knownZones = new Map<string, boolean>();

function isTimeZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    // bounded: a user typing zone names one letter at a time must not grow it without end
    if (knownZones.size >= 1024) knownZones.clear();
    knownZones.set(zone, known);
  }
  return known;
}

/** Whether an IR expression reads the current action. */
function readsCurrent(e: IR.Expr): boolean {
  return e.kind === "path" && e.root === "current";
}

/**
 * A history condition split into its keys (the top-level `ENTRY == current.F` conjuncts, in
 * order) and the rest, which a runtime tests on an entry without the current action.
 */
function correlationKeys(condition: IR.Expr): Pick<IR.Tracker, "keys" | "rest" | "condition"> {
  const conjuncts: IR.Expr[] = [];
  const flatten = (x: IR.Expr): void => {
    if (x.kind === "and") x.args.forEach(flatten);
    else conjuncts.push(x);
  };
  flatten(condition);
  const keys: IR.TrackerKey[] = [];
  const rest: IR.Expr[] = [];
  const keyConjuncts: IR.Expr[] = [];
  for (const c of conjuncts) {
    if (c.kind === "compare" && c.op === "==" && readsCurrent(c.left) !== readsCurrent(c.right)) {
      const [current, entry] = readsCurrent(c.left) ? [c.left, c.right] : [c.right, c.left];
      keys.push({ entry, current: current as IR.PathExpr });
      keyConjuncts.push(c);
    } else if (c.kind === "quantifier" && c.quantifier === "any" && c.condition.kind === "compare" && c.condition.op === "==" && readsCurrent(c.condition.left) !== readsCurrent(c.condition.right)) {
      // `any(x in LIST: x.G == current.F)`: currentSides allowed `current` only with the element on the other side
      const { left, right } = c.condition;
      const [current, entry] = readsCurrent(left) ? [left, right] : [right, left];
      keys.push({ entry, current: current as IR.PathExpr, list: { expr: c.list, variable: c.variable } });
      keyConjuncts.push(c);
    } else rest.push(c);
  }
  if (keys.length === 0) return { keys, rest: condition, condition };
  const restExpr: IR.Expr = rest.length === 0 ? { kind: "literal", value: true, span: condition.span } : rest.length === 1 ? rest[0]! : { kind: "and", args: rest, span: condition.span };
  // the scan tests the rest first, then the keys, as a runtime does (docs/language.md §7)
  return { keys, rest: restExpr, condition: { kind: "and", args: [...rest, ...keyConjuncts], span: condition.span } };
}
