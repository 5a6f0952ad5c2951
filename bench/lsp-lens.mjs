// Deciding in the editor on a 5,000-line policy: the decision lenses, the inlay hints of a screen
// and one test's explanation, as the language server answers them.
//
//   npm run build -w @agent-armor/compiler && npm run build -w @agent-armor/lsp
//   node bench/lsp-lens.mjs [--lines 5000] [--edits 20]
//
// The policy is bench/lib/lsp-policy.mjs's (the one bench/lsp-tokens.mjs times), with a test every
// fourth item. After each single-character edit the analysis is re-checked (not timed: that is
// bench/lsp-recheck.mjs), then each request is timed as the first on its version (nothing cached):
// `textDocument/codeLens` for the whole file (it decides the first 100 tests), `textDocument/inlayHint`
// for a visible screen (60 lines) somewhere in the file, and `armor.explainTest` of one test (which
// explains every rule of its stage). The floor, measured in the same run, is what deciding costs
// without explaining: the interpreter's `evaluatePolicy` on the inputs of the tests the lenses
// decide (100 of them; one for the explanation). Prints p50/p95 in ms, each p50's ratio to its
// floor, and the load average.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { evaluatePolicy } from "../packages/compiler/dist/index.js";
import * as lsp from "../packages/lsp/dist/index.js";
import { generate } from "./lib/lsp-policy.mjs";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1] ?? ""]] : [])));
const LINES = Number(args.lines ?? 5000);
const EDITS = Number(args.edits ?? 20);
const SCREEN = 60;
const LENSES = 100;

const repo = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "armor-lsp-lens-"));
copyFileSync(join(repo, "test/cases/check/actions.schema.json"), join(dir, "actions.schema.json"));

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * q) - 1)];
const fmt = (x) => x.toFixed(2);

let text = generate(LINES);
const path = join(dir, "policy.armor");
writeFileSync(path, text);
const uri = pathToFileURL(path).href;
const documents = new lsp.Documents();
const analyses = new lsp.Analyses(documents, null);
let version = 1;
documents.openDocument(uri, version, text);
const load = loadavg();

const sites = [...text.matchAll(/amount > (\d)/g)].map((m) => m.index + "amount > ".length);
const lineCount = text.split("\n").length;
/** A digit of a rule changed: the file stays valid, every version is a new analysis. */
function edit(k) {
  const at = sites[(((k * 7919) % sites.length) + sites.length) % sites.length];
  const before = text.slice(0, at);
  const line = before.split("\n").length - 1;
  const character = at - before.lastIndexOf("\n") - 1;
  const digit = String((Number(text[at]) % 9) + 1);
  text = text.slice(0, at) + digit + text.slice(at + 1);
  documents.change(uri, ++version, [{ range: { start: { line, character }, end: { line, character: character + 1 } }, text: digit }]);
  return analyses.analysis(uri);
}

const lenses = [];
const hints = [];
const explain = [];
const floorLenses = [];
const floorOne = [];
let tests = 0;
let decided = 0;
for (let k = -3; k < EDITS; k++) {
  let a = edit(k);
  let t = performance.now();
  const got = lsp.codeLenses(a, new Map(), analyses);
  if (k >= 0) lenses.push(performance.now() - t);
  decided = got.filter((l) => l.command?.command === "armor.explainTest").length;
  tests = a.compilation.tests.length;

  a = edit(k + 100_000);
  const startLine = Math.abs(k * 104729) % Math.max(1, lineCount - SCREEN);
  t = performance.now();
  lsp.inlayHints(a, analyses, { start: { line: startLine, character: 0 }, end: { line: startLine + SCREEN, character: 0 } });
  if (k >= 0) hints.push(performance.now() - t);

  a = edit(k + 200_000);
  const test = a.compilation.tests[Math.abs(k * 31) % a.compilation.tests.length];
  t = performance.now();
  lsp.explainTest(a, analyses, test.name);
  if (k >= 0) explain.push(performance.now() - t);

  // the floors: deciding without explaining, the lenses' tests and the one test
  const policy = a.compilation.policy;
  t = performance.now();
  for (const c of a.compilation.tests.slice(0, LENSES)) evaluatePolicy(policy, c.input, { stage: c.stage });
  if (k >= 0) floorLenses.push(performance.now() - t);
  t = performance.now();
  evaluatePolicy(policy, test.input, { stage: test.stage });
  if (k >= 0) floorOne.push(performance.now() - t);
}
rmSync(dir, { recursive: true, force: true });

const row = (name, xs, floor) => `| ${name} | ${fmt(quantile(xs, 0.5))} | ${fmt(quantile(xs, 0.95))} | ${floor ? (quantile(xs, 0.5) / quantile(floor, 0.5)).toFixed(1) : ""} |`;
const report = [
  `deciding in the editor, ${LINES}-line policy (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB, ${tests} tests, ${decided} decided per lens request), ${EDITS} edits, Node ${process.version}, load average ${load.map((x) => x.toFixed(2)).join(" ")}`,
  "| request | p50 ms | p95 ms | p50 / floor |",
  "| --- | --- | --- | --- |",
  row(`code lenses, whole file (${decided} tests decided)`, lenses, floorLenses),
  row(`inlay hints, a screen (${SCREEN} lines)`, hints, floorOne),
  row("armor.explainTest, one test", explain, floorOne),
  row(`floor: ${LENSES} tests decided without explaining`, floorLenses, null),
  row("floor: one test decided without explaining", floorOne, null),
].join("\n");
console.log(report);
console.log(
  `RESULT ${JSON.stringify({ lines: LINES, tests, lensesP50: quantile(lenses, 0.5), lensesP95: quantile(lenses, 0.95), hintsP50: quantile(hints, 0.5), hintsP95: quantile(hints, 0.95), explainP50: quantile(explain, 0.5), floorLensesP50: quantile(floorLenses, 0.5), floorOneP50: quantile(floorOne, 0.5), load })}`,
);
