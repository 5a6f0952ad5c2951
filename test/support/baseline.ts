/**
 * Baselines: the expected output of a case sits beside it and is compared by `matchBaseline`.
 * `UPDATE_BASELINES=1 npm test` rewrites them; a missing baseline is written and, on CI, fails.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "vitest";

export const repoRoot = new URL("../..", import.meta.url).pathname;

export function matchBaseline(path: string, actual: string): void {
  const update = process.env.UPDATE_BASELINES === "1";
  if (update || !existsSync(path)) {
    writeFileSync(path, actual);
    if (!update && process.env.CI) throw new Error(`missing baseline ${relative(repoRoot, path)} (written; commit it)`);
    return;
  }
  expect(actual, `baseline ${relative(repoRoot, path)} differs; run UPDATE_BASELINES=1 npm test to accept`).toBe(readFileSync(path, "utf8"));
}

/** The case files of a folder: `*.armor` that are not themselves baselines. */
export function caseFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".armor") && !f.includes(".formatted."))
    .sort()
    .map((f) => join(dir, f));
}

/** Codes a case expects, from a leading `// expect: A301 A302` line (`// expect: none` for none). */
export function expectedCodes(text: string): string[] | null {
  const m = /^\/\/ expect:\s*(.*)$/m.exec(text);
  if (!m) return null;
  const list = (m[1] ?? "").trim();
  return list === "none" ? [] : list.split(/[\s,]+/).filter((x) => x !== "");
}
