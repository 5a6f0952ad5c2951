/** Pieces of @agent-armor/gateway in process: always-denied tools, JSON error locations, argument parsing, schemas. */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, repoRoot } from "./support.js";

type Gateway = typeof import("../../packages/gateway/src/index.js");
let gw: Gateway;

beforeAll(async () => {
  assertBuilt();
  gw = (await import(join(repoRoot, "packages", "gateway", "dist", "index.js"))) as Gateway;
});

async function compiled(source: string): Promise<{ meta: { id: string; effect: string; actionTypes: string[] | null }[]; ir: never[] }> {
  const { compileSource } = await import("@agent-armor/compiler");
  const c = compileSource("t.armor", source);
  expect(c.ok).toBe(true);
  const { loadPolicy } = await import("@agent-armor/runtime");
  const m = await loadPolicy({ source, fileName: "t.armor" });
  return { meta: m.module.policy.rules as never, ir: c.policy.rules as never };
}

describe("alwaysDeniedTools", () => {
  const policy = [
    "default allow",
    'rule a when action.type == "rm" deny',
    'rule b when action.type in ["mv", "cp"] deny',
    'rule c when action.type == "wire" and amount > 10 deny',
    'rule d when action.type == "mail" and user.role == "intern" deny',
    'rule e when action.type == "tee" require approval',
    'rule f when action.type == "cat" allow',
    'rule g when action.type == "ls" and not (action.type == "x") deny',
    "",
  ].join("\n");

  it("hides a tool only when a deny rule's condition is only the type test", async () => {
    const { meta } = await compiled(policy);
    const tools = ["rm", "mv", "cp", "wire", "mail", "tee", "cat", "ls", "other"];
    expect([...gw.alwaysDeniedTools(meta, tools)].sort()).toEqual(["cp", "ls", "mv", "rm"]);
  });

  it("keeps every tool when the metadata does not mark type-only rules", async () => {
    const { meta } = await compiled(policy);
    const unmarked = (meta as { typeOnly?: boolean }[]).map(({ typeOnly: _t, ...r }) => r);
    expect([...gw.alwaysDeniedTools(unmarked as never, ["rm", "mv", "wire"])]).toEqual([]);
  });
});

describe("schemaFromTools", () => {
  it("drops nested $schema, a tool argument named type, and keeps additionalProperties: false", () => {
    const s = gw.schemaFromTools([
      {
        name: "t/x",
        description: "d",
        inputSchema: {
          type: "object",
          $schema: "http://json-schema.org/draft-07/schema#",
          properties: { type: { type: "string" }, n: { type: "number" } },
          required: ["type", "n"],
          additionalProperties: false,
        },
      },
    ]) as { oneOf: { $ref: string }[]; $defs: Record<string, unknown> };
    expect(s.oneOf).toEqual([{ $ref: "#/$defs/t_x" }]);
    expect(s.$defs.t_x).toEqual({ type: "object", properties: { type: { const: "t/x" }, n: { type: "number" } }, required: ["type", "n"], description: "d", additionalProperties: false });
  });
});
