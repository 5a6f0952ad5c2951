/** `@agent-armor/lsp`: the language server, and its features as pure functions over an analysis. */

export { Analyses, type Analysis, type PolicyAnalysis, type Project, type TestAnalysis } from "./analysis.js";
export { Documents } from "./documents.js";
export { codeActions } from "./features/code-actions.js";
export { COMPILE, type CompileResult } from "./features/compile.js";
export { completion } from "./features/completion.js";
export { diagnostics } from "./features/diagnostics.js";
export { EVALUATE, EXPLAIN_TEST, type Explanation, evaluateInput, explainTest } from "./features/evaluate.js";
export { formatting, rangeFormatting } from "./features/formatting.js";
export { hover } from "./features/hover.js";
export { inlayHints } from "./features/inlay-hints.js";
export { definition, documentHighlights, prepareRename, references, rename } from "./features/navigation.js";
export { selectionRanges } from "./features/selection-ranges.js";
export { legend, SemanticTokenResults, semanticTokens, semanticTokensRange } from "./features/semantic-tokens.js";
export { documentSymbols, foldingRanges } from "./features/symbols.js";
export { codeLenses, RUN_TEST, RUN_TESTS, type RuleCoverageReport, runTest, type SuiteReport, type SuiteTestResult } from "./features/tests.js";
export { WorkspaceSymbols } from "./features/workspace-symbols.js";
export { SEMI_SPACE_MIB, tuneHeap } from "./heap.js";
export { startServer } from "./server.js";
