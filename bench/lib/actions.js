// Copied from the peer benchmark harness (/work/shared/bench/peerbench/src/actions.js, "peerbench"),
// so that `npm run bench` does not depend on ../shared at run time. Keep the workload identical.
// Deterministic action generator (seeded), shared by the differential check and the benchmark.
// Action shape: { type, amount, recipient, user: { role, mfa }, hour }  -- all fields always present,
// amount/hour are integers.
import { denyList, FIRST_FILLER_K, WIRE_APPROVAL_THRESHOLD } from "./spec.js";

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES = ["admin", "user", "agent", "Admin", "auditor"];
const OTHER_TYPES = ["read_file", "search_web", "tool_1", "tool_2", "tool_3", "tool_0", "wire", "Send_email"];

/**
 * Mix (per action):
 *   20% wire_transfer   amount around/above/below 10000 (edges 9999/10000/10001 included),
 *                       recipient 30% on the deny list, plus near-miss names
 *   20% send_email      role in {admin,user,agent,Admin,auditor}, hour 0..23
 *   45% tool_k          k uniform in [4, N] (a type that has a filler rule), amount = k-3..k+3
 *   15% other           types with no rule: read_file, tool_1..3, tool_(N+1..N+200), ...
 */
export function makeActionGenerator(N, seed) {
  const rng = mulberry32(seed);
  const deny = denyList();
  const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive
  const pick = (arr) => arr[Math.floor(rng() * arr.length)];
  return function next() {
    const r = rng();
    const user = { role: pick(ROLES), mfa: rng() < 0.5 };
    const hour = int(0, 23);
    let type, amount, recipient;
    if (r < 0.2) {
      type = "wire_transfer";
      const s = rng();
      amount =
        s < 0.15 ? pick([WIRE_APPROVAL_THRESHOLD - 1, WIRE_APPROVAL_THRESHOLD, WIRE_APPROVAL_THRESHOLD + 1]) : s < 0.55 ? int(0, WIRE_APPROVAL_THRESHOLD) : int(WIRE_APPROVAL_THRESHOLD + 1, 250000);
      const q = rng();
      recipient =
        q < 0.3
          ? pick(deny)
          : q < 0.4
            ? pick(deny).toUpperCase() // near miss (case differs)
            : q < 0.45
              ? `${pick(deny)} ` // near miss (trailing space)
              : `acct_${int(0, 99999)}`;
    } else if (r < 0.4) {
      type = "send_email";
      amount = 0;
      recipient = `user${int(0, 999)}@example.com`;
    } else if (r < 0.85) {
      const k = int(FIRST_FILLER_K, N);
      type = `tool_${k}`;
      amount = Math.max(0, k + int(-3, 3));
      recipient = rng() < 0.1 ? pick(deny) : "";
    } else {
      type = rng() < 0.5 ? pick(OTHER_TYPES) : `tool_${N + int(1, 200)}`;
      amount = int(0, 50000);
      recipient = rng() < 0.3 ? pick(deny) : `acct_${int(0, 99999)}`;
    }
    return { type, amount, recipient, user, hour };
  };
}

/** `count` actions; optional `filter(action) => boolean` keeps drawing until `count` pass. */
export function makeActions(N, seed, count, filter = null) {
  const next = makeActionGenerator(N, seed);
  const out = [];
  let guard = 0;
  while (out.length < count) {
    const a = next();
    if (!filter || filter(a)) out.push(a);
    if (++guard > count * 1000) throw new Error("filter too selective");
  }
  return out;
}
