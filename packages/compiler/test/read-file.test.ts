/**
 * Files a policy names (its schema) and files tools read are read only when they are regular
 * files of at most MAX_FILE_BYTES: a FIFO would block the reader for ever.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource } from "../src/compile.js";
import { readRegularFile } from "../src/read-file.js";

const dir = mkdtempSync(join(tmpdir(), "armor-read-"));
writeFileSync(join(dir, "plain.json"), "{}");
mkdirSync(join(dir, "folder.json"));
execFileSync("mkfifo", [join(dir, "fifo.json")]);

describe("readRegularFile", () => {
  // [the file, what reading it gives]
  const cases: [string, unknown][] = [
    ["plain.json", { text: "{}" }],
    ["missing.json", undefined],
    ["folder.json", { problem: `${join(dir, "folder.json")} is not a regular file` }],
    ["fifo.json", { problem: `${join(dir, "fifo.json")} is not a regular file` }],
  ];
  it.each(cases)("%s", (name, expected) => {
    expect(readRegularFile(join(dir, name))).toEqual(expected);
  });

  it("a schema that names a FIFO is a schema that cannot be read, not a compiler that waits", () => {
    const c = compileSource(join(dir, "p.armor"), 'policy p\nschema "fifo.json"\ndefault deny\n');
    expect(c.diagnostics.map((d) => d.code)).toContain("A304");
  });
});
