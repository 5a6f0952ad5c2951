/**
 * A policy's properties, and those of its `.test.armor` file, proved in the server, off the
 * keystroke path: a proof starts when a policy or its test file is opened or saved (never on a change), runs one at a time, each property bounded by
 * the solver's timeout and a small bounded search, and its result is cached for the text it
 * proved. Its diagnostics are published with the compiler's only while the document still has
 * that text: a failing property is A408 at the property's name with its counterexample; one the
 * solver could not settle is A408 as a warning saying why. A property of an imported file is
 * proved against the importer's merged policy: when it fails there, it is A408 in the imported
 * file (at its name, saying which importer) and A408 on the importer's `import` of it. The solver
 * (@agent-armor/analysis, Z3 in WebAssembly) is loaded on the first proof.
 */
import { type Compilation, catalog, type Diagnostic, describeProperty, type IR, makeDiagnostic, type SourceFile } from "@agent-armor/compiler";
import type { Analysis } from "../analysis.js";

/** The package is named through a constant: it loads only when a policy with properties is proved. */
const ANALYSIS = "@agent-armor/analysis";

export interface ProofOptions {
  /** Each property's solver limit (the editor's is shorter than `armorc test`'s). */
  readonly timeoutMs: number;
  /** The inputs the bounded search tries for a property the solver could not settle. */
  readonly searchSamples: number;
}

export const EDITOR_PROOF_OPTIONS: ProofOptions = { timeoutMs: 5_000, searchSamples: 500 };

/** A diagnostic in another file than the proved document's, with that file's text. */
export interface ImportedDiagnostic {
  readonly diagnostic: Diagnostic;
  readonly source: SourceFile;
  /** Every file of the importer's compilation, for the diagnostic's related locations. */
  readonly sources: ReadonlyMap<string, SourceFile>;
}

interface Proved {
  /** The document's own. */
  readonly own: readonly Diagnostic[];
  /** Its imported files' failing properties, in those files. */
  readonly imported: readonly ImportedDiagnostic[];
}

interface Entry {
  readonly text: string;
  /** Null while the proof runs. */
  proved: Proved | null;
}

export class PropertyProofs {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProofOptions = EDITOR_PROOF_OPTIONS) {}

  /** The property diagnostics of `a`'s text, once its proof has finished; empty otherwise. */
  diagnostics(a: Analysis): readonly Diagnostic[] {
    const e = this.entries.get(a.uri);
    return e !== undefined && e.text === proofKey(a) ? (e.proved?.own ?? []) : [];
  }

  /**
   * The failing properties of the file at `path` proved against the policies that import it,
   * while each importer still has the text (its own and its imports') that was proved.
   */
  imported(path: string, current: (uri: string) => Analysis | undefined): ImportedDiagnostic[] {
    const out: ImportedDiagnostic[] = [];
    for (const [uri, e] of this.entries) {
      const mine = e.proved?.imported.filter((d) => d.diagnostic.file === path) ?? [];
      if (mine.length === 0) continue;
      const now = current(uri);
      if (now !== undefined && proofKey(now) === e.text) out.push(...mine);
    }
    return out;
  }

  /** The files other than its own that `uri`'s last proof has diagnostics for. */
  importedFiles(uri: string): string[] {
    return [...new Set(this.entries.get(uri)?.proved?.imported.map((d) => d.diagnostic.file) ?? [])];
  }

  /**
   * Proves `a`'s properties unless its text is proved already or being proved; `done` is called
   * when the result is in. `current` says whether the document still has the text, so that a
   * queued proof of an older text is skipped.
   */
  start(a: Analysis, current: () => Analysis | undefined, done: () => void): void {
    const key = proofKey(a);
    const existing = this.entries.get(a.uri);
    if (existing !== undefined && existing.text === key) return;
    const target = proofTarget(a);
    if (target === null) {
      this.entries.set(a.uri, { text: key, proved: { own: [], imported: [] } });
      return;
    }
    const entry: Entry = { text: key, proved: null };
    this.entries.set(a.uri, entry);
    this.queue = this.queue.then(async () => {
      const now = current();
      if (this.entries.get(a.uri) !== entry || now === undefined || proofKey(now) !== key) return;
      entry.proved = await this.prove(a, target);
      if (this.entries.get(a.uri) === entry) done();
    });
  }

  forget(uri: string): void {
    this.entries.delete(uri);
  }

  /** Settles when every proof started so far has finished (for tests). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async prove(a: Analysis, target: ProofTarget): Promise<Proved> {
    const { compilation: c, policy } = target;
    const file = a.source.name;
    try {
      const analysis = (await import(ANALYSIS)) as typeof import("@agent-armor/analysis");
      const results = await analysis.proveProperties(c, { ...this.options, sources: new Map([[file, a.source]]) }, policy);
      const own: Diagnostic[] = [];
      const imported: ImportedDiagnostic[] = [];
      for (const r of results) {
        if (r.status === "holds") continue;
        const where = r.property.file ?? c.source.name;
        if (where === file) own.push(ownDiagnostic(r, a, analysis.counterexampleLines(r)));
        // a property of an imported file fails against this policy: shown there and at the import
        else if (a.kind === "policy" && r.status === "fails") {
          const found = importedDiagnostics(r, a.compilation, analysis.counterexampleLines(r));
          if (found !== null) {
            imported.push(found.there);
            own.push(found.here);
          }
        }
      }
      return { own, imported };
    } catch (e) {
      // the solver cannot load (a bundle without it) or failed: say so once, at the first property
      const first = policy.properties[0]!;
      const span = (first.file ?? c.source.name) === file ? first.span : { start: 0, end: 0 };
      return {
        own: [makeDiagnostic(catalog.propertyFails, file, span, `the properties could not be proved: ${(e as Error).message}`, { severity: "warning", help: "run `armorc test` to prove them" })],
        imported: [],
      };
    }
  }
}

type PropertyResult = import("@agent-armor/analysis").PropertyResult;

const what = (r: PropertyResult, name: string): string => `property \`${name}\` (${describeProperty(r.property)})`;
const FIX = "change the rules so that this input is decided as the property says, or correct the property";

/** A property of the document's own text that fails or is not proved, at its name. */
function ownDiagnostic(r: PropertyResult, a: Analysis, counterexample: readonly string[]): Diagnostic {
  const item = a.ast.items.find((i) => i.kind === "property" && i.name?.name === r.property.name);
  const span = item?.kind === "property" && item.name !== null ? item.name.span : r.property.span;
  if (r.status === "fails") return makeDiagnostic(catalog.propertyFails, a.source.name, span, `${what(r, r.property.name)} fails:\n${counterexample.join("\n")}`, { help: FIX });
  return makeDiagnostic(catalog.propertyFails, a.source.name, span, `${what(r, r.property.name)} is not proved: ${r.note}`, {
    severity: "warning",
    help: "`armorc test --timeout MS` gives the solver longer",
  });
}

/**
 * An imported file's property that fails against the importer's merged policy: the diagnostic in
 * that file, at the property's name, and the one on the importer's `import` that brings it in.
 */
function importedDiagnostics(r: PropertyResult, c: Compilation, counterexample: readonly string[]): { there: ImportedDiagnostic; here: Diagnostic } | null {
  const path = r.property.file!;
  const file = c.files.find((f) => f.path === path);
  const imp = c.imports.find((i) => i.from === c.source.name && r.property.name.startsWith(`${i.namespace}.`));
  if (file === undefined || imp === undefined) return null;
  const item = file.syntax.ast.items.find((i) => i.kind === "property" && i.span.start <= r.property.span.start && r.property.span.start < i.span.end);
  const name = item?.kind === "property" && item.name !== null ? item.name : null;
  const span = name?.span ?? r.property.span;
  const local = name?.name ?? r.property.name;
  const importer = c.source.name.split(/[\\/]/).pop();
  const there = makeDiagnostic(catalog.propertyFails, path, span, `${what(r, local)} fails against \`${importer}\`, which imports this file:\n${counterexample.join("\n")}`, {
    help: FIX,
    related: [{ file: c.source.name, span: imp.span, message: `imported here as \`${imp.namespace}\`` }],
  });
  const here = makeDiagnostic(catalog.propertyFails, c.source.name, imp.span, `${what(r, r.property.name)} of the imported \`${file.name}\` fails against this policy:\n${counterexample.join("\n")}`, {
    help: FIX,
    related: [{ file: path, span, message: `property \`${local}\`` }],
  });
  return { there: { diagnostic: there, source: file.source, sources: c.sources }, here };
}

/** What a proof proves: the policy's compilation, and the policy whose properties are proved (a test file's joined to it). */
interface ProofTarget {
  readonly compilation: Compilation;
  readonly policy: IR.Policy;
}

/** The text a proof of `a` stands for: its own, its imported files', and a test file's policy's. */
function proofKey(a: Analysis): string {
  return a.kind === "policy" ? policyKey(a) : `${a.text}\0${a.policy === null ? "" : policyKey(a.policy)}`;
}

function policyKey(a: Extract<Analysis, { kind: "policy" }>): string {
  return [a.text, ...a.compilation.files.filter((f) => f.path !== a.source.name).map((f) => f.source.text)].join("\0");
}

/** What to prove for `a`, or null when it has no property that can be proved. */
function proofTarget(a: Analysis): ProofTarget | null {
  if (a.kind === "policy") return a.compilation.ok && a.compilation.policy.properties.length > 0 ? { compilation: a.compilation, policy: a.compilation.policy } : null;
  const policy = a.tests?.propertyPolicy ?? null;
  return a.policy?.compilation.ok && policy !== null ? { compilation: a.policy.compilation, policy } : null;
}
