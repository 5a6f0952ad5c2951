/**
 * Loading policies: a compiled module object as it is, a `.js`/`.mjs`/`.cjs` file by import, or
 * a `.armor` file (or source text) compiled on load. Compiling needs `@agent-armor/compiler`, an
 * optional peer dependency imported only then, so agents that ship compiled modules do not
 * carry the compiler.
 */
import type { CompilerApi, PolicyDiagnostic, PolicyModule } from "@agent-armor/contract";

export type { CompilerApi, PolicyDiagnostic };

export type PolicySource = PolicyModule | string | { source: string; fileName?: string };

export class PolicyLoadError extends Error {
  constructor(
    message: string,
    readonly diagnostics: PolicyDiagnostic[],
  ) {
    super(message);
    this.name = "PolicyLoadError";
  }
}

export interface LoadedPolicy {
  module: PolicyModule;
  diagnostics: PolicyDiagnostic[];
  /** The files a `.armor` policy was compiled from: the policy and every file it imports (empty for a module). */
  files: string[];
}

function isModule(v: unknown): v is PolicyModule {
  const m = v as Partial<PolicyModule> | null;
  return m !== null && typeof m === "object" && typeof m.decide === "function" && typeof m.policy === "object" && Array.isArray(m.trackers);
}

/** Named through a variable so that the runtime builds and type-checks without the compiler. */
const COMPILER = "@agent-armor/compiler";

async function compiler(given: CompilerApi | undefined): Promise<CompilerApi> {
  if (given !== undefined) return given;
  try {
    return (await import(COMPILER)) as CompilerApi;
  } catch (e) {
    throw new PolicyLoadError(`loading a .armor policy needs @agent-armor/compiler: ${(e as Error).message}`, []);
  }
}

async function compileText(fileName: string, text: string, given: CompilerApi | undefined): Promise<LoadedPolicy> {
  const c = await compiler(given);
  const compilation = c.compileSource(fileName, text);
  const files = compilation.files ?? [{ path: fileName, source: compilation.source }];
  const sources = new Map(files.map((f) => [f.path, f.source]));
  const diagnostics = compilation.diagnostics.map((d) => {
    // a diagnostic of an imported file is placed in that file's text
    const pos = (sources.get(d.file) ?? compilation.source).positionAt(d.span.start);
    return {
      code: d.code,
      severity: d.severity,
      message: d.message,
      file: d.file,
      line: pos.line + 1,
      column: pos.column + 1,
      span: { start: d.span.start, end: d.span.end },
      ...(d.help !== undefined ? { help: d.help } : {}),
      ...(d.fixes !== undefined ? { fixes: d.fixes } : {}),
    };
  });
  if (!compilation.ok) {
    const rendered = c.renderText(compilation.diagnostics, sources as ReadonlyMap<string, typeof compilation.source>, { color: false });
    throw new PolicyLoadError(`the policy ${fileName} does not compile:\n${rendered}`, diagnostics);
  }
  const module = await c.loadModule(c.emit(compilation).js);
  if (!isModule(module)) throw new PolicyLoadError(`the compiled policy ${fileName} is not a decision module`, diagnostics);
  return { module, diagnostics, files: files.map((f) => f.path) };
}

/** A string that names neither kind of file: most often policy text passed where a path goes. */
function notAPath(source: string): string {
  const shown = JSON.stringify(source.length > 40 ? `${source.slice(0, 40)}...` : source);
  return `${shown} is not the path of a .armor file or of a compiled .js module; to load policy text, pass { source: text }`;
}

export interface LoadOptions {
  /**
   * The compiler to compile `.armor` sources with; by default `@agent-armor/compiler` is imported
   * when one is first needed. A host that bundles the compiler passes it here.
   */
  readonly compiler?: CompilerApi;
}

export async function loadPolicy(source: PolicySource, options: LoadOptions = {}): Promise<LoadedPolicy> {
  if (typeof source === "string") {
    if (source.endsWith(".armor")) {
      const { readFile } = await import("node:fs/promises");
      let text: string;
      try {
        text = await readFile(source, "utf8");
      } catch (e) {
        throw new PolicyLoadError(`cannot read the policy ${source}: ${(e as Error).message}`, []);
      }
      return compileText(source, text, options.compiler);
    }
    if (!/\.(?:m?js|cjs)$/.test(source)) throw new PolicyLoadError(notAPath(source), []);
    const { pathToFileURL } = await import("node:url");
    const { resolve } = await import("node:path");
    let module: unknown;
    try {
      module = await import(pathToFileURL(resolve(source)).href);
    } catch (e) {
      throw new PolicyLoadError(`cannot load the compiled policy ${source}: ${(e as Error).message}`, []);
    }
    if (!isModule(module)) throw new PolicyLoadError(`${source} is not a module compiled by armorc`, []);
    return { module, diagnostics: [], files: [] };
  }
  if (isModule(source)) return { module: source, diagnostics: [], files: [] };
  if (typeof source === "object" && source !== null && typeof (source as { source?: unknown }).source === "string") {
    const s = source as { source: string; fileName?: string };
    return compileText(s.fileName ?? "policy.armor", s.source, options.compiler);
  }
  throw new PolicyLoadError("a policy is a compiled module, the path of a .armor or compiled .js file, or { source }", []);
}
