// (w) The work budget (docs/language.md §6.7): what one budget of 10,000,000 steps costs in time,
// for each kind of step. For each kind, a rule whose quantifier spends the whole budget (one step
// short of it) on that kind is decided by the compiled module, and the time per step is reported,
// with its ratio to the cheapest kind (a character of `lower`), timed in the same run. The weights
// of semantics.ts (STEPS_PER_ELEMENT, STEPS_PER_FIELD, STEPS_PER_VALUE) are right when the ratios
// stay small; the detector row shows what the docs say a step does not bound.
//   node --expose-gc bench/work-budget.mjs [--iters 5]
import { compileSource, emit, loadModule } from "@agent-armor/compiler";
import { emitResult, median, parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const ITERS = Number(args.iters ?? 5);
const BUDGET = 10_000_000;
const gc = globalThis.gc ?? (() => {});
const fields = (n, last) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i === n - 1 ? last : i]));

// [kind, condition over `l`, the other fields, the steps one element costs]
const KINDS = [
  ["character: lower (floor)", 'any(x in l: lower(s) == "q")', { s: "a".repeat(10_000) }, 10_000],
  ["character: contains", "any(x in l: s contains t)", { s: "a".repeat(9_998), t: "ab" }, 10_000],
  ["character: == on strings", "any(x in l: s == t)", { s: `${"a".repeat(9_999)}b`, t: "a".repeat(10_000) }, 10_000],
  ["character: matches a pattern", "any(x in l: s matches /(foo|bar|baz)[0-9]+x/)", { s: "fo1".repeat(3_333) }, 9_999],
  ["character: matches std.card_number", "any(x in l: s matches std.card_number)", { s: "4111 ".repeat(2_000) }, 10_000],
  ["list element: in", "any(x in l: x in m)", { m: Array(5_000).fill(1) }, 10_000],
  ["list element: == on lists", "any(x in l: a == b)", { a: [...Array(4_999).fill(0), 1], b: Array(5_000).fill(0) }, 10_000],
  ["object field: == on objects", "any(x in l: a == b)", { a: fields(300, -1), b: fields(300, -2) }, 9_600],
  ["visited value: strings", 'any(x in l: "q" in strings(v))', { v: Array(2_499).fill(1) }, 10_000],
];

async function load(condition) {
  const c = compileSource("budget.armor", `policy bench\ndefault allow\nrule r when ${condition} deny\n`);
  if (!c.ok) throw new Error(c.diagnostics.map((d) => d.message).join("; "));
  return loadModule(emit(c).js);
}

const rows = [];
for (const [kind, condition, data, steps] of KINDS) {
  const m = await load(condition);
  const n = Math.floor(BUDGET / steps);
  const input = JSON.parse(JSON.stringify({ action: { type: "t", l: Array(n).fill(0), ...data } }));
  const first = m.decide(input);
  if (first.errors.length > 0) throw new Error(`${kind}: ${first.errors[0].message}`);
  const times = [];
  for (let i = 0; i < ITERS; i++) {
    gc();
    const t = process.hrtime.bigint();
    m.decide(input);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  rows.push({ kind, steps: n * steps, ms: median(times) });
}
const floor = rows[0].ms / rows[0].steps;
const results = rows.map((r) => ({ ...r, nsPerStep: (r.ms * 1e6) / r.steps, ratio: r.ms / r.steps / floor }));
for (const r of results) console.log(`${r.kind.padEnd(36)} ${r.ms.toFixed(1).padStart(8)} ms  ${r.nsPerStep.toFixed(2).padStart(7)} ns/step  ${r.ratio.toFixed(1).padStart(6)}x`);
emitResult({ bench: "work-budget", budget: BUDGET, iters: ITERS, results });
