/**
 * `--config armor.yaml` for `armor serve` and `armor mcp`: the example files in docs/config name
 * every option and load; mistakes are reported at FILE:LINE:COLUMN with a hint; options on the
 * command line override the file's.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readConfigFile, UPSTREAM_COMMAND_KEY, withConfig } from "../../packages/cli/src/armor/config-file.js";
import { MCP_OPTIONS, SERVE_OPTIONS } from "../../packages/cli/src/armor/main.js";
import { armorBin, assertBuilt, repoRoot, startServe } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "armor-config-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => assertBuilt());

let n = 0;
const file = (text: string): string => {
  const path = join(work, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
};

describe("the example config files", () => {
  const examples = [
    // mcp: upstream-url and upstream-command exclude each other, and approvers take no shared token
    { command: "serve" as const, path: "docs/config/serve.armor.yaml", specs: SERVE_OPTIONS, without: ["config"] },
    { command: "mcp" as const, path: "docs/config/mcp.armor.yaml", specs: MCP_OPTIONS, without: ["config", "upstream-url", "token-file"] },
  ];
  it.each(examples)("$path names every option of armor $command and loads", ({ command, path, specs, without }) => {
    const values = readConfigFile(join(repoRoot, path), specs, command);
    const expected = Object.keys(specs).filter((k) => !without.includes(k));
    if (command === "mcp") expected.push(UPSTREAM_COMMAND_KEY);
    expect(Object.keys(values).sort()).toEqual(expected.sort());
  });

  it("is documented in docs/cli.md", () => {
    const doc = readFileSync(join(repoRoot, "docs", "cli.md"), "utf8");
    for (const e of examples) expect(doc).toContain(`(${e.path.replace("docs/", "")})`);
  });
});

describe("mistakes in a config file", () => {
  const cases: { name: string; text: string; error: RegExp }[] = [
    { name: "a misspelt key", text: "policy: p.armor\npolcy: q.armor\n", error: /:2:1: unknown key `polcy`; did you mean `policy`\?/ },
    { name: "a key of the other command", text: "upstream-url: http://x\n", error: /:1:1: unknown key `upstream-url`/ },
    { name: "a word where a port goes", text: "port: eighty\n", error: /:1:7: `port` must be a whole number/ },
    { name: "a port out of range", text: "port: 70000\n", error: /:1:7: `port` must be <= 65535/ },
    { name: "a string where a list goes", text: "allowed-host: a.example\n", error: /:1:15: `allowed-host` must be a list/ },
    { name: "a map where a string goes", text: "policy:\n  file: p.armor\n", error: /:2:3: `policy` must be a string or a number/ },
    { name: "an unknown overflow mode", text: "ship-overflow: block\n", error: /:1:16: `ship-overflow` must be one of "drop", "deny"/ },
    { name: "a YAML syntax error", text: "policy: p.armor\nport: [1,\n", error: /:\d+:\d+: .*(flow|Flow|indent|\])/ },
    { name: "the same key twice", text: "policy: a\npolicy: b\n", error: /:2:1: Map keys must be unique/ },
    { name: "a list instead of a map", text: "- policy: p.armor\n", error: /:1:1: a config file is a map of options/ },
    { name: "a number as a key", text: "1: x\n", error: /:1:1: a key is an option's name/ },
  ];
  it.each(cases)("$name", ({ text, error }) => {
    const path = file(text);
    expect(() => readConfigFile(path, SERVE_OPTIONS, "serve")).toThrow(error);
    try {
      readConfigFile(path, SERVE_OPTIONS, "serve");
    } catch (e) {
      expect((e as Error).message.startsWith(`${path}:`)).toBe(true);
    }
  });

  it("an empty file is no options", () => {
    expect(Object.keys(readConfigFile(file(""), SERVE_OPTIONS, "serve"))).toEqual([]);
  });

  it("armor serve prints the error with its location and a hint, and exits 2", () => {
    const path = file("policy: p.armor\nqueue-timeout: soon\n");
    const r = spawnSync(process.execPath, [armorBin, "serve", "--config", path], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`armor serve: ${path}:2:16: \`queue-timeout\` must be a whole number\n  = help: the config file's keys and values: docs/cli.md#the-config-file\n`);
  });
});

describe("flags and the file", () => {
  it("a flag overrides the file's value; a repeatable flag replaces the file's list", () => {
    const path = file("policy: a.armor\nport: 1\nallowed-host: [a, b]\naudit: x.jsonl\n");
    const { values } = withConfig({ config: path, port: "0", "allowed-host": ["c"] }, SERVE_OPTIONS, "serve");
    expect({ ...values }).toEqual({ policy: "a.armor", port: "0", "allowed-host": ["c"], audit: "x.jsonl" });
  });

  it("mcp's upstream command comes from the file unless the command line names one", () => {
    const path = file("policy: a.armor\nupstream-command: [node, server.js, --flag]\n");
    expect(withConfig({ config: path }, MCP_OPTIONS, "mcp").upstreamCommand).toEqual(["node", "server.js", "--flag"]);
  });

  it("armor serve runs from a config file, with --policy on the command line overriding it", async () => {
    const policy = join(work, "p.armor");
    writeFileSync(policy, 'policy from_flag version "1"\ndefault allow\n');
    const audit = join(work, "served.jsonl");
    const path = file(`policy: ${join(work, "missing.armor")}\naudit: ${audit}\nmax-body: 64\n`);
    const served = await startServe(["--config", path, "--policy", policy]);
    try {
      expect(served.stderr()).toContain("policy from_flag listening on");
      const big = await fetch(`${served.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ action: { type: "x", pad: "y".repeat(100) } }) });
      expect(big.status).toBe(413);
      const ok = await fetch(`${served.url}/v1/decide`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"action":{"type":"x"}}' });
      expect(ok.status).toBe(200);
    } finally {
      await served.stop();
    }
    expect(readFileSync(audit, "utf8")).toContain('"kind":"decision"');
  });
});
