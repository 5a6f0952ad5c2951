/**
 * flowApprovals: an approval given through a framework's own flow answers the runtime's request
 * for the same session and action hash, once, within the policy's timeout counted from the
 * flow's first question; a late answer, or one to a question this process has no record of, is
 * a timeout.
 */
import { describe, expect, it } from "vitest";
import { flowApprovals, MAX_FLOW_PENDING } from "../src/adapter-kit/index.js";
import type { ApprovalRequest } from "../src/types.js";

const request = (actionHash: string, timeoutMs = 1_000): ApprovalRequest =>
  ({
    id: "d1",
    session: "s",
    actionHash,
    timeoutMs,
    from: null,
    rules: [],
    reason: null,
    action: {},
    user: undefined,
    policy: {},
    signal: new AbortController().signal,
    quorum: 1,
    grant: null,
  }) as unknown as ApprovalRequest;

type Step = { ask: string } | { wait: number } | { grant: string } | { evict: true };
const cases: { name: string; steps: Step[]; answer: Record<string, unknown> }[] = [
  { name: "answered within the timeout", steps: [{ ask: "h" }, { wait: 999 }, { grant: "h" }], answer: { approved: true } },
  { name: "answered after the timeout", steps: [{ ask: "h" }, { wait: 1_001 }, { grant: "h" }], answer: { approved: false, expired: true } },
  {
    name: "asked again as the framework resumes: the first question counts",
    steps: [{ ask: "h" }, { wait: 600 }, { ask: "h" }, { wait: 600 }, { grant: "h" }],
    answer: { approved: false, expired: true },
  },
  { name: "a question this process has no record of", steps: [{ grant: "h" }], answer: { approved: false, expired: true, note: expect.stringContaining("no record of asking") } },
  { name: "a question pushed out by 10,000 newer ones", steps: [{ ask: "h" }, { evict: true }, { grant: "h" }], answer: { approved: false, expired: true } },
];

describe("flowApprovals", () => {
  it.each(cases)("$name", ({ steps, answer }) => {
    let clock = 0;
    const flow = flowApprovals({ flow: "the test flow", groups: [], now: () => clock });
    for (const step of steps) {
      if ("ask" in step) flow.asked("s", step.ask);
      else if ("wait" in step) clock += step.wait;
      else if ("evict" in step) for (let i = 0; i <= MAX_FLOW_PENDING; i++) flow.asked("s", `other-${i}`);
      else flow.grant("s", step.grant, { approved: true, approver: "flow" });
    }
    expect(flow.answer(request("h"))).toMatchObject(answer);
    // used once
    expect(flow.answer(request("h"))).toBeUndefined();
  });

  it("answers only the session and action hash it was given for", () => {
    const flow = flowApprovals({ flow: "the test flow", groups: [], now: () => 0 });
    flow.asked("s", "h");
    flow.grant("s", "h", { approved: true });
    expect(flow.answer(request("other"))).toBeUndefined();
    expect(flow.answer({ ...request("h"), session: "t" } as ApprovalRequest)).toBeUndefined();
    expect(flow.answer(request("h"))).toMatchObject({ approved: true });
  });
});
