/**
 * Who may approve: the approver identities of an approval endpoint. Each approver has a name,
 * the groups it belongs to (`require approval from "finance"` is answered only by a member of
 * `finance`), and a bearer token of its own, of which the file keeps only the SHA-256, so that
 * the file holds no secret:
 *
 *   { "approvers": [ { "name": "ann", "groups": ["finance"], "tokenSha256": "9f86d0..." } ] }
 *
 * A request names its approver by `Authorization: Bearer TOKEN`; the digest of the token is
 * compared with every approver's in constant time (no early exit), so the time taken says
 * nothing about which approver, if any, a token belongs to. Tokens are never kept or logged.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-util.js";

export interface Approver {
  /** Who approved, as the audit log records it. */
  readonly name: string;
  readonly groups: readonly string[];
}

export interface Approvers {
  /**
   * The approver the request's bearer token belongs to; 401 when the request has no bearer
   * token or one that belongs to no approver.
   */
  identify(req: IncomingMessage): Approver;
  /** The approver a token belongs to, or null (the console's sign-in, where the token comes in a body). */
  byToken(token: string): Approver | null;
  /** Whether `approver` may answer a request whose rule asks `from` a group (null: any approver). */
  mayAnswer(approver: Approver, from: string | null): boolean;
  /** The SHA-256 digests of the approvers' tokens (to refuse a service token that is also an approver's). */
  has(tokenDigest: Buffer): boolean;
}

const REALM = 'Bearer realm="agent-armor approvals"';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:/-]{0,63}$/;

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** An approver as the file gives it. */
export interface ApproverEntry {
  name: string;
  groups: string[];
  /** The SHA-256 of the approver's token, as 64 hex digits. */
  tokenSha256: string;
}

/** Reads an approvers file; an error names the file and the place in it (`/approvers/1/groups`). */
export function loadApprovers(path: string): Approvers {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read the approvers file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`the approvers file ${path} is not JSON: ${(e as Error).message}`);
  }
  const list = doc !== null && typeof doc === "object" && Object.hasOwn(doc, "approvers") ? (doc as { approvers: unknown }).approvers : undefined;
  if (!Array.isArray(list)) throw new Error(`${path}: \`/approvers\` must be a list of { name, groups, tokenSha256 }`);
  return approversFrom(list, path);
}

/** The approvers of a list of entries, checked: names and token digests unique, groups plain names. */
export function approversFrom(list: readonly unknown[], where = "approvers"): Approvers {
  const entries: { approver: Approver; digest: Buffer }[] = [];
  const names = new Set<string>();
  for (const [i, raw] of list.entries()) {
    const at = (field: string) => `${where}: \`/approvers/${i}${field}\``;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${at("")} must be an object { name, groups, tokenSha256 }`);
    const e = raw as Record<string, unknown>;
    const name = Object.hasOwn(e, "name") ? e.name : undefined;
    const groups = Object.hasOwn(e, "groups") ? e.groups : undefined;
    const hash = Object.hasOwn(e, "tokenSha256") ? e.tokenSha256 : undefined;
    if (typeof name !== "string" || !NAME.test(name)) throw new Error(`${at("/name")} must be a name of 1 to 64 letters, digits and _ . @ : / -`);
    if (names.has(name)) throw new Error(`${at("/name")}: \`${name}\` is named twice`);
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string" && NAME.test(g))) throw new Error(`${at("/groups")} must be a list of group names`);
    if (typeof hash !== "string" || !/^[0-9a-f]{64}$/i.test(hash)) {
      throw new Error(`${at("/tokenSha256")} must be the SHA-256 of the approver's token in 64 hex digits (printf %s "$TOKEN" | sha256sum)`);
    }
    const d = Buffer.from(hash, "hex");
    if (entries.some((x) => x.digest.equals(d))) throw new Error(`${at("/tokenSha256")}: two approvers have the same token`);
    names.add(name);
    entries.push({ approver: Object.freeze({ name, groups: Object.freeze([...(groups as string[])]) }), digest: d });
  }
  if (entries.length === 0) throw new Error(`${where}: \`/approvers\` names no approver, so nothing could be approved`);
  const find = (d: Buffer): Approver | null => {
    let found: Approver | null = null;
    // every digest is compared, whichever matches
    for (const e of entries) if (timingSafeEqual(e.digest, d)) found = e.approver;
    return found;
  };
  return {
    identify(req) {
      const header = req.headers.authorization;
      const m = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header);
      if (m === null) throw new HttpError(401, "unauthorized", "approvals need `Authorization: Bearer TOKEN`, the approver's own token", {}, { "www-authenticate": REALM });
      const approver = find(digest(m[1]!));
      if (approver === null) throw new HttpError(401, "unauthorized", "the bearer token is no approver's", {}, { "www-authenticate": `${REALM}, error="invalid_token"` });
      return approver;
    },
    byToken: (token) => find(digest(token)),
    mayAnswer: (approver, from) => from === null || approver.groups.includes(from),
    has: (d) => find(d) !== null,
  };
}

/** The SHA-256 of a token, for `Approvers.has`. */
export function tokenDigest(token: string): Buffer {
  return digest(token);
}
