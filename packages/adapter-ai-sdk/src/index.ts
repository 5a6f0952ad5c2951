/** @agent-armor/ai-sdk: Agent Armor policies around Vercel AI SDK tools, and output checks. */

export { type ArmorDenial, type CheckedText, checkText, denialOf, denialOfRejection } from "@agent-armor/runtime/adapter-kit";
export { type AiSdkApprovals, type AiSdkApprovalsOptions, aiSdkApprovals } from "./approvals.js";
export { type ArmorToolsOptions, armorTool, armorTools, type ToolCallInfo } from "./tools.js";
