/**
 * The bounded random search the diff falls back on where the solver cannot answer: assignments of
 * the vocabulary's variables drawn from the policies' own literals (and their neighbours), so that
 * thresholds, list members and equalities are hit often. Seeded, so a run is repeatable.
 */
import type { IR } from "@agent-armor/compiler";
import type { Assignment } from "./model.js";
import { MAX_STRING, Tag, type Vocabulary, WEEKDAYS } from "./vocabulary.js";

/** Calls `visit` with every literal value under `x` (an IR node or list; a literal list's elements one by one), spans and action schemas left out. */
export function forEachLiteral(x: unknown, visit: (v: IR.Value) => void): void {
  if (x === null || typeof x !== "object") return;
  if (Array.isArray(x)) {
    for (const y of x) forEachLiteral(y, visit);
    return;
  }
  const o = x as Record<string, unknown>;
  if (o.kind === "literal") {
    const v = o.value as IR.Value;
    if (Array.isArray(v)) for (const e of v) visit(e);
    else visit(v);
    return;
  }
  for (const [k, v] of Object.entries(o)) if (k !== "span" && k !== "actionSchema") forEachLiteral(v, visit);
}

/** Every literal in the policies' rules and history predicates (the elements of literal lists too). */
export function literalsOf(policies: readonly IR.Policy[]): IR.Value[] {
  const out: IR.Value[] = [];
  const walk = (x: unknown): void => forEachLiteral(x, (v) => out.push(v));
  for (const p of policies) {
    walk(p.rules);
    walk(p.trackers);
    // the words of regexes, so that patterns the solver does not encode are still hit
    for (const r of p.regexes) {
      if (r.check !== null) continue;
      for (const word of r.source.replace(/\\./g, " ").match(/[A-Za-z0-9_@./-]+/g) ?? []) out.push(word);
    }
  }
  return out;
}

/** mulberry32: a small, well-distributed seeded generator. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `samples` random assignments of `vocab`'s variables, for actions of type `type`. */
export function* randomAssignments(vocab: Vocabulary, samples: number, literals: readonly IR.Value[], type: string, seed = 1): Generator<Assignment> {
  const random = generator(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const numbers = [0, 1, -1, ...literals.filter((v): v is number => typeof v === "number").flatMap((n) => [n, n - 1, n + 1, n + 0.5, n - 0.5])];
  // with arithmetic, numbers where doubles and reals part: past 2^53, near the largest, tiny, inexact
  if (vocab.exactFlag !== null) numbers.push(2 ** 53, 1e16, -1e16, 1e308, -1e308, 0.1, 5e-324);
  const strings = ["", "x", " ", ...literals.filter((v): v is string => typeof v === "string" && v.length <= MAX_STRING)];
  const string = (): string => {
    const r = random();
    if (r < 0.6) return pick(strings);
    if (r < 0.7) return `${pick(strings)}${pick(strings)}`;
    if (r < 0.8) return `${pick(strings)} ${pick(strings)}`;
    return pick(strings).slice(0, Math.floor(random() * 4));
  };
  for (let i = 0; i < samples; i++) {
    const values = new Map<string, boolean | number | string>();
    for (const p of vocab.paths) {
      const r = random();
      // mostly the types a policy compares against; sometimes null or another type (errors)
      const tag = r < 0.15 ? Tag.null : r < 0.25 ? pick([Tag.bool, Tag.list, Tag.object]) : r < 0.6 ? Tag.string : r < 0.9 ? Tag.number : pick([Tag.list, Tag.object]);
      const isType = p.root === "action" && p.fields.length === 1 && p.fields[0] === "type";
      values.set(p.tag, isType ? Tag.string : tag);
      values.set(p.b, random() < 0.5);
      values.set(p.n, pick(numbers));
      values.set(p.s, isType ? type : string());
      values.set(p.h, random() < 0.8 ? 0 : 1);
      for (const m of p.members.values()) values.set(m.name, random() < 0.4);
    }
    for (const [field, name] of vocab.time) {
      if (field === "hour") values.set(name, Math.floor(random() * 24));
      else if (field === "minute") values.set(name, Math.floor(random() * 60));
      else if (field === "weekday") values.set(name, pick(WEEKDAYS));
      else values.set(name, `2026-${String(1 + Math.floor(random() * 12)).padStart(2, "0")}-${String(1 + Math.floor(random() * 28)).padStart(2, "0")}`);
    }
    for (const t of vocab.trackers) {
      if (t.kind === "seen") values.set(t.value, random() < 0.5);
      else if (t.kind === "count") values.set(t.value, random() < 0.5 ? Math.floor(random() * 4) : Math.max(0, Math.round(pick(numbers))));
      else values.set(t.value, pick(numbers));
      values.set(t.none, random() < 0.2);
      values.set(t.poison, random() < 0.05);
    }
    // now and then a malformed history or time, which make the rules that read them fail
    if (vocab.historyBad !== null) values.set(vocab.historyBad, random() < 0.03);
    if (vocab.timeBad !== null) values.set(vocab.timeBad, random() < 0.03);
    yield (name) => values.get(name);
  }
}
