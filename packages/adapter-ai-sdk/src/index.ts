/** @agent-armor/ai-sdk: Agent Armor policies around Vercel AI SDK tools, and output checks. */
export { type AiSdkApprovals, type AiSdkApprovalsOptions, aiSdkApprovals } from "./approvals.js";
export { type ArmorDenial, denialOf, denialOfRejection } from "./denial.js";
export { type CheckedText, checkText } from "./output.js";
export { type ArmorToolsOptions, armorTool, armorTools, type ToolCallInfo } from "./tools.js";
