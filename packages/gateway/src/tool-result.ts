/**
 * What a policy's `result` is for an MCP tool result, and how the result as the policy rewrote it
 * becomes the `CallToolResult` the client reads.
 *
 * The language redacts fields by path and cannot walk into lists, while an MCP result keeps its
 * text in a list of content items. So the policy reads one object (the result view):
 *
 *   { text, content, structuredContent?, isError, ...other fields of the result }
 *
 * - `text`: the texts of the `text` content items, joined with "\n" ("" when there are none),
 *   which is what the model reads: `redact result.text matching std.card_number` reaches it;
 * - `content`: the other content items (images, audio, resources, resource links), as given;
 * - `structuredContent`: as given, when the tool returned it (`redact result.structuredContent.x`).
 *
 * The client's result is built from the decided view alone: when `text` is unchanged, it is cut
 * back into the tool's text items at their original lengths and places; when a redaction changed
 * it, one text item holding the rewritten text takes the place of the first text item. Either
 * way, the client reads exactly the text that was decided.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

type Item = CallToolResult["content"][number];

/** Where the text items were: their indexes in `content` and their lengths, and their other fields. */
export interface TextLayout {
  /** For each content item: the length of its text for a text item, or null for another item. */
  readonly slots: readonly (number | null)[];
  /**
   * The text items' annotations, by slot. They are typed hints (audience roles, a priority, a
   * time: the SDK's schema admits no free text there), so they keep their places undecided; a
   * text item's free-form `_meta` is not passed on, since the policy never read it.
   */
  readonly extras: readonly (Record<string, unknown> | null)[];
  readonly joined: string;
}

export interface ToolResultView {
  view: Record<string, unknown>;
  layout: TextLayout;
}

/** The policy's `result` for an MCP tool result, and where its text came from. */
export function toolResultView(result: CallToolResult): ToolResultView {
  const { content, structuredContent, isError, ...rest } = result;
  const items: readonly Item[] = Array.isArray(content) ? content : [];
  const slots: (number | null)[] = [];
  const extras: (Record<string, unknown> | null)[] = [];
  const texts: string[] = [];
  const others: Item[] = [];
  for (const item of items) {
    if (item.type === "text" && typeof item.text === "string") {
      slots.push(item.text.length);
      extras.push(item.annotations !== undefined ? { annotations: item.annotations } : {});
      texts.push(item.text);
    } else {
      slots.push(null);
      extras.push(null);
      others.push(item);
    }
  }
  const joined = texts.join("\n");
  const view: Record<string, unknown> = {
    ...rest,
    text: joined,
    content: others,
    ...(structuredContent !== undefined ? { structuredContent } : {}),
    isError: isError === true,
  };
  return { view, layout: { slots, extras, joined } };
}

/** The result the client reads, from the view as the policy decided (and rewrote) it. */
export function clientResult(decided: unknown, layout: TextLayout): CallToolResult {
  const v = (decided !== null && typeof decided === "object" && !Array.isArray(decided) ? decided : {}) as Record<string, unknown>;
  const { text, content, structuredContent, isError, ...rest } = v;
  const others = otherItems(content);
  const out: Item[] = [];
  const unchanged = text === layout.joined;
  const rewritten = typeof text === "string" ? text : text === undefined || text === null ? "" : JSON.stringify(text);
  let offset = 0;
  let placed = false;
  let next = 0;
  for (let i = 0; i < layout.slots.length; i++) {
    const length = layout.slots[i];
    if (length === null || length === undefined) {
      // a redaction of the whole `content` leaves fewer (or no) items to place
      if (next < others.length) out.push(others[next++]!);
      continue;
    }
    if (unchanged) {
      out.push({ ...layout.extras[i], type: "text", text: rewritten.slice(offset, offset + length) });
      offset += length + 1;
    } else if (!placed) {
      out.push({ type: "text", text: rewritten });
      placed = true;
    }
  }
  while (next < others.length) out.push(others[next++]!);
  // a result without text items that a redaction gave text (`redact result.text`) still shows it
  if (!unchanged && !placed && rewritten !== "") out.unshift({ type: "text", text: rewritten });
  return {
    ...rest,
    content: out,
    // a structuredContent redacted whole is no object any more: it is left out
    ...(structuredContent !== null && typeof structuredContent === "object" && !Array.isArray(structuredContent) ? { structuredContent: structuredContent as Record<string, unknown> } : {}),
    ...(isError === true ? { isError: true } : {}),
  };
}

/** The non-text items as decided; a `content` redacted whole is one text item with the replacement. */
function otherItems(content: unknown): Item[] {
  if (Array.isArray(content)) return content as Item[];
  if (typeof content === "string") return [{ type: "text", text: content }];
  return [];
}
