/**
 * The framework adapters under hostile tool calls: arguments that do not match the tool's schema
 * (or are not an object, or try to name another tool), a tool that throws, an approval that times
 * out while the framework waits. Each must reach the model as a clear denial (or the framework's
 * own tool error, carrying only the error's text), leave its records in an audit log that
 * verifies, and never become an unhandled rejection.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApprovalQueue, createEnforcer, type Enforcer, verifyAuditLogFile } from "@agent-armor/runtime";
import { generateText, stepCountIs, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { armorTools } from "../../packages/adapter-ai-sdk/src/index.js";
import { call, scriptedModel, text, toolOutputs } from "../../packages/adapter-ai-sdk/test/scripted-model.js";

const POLICY = `policy hostile version "1"

default allow

rule wires_need_a_person
  when action.type == "wire"
  require approval timeout 200ms because "every wire needs a person"

rule no_admin_calls
  when action.type == "admin_reset"
  deny because "the agent may not reset accounts"
`;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));

interface Case {
  name: string;
  tool: string;
  /** The arguments as the model wrote them (JSON text). */
  input: string;
  /** What the model reads as the tool's output. */
  seen: { type: string; value: unknown };
  /** The audit records of the call, in order (`kind decision|outcome-error`). */
  records: string[];
}

const cases: Case[] = [
  {
    name: "arguments of the wrong type",
    tool: "lookup",
    input: JSON.stringify({ id: "seven" }),
    seen: {
      type: "json",
      value: {
        denied: true,
        stage: "call",
        decision: "deny",
        rules: [],
        errors: ["the arguments of `lookup` do not match its input schema: id: Expected number, received string"],
        message: "the call of `lookup` was refused: the arguments of `lookup` do not match its input schema: id: Expected number, received string",
      },
    },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "arguments that are not an object",
    tool: "lookup",
    input: JSON.stringify([1, 2, 3]),
    seen: { type: "json", value: expect.objectContaining({ denied: true, errors: ["the arguments of `lookup` do not match its input schema: id: Required"] }) },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "a `type` argument naming a tool the policy denies is decided as the tool called",
    tool: "lookup",
    input: JSON.stringify({ id: 1, type: "admin_reset" }),
    seen: { type: "json", value: { id: 1 } },
    records: ["decision allow", "outcome ok"],
  },
  {
    name: "a `type` argument cannot launder a denied tool",
    tool: "admin_reset",
    input: JSON.stringify({ user: "ann", type: "lookup" }),
    seen: { type: "json", value: expect.objectContaining({ denied: true, rules: [{ id: "no_admin_calls", reason: "the agent may not reset accounts" }] }) },
    records: ["decision deny"],
  },
  {
    // the SDK's own JSON parser refuses the call before any tool sees it: nothing is decided or runs
    name: "an own `__proto__` argument is refused by the SDK itself",
    tool: "lookup",
    input: '{"id": 2, "__proto__": {"type": "admin_reset"}}',
    seen: { type: "error-text", value: expect.stringContaining("Object contains forbidden prototype property") },
    records: [],
  },
  {
    name: "a tool that throws",
    tool: "flaky",
    input: JSON.stringify({}),
    seen: { type: "error-text", value: "upstream exploded" },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "a tool that throws something that is not an Error",
    tool: "throws_string",
    input: JSON.stringify({}),
    seen: { type: "error-text", value: "just a string" },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "an approval that times out while the SDK waits",
    tool: "wire",
    input: JSON.stringify({ amount: 5 }),
    seen: {
      type: "json",
      value: expect.objectContaining({ denied: true, decision: "deny", rules: [{ id: "wires_need_a_person", reason: "every wire needs a person" }], errors: ["approval timed out after 200 ms"] }),
    },
    records: ["decision deny"],
  },
];

const aiSdkTools = {
  lookup: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => ({ id }) }),
  admin_reset: tool({ inputSchema: z.object({ user: z.string() }), execute: async ({ user }) => `reset ${user}` }),
  flaky: tool({
    inputSchema: z.object({}),
    execute: async () => {
      throw Object.assign(new Error("upstream exploded"), { stack: "SECRET STACK", cause: "secret cause" });
    },
  }),
  throws_string: tool({
    inputSchema: z.object({}),
    execute: async () => {
      throw "just a string";
    },
  }),
  wire: tool({ inputSchema: z.object({ amount: z.number() }), execute: async ({ amount }) => `wired ${amount}` }),
};

async function hostileEnforcer(): Promise<{ enforcer: Enforcer; file: string }> {
  const file = join(mkdtempSync(join(tmpdir(), "armor-adapters-")), "audit.jsonl");
  // an approval queue nobody answers: every approval times out
  const enforcer = await createEnforcer({ policy: { fileName: "hostile.armor", source: POLICY }, approvals: createApprovalQueue(), audit: { file } });
  return { enforcer, file };
}

function recordsOf(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { kind: string; decision?: string; outcome?: string })
    .map((r) => (r.kind === "decision" ? `decision ${r.decision}` : `${r.kind} ${r.outcome ?? r.decision}`));
}

describe("AI SDK adapter under hostile calls", () => {
  it.each(cases)("$name", async (c) => {
    const { enforcer, file } = await hostileEnforcer();
    const model = scriptedModel([[{ type: "tool-call", toolCallId: "h1", toolName: c.tool, input: c.input }], [text("ok")]]);
    const result = await generateText({ model, tools: armorTools(enforcer, aiSdkTools, { ctx: { session: "hostile" } }), prompt: "go", stopWhen: stepCountIs(3) });
    expect(result.text).toBe("ok");
    expect(toolOutputs(model.prompts[1]!).get("h1")).toEqual(c.seen);
    expect(JSON.stringify(model.prompts)).not.toMatch(/SECRET|secret cause/);
    await enforcer.close();
    expect(recordsOf(file)).toEqual(c.records);
    if (c.records.length > 0) expect((await verifyAuditLogFile(file)).ok).toBe(true);
    expect(unhandled).toEqual([]);
  });

  it("an unused helper keeps the import honest", () => {
    expect(call("x", "lookup", { id: 1 })).toEqual({ type: "tool-call", toolCallId: "x", toolName: "lookup", input: '{"id":1}' });
  });
});
