// A hunt for unsound proofs of `armorc diff`: random pairs of small policies over a richer
// vocabulary than test/diff.test.ts (nested fields, `==` between two fields, lists, `length`,
// `lower`/`upper`/`host` on ASCII and other text and on malformed URLs, history predicates whose
// conditions can fail, `time`, long strings), each decided on random
// inputs by the reference interpreter (with random tracker values, poisoned ones included). A pair
// is a finding when sampling shows a kind of change that the diff reports as proved impossible;
// an example the solver gives that does not reproduce is counted too (the diff then falls back to
// its search and says so: a limit of the encoding, not an unsound proof). Runs until the time is up.
//   node bench/diff-soundness.mjs [--seconds 120] [--seed N] [--timeout 5000]
// Exit code 1 when an unsound proof was found, with the pair and the input printed.
import { diffPolicies } from "@agent-armor/analysis";
import { compileSource, evaluatePolicy } from "@agent-armor/compiler";
import fc from "fast-check";
import { parseArgs } from "./lib/util.js";

const args = parseArgs(process.argv.slice(2));
const SECONDS = Number(args.seconds ?? 120);
const SEED = Number(args.seed ?? Date.now() % 2 ** 31);
const TIMEOUT_MS = Number(args.timeout ?? 5000);
const noFiles = { readFile: () => undefined };

const FIELDS = ["amount", "a.x", "a.y", "b.x", "tags", "user.role", "context.env", "s"];
const NUMS = ["0", "5", "100", "-1", "2.5"];
const STRS = ['"a"', '"admin"', '"x@evil.com"', '""'];
const atomArb = fc.oneof(
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("==", "!=", "<", ">="), fc.constantFrom(...NUMS, ...STRS)).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("==", "!="), fc.constantFrom(...FIELDS)).map(([f, op, g]) => `${f} ${op} ${g}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("contains", "starts_with"), fc.constantFrom(...STRS)).map(([f, op, v]) => `${f} ${op} ${v}`),
  fc.tuple(fc.constantFrom(...STRS), fc.constantFrom(...FIELDS)).map(([v, f]) => `${v} in ${f}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("/^a/", "/^a+$/", "/[0-9]/")).map(([f, r]) => `${f} matches ${r}`),
  fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom("<", ">"), fc.constantFrom("0", "2", "4096")).map(([f, op, n]) => `length(${f}) ${op} ${n}`),
  fc.tuple(fc.constantFrom('type == "x"', "amount > 5", '"p" in tags', "amount == 1"), fc.constantFrom("", " within 1h")).map(([c, w]) => `count(${c}${w}) > 1`),
  fc.tuple(fc.constantFrom('type == "x"', "amount > 5"), fc.constantFrom("", " within 1h")).map(([c, w]) => `seen(${c}${w})`),
  fc.constantFrom("time.hour < 6", 'time.weekday == "sat"', "exists(a.x)", 'action.type == "wire"'),
  // the string functions the encoding maps exactly on part of the strings and leaves free elsewhere
  fc
    .tuple(fc.constantFrom("lower", "upper"), fc.constantFrom(...FIELDS), fc.constantFrom("==", "starts_with", "contains"), fc.constantFrom('"admin"', '"ADMIN"', '"k"', '""'))
    .map(([fn, f, op, v]) => `${fn}(${f}) ${op} ${v}`),
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.constantFrom("==", "ends_with", "!="), fc.constantFrom('"evil.com"', '"a.evil.com"', "null"))
    .filter(([, op, v]) => op !== "ends_with" || v !== "null")
    .map(([f, op, v]) => `host(${f}) ${op} ${v}`),
);
const condArb = fc.oneof(
  { weight: 3, arbitrary: atomArb },
  { weight: 2, arbitrary: fc.tuple(atomArb, fc.constantFrom("and", "or"), atomArb).map(([a, op, b]) => `(${a} ${op} ${b})`) },
  { weight: 1, arbitrary: atomArb.map((a) => `not (${a})`) },
);
const effectArb = fc.constantFrom("deny", "allow", 'require approval from "ops"', "redact s");
const policyArb = fc
  .tuple(fc.constantFrom("allow", "deny"), fc.array(fc.tuple(condArb, effectArb), { minLength: 1, maxLength: 3 }))
  .map(([d, rules]) => `default ${d}\n${rules.map(([c, e], i) => `rule r${i} when ${c} ${e}\n`).join("")}`);

const leafArb = fc.oneof(
  fc.constantFrom(0, 5, 100, -1, 2.5, 6, 4097),
  fc.constantFrom("a", "admin", "x@evil.com", "", "aaa", "p", "x"),
  // case mappings and URLs, ASCII and not, well-formed and not
  fc.constantFrom("ADMIN", "Admin", "\u212A", "K", "stra\u00DFe", "http://evil.com/x", "HTTP://EVIL.COM", "http://a.evil.com:80", "http://evil.com\\@b.org", "http://0x7f.1", "evil.com"),
  fc.constant(null),
  fc.boolean(),
);
const valueArb = fc.oneof(
  { weight: 4, arbitrary: leafArb },
  { weight: 1, arbitrary: fc.array(leafArb, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.record({ x: leafArb, y: leafArb }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ x: fc.record({ y: leafArb }) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.constantFrom("a".repeat(4097), "a".repeat(5000)) },
);
const entryArb = fc.record({ type: fc.constantFrom("x", "y"), amount: valueArb, tags: valueArb });
const inputArb = fc.record({
  action: fc.record({ type: fc.constantFrom("wire", "other"), amount: valueArb, a: valueArb, b: valueArb, tags: valueArb, s: valueArb }, { requiredKeys: ["type"] }),
  user: fc.record({ role: valueArb }, { requiredKeys: [] }),
  context: fc.record({ env: valueArb }, { requiredKeys: [] }),
  time: fc.constantFrom("2026-03-02T03:00:00Z", "2026-03-07T12:00:00Z", "not a time", undefined),
  history: fc.oneof(fc.array(fc.record({ action: entryArb, time: fc.constantFrom("2026-03-02T02:30:00Z", "2026-03-01T00:00:00Z") }), { maxLength: 3 }), fc.constant("broken")),
});

function compile(name, text) {
  const c = compileSource(name, text, noFiles);
  return c.ok ? c : null;
}

function outcome(c, input) {
  const d = evaluatePolicy(c.policy, JSON.parse(JSON.stringify(input)), { now: () => Date.parse("2026-03-02T03:00:00Z") }).result;
  return { decision: d.decision, redacted: d.rules.some((r) => r.effect === "redact") };
}

function kindOf(x, y) {
  if (x.decision !== y.decision) return `${x.decision}->${y.decision}`;
  if (x.redacted !== y.redacted) return y.redacted ? "redaction-added" : "redaction-removed";
  return null;
}

const deadline = Date.now() + SECONDS * 1000;
/** Pairs with their inputs, drawn a few at a time (each carries 200 inputs, some with long strings). */
function* cases() {
  for (let chunk = 0; ; chunk++) yield* fc.sample(fc.tuple(policyArb, policyArb, fc.array(inputArb, { minLength: 200, maxLength: 200 })), { seed: SEED + chunk, numRuns: 5 });
}
let pairs = 0;
let unsound = 0;
let unreproduced = 0;
let unknown = 0;
for (const [a, b, inputs] of cases()) {
  if (Date.now() > deadline) break;
  const oldC = compile("old.armor", a);
  const newC = compile("new.armor", b);
  if (!oldC || !newC) continue;
  pairs++;
  const r = await diffPolicies(oldC, newC, { timeoutMs: TIMEOUT_MS, searchSamples: 200 });
  const missed = r.findings.find((f) => (f.note ?? "").includes("does not reproduce"));
  if (missed) {
    unreproduced++;
    if (unreproduced <= 3) console.log(`not reproduced (${missed.kind.id}): ${missed.note}\n--- old\n${a}--- new\n${b}`);
  }
  if (r.status === "unknown") unknown++;
  if (pairs % 5 === 0) console.log(`progress: ${pairs} pairs, ${unsound} unsound proofs, ${unreproduced} examples not reproduced, ${unknown} unknown`);
  const proved = new Set(r.findings.filter((f) => f.status === "unchanged").map((f) => f.kind.id));
  for (const input of inputs) {
    const kind = kindOf(outcome(oldC, input), outcome(newC, input));
    if (kind !== null && proved.has(kind)) {
      unsound++;
      console.log(`UNSOUND: ${kind} proved impossible\n--- old\n${a}--- new\n${b}--- input\n${JSON.stringify(input)}\n`);
      break;
    }
  }
}
console.log(
  JSON.stringify({
    seed: SEED,
    seconds: SECONDS,
    pairs,
    unsoundProofs: unsound,
    examplesNotReproduced: unreproduced,
    unknownResults: unknown,
    loadavg: (await import("node:os")).loadavg().map((x) => x.toFixed(2)),
  }),
);
process.exitCode = unsound > 0 ? 1 : 0;
