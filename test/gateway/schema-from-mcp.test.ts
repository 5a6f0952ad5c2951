/**
 * `armorc schema from-mcp -- CMD ARGS`: the action schema of server-everything's tools, then a
 * policy checked against it (the checker knows every tool and its arguments).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { armorcBin, assertBuilt, everything, repoRoot } from "./support.js";

let work: string;
let schemaPath: string;

function armorc(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [armorcBin, ...args], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Diag {
  code: string;
  severity: string;
  message: string;
  help?: string;
  range: { start: { line: number } };
}

beforeAll(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), "armor-schema-"));
  schemaPath = join(work, "everything.schema.json");
});

describe("armorc schema from-mcp", () => {
  it("writes a draft 2020-12 schema with one $defs entry per tool", () => {
    const r = armorc(["schema", "from-mcp", "-o", schemaPath, "--", process.execPath, ...everything]);
    expect(r.stderr).toMatch(/armorc schema: \d+ tools written to/);
    expect(r.status).toBe(0);
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as {
      $schema: string;
      oneOf: { $ref: string }[];
      $defs: Record<string, { type: string; properties: Record<string, unknown>; required: string[]; description?: string }>;
    };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(Object.keys(schema.$defs)).toHaveLength(schema.oneOf.length);
    expect(Object.keys(schema.$defs)).toEqual(expect.arrayContaining(["echo", "get-sum", "get-env"]));
    expect(schema.$defs["get-sum"]).toMatchObject({
      type: "object",
      properties: { type: { const: "get-sum" }, a: { type: "number" }, b: { type: "number" } },
      required: ["type", "a", "b"],
    });
    expect(typeof schema.$defs.echo!.description).toBe("string");
    expect(schema.oneOf).toContainEqual({ $ref: "#/$defs/echo" });
    // the tools' own drafts are not embedded
    expect(JSON.stringify(schema.$defs)).not.toContain("$schema");
  });

  it("prints to stdout without -o, and fails cleanly on a server that does not start", () => {
    const out = armorc(["schema", "from-mcp", "--", process.execPath, ...everything]);
    expect(out.status).toBe(0);
    expect(JSON.parse(out.stdout).oneOf.length).toBeGreaterThan(5);
    const bad = armorc(["schema", "from-mcp", "--", process.execPath, "-e", "process.exit(3)"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("cannot list the tools of");
    const usage = armorc(["schema", "from-mcp"]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("name the MCP server");
  });

  it("a policy against the generated schema checks with zero errors; typos get did-you-mean", () => {
    const good = join(work, "good.armor");
    writeFileSync(
      good,
      [
        "policy tools",
        'schema "./everything.schema.json"',
        "default allow",
        "",
        'rule big_sums when action.type == "get-sum" and a > 100 deny because "too big"',
        'rule no_env when action.type == "get-env" deny',
        'rule secrets when action.type == "echo" redact message matching /secret-[a-z0-9]+/',
        'rule weather when action.type == "get-structured-content" and location == "Chicago" require approval',
        "",
      ].join("\n"),
    );
    const ok = armorc(["check", good, "--format", "json"]);
    const diags = JSON.parse(ok.stdout) as Diag[];
    expect(diags.filter((d) => d.severity === "error")).toEqual([]);
    expect(diags).toEqual([]);
    expect(ok.status).toBe(0);

    const typo = join(work, "typo.armor");
    writeFileSync(
      typo,
      [
        'schema "./everything.schema.json"',
        "default allow",
        'rule r when action.type == "echo" and mesage == "x" deny',
        'rule t when action.type == "get-summ" deny',
        'rule u when action.type == "get-sum" and a == "ten" deny',
        "",
      ].join("\n"),
    );
    const bad = JSON.parse(armorc(["check", typo, "--format", "json"]).stdout) as Diag[];
    const field = bad.find((d) => d.code === "A302");
    expect(field?.message).toContain("`mesage` is not a field of `echo`");
    expect(field?.help).toBe("did you mean `message`?");
    const type = bad.find((d) => d.range.start.line === 4);
    expect(type?.help).toContain("did you mean `get-sum`?");
    // the argument's type comes from the tool's inputSchema
    expect(bad.some((d) => d.range.start.line === 5 && d.severity === "error")).toBe(true);
  });
});
