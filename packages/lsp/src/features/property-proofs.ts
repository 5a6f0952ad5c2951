/**
 * A policy's properties, and those of its `.test.armor` file, proved in the server, off the
 * keystroke path: a proof starts when a policy or its test file is opened or saved (never on a change), runs one at a time, each property bounded by
 * the solver's timeout and a small bounded search, and its result is cached for the text it
 * proved. Its diagnostics are published with the compiler's only while the document still has
 * that text: a failing property is A408 at the property's name with its counterexample; one the
 * solver could not settle is A408 as a warning saying why. The solver (@agent-armor/analysis,
 * Z3 in WebAssembly) is loaded on the first proof.
 */
import { type Compilation, catalog, type Diagnostic, describeProperty, type IR, makeDiagnostic } from "@agent-armor/compiler";
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

interface Entry {
  readonly text: string;
  /** Null while the proof runs. */
  diagnostics: readonly Diagnostic[] | null;
}

export class PropertyProofs {
  private readonly entries = new Map<string, Entry>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProofOptions = EDITOR_PROOF_OPTIONS) {}

  /** The property diagnostics of `a`'s text, once its proof has finished; empty otherwise. */
  diagnostics(a: Analysis): readonly Diagnostic[] {
    const e = this.entries.get(a.uri);
    return e !== undefined && e.text === proofKey(a) ? (e.diagnostics ?? []) : [];
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
      this.entries.set(a.uri, { text: key, diagnostics: [] });
      return;
    }
    const entry: Entry = { text: key, diagnostics: null };
    this.entries.set(a.uri, entry);
    this.queue = this.queue.then(async () => {
      const now = current();
      if (this.entries.get(a.uri) !== entry || now === undefined || proofKey(now) !== key) return;
      entry.diagnostics = await this.prove(a, target);
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

  private async prove(a: Analysis, target: ProofTarget): Promise<Diagnostic[]> {
    const { compilation: c, policy } = target;
    const file = a.source.name;
    try {
      const analysis = (await import(ANALYSIS)) as typeof import("@agent-armor/analysis");
      const results = await analysis.proveProperties(c, { ...this.options, sources: new Map([[file, a.source]]) }, policy);
      const out: Diagnostic[] = [];
      for (const r of results) {
        // a property of an imported file is that file's to show (armorc test reports it)
        if (r.status === "holds" || (r.property.file ?? c.source.name) !== file) continue;
        const item = a.ast.items.find((i) => i.kind === "property" && i.name?.name === r.property.name);
        const span = item?.kind === "property" && item.name !== null ? item.name.span : r.property.span;
        const what = `property \`${r.property.name}\` (${describeProperty(r.property)})`;
        if (r.status === "fails") {
          out.push(
            makeDiagnostic(catalog.propertyFails, file, span, `${what} fails:\n${analysis.counterexampleLines(r).join("\n")}`, {
              help: "change the rules so that this input is decided as the property says, or correct the property",
            }),
          );
        } else {
          out.push(makeDiagnostic(catalog.propertyFails, file, span, `${what} is not proved: ${r.note}`, { severity: "warning", help: "`armorc test --timeout MS` gives the solver longer" }));
        }
      }
      return out;
    } catch (e) {
      // the solver cannot load (a bundle without it) or failed: say so once, at the first property
      const first = policy.properties[0]!;
      return [makeDiagnostic(catalog.propertyFails, file, first.span, `the properties could not be proved: ${(e as Error).message}`, { severity: "warning", help: "run `armorc test` to prove them" })];
    }
  }
}

/** What a proof proves: the policy's compilation, and the policy whose properties are proved (a test file's joined to it). */
interface ProofTarget {
  readonly compilation: Compilation;
  readonly policy: IR.Policy;
}

/** The text a proof of `a` stands for: a test file's proof also depends on its policy's text. */
function proofKey(a: Analysis): string {
  return a.kind === "policy" ? a.text : `${a.text}\0${a.policy?.text ?? ""}`;
}

/** What to prove for `a`, or null when it has no property that can be proved. */
function proofTarget(a: Analysis): ProofTarget | null {
  if (a.kind === "policy") return a.compilation.ok && a.compilation.policy.properties.length > 0 ? { compilation: a.compilation, policy: a.compilation.policy } : null;
  const policy = a.tests?.propertyPolicy ?? null;
  return a.policy?.compilation.ok && policy !== null ? { compilation: a.policy.compilation, policy } : null;
}
