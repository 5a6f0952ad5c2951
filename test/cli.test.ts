/**
 * The armorc binary, run as a user runs it: a child process on the built package, checked by
 * exit code, stdout and stderr. `npm test` builds before testing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./support/baseline.js";

const bin = join(repoRoot, "packages", "cli", "bin", "armorc.js");

function armorc(args: string[], options: { input?: string; cwd?: string; env?: Record<string, string> } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? repoRoot,
    input: options.input ?? "",
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    timeout: 30_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let work: string;
const payments = "examples/payments/policy.armor";

beforeAll(() => {
  expect(existsSync(join(repoRoot, "packages", "cli", "dist", "bundle", "armorc.js")), "run `npm run build` first").toBe(true);
  work = mkdtempSync(join(tmpdir(), "armorc-cli-"));
  cpSync(join(repoRoot, "test", "cases", "check", "actions.schema.json"), join(work, "actions.schema.json"));
  writeFileSync(join(work, "bad.armor"), 'default allow\nschema "./actions.schema.json"\nrule r when action.type == "wire_transfer" and amount > "x" deny\n');
  writeFileSync(join(work, "warn.armor"), 'default allow\nlet UNUSED = 1\nrule r when action.type == "x" deny\n');
  writeFileSync(join(work, "syntax.armor"), "rule r when amount > deny\n");
  writeFileSync(join(work, "ugly.armor"), 'default   allow\nrule r when action.type=="x"   deny\n');
});

describe("armorc", () => {
  it("prints its version and help", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "packages", "compiler", "package.json"), "utf8")) as { version: string };
    expect(armorc(["--version"]).stdout.trim()).toBe(pkg.version);
    const help = armorc(["--help"]);
    expect(help.status).toBe(0);
    for (const c of ["compile", "check", "eval", "fmt"]) {
      expect(help.stdout).toContain(c);
      const sub = armorc([c, "--help"]);
      expect(sub.status).toBe(0);
      expect(sub.stdout).toMatch(new RegExp(`^Usage: armorc ${c}`));
    }
  });

  it("rejects unknown commands and options with exit code 2", () => {
    const unknown = armorc(["chek", "x.armor"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("did you mean `check`");
    const badOption = armorc(["check", "--frobnicate", payments]);
    expect(badOption.status).toBe(2);
    expect(badOption.stderr).toContain("usage: armorc check");
  });

  // docs/cli.md: usage errors exit 2; asking for help is not an error
  const usageCases = [
    { bin: "armorc", args: [], status: 2, usageOn: "stderr" },
    { bin: "armorc", args: ["--help"], status: 0, usageOn: "stdout" },
    { bin: "armor", args: [], status: 2, usageOn: "stderr" },
    { bin: "armor", args: ["--help"], status: 0, usageOn: "stdout" },
  ] as const;
  it.each(usageCases)("$bin $args exits $status with usage on $usageOn", ({ bin: name, args, status, usageOn }) => {
    const path = join(repoRoot, "packages", "cli", "bin", `${name}.js`);
    const r = spawnSync(process.execPath, [path, ...args], { cwd: repoRoot, input: "", encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status).toBe(status);
    const [shown, other] = usageOn === "stderr" ? [r.stderr, r.stdout] : [r.stdout, r.stderr];
    expect(shown).toContain("Usage:");
    expect(other).toBe("");
  });

  // the upstream's command line (from its first word, or after `--`) is the upstream's: its `--help` is not ours
  const upstreamCases = [
    { bin: "armor", args: ["mcp", "--policy", "warn.armor", "sh", "-c", "exit 3", "--help"], refused: "armor mcp: cannot connect to the upstream" },
    { bin: "armor", args: ["mcp", "--policy", "warn.armor", "--", "sh", "-c", "exit 3", "-h"], refused: "armor mcp: cannot connect to the upstream" },
    // a value that starts with `-` is the option's value
    { bin: "armor", args: ["mcp", "--policy", "warn.armor", "--session", "-s1", "--", "sh", "-c", "exit 3"], refused: "armor mcp: cannot connect to the upstream" },
    { bin: "armorc", args: ["schema", "from-mcp", "--", "sh", "-c", "exit 3", "--help"], refused: "armorc schema: cannot list the tools of `sh -c exit 3 --help`" },
  ];
  it.each(upstreamCases)("$bin $args starts the upstream", ({ bin: name, args, refused }) => {
    const path = join(repoRoot, "packages", "cli", "bin", `${name}.js`);
    const r = spawnSync(process.execPath, [path, ...args], { cwd: work, input: "", encoding: "utf8", timeout: 30_000, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stdout).not.toContain("Usage:");
    expect(r.stderr).toContain(refused);
    expect(r.status).toBe(1);
  });

  it("is reachable as npx armorc from the repository root", () => {
    const out = execFileSync("npx", ["--no-install", "armorc", "--version"], { cwd: repoRoot, encoding: "utf8" });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("armorc check", () => {
  it("checks NAME.test.armor as the tests of NAME.armor", () => {
    const r = armorc(["check", "examples/payments/policy.test.armor"]);
    expect(r.stderr).not.toContain("error[");
    expect(r.stderr).toContain("checked 1 file: no errors");
    expect(r.status).toBe(0);
  });

  it("reports a test file's and its policy's diagnostics in their own files, each once", () => {
    const dir = mkdtempSync(join(tmpdir(), "armorc-check-tests-"));
    writeFileSync(join(dir, "p.armor"), 'default allow\nlet UNUSED = 1\nrule block when action.type == "x" deny\n');
    writeFileSync(join(dir, "p.test.armor"), 'test "t" {\n  action { type: "x" }\n  expect deny by blok\n}\n');
    writeFileSync(join(dir, "lonely.test.armor"), 'test "t" {\n  action { type: "x" }\n  expect deny\n}\n');
    // a policy path that is a folder: it cannot be read (A501, exit 2), and it is there (no A605)
    mkdirSync(join(dir, "folder.armor"));
    writeFileSync(join(dir, "folder.test.armor"), 'test "t" {\n  action { type: "x" }\n  expect deny\n}\n');
    const cases = [
      { files: ["p.test.armor"], want: ["warning[A403]", "--> p.armor:2:", "--> p.test.armor:3:"], status: 1 },
      { files: ["p.armor", "p.test.armor"], want: ["--> p.armor:2:", "--> p.test.armor:3:"], status: 1 },
      { files: ["lonely.test.armor"], want: ["error[A605]", "`lonely.test.armor` has no policy `lonely.armor`"], status: 1 },
      { files: ["folder.test.armor"], want: ["error[A501]", "`folder.armor`: it is a directory"], not: "A605", status: 2 },
    ];
    for (const c of cases) {
      const r = armorc(["check", ...c.files], { cwd: dir });
      for (const w of c.want) expect(r.stderr, c.files.join(" ")).toContain(w);
      if (c.not) expect(r.stderr, c.files.join(" ")).not.toContain(c.not);
      expect(r.stderr.split("--> p.armor:2:").length - 1, c.files.join(" ")).toBe(c.files[0]!.startsWith("p.") ? 1 : 0);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.status, c.files.join(" ")).toBe(c.status);
    }
  });

  it("exits 0 on clean policies", () => {
    const r = armorc(["check", ...["payments", "email", "coding-agent", "data-access"].map((e) => `examples/${e}/policy.armor`)]);
    expect(r.stderr).toContain("no errors");
    expect(r.status).toBe(0);
  });

  it("exits 1 on errors and renders file:line:col, the source line and carets", () => {
    const r = armorc(["check", join(work, "bad.armor")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[A301]");
    expect(r.stderr).toMatch(/bad\.armor:3:\d+/);
    expect(r.stderr).toContain('amount > "x"');
    expect(r.stderr).toMatch(/\^{3,}/);
    expect(r.stderr).not.toMatch(/\u001b\[/);
  });

  it("fails on warnings only with --deny-warnings", () => {
    expect(armorc(["check", join(work, "warn.armor")]).status).toBe(0);
    const strict = armorc(["check", "--deny-warnings", join(work, "warn.armor")]);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain("A403");
  });

  it("emits the same diagnostics as JSON and SARIF", () => {
    const json = armorc(["check", "--format", "json", join(work, "bad.armor")]);
    expect(json.status).toBe(1);
    const items = JSON.parse(json.stdout) as { code: string; range: { start: { line: number } } }[];
    expect(items.map((d) => d.code)).toEqual(["A301"]);
    expect(items[0]!.range.start.line).toBe(3);
    const sarif = JSON.parse(armorc(["check", "--format", "sarif", join(work, "bad.armor")]).stdout) as {
      version: string;
      runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[];
    };
    expect(sarif.version).toBe("2.1.0");
    expect(sarif.runs[0]!.results.map((r) => r.ruleId)).toEqual(["A301"]);
    expect(sarif.runs[0]!.results[0]!.locations[0]!.physicalLocation.region.startLine).toBe(3);
  });

  it("reports a missing file with exit code 2 and no stack trace", () => {
    const r = armorc(["check", "does/not/exist.armor"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("A501");
    expect(r.stderr).toContain("no such file");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("reports syntax errors with a location and a hint", () => {
    const r = armorc(["check", join(work, "syntax.armor")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[A101]");
    expect(r.stderr).toMatch(/syntax\.armor:1:\d+/);
  });
});

describe("armorc compile", () => {
  it("writes an ES module and its declarations that decide like the sketch says", async () => {
    const out = join(work, "esm");
    const r = armorc(["compile", payments, "-o", `${out}/`]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, "policy.d.ts"))).toBe(true);
    const mod = (await import(pathToFileURL(join(out, "policy.js")).href)) as { decide(i: unknown): { decision: string }; policy: { name: string; sourceHash: string } };
    expect(mod.policy.name).toBe("payments");
    expect(mod.policy.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    const input = JSON.parse(readFileSync(join(repoRoot, "examples/payments/inputs/balance-check-allowed.json"), "utf8")) as unknown;
    const expected = JSON.parse(readFileSync(join(repoRoot, "examples/payments/expected.json"), "utf8")) as Record<string, { decision: string }>;
    expect(mod.decide(input).decision).toBe(expected["balance-check-allowed.json"]!.decision);
  });

  it("writes CommonJS with --format cjs", () => {
    const target = join(work, "cjs", "payments.cjs");
    const r = armorc(["compile", payments, "--format", "cjs", "-o", target]);
    expect(r.status, r.stderr).toBe(0);
    const mod = createRequire(import.meta.url)(target) as { decide(i: unknown): { decision: string }; policy: { name: string } };
    expect(mod.policy.name).toBe("payments");
    expect(mod.decide({ action: { type: 42 } }).decision).toBe("deny");
    expect(existsSync(join(work, "cjs", "payments.d.cts"))).toBe(true);
  });

  // a failed write is an I/O error (exit 2) naming the path and the system's reason, not an internal error
  it.each([
    { out: "/proc/x.js", reason: "ENOENT: no such file or directory" },
    { out: "/proc/new/x.js", reason: "ENOENT: no such file or directory" },
    { out: "warn.armor/x.js", reason: "ENOTDIR: not a directory" },
  ])("reports -o $out that cannot be written", ({ out }) => {
    const r = armorc(["compile", "warn.armor", "-o", out], { cwd: work });
    expect(r.stderr).toContain(`armorc compile: cannot write \`${out}\`: `);
    expect(r.stderr).not.toContain("internal error");
    expect(r.status).toBe(2);
  });

  it("creates the directories -o names", () => {
    const r = armorc(["compile", "warn.armor", "-o", "made/by/compile/warn.js"], { cwd: work });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(work, "made/by/compile/warn.d.ts"))).toBe(true);
  });

  it("refuses to emit a policy with errors", () => {
    const target = join(work, "bad.js");
    const r = armorc(["compile", join(work, "bad.armor"), "-o", target]);
    expect(r.status).toBe(1);
    expect(existsSync(target)).toBe(false);
  });
});

describe("armorc eval", () => {
  const inputFile = "examples/payments/inputs/balance-check-allowed.json";

  it("prints the decision as JSON in the documented shape", () => {
    const r = armorc(["eval", payments, "--input", inputFile]);
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(d)).toEqual(["decision", "rules", "approval", "action", "errors", "labels"]);
  });

  it("reads the input from stdin with -", () => {
    const r = armorc(["eval", payments, "--input", "-"], { input: '{"action":{"type":"no_such_tool"}}' });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { decision: string }).decision).toBe("deny");
  });

  it("explains every rule with the values that decided it", () => {
    const r = armorc(["eval", "test/cases/emit/sketch-full.armor", "--explain", "--input", "-"], {
      input: JSON.stringify({ action: { type: "wire_transfer", amount: 25000, recipient: "bob" }, time: "2026-03-02T10:00:00Z" }),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rule wire_review .*fired/);
    expect(r.stderr).toContain("amount > HIGH_VALUE  ->  true  with 25000, 10000");
    expect(r.stderr).toMatch(/rule no_exfiltration .*did not fire/);
    expect((JSON.parse(r.stdout) as { decision: string }).decision).toBe("require_approval");
  });

  // the first is docs/diagnostics.md's A502 example; Node 20 names no position for it
  it.each([
    { input: '{"action": {"type": "x",}}', at: "<stdin>:1:25" },
    { input: `{ "action": { "type": 'send_email' } }\n`, at: "<stdin>:1:23" },
  ])("reports an input that is not JSON at the bad token: $at", ({ input, at }) => {
    const r = armorc(["eval", payments, "--input", "-"], { input });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("A502");
    expect(r.stderr).toContain(`--> ${at}\n`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  // docs/diagnostics.md A503: its example is refused at the number; a wrong shape is decided deny
  it("refuses the A503 example at its number", () => {
    const input = '{ "action": { "type": "wire_transfer", "amount": 1e400 } }\n';
    const r = armorc(["eval", payments, "--input", "-"], { input });
    expect(r.stderr).toContain("error[A503]: the number `1e400` has no finite value");
    expect(r.stderr).toContain("--> <stdin>:1:50\n");
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
  });

  it("denies an input of the wrong shape and says why", () => {
    const r = armorc(["eval", payments, "--input", "-"], { input: '{"action": "wire"}' });
    expect(r.status).toBe(0);
    const d = JSON.parse(r.stdout) as { decision: string; errors: { rule: string | null; message: string }[] };
    expect(d.decision).toBe("deny");
    expect(d.errors[0]!.rule).toBeNull();
    expect(d.errors[0]!.message).toContain("`action` must be an object");
  });

  it("requires --input", () => {
    const r = armorc(["eval", payments]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--input is required");
  });
});

describe("armorc fmt", () => {
  it("prints, checks and writes the canonical layout", () => {
    const file = join(work, "ugly.armor");
    const printed = armorc(["fmt", file]);
    expect(printed.status).toBe(0);
    expect(printed.stdout).toContain("default allow");
    expect(printed.stdout).toContain('action.type == "x"');
    const check = armorc(["fmt", "--check", file]);
    expect(check.status).toBe(1);
    expect(check.stdout.trim()).toBe(file);
    expect(armorc(["fmt", "--write", file]).status).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(printed.stdout);
    expect(armorc(["fmt", "--check", file]).status).toBe(0);
  });

  it("refuses to format a file with syntax errors", () => {
    const r = armorc(["fmt", join(work, "syntax.armor")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("A101");
  });

  it("keeps the examples formatted", () => {
    const r = armorc(["fmt", "--check", ...["payments", "email", "coding-agent", "data-access"].map((e) => `examples/${e}/policy.armor`)]);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
