/** Shared wiring of the end-to-end tests: tool discovery, the skip rule, fixtures, processes. */
import { type ChildProcess, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const EXTENSION_DIR = join(ROOT, "packages", "vscode-extension");
export const OUTPUT_DIR = join(ROOT, "test-output", "e2e");

/** With ARMOR_E2E=1 (CI after test/e2e/setup.sh) a missing tool fails the test instead of skipping it. */
export const REQUIRED = process.env.ARMOR_E2E === "1";

export function which(command: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v "$0"`, command], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : null;
}

/**
 * The skip rule: skip only when something is missing and ARMOR_E2E is not "1". Prints why.
 * Returns true when the test should be skipped.
 */
export function skipUnlessReady(suite: string, missing: readonly string[]): boolean {
  if (missing.length === 0) return false;
  const what = missing.join("; ");
  if (REQUIRED) {
    console.error(`[e2e] ${suite}: ARMOR_E2E=1 but ${what}: failing`);
    return false;
  }
  console.warn(`[e2e] skipping ${suite}: ${what} (run \`bash test/e2e/setup.sh\`; with ARMOR_E2E=1 this is a failure)`);
  return true;
}

/** The language server's command line: ARMOR_LSP_CMD, else the lsp package's bin. */
export function serverCommand(): { argv: string[]; missing: string | null } {
  const override = process.env.ARMOR_LSP_CMD;
  if (override) return { argv: override.split(" ").filter(Boolean), missing: null };
  const bin = join(ROOT, "packages", "lsp", "bin", "armor-lsp.js");
  const built = existsSync(join(ROOT, "packages", "lsp", "dist"));
  return {
    argv: [process.execPath, bin, "--stdio"],
    missing: existsSync(bin) && built ? null : "the language server is not built (npm run build -w @agent-armor/lsp)",
  };
}

export interface Fixture {
  readonly dir: string;
  /** The policy with one error: `amout` (A302, did you mean `amount`) where `amount` was. */
  readonly file: string;
  /** 0-based line and column of the error. */
  readonly errorLine: number;
  readonly errorColumn: number;
  /** 0-based position right after an `action.` in the file. */
  readonly afterActionDot: { line: number; column: number };
}

/**
 * A copy of examples/payments (policy, schema, tests) in `dir`, as NAME.armor, with one error
 * introduced: a misspelt field.
 */
export function paymentsFixture(dir: string, name = "payments"): Fixture {
  mkdirSync(dir, { recursive: true });
  const example = join(ROOT, "examples", "payments");
  copyFileSync(join(example, "actions.schema.json"), join(dir, "actions.schema.json"));
  const original = readFileSync(join(example, "policy.armor"), "utf8");
  const needle = "and amount > HARD_CAP";
  if (!original.includes(needle)) throw new Error(`examples/payments/policy.armor no longer contains \`${needle}\`: update the e2e fixture`);
  const text = original.replace(needle, "and amout > HARD_CAP");
  const file = join(dir, `${name}.armor`);
  writeFileSync(file, text);
  const lines = text.split("\n");
  const errorLine = lines.findIndex((l) => l.includes("amout"));
  const errorColumn = lines[errorLine]!.indexOf("amout");
  const actionLine = lines.findIndex((l) => /^\s*when action\.type == "wire_transfer"/.test(l));
  const afterActionDot = { line: actionLine, column: lines[actionLine]!.indexOf("action.") + "action.".length };
  return { dir, file, errorLine, errorColumn, afterActionDot };
}

/**
 * A clean copy of examples/payments with its schema and tests in `dir` (under their own names:
 * anonymous rule ids, which the tests name, contain the file name).
 */
export function cleanPayments(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const example = join(ROOT, "examples", "payments");
  for (const f of ["policy.armor", "policy.test.armor", "actions.schema.json"]) copyFileSync(join(example, f), join(dir, f));
  return join(dir, "policy.armor");
}

/** Every descendant of a process (children first found via /proc), for killing stragglers. */
export function descendants(pid: number): number[] {
  const r = spawnSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  const children = new Map<number, number[]>();
  for (const line of r.stdout.split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p === undefined || pp === undefined || Number.isNaN(p)) continue;
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends a process started with `detached: true` and everything it started: its process group,
 * then, by their own ids, descendants that left the group (code-server's fileWatcher).
 */
export async function killTree(child: ChildProcess | undefined): Promise<void> {
  const pid = child?.pid;
  if (pid === undefined) return;
  const all = [...descendants(pid), pid];
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pid, s);
    } catch {
      /* group gone */
    }
    for (const p of all) {
      try {
        process.kill(p, s);
      } catch {
        /* gone */
      }
    }
  };
  signal("SIGTERM");
  for (let i = 0; i < 50 && all.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  if (all.some(alive)) signal("SIGKILL");
}

export const codeServerDir = (): string => process.env.ARMOR_CODE_SERVER_DIR ?? join(homedir(), ".cache", "armor-e2e", "code-server");
