/**
 * The server: wires the connection to the documents, the analysis cache and the features. It
 * holds no language logic; every request is `feature(analysis, position)` on the cached analysis
 * of the document's current version (computed at most once per version, on the first request or
 * the debounced diagnostics, whichever comes first).
 */
import { expectedAt } from "@agent-armor/compiler";
import { CodeActionKind, type Connection, FileChangeType, type InitializeResult, ResponseError, TextDocumentSyncKind } from "vscode-languageserver";
import { Analyses, type Analysis } from "./analysis.js";
import { type Settings, settingsFrom } from "./config.js";
import { badUri, Documents, isTestFile, pathToUri, policyUriOf, testUriOf, uriToPath } from "./documents.js";
import { codeActions } from "./features/code-actions.js";
import { COMPILE, compilePolicy } from "./features/compile.js";
import { completion } from "./features/completion.js";
import { diagnostics, toLspDiagnostic } from "./features/diagnostics.js";
import { EVALUATE, EXPLAIN_TEST, evaluateInput, explainTest, type InputOptions } from "./features/evaluate.js";
import { formatting, rangeFormatting } from "./features/formatting.js";
import { hover } from "./features/hover.js";
import { inlayHints } from "./features/inlay-hints.js";
import { definition, documentHighlights, prepareRename, references, rename } from "./features/navigation.js";
import { PropertyProofs } from "./features/property-proofs.js";
import { selectionRanges } from "./features/selection-ranges.js";
import { legend, SemanticTokenResults, semanticTokensRange } from "./features/semantic-tokens.js";
import { signatureHelp } from "./features/signature-help.js";
import { documentSymbols, foldingRanges } from "./features/symbols.js";
import { codeLenses, decisionLens, type LensData, RUN_TEST, RUN_TESTS, resultKey, runPolicyTests, runTest, type TestOutcome } from "./features/tests.js";
import { WorkspaceSymbols } from "./features/workspace-symbols.js";
import { SourceFile, toOffset } from "./positions.js";

export function startServer(connection: Connection): void {
  const documents = new Documents();
  let settings: Settings = settingsFrom(undefined);
  let analyses = new Analyses(documents, settings.docsBaseUrl);
  const results = new Map<string, TestOutcome>();
  const timers = new Map<string, NodeJS.Timeout>();
  const tokenResults = new SemanticTokenResults();
  let canRefreshLenses = false;
  let canRefreshHints = false;
  const workspaceSymbols = new WorkspaceSymbols(documents);
  const proofs = new PropertyProofs();
  /** The workspace folders, as paths: where workspace symbols are looked for. */
  let folders: string[] = [];

  const analysisOf = (uri: string): Analysis | undefined => (uri.endsWith(".armor") ? analyses.analysis(uri) : undefined);
  const at = <T>(uri: string, position: { line: number; character: number }, f: (a: Analysis, offset: number) => T, empty: T): T => {
    const a = analysisOf(uri);
    return a ? f(a, toOffset(a.source, position)) : empty;
  };

  /** The failing properties of the file at `path` proved against the open policies that import it. */
  const importedProofs = (path: string) => proofs.imported(path, analysisOf).map((p) => toLspDiagnostic(p.diagnostic, p.source, settings.docsBaseUrl, p.sources));
  /** The files an importer's last proof published diagnostics to, by the importer's URI. */
  const importedTargets = new Map<string, Set<string>>();
  const send = (uri: string): void => {
    if (!documents.isOpen(uri)) return;
    const a = analysisOf(uri);
    if (!a) return;
    // a policy's property proofs, when one has finished for the text the document has now
    const sources = a.kind === "policy" ? (a.compilation.sources as ReadonlyMap<string, SourceFile>) : undefined;
    const proved = proofs.diagnostics(a).map((d) => toLspDiagnostic(d, a.source, settings.docsBaseUrl, sources));
    const imported = a.kind === "policy" ? importedProofs(a.source.name) : [];
    void connection.sendDiagnostics({ uri, ...(a.version !== null ? { version: a.version } : {}), diagnostics: [...diagnostics(a, settings.docsBaseUrl), ...proved, ...imported] });
  };
  /** An importer's proofs shown in its imported files: an open one is published again, a closed one gets only these. */
  const sendImported = (importer: string): void => {
    const before = importedTargets.get(importer) ?? new Set<string>();
    const now = new Set(proofs.importedFiles(importer).map(pathToUri));
    if (now.size > 0) importedTargets.set(importer, now);
    else importedTargets.delete(importer);
    for (const t of new Set([...before, ...now])) {
      if (documents.isOpen(t)) send(t);
      else void connection.sendDiagnostics({ uri: t, diagnostics: importedProofs(uriToPath(t)) });
    }
  };
  const publish = (uri: string): void => {
    timers.delete(uri);
    if (!documents.isOpen(uri) || !analysisOf(uri)) return;
    send(uri);
    sendImported(uri);
    // a test's decision changes with its policy: lenses and hints of other documents are asked again
    if (canRefreshLenses) void connection.sendRequest("workspace/codeLens/refresh").catch(() => undefined);
    if (canRefreshHints) void connection.sendRequest("workspace/inlayHint/refresh").catch(() => undefined);
  };
  /** Diagnostics for a document and the documents that depend on it (a policy's test file). */
  const schedule = (uri: string, delay: number): void => {
    const targets = [uri];
    if (uri.endsWith(".armor") && !isTestFile(uri)) targets.push(testUriOf(uri));
    // an open policy that imports the changed file is checked again with its new text
    if (uri.endsWith(".armor")) {
      const path = uriToPath(uri);
      for (const other of documents.openUris()) {
        if (other === uri || !other.endsWith(".armor") || isTestFile(other)) continue;
        const cached = analyses.cached(other);
        if (cached?.kind === "policy" && cached.compilation.files.some((f) => f.path === path)) {
          analyses.forget(other);
          targets.push(other);
        }
      }
    }
    if (uri.endsWith(".json")) {
      analyses = new Analyses(documents, settings.docsBaseUrl);
      targets.push(...documents.openUris().filter((u) => u.endsWith(".armor")));
    }
    for (const t of targets) {
      if (!documents.isOpen(t) || !t.endsWith(".armor")) continue;
      clearTimeout(timers.get(t));
      if (delay === 0) publish(t);
      else
        timers.set(
          t,
          setTimeout(() => publish(t), delay),
        );
    }
  };

  connection.onInitialize((params): InitializeResult => {
    settings = settingsFrom(params.initializationOptions);
    analyses = new Analyses(documents, settings.docsBaseUrl);
    canRefreshLenses = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    canRefreshHints = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
    const roots = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    folders = roots.filter((u) => u.startsWith("file:") && badUri(u) === null).map(uriToPath);
    documents.setRoots(folders);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: true },
        completionProvider: { triggerCharacters: [".", '"', " "] },
        hoverProvider: true,
        signatureHelpProvider: { triggerCharacters: ["(", " "] },
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        documentHighlightProvider: true,
        selectionRangeProvider: true,
        foldingRangeProvider: true,
        semanticTokensProvider: { legend, full: { delta: true }, range: true },
        documentFormattingProvider: true,
        documentRangeFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        codeLensProvider: { resolveProvider: true },
        inlayHintProvider: true,
        executeCommandProvider: { commands: [RUN_TEST, RUN_TESTS, COMPILE, EXPLAIN_TEST, EVALUATE] },
      },
      serverInfo: { name: "armor-lsp", version: "0.1.0" },
    };
  });

  connection.onInitialized(() => {
    // the first content assist builds Chevrotain's lookahead tables (~100 ms): build them now, not on the first completion
    setImmediate(() => expectedAt("rule r when a and ", 18));
  });
  /** Proves a policy's properties off the keystroke path (on open and save); publishes again when done. */
  const prove = (uri: string): void => {
    const a = analysisOf(uri);
    if (a === undefined) return;
    proofs.start(
      a,
      () => analysisOf(uri),
      () => publish(uri),
    );
    if (a.kind !== "policy") return;
    // a test file's properties are proved against its policy: saving the policy proves them again
    if (documents.isOpen(testUriOf(uri))) prove(testUriOf(uri));
    // so are an open importer's, whose merged policy holds this file's rules and properties
    for (const other of documents.openUris()) {
      if (other === uri || !other.endsWith(".armor") || isTestFile(other)) continue;
      const cached = analyses.cached(other);
      if (cached?.kind === "policy" && cached.compilation.files.some((f) => f.path === a.source.name)) prove(other);
    }
  };
  connection.onDidOpenTextDocument(({ textDocument: d }) => {
    documents.openDocument(d.uri, d.version, d.text);
    schedule(d.uri, 0);
    prove(d.uri);
  });
  connection.onDidSaveTextDocument(({ textDocument: d }) => prove(d.uri));
  connection.onDidChangeTextDocument(({ textDocument: d, contentChanges }) => {
    documents.change(d.uri, d.version, contentChanges);
    schedule(d.uri, settings.debounceMs);
  });
  connection.onDidCloseTextDocument(({ textDocument: d }) => {
    documents.close(d.uri);
    analyses.forget(d.uri);
    proofs.forget(d.uri);
    sendImported(d.uri);
    // the file on disk counts again, not the text the document had
    workspaceSymbols.changed(d.uri, false, false);
    tokenResults.forget(d.uri);
    clearTimeout(timers.get(d.uri));
    timers.delete(d.uri);
    // what an open importer proved of this file stays shown
    if (d.uri.endsWith(".armor")) void connection.sendDiagnostics({ uri: d.uri, diagnostics: importedProofs(uriToPath(d.uri)) });
    if (d.uri.endsWith(".json")) schedule(d.uri, 0);
  });
  connection.onDidChangeWatchedFiles(({ changes }) => {
    analyses = new Analyses(documents, settings.docsBaseUrl);
    for (const c of changes) if (c.uri.endsWith(".armor")) workspaceSymbols.changed(c.uri, c.type === FileChangeType.Created, c.type === FileChangeType.Deleted);
    for (const c of changes) schedule(c.uri, 0);
    for (const u of documents.openUris()) schedule(u, 0);
  });

  connection.onCompletion(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => completion(a, analyses, o), []));
  connection.onHover(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => hover(a, analyses, o), null));
  connection.onSignatureHelp(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => signatureHelp(a, o), null));
  connection.onDefinition(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => definition(a, analyses, o, { readText: (uri) => documents.get(uri)?.text }), []));
  connection.onReferences(({ textDocument, position, context }) => at(textDocument.uri, position, (a, o) => references(a, analyses, o, context.includeDeclaration), []));
  connection.onPrepareRename(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => prepareRename(a, analyses, o), null));
  connection.onRenameRequest(({ textDocument, position, newName }) => at(textDocument.uri, position, (a, o) => rename(a, analyses, o, newName, importingCandidates()), { changes: {} }));
  /** The workspace's and the open policies that may import another: their text names `import`. */
  const importingCandidates = (): string[] =>
    [...new Set([...workspaceSymbols.uris(folders), ...documents.openUris()])].filter((u) => u.endsWith(".armor") && documents.get(u)?.text.includes("import") === true);
  connection.onDocumentSymbol(({ textDocument }) => {
    const a = analysisOf(textDocument.uri);
    return a ? documentSymbols(a) : [];
  });
  connection.onWorkspaceSymbol(({ query }) => workspaceSymbols.query(folders, query));
  connection.onDocumentHighlight(({ textDocument, position }) => at(textDocument.uri, position, (a, o) => documentHighlights(a, analyses, o), []));
  connection.onSelectionRanges(({ textDocument, positions }) => {
    const a = analysisOf(textDocument.uri);
    return a
      ? selectionRanges(
          a,
          positions.map((p) => toOffset(a.source, p)),
        )
      : [];
  });
  connection.onFoldingRanges(({ textDocument }) => {
    const a = analysisOf(textDocument.uri);
    return a ? foldingRanges(a) : [];
  });
  connection.languages.semanticTokens.on(({ textDocument }) => {
    const a = analysisOf(textDocument.uri);
    return a ? tokenResults.full(a) : { data: [] };
  });
  connection.languages.semanticTokens.onDelta(({ textDocument, previousResultId }) => {
    const a = analysisOf(textDocument.uri);
    return a ? tokenResults.delta(a, previousResultId) : { data: [] };
  });
  connection.languages.semanticTokens.onRange(({ textDocument, range }) => {
    const a = analysisOf(textDocument.uri);
    return a ? semanticTokensRange(a, range) : { data: [] };
  });
  connection.onDocumentFormatting(({ textDocument }) => {
    const a = analysisOf(textDocument.uri);
    return a ? formatting(a) : [];
  });
  connection.onDocumentRangeFormatting(({ textDocument, range }) => {
    const a = analysisOf(textDocument.uri);
    return a ? rangeFormatting(a, range) : [];
  });
  connection.onCodeAction(({ textDocument, range }) => {
    const a = analysisOf(textDocument.uri);
    return a ? codeActions(a, range, settings.docsBaseUrl) : [];
  });
  connection.onCodeLens(({ textDocument }) => {
    const a = analysisOf(textDocument.uri);
    return a ? codeLenses(a, results, analyses) : [];
  });
  connection.onCodeLensResolve((lens) => {
    const data = lens.data as Partial<LensData> | undefined;
    if (typeof data?.uri !== "string" || typeof data.name !== "string") return lens;
    const a = analysisOf(data.uri);
    return a ? decisionLens(a, analyses, data.name, lens.range) : lens;
  });
  connection.languages.inlayHint.on(({ textDocument, range }) => {
    const a = analysisOf(textDocument.uri);
    return a ? inlayHints(a, analyses, range) : [];
  });
  connection.onExecuteCommand(async ({ command, arguments: args }) => {
    if (command === COMPILE || command === RUN_TESTS) {
      const [uri] = commandArguments(args, `${command} takes [uri]: the URI of a .armor document`);
      if (typeof uri !== "string" || !uri.endsWith(".armor")) throw invalidParams(`${command} takes the URI of a .armor document`);
      checkUri(uri);
      if (command === RUN_TESTS) {
        const problem = documents.problem(uri) ?? documents.problem(isTestFile(uri) ? policyUriOf(uri) : testUriOf(uri));
        if (problem !== null) throw invalidParams(problem);
        return runPolicyTests(uri, documents);
      }
      const a = analysisOf(uri);
      if (a === undefined) throw invalidParams(documents.problem(uri) ?? `${uriToPath(uri)} does not exist`);
      if (a.kind !== "policy") throw invalidParams(`${uriToPath(uri)} holds tests, not a policy`);
      return compilePolicy(a, settings.docsBaseUrl);
    }
    if (command === EXPLAIN_TEST) {
      const [uri, name] = commandArguments(args, `${EXPLAIN_TEST} takes [uri, name]: a document URI and a test name`);
      if (typeof uri !== "string" || !uri.endsWith(".armor") || typeof name !== "string") throw invalidParams(`${EXPLAIN_TEST} takes the URI of a .armor document and a test name`);
      checkUri(uri);
      const a = analysisOf(uri);
      if (a === undefined) throw invalidParams(documents.problem(uri) ?? `${uriToPath(uri)} does not exist`);
      const e = explainTest(a, analyses, name);
      if (e === null) throw invalidParams(`${uriToPath(uri)} has no test named ${JSON.stringify(name)}`);
      return e;
    }
    if (command === EVALUATE) return evaluate(args);
    if (command !== RUN_TEST) throw new ResponseError(-32601, `unknown command ${command}`);
    const [uri, name] = commandArguments(args, `${RUN_TEST} takes [uri, name]: a document URI and a test name`);
    if (typeof uri !== "string" || typeof name !== "string") throw invalidParams(`${RUN_TEST} takes a document URI and a test name`);
    checkUri(uri);
    const outcome = await runTest(uri, name, documents);
    results.set(resultKey(uri, name), outcome);
    if (canRefreshLenses) void connection.sendRequest("workspace/codeLens/refresh").catch(() => undefined);
    return outcome;
  });

  /** `armor.evaluate [policyUri, inputUri, options?]`: an input JSON file (or a range of it) decided with a policy. */
  const evaluate = (args: unknown): unknown => {
    const usage = `${EVALUATE} takes [policyUri, inputUri, { text?, range?, stage? }]`;
    const [policyUri, inputUri, options] = commandArguments(args, usage);
    if (typeof policyUri !== "string" || !policyUri.endsWith(".armor") || isTestFile(policyUri)) throw invalidParams(`${usage}: the first is the URI of a .armor policy`);
    if (typeof inputUri !== "string") throw invalidParams(`${usage}: the second is the URI of the input JSON`);
    checkUri(policyUri);
    checkUri(inputUri);
    const o = inputOptions(options, usage);
    const policy = analysisOf(policyUri);
    if (policy === undefined) throw invalidParams(documents.problem(policyUri) ?? `${uriToPath(policyUri)} does not exist`);
    if (policy.kind !== "policy") throw invalidParams(`${uriToPath(policyUri)} holds tests, not a policy`);
    const text = o.text ?? documents.get(inputUri)?.text;
    if (text === undefined) throw invalidParams(documents.problem(inputUri) ?? `${uriToPath(inputUri)} does not exist`);
    const source = new SourceFile(uriToPath(inputUri), text);
    if (o.range && !inText(source, o.range)) throw invalidParams(`${usage}: the range is not inside the input's text`);
    return evaluateInput(policy, inputUri, text, o, source);
  };

  connection.listen();
}

const STAGES = ["call", "result", "output"];

function isPosition(p: unknown): p is { line: number; character: number } {
  const o = p as { line?: unknown; character?: unknown } | null;
  return typeof o === "object" && o !== null && Number.isSafeInteger(o.line) && Number.isSafeInteger(o.character) && (o.line as number) >= 0 && (o.character as number) >= 0;
}

/** The options of `armor.evaluate`, checked field by field (own fields only). */
function inputOptions(options: unknown, usage: string): InputOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) throw invalidParams(`${usage}: the options are an object`);
  const own = (k: string): unknown => (Object.hasOwn(options, k) ? (options as Record<string, unknown>)[k] : undefined);
  const text = own("text");
  const range = own("range") as { start?: unknown; end?: unknown } | undefined;
  const stage = own("stage");
  if (text !== undefined && typeof text !== "string") throw invalidParams(`${usage}: text is a string`);
  if (range !== undefined && (typeof range !== "object" || range === null || !isPosition(range.start) || !isPosition(range.end))) throw invalidParams(`${usage}: range is { start, end } positions`);
  if (stage !== undefined && !STAGES.includes(stage as string)) throw invalidParams(`${usage}: stage is call, result or output`);
  return {
    ...(text !== undefined ? { text } : {}),
    ...(range !== undefined ? { range: range as InputOptions["range"] & object } : {}),
    ...(stage !== undefined ? { stage: stage as InputOptions["stage"] & string } : {}),
  };
}

/** Whether a range's positions are lines of the text and its start is not after its end. */
function inText(source: SourceFile, range: NonNullable<InputOptions["range"]>): boolean {
  const lines = source.positionAt(source.text.length).line;
  if (range.start.line > lines || range.end.line > lines) return false;
  return toOffset(source, range.start) <= toOffset(source, range.end);
}

function invalidParams(message: string): ResponseError<void> {
  return new ResponseError(-32602, message);
}

/** A command's arguments: an array (absent means empty). */
function commandArguments(args: unknown, expected: string): unknown[] {
  if (args === undefined || args === null) return [];
  if (!Array.isArray(args)) throw invalidParams(`${expected}, as an array`);
  return args;
}

function checkUri(uri: string): void {
  const problem = badUri(uri);
  if (problem !== null) throw invalidParams(`${problem}; expected a file: URI on this machine`);
}
