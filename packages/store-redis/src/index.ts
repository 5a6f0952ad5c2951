/**
 * A history store in Redis (or Valkey): the limits of a policy shared by every process that
 * decides with the same Redis, and kept across restarts.
 *
 *   createEnforcer({ policy, history: redisStore({ url: "redis://127.0.0.1:6379" }) })
 *
 * Each decision is one round trip: a script (scripts.ts) reads the session's trackers and files
 * the action when it is reserved. A Redis that does not answer within `timeoutMs` (or is down; a
 * decision's read is timed by deadlines.ts, the other calls by ioredis's `commandTimeout`)
 * fails the call, and the enforcer denies with `history store unavailable: redis://HOST:PORT: ...`;
 * ioredis reconnects by itself, and decisions work again as soon as Redis answers.
 */
import { createHash } from "node:crypto";
import {
  type CurrentKey,
  type GrantStore,
  isCountTracker,
  type KindFiling,
  MAX_SCOPES,
  SCOPE_OVERSHOOT,
  type SharedHistoryStore,
  type StoreFiling,
  type StoreRead,
  type StoreReadResult,
  type StoreTracker,
  type StoreValue,
  scopesFull,
} from "@agent-armor/runtime";
import { Redis, type RedisOptions } from "ioredis";

export { DEFAULT_MAX_PENDING, type RedisApprovalQueue, type RedisApprovalQueueOptions, redisApprovalQueue } from "./approvals.js";
export { redisGrantStore } from "./grants.js";

import { Deadlines } from "./deadlines.js";
import { scriptRunner } from "./functions.js";
import { redisGrantStore } from "./grants.js";

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** What every key starts with (default `armor`): several deployments can share one Redis. */
  prefix?: string;
  /** How long a command may take, connecting included, before the decision denies (default 1000 ms). */
  timeoutMs?: number;
  /** More ioredis options (TLS, sentinels, ...); the store's own (timeouts, retries) win. */
  redis?: RedisOptions;
  /**
   * At most this many scope values (`per user.id`, `per context.tenant`, the deployment) hold
   * history at once under the prefix, for every process on it (default MAX_SCOPES, the in-memory
   * store's bound per process); past it, as in memory, the empty ones are dropped, and a decision
   * that needs one more is denied.
   */
  maxScopes?: number;
}

export const DEFAULT_TIMEOUT_MS = 1000;

/** A short, fixed-length key part for any text (a 1 MB session name, glob or newline characters): 128 bits of SHA-256. */
// over the string's UTF-16 code units: lossless, so strings with lone surrogates (which UTF-8 turns into U+FFFD) keep keys of their own
const digest = (text: string): string => createHash("sha256").update(text, "utf16le").digest("hex").slice(0, 32);

/**
 * A reservation's key part for a decision id: the id itself when it is a short run of letters,
 * digits, `-` and `_` (the runtime's ids are), which saves a digest on every reserved decision;
 * otherwise `#` and its digest (no such id can be `#...`, so the two never meet).
 */
function reservationName(id: string): string {
  return /^[0-9A-Za-z_-]{1,64}$/.test(id) ? id : `#${digest(id)}`;
}

/** The URL without its password, for error messages. */
export function storeName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port === "" ? "" : `:${u.port}`}${u.pathname.length > 1 ? u.pathname : ""}`;
  } catch {
    return "redis (an invalid URL)";
  }
}

class Unexpected extends Error {
  constructor(what: string) {
    super(`Redis answered something the store did not expect (${what})`);
  }
}

export function redisStore(options: RedisStoreOptions): SharedHistoryStore & { readonly client: Redis; readonly grants: GrantStore } {
  if (typeof options?.url !== "string" || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError(`redisStore: url must be a redis:// or rediss:// URL, got ${JSON.stringify(String(options?.url)).slice(0, 200)}`);
  }
  const maxScopes = options.maxScopes ?? MAX_SCOPES;
  if (!Number.isSafeInteger(maxScopes) || maxScopes < 1) throw new TypeError(`redisStore: maxScopes must be a positive integer, got ${String(maxScopes).slice(0, 50)}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const prefix = options.prefix ?? "armor";
  const name = storeName(options.url);
  const client = new Redis(options.url, {
    ...options.redis,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    // a command waits (up to its timeout) for a connection being made, and is not retried after a failed one
    maxRetriesPerRequest: 0,
    // reconnect forever, at most every half second
    retryStrategy: (times: number) => Math.min(50 * times, 500),
  });
  // connection errors reach the decisions that fail; an unhandled 'error' event would end the process
  client.on("error", () => {});
  // FCALL of the store's function library on Redis 7, EVALSHA before (functions.ts)
  const scripts = scriptRunner(client);

  // A decision's read has the store's time limit from one shared timer (deadlines.ts) rather than
  // ioredis's timer per command; every other call (grants, reservations, labels) keeps
  // `commandTimeout`. ioredis reads the option when the call is sent, which `apply` does at once.
  const deadlines = new Deadlines(timeoutMs);
  const readWithin = (name: "read" | "readCounts", key: string, args: (string | number)[]): Promise<unknown> => {
    const o = client.options;
    o.commandTimeout = undefined;
    try {
      return deadlines.within(scripts.run(name, [key], args));
    } finally {
      o.commandTimeout = timeoutMs;
    }
  };

  // a scope's digest, kept for the next call: most calls in a row are for the same session
  let lastScope: string | null = null;
  let lastDigest = "";
  const scopeDigest = (scope: string): string => {
    if (scope !== lastScope) {
      lastDigest = digest(scope);
      lastScope = scope;
    }
    return lastDigest;
  };
  const scopeKey = (scope: string): string => `${prefix}:{${scopeDigest(scope)}}`;
  // the policies' predicates are few: their digests are kept (emptied past 10,000, a policy reloaded many times)
  const trackerDigests = new Map<string, string>();
  const trackerDigest = (key: string): string => {
    let d = trackerDigests.get(key);
    if (d === undefined) {
      if (trackerDigests.size >= 10_000) trackerDigests.clear();
      d = digest(key);
      trackerDigests.set(key, d);
    }
    return d;
  };
  /**
   * A tracker's entries and poison: under the session (`scope`), or, for a predicate with a scope
   * of its own (`per user.id`, `StoreTracker.scope`), under that scope value, which every session
   * shares; those keys have their own namespace (`:scope:`), so no session name can reach them,
   * and they are not in a session's index (`forget` leaves them).
   */
  const trackerKeys = (scope: string, t: StoreTracker, scoped = t.scope === undefined ? null : digest(t.scope)): [string, string] => {
    const base = `${scoped === null ? scopeKey(scope) : `${prefix}:scope:{${scoped}}`}:${trackerDigest(t.key)}`;
    return [`${base}:e`, `${base}:p`];
  };
  /**
   * The trackers as the read script takes them (READ: `W/T` or `W/T/S` each), and which are plain
   * counts: the same for every decision of a policy (kept per list of trackers; a policy with
   * scoped trackers makes a list per decision).
   */
  const specs = new WeakMap<readonly StoreTracker[], TrackerSpec>();
  const trackerSpec = (trackers: readonly StoreTracker[]): TrackerSpec => {
    let spec = specs.get(trackers);
    if (spec !== undefined) return spec;
    const counts = trackers.map(isCountTracker);
    spec = {
      spec: trackers.map((t) => `${t.withinMs ?? -1}/${trackerDigest(t.key)}${t.scope === undefined ? "" : `/${digest(t.scope)}`}`).join(","),
      counts,
      all: counts.every((c) => c),
    };
    specs.set(trackers, spec);
    return spec;
  };
  const reservationKey = (scope: string, id: string): string => `${scopeKey(scope)}:R:${reservationName(id)}`;
  const labelsKey = (scope: string): string => `${scopeKey(scope)}:labels`;
  const indexKey = (scope: string): string => `${scopeKey(scope)}:keys`;

  return {
    shared: true,
    name,
    client,
    // grants are shared as the history is (grants.ts)
    grants: redisGrantStore(client, prefix, name),

    async read(request: StoreRead): Promise<StoreReadResult> {
      const { scope, now, trackers, reserve, current } = request;
      const fixed = trackerSpec(trackers);
      const fl = reserve?.filings ?? [];
      // whether the labels are read (READ), then a character per tracker
      let filings = request.labels === false ? "-" : "L";
      const extra: string[] = [];
      // per scope value of the decision: how long its history lasts (its trackers' longest window)
      let scopes: Map<string, number> | null = null;
      for (let i = 0, j = 0; i < trackers.length; i++) {
        const t = trackers[i]!;
        // the filings come in the trackers' order (StoreView), so the next one is the usual match
        let f = fl[j];
        if (f !== undefined && f.tracker.key === t.key) j++;
        else f = fl.find((x) => x.tracker.key === t.key);
        if (t.scope !== undefined) {
          const scoped = digest(t.scope);
          scopes ??= new Map();
          scopes.set(scoped, Math.max(scopes.get(scoped) ?? 0, t.withinMs === null || t.since === true ? Number.POSITIVE_INFINITY : t.withinMs));
        }
        if (fixed.counts[i]) {
          if (f === undefined) filings += "0";
          else if (f.error === null) filings += "1";
          else {
            filings += "2";
            extra.push(f.error);
          }
        } else {
          filings += "k";
          extra.push(JSON.stringify({ k: kindName(t), c: currentSpec(current?.[i] ?? ""), ...(f?.kind !== undefined ? { f: kindSpec(f.kind) } : {}) }));
        }
      }
      const id = reserve === undefined ? "" : reserve.id;
      const reserved = reservationName(id);
      const args: (string | number)[] = [now, reserved === id ? id : `${reserved}\n${id}`, reserve?.ttlMs ?? 0, reserve?.actionHash ?? "", fixed.spec, filings, ...extra];
      if (scopes !== null) {
        args.push(maxScopes, SCOPE_OVERSHOOT);
        for (const [d, keep] of scopes) args.push(d, keep === Number.POSITIVE_INFINITY ? "inf" : keep);
      }
      const answer = await readWithin(fixed.all ? "readCounts" : "read", scopeKey(scope), args);
      return readAnswer(answer, trackers, (t) => scopesFull(t.scope!.slice(0, t.scope!.indexOf("\u0000")), `the history store ${name}`, maxScopes));
    },

    async refile(id: string, scope: string, _now: number, filings: readonly StoreFiling[], labels: readonly string[]): Promise<void> {
      const keys = [reservationKey(scope, id), indexKey(scope)];
      const args: (string | number)[] = [scopeDigest(scope), id, JSON.stringify(labels)];
      for (const f of filings) {
        keys.push(...trackerKeys(scope, f.tracker));
        if (f.kind !== undefined) args.push("k", f.tracker.withinMs ?? -1, JSON.stringify({ k: kindName(f.tracker), f: kindSpec(f.kind) }));
        else args.push(f.error === null ? 1 : 2, f.tracker.withinMs ?? -1, f.error ?? "");
      }
      await scripts.run("refile", keys, args);
    },

    async keep(id: string, scope: string, actionHash: string, ttlMs: number): Promise<boolean> {
      return (await scripts.run("keep", [reservationKey(scope, id)], [scopeDigest(scope), actionHash, ttlMs])) === 1;
    },

    async confirm(id: string, scope: string, actionHash?: string): Promise<boolean> {
      return (await scripts.run("confirm", [reservationKey(scope, id)], [scopeDigest(scope), actionHash ?? ""])) === 1;
    },

    async pending(id: string, scope: string): Promise<{ actionHash: string; labels: string[] } | null> {
      const answer = await scripts.run("pending", [reservationKey(scope, id)], [scopeDigest(scope)]);
      if (answer === null) return null;
      if (!Array.isArray(answer) || typeof answer[0] !== "string" || typeof answer[1] !== "string") throw new Unexpected("a pending reservation");
      const labels = JSON.parse(answer[1]) as unknown;
      if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) throw new Unexpected("a reservation's labels");
      return { actionHash: answer[0], labels };
    },

    async release(id: string, scope: string): Promise<boolean> {
      return (await scripts.run("release", [reservationKey(scope, id)], [scopeDigest(scope)])) === 1;
    },

    async addLabels(scope: string, labels: readonly string[], max: number): Promise<string | null> {
      const answer = await scripts.run("labels", [labelsKey(scope)], [max, ...labels]);
      if (typeof answer !== "string") throw new Unexpected("labels");
      return answer === "" ? null : answer;
    },

    async forget(scope: string): Promise<void> {
      await scripts.run("forget", [indexKey(scope), labelsKey(scope)], []);
    },

    async close(): Promise<void> {
      client.disconnect();
    },
  };
}

interface TrackerSpec {
  readonly spec: string;
  /** Per tracker, whether it is a plain count. */
  readonly counts: readonly boolean[];
  /** Whether every tracker is (the leaner READ_COUNTS then reads them). */
  readonly all: boolean;
}

/** The kind the scripts keep a tracker as (scripts.ts KINDS). */
const kindName = (t: StoreTracker): string => (t.since === true ? "since" : t.kind);

/** The current key as the read script takes it: `#` and its digest, `-` for none, `!` and why it cannot be made. */
function currentSpec(c: CurrentKey): string {
  if (typeof c === "string") return `#${digest(c)}`;
  return c === null ? "-" : `!${c.error}`;
}

/** A filing as the scripts take it: keys as digests, the number as its shortest text (which Lua's tonumber reads back exactly). */
function kindSpec(f: KindFiling): Record<string, unknown> {
  switch (f.type) {
    case "poison":
    case "lasting":
      return { t: f.type, e: f.error };
    case "unkeyed":
    case "b":
      return { t: f.type };
    case "a":
      return { t: f.type, k: f.keys.map(digest) };
    case "bad":
      return { t: f.type, k: f.keys.map(digest), e: f.error };
    case "entry":
      return { t: f.type, k: f.keys.map(digest), v: String(f.value) };
  }
}

/** The value of a tracker that nothing matched (tracker-kinds.ts `emptyValue`). */
const emptyValue = (t: StoreTracker): number | boolean | null => (t.since === true || t.kind === "seen" ? false : t.kind === "max" || t.kind === "min" ? null : 0);

/** A kind's value as the read script answers it (scripts.ts READ). */
function kindAnswer(t: StoreTracker, text: unknown): { value: number | boolean | null; error: string | null } {
  if (typeof text !== "string" || text === "") throw new Unexpected("a tracker's value");
  const rest = text.slice(1);
  const number = (s: string): number => {
    const n = s.trim() === "" ? Number.NaN : Number(s);
    if (!Number.isFinite(n)) throw new Unexpected("a tracker's number");
    return n;
  };
  switch (text[0]) {
    case "E":
      return { value: null, error: rest };
    case "Z":
      return { value: emptyValue(t), error: null };
    case "C": {
      const n = number(rest);
      if (!Number.isSafeInteger(n) || n < 0) throw new Unexpected("a tracker's count");
      return { value: t.kind === "seen" ? n > 0 : n, error: null };
    }
    case "S":
      return { value: number(rest), error: null };
    case "V":
      return { value: number(rest.slice(rest.lastIndexOf("\n") + 1)), error: null };
    case "N":
      return { value: null, error: null };
    case "T":
    case "F":
      if (rest !== "") break;
      return { value: text === "T", error: null };
  }
  throw new Unexpected("a tracker's value");
}

/** The read script's answer, checked: a Redis (or something posing as one) answering otherwise fails the decision. `full`: why a scope value cannot be held. */
function readAnswer(answer: unknown, trackers: readonly StoreTracker[], full: (t: StoreTracker) => string): StoreReadResult {
  const n = trackers.length;
  // flat: three items per tracker, then the labels (scripts.ts READ)
  if (!Array.isArray(answer) || answer.length < 3 * n) throw new Unexpected("not the trackers asked for");
  const values: StoreValue[] = [];
  for (let i = 0; i < n; i++) {
    const head = answer[3 * i] as unknown;
    const second = answer[3 * i + 1] as unknown;
    const third = answer[3 * i + 2] as unknown;
    const t = trackers[i]!;
    if (head === -2) {
      if (t.scope === undefined) throw new Unexpected("a full scope for a session's tracker");
      values.push({ count: 0, error: full(t), scopesFull: true });
      continue;
    }
    if (!isCountTracker(t)) {
      if (head !== -1 || typeof third !== "string") throw new Unexpected("a tracker's value");
      const now = kindAnswer(t, second);
      values.push({ count: 0, ...now, ...(third !== "" ? { filed: kindAnswer(t, third) } : {}) });
      continue;
    }
    if (typeof head !== "number" || !Number.isSafeInteger(head) || head < 0 || typeof second !== "string" || third !== "") throw new Unexpected("a tracker's value");
    const cut = second.indexOf("\n");
    values.push({ count: head, error: second === "" ? null : second.slice(cut + 1) });
  }
  const labels = answer.slice(3 * n) as unknown[];
  if (!labels.every((l) => typeof l === "string")) throw new Unexpected("the session's labels");
  return { values, labels };
}
