/**
 * Protocol tests of the language server, as data: every `.armor` file under `fixtures/FEATURE/`
 * is a case for that feature; the cursor marker `$0` gives the position, and the result is
 * compared with the baseline `FILE.json` beside it (`UPDATE_BASELINES=1` rewrites them). The
 * server is the real one, spawned over stdio; the fixtures are copied into a temporary workspace
 * with the schema of test/cases/check.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, it } from "vitest";
import { matchBaseline, repoRoot } from "../support/baseline.js";
import { cursor, type LspDiagnostic, type LspPosition, type LspRange, TestClient } from "./client.js";

const fixtures = join(repoRoot, "test/lsp/fixtures");
const schema = join(repoRoot, "test/cases/check/actions.schema.json");
let workspace = "";
let client: TestClient;

interface Case {
  readonly feature: string;
  readonly fixture: string;
  readonly path: string;
  readonly text: string;
  readonly position: LspPosition | null;
}

function casesOf(feature: string): Case[] {
  const dir = join(fixtures, feature);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".armor"))
    .sort()
    .map((f) => {
      const { text, position } = cursor(readFileSync(join(dir, f), "utf8"));
      return { feature, fixture: join(dir, f), path: join(workspace, feature, f), text, position };
    });
}

// ---- normalising results into readable baselines -----------------------------------------------

const range = (r: LspRange): string => `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;

function json(value: unknown): string {
  const workspaceUri = pathToFileURL(workspace).href;
  const repoUri = pathToFileURL(repoRoot.replace(/\/$/, "")).href;
  return `${JSON.stringify(value, null, 2).split(workspaceUri).join("file:///workspace").split(repoUri).join("file:///repo")}\n`;
}

const severityNames = ["", "error", "warning", "info", "hint"];
const kindNames: Record<number, string> = {
  1: "text",
  2: "method",
  3: "function",
  6: "variable",
  5: "field",
  9: "module",
  10: "property",
  14: "keyword",
  15: "snippet",
  20: "enumMember",
  21: "constant",
};

function showDiagnostics(ds: LspDiagnostic[]): unknown {
  return ds.map((d) => ({ range: range(d.range), severity: severityNames[d.severity ?? 0], code: d.code, message: d.message, href: d.codeDescription?.href }));
}

interface Location {
  uri: string;
  range: LspRange;
}
const showLocations = (ls: Location[] | null): unknown => (ls ?? []).map((l) => `${l.uri} ${range(l.range)}`);

interface TextEdit {
  range: LspRange;
  newText: string;
}
function showEdits(changes: Record<string, TextEdit[]> | undefined): unknown {
  return Object.entries(changes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([uri, edits]) => ({ uri, edits: edits.map((e) => `${range(e.range)} ${JSON.stringify(e.newText)}`) }));
}

/** The text with LSP edits applied (edits do not overlap; applied from the last). */
function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split("\n");
  const offset = (p: LspPosition): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  let out = text;
  for (const e of [...edits].sort((x, y) => offset(y.range.start) - offset(x.range.start))) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

function decodeTokens(text: string, data: number[], legend: { tokenTypes: string[]; tokenModifiers: string[] }): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  let line = 0;
  let char = 0;
  for (let i = 0; i < data.length; i += 5) {
    const [dl, dc, len, type, mods] = data.slice(i, i + 5) as [number, number, number, number, number];
    line += dl;
    char = dl === 0 ? char + dc : dc;
    const modifiers = legend.tokenModifiers.filter((_, bit) => (mods & (1 << bit)) !== 0);
    out.push(`${line}:${char} ${JSON.stringify(lines[line]!.slice(char, char + len))} ${legend.tokenTypes[type]}${modifiers.length ? ` [${modifiers.join(",")}]` : ""}`);
  }
  return out;
}

let legend: { tokenTypes: string[]; tokenModifiers: string[] };

// ---- the features ---------------------------------------------------------------------------------

type Runner = (c: Case, uri: string) => Promise<unknown>;
const doc = (uri: string) => ({ textDocument: { uri } });
const at = (uri: string, position: LspPosition) => ({ textDocument: { uri }, position });

const runners: Record<string, { needsCursor: boolean; run: Runner }> = {
  diagnostics: { needsCursor: false, run: async (_c, uri) => showDiagnostics((await client.diagnosticsOf(uri, 1)).diagnostics) },
  completion: {
    needsCursor: true,
    run: async (c, uri) => {
      const items = await client.request<{ label: string; kind?: number; detail?: string; sortText?: string }[]>("textDocument/completion", at(uri, c.position!));
      return [...items].sort((a, b) => ((a.sortText ?? a.label) < (b.sortText ?? b.label) ? -1 : 1)).map((i) => `${i.label} (${kindNames[i.kind ?? 1] ?? i.kind})${i.detail ? ` ${i.detail}` : ""}`);
    },
  },
  hover: {
    needsCursor: true,
    run: async (c, uri) => {
      const h = await client.request<{ contents: { value: string }; range?: LspRange } | null>("textDocument/hover", at(uri, c.position!));
      return h ? { range: h.range ? range(h.range) : null, contents: h.contents.value.split("\n") } : null;
    },
  },
  "signature-help": {
    needsCursor: true,
    run: async (c, uri) => {
      const h = await client.request<{ signatures: { label: string; parameters?: { label: [number, number] }[] }[]; activeParameter?: number } | null>(
        "textDocument/signatureHelp",
        at(uri, c.position!),
      );
      if (!h) return null;
      const s = h.signatures[0]!;
      return { label: s.label, parameters: (s.parameters ?? []).map((p) => s.label.slice(...p.label)), active: h.activeParameter ?? 0 };
    },
  },
  definition: { needsCursor: true, run: async (c, uri) => showLocations(await client.request<Location[]>("textDocument/definition", at(uri, c.position!))) },
  references: {
    needsCursor: true,
    run: async (c, uri) => showLocations(await client.request<Location[]>("textDocument/references", { ...at(uri, c.position!), context: { includeDeclaration: true } })),
  },
  rename: {
    needsCursor: true,
    run: async (c, uri) => {
      const newName = /\/\/ rename-to: (\S+)/.exec(c.text)![1]!;
      const prepared = await client.request<{ range: LspRange; placeholder: string } | null>("textDocument/prepareRename", at(uri, c.position!));
      try {
        const edit = await client.request<{ changes?: Record<string, TextEdit[]> }>("textDocument/rename", { ...at(uri, c.position!), newName });
        return { prepared: prepared && { range: range(prepared.range), placeholder: prepared.placeholder }, newName, changes: showEdits(edit.changes) };
      } catch (e) {
        return { prepared: prepared && { range: range(prepared.range), placeholder: prepared.placeholder }, newName, refused: (e as Error).message };
      }
    },
  },
  symbols: {
    needsCursor: false,
    run: async (_c, uri) => {
      const symbols = await client.request<{ name: string; kind: number; detail?: string; range: LspRange; selectionRange: LspRange }[]>("textDocument/documentSymbol", doc(uri));
      return symbols.map((s) => `${s.name} kind=${s.kind} ${range(s.range)} select=${range(s.selectionRange)}${s.detail ? ` ${JSON.stringify(s.detail)}` : ""}`);
    },
  },
  folding: {
    needsCursor: false,
    run: async (_c, uri) =>
      (await client.request<{ startLine: number; endLine: number; kind?: string }[]>("textDocument/foldingRange", doc(uri))).map((f) => `${f.startLine}-${f.endLine} ${f.kind ?? ""}`),
  },
  "semantic-tokens": {
    needsCursor: false,
    run: async (c, uri) => decodeTokens(c.text, (await client.request<{ data: number[] }>("textDocument/semanticTokens/full", doc(uri))).data, legend),
  },
  formatting: {
    needsCursor: false,
    run: async (c, uri) => {
      const edits = await client.request<TextEdit[]>("textDocument/formatting", { ...doc(uri), options: { tabSize: 2, insertSpaces: true } });
      return { edits: edits.map((e) => range(e.range)), formatted: edits.length > 0 ? applyEdits(c.text, edits).split("\n") : null };
    },
  },
  "code-actions": {
    needsCursor: false,
    run: async (c, uri) => {
      const published = (await client.diagnosticsOf(uri, 1)).diagnostics;
      const where: LspRange = c.position ? { start: c.position, end: c.position } : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      const actions = await client.request<{ title: string; kind?: string; isPreferred?: boolean; diagnostics?: LspDiagnostic[]; edit?: { changes?: Record<string, TextEdit[]> } }[]>(
        "textDocument/codeAction",
        {
          ...doc(uri),
          range: where,
          context: { diagnostics: published },
        },
      );
      return actions.map((a) => ({ title: a.title, kind: a.kind, preferred: a.isPreferred ?? false, fixes: (a.diagnostics ?? []).map((d) => d.code), changes: showEdits(a.edit?.changes) }));
    },
  },
  "code-lens": {
    needsCursor: false,
    run: async (_c, uri) => {
      type Lens = { range: LspRange; command?: { title: string; command: string; arguments?: unknown[] } };
      const show = (ls: Lens[]) => ls.map((l) => `${range(l.range)} ${l.command?.title} ${l.command?.command ?? ""}${l.command?.arguments ? ` ${JSON.stringify(l.command.arguments)}` : ""}`);
      const before = await client.request<Lens[]>("textDocument/codeLens", doc(uri));
      const runs: unknown[] = [];
      for (const lens of before) {
        if (lens.command?.command !== "armor.runTest") continue;
        runs.push(await client.request("workspace/executeCommand", { command: lens.command.command, arguments: lens.command.arguments }));
      }
      const after = await client.request<Lens[]>("textDocument/codeLens", doc(uri));
      return { before: show(before), runs, after: show(after) };
    },
  },
  broken: {
    needsCursor: true,
    run: async (c, uri) => ({
      diagnostics: (await client.diagnosticsOf(uri, 1)).diagnostics.map((d) => d.code),
      hover: (await client.request<{ contents: { value: string } } | null>("textDocument/hover", at(uri, c.position!)))?.contents.value ?? null,
      definition: showLocations(await client.request<Location[]>("textDocument/definition", at(uri, c.position!))),
      references: showLocations(await client.request<Location[]>("textDocument/references", { ...at(uri, c.position!), context: { includeDeclaration: true } })),
      symbols: (await client.request<{ name: string }[]>("textDocument/documentSymbol", doc(uri))).map((s) => s.name),
      folding: (await client.request<unknown[]>("textDocument/foldingRange", doc(uri))).length,
      semanticTokens: (await client.request<{ data: number[] }>("textDocument/semanticTokens/full", doc(uri))).data.length / 5,
      formatting: (await client.request<unknown[]>("textDocument/formatting", { ...doc(uri), options: { tabSize: 2, insertSpaces: true } })).length,
      completionCount: (await client.request<unknown[]>("textDocument/completion", at(uri, { line: c.position!.line, character: 0 }))).length,
    }),
  },
};

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "armor-lsp-"));
  for (const feature of Object.keys(runners)) {
    mkdirSync(join(workspace, feature));
    copyFileSync(schema, join(workspace, feature, "actions.schema.json"));
    copyFileSync(join(repoRoot, "test/cases/check/quantifiers.schema.json"), join(workspace, feature, "quantifiers.schema.json"));
    for (const c of casesOf(feature)) writeFileSync(c.path, c.text);
  }
  client = await TestClient.start();
  legend = (client.capabilities.semanticTokensProvider as { legend: typeof legend }).legend;
}, 60_000);

afterAll(async () => {
  await client?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

describe("fixtures", () => {
  for (const [feature, runner] of Object.entries(runners)) {
    describe(feature, () => {
      for (const name of readdirSync(join(fixtures, feature))
        .filter((f) => f.endsWith(".armor"))
        .sort()) {
        const hasCursor = readFileSync(join(fixtures, feature, name), "utf8").includes("$0");
        if (runner.needsCursor && !hasCursor) continue;
        it(name, async () => {
          const c = casesOf(feature).find((x) => x.fixture.endsWith(`/${name}`))!;
          const uri = await client.open(c.path, c.text);
          const result = await runner.run(c, uri);
          matchBaseline(`${c.fixture}.json`, json(result));
        });
      }
    });
  }
});
