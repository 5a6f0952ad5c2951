/** `@agent-armor/lsp`: the language server, and its features as pure functions over an analysis. */
export { startServer } from "./server.js";
export { Analyses, type Analysis, type PolicyAnalysis, type TestAnalysis, type Project } from "./analysis.js";
export { Documents } from "./documents.js";
export { completion } from "./features/completion.js";
export { diagnostics } from "./features/diagnostics.js";
export { hover } from "./features/hover.js";
export { definition, references, rename, prepareRename } from "./features/navigation.js";
export { documentSymbols, foldingRanges } from "./features/symbols.js";
export { semanticTokens, legend } from "./features/semantic-tokens.js";
export { formatting } from "./features/formatting.js";
export { codeActions } from "./features/code-actions.js";
export { codeLenses, runTest, RUN_TEST } from "./features/tests.js";
export { tuneHeap, SEMI_SPACE_MIB } from "./heap.js";
