/**
 * Guarded Agents SDK function tools: `armorTool(enforcer, options)` takes the options of the
 * SDK's `tool()` and builds the tool with an `execute` that goes through `enforcer.run`, so every
 * call is decided (and approved, redacted, counted, audited) before it runs and its result is
 * decided before the model reads it. A denial is returned to the model as the tool's output
 * (`ArmorDenial`).
 */
import type { ActionContext, Enforcer } from "@agent-armor/runtime";
import { type ArmorDenial, denialOf, denialOfRejection, failureText, rewrittenBySchema } from "@agent-armor/runtime/adapter-kit";
import { type RunContext, tool } from "@openai/agents";
import type { AgentsApprovals } from "./approvals.js";

/** The options of the SDK's `tool()`. */
type ToolOptions = Parameters<typeof tool>[0];
type ToolCallDetails = { toolCall?: { callId?: string; arguments?: string } };

export interface ArmorToolOptions {
  /**
   * The session, user and context of the calls: one for every call, or one from the run's
   * context. Without it, the run's context (`run(agent, input, { context })`) is read when it is
   * an object with a string `session` (and `user`, `context` objects).
   */
  ctx?: ActionContext | ((runContext: RunContext<unknown> | undefined) => ActionContext | undefined);
  /** Ask approvals through the SDK's `needsApproval` flow; the same handler must be the enforcer's `approvals`. */
  approvals?: AgentsApprovals;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Thrown by the guarded execute for a failure of the wrapped tool, so that the error function tells it from a refused input. */
class ToolFailure extends Error {}

/** A zod object schema, as the SDK's `parameters` may be one: what the guarded call checks arguments with. */
interface ZodObjectLike {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: { issues?: unknown[]; message?: string } };
  shape?: Record<string, { isOptional?: () => boolean }>;
}
const isZodObject = (v: unknown): v is ZodObjectLike => isRecord(v) && typeof v.safeParse === "function";

export function armorTool(enforcer: Enforcer, options: ToolOptions, armor: ArmorToolOptions = {}): ReturnType<typeof tool> {
  const o = options as ToolOptions & { name?: string; execute: (input: unknown, runContext?: RunContext<unknown>, details?: unknown) => unknown };
  // the SDK's own tool, for the JSON schema it shows the model; the guarded tool checks arguments itself (below)
  const shown = tool(options);
  const name = shown.name;
  const params = isZodObject(o.parameters) ? o.parameters : undefined;
  const ctxOf = (rc: RunContext<unknown> | undefined): ActionContext | undefined => (typeof armor.ctx === "function" ? armor.ctx(rc) : (armor.ctx ?? ctxFromRunContext(rc)));
  const { approvals } = armor;
  const ownNeedsApproval = (options as { needsApproval?: unknown }).needsApproval;

  /**
   * Decides the call and runs `execute` under the decision (or, with `refused`, the input the SDK
   * could not read: decided and recorded, never run); what the model reads.
   */
  const guarded = async (args: unknown, rc: RunContext<unknown> | undefined, execute: (rewritten: Record<string, unknown>) => unknown, refused?: string): Promise<unknown> => {
    let invalid: string | undefined;
    try {
      const { decision, result, resultDecision } = await enforcer.run({ ...(isRecord(args) ? args : {}), type: name }, ctxOf(rc), async (rewritten) => {
        if (refused !== undefined) {
          invalid = refused;
          throw new Error(refused);
        }
        const { type: _type, ...rest } = rewritten;
        const checked = params === undefined ? { success: true as const, data: rest } : params.safeParse(withoutStrictNulls(params, rest));
        if (!checked.success) {
          invalid = `the arguments of \`${name}\` do not match its input schema: ${issuesText(checked.error)}`;
          throw new Error(invalid);
        }
        const rewrote = params === undefined ? null : rewrittenBySchema(name, withoutStrictNulls(params, rest), checked.data);
        if (rewrote !== null) {
          invalid = rewrote;
          throw new Error(invalid);
        }
        return execute(checked.data as Record<string, unknown>);
      });
      if (decision.decision !== "allow") return denialOf(decision, "call");
      if (resultDecision !== undefined && resultDecision.decision !== "allow") return denialOf(resultDecision, "result");
      return result;
    } catch (error) {
      const denial = denialOfRejection(error);
      if (denial !== undefined) return denial;
      if (invalid !== undefined) return invalidArguments(name, invalid);
      throw error;
    }
  };

  return tool({
    ...options,
    // the model is shown the SDK's schema; the SDK only parses the JSON, and the guarded call checks it
    parameters: shown.parameters,
    strict: shown.strict,
    async execute(input: unknown, rc?: RunContext<unknown>, details?: unknown) {
      const callId = (details as ToolCallDetails | undefined)?.toolCall?.callId;
      const release = approvals?.grant(callId, callId !== undefined && rc?.isToolApproved({ toolName: name, callId }) === true) ?? (() => {});
      try {
        return await guarded(input, rc, async (rewritten) => {
          try {
            return await o.execute(rewritten, rc, details);
          } catch (error) {
            throw new ToolFailure(failureText(error));
          }
        });
      } catch (error) {
        // a failure of the wrapped tool, or of the runtime: the model reads its message only
        throw new ToolFailure(failureText(error));
      } finally {
        release();
      }
    },
    // the SDK could not parse the input as JSON (it shows no tool what it was): decide and record the call, which does not run
    async errorFunction(rc: RunContext<unknown>, error: unknown) {
      if (error instanceof ToolFailure) return error.message;
      const text = `the arguments of \`${name}\` are not JSON: ${failureText(error)}`;
      try {
        return JSON.stringify(await guarded(undefined, rc, () => undefined, text));
      } catch {
        return JSON.stringify(invalidArguments(name, text));
      }
    },
    ...(approvals !== undefined
      ? {
          async needsApproval(rc: RunContext<unknown>, input: unknown, callId?: string) {
            if (ownNeedsApproval === true) return true;
            if (typeof ownNeedsApproval === "function" && (await ownNeedsApproval(rc, input, callId))) return true;
            return approvals.needsApproval(enforcer, { ...(isRecord(input) ? input : {}), type: name }, ctxOf(rc), callId);
          },
        }
      : {}),
  } as ToolOptions);
}

/**
 * The arguments without the `null`s a strict schema makes the model send for optional fields (the
 * OpenAI strict schema lists every field and makes optional ones nullable), as the SDK reads them.
 */
function withoutStrictNulls(params: ZodObjectLike, args: Record<string, unknown>): Record<string, unknown> {
  const shape = params.shape;
  if (shape === undefined) return args;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (!(v === null && Object.hasOwn(shape, k) && shape[k]?.isOptional?.() === true)) out[k] = v;
  return out;
}

/** A zod error's issues as `path: message`, or its message; at most 1,000 characters. */
function issuesText(error: { issues?: unknown[]; message?: string }): string {
  const text = Array.isArray(error.issues)
    ? error.issues.map((i: unknown) => (isRecord(i) ? `${Array.isArray(i.path) && i.path.length > 0 ? `${i.path.join(".")}: ` : ""}${String(i.message)}` : String(i))).join("; ")
    : String(error.message);
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** `{ session, user, context }` from the run's context, when it holds a string session. */
function ctxFromRunContext(rc: RunContext<unknown> | undefined): ActionContext | undefined {
  const c = rc?.context;
  if (!isRecord(c) || typeof c.session !== "string") return undefined;
  return { session: c.session, ...(isRecord(c.user) ? { user: c.user } : {}), ...(isRecord(c.context) ? { context: c.context } : {}) };
}

/** The denial for arguments that do not match the tool's schema (the call was decided and recorded, and did not run). */
function invalidArguments(name: string, text: string): ArmorDenial {
  return { denied: true, stage: "call", decision: "deny", rules: [], errors: [text], message: `the call of \`${name}\` was refused: ${text}` };
}
