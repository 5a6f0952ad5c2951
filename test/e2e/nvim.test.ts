/**
 * Headless Neovim as a language-server client of `armor-lsp --stdio`: a policy with an error
 * gets its diagnostic, completion after `action.` offers the schema's fields, and after the fix
 * the diagnostics clear. Skipped (with the reason printed) only when nvim is missing and
 * ARMOR_E2E is not "1".
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanPayments, OUTPUT_DIR, paymentsFixture, serverCommand, skipUnlessReady, which } from "./support.js";

const nvim = which("nvim");
const server = serverCommand();
const skip = skipUnlessReady("the Neovim e2e test", [...(nvim ? [] : ["nvim is not installed"]), ...(server.missing ? [server.missing] : [])]);
const work = mkdtempSync(join(tmpdir(), "armor-e2e-nvim-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("Neovim as an LSP client", () => {
  it.skipIf(skip)(
    "gets diagnostics, completion after `action.`, and clean diagnostics after the fix",
    () => {
      expect(nvim, "nvim is not installed (ARMOR_E2E=1)").not.toBeNull();
      expect(server.missing, "language server").toBeNull();
      const fx = paymentsFixture(join(work, "policies"));
      const out = join(work, "nvim-result.txt");
      const line = readFileSync(fx.file, "utf8").split("\n")[fx.errorLine]!;
      const r = spawnSync(nvim!, ["--headless", "--clean", "-c", `luafile ${join(import.meta.dirname, "nvim-lsp-check.lua")}`], {
        cwd: fx.dir,
        encoding: "utf8",
        timeout: 90_000,
        killSignal: "SIGKILL",
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          ARMOR_SERVER: server.argv.join(" "),
          ARMOR_FILE: fx.file,
          ARMOR_OUT: out,
          ARMOR_COMPLETE: `${fx.afterActionDot.line},${fx.afterActionDot.column}`,
          ARMOR_FIX: `${fx.errorLine},${fx.errorColumn},${fx.errorColumn + "amout".length},amount`,
        },
      });
      let log = "";
      try {
        log = readFileSync(out, "utf8");
      } catch {
        /* reported below */
      }
      console.log(`[e2e] nvim exit ${r.status}${r.signal ? ` (${r.signal})` : ""}\n${log}${r.stderr ? `stderr: ${r.stderr}` : ""}`);
      const get = (key: string): string =>
        log
          .split("\n")
          .find((l) => l.startsWith(`${key}=`))
          ?.slice(key.length + 1) ?? "";

      expect(Number(get("diagnostics.count")), "diagnostics for the misspelt field").toBeGreaterThan(0);
      const diags = log.split("\n").filter((l) => l.startsWith("diagnostic."));
      expect(
        diags.some((d) => d.startsWith(`diagnostic.1=${fx.errorLine}:${fx.errorColumn} severity=1`) && d.includes("amout")),
        diags.join("\n"),
      ).toBe(true);

      const labels = get("completion.labels").split(" ");
      for (const field of ["amount", "recipient", "currency", "memo"]) expect(labels, `completion after \`action.\` offers ${field}`).toContain(field);

      expect(get("fixed_by"), "the server's quick fix for A302 (did you mean `amount`)").toMatch(/^quickfix: /);
      expect(get("fixed_line")).toContain("and amount > HARD_CAP");
      expect(line).toContain("amout");
      expect(get("diagnostics.after_fix")).toBe("0");
      expect(get("result")).toBe("PASS");
      expect(r.status).toBe(0);
    },
    120_000,
  );

  it.skipIf(skip)(
    "shows each test's decision as a code lens and an inlay hint, follows an edit, and opens the explanation",
    () => {
      const policy = cleanPayments(join(work, "lens"));
      const tests = policy.replace(/\.armor$/, ".test.armor");
      const out = join(work, "nvim-lens.txt");
      const r = spawnSync(nvim!, ["--headless", "--clean", "-c", `luafile ${join(import.meta.dirname, "nvim-lens-check.lua")}`], {
        cwd: join(work, "lens"),
        encoding: "utf8",
        timeout: 90_000,
        killSignal: "SIGKILL",
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ARMOR_SERVER: server.argv.join(" "), ARMOR_FILE: tests, ARMOR_OUT: out },
      });
      let log = "";
      try {
        log = readFileSync(out, "utf8");
      } catch {
        /* reported below */
      }
      console.log(`[e2e] nvim (lens) exit ${r.status}${r.signal ? ` (${r.signal})` : ""}\n${log}${r.stderr ? `stderr: ${r.stderr}` : ""}`);
      // the log is this test's record of what Neovim showed (no screenshots in a headless terminal)
      mkdirSync(OUTPUT_DIR, { recursive: true });
      writeFileSync(join(OUTPUT_DIR, "nvim-lens.txt"), log);
      const get = (key: string): string =>
        log
          .split("\n")
          .find((l) => l.startsWith(`${key}=`))
          ?.slice(key.length + 1) ?? "";
      const count = (readFileSync(tests, "utf8").match(/^test "/gm) ?? []).length;
      expect(Number(get("lenses.count")), "one decision lens per test").toBe(count);
      expect(Number(get("lenses.passing"))).toBe(count);
      expect(get("lens.1")).toMatch(/^\d+ ✓ allow by /);
      expect(Number(get("hints.count"))).toBe(count);
      expect(get("lens.after_edit")).toMatch(/^✗ expected (allow|deny)/);
      expect(get("explanation.first_lines")).toMatch(/^test ".*" \(call stage\): /);
      expect(get("result")).toBe("PASS");
      expect(r.status).toBe(0);
    },
    90_000,
  );
});
