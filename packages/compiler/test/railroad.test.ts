import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { railroadHtml } from "../src/tools/railroad.js";

describe("grammar/railroad.html", () => {
  it("is generated from the current parser (run `npm run grammar` after changing the grammar)", () => {
    const committed = readFileSync(new URL("../../../grammar/railroad.html", import.meta.url), "utf8");
    expect(committed === railroadHtml(), "grammar/railroad.html is stale: run `npm run grammar`").toBe(true);
  });

  it("is self-contained and shows every grammar rule", () => {
    const html = railroadHtml();
    expect(html).not.toMatch(/<script src=|<link rel='stylesheet'/);
    for (const rule of ["ruleDecl", "effect", "comparison", "testDecl", "historyStep"]) expect(html).toContain(`"name": "${rule}"`);
  });
});
