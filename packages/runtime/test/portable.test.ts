/**
 * The runtime's core runs outside Node: it imports no Node built-in statically (the file sink and
 * the terminal prompt load theirs when used), and hashing has a plain-JavaScript SHA-256 that
 * gives node:crypto's digests.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Portable } from "../src/sha256.js";

describe("portable SHA-256", () => {
  const node = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

  it("matches the FIPS 180-4 test vectors", () => {
    expect(sha256Portable("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Portable("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Portable("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  });

  it("gives node:crypto's digest for any text, at every padding boundary", () => {
    for (let n = 0; n < 200; n++) expect(sha256Portable("x".repeat(n))).toBe(node("x".repeat(n)));
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => sha256Portable(s) === node(s)),
      { numRuns: 2000 },
    );
  });
});

describe("no Node built-ins in the core", () => {
  it("imports node: modules only lazily", () => {
    const dist = new URL("../dist/", import.meta.url);
    const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
    expect(files).toContain("enforcer.js");
    for (const f of files) {
      const text = readFileSync(new URL(f, dist), "utf8");
      expect(text, `${f} imports a Node built-in at load time`).not.toMatch(/^\s*import\s[^;]*from\s+["']node:/m);
      expect(text, `${f} requires a Node built-in`).not.toMatch(/\brequire\(["']node:/);
    }
  });
});
