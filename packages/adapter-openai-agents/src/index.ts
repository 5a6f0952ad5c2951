/** @agent-armor/openai-agents: Agent Armor policies around OpenAI Agents SDK function tools, and output checks. */
export { type AgentsApprovals, type AgentsApprovalsOptions, agentsApprovals } from "./approvals.js";
export { type ArmorDenial, denialOf, denialOfRejection } from "./denial.js";
export { type CheckedText, checkText } from "./output.js";
export { type ArmorToolOptions, armorTool } from "./tools.js";
