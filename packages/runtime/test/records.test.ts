/**
 * The enforcer's audit records, serialized field by field (records.ts), are byte for byte the
 * records the log would build from their fields: random decisions and outcomes, with every kind
 * of value from outside (actions, users, what a policy module returns), on the synchronous file
 * path and on the queued path, give the same lines, and the file verifies.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appendQuietly, buildAuditRecord, callbackSink, createAuditLog, fileSink, GENESIS_HASH, type SerializedRecord } from "../src/audit.js";
import { verifyAuditLog } from "../src/audit-verify.js";
import { canonicalJson, canonicalJsonOrUndefined } from "../src/hash.js";
import { DecisionRecord, OutcomeRecord, StageRecord } from "../src/records.js";
import type { Decision, StageDecision } from "../src/types.js";
import { anyString } from "./arbitraries.js";

const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const base36 = fc.string({ unit: fc.constantFrom(..."0123456789abcdefghijklmnopqrstuvwxyz"), minLength: 1, maxLength: 9 });
// the runtime's own text: ids, times and hashes (records.ts writes them without escaping)
const decisionId = fc.tuple(base36, hex(16), base36).map(([t, tag, n]) => `${t}-${tag}-${n}`);
const isoTime = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());

// values canonical JSON can write (it refuses non-finite numbers)
const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withNullPrototype: true }), anyString, fc.constant(undefined)).filter((v) => {
  try {
    canonicalJsonOrUndefined(v);
    return true;
  } catch {
    return false;
  }
});
const rule = fc.record({ id: anyString, effect: fc.constantFrom("allow", "deny", "require_approval", "redact"), reason: fc.option(anyString, { nil: null }) });
const list = <T>(item: fc.Arbitrary<T>) =>
  fc.oneof(
    fc.array(item, { maxLength: 3 }),
    fc.array(item, { maxLength: 3 }).map((xs) => Object.freeze(xs.map((x) => Object.freeze(x)))),
  );

const decision: fc.Arbitrary<Decision> = fc.record({
  decision: fc.oneof(fc.constantFrom("allow", "deny", "require_approval"), anyString) as fc.Arbitrary<Decision["decision"]>,
  rules: list(rule) as fc.Arbitrary<Decision["rules"]>,
  approval: fc.constant(null),
  action: value,
  errors: fc.oneof(list(fc.record({ rule: fc.option(anyString, { nil: null }), message: anyString })), value) as fc.Arbitrary<Decision["errors"]>,
  id: decisionId,
  time: isoTime,
  policy: fc.record({ name: anyString, version: fc.option(anyString, { nil: null }), sourceHash: hex(64) }),
  session: fc.oneof(anyString, fc.constant("default")),
  actionHash: fc.oneof(hex(64), fc.constant("")),
  // labels are written only when there are some
  labels: list(anyString) as fc.Arbitrary<string[]>,
});

const approvalOutcome = fc.oneof(
  fc.constant(null),
  fc.record({
    required: fc.constant(true),
    from: fc.option(anyString, { nil: null }),
    timeoutMs: fc.option(fc.nat(), { nil: null }),
    outcome: fc.constantFrom("approved", "rejected", "timeout"),
    approver: fc.option(anyString, { nil: null }),
    note: fc.option(anyString, { nil: null }),
  }),
);

const decisionRecord = fc
  .record({
    decision,
    mode: fc.constantFrom("decide" as const, "run" as const),
    user: fc.oneof(fc.constant(null), value),
    approval: approvalOutcome,
    shadow: fc.option(fc.record({ decision: fc.constantFrom("allow", "deny"), flipped: fc.boolean(), rules: fc.array(anyString, { maxLength: 2 }) }, { requiredKeys: ["decision", "flipped"] }), {
      nil: undefined,
    }),
    reserved: fc.boolean(),
  })
  .map(
    ({ decision: d, mode, user, approval, shadow, reserved }) =>
      new DecisionRecord(d, canonicalJsonOrUndefined(d.action), canonicalJsonOrUndefined(d.policy), mode, canonicalJsonOrUndefined(user), approval, shadow, reserved),
  );

const outcomeRecord = fc
  .record({
    id: decisionId,
    time: isoTime,
    outcome: fc.constantFrom("ok" as const, "error" as const),
    durationMs: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0)),
    error: fc.option(fc.oneof(anyString, value), { nil: undefined }),
    errorHash: fc.option(hex(64), { nil: undefined }),
  })
  .map(({ id, time, outcome, durationMs, error, errorHash }) => new OutcomeRecord(id, time, outcome, durationMs, error, errorHash));

const stageRecord = fc
  .record({
    decision,
    stage: fc.constantFrom("result" as const, "output" as const),
    valueHash: fc.oneof(hex(64), fc.constant("")),
    redacted: fc.array(anyString, { maxLength: 3 }),
    user: fc.oneof(fc.constant(undefined), fc.constant(null), value),
    approval: approvalOutcome,
  })
  .map(({ decision: d, stage, valueHash, redacted, user, approval }) => {
    const staged = { ...d, stage, valueHash, [stage]: null } as unknown as StageDecision;
    return new StageRecord(staged, redacted, user === undefined ? undefined : canonicalJsonOrUndefined(user), approval);
  });

const record: fc.Arbitrary<SerializedRecord> = fc.oneof(decisionRecord, outcomeRecord, stageRecord);
const position = fc.record({ seq: fc.nat(), prev: fc.oneof(hex(64), fc.constant(GENESIS_HASH)) });

describe("the enforcer's records", () => {
  it("are the canonical JSON of their fields, split where hash goes", () => {
    fc.assert(
      fc.property(record, position, (r, { seq, prev }) => {
        const fields = { ...r.fields(), seq, prev };
        expect(r.head + r.tail(seq, prev)).toBe(canonicalJson(fields));
        // the members of the head sort before "hash", those of the tail after it
        const before = Object.keys(JSON.parse(`${r.head}"hash":""}`) as object).filter((k) => k !== "hash");
        const after = Object.keys(JSON.parse(`{"hash":"",${r.tail(seq, prev)}`) as object).filter((k) => k !== "hash");
        expect(before.every((k) => k < "hash") && after.every((k) => k > "hash")).toBe(true);
        expect(before.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it("are written as the log writes the same fields, on the synchronous and the queued path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "armor-records-"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(record, fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 12 }), async (entries) => {
        const path = join(dir, `log-${Math.random().toString(36).slice(2)}.jsonl`);
        const file = createAuditLog({ sinks: [fileSink(path)] });
        const lines: string[] = [];
        const queued = createAuditLog({ sinks: [callbackSink((_, line) => void lines.push(line))] });
        for (const [r, asFields, defer] of entries) {
          // the same record, serialized by itself or handed over as fields, deferred or not
          await appendQuietly(file, asFields ? r.fields() : r, defer);
          await appendQuietly(queued, r, defer);
        }
        await file.close();
        await queued.close();
        const written = readFileSync(path, "utf8");
        expect(written).toBe(lines.map((l) => `${l}\n`).join(""));
        let prev = GENESIS_HASH;
        entries.forEach(([r], seq) => {
          const line = lines[seq]!;
          expect(line).toBe(buildAuditRecord(r.fields(), seq, prev).line);
          prev = (JSON.parse(line) as { hash: string }).hash;
        });
        expect(verifyAuditLog(written)).toMatchObject({ ok: true, records: entries.length });
      }),
      { numRuns: 150 },
    );
  });
});
