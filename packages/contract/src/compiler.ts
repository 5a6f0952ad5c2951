/**
 * What a runtime needs of a compiler to load `.armor` policies: `@agent-armor/compiler`
 * implements it (`test/contract.test.ts`), and the runtime imports it only when it compiles.
 */
import type { Diagnostic, Position } from "./diagnostics.js";
import type { PolicyModule } from "./module.js";

/** The outcome of compiling one policy text, as far as a loader reads it. */
export interface CompiledSource {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly source: { positionAt(offset: number): Position };
  /** Every file of a policy in many files (the root first), each with its text's positions; absent from compilers without imports. */
  readonly files?: readonly { readonly path: string; readonly source: { positionAt(offset: number): Position } }[];
}

export interface CompilerApi<C extends CompiledSource = CompiledSource> {
  compileSource(fileName: string, text: string): C;
  /** The module's JavaScript; only for a compilation that is `ok`. */
  emit(compilation: C): { readonly js: string };
  /** Evaluates emitted JavaScript into a module. */
  loadModule(js: string): Promise<PolicyModule>;
  /** Diagnostics as text, with the source lines they point at. */
  renderText(diagnostics: C["diagnostics"], sources: ReadonlyMap<string, C["source"]>, options: { color: boolean }): string;
}
