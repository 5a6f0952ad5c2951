/**
 * Golden tests as data. A case is a file:
 *   test/cases/check/NAME.armor   → NAME.errors.txt  (rendered diagnostics) + its `// expect:` codes
 *   test/cases/parse/NAME.armor   → NAME.ast.txt     (AST dump and syntax diagnostics)
 *   test/cases/emit/NAME.armor    → NAME.js          (the emitted module)
 * Drop a file in to add a case; the assertions are on codes, the baselines catch everything else.
 */
import { readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource, emit } from "../packages/compiler/src/compile.js";
import { renderText } from "../packages/compiler/src/diagnostics/render.js";
import { parse } from "../packages/compiler/src/syntax/parse.js";
import { caseFiles, expectedCodes, matchBaseline, repoRoot } from "./support/baseline.js";

const casesDir = join(repoRoot, "test", "cases");

function load(file: string): { name: string; text: string } {
  return { name: relative(repoRoot, file), text: readFileSync(file, "utf8") };
}

function dumpAst(value: unknown): string {
  // one node per line, spans as [start,end), so a change in shape or span shows as a small diff
  const lines: string[] = [];
  const visit = (v: unknown, indent: string, label: string): void => {
    if (v === null || typeof v !== "object") {
      lines.push(`${indent}${label}${JSON.stringify(v)}`);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        lines.push(`${indent}${label}[]`);
        return;
      }
      lines.push(`${indent}${label}[`);
      for (const x of v) visit(x, `${indent}  `, "");
      lines.push(`${indent}]`);
      return;
    }
    const o = v as Record<string, unknown>;
    const s = o.span as { start: number; end: number } | undefined;
    const head = `${o.kind !== undefined ? String(o.kind) : ""}${s ? ` [${s.start},${s.end})` : ""}`;
    const rest = Object.entries(o).filter(([k]) => k !== "kind" && k !== "span");
    const scalar = rest.every(([, x]) => x === null || typeof x !== "object");
    if (scalar) {
      lines.push(`${indent}${label}${head} ${rest.map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(" ")}`.trimEnd());
      return;
    }
    lines.push(`${indent}${label}${head}`);
    for (const [k, x] of rest) visit(x, `${indent}  `, `${k}: `);
  };
  visit(value, "", "");
  return `${lines.join("\n")}\n`;
}

describe("check cases", () => {
  for (const file of caseFiles(join(casesDir, "check"))) {
    it(basename(file), () => {
      const { name, text } = load(file);
      const c = compileSource(name, text);
      const want = expectedCodes(text);
      expect(want, `${name} needs a leading \`// expect: CODES\` line`).not.toBeNull();
      expect(c.diagnostics.map((d) => d.code).sort()).toEqual([...want!].sort());
      matchBaseline(file.replace(/\.armor$/, ".errors.txt"), `${renderText(c.diagnostics, new Map([[name, c.source]]), { color: false })}\n`);
    });
  }
});

describe("parse cases", () => {
  for (const file of caseFiles(join(casesDir, "parse"))) {
    it(basename(file), () => {
      const { name, text } = load(file);
      const r = parse(name, text);
      const want = expectedCodes(text);
      if (want !== null) expect(r.diagnostics.map((d) => d.code).sort()).toEqual([...want].sort());
      const diags = r.diagnostics.map((d) => `${d.code} [${d.span.start},${d.span.end}) ${d.message}`).join("\n");
      matchBaseline(file.replace(/\.armor$/, ".ast.txt"), `${dumpAst(r.ast.items)}--- diagnostics\n${diags}\n`);
    });
  }
});

describe("emit cases", () => {
  for (const file of caseFiles(join(casesDir, "emit"))) {
    it(basename(file), () => {
      const { name, text } = load(file);
      const c = compileSource(name, text);
      expect(c.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      matchBaseline(file.replace(/\.armor$/, ".js"), emit(c).js);
    });
  }
});
