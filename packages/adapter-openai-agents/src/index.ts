/** @agent-armor/openai-agents: Agent Armor policies around OpenAI Agents SDK function tools, and output checks. */

export { type ArmorDenial, type CheckedText, checkText, denialOf, denialOfRejection } from "@agent-armor/runtime/adapter-kit";
export { type AgentsApprovals, type AgentsApprovalsOptions, agentsApprovals } from "./approvals.js";
export { type ArmorToolOptions, armorTool } from "./tools.js";
