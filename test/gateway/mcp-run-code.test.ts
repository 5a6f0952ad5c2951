/**
 * `armor mcp --run-code`: the gateway's built-in `run_code` tool, driven by the official SDK
 * client over stdio. Each run is decided on the code's facts before it runs, runs in the sandbox
 * within the limits given on the command line, and its output is decided as its result; the
 * upstream's tools the code may call (`--run-code-tools`) are decided as their own calls; every
 * step is in the audit log, which verifies.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armorBin, armorcBin, assertBuilt, type Connected, connectGateway, fixtures, repoRoot, textOf } from "./support.js";

const policy = join(fixtures, "run-code.armor");
const upstream = [process.execPath, join(fixtures, "run-code-upstream.mjs")];

type Meta = { "agent-armor/decision"?: { decision: string; stage?: string; rules: { id: string }[] } };
const decisionOf = (r: { _meta?: unknown }) => (r._meta as Meta | undefined)?.["agent-armor/decision"];

function records(file: string): { kind: string; decision?: string; outcome?: string; action?: { type?: string; error?: string }; rules?: { id: string }[] }[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("armor mcp --run-code js", () => {
  let gw: Connected;
  let audit: string;
  beforeAll(async () => {
    assertBuilt();
    audit = join(mkdtempSync(join(tmpdir(), "armor-mcp-run-code-")), "audit.jsonl");
    gw = await connectGateway(["--policy", policy, "--audit", audit, "--run-code", "js", "--run-code-time", "1000", "--run-code-memory", "16", "--run-code-tools", "lookup", "--", ...upstream]);
  });
  afterAll(() => gw?.close());

  const run = (code: string) => gw.client.callTool({ name: "run_code", arguments: { language: "javascript", code } });

  it("lists run_code with the upstream's tools, in the place of the upstream's own run_code", async () => {
    const { tools } = await gw.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["lookup", "lookups", "run_code"]);
    const tool = tools.find((t) => t.name === "run_code")!;
    expect(tool.description).not.toBe("the upstream's own");
    expect(tool.inputSchema).toMatchObject({ required: ["language", "code"], properties: { language: { enum: ["javascript"] } } });
    expect(gw.stderr()).toContain("the upstream's own `run_code` tool is not listed");
  });

  // [what, code, the text the client reads (a pattern), whether it is an error, the deciding rule]
  const cases: [string, string, RegExp, boolean, string | null][] = [
    ["an allowed run: its value and output", 'console.log("sum"); return 1 + 2', /^\{"value":3,"stdout":"sum\\n"\}$/, false, null],
    ["output with a card number, redacted", 'console.log("paid with 4111 1111 1111 1111"); return "ok"', /"stdout":"paid with \[CARD\]\\n"/, false, "cards_stay_out"],
    [
      "code that starts processes, denied before it runs",
      'require("child_process").execSync("id")',
      /denied the call to `run_code`[\s\S]*rule no_processes: code may not start processes/,
      true,
      "no_processes",
    ],
    ["code that hides what it calls, denied", 'globalThis["ev" + "al"]("1")', /rule no_hidden_code/, true, "no_hidden_code"],
    ["a loop that never ends, stopped at the time limit", "for (;;) {}", /^the run failed \(timeout\): the code ran longer than 1000 ms/, true, null],
    ["a memory bomb, stopped at the memory limit", 'const a = []; for (;;) a.push("x".repeat(1e5) + a.length)', /^the run failed \((memory|timeout)\)/, true, null],
    ["code that throws, its error named", 'throw new Error("no such column")', /^the run failed \(exception\): .*no such column/, true, null],
    ["an upstream tool called from the code, decided as its own call, its result decided", 'return (await lookup({ key: "card" })).text', /"value":"card \[CARD\]"/, false, null],
    [
      "an upstream tool call the policy denies fails inside the code, which carries on",
      'try { await lookup({ key: "secret" }) } catch (e) { return e.message }',
      /"value":"action `lookup` denied \(no_secret_lookups: the code may not look up the secret\)"/,
      false,
      null,
    ],
  ];
  it.each(cases)("%s", async (_what, code, text, isError, rule) => {
    const r = await run(code);
    expect(textOf(r)).toMatch(text);
    expect(r.isError === true).toBe(isError);
    if (rule !== null) expect(decisionOf(r)?.rules.map((x) => x.id)).toContain(rule);
  });

  it("never forwards run_code to the upstream, and a denied host call never reaches it", async () => {
    const before = Number(textOf(await gw.client.callTool({ name: "lookups", arguments: {} })));
    await run('try { await lookup({ key: "secret" }) } catch {} return 1');
    expect(Number(textOf(await gw.client.callTool({ name: "lookups", arguments: {} })))).toBe(before);
    expect(textOf(await run("return 'the sandbox'"))).toContain("the sandbox");
  });

  it("audits every step, and the log verifies", async () => {
    await run("return 42");
    const rs = records(audit);
    const runs = rs.filter((r) => r.kind === "decision" && r.action?.type === "run_code");
    expect(runs.length).toBeGreaterThanOrEqual(cases.length);
    expect(rs.some((r) => r.kind === "decision" && r.action?.type === "lookup" && r.decision === "deny")).toBe(true);
    expect(rs.filter((r) => r.kind === "outcome" && r.outcome === "error").length).toBeGreaterThanOrEqual(3);
    // the printed card number was redacted before the result record (which holds its hash)
    expect(rs.filter((r) => r.kind === "result" && (r as { redacted?: string[] }).redacted?.includes("result.stdout")).length).toBeGreaterThanOrEqual(1);
    const v = spawnSync(process.execPath, [armorcBin, "audit", "verify", audit], { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});

describe("armor mcp --run-code python", () => {
  it("decides Python on its facts, runs it, and redacts what it prints", { timeout: 240_000 }, async () => {
    const audit = join(mkdtempSync(join(tmpdir(), "armor-mcp-run-code-py-")), "audit.jsonl");
    const gw = await connectGateway(["--policy", policy, "--audit", audit, "--run-code", "python", "--run-code-time", "60000", "--", ...upstream]);
    try {
      const py = (code: string) => gw.client.callTool({ name: "run_code", arguments: { language: "python", code } });
      const denied = await py('import subprocess\nsubprocess.run(["id"])');
      expect(denied.isError).toBe(true);
      expect(textOf(denied)).toContain("rule no_processes");
      const ran = await py('print("card 4111 1111 1111 1111")\nsum([1, 2, 3])');
      expect(ran.isError).toBeFalsy();
      expect(ran.structuredContent).toEqual({ value: 6, stdout: "card [CARD]\n" });
      // JavaScript was not enabled
      const js = await gw.client.callTool({ name: "run_code", arguments: { language: "javascript", code: "1" } });
      expect(textOf(js)).toContain('`language` "javascript" is not run here; the languages enabled are "python"');
    } finally {
      await gw.close();
    }
    const v = spawnSync(process.execPath, [armorcBin, "audit", "verify", audit], { cwd: repoRoot, encoding: "utf8", timeout: 30_000 });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});

describe("the sandbox loads only with --run-code", () => {
  it("the armor bundle imports @agent-armor/sandbox only by import(), never statically", () => {
    const bundle = join(repoRoot, "packages", "cli", "dist", "bundle");
    const texts = readdirSync(bundle)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(bundle, f), "utf8"));
    expect(texts.some((t) => t.includes('import("@agent-armor/sandbox")'))).toBe(true);
    expect(texts.filter((t) => /\bfrom\s*"@agent-armor\/sandbox"|^import\s*"@agent-armor\/sandbox"/m.test(t))).toEqual([]);
  });

  it("without --run-code, run_code is the upstream's tool, passed through", async () => {
    const gw = await connectGateway(["--policy", policy, "--", ...upstream]);
    try {
      const { tools } = await gw.client.listTools();
      expect(tools.find((t) => t.name === "run_code")?.description).toBe("the upstream's own");
      const r = await gw.client.callTool({ name: "run_code", arguments: { imports: [], dynamic: false } });
      expect(textOf(r)).toBe("the upstream's run_code ran");
    } finally {
      await gw.close();
    }
  });
});

describe("armor mcp --run-code --hide-denied-tools", () => {
  it("leaves run_code out of the list when the policy always denies it, and still decides a call of it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "armor-mcp-run-code-hidden-"));
    const denying = join(dir, "no-code.armor");
    writeFileSync(denying, 'policy no_code version "1"\ndefault allow\nrule no_code\n  when action.type == "run_code"\n  deny because "no code runs here"\n');
    const gw = await connectGateway(["--policy", denying, "--hide-denied-tools", "--run-code", "js", "--", ...upstream]);
    try {
      const { tools } = await gw.client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["lookup", "lookups"]);
      const r = await gw.client.callTool({ name: "run_code", arguments: { language: "javascript", code: "return 1" } });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("rule no_code: no code runs here");
    } finally {
      await gw.close();
    }
  });
});

describe("the --run-code options", () => {
  // [arguments, the usage error's text]
  const refused: [string[], string][] = [
    [["mcp", "--policy", policy, "--run-code", "ruby", "--", "true"], "--run-code takes js, python or js,python, not `ruby`"],
    [["mcp", "--policy", policy, "--run-code-time", "500", "--", "true"], "--run-code-time sets a limit of the sandbox: it needs --run-code js,python"],
    [["serve", "--policy", policy, "--run-code", "js", "--run-code-memory", "0"], "--run-code-memory must be a whole number from 1 to 4096, not `0`"],
    [["serve", "--policy", policy, "--run-code", "js", "--run-code-time", "1e3"], "--run-code-time must be a whole number from 1 to 600000, not `1e3`"],
    [["mcp", "--policy", policy, "--run-code", "js", "--run-code-tools", "read-file", "--", "true"], "`read-file` is not a name the code can call"],
    [["serve", "--policy", policy, "--run-code", "js", "--run-code-tools", "lookup"], "--run-code-tools"],
    // the guest would call the upstream's own run_code with facts it made up
    [["mcp", "--policy", policy, "--run-code", "js", "--run-code-tools", "lookup,run_code", "--", "true"], "--run-code-tools cannot name `run_code`"],
    // without a token, any client that reaches the port would run code
    [["serve", "--policy", policy, "--host", "0.0.0.0", "--run-code", "js"], "--run-code on --host 0.0.0.0 needs --token-file"],
  ];
  it.each(refused)("armor %j is a usage error", (args, text) => {
    const r = spawnSync(process.execPath, [armorBin, ...args], { cwd: repoRoot, encoding: "utf8", input: "", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
