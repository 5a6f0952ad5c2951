/**
 * Finding tests: `NAME.test.armor` tests `NAME.armor` in the same folder; a policy's own `test`
 * blocks are found when the policy is compiled. Folders are searched recursively, skipping
 * node_modules, dist, out, coverage, hidden folders and fixture trees (folders holding a
 * `.armor-fixtures` file: policies that are test data, often broken on purpose). A folder or
 * file named as a path is always read.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { catalog } from "../diagnostics/catalog.js";
import { type Diagnostic, makeDiagnostic } from "../diagnostics/diagnostic.js";
import { span } from "../syntax/source.js";

export interface TestTarget {
  /** The policy file. */
  readonly policy: string;
  /** Its `.test.armor` file, if any. */
  readonly testFile: string | null;
}

export interface Discovery {
  readonly targets: TestTarget[];
  /** `.test.armor` files whose policy does not exist. */
  readonly orphans: string[];
  /** Paths that do not exist. */
  readonly missing: string[];
}

const skipped = new Set(["node_modules", "dist", "out", "coverage"]);

/** A folder holding a file of this name is a tree of fixtures, not of suites. */
export const FIXTURES_MARKER = ".armor-fixtures";

function armorFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || skipped.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (existsSync(join(path, FIXTURES_MARKER))) continue;
      for (const f of armorFiles(path)) out.push(f);
    } else if (entry.name.endsWith(".armor")) out.push(path);
  }
  return out;
}

export function policyOf(testFile: string): string {
  return join(dirname(testFile), `${basename(testFile, ".test.armor")}.armor`);
}

/** A605: a `.test.armor` file whose policy is not beside it. */
export function testWithoutPolicy(testFile: string): Diagnostic {
  return makeDiagnostic(catalog.testWithoutPolicy, testFile, span(0, 0), `\`${testFile}\` has no policy \`${policyOf(testFile)}\` beside it`, {
    help: "a NAME.test.armor file tests NAME.armor in the same folder",
  });
}

export function testFileOf(policy: string): string {
  return join(dirname(policy), `${basename(policy, ".armor")}.test.armor`);
}

/** Paths are shown relative to `cwd` when inside it. */
export function discover(paths: readonly string[], cwd: string): Discovery {
  const files = new Set<string>();
  const missing: string[] = [];
  for (const p of paths.length > 0 ? paths : ["."]) {
    const full = resolve(cwd, p);
    if (!existsSync(full)) {
      missing.push(p);
      continue;
    }
    if (statSync(full).isDirectory()) for (const f of armorFiles(full)) files.add(f);
    else files.add(full);
  }
  const show = (f: string): string => {
    const r = relative(cwd, f);
    return r.startsWith("..") ? f : r.split(sep).join("/");
  };
  const policies = new Set<string>();
  const orphans: string[] = [];
  for (const f of files) {
    if (f.endsWith(".test.armor")) {
      const p = policyOf(f);
      if (existsSync(p)) policies.add(p);
      else orphans.push(show(f));
    } else policies.add(f);
  }
  const targets = [...policies].sort().map((p) => {
    const t = testFileOf(p);
    return { policy: show(p), testFile: existsSync(t) ? show(t) : null };
  });
  return { targets, orphans: orphans.sort(), missing };
}
