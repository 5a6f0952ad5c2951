/**
 * The enforcer's audit records, serialized field by field.
 *
 * Every action writes a `decision` record and, when it ran, an `outcome` record; a decided result
 * a `result` record, a decided message an `output` record. Their keys are fixed, so instead of handing the log an object to sort and serialize, each record writes its
 * canonical JSON directly in key order, split where the log's `hash` goes, with `prev` and `seq`
 * in their places (see SerializedRecord in audit.ts). Only values from outside (the action, the
 * user, what the policy module returned) go through the generic canonical JSON, and the action's
 * text is the one its hash was computed from. The text is exactly `canonicalJson`
 * of `fields()` with `seq` and `prev` added, corner cases included (a value that JSON has no text
 * for leaves its field out); records.test.ts checks this on random records.
 *
 * The decision's `id`, `time` and `actionHash` are the runtime's own text (base-36 and hex
 * digits, dashes, an ISO-8601 time), which JSON quotes as they are, so they are not escaped.
 *
 * Key order (UTF-16 code units), with the log's fields in brackets:
 *   decision: action actionHash approval decision decisionId errors [hash] kind labels mode policy [prev]
 *             reserved rules [seq] session shadow time user
 *   outcome:  decisionId durationMs error errorHash [hash] kind outcome [prev] [seq] time
 *   result:   actionHash approval decision decisionId errors [hash] kind labels policy [prev] redacted
 *             resultHash rules [seq] session time
 *   output:   approval decision decisionId errors [hash] kind labels outputHash policy [prev] redacted
 *             rules [seq] session time user
 */
import { type AuditFields, SerializedRecord } from "./audit.js";
import { canonicalJsonOfShared, canonicalJsonOrUndefined, numberJson, quoteJson } from "./hash.js";
import type { Decision, StageDecision } from "./types.js";

/** `,"key":json`, or nothing when the value has no JSON text (as canonicalJson leaves such fields out). */
function member(key: string, json: string | undefined): string {
  return json === undefined ? "" : `,"${key}":${json}`;
}

/**
 * The canonical JSON of a value that is normally a string and usually the same as last time
 * (a session, a decision kind), remembering the last one.
 */
class RepeatedString {
  private last: string | null = null;
  private lastJson = "";

  json(v: unknown): string | undefined {
    if (typeof v !== "string") return canonicalJsonOrUndefined(v);
    if (v !== this.last) {
      this.lastJson = quoteJson(v);
      this.last = v;
    }
    return this.lastJson;
  }
}
const sessions = new RepeatedString();
const decisions = new RepeatedString();

export class DecisionRecord extends SerializedRecord {
  readonly head: string;
  private readonly beforePrev: string;
  private readonly beforeSeq: string;
  private readonly afterSeq: string;

  /**
   * @param actionJson canonicalJsonOrUndefined(decision.action), as computed for its hash
   * @param policyJson canonicalJsonOrUndefined(decision.policy), computed once per policy
   * @param userJson the canonical JSON of the user, snapshotted with the action
   * @param reserved the decision reserved its action in the history (`decide` with `reserve`)
   */
  constructor(
    private readonly decision: Decision,
    actionJson: string | undefined,
    policyJson: string | undefined,
    private readonly mode: "decide" | "run",
    private readonly userJson: string | undefined,
    private readonly approval: unknown,
    private readonly shadow: Record<string, unknown> | undefined,
    private readonly reserved = false,
  ) {
    super();
    const d = decision;
    this.head =
      (actionJson === undefined ? "{" : `{"action":${actionJson},`) +
      `"actionHash":"${d.actionHash}"${member("approval", canonicalJsonOrUndefined(approval))}${member("decision", decisions.json(d.decision))},` +
      `"decisionId":"${d.id}"${member("errors", canonicalJsonOfShared(d.errors))},`;
    // labels only when the policy gave some: records of policies without labels are as they were
    const labels = d.labels !== undefined && d.labels.length > 0 ? member("labels", canonicalJsonOfShared(d.labels)) : "";
    this.beforePrev = `"kind":"decision"${labels},"mode":"${mode}"${member("policy", policyJson)},"prev":"`;
    this.beforeSeq = `"${reserved ? ',"reserved":true' : ""}${member("rules", canonicalJsonOfShared(d.rules))},"seq":`;
    const shadowMember = shadow === undefined ? "" : member("shadow", canonicalJsonOrUndefined(shadow));
    this.afterSeq = `${member("session", sessions.json(d.session))}${shadowMember},"time":"${d.time}"${member("user", userJson)}}`;
  }

  tail(seq: number, prev: string): string {
    return `${this.beforePrev}${prev}${this.beforeSeq}${seq}${this.afterSeq}`;
  }

  fields(): AuditFields {
    const d = this.decision;
    return {
      kind: "decision",
      decisionId: d.id,
      time: d.time,
      mode: this.mode,
      policy: d.policy,
      session: d.session,
      user: this.userJson === undefined ? undefined : JSON.parse(this.userJson),
      action: d.action,
      actionHash: d.actionHash,
      decision: d.decision,
      rules: d.rules,
      errors: d.errors,
      approval: this.approval,
      ...(d.labels !== undefined && d.labels.length > 0 ? { labels: d.labels } : {}),
      ...(this.shadow ? { shadow: this.shadow } : {}),
      ...(this.reserved ? { reserved: true } : {}),
    };
  }
}

export class OutcomeRecord extends SerializedRecord {
  readonly head: string;
  private readonly afterSeq: string;

  /**
   * `decisionId` and `time` are the runtime's (see above); `error` is the tool's error message, or,
   * when the policy decides results (and so the message, which may hold what a rule withholds),
   * `errorHash` is the hash of the canonical JSON of `{ error: MESSAGE }`, the result it was decided as.
   */
  constructor(
    private readonly decisionId: string,
    private readonly time: string,
    private readonly outcome: "ok" | "error",
    private readonly durationMs: number,
    private readonly error?: unknown,
    private readonly errorHash?: string,
  ) {
    super();
    const errorMember = error === undefined ? "" : member("error", typeof error === "string" ? quoteJson(error) : canonicalJsonOrUndefined(error));
    this.head = `{"decisionId":"${decisionId}"${member("durationMs", typeof durationMs === "number" ? numberJson(durationMs) : canonicalJsonOrUndefined(durationMs))}${errorMember}${errorHash === undefined ? "" : `,"errorHash":"${errorHash}"`},`;
    this.afterSeq = `,"time":"${time}"}`;
  }

  tail(seq: number, prev: string): string {
    return `"kind":"outcome","outcome":"${this.outcome}","prev":"${prev}","seq":${seq}${this.afterSeq}`;
  }

  fields(): AuditFields {
    return {
      kind: "outcome",
      decisionId: this.decisionId,
      time: this.time,
      outcome: this.outcome,
      ...(this.error !== undefined ? { error: this.error } : {}),
      ...(this.errorHash !== undefined ? { errorHash: this.errorHash } : {}),
      durationMs: this.durationMs,
    };
  }
}

/**
 * A `result` or `output` record: what was decided about a tool's result or a model's message and
 * why, with the hash of the value as decided and the paths a redaction changed, never the value.
 */
export class StageRecord extends SerializedRecord {
  readonly head: string;
  private readonly beforePrev: string;
  private readonly beforeSeq: string;
  private readonly afterSeq: string;

  /**
   * @param redacted the paths a redaction changed (`result.notes`)
   * @param userJson an output's user, as snapshotted (a result's is in its call's record)
   * @param approval the approval outcome, or null
   */
  constructor(
    private readonly decision: StageDecision,
    private readonly redacted: readonly string[],
    private readonly userJson: string | undefined,
    private readonly approval: unknown,
  ) {
    super();
    const d = decision;
    const result = d.stage === "result";
    this.head =
      (result ? `{"actionHash":"${d.actionHash}",` : "{") +
      `"approval":${canonicalJsonOrUndefined(approval) ?? "null"}${member("decision", decisions.json(d.decision))},` +
      `"decisionId":${quoteJson(d.id)}${member("errors", canonicalJsonOfShared(d.errors))},`;
    const hash = `"${d.stage}Hash":"${d.valueHash}"`;
    this.beforePrev = `"kind":"${d.stage}"${member("labels", canonicalJsonOfShared(d.labels))}${result ? "" : `,${hash}`}${member("policy", canonicalJsonOfShared(d.policy))},"prev":"`;
    this.beforeSeq = `",${member("redacted", canonicalJsonOrUndefined(redacted)).slice(1)}${result ? `,${hash}` : ""}${member("rules", canonicalJsonOfShared(d.rules))},"seq":`;
    this.afterSeq = `${member("session", sessions.json(d.session))},"time":"${d.time}"${result ? "" : `,"user":${userJson ?? "null"}`}}`;
  }

  tail(seq: number, prev: string): string {
    return `${this.beforePrev}${prev}${this.beforeSeq}${seq}${this.afterSeq}`;
  }

  fields(): AuditFields {
    const d = this.decision;
    return {
      kind: d.stage,
      decisionId: d.id,
      time: d.time,
      policy: d.policy,
      session: d.session,
      ...(d.stage === "result" ? { actionHash: d.actionHash } : { user: this.userJson === undefined ? null : JSON.parse(this.userJson) }),
      decision: d.decision,
      rules: d.rules,
      errors: d.errors,
      labels: d.labels,
      redacted: this.redacted,
      [`${d.stage}Hash`]: d.valueHash,
      approval: this.approval,
    };
  }
}
