/**
 * Pending approvals kept in Redis: visible and answerable from every process on the same Redis,
 * still pending after a restart, and an answer given in one process releases the action waiting
 * in another.
 *
 *   const queue = redisApprovalQueue({ url: "redis://127.0.0.1:6379" });
 *   createEnforcer({ policy, approvals: queue, history: redisStore({ url }) });
 *
 * It is the runtime's `ApprovalQueue` (`pending()`, `get(id)`, `resolve(id, answer)`,
 * `subscribe(listener)`, `onRequest`), so the approval routes and the console take it as they
 * take the in-memory queue. Those calls are synchronous; Redis is not. So each queue keeps a
 * mirror of the requests pending in Redis (loaded when it starts, `ready`), which `pending()`
 * and `get()` read, and `resolve()` checks an answer against the mirror and sends it to Redis,
 * where a script applies it atomically: the first answer that settles a request wins, later ones
 * change nothing (`answer()` says which happened). Quorum: a request asks for `quorum` distinct
 * approvers (default 1); each approving answer is the vote of the approver it names, the
 * request is approved when `quorum` of them voted and rejected at the first rejection, and the
 * response names every approver who voted (`approvers`).
 *
 * Changes reach the other processes by Redis pub/sub (one channel per prefix): a message says
 * which request was asked, voted on or settled, and each queue reloads its mirror and releases
 * the action it waits for. Pub/sub rather than keyspace notifications, which are off unless the
 * server is configured for them (`notify-keyspace-events`) and say only that a key changed.
 * Pub/sub delivers at most once: a message sent while a queue's subscriber connection was down
 * is lost, so each queue also reloads its mirror and asks about the requests it waits for every
 * `pollMs` (default 1 s).
 *
 * A request lives in Redis until it is answered, aborted by the process that asked (the
 * enforcer's timeout: it then denies, as with the in-memory queue), or its timeout has passed
 * (the hash expires), so a process that died leaves its requests listed no longer than their
 * timeout. At most `maxPending` requests (default 1,000) are pending at once; a request past that
 * is refused, and the enforcer denies it. The process that asked writes the approval's audit
 * records, as it does with any handler.
 */
import { createHash } from "node:crypto";
import { ApprovalAborted, type ApprovalQueue, type ApprovalRequest, type ApprovalResolution, type ApprovalResponse, type PendingApproval, queueNotices } from "@agent-armor/runtime";
import { Redis, type RedisOptions } from "ioredis";
import { storeName } from "./index.js";

export interface RedisApprovalQueueOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** What every key starts with (default `armor`), as for `redisStore`. */
  prefix?: string;
  /** How long a command may take before it fails (default 1000 ms). */
  timeoutMs?: number;
  /** How often the mirror is reloaded and waiting requests asked about, besides pub/sub (default 1000 ms). */
  pollMs?: number;
  /** At most this many requests pending at once, in all processes (default 1,000). */
  maxPending?: number;
  /** Called synchronously when this process asks for an approval (after it joined the queue). */
  onRequest?: (pending: PendingApproval) => void;
  /** More ioredis options; the queue's own (timeouts, retries) win. */
  redis?: RedisOptions;
}

export interface RedisApprovalQueue extends ApprovalQueue {
  /** Resolves when the mirror holds what Redis held at start (rejects when Redis did not answer). */
  readonly ready: Promise<void>;
  /** Answers a request in Redis: true when this answer was taken (a vote, or the settling answer), false when the request was unknown, settled, or the answer's hash or vote did not count. */
  answer(id: string, resolution: ApprovalResolution): Promise<boolean>;
  /** `answer`, with the approvals Redis holds after the vote (other processes' included); null when it counted none. */
  vote(id: string, resolution: ApprovalResolution): Promise<{ taken: boolean; votes: number | null }>;
  /** Stops listening; requests this process waits for are aborted (they stay in Redis until they expire). */
  close(): Promise<void>;
}

export const DEFAULT_MAX_PENDING = 1_000;

/** Adds a request. KEYS: pending ids (zset by arrival), its hash. ARGV: id, request JSON, quorum, ttl ms, now, max, channel, hash prefix, action hash, value hash. */
const ADD = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 'exists' end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local h = ARGV[8] .. redis.sha1hex(id)
    if redis.call('HEXISTS', h, 'r') == 0 or redis.call('HEXISTS', h, 'a') == 1 then redis.call('ZREM', KEYS[1], id) end
  end
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) then return 'full' end
end
redis.call('HSET', KEYS[2], 'r', ARGV[2], 'q', ARGV[3], 'v', '[]', 'ah', ARGV[9], 'vh', ARGV[10])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[1], tonumber(ARGV[5]), ARGV[1])
redis.call('PUBLISH', ARGV[7], cjson.encode({ t = 'requested', id = ARGV[1] }))
return 'ok'
`;

/**
 * An answer. KEYS: pending ids, the hash. ARGV: id, approved (1/0), approver, note, action hash
 * ("" any), value hash ("" any), channel, grant (1/0: "approve and grant"). Returns {0} (not
 * taken), {1, approvals held after it} (a vote, not settled yet) or {2, answer JSON}. A settled request keeps its answer a
 * minute, for the process that waits. An approval grants only when every approving vote asked
 * for the grant (field `ng` marks a vote that did not).
 */
const VOTE = `
if redis.call('HEXISTS', KEYS[2], 'r') == 0 or redis.call('HEXISTS', KEYS[2], 'a') == 1 then return {0} end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[2], 'ah') ~= ARGV[5] then return {0} end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[2], 'vh') ~= ARGV[6] then return {0} end
local votes = cjson.decode(redis.call('HGET', KEYS[2], 'v'))
local answer = { approved = ARGV[2] == '1', approver = ARGV[3], note = ARGV[4] }
if ARGV[2] == '1' then
  for _, v in ipairs(votes) do if v == ARGV[3] then return {0} end end
  votes[#votes + 1] = ARGV[3]
  if ARGV[8] ~= '1' then redis.call('HSET', KEYS[2], 'ng', '1') end
  if #votes < tonumber(redis.call('HGET', KEYS[2], 'q')) then
    redis.call('HSET', KEYS[2], 'v', cjson.encode(votes))
    redis.call('PUBLISH', ARGV[7], cjson.encode({ t = 'voted', id = ARGV[1] }))
    return {1, #votes}
  end
end
answer.approvers = votes
answer.grant = answer.approved and redis.call('HEXISTS', KEYS[2], 'ng') == 0
local text = cjson.encode(answer)
redis.call('HSET', KEYS[2], 'a', text, 'v', cjson.encode(votes))
redis.call('PEXPIRE', KEYS[2], 60000)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[7], cjson.encode({ t = 'settled', id = ARGV[1] }))
return {2, text}
`;

/** Aborts a pending request (its process stopped waiting). KEYS: pending ids, the hash. ARGV: id, channel. */
const CANCEL = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[2], 'a') == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[2], cjson.encode({ t = 'settled', id = ARGV[1] }))
return 1
`;

/**
 * The pending requests, in arrival order: {id, request JSON, votes JSON}...; drops ids whose hash
 * expired or settled. KEYS: pending ids. ARGV: hash prefix.
 */
const LIST = `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HMGET', ARGV[1] .. redis.sha1hex(id), 'r', 'v', 'a')
  if h[1] and not h[3] then out[#out + 1] = { id, h[1], h[2] } else redis.call('ZREM', KEYS[1], id) end
end
return out
`;

type Scripted = Redis & Record<"armorApprovalAdd" | "armorApprovalVote" | "armorApprovalCancel" | "armorApprovalList", (...args: (string | number)[]) => Promise<unknown>>;

interface Waiting {
  settle(response: ApprovalResponse): void;
  fail(error: unknown): void;
}

class Unexpected extends Error {
  constructor(what: string) {
    super(`Redis answered something the approval queue did not expect (${what})`);
  }
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** A stored answer, checked: anything else (text that is not JSON, an object without a boolean `approved`) is not an answer, and throws `Unexpected`. */
function parseAnswer(text: unknown): ApprovalResponse & { approvers: string[] } {
  let a: unknown = null;
  try {
    a = typeof text === "string" ? (JSON.parse(text) as unknown) : null;
  } catch {
    // not JSON: refused below, as any other text that is not an answer
  }
  if (a === null || typeof a !== "object" || typeof (a as { approved?: unknown }).approved !== "boolean") throw new Unexpected("an answer");
  const { approved, approver, note, approvers } = a as Record<string, unknown>;
  return {
    approved: approved === true,
    ...(typeof approver === "string" && approver !== "" ? { approver } : {}),
    ...(typeof note === "string" && note !== "" ? { note } : {}),
    ...(approved === true && (a as { grant?: unknown }).grant === true ? { grant: true } : {}),
    approvers: strings(approvers),
  };
}

/** A request as stored, checked and frozen; null when it is not one. */
function parsePending(id: string, text: unknown, votes: unknown): PendingApproval | null {
  try {
    const p = JSON.parse(String(text)) as Record<string, unknown>;
    if (p === null || typeof p !== "object" || p.id !== id || typeof p.actionHash !== "string") return null;
    return deepFreeze({ ...p, approvers: strings(JSON.parse(String(votes))) }) as unknown as PendingApproval;
  } catch {
    return null;
  }
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

export function redisApprovalQueue(options: RedisApprovalQueueOptions): RedisApprovalQueue {
  if (typeof options?.url !== "string" || !/^rediss?:\/\//.test(options.url)) {
    throw new TypeError(`redisApprovalQueue: url must be a redis:// or rediss:// URL, got ${JSON.stringify(String(options?.url)).slice(0, 200)}`);
  }
  const timeoutMs = options.timeoutMs ?? 1000;
  const prefix = `${options.prefix ?? "armor"}:{approvals}`;
  const idsKey = `${prefix}:pending`;
  const hashPrefix = `${prefix}:a:`;
  const channel = `${prefix}:events`;
  const maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  const name = storeName(options.url);
  const connect = (): Redis =>
    new Redis(options.url, {
      ...options.redis,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 1000),
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
    });
  const client = connect() as Scripted;
  const subscriber = connect();
  // connection errors reach the calls that fail; an unhandled 'error' event would end the process
  client.on("error", () => {});
  subscriber.on("error", () => {});
  client.defineCommand("armorApprovalAdd", { lua: ADD, numberOfKeys: 2 });
  client.defineCommand("armorApprovalVote", { lua: VOTE, numberOfKeys: 2 });
  client.defineCommand("armorApprovalCancel", { lua: CANCEL, numberOfKeys: 2 });
  client.defineCommand("armorApprovalList", { lua: LIST, numberOfKeys: 1 });
  // the same digest the scripts compute with redis.sha1hex: any id makes a short key
  const hashKey = (id: string): string => hashPrefix + createHash("sha1").update(id).digest("hex");

  /** The requests pending in Redis, as last loaded, in arrival order (with this process's own at once). */
  let mirror = new Map<string, PendingApproval>();
  /** This process's requests, waiting for their answer. */
  const waiting = new Map<string, Waiting>();
  const { emit, offer, subscribe, waitFor, rejectAll } = queueNotices(() => mirror.values());
  let closed = false;

  /** Makes `next` the mirror, telling listeners which requests joined and which left. */
  const replace = (next: Map<string, PendingApproval>): void => {
    const before = mirror;
    mirror = next;
    for (const id of before.keys()) if (!next.has(id)) emit("settled", id);
    for (const [id, p] of next) {
      if (before.has(id)) continue;
      emit("requested", id);
      offer(p);
    }
  };

  /** Loads the pending requests from Redis; this process's own that Redis has not answered for yet stay. */
  let loading: Promise<void> | null = null;
  let again = false;
  const reload = (): Promise<void> => {
    if (loading !== null) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        do {
          again = false;
          const rows = await client.armorApprovalList(idsKey, hashPrefix);
          if (!Array.isArray(rows)) throw new Unexpected("the pending requests");
          const next = new Map<string, PendingApproval>();
          for (const row of rows.slice(0, maxPending)) {
            if (!Array.isArray(row) || typeof row[0] !== "string") continue;
            const p = parsePending(row[0], row[1], row[2]);
            if (p !== null) next.set(row[0], p);
          }
          if (!closed) replace(next);
        } while (again && !closed);
      } finally {
        loading = null;
      }
    })();
    return loading;
  };

  /** Asks Redis about the requests this process waits for, and settles those that were answered. */
  const collect = async (): Promise<void> => {
    if (waiting.size === 0) return;
    const ids = [...waiting.keys()];
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.hmget(hashKey(id), "r", "a");
    const answers = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => {
      const [err, fields] = answers[i] ?? [null, null];
      if (err !== null || !Array.isArray(fields)) return;
      const w = waiting.get(id);
      // gone without an answer (expired, or aborted elsewhere): the enforcer's own timeout decides
      if (w !== undefined && typeof fields[1] === "string") settleWith(w, fields[1]);
    });
  };

  /**
   * Settles a waiting request with its stored answer. A stored answer that is not one is never
   * trusted: the request fails with an error naming it (the enforcer denies and records why),
   * and the answers of the other requests are still collected.
   */
  const settleWith = (w: Waiting, text: unknown): void => {
    let response: ApprovalResponse;
    try {
      response = parseAnswer(text);
    } catch (e) {
      w.fail(new Error(`approval queue ${name}: ${(e as Error).message}; the answer is not trusted`));
      return;
    }
    w.settle(response);
  };

  const refresh = (): void => {
    if (closed) return;
    reload().catch(() => undefined);
    collect().catch(() => undefined);
  };

  subscriber.on("message", (_channel: string, message: string) => {
    let event: { t?: unknown; id?: unknown };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (typeof event?.id !== "string") return;
    refresh();
  });
  // after a reconnect the subscription is made again by ioredis; what was published meanwhile comes from the poll
  const ready = subscriber.subscribe(channel).then(() => reload());
  ready.catch(() => undefined);
  const poll = setInterval(refresh, options.pollMs ?? 1000);
  poll.unref();

  /** The approvals a vote's outcome says Redis holds: after a vote ({1, n}), or in the answer that settled the request; null when unknown. */
  const votesOf = (answer: unknown[]): number | null => {
    if (answer[0] === 1) return Number.isSafeInteger(answer[1]) ? (answer[1] as number) : null;
    if (answer[0] !== 2 || typeof answer[1] !== "string") return null;
    try {
      const approvers = (JSON.parse(answer[1]) as { approvers?: unknown }).approvers;
      return Array.isArray(approvers) ? approvers.length : null;
    } catch {
      return null;
    }
  };
  /** A vote sent to Redis: whether it was taken, and (one that did not settle the request) the approvals Redis holds after it. */
  const send = async (id: string, resolution: ApprovalResolution): Promise<{ taken: boolean; votes: number | null }> => {
    const approver = typeof resolution.approver === "string" ? resolution.approver : "";
    const answer = await client.armorApprovalVote(
      idsKey,
      hashKey(id),
      id,
      resolution.approved === true ? "1" : "0",
      approver,
      typeof resolution.note === "string" ? resolution.note : "",
      typeof resolution.actionHash === "string" ? resolution.actionHash : "",
      typeof resolution.valueHash === "string" ? resolution.valueHash : "",
      channel,
      resolution.grant === true ? "1" : "0",
    );
    if (!Array.isArray(answer) || ![0, 1, 2].includes(answer[0] as number)) throw new Unexpected("an answer's outcome");
    if (answer[0] === 2) {
      // the request settled: its process (this one, or another through pub/sub) lets the action go on
      const w = waiting.get(id);
      if (w !== undefined) settleWith(w, answer[1]);
      refresh();
    }
    return { taken: answer[0] !== 0, votes: votesOf(answer) };
  };

  const queue: RedisApprovalQueue = {
    ready,

    request(req: ApprovalRequest): Promise<ApprovalResponse> {
      return new Promise<ApprovalResponse>((resolve, reject) => {
        const { signal } = req;
        if (closed) return reject(new Error(`the approval queue in ${name} is closed`));
        if (signal.aborted) return reject(new ApprovalAborted(req.id, signal.reason));
        if (waiting.has(req.id) || mirror.has(req.id)) return reject(new Error(`an approval request with id ${req.id} is already pending`));
        const quorum = (req as { quorum?: unknown }).quorum;
        const stored = {
          id: req.id,
          action: req.action,
          actionHash: req.actionHash,
          rules: req.rules,
          reason: req.reason,
          from: req.from,
          timeoutMs: req.timeoutMs,
          session: req.session,
          user: req.user,
          policy: req.policy,
          requestedAt: new Date().toISOString(),
          quorum: typeof quorum === "number" && Number.isSafeInteger(quorum) && quorum >= 1 ? quorum : 1,
          // what "approve and grant" would grant (the console shows it), or null
          grant: req.grant ?? null,
          ...(req.stage !== undefined ? { stage: req.stage, value: req.value, valueHash: req.valueHash } : {}),
        };
        const pending = deepFreeze({ ...(JSON.parse(JSON.stringify(stored)) as object), approvers: [] }) as unknown as PendingApproval;
        let done = false;
        const finish = (): void => {
          done = true;
          waiting.delete(req.id);
          signal.removeEventListener("abort", onAbort);
          if (mirror.has(req.id)) {
            const next = new Map(mirror);
            next.delete(req.id);
            replace(next);
          }
        };
        const onAbort = (): void => {
          if (done) return;
          finish();
          reject(new ApprovalAborted(req.id, signal.reason));
          client.armorApprovalCancel(idsKey, hashKey(req.id), req.id, channel).catch(() => undefined);
        };
        waiting.set(req.id, {
          settle(response) {
            if (done) return;
            finish();
            resolve(response);
          },
          fail(error) {
            if (done) return;
            finish();
            reject(error);
          },
        });
        signal.addEventListener("abort", onAbort, { once: true });
        // kept as long as the enforcer waits (plus a minute, for a late answer to be seen), never longer
        const ttl = (typeof req.timeoutMs === "number" && req.timeoutMs > 0 ? Math.min(req.timeoutMs, 2 ** 31 - 1) : 24 * 3_600_000) + 60_000;
        client
          .armorApprovalAdd(idsKey, hashKey(req.id), req.id, JSON.stringify(stored), stored.quorum, ttl, Date.now(), maxPending, channel, hashPrefix, req.actionHash, req.valueHash ?? "")
          .then((outcome) => {
            if (outcome === "ok") return;
            if (outcome === "full") throw new Error(`the approval queue in ${name} already holds ${maxPending} pending requests`);
            if (outcome === "exists") throw new Error(`an approval request with id ${req.id} is already pending`);
            throw new Unexpected("a request's outcome");
          })
          .catch((e: unknown) => waiting.get(req.id)?.fail(e instanceof Error ? new Error(`approval queue unavailable: ${name}: ${e.message}`) : e));
        // it is pending for this process at once, as in the in-memory queue
        const next = new Map(mirror);
        next.set(req.id, pending);
        replace(next);
        if (options.onRequest !== undefined && !done) {
          try {
            options.onRequest(pending);
          } catch (error) {
            waiting.get(req.id)?.fail(error);
            client.armorApprovalCancel(idsKey, hashKey(req.id), req.id, channel).catch(() => undefined);
          }
        }
      });
    },

    pending() {
      return [...mirror.values()];
    },

    get(id) {
      return typeof id === "string" ? mirror.get(id) : undefined;
    },

    resolve(id, resolution) {
      const p = typeof id === "string" ? mirror.get(id) : undefined;
      if (p === undefined) return false;
      if (resolution.actionHash !== undefined && resolution.actionHash !== p.actionHash) return false;
      if (resolution.valueHash !== undefined && resolution.valueHash !== p.valueHash) return false;
      const approver = typeof resolution.approver === "string" ? resolution.approver : "";
      if (resolution.approved === true && strings((p as unknown as { approvers?: unknown }).approvers).includes(approver)) return false;
      // applied in Redis in the order answers arrive there: the first that settles the request wins
      send(id, resolution).catch(() => undefined);
      return true;
    },

    async answer(id, resolution) {
      if (typeof id !== "string") return false;
      return (await send(id, resolution)).taken;
    },

    vote(id, resolution) {
      if (typeof id !== "string") return Promise.resolve({ taken: false, votes: null });
      return send(id, resolution);
    },

    approve(id, approver, note) {
      return queue.resolve(id, note === undefined ? { approved: true, approver } : { approved: true, approver, note });
    },

    reject(id, approver, note) {
      return queue.resolve(id, note === undefined ? { approved: false, approver } : { approved: false, approver, note });
    },

    subscribe,
    waitFor,

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      for (const [id, w] of [...waiting]) w.fail(new ApprovalAborted(id, new Error("the approval queue was closed")));
      rejectAll(new ApprovalAborted("waitFor", new Error("the approval queue was closed")));
      subscriber.disconnect();
      client.disconnect();
    },
  };
  return queue;
}
