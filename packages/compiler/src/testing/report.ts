/**
 * Test reports: human (default), JSON and JUnit XML. All three carry the same results and
 * coverage; coverage is reported even when tests fail.
 */
import type { Paint } from "../explain.js";
import { noPaint } from "../explain.js";
import type { Suite } from "./runner.js";

export interface Totals {
  passed: number;
  failed: number;
  /** Suites whose policy or tests have errors, so none of their tests ran. */
  broken: number;
  rules: number;
  rulesFired: number;
  rulesSeenNotFiring: number;
}

export function totals(suites: readonly Suite[]): Totals {
  const t: Totals = { passed: 0, failed: 0, broken: 0, rules: 0, rulesFired: 0, rulesSeenNotFiring: 0 };
  for (const s of suites) {
    if (s.diagnostics.some((d) => d.severity === "error")) t.broken++;
    for (const r of s.results) r.passed ? t.passed++ : t.failed++;
    t.rules += s.coverage.length;
    t.rulesFired += s.coverage.filter((c) => c.fired > 0).length;
    t.rulesSeenNotFiring += s.coverage.filter((c) => c.notFired > 0).length;
  }
  return t;
}

export function percent(part: number, whole: number): number {
  return whole === 0 ? 100 : Math.round((part / whole) * 1000) / 10;
}

export function humanReport(suites: readonly Suite[], options: { paint?: Paint; coverage?: boolean } = {}): string {
  const p = options.paint ?? noPaint;
  const lines: string[] = [];
  for (const s of suites) {
    if (s.results.length === 0 && s.diagnostics.every((d) => d.severity !== "error")) continue;
    lines.push(`${p.bold(s.policyFile)}${s.testFiles.length > 0 ? p.dim(` + ${s.testFiles.join(", ")}`) : ""}`);
    for (const r of s.results) {
      const where = p.dim(`${r.test.file}:${r.test.line}`);
      if (r.passed) lines.push(`  ${p.green("✓")} ${r.test.name}`);
      else {
        lines.push(`  ${p.red("✗")} ${r.test.name}  ${where}`);
        for (const f of r.failures) lines.push(`      ${p.red(f)}`);
        if (r.explanation) lines.push(r.explanation.trimEnd().replace(/^/gm, "  "));
      }
    }
    if (s.filteredOut > 0) lines.push(p.dim(`  (${s.filteredOut} filtered out)`));
    lines.push("");
  }
  if (options.coverage) lines.push(coverageTable(suites, p));
  const t = totals(suites);
  const summary = `${t.passed} passed, ${t.failed} failed`;
  lines.push(t.failed > 0 || t.broken > 0 ? p.red(summary) : p.green(summary));
  if (t.broken > 0) lines.push(p.red(`${t.broken} polic${t.broken === 1 ? "y" : "ies"} with errors: no test of ${t.broken === 1 ? "it" : "them"} ran`));
  return `${lines.join("\n")}\n`;
}

export function coverageTable(suites: readonly Suite[], p: Paint = noPaint): string {
  const lines: string[] = [p.bold("coverage")];
  for (const s of suites) {
    if (s.coverage.length === 0) continue;
    const width = Math.max(4, ...s.coverage.map((c) => c.id.length));
    lines.push(`  ${s.policyFile}`);
    lines.push(p.dim(`    ${"rule".padEnd(width)}  ${"effect".padEnd(16)}  fired  not fired`));
    for (const c of s.coverage) {
      const fired = c.fired === 0 ? p.red(String(c.fired).padStart(5)) : String(c.fired).padStart(5);
      const notFired = c.notFired === 0 ? p.yellow(String(c.notFired).padStart(9)) : String(c.notFired).padStart(9);
      const effect = c.stage === "call" ? c.effect : `${c.effect} on ${c.stage}`;
      lines.push(`    ${c.id.padEnd(width)}  ${effect.padEnd(16)}  ${fired}  ${notFired}`);
    }
  }
  const t = totals(suites);
  lines.push(`  rules fired in a test: ${t.rulesFired}/${t.rules} (${percent(t.rulesFired, t.rules)}%)`);
  lines.push(`  rules also seen not firing: ${t.rulesSeenNotFiring}/${t.rules} (${percent(t.rulesSeenNotFiring, t.rules)}%)`);
  const never = suites.flatMap((s) => s.coverage.filter((c) => c.fired === 0).map((c) => `${s.policyFile}: ${c.id}`));
  if (never.length > 0) lines.push(p.red(`  never fired: ${never.join(", ")}`));
  const always = suites.flatMap((s) => s.coverage.filter((c) => c.fired > 0 && c.notFired === 0).map((c) => `${s.policyFile}: ${c.id}`));
  if (always.length > 0) lines.push(p.yellow(`  never seen not firing: ${always.join(", ")}`));
  return `${lines.join("\n")}\n`;
}

export function jsonReport(suites: readonly Suite[]): unknown {
  const t = totals(suites);
  return {
    summary: { ...t, coverage: { fired: percent(t.rulesFired, t.rules), seenNotFiring: percent(t.rulesSeenNotFiring, t.rules) } },
    suites: suites.map((s) => ({
      policy: s.policyFile,
      testFiles: s.testFiles,
      errors: s.diagnostics.filter((d) => d.severity === "error").map((d) => ({ code: d.code, file: d.file, message: d.message, span: d.span })),
      tests: s.results.map((r) => ({
        name: r.test.name,
        file: r.test.file,
        line: r.test.line,
        status: r.passed ? "passed" : "failed",
        failures: r.failures,
        decision: r.decision,
        durationMs: Math.round(r.durationMs * 1000) / 1000,
      })),
      coverage: s.coverage,
    })),
  };
}

function xml(s: string): string {
  // XML 1.0 cannot carry most control characters at all; drop them
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export function junitReport(suites: readonly Suite[]): string {
  const t = totals(suites);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="armorc test" tests="${t.passed + t.failed}" failures="${t.failed}" errors="${t.broken}">`];
  for (const s of suites) {
    const failed = s.results.filter((r) => !r.passed).length;
    const errors = s.diagnostics.filter((d) => d.severity === "error");
    const time = s.results.reduce((a, r) => a + r.durationMs, 0) / 1000;
    out.push(`  <testsuite name="${xml(s.policyFile)}" tests="${s.results.length}" failures="${failed}" errors="${errors.length > 0 ? 1 : 0}" time="${time.toFixed(6)}">`);
    if (errors.length > 0) {
      out.push(`    <testcase name="policy compiles" classname="${xml(s.policyFile)}">`);
      out.push(`      <error message="${xml(`${errors.length} error(s)`)}">${xml(errors.map((d) => `${d.file}: ${d.code} ${d.message}`).join("\n"))}</error>`);
      out.push(`    </testcase>`);
    }
    for (const r of s.results) {
      out.push(`    <testcase name="${xml(r.test.name)}" classname="${xml(s.policyFile)}" file="${xml(r.test.file)}" line="${r.test.line}" time="${(r.durationMs / 1000).toFixed(6)}">`);
      if (!r.passed) out.push(`      <failure message="${xml(r.failures[0] ?? "failed")}">${xml([...r.failures, r.explanation ?? ""].join("\n"))}</failure>`);
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`);
  return `${out.join("\n")}\n`;
}
