/**
 * What checking one rule did, kept so that the next check of the same file (an editor re-checking
 * after a keystroke) can take it over instead of checking the rule again.
 *
 * A rule is taken over only when nothing it was checked with can have changed: its AST is the very
 * same object (the parser hands back an item unchanged only when the item's text is the same at
 * the same offset), the file's lets and params are word for word the same, the schema is the same
 * object (schemas are loaded through a cache keyed by their text), no imports are involved, and
 * the regexes and history trackers it adds get the same numbers as before. Taking a rule over
 * replays its effects in order: its diagnostics, the let references, field reads, narrowings and
 * locals it recorded for the semantic model, and its new regexes and trackers.
 */
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type * as IR from "../ir.js";
import type * as A from "../syntax/ast.js";
import type { Span } from "../syntax/source.js";
import type { ActionSchema, FieldInfo } from "./schema.js";

/** The checked rule: what `lowerRule` returns. */
export interface LoweredRule {
  readonly item: A.RuleDecl;
  readonly stage: IR.Stage;
  readonly condition: IR.Expr;
  readonly effect: IR.Effect | null;
}

/** One effect of checking a rule on the checker's shared state, in the order it happened. */
export type RuleEffect =
  | { readonly kind: "diagnostic"; readonly diagnostic: Diagnostic }
  | { readonly kind: "let"; readonly name: string; readonly at: Span }
  | { readonly kind: "field"; readonly ref: unknown }
  | { readonly kind: "narrowing"; readonly at: Span; readonly types: ReadonlySet<string> }
  | { readonly kind: "local"; readonly symbol: unknown }
  | { readonly kind: "localInfo"; readonly at: Span; readonly info: FieldInfo | null }
  | { readonly kind: "regex"; readonly key: string; readonly def: IR.RegexDef }
  | { readonly kind: "tracker"; readonly key: string; readonly tracker: IR.Tracker };

export interface RuleRecord {
  readonly lowered: LoweredRule;
  readonly effects: readonly RuleEffect[];
}

/** The records of one check, and what they were checked with. */
export interface RuleCache {
  readonly file: string;
  /** The text of every `let` and `param` item, in order. */
  readonly lets: string;
  readonly schema: ActionSchema | null;
  readonly rules: ReadonlyMap<A.RuleDecl, RuleRecord>;
}

/** The text of the file's `let` and `param` items, which every rule may read (values, names for suggestions). */
export function letsFingerprint(ast: A.FileNode, text: string): string {
  const parts: string[] = [];
  for (const item of ast.items) if (item.kind === "let" || item.kind === "param") parts.push(text.slice(item.span.start, item.span.end));
  return parts.join("\u0000");
}

/**
 * Whether the regexes and trackers a record added would get the same numbers now: each new one
 * must still be new (numbered from the current count on), each shared one must still be shared
 * with the same entry.
 */
export function sameNumbers(
  effects: readonly RuleEffect[],
  regexes: { readonly count: number; index(key: string): number | undefined },
  trackers: { readonly count: number; index(key: string): number | undefined },
): boolean {
  let nextRegex = regexes.count;
  let nextTracker = trackers.count;
  let added: Map<string, number> | null = null;
  for (const e of effects) {
    if (e.kind !== "regex" && e.kind !== "tracker") continue;
    const table = e.kind === "regex" ? regexes : trackers;
    const key = `${e.kind}:${e.key}`;
    let expected = table.index(e.key) ?? added?.get(key);
    if (expected === undefined) {
      expected = e.kind === "regex" ? nextRegex++ : nextTracker++;
      added ??= new Map();
      added.set(key, expected);
    }
    if (expected !== (e.kind === "regex" ? e.def.index : e.tracker.index)) return false;
  }
  return true;
}

/**
 * A record moved with its rule: the same text further on or back in the file (an edit before it
 * changed the length of the text), so every offset it holds moves by `delta` and nothing else
 * changes. Schema facts, narrowing sets and compiled regex programs are shared, not copied.
 */
export function movedRecord(record: RuleRecord, item: A.RuleDecl, delta: number): RuleRecord {
  const { lowered } = record;
  return {
    lowered: { item, stage: lowered.stage, condition: shifted(lowered.condition, delta), effect: shifted(lowered.effect, delta) },
    effects: record.effects.map((e) => movedEffect(e, delta)),
  };
}

function movedEffect(e: RuleEffect, delta: number): RuleEffect {
  switch (e.kind) {
    case "diagnostic":
      return { kind: "diagnostic", diagnostic: shifted(e.diagnostic, delta) };
    case "let":
      return { kind: "let", name: e.name, at: movedSpan(e.at, delta) };
    case "field": {
      const ref = e.ref as { readonly span: Span };
      return { kind: "field", ref: { ...ref, span: movedSpan(ref.span, delta) } };
    }
    case "narrowing":
      return { kind: "narrowing", at: movedSpan(e.at, delta), types: e.types };
    case "local": {
      const s = e.symbol as { readonly span: Span; readonly scope: Span; readonly within: Span; readonly references: readonly Span[] };
      const symbol = { ...s, span: movedSpan(s.span, delta), scope: movedSpan(s.scope, delta), within: movedSpan(s.within, delta), references: s.references.map((r) => movedSpan(r, delta)) };
      return { kind: "local", symbol };
    }
    case "localInfo":
      return { kind: "localInfo", at: movedSpan(e.at, delta), info: e.info };
    case "regex":
      return { kind: "regex", key: e.key, def: { ...e.def, span: movedSpan(e.def.span, delta) } };
    case "tracker":
      return { kind: "tracker", key: e.key, tracker: shifted(e.tracker, delta) };
  }
}

function movedSpan(s: Span, delta: number): Span {
  return { start: s.start + delta, end: s.end + delta };
}

/**
 * A copy of IR or a diagnostic with every `span` (and `...Span`) moved. A literal's value is data
 * and is shared, as are sets, maps and functions.
 */
function shifted<T>(node: T, delta: number): T {
  if (node === null || typeof node !== "object" || node instanceof Set || node instanceof Map) return node;
  if (Array.isArray(node)) {
    const copy: unknown[] = new Array(node.length);
    for (let i = 0; i < node.length; i++) copy[i] = shifted(node[i] as unknown, delta);
    return copy as T;
  }
  const source = node as Record<string, unknown>;
  const literal = source.kind === "literal";
  const out: Record<string, unknown> = {};
  for (const k in source) {
    const v = source[k];
    if (k === "span" || k.endsWith("Span")) out[k] = movedSpan(v as Span, delta);
    else if (literal && k === "value") out[k] = v;
    else out[k] = typeof v === "object" && v !== null ? shifted(v, delta) : v;
  }
  return out as T;
}
