/**
 * Guarded AI SDK tools: every `execute` goes through `enforcer.run`, so each call is decided
 * (and approved, redacted, counted, audited) before it runs and its result is decided before
 * the model reads it. A denial is returned to the model as a tool result (`ArmorDenial`).
 */
import type { ActionContext, Enforcer } from "@agent-armor/runtime";
import { type ArmorDenial, denialOf, denialOfRejection, failureText, rewrittenBySchema } from "@agent-armor/runtime/adapter-kit";
import { asSchema, jsonSchema, type ModelMessage, type Tool, type ToolExecutionOptions } from "ai";
import type { AiSdkApprovals } from "./approvals.js";

/** What a guarded tool knows about the call it is asked to run. */
export interface ToolCallInfo {
  toolName: string;
  toolCallId: string;
  messages: readonly ModelMessage[];
  experimental_context: unknown;
}

export interface ArmorToolsOptions {
  /**
   * The session, user and context of the calls: one for every call, or one per call. Without it,
   * `experimental_context` is read when it is an object with a string `session` (and `user`,
   * `context` objects), as `generateText({ experimental_context: { session, user } })` gives it.
   */
  ctx?: ActionContext | ((call: ToolCallInfo) => ActionContext | undefined);
  /** Ask approvals through the AI SDK's `needsApproval` flow; the same handler must be the enforcer's `approvals`. */
  approvals?: AiSdkApprovals;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Guards every tool of a tool set by its key, the tool's name as the model calls it and the action's `type`. */
export function armorTools<T extends Record<string, Tool>>(enforcer: Enforcer, tools: T, options: ArmorToolsOptions = {}): { [K in keyof T]: Tool } {
  const out: Record<string, Tool> = {};
  for (const [name, t] of Object.entries(tools)) out[name] = armorTool(enforcer, name, t, options);
  return out as { [K in keyof T]: Tool };
}

/**
 * Guards one tool. The model's arguments are decided as the action `{ ...input, type: name }`;
 * the tool's own input schema is checked on the decided (redacted) arguments inside the guarded
 * call, so arguments that do not match it are decided and recorded too, and reach the model as
 * a denial instead of the SDK's validation error.
 */
export function armorTool(enforcer: Enforcer, name: string, t: Tool, options: ArmorToolsOptions = {}): Tool {
  const execute = t.execute;
  if (typeof execute !== "function") {
    throw new TypeError(`armorTool: the tool \`${name}\` has no execute function; only tools that run in this process can be guarded`);
  }
  const schema = asSchema(t.inputSchema);
  const ctxOf = (call: ToolCallInfo): ActionContext | undefined => (typeof options.ctx === "function" ? options.ctx(call) : (options.ctx ?? ctxFromExperimentalContext(call.experimental_context)));
  const info = (call: Pick<ToolExecutionOptions, "toolCallId" | "messages" | "experimental_context">): ToolCallInfo => ({
    toolName: name,
    toolCallId: call.toolCallId,
    messages: call.messages,
    experimental_context: call.experimental_context,
  });
  const { approvals } = options;
  const ownNeedsApproval = t.needsApproval;

  const guarded: Tool = {
    ...t,
    // the model is shown the tool's schema; checking it is the guarded call's job (below)
    inputSchema: jsonSchema(() => schema.jsonSchema, { validate: (value) => ({ success: true, value }) }),
    execute: async (input: unknown, call: ToolExecutionOptions): Promise<unknown> => {
      const ctx = ctxOf(info(call));
      const release = approvals?.grant(call.toolCallId, call.messages) ?? (() => {});
      let invalid: string | undefined;
      try {
        const { decision, result, resultDecision } = await enforcer.run({ ...(isRecord(input) ? input : {}), type: name }, ctx, async (rewritten) => {
          const { type: _type, ...args } = rewritten;
          const checked = await schema.validate?.(args);
          if (checked !== undefined && !checked.success) {
            invalid = `the arguments of \`${name}\` do not match its input schema: ${validationText(checked.error)}`;
            throw new Error(invalid);
          }
          const rewrote = checked === undefined ? null : rewrittenBySchema(name, args, checked.value);
          if (rewrote !== null) {
            invalid = rewrote;
            throw new Error(invalid);
          }
          return lastValue(await execute(args, call));
        });
        if (decision.decision !== "allow") return denialOf(decision, "call");
        if (resultDecision !== undefined && resultDecision.decision !== "allow") return denialOf(resultDecision, "result");
        return result;
      } catch (error) {
        const denial = denialOfRejection(error);
        if (denial !== undefined) return denial;
        if (invalid !== undefined) return invalidArguments(name, invalid);
        // a tool failure: the SDK reports it to the model as a tool error, with this text only
        throw new Error(failureText(error));
      } finally {
        release();
      }
    },
  };
  if (approvals !== undefined) {
    guarded.needsApproval = async (input, call) => {
      if (ownNeedsApproval === true) return true;
      if (typeof ownNeedsApproval === "function" && (await ownNeedsApproval(input, call))) return true;
      return approvals.needsApproval(enforcer, { ...(isRecord(input) ? input : {}), type: name }, ctxOf(info(call)), call.toolCallId);
    };
  }
  return guarded;
}

/** `{ session, user, context }` from `experimental_context`, when it holds a string session. */
function ctxFromExperimentalContext(ec: unknown): ActionContext | undefined {
  if (!isRecord(ec) || typeof ec.session !== "string") return undefined;
  return { session: ec.session, ...(isRecord(ec.user) ? { user: ec.user } : {}), ...(isRecord(ec.context) ? { context: ec.context } : {}) };
}

/** The denial for arguments that do not match the tool's schema (the call was decided and recorded, and did not run). */
function invalidArguments(name: string, text: string): ArmorDenial {
  return { denied: true, stage: "call", decision: "deny", rules: [], errors: [text], message: `the call of \`${name}\` was refused: ${text}` };
}

/** A validation error as `path: message` lines (zod's issues), or its message; at most 1,000 characters. */
function validationText(error: unknown): string {
  const issues = issuesOf(error) ?? (isRecord(error) ? issuesOf(error.cause) : undefined);
  const text =
    issues !== undefined
      ? issues.map((i: unknown) => (isRecord(i) ? `${Array.isArray(i.path) && i.path.length > 0 ? `${i.path.join(".")}: ` : ""}${String(i.message)}` : String(i))).join("; ")
      : failureText(error);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** A schema library's list of issues (zod's `issues`), if the error has one. */
function issuesOf(error: unknown): unknown[] | undefined {
  return isRecord(error) && Array.isArray(error.issues) ? error.issues : undefined;
}

/** A tool's output: a streaming tool's (an async iterable of preliminary outputs) is its last one. */
async function lastValue(output: unknown): Promise<unknown> {
  if (typeof output !== "object" || output === null || !(Symbol.asyncIterator in output)) return output;
  let last: unknown;
  for await (const value of output as AsyncIterable<unknown>) last = value;
  return last;
}
