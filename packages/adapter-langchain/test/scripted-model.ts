/**
 * A scripted tool-calling chat model: LangChain's `FakeListChatModel` answering each turn with
 * what a script gives for the messages it was sent (so a turn can read the tool messages the
 * model was shown), and keeping every list of messages it saw.
 */
import type { BaseMessage } from "@langchain/core/messages";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { FakeListChatModel } from "@langchain/core/utils/testing";

export type Turn = AIMessage | ((messages: BaseMessage[]) => AIMessage);

export const callTool = (id: string, name: string, args: Record<string, unknown>): AIMessage => new AIMessage({ content: "", tool_calls: [{ id, name, args, type: "tool_call" }] });
export const say = (text: string): AIMessage => new AIMessage(text);

/** The tool messages among `messages`, by tool call id: their content and status. */
export function toolMessages(messages: BaseMessage[]): Map<string, { content: unknown; status: unknown }> {
  const out = new Map<string, { content: unknown; status: unknown }>();
  for (const m of messages) {
    if (m.getType() !== "tool") continue;
    const t = m as BaseMessage & { tool_call_id: string; status?: string };
    out.set(t.tool_call_id, { content: t.content, status: t.status });
  }
  return out;
}

export class ScriptedChatModel extends FakeListChatModel {
  readonly seen: BaseMessage[][] = [];
  constructor(private readonly turns: Turn[]) {
    super({ responses: [] });
  }
  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.seen.push(messages);
    const turn = this.turns[this.seen.length - 1];
    if (turn === undefined) throw new Error(`the script has no turn ${this.seen.length}`);
    const message = typeof turn === "function" ? turn(messages) : turn;
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }
  // biome-ignore lint/suspicious/noExplicitAny: FakeListChatModel.bindTools's own signature
  override bindTools(): any {
    return this;
  }
}

/** A plain agent loop: the model proposes tool calls, each is invoked with its tool call, until it answers with text. */
export async function agentLoop(model: ScriptedChatModel, tools: { name: string; invoke(call: unknown, config?: unknown): Promise<unknown> }[], prompt: string, config?: unknown): Promise<string> {
  const messages: BaseMessage[] = [new HumanMessage(prompt)];
  for (let turn = 0; turn < 10; turn++) {
    const reply = (await model.invoke(messages)) as AIMessage;
    messages.push(reply);
    if (!reply.tool_calls?.length) return typeof reply.content === "string" ? reply.content : JSON.stringify(reply.content);
    for (const call of reply.tool_calls) {
      const t = tools.find((x) => x.name === call.name)!;
      messages.push((await t.invoke({ ...call, type: "tool_call" }, config)) as BaseMessage);
    }
  }
  throw new Error("the loop did not end");
}
