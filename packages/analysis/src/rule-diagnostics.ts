/**
 * The exact rule analysis (rules.ts) as diagnostics, merged with the compiler's syntactic A401
 * and A402: a proof the syntactic check missed is added; a syntactic warning the solver refutes
 * (an input on which the rule fires, or is decided differently without it) is replaced by an
 * `info` with that input (labelled when the bounded search found it, with why the solver did not);
 * what neither settled is an `info` saying why.
 */
import { type Compilation, catalog, type Diagnostic, makeDiagnostic } from "@agent-armor/compiler";
import type { RuleAnalysis, Verdict } from "./rules.js";

export function exactRuleDiagnostics(c: Compilation, analyses: readonly RuleAnalysis[]): Diagnostic[] {
  const file = c.policy.file;
  const at = (code: string, start: number): Diagnostic | undefined => c.diagnostics.find((d) => d.code === code && d.span.start === start);
  const refuted = new Set<Diagnostic>();
  const added: Diagnostic[] = [];
  for (const a of analyses) {
    const r = a.rule;
    const name = `rule \`${r.id}\``;
    const fast401 = at(catalog.neverFires.code, r.span.start);
    const v = a.neverFires;
    if (v.status === "proved" && fast401 === undefined) {
      added.push(makeDiagnostic(catalog.neverFires, file, r.span, `${name} never fires: no input makes its condition true without an error (proved)`, { help: "fix its condition, or remove it" }));
    } else if (v.status === "example" && fast401 !== undefined) {
      refuted.add(fast401);
      added.push(
        makeDiagnostic(catalog.neverFires, file, r.span, `${name} fires on ${JSON.stringify(v.input.input)}${history(v.input)}${searched(v)}, though the fast check says it never fires`, {
          severity: "info",
        }),
      );
    } else if (v.status === "unknown") {
      added.push(makeDiagnostic(catalog.neverFires, file, r.span, `whether ${name} can fire is not settled: ${v.why}`, { severity: "info" }));
    }
    const s = a.shadowed;
    if (s === null) continue;
    const fast402 = at(catalog.shadowedEffect.code, r.span.start);
    if (s.status === "proved" && fast402 === undefined) {
      added.push(
        makeDiagnostic(catalog.shadowedEffect, file, r.span, `the \`${r.effect.kind}\` of ${name} never matters: no input is decided differently without it (proved)`, {
          help: "remove it, or narrow the rules that decide its inputs anyway",
        }),
      );
    } else if (s.status === "example" && fast402 !== undefined) {
      refuted.add(fast402);
      added.push(
        makeDiagnostic(
          catalog.shadowedEffect,
          file,
          r.span,
          `${name} matters, though the fast check says it is shadowed: ${JSON.stringify(s.input.input)}${history(s.input)}${searched(s)} is decided ${s.with} with it and ${s.without} without it`,
          { severity: "info" },
        ),
      );
    } else if (s.status === "unknown") {
      added.push(makeDiagnostic(catalog.shadowedEffect, file, r.span, `whether ${name} can change the decision is not settled: ${s.why}`, { severity: "info" }));
    }
  }
  return [...c.diagnostics.filter((d) => !refuted.has(d)), ...added];
}

function history(input: { readonly history: readonly { readonly predicate: string; readonly value: unknown }[] }): string {
  return input.history.length === 0 ? "" : ` (history: ${input.history.map((h) => `${h.predicate} = ${JSON.stringify(h.value)}`).join(", ")})`;
}

/** Where an example came from, when not from the solver. */
function searched(v: Extract<Verdict, { status: "example" }>): string {
  return v.method === "search" ? ` (found by a bounded random search: ${v.why ?? "the solver did not settle it"})` : "";
}
