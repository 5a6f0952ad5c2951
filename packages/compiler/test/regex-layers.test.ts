// The regex engine's modules import only downwards: the syntax tree, character sets, the parser,
// the program compiler; the matcher's source imports none of them.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const REGEX = path.join(import.meta.dirname, "..", "src", "regex");

/** The local modules a file imports (`./x.js` -> `x.ts`). */
function localImports(file: string): string[] {
  const text = readFileSync(path.join(REGEX, file), "utf8");
  return [...text.matchAll(/^(?:import|export)\b[^;]*?from "\.\/([\w-]+)\.js";/gms)].map((m) => `${m[1]}.ts`).sort();
}

describe("regex module layers", () => {
  it.each([
    { file: "ast.ts", may: [] },
    { file: "char-set.ts", may: ["ast.ts"] },
    { file: "parser.ts", may: ["ast.ts", "char-set.ts"] },
    { file: "compile-program.ts", may: ["ast.ts", "char-set.ts", "parser.ts"] },
    { file: "vm-source.ts", may: [] },
    { file: "detector-source.ts", may: [] },
  ])("$file imports only $may", ({ file, may }) => {
    for (const imported of localImports(file)) expect(may).toContain(imported);
  });

  it("the layers are what parser.ts and compile-program.ts import", () => {
    expect(localImports("parser.ts")).toEqual(["ast.ts", "char-set.ts"]);
    expect(localImports("compile-program.ts")).toEqual(["ast.ts", "parser.ts"]);
  });
});
