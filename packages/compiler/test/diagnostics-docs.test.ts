import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { allEntries, docsAnchor } from "../src/diagnostics/catalog.js";

const docsPath = fileURLToPath(new URL("../../../docs/diagnostics.md", import.meta.url));
const text = readFileSync(docsPath, "utf8");

/** GitHub's heading anchor: lowercase, punctuation other than `-` and `_` dropped, spaces to `-`. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The level-2 headings outside fenced code blocks, with the text of their sections. */
function sections(markdown: string): { heading: string; body: string }[] {
  const out: { heading: string; body: string }[] = [];
  let inFence = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^## (.+)$/.exec(line);
    if (m) out.push({ heading: m[1] ?? "", body: "" });
    else if (out.length > 0) out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

const all = sections(text);
const byAnchor = new Map(all.map((s) => [githubAnchor(s.heading), s]));

describe("docs/diagnostics.md", () => {
  it.each(allEntries.map((e) => [e.code, e] as const))("documents %s under the catalog's docs anchor", (_code, entry) => {
    const anchor = docsAnchor(entry);
    expect(anchor.startsWith("docs/diagnostics.md#")).toBe(true);
    const fragment = anchor.slice(anchor.indexOf("#") + 1);
    const section = byAnchor.get(fragment);
    expect(section, `missing heading "## ${entry.code} ${entry.name}"`).toBeDefined();
    expect(section?.heading).toBe(`${entry.code} ${entry.name}`);
    // The section states the catalog severity, and shows an example and a fix.
    expect(section?.body).toMatch(new RegExp(`^\\*\\*Severity:\\*\\* ${entry.severity}\\b`, "m"));
    expect(section?.body).toMatch(/^```(armor|json|sh)$/m);
    expect(section?.body).toContain("**How to fix:**");
  });

  it("has no code headings beyond the catalog, none twice, and in catalog order", () => {
    const codeHeadings = all.map((s) => s.heading).filter((h) => /^A\d{3}\b/.test(h));
    expect(codeHeadings).toEqual(allEntries.map((e) => `${e.code} ${e.name}`));
  });

  it("links only to anchors that exist", () => {
    for (const m of text.matchAll(/\]\(#([^)]+)\)/g)) {
      expect(byAnchor.has(m[1] ?? ""), `dangling link #${m[1]}`).toBe(true);
    }
  });
});
