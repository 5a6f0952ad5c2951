/**
 * A scripted model for the Agents SDK's runner: an implementation of its `Model` interface whose
 * turns are given by a script (a turn can read the tool outputs the model was sent), keeping
 * every request.
 */
import { type Model, type ModelRequest, type ModelResponse, Usage } from "@openai/agents";

type Output = ModelResponse["output"];
export type Turn = Output | ((request: ModelRequest) => Output);

export const callTool = (callId: string, name: string, args: unknown): Output[number] => ({
  type: "function_call",
  callId,
  name,
  arguments: typeof args === "string" ? args : JSON.stringify(args),
  status: "completed",
});
export const say = (text: string): Output[number] => ({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text }] });

/** The outputs of the tool calls the request carries, by call id (as the model reads them: text). */
export function toolOutputs(request: ModelRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of Array.isArray(request.input) ? request.input : []) {
    if (item.type !== "function_call_result") continue;
    const o = item.output as unknown;
    out.set(item.callId, typeof o === "string" ? o : ((o as { text?: string }).text ?? JSON.stringify(o)));
  }
  return out;
}

export class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(private readonly turns: Turn[]) {}
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    const turn = this.turns[this.requests.length - 1];
    if (turn === undefined) throw new Error(`the script has no turn ${this.requests.length}`);
    return { usage: new Usage(), output: typeof turn === "function" ? turn(request) : turn, responseId: `response-${this.requests.length}` };
  }
  // biome-ignore lint/correctness/useYield: the scripted model does not stream
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("the scripted model does not stream");
  }
}

// for tests outside this package: the SDK and the zod it reads, as this package resolves them
export { Agent, run, setTracingDisabled } from "@openai/agents";
export { z } from "zod";
