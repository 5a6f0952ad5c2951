// Semantic-token latency of the language server on a 5,000-line policy.
//
//   npm run build -w @agent-armor/compiler && npm run build -w @agent-armor/lsp
//   node bench/lsp-tokens.mjs [--lines 5000] [--edits 40]
//
// The policy is generated (lets, rules of several shapes over the test schema, tests) and opened
// in the server's document store. After each single-character edit the analysis is re-checked
// (not timed: that is bench/lsp-recheck.mjs), then the server's answers are timed as a client
// asks for them: `textDocument/semanticTokens/full` on the new version, and
// `textDocument/semanticTokens/range` for a visible screen (60 lines) somewhere in the file, each
// the first request on its version (nothing cached for it). The floor, measured in the same run,
// is the least any full answer costs: walking the file's tokens and writing five integers for
// each. Prints p50/p95 in ms and the ratio of each p50 to the floor's.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "../packages/compiler/dist/index.js";
import * as lsp from "../packages/lsp/dist/index.js";
import { generate } from "./lib/lsp-policy.mjs";

const args = Object.fromEntries(process.argv.slice(2).flatMap((a, i, all) => (a.startsWith("--") ? [[a.slice(2), all[i + 1] ?? ""]] : [])));
const LINES = Number(args.lines ?? 5000);
const EDITS = Number(args.edits ?? 40);
const SCREEN = 60;

const repo = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "armor-lsp-tokens-"));
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

const sites = [...text.matchAll(/amount > (\d)/g)].map((m) => m.index + "amount > ".length);
const lineCount = text.split("\n").length;
/** A digit changed: the file stays valid, every version is a new analysis. */
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

const full = [];
const range = [];
const floor = [];
let tokens = 0;
for (let k = -5; k < EDITS; k++) {
  let a = edit(k);
  let t = performance.now();
  const data = lsp.semanticTokens(a).data;
  if (k >= 0) full.push(performance.now() - t);
  tokens = data.length / 5;
  if (lsp.semanticTokensRange) {
    a = edit(k + 100_000);
    const startLine = Math.abs(k * 104729) % Math.max(1, lineCount - SCREEN);
    t = performance.now();
    lsp.semanticTokensRange(a, { start: { line: startLine, character: 0 }, end: { line: startLine + SCREEN, character: 0 } });
    if (k >= 0) range.push(performance.now() - t);
  }
  // the floor: the file's tokens, five integers each
  const lexed = parse(path, text).tokens;
  t = performance.now();
  const out = [];
  let prev = 0;
  for (const tok of lexed) {
    out.push(0, tok.startOffset - prev, tok.image.length, 0, 0);
    prev = tok.startOffset;
  }
  if (k >= 0) floor.push(performance.now() - t);
}
rmSync(dir, { recursive: true, force: true });

const f50 = quantile(floor, 0.5);
const row = (name, xs) => (xs.length === 0 ? `| ${name} | n/a | n/a | n/a |` : `| ${name} | ${fmt(quantile(xs, 0.5))} | ${fmt(quantile(xs, 0.95))} | ${(quantile(xs, 0.5) / f50).toFixed(1)} |`);
const report = [
  `semantic tokens, ${LINES}-line policy (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB, ${tokens} tokens), ${EDITS} edits, Node ${process.version}`,
  "| request | p50 ms | p95 ms | p50 / floor |",
  "| --- | --- | --- | --- |",
  row("full, first request on a version", full),
  row(`range (${SCREEN} lines), first request on a version`, range),
  row("floor: walk the tokens, 5 integers each", floor),
].join("\n");
console.log(report);
console.log(
  `RESULT ${JSON.stringify({ lines: LINES, tokens, fullP50: quantile(full, 0.5), fullP95: quantile(full, 0.95), rangeP50: range.length ? quantile(range, 0.5) : null, rangeP95: range.length ? quantile(range, 0.95) : null, floorP50: f50 })}`,
);
