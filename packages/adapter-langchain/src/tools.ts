/**
 * Guarded LangChain tools: a `StructuredTool` whose every call goes through `enforcer.run`, so it
 * is decided (and approved, redacted, counted, audited) before the wrapped tool runs, and its
 * result is decided before the model reads it. Called with a tool call (as a model's tool calls
 * are, by a ToolNode or an agent loop), it answers with a `ToolMessage`: the result, or the
 * denial (`ArmorDenial`, as JSON) or the tool's failure with `status: "error"`.
 */
import type { ActionContext, Enforcer } from "@agent-armor/runtime";
import { type ArmorDenial, denialOf, denialOfRejection, failureText, rewrittenBySchema } from "@agent-armor/runtime/adapter-kit";
import { ToolMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { StructuredTool, type StructuredToolInterface, ToolInputParsingException, type ToolRunnableConfig } from "@langchain/core/tools";
import type { LangGraphApprovals } from "./approvals.js";

export interface ArmorToolsOptions {
  /**
   * The session, user and context of the calls: one for every call, or one from the call's
   * `RunnableConfig`. Without it, the session is `configurable.thread_id` and the user
   * `configurable.user` (when it is an object).
   */
  ctx?: ActionContext | ((config: RunnableConfig | undefined) => ActionContext | undefined);
  /** Ask approvals through LangGraph's `interrupt`; the same handler must be the enforcer's `approvals`. */
  approvals?: LangGraphApprovals;
}

/** What a guarded call came to: the result the model reads, a denial, or the tool's failure. */
type Outcome = { kind: "result"; value: unknown } | { kind: "denied"; denial: ArmorDenial } | { kind: "failed"; message: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isToolCall = (v: unknown): v is { id?: string; name: string; args: unknown } => isRecord(v) && v.type === "tool_call" && "args" in v;
// LangGraph's control flow (an interrupt in the wrapped tool, a command to the parent graph) passes through
const GRAPH_SIGNALS = new Set(["GraphInterrupt", "NodeInterrupt", "ParentCommand", "GraphBubbleUp"]);

/** Guards each tool; the tool's name is the action's `type`. */
export function armorTools<T extends StructuredToolInterface>(enforcer: Enforcer, tools: readonly T[], options: ArmorToolsOptions = {}): ArmorGuardedTool[] {
  return tools.map((t) => armorTool(enforcer, t, options));
}

export function armorTool(enforcer: Enforcer, inner: StructuredToolInterface, options: ArmorToolsOptions = {}): ArmorGuardedTool {
  return new ArmorGuardedTool(enforcer, inner, options);
}

export class ArmorGuardedTool extends StructuredTool {
  name: string;
  description: string;
  schema: StructuredToolInterface["schema"];

  constructor(
    private readonly enforcer: Enforcer,
    private readonly inner: StructuredToolInterface,
    private readonly options: ArmorToolsOptions,
  ) {
    super({ responseFormat: "content" });
    this.name = inner.name;
    this.description = inner.description;
    // the model is shown the wrapped tool's schema; checking it is the guarded call's job
    this.schema = inner.schema;
    this.returnDirect = inner.returnDirect;
  }

  /** Replaces StructuredTool.call: the arguments are decided before the wrapped tool checks them, so that every call is recorded. */
  // biome-ignore lint/suspicious/noExplicitAny: StructuredTool.call's own signature
  override async call(arg: any, configArg?: any): Promise<any> {
    const config = (isRecord(configArg) ? configArg : undefined) as ToolRunnableConfig | undefined;
    const toolCall = isToolCall(arg) ? arg : isToolCall(config?.toolCall) ? config.toolCall : undefined;
    const outcome = await this.guard(isToolCall(arg) ? arg.args : arg, config);
    if (toolCall?.id !== undefined) {
      const content = outcome.kind === "result" ? contentOf(outcome.value) : outcome.kind === "denied" ? JSON.stringify(outcome.denial) : outcome.message;
      return new ToolMessage({ content, tool_call_id: toolCall.id, name: this.name, status: outcome.kind === "result" ? "success" : "error" });
    }
    if (outcome.kind === "failed") throw new Error(outcome.message);
    return outcome.kind === "denied" ? outcome.denial : outcome.value;
  }

  protected async _call(): Promise<never> {
    throw new Error("ArmorGuardedTool runs through call()");
  }

  private async guard(input: unknown, config: ToolRunnableConfig | undefined): Promise<Outcome> {
    const { enforcer, inner, options } = this;
    const ctx = typeof options.ctx === "function" ? options.ctx(config) : (options.ctx ?? ctxFromConfig(config));
    const action = { ...(isRecord(input) ? input : {}), type: inner.name };
    // outside the try: LangGraph's interrupt stops the graph by throwing
    const release = options.approvals !== undefined ? await options.approvals.ask(enforcer, action, ctx) : () => {};
    let invalid: string | undefined;
    try {
      const { decision, result, resultDecision } = await enforcer.run(action, ctx, async (rewritten) => {
        const { type: _type, ...args } = rewritten;
        // the wrapped tool parses its arguments again: a schema that rewrites them (a default, a
        // coercion, a transform) would run the tool on what the policy did not decide
        const parsed = (inner.schema as { safeParse?: (v: unknown) => { success: boolean; data?: unknown } } | undefined)?.safeParse?.(args);
        const rewrote = parsed?.success === true ? rewrittenBySchema(inner.name, args, parsed.data) : null;
        if (rewrote !== null) {
          invalid = rewrote;
          throw new Error(invalid);
        }
        try {
          // without the tool call, the wrapped tool answers with its content, not a message
          return await inner.invoke(args, { ...config, toolCall: undefined } as ToolRunnableConfig);
        } catch (error) {
          if (error instanceof ToolInputParsingException) invalid = `the arguments of \`${inner.name}\` do not match its input schema: ${failureText(error)}`;
          throw error;
        }
      });
      if (decision.decision !== "allow") return { kind: "denied", denial: denialOf(decision, "call") };
      if (resultDecision !== undefined && resultDecision.decision !== "allow") return { kind: "denied", denial: denialOf(resultDecision, "result") };
      return { kind: "result", value: result };
    } catch (error) {
      if (error instanceof Error && GRAPH_SIGNALS.has(error.name)) throw error;
      const denial = denialOfRejection(error);
      if (denial !== undefined) return { kind: "denied", denial };
      if (invalid !== undefined) return { kind: "denied", denial: invalidArguments(inner.name, invalid) };
      return { kind: "failed", message: failureText(error) };
    } finally {
      release();
    }
  }
}

/** `{ session: configurable.thread_id, user: configurable.user }`, when the config has a thread. */
function ctxFromConfig(config: RunnableConfig | undefined): ActionContext | undefined {
  const c = config?.configurable;
  if (!isRecord(c)) return undefined;
  const thread = Object.hasOwn(c, "thread_id") ? c.thread_id : undefined;
  if (typeof thread !== "string" && typeof thread !== "number") return undefined;
  const user = Object.hasOwn(c, "user") ? c.user : undefined;
  return { session: String(thread), ...(isRecord(user) ? { user } : {}) };
}

/** A tool's content as a ToolMessage holds it: text as it is, anything else as JSON. */
function contentOf(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

/** The denial for arguments that do not match the tool's schema (the call was decided and recorded, and did not run). */
function invalidArguments(name: string, text: string): ArmorDenial {
  return { denied: true, stage: "call", decision: "deny", rules: [], errors: [text], message: `the call of \`${name}\` was refused: ${text}` };
}
