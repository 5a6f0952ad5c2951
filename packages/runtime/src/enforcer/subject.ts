/**
 * The first step of every call: the subject of a decision, snapshotted once when it is asked
 * for, so that the policy, the hash, the audit record, the approver and the tool all see one
 * value, which the caller can no longer change.
 */
import { JsonValueError, jsonSnapshot, sha256, strictJson } from "../hash.js";
import type { ActionContext } from "../types.js";
import { errorText } from "./errors.js";

/**
 * What a decision is about: the action parsed back from its canonical JSON, and the user's
 * canonical JSON for the record. `problem` says why the input cannot be decided (it is not
 * JSON), and then the decision is a deny.
 */
export interface Subject {
  action: unknown;
  json: string | undefined;
  /** A second copy of the action, for the tool when it runs the action as it came (not rewritten). */
  spare: unknown;
  /** False when the action is not JSON (then `json` is undefined and `problem` says why). */
  hashable: boolean;
  /** The user the policy reads: a copy parsed from `userJson`, so a getter is read only once. */
  user: unknown;
  userJson: string | undefined;
  /** The context the policy reads, a copy parsed from `contextJson` as the user is. */
  context: unknown;
  contextJson: string | undefined;
  /** The session, read once: the history the policy reads and the one the action counts in are the same. */
  session: string;
  problem: string | null;
  /** The SHA-256 of `json` once `actionHashOf` computed it: the reservation and the decision both carry it. */
  hash: string | undefined;
}

/** A fresh copy of a snapshotted value (its canonical JSON), or undefined where JSON has no text. */
export function fresh(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}

/** The subject of a decision (see Subject); never throws. */
export function snapshot(action: unknown, ctx: ActionContext): Subject {
  let json: string | undefined;
  let copy: unknown;
  let spare: unknown;
  let userJson: string | undefined;
  let contextJson: string | undefined;
  let problem: string | null = null;
  // the context's own fields, each read once (a getter that throws denies, naming it)
  let session = "default";
  let userIn: unknown;
  let contextIn: unknown;
  try {
    session = sessionOf(ctx);
    userIn = ctx.user;
    contextIn = ctx.context;
  } catch (e) {
    problem = `invalid context: the session, user and context cannot be read: ${errorText(e)}`;
  }
  try {
    // no user is written as null, as before; a user that is not JSON is left out of the record
    if (problem === null) userJson = userIn === undefined ? "null" : strictJson(userIn);
  } catch (e) {
    problem = `invalid user: ${inputProblem(e, "the user")}`;
  }
  // the policy reads copies of the user and the context taken now, as it does of the action:
  // a getter or Proxy in them is read once, and what the record shows is what was decided on
  const user = userIn === undefined || userJson === undefined ? undefined : fresh(userJson);
  try {
    ({ json, copy, spare } = jsonSnapshot(action));
  } catch (e) {
    return {
      action,
      json: undefined,
      spare: undefined,
      hashable: false,
      user,
      userJson,
      context: undefined,
      contextJson: undefined,
      session,
      problem: `invalid action: ${inputProblem(e, "the action")}`,
      hash: undefined,
    };
  }
  // what JSON has no text for (undefined) is decided as it is: the policy denies it
  if (json === undefined) copy = spare = action;
  if (problem === null && contextIn !== undefined) {
    try {
      // the context reaches the policy: it must be JSON too
      contextJson = strictJson(contextIn);
    } catch (e) {
      problem = `invalid context: ${inputProblem(e, "the context")}`;
    }
  }
  return { action: copy, json, spare, hashable: true, user, userJson, context: fresh(contextJson), contextJson, session, problem, hash: undefined };
}

/** The SHA-256 of the action's canonical JSON (of `null` when JSON has no text for it), computed once per subject. */
export function actionHashOf(subject: Subject): string {
  subject.hash ??= sha256(subject.json ?? "null");
  return subject.hash;
}

/** The same snapshot, afresh: nothing anyone did to the copies handed out meanwhile counts. */
export function afresh(subject: Subject): Subject {
  return {
    ...subject,
    action: subject.json === undefined || subject.action === null || typeof subject.action !== "object" ? subject.action : JSON.parse(subject.json),
    user: subject.user === undefined ? undefined : fresh(subject.userJson),
    context: fresh(subject.contextJson),
  };
}

/** The session named by a context, read once; a session that is not a string is "default". */
export function sessionOf(ctx: ActionContext): string {
  const s = ctx.session;
  return typeof s === "string" ? s : "default";
}

function inputProblem(e: unknown, root: string): string {
  return e instanceof JsonValueError ? e.describe(root) : `${root} cannot be read: ${errorText(e)}`;
}
