/**
 * The `armor.compile` command: a policy's compiled module as data, from the same analysis the
 * editor's diagnostics come from (the document's current text, open schemas first). Editors
 * write the files; the server only compiles.
 */
import { emit, renderText } from "@agent-armor/compiler";
import type { Diagnostic } from "vscode-languageserver";
import type { PolicyAnalysis } from "../analysis.js";
import { diagnostics } from "./diagnostics.js";

export const COMPILE = "armor.compile";

export interface CompileResult {
  /** The policy's path. */
  readonly file: string;
  /** Whether it compiled: no errors. */
  readonly ok: boolean;
  /** The module and its declarations (ES module); `null` when it did not compile. */
  readonly js: string | null;
  readonly dts: string | null;
  readonly rules: number;
  readonly errors: number;
  readonly warnings: number;
  /** The policy file's diagnostics, as the server publishes them. */
  readonly diagnostics: readonly Diagnostic[];
  /** Every diagnostic (the schema's too) as `armorc check` prints it, without colour; "" when none. */
  readonly rendered: string;
}

export function compilePolicy(a: PolicyAnalysis, docsBaseUrl: string | null): CompileResult {
  const c = a.compilation;
  const count = (severity: string): number => c.diagnostics.filter((d) => d.severity === severity).length;
  const out = c.ok ? emit(c) : null;
  return {
    file: a.source.name,
    ok: c.ok,
    js: out?.js ?? null,
    dts: out?.dts ?? null,
    rules: c.policy.rules.length,
    errors: count("error"),
    warnings: count("warning"),
    diagnostics: diagnostics(a, docsBaseUrl),
    rendered: renderText(c.diagnostics, new Map([[a.source.name, c.source]]), { color: false }),
  };
}
