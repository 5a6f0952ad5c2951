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
import * as kit from "@agent-armor/runtime/adapter-kit";
import { tool as lcTool } from "@langchain/core/tools";
import { generateText, stepCountIs, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import * as aiSdk from "../../packages/adapter-ai-sdk/src/index.js";
import { armorTools } from "../../packages/adapter-ai-sdk/src/index.js";
import { scriptedModel, text, toolOutputs } from "../../packages/adapter-ai-sdk/test/scripted-model.js";
import * as langChain from "../../packages/adapter-langchain/src/index.js";
import { armorTools as armorLangChainTools } from "../../packages/adapter-langchain/src/index.js";
import { agentLoop, callTool as lcCall, ScriptedChatModel, say, toolMessages } from "../../packages/adapter-langchain/test/scripted-model.js";
import * as openaiAgents from "../../packages/adapter-openai-agents/src/index.js";
import { armorTool as agentsTool } from "../../packages/adapter-openai-agents/src/index.js";
import {
  Agent,
  ScriptedModel as AgentsModel,
  callTool as agentsCall,
  toolOutputs as agentsOutputs,
  run as agentsRun,
  say as agentsSay,
  setTracingDisabled,
  z as z4,
} from "../../packages/adapter-openai-agents/test/scripted-model.js";

const POLICY = `policy hostile version "1"

default allow

rule wires_need_a_person
  when action.type == "wire"
  require approval timeout 200ms because "every wire needs a person"

rule no_admin_calls
  when action.type == "admin_reset"
  deny because "the agent may not reset accounts"

rule vip_accounts_stay
  when action.type == "erase" and customer_id == "c-vip"
  deny because "VIP accounts are never erased by the agent"
`;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));

/** What the model must read: a denial (matched by its fields), the tool's failure text, or the tool's result. */
type Seen = { denial: Record<string, unknown> } | { failure: unknown } | { result: unknown };

interface Case {
  name: string;
  tool: string;
  /** The arguments as the model wrote them (JSON text). */
  input: string;
  seen: Seen;
  /** The audit records of the call, in order (`decision DECISION`, `outcome OK|error`). */
  records: string[];
  /** The frameworks the case is for (default: every one). */
  only?: Framework[];
}

type Framework = "ai-sdk" | "langchain" | "openai-agents";
const forFramework = (f: Framework) => cases.filter((c) => c.only === undefined || c.only.includes(f));

const cases: Case[] = [
  {
    // the tool's schema trims and lowercases: " C-VIP " would be decided as itself and run as "c-vip"
    name: "arguments a schema rewrites after the decision (a trim, a default, a transform)",
    tool: "erase",
    input: JSON.stringify({ customer_id: " C-VIP " }),
    seen: { denial: { denied: true, stage: "call", decision: "deny", errors: [expect.stringMatching(/^the input schema of `erase` rewrites its arguments/)] } },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "arguments a schema leaves as they are run as decided",
    tool: "erase",
    input: JSON.stringify({ customer_id: "c-42" }),
    seen: { result: "erased c-42" },
    records: ["decision allow", "outcome ok"],
  },
  {
    name: "arguments of the wrong type",
    tool: "lookup",
    input: JSON.stringify({ id: "seven" }),
    seen: {
      denial: {
        denied: true,
        stage: "call",
        decision: "deny",
        rules: [],
        errors: [expect.stringMatching(/^the arguments of `lookup` do not match its input schema: .*expected number, received string/is)],
      },
    },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "arguments that are not an object",
    tool: "lookup",
    input: JSON.stringify([1, 2, 3]),
    seen: { denial: { denied: true, decision: "deny", errors: [expect.stringMatching(/^the arguments of `lookup` do not match its input schema/)] } },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "a `type` argument naming a tool the policy denies is decided as the tool called",
    tool: "lookup",
    input: JSON.stringify({ id: 1, type: "admin_reset" }),
    seen: { result: { id: 1 } },
    records: ["decision allow", "outcome ok"],
  },
  {
    name: "a `type` argument cannot launder a denied tool",
    tool: "admin_reset",
    input: JSON.stringify({ user: "ann", type: "lookup" }),
    seen: { denial: { denied: true, rules: [{ id: "no_admin_calls", reason: "the agent may not reset accounts" }] } },
    records: ["decision deny"],
  },
  {
    // the SDK's own JSON parser refuses the call before any tool sees it: nothing is decided or runs
    name: "an own `__proto__` argument is refused by the AI SDK itself",
    only: ["ai-sdk"],
    tool: "lookup",
    input: '{"id": 2, "__proto__": {"type": "admin_reset"}}',
    seen: { failure: expect.stringContaining("Object contains forbidden prototype property") },
    records: [],
  },
  {
    name: "an own `__proto__` argument is a field, not a prototype",
    only: ["langchain", "openai-agents"],
    tool: "lookup",
    input: '{"id": 2, "__proto__": {"type": "admin_reset"}}',
    seen: { result: { id: 2 } },
    records: ["decision allow", "outcome ok"],
  },
  {
    // the Agents SDK's runner cannot parse it and answers with its own tool error: no tool sees it, nothing is decided or runs
    name: "arguments that are not JSON (Agents SDK)",
    only: ["openai-agents"],
    tool: "lookup",
    input: '{"id": 1,',
    seen: { failure: expect.stringContaining("An error occurred while parsing tool") },
    records: [],
  },
  {
    // the AI SDK's own JSON parser refuses it before any tool sees it: nothing is decided or runs
    name: "arguments that are not JSON (AI SDK)",
    only: ["ai-sdk"],
    tool: "lookup",
    input: '{"id": 1,',
    seen: { failure: expect.stringContaining("lookup") },
    records: [],
  },
  {
    name: "a tool that throws",
    tool: "flaky",
    input: JSON.stringify({}),
    seen: { failure: "upstream exploded" },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "a tool that throws something that is not an Error",
    tool: "throws_string",
    input: JSON.stringify({}),
    seen: { failure: "just a string" },
    records: ["decision allow", "outcome error"],
  },
  {
    name: "an approval that times out while the framework waits",
    tool: "wire",
    input: JSON.stringify({ amount: 5 }),
    seen: { denial: { denied: true, decision: "deny", rules: [{ id: "wires_need_a_person", reason: "every wire needs a person" }], errors: ["approval timed out after 200 ms"] } },
    records: ["approval requested", "approval timeout", "decision deny"],
  },
];

const aiSdkTools = {
  erase: tool({ inputSchema: z.object({ customer_id: z.string().trim().toLowerCase() }), execute: async ({ customer_id }) => `erased ${customer_id}` }),
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

const langChainTools = [
  lcTool(async ({ customer_id }) => `erased ${customer_id}`, { name: "erase", description: "erase", schema: z.object({ customer_id: z.string().trim().toLowerCase() }) }),
  lcTool(async ({ id }) => ({ id }), { name: "lookup", description: "look up", schema: z.object({ id: z.number() }) }),
  lcTool(async ({ user }) => `reset ${user}`, { name: "admin_reset", description: "reset", schema: z.object({ user: z.string() }) }),
  lcTool(
    async () => {
      throw Object.assign(new Error("upstream exploded"), { stack: "SECRET STACK", cause: "secret cause" });
    },
    { name: "flaky", description: "flaky", schema: z.object({}) },
  ),
  lcTool(
    async () => {
      throw "just a string";
    },
    { name: "throws_string", description: "throws", schema: z.object({}) },
  ),
  lcTool(async ({ amount }) => `wired ${amount}`, { name: "wire", description: "wire", schema: z.object({ amount: z.number() }) }),
];

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
    .map((r) => (r.kind === "decision" ? `decision ${r.decision}` : r.kind === "approval" ? `approval ${(r as { event?: string }).event}` : `${r.kind} ${r.outcome ?? r.decision}`));
}

/** What the AI SDK's model reads as a tool's output, for what a case expects. */
function aiSdkSeen(seen: Seen): unknown {
  if ("denial" in seen) return { type: "json", value: expect.objectContaining({ ...seen.denial, message: expect.any(String) }) };
  if ("failure" in seen) return { type: "error-text", value: seen.failure };
  return typeof seen.result === "string" ? { type: "text", value: seen.result } : { type: "json", value: seen.result };
}

/** The ToolMessage LangChain's model reads, for what a case expects. */
function langChainSeen(seen: Seen): unknown {
  if ("denial" in seen) return { status: "error", content: expect.toSatisfy((c: string) => expect(JSON.parse(c)).toMatchObject(seen.denial) !== undefined) };
  if ("failure" in seen) return { status: "error", content: seen.failure };
  return { status: "success", content: typeof seen.result === "string" ? seen.result : JSON.stringify(seen.result) };
}

describe("AI SDK adapter under hostile calls", () => {
  it.each(forFramework("ai-sdk"))("$name", async (c) => {
    const { enforcer, file } = await hostileEnforcer();
    const model = scriptedModel([[{ type: "tool-call", toolCallId: "h1", toolName: c.tool, input: c.input }], [text("ok")]]);
    const result = await generateText({ model, tools: armorTools(enforcer, aiSdkTools, { ctx: { session: "hostile" } }), prompt: "go", stopWhen: stepCountIs(3) });
    expect(result.text).toBe("ok");
    expect(toolOutputs(model.prompts[1]!).get("h1")).toEqual(aiSdkSeen(c.seen));
    expect(JSON.stringify(model.prompts)).not.toMatch(/SECRET|secret cause/);
    await enforcer.close();
    expect(recordsOf(file)).toEqual(c.records);
    if (c.records.length > 0) expect((await verifyAuditLogFile(file)).ok).toBe(true);
    expect(unhandled).toEqual([]);
  });
});

describe("LangChain adapter under hostile calls", () => {
  it.each(forFramework("langchain"))("$name", async (c) => {
    const { enforcer, file } = await hostileEnforcer();
    const model = new ScriptedChatModel([lcCall("h1", c.tool, JSON.parse(c.input)), say("ok")]);
    const answer = await agentLoop(model, armorLangChainTools(enforcer, langChainTools), "go", { configurable: { thread_id: "hostile" } });
    expect(answer).toBe("ok");
    expect(toolMessages(model.seen.at(-1)!).get("h1")).toEqual(langChainSeen(c.seen));
    expect(JSON.stringify(model.seen.map((ms) => ms.map((m) => m.content)))).not.toMatch(/SECRET|secret cause/);
    await enforcer.close();
    expect(recordsOf(file)).toEqual(c.records);
    expect((await verifyAuditLogFile(file)).ok).toBe(true);
    expect(unhandled).toEqual([]);
  });
});

/** What the Agents SDK's model reads as a tool's output (text), for what a case expects. */
function agentsSeen(seen: Seen): unknown {
  if ("denial" in seen) return expect.toSatisfy((c: string) => expect(JSON.parse(c)).toMatchObject(seen.denial) !== undefined);
  if ("failure" in seen) return seen.failure;
  return typeof seen.result === "string" ? seen.result : JSON.stringify(seen.result);
}

const agentsTools = (enforcer: Enforcer) => [
  agentsTool(enforcer, {
    name: "erase",
    description: "erase",
    parameters: z4.object({ customer_id: z4.string().trim().toLowerCase() }),
    execute: async ({ customer_id }) => `erased ${customer_id}`,
  }),
  agentsTool(enforcer, { name: "lookup", description: "look up", parameters: z4.object({ id: z4.number() }), execute: async ({ id }) => ({ id }) }),
  agentsTool(enforcer, { name: "admin_reset", description: "reset", parameters: z4.object({ user: z4.string() }), execute: async ({ user }) => `reset ${user}` }),
  agentsTool(enforcer, {
    name: "flaky",
    description: "flaky",
    parameters: z4.object({}),
    execute: async () => {
      throw Object.assign(new Error("upstream exploded"), { stack: "SECRET STACK", cause: "secret cause" });
    },
  }),
  agentsTool(enforcer, {
    name: "throws_string",
    description: "throws",
    parameters: z4.object({}),
    execute: async () => {
      throw "just a string";
    },
  }),
  agentsTool(enforcer, { name: "wire", description: "wire", parameters: z4.object({ amount: z4.number() }), execute: async ({ amount }) => `wired ${amount}` }),
];

describe("OpenAI Agents SDK adapter under hostile calls", () => {
  beforeAll(() => setTracingDisabled(true));
  it.each(forFramework("openai-agents"))("$name", async (c) => {
    const { seen, records } = c;
    const { enforcer, file } = await hostileEnforcer();
    const model = new AgentsModel([[agentsCall("h1", c.tool, c.input)], [agentsSay("ok")]]);
    const result = await agentsRun(new Agent({ name: "hostile", model, tools: agentsTools(enforcer) }), "go", { context: { session: "hostile" } });
    expect(result.finalOutput).toBe("ok");
    expect(agentsOutputs(model.requests[1]!).get("h1")).toEqual(agentsSeen(seen));
    expect(JSON.stringify(model.requests)).not.toMatch(/SECRET|secret cause/);
    await enforcer.close();
    expect(recordsOf(file)).toEqual(records);
    if (records.length > 0) expect((await verifyAuditLogFile(file)).ok).toBe(true);
    expect(unhandled).toEqual([]);
  });
});

describe("the denial the model reads", () => {
  it("is the runtime's, in every adapter", () => {
    const adapters = [aiSdk, langChain, openaiAgents].map((a) => ({ denialOf: a.denialOf, denialOfRejection: a.denialOfRejection, checkText: a.checkText }));
    for (const a of adapters) expect(a).toEqual({ denialOf: kit.denialOf, denialOfRejection: kit.denialOfRejection, checkText: kit.checkText });
  });
});
