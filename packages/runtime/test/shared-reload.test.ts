/**
 * A reload with a shared history store: a policy that adds history predicates the store has not
 * counted is refused, naming the store and why (a shared store keeps no actions to start them
 * from, so they would start from zero and a reload could reset a limit); one whose predicates
 * the policy in force or the shadow candidate already has is taken. The in-memory store takes
 * both (it starts new predicates from the session's recent actions).
 */
import { describe, expect, it } from "vitest";
import { createEnforcer, type SharedHistoryStore, type StoreRead } from "../src/index.js";

/** A shared store that answers every tracker as empty. */
function emptyStore(): SharedHistoryStore {
  return {
    shared: true,
    name: "redis://store.test:6379",
    read: async (r: StoreRead) => ({ values: r.trackers.map(() => ({ count: 0, error: null, value: 0 })), labels: [] }),
    refile: async () => undefined,
    keep: async () => true,
    confirm: async () => true,
    pending: async () => null,
    release: async () => true,
    addLabels: async () => null,
    forget: async () => undefined,
    close: async () => undefined,
  };
}

const BASE = 'default allow\nrule hourly when action.type == "send" and count(type == "send" within 1h) >= 20 deny\n';
const policy = (rules: string) => ({ source: `default allow\n${rules}\n`, fileName: "p.armor" });

// [what, the new policy's rules, the shadow set first (or null) and how long before the reload (ms), taken with a shared store]
const SUM = 'rule big when action.type == "pay" and sum(amount where type == "pay" within 1d) > 100 deny';
const DAY = 24 * 3_600_000;
const CASES: [string, string, [string, number] | null, boolean][] = [
  ["the same predicate in another rule", 'rule other when action.type == "mail" and count(type == "send" within 1h) >= 5 deny', null, true],
  ["no history at all", 'rule plain when action.type == "rm" deny', null, true],
  ["the window changed by a minute", 'rule hourly when action.type == "send" and count(type == "send" within 61m) >= 20 deny', null, false],
  ["a new sum", SUM, null, false],
  ["a new sum the shadow candidate counted for its whole window", SUM, [SUM, DAY], true],
  // set as the shadow and reloaded at once, the predicate has counted nothing yet
  ["a new sum the shadow candidate counted for less than its window", SUM, [SUM, DAY - 1], false],
  [
    "a new count over the whole history, however long the shadow counted",
    'rule ever when action.type == "send" and count(type == "send") >= 100 deny',
    ['rule ever when action.type == "send" and count(type == "send") >= 100 deny', 30 * DAY],
    false,
  ],
];

describe("reloading a policy with a shared history store", () => {
  it.each(CASES)("%s", async (_what, rules, shadow, taken) => {
    for (const shared of [true, false]) {
      let now = Date.parse("2026-12-01T00:00:00Z");
      const e = await createEnforcer({ policy: { source: BASE, fileName: "p.armor" }, clock: () => now, throwOnDeny: false, onError: () => undefined, ...(shared ? { history: emptyStore() } : {}) });
      if (shadow !== null) {
        expect((await e.setShadow(policy(shadow[0]))).ok).toBe(true);
        now += shadow[1];
      }
      const r = await e.reload(policy(rules));
      expect(r.ok).toBe(shared ? taken : true);
      if (!r.ok) {
        expect(r.error).toMatch(
          /^reload refused: the policy adds 1 history predicate \(.+\) that the history store redis:\/\/store\.test:6379 has not counted: .*Set the policy as the shadow policy first/,
        );
        // the old policy stays in force
        expect(e.policy.sourceHash).not.toBe((await createEnforcer({ policy: policy(rules) })).policy.sourceHash);
      }
      await e.close();
    }
  });
});
