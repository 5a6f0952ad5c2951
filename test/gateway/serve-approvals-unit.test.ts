/**
 * serve-approvals.ts in process: which kept decisions a full service forgets first, and an
 * approval whose audit record cannot be written (not opened; an approval that does not count).
 */
import type { Decision } from "@agent-armor/runtime";
import { describe, expect, it } from "vitest";
import { createServiceApprovals } from "../../packages/gateway/src/serve-approvals.js";

const decision = (id: string, session = "s"): Decision =>
  ({
    decision: "require_approval",
    id,
    session,
    action: { type: "wire", id },
    actionHash: `${id}`.padEnd(64, "0"),
    rules: [{ id: "r", effect: "require_approval", reason: "why" }],
    approval: { from: "finance", timeoutMs: 60_000 },
    errors: [],
    labels: [],
    policy: { name: "p", version: null, sourceHash: "h" },
    time: new Date().toISOString(),
  }) as unknown as Decision;

describe("the service's approvals", () => {
  it("a full service forgets decisions never opened first, then settled ones, never a pending one", async () => {
    const a = createServiceApprovals({ audit: async () => undefined, maxKept: 3 });
    a.keep(decision("a"), undefined);
    a.keep(decision("b"), undefined);
    await a.open("a", undefined);
    await a.open("b", undefined);
    a.keep(decision("c"), undefined);
    a.keep(decision("d"), undefined); // full: c, never opened, goes
    await expect(a.open("c", undefined)).rejects.toMatchObject({ status: 404, code: "unknown_decision" });
    await expect(a.open("a", undefined)).resolves.toMatchObject({ status: "pending" });
    a.queue.approve("a", "ann");
    await a.wait("a", 1_000);
    a.keep(decision("e"), undefined); // full: d, never opened, goes before a, settled
    await expect(a.open("d", undefined)).rejects.toMatchObject({ status: 404 });
    await a.open("e", undefined);
    a.keep(decision("f"), undefined); // full, nothing unopened: a, settled, goes; b and e are pending
    await expect(a.open("a", undefined)).rejects.toMatchObject({ status: 404 });
    await expect(a.open("b", undefined)).resolves.toMatchObject({ status: "pending" });
    await expect(a.open("e", undefined)).resolves.toMatchObject({ status: "pending" });
    await expect(a.open("f", undefined)).resolves.toMatchObject({ status: "pending" });
    a.close();
  });

  it("an approval whose request cannot be recorded is not opened; one whose answer cannot be recorded does not count", async () => {
    let fail: "requested" | "approved" | null = "requested";
    const a = createServiceApprovals({
      audit: async (f) => {
        if (f.event === fail) throw new Error("disk full");
      },
    });
    a.keep(decision("x"), undefined);
    await expect(a.open("x", undefined)).rejects.toMatchObject({ status: 500, code: "audit_failed" });
    expect(a.queue.pending()).toEqual([]);
    fail = "approved";
    await expect(a.open("x", undefined)).resolves.toMatchObject({ status: "pending" });
    a.queue.approve("x", "ann");
    const state = await a.wait("x", 1_000);
    expect(state).toMatchObject({ status: "error", note: "the approval could not be recorded: disk full" });
    expect(() => a.checkRecord("x", { type: "wire", id: "x" })).toThrow(/its approval is error/);
    a.close();
  });
});
