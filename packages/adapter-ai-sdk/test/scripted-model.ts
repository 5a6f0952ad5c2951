/**
 * A scripted language model for the AI SDK's generate loop: `MockLanguageModelV3` from `ai/test`
 * answering each step with what a script gives for the prompt it was sent (so a step can read the
 * tool results the model was shown), and keeping every prompt.
 */
import { MockLanguageModelV3 } from "ai/test";

type CallOptions = Parameters<MockLanguageModelV3["doGenerate"]>[0];
type Prompt = CallOptions["prompt"];
type Content = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>["content"][number];

export type Step = Content[] | ((prompt: Prompt) => Content[]);

export const call = (toolCallId: string, toolName: string, input: unknown): Content => ({ type: "tool-call", toolCallId, toolName, input: JSON.stringify(input) });
export const text = (t: string): Content => ({ type: "text", text: t });

/** The outputs of the tool results in a prompt, by tool call id. */
export function toolOutputs(prompt: Prompt): Map<string, { type: string; value?: unknown; reason?: string }> {
  const out = new Map<string, { type: string; value?: unknown; reason?: string }>();
  for (const m of prompt) {
    if (m.role !== "tool") continue;
    for (const part of m.content) if (part.type === "tool-result") out.set(part.toolCallId, part.output as { type: string; value?: unknown });
  }
  return out;
}

export function scriptedModel(steps: Step[]): MockLanguageModelV3 & { prompts: Prompt[] } {
  const prompts: Prompt[] = [];
  const model = new MockLanguageModelV3({
    doGenerate: async (options) => {
      prompts.push(options.prompt);
      const step = steps[prompts.length - 1];
      if (step === undefined) throw new Error(`the script has no step ${prompts.length}`);
      const content = typeof step === "function" ? step(options.prompt) : step;
      return {
        content,
        finishReason: { unified: content.some((c) => c.type === "tool-call") ? "tool-calls" : "stop", raw: undefined },
        usage: { inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 1, text: 1, reasoning: undefined } },
        warnings: [],
      };
    },
  });
  return Object.assign(model, { prompts });
}
