/**
 * Grants kept in Redis (`redisStore(...).grants`): what an approver granted holds at every
 * process on the same Redis, with the in-memory store's meaning (the runtime's grants.ts): a
 * grant is found by its rule, scope and value while it is live and made under the rule's current
 * offer (the expired and the stale are dropped, and `find` answers them for their records, each
 * once, whichever process dropped it); `up to N` keeps the amount left as exact partials; at most
 * `MAX_GRANTS_PER_SCOPE` per (rule, scope, value), the oldest giving way, and `MAX_GRANTS` in
 * all, the soonest to expire giving way.
 *
 * Amounts are taken atomically without doing arithmetic in Lua: a use reads the amount left,
 * computes what is left after it exactly in JavaScript (the runtime's exact sum), and a script
 * stores that only if the amount left is still the text it read (compare and set), else the use
 * is tried again on the new amount. So two processes using the last of a grant at once cannot
 * both get it: the second sees the first's amount and finds too little. Giving back is the same.
 *
 * Keys, under `PREFIX:{grants}` (one hash tag: every key a script touches is in one slot):
 * `g:SHA1(id)` the grant (a hash), `u:SHA1(id)` its uses in flight (decision id → amount),
 * `t:SHA1(id)` its reservations' holds (decision id → until when, by Redis's clock), `o:SHA1(id)`
 * who holds them (decision id → session and action hash), `d:SHA1(decision id)` the grant a
 * reservation holds, `k:SHA1(rule, scope, value)` the grants of a scope (a sorted set by
 * creation), and `all` every grant by expiry. A grant's keys expire a minute after it does. A hold
 * past its time stays taken (its action may have run): only a release gives it back. The
 * approval-requiring decisions the enforcers issued (`issue`), which `Enforcer.grant` alone makes
 * grants of: `i:SHA1(decision id, action hash)` each (JSON, expiring with its time), and `issued`
 * their names by when they lapse, at most `MAX_ISSUED`, and `is:SHA1(session)` each session's, at
 * most `MAX_ISSUED_PER_SESSION` (a session gives up its own soonest to lapse, never another's);
 * `take` gets and deletes one in a step, so that it makes one grant at most.
 */
import { createHash } from "node:crypto";
import {
  addPartial,
  type Grant,
  type GrantOffer,
  type GrantStore,
  type GrantsFound,
  type GrantUseResult,
  grantKey,
  type IssuedApproval,
  type LapsedUse,
  MAX_GRANTS,
  MAX_GRANTS_PER_SCOPE,
  MAX_ISSUED,
  MAX_ISSUED_PER_SESSION,
  newGrant,
  partialsValue,
  roundedDown,
} from "@agent-armor/runtime";
import type { Redis } from "ioredis";

/** Drops a grant and its keys. Shared by the scripts; `P` is the key prefix. */
const DROP_FN = `
local function drop(P, id)
  local h = P .. 'g:' .. redis.sha1hex(id)
  local k = redis.call('HGET', h, 'k')
  if k then redis.call('ZREM', k, id) end
  redis.call('ZREM', P .. 'all', id)
  local t = P .. 't:' .. redis.sha1hex(id)
  for _, d in ipairs(redis.call('HKEYS', t)) do redis.call('DEL', P .. 'd:' .. redis.sha1hex(d)) end
  return redis.call('DEL', h, P .. 'u:' .. redis.sha1hex(id), t, P .. 'o:' .. redis.sha1hex(id))
end
`;

/**
 * Creates a grant, once: answers 0 when a grant of that id is kept already (its amount left is
 * never reset), 1 when made. KEYS: scope set. ARGV: prefix, id, now, expiresAt, fields JSON
 * (rule, scope, value, upTo, offer, left), max per scope, max in all.
 */
const CREATE = `${DROP_FN}
local P, id, now, exp = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', P .. 'g:' .. redis.sha1hex(id)) == 1 then return 0 end
for _, g in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local e = redis.call('HGET', P .. 'g:' .. redis.sha1hex(g), 'exp')
  if not e or tonumber(e) <= now then drop(P, g); redis.call('ZREM', KEYS[1], g) end
end
while redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[6]) do drop(P, redis.call('ZRANGE', KEYS[1], 0, 0)[1]) end
for _, g in ipairs(redis.call('ZRANGEBYSCORE', P .. 'all', '-inf', now)) do drop(P, g) end
while redis.call('ZCARD', P .. 'all') >= tonumber(ARGV[7]) do drop(P, redis.call('ZRANGE', P .. 'all', 0, 0)[1]) end
local h = P .. 'g:' .. redis.sha1hex(id)
local f = cjson.decode(ARGV[5])
redis.call('HSET', h, 'id', id, 'k', KEYS[1], 'exp', ARGV[4], 'rule', f.rule, 'scope', f.scope, 'value', f.value, 'upTo', f.upTo, 'offer', f.offer, 'left', f.left)
redis.call('PEXPIREAT', h, exp + 60000)
redis.call('ZADD', KEYS[1], now, id)
redis.call('PEXPIREAT', KEYS[1], exp + 60000)
redis.call('ZADD', P .. 'all', exp, id)
return 1
`;

/**
 * The grants of a scope: {id, exp, rule, scope, value, upTo, offer, left, {lapsed: decision id,
 * holder JSON...}}...; drops ids whose grant is gone. A held use is lapsed when its time is at most
 * Redis's own clock (\`TIME\`: processes whose clocks differ agree on it): it is settled here, its
 * amount staying taken (its action may have run), and answered once, to this call. KEYS: scope
 * set. ARGV: prefix.
 */
const LIST = `
local out = {}
local P = ARGV[1]
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
for _, g in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', P .. 'g:' .. redis.sha1hex(g), 'id', 'exp', 'rule', 'scope', 'value', 'upTo', 'offer', 'left')
  if f[1] then
    local lapsed = {}
    local tk = P .. 't:' .. redis.sha1hex(g)
    local ok = P .. 'o:' .. redis.sha1hex(g)
    local t = redis.call('HGETALL', tk)
    for i = 1, #t, 2 do
      if tonumber(t[i + 1]) <= now then
        local d = t[i]
        lapsed[#lapsed + 1] = d
        lapsed[#lapsed + 1] = redis.call('HGET', ok, d) or ''
        redis.call('HDEL', tk, d)
        redis.call('HDEL', ok, d)
        redis.call('HDEL', P .. 'u:' .. redis.sha1hex(g), d)
        redis.call('DEL', P .. 'd:' .. redis.sha1hex(d))
      end
    end
    f[9] = lapsed
    out[#out + 1] = f
  else redis.call('ZREM', KEYS[1], g) end
end
return out
`;

/** Drops grants (expired or stale); answers the ids this call dropped (another process may have first). ARGV: prefix, ids... */
const DROP = `${DROP_FN}
local out = {}
for i = 2, #ARGV do if drop(ARGV[1], ARGV[i]) > 0 then out[#out + 1] = ARGV[i] end end
return out
`;

/**
 * Takes an amount for a decision, if the amount left is still `expected` (compare and set).
 * ARGV: prefix, id, decision id, now, expected left ('' without up to), new left, amount, held
 * for ('' when not held: a reservation's use is held for so many milliseconds from Redis's
 * \`TIME\`, in `t:`, its holder in `o:`, and found by its decision id in `d:`), holder JSON.
 * Answers 'ok', 'gone' (expired or dropped), 'used' (this decision already took it) or 'changed'.
 */
const USE = `
local h = ARGV[1] .. 'g:' .. redis.sha1hex(ARGV[2])
local u = ARGV[1] .. 'u:' .. redis.sha1hex(ARGV[2])
local exp = redis.call('HGET', h, 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[4]) then return 'gone' end
if redis.call('HEXISTS', u, ARGV[3]) == 1 then return 'used' end
if ARGV[5] ~= '' then
  if redis.call('HGET', h, 'left') ~= ARGV[5] then return 'changed' end
  redis.call('HSET', h, 'left', ARGV[6])
end
redis.call('HSET', u, ARGV[3], ARGV[7])
redis.call('PEXPIREAT', u, tonumber(exp) + 60000)
if ARGV[8] ~= '' then
  local tm = redis.call('TIME')
  local untilMs = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000) + tonumber(ARGV[8])
  local t = ARGV[1] .. 't:' .. redis.sha1hex(ARGV[2])
  local o = ARGV[1] .. 'o:' .. redis.sha1hex(ARGV[2])
  redis.call('HSET', t, ARGV[3], untilMs)
  redis.call('PEXPIREAT', t, tonumber(exp) + 60000)
  redis.call('HSET', o, ARGV[3], ARGV[9])
  redis.call('PEXPIREAT', o, tonumber(exp) + 60000)
  redis.call('SET', ARGV[1] .. 'd:' .. redis.sha1hex(ARGV[3]), ARGV[2], 'PXAT', math.max(tonumber(exp), untilMs) + 60000)
end
return 'ok'
`;

/** A use stays taken: it is no longer held. ARGV: prefix, id, decision id. Answers 1 when the decision had a use of the grant, else 0. */
const SETTLE = `
local t = ARGV[1] .. 't:' .. redis.sha1hex(ARGV[2])
redis.call('HDEL', t, ARGV[3])
redis.call('HDEL', ARGV[1] .. 'o:' .. redis.sha1hex(ARGV[2]), ARGV[3])
redis.call('DEL', ARGV[1] .. 'd:' .. redis.sha1hex(ARGV[3]))
return redis.call('HDEL', ARGV[1] .. 'u:' .. redis.sha1hex(ARGV[2]), ARGV[3])
`;

/**
 * Gives back what a decision took, if the amount left is still `expected`. ARGV: prefix, id,
 * decision id, expected left ('' without up to), new left. Answers 'ok', 'none' or 'changed'.
 */
const GIVE_BACK = `
local h = ARGV[1] .. 'g:' .. redis.sha1hex(ARGV[2])
local u = ARGV[1] .. 'u:' .. redis.sha1hex(ARGV[2])
if redis.call('HEXISTS', u, ARGV[3]) == 0 then return 'none' end
if ARGV[4] ~= '' and redis.call('EXISTS', h) == 1 then
  if redis.call('HGET', h, 'left') ~= ARGV[4] then return 'changed' end
  redis.call('HSET', h, 'left', ARGV[5])
end
redis.call('HDEL', u, ARGV[3])
redis.call('HDEL', ARGV[1] .. 't:' .. redis.sha1hex(ARGV[2]), ARGV[3])
redis.call('HDEL', ARGV[1] .. 'o:' .. redis.sha1hex(ARGV[2]), ARGV[3])
redis.call('DEL', ARGV[1] .. 'd:' .. redis.sha1hex(ARGV[3]))
return 'ok'
`;

/**
 * Keeps an issued decision: the lapsed ones dropped from the indexes (their keys expire by
 * themselves), then, while its session is at its share or all are at the cap, the session's own
 * soonest to lapse; 0 (nothing kept) when the session has none to give up.
 * ARGV: prefix, name (the SHA-1 of id and action hash), JSON, lapses at (ms), ttl (ms), now, cap,
 * session, per-session share.
 */
const ISSUE = `
local P = ARGV[1]
local idx = P .. 'issued'
local sk = P .. 'is:' .. redis.sha1hex(ARGV[8])
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[6])
redis.call('ZREMRANGEBYSCORE', sk, '-inf', ARGV[6])
redis.call('ZREM', idx, ARGV[2])
redis.call('ZREM', sk, ARGV[2])
while redis.call('ZCARD', sk) >= tonumber(ARGV[9]) or redis.call('ZCARD', idx) >= tonumber(ARGV[7]) do
  local n = redis.call('ZRANGE', sk, 0, 0)[1]
  if not n then return 0 end
  redis.call('DEL', P .. 'i:' .. n)
  redis.call('ZREM', idx, n)
  redis.call('ZREM', sk, n)
end
redis.call('SET', P .. 'i:' .. ARGV[2], ARGV[3], 'PX', ARGV[5])
redis.call('ZADD', idx, ARGV[4], ARGV[2])
redis.call('ZADD', sk, ARGV[4], ARGV[2])
if redis.call('PTTL', sk) < tonumber(ARGV[5]) then redis.call('PEXPIRE', sk, ARGV[5]) end
return 1
`;

/**
 * Takes an issued decision: its JSON, and it is kept no longer (so it makes one grant at most, at
 * any process). ARGV: prefix, name.
 */
const TAKE = `
local P = ARGV[1]
local k = P .. 'i:' .. ARGV[2]
local v = redis.call('GET', k)
redis.call('DEL', k)
redis.call('ZREM', P .. 'issued', ARGV[2])
if not v then return false end
local ok, x = pcall(cjson.decode, v)
if ok and type(x) == 'table' and type(x.session) == 'string' then redis.call('ZREM', P .. 'is:' .. redis.sha1hex(x.session), ARGV[2]) end
return v
`;

type Scripted = Redis &
  Record<
    "armorGrantCreate" | "armorGrantList" | "armorGrantDrop" | "armorGrantUse" | "armorGrantSettle" | "armorGrantGiveBack" | "armorGrantIssue" | "armorGrantTake",
    (...args: (string | number)[]) => Promise<unknown>
  >;

/** How often a use or a give-back is tried again when another process changed the amount meanwhile. */
const MAX_TRIES = 64;

const sha1 = (text: string): string => createHash("sha1").update(text, "utf16le").digest("hex");

class Unexpected extends Error {
  constructor(what: string) {
    super(`Redis answered something the grant store did not expect (${what})`);
  }
}

/** The holder a LIST row names for a lapsed hold (JSON of its session and action hash), when it is one. */
function holderOf(text: unknown): { session?: string; actionHash?: string } {
  if (typeof text !== "string" || text === "") return {};
  try {
    const h = JSON.parse(text) as { session?: unknown; actionHash?: unknown };
    return typeof h.session === "string" && typeof h.actionHash === "string" ? { session: h.session, actionHash: h.actionHash } : {};
  } catch {
    return {};
  }
}

/** An issued decision as `issue` stored it; null when it is not one. */
function issuedOf(text: unknown): IssuedApproval | null {
  if (typeof text !== "string") return null;
  try {
    const x = JSON.parse(text) as Record<string, unknown>;
    const o = x.offer as Record<string, unknown> | null;
    const v = x.value;
    const valueOk = typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
    const offerOk =
      o !== null &&
      typeof o === "object" &&
      typeof o.rule === "string" &&
      typeof o.scope === "string" &&
      typeof o.durationMs === "number" &&
      (o.upTo === null || typeof o.upTo === "number") &&
      (o.of === null || typeof o.of === "string");
    if (!valueOk || !offerOk || typeof x.session !== "string" || typeof x.digest !== "string" || typeof x.redacted !== "boolean") return null;
    const offer = { rule: o.rule as string, scope: o.scope as string, durationMs: o.durationMs as number, upTo: o.upTo as number | null, of: o.of as string | null };
    return { session: x.session, offer, digest: x.digest, value: v as string | number | boolean, redacted: x.redacted };
  } catch {
    return null;
  }
}

/** A grant as a LIST row holds it; null when a field is not what it should be. */
function grantOf(row: unknown): Grant | null {
  if (!Array.isArray(row) || row.length !== 8 || row.some((x) => typeof x !== "string")) return null;
  const [id, exp, rule, scope, value, upTo, offer, left] = row as string[];
  try {
    const v = JSON.parse(value!) as unknown;
    const u = JSON.parse(upTo!) as unknown;
    const l = JSON.parse(left!) as unknown;
    const o = JSON.parse(offer!) as unknown;
    const expiresAt = Number(exp);
    const valueOk = typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
    const amountsOk = (u === null || (typeof u === "number" && Number.isFinite(u))) && Array.isArray(l) && l.every((x) => typeof x === "number" && Number.isFinite(x));
    if (!valueOk || !amountsOk || !Number.isSafeInteger(expiresAt) || (o !== null && typeof o !== "string")) return null;
    return {
      id: id!,
      rule: rule!,
      scope: scope!,
      value: v as string | number | boolean,
      expiresAt,
      upTo: u as number | null,
      offer: o as string | null,
      left: l as number[],
      uses: new Map(),
      holds: new Map(),
    };
  } catch {
    return null;
  }
}

/**
 * The grant store of `redisStore`, on its client. `name` is the store's name for errors (never a
 * password); `prefix` what its keys start with.
 */
export function redisGrantStore(redis: Redis, prefix: string, name: string): GrantStore {
  const client = redis as Scripted;
  client.defineCommand("armorGrantCreate", { lua: CREATE, numberOfKeys: 1 });
  client.defineCommand("armorGrantList", { lua: LIST, numberOfKeys: 1 });
  client.defineCommand("armorGrantDrop", { lua: DROP, numberOfKeys: 0 });
  client.defineCommand("armorGrantUse", { lua: USE, numberOfKeys: 0 });
  client.defineCommand("armorGrantSettle", { lua: SETTLE, numberOfKeys: 0 });
  client.defineCommand("armorGrantGiveBack", { lua: GIVE_BACK, numberOfKeys: 0 });
  client.defineCommand("armorGrantIssue", { lua: ISSUE, numberOfKeys: 0 });
  client.defineCommand("armorGrantTake", { lua: TAKE, numberOfKeys: 0 });
  const issuedName = (decisionId: string, actionHash: string): string => sha1(JSON.stringify([decisionId, actionHash]));
  const P = `${prefix}:{grants}:`;
  const scopeSet = (rule: string, scope: string, value: string | number | boolean): string => `${P}k:${sha1(grantKey(rule, scope, value))}`;
  const hash = (id: string): string => `${P}g:${createHash("sha1").update(id).digest("hex")}`;
  const fail = (e: unknown): never => {
    throw new Error(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  };

  /** The grant as stored now, or null when it is gone. */
  const read = async (id: string): Promise<Grant | null> => {
    const f = await client.hmget(hash(id), "id", "exp", "rule", "scope", "value", "upTo", "offer", "left");
    if (f[0] === null) return null;
    const g = grantOf(f);
    if (g === null) throw new Unexpected(`grant ${id}`);
    return g;
  };

  /** Gives back what `decisionId` took of the grant (compare and set on the amount left); false when it took nothing. */
  const giveBack = async (grantId: string, decisionId: string): Promise<boolean> => {
    const uses = `${P}u:${createHash("sha1").update(grantId).digest("hex")}`;
    for (let i = 0; i < MAX_TRIES; i++) {
      const [g, took] = await Promise.all([read(grantId), client.hget(uses, decisionId)]).catch(fail);
      if (took === null) return false;
      let expected = "";
      let after: number[] = [];
      if (g !== null && g.upTo !== null) {
        const amount = Number(JSON.parse(took));
        after = [...g.left];
        addPartial(after, amount);
        expected = JSON.stringify(g.left);
      }
      const outcome = await client.armorGrantGiveBack(P, grantId, decisionId, expected, JSON.stringify(after)).catch(fail);
      if (outcome === "ok") return true;
      if (outcome === "none") return false;
      if (outcome !== "changed") throw new Unexpected("a give-back's outcome");
    }
    return false;
  };

  return {
    async create(id, offer: GrantOffer, value, now, digest) {
      const g = newGrant(id, offer, value, now, digest);
      const fields = { rule: g.rule, scope: g.scope, value: JSON.stringify(value), upTo: JSON.stringify(g.upTo), offer: JSON.stringify(g.offer), left: JSON.stringify(g.left) };
      const made = await client.armorGrantCreate(scopeSet(g.rule, g.scope, value), P, id, now, g.expiresAt, JSON.stringify(fields), MAX_GRANTS_PER_SCOPE, MAX_GRANTS).catch(fail);
      return made === 1 ? g : null;
    },

    async find(rule, scope, value, now, digest): Promise<GrantsFound> {
      const list = async (): Promise<unknown[]> => {
        const rows = await client.armorGrantList(scopeSet(rule, scope, value), P).catch(fail);
        if (!Array.isArray(rows)) throw new Unexpected("the grants of a scope");
        return rows;
      };
      const rows = await list();
      // reservations' holds past their time were settled by the script (their amounts stay taken), each answered once
      const lapsed: LapsedUse[] = [];
      for (const row of rows) {
        const [id, ids] = Array.isArray(row) ? [row[0] as unknown, row[8] as unknown] : [];
        if (!Array.isArray(ids) || typeof id !== "string") continue;
        for (let i = 0; i + 1 < ids.length; i += 2) {
          const [d, who] = [ids[i] as unknown, ids[i + 1] as unknown];
          if (typeof d === "string") lapsed.push({ grantId: id, decisionId: d, ...holderOf(who) });
        }
      }
      const live: GrantsFound["live"] = [];
      const expired: Grant[] = [];
      const stale: Grant[] = [];
      for (const full of rows) {
        const row = Array.isArray(full) ? full.slice(0, 8) : full;
        const g = grantOf(row);
        // a grant whose fields cannot be read covers nothing, and is dropped as stale
        if (g === null) {
          if (Array.isArray(row) && typeof row[0] === "string") stale.push({ id: row[0], rule, scope, value, expiresAt: 0, upTo: null, offer: null, left: [], uses: new Map(), holds: new Map() });
          continue;
        }
        if (now >= g.expiresAt) expired.push(g);
        else if (digest !== undefined && g.offer !== digest) stale.push(g);
        else live.push({ id: g.id, rule: g.rule, scope: g.scope, value: g.value, expiresAt: new Date(g.expiresAt).toISOString(), remaining: g.upTo === null ? null : roundedDown(g.left) });
      }
      const gone = [...expired, ...stale];
      if (gone.length === 0) return { live, expired, stale, lapsed };
      const dropped = await client.armorGrantDrop(P, ...gone.map((g) => g.id)).catch(fail);
      // each is answered once, to the process that dropped it, which records it
      const mine = new Set(Array.isArray(dropped) ? dropped : []);
      return { live, expired: expired.filter((g) => mine.has(g.id)), stale: stale.filter((g) => mine.has(g.id)), lapsed };
    },

    async use(grantId, decisionId, amount, now, holdUntil, holder): Promise<GrantUseResult | null> {
      for (let i = 0; i < MAX_TRIES; i++) {
        const g = await read(grantId).catch(fail);
        if (g === null || now >= g.expiresAt) return null;
        let after: number[] = [];
        let taken: number | null = null;
        if (g.upTo !== null) {
          if (amount === null || !Number.isFinite(amount) || amount < 0) return null;
          after = [...g.left];
          addPartial(after, -amount);
          if (partialsValue(after) < 0) return null;
          taken = amount;
        }
        const expected = g.upTo === null ? "" : JSON.stringify(g.left);
        // held for its time from Redis's clock, so that every process measures it alike
        const held = holdUntil === undefined ? "" : String(Math.max(0, Math.ceil(holdUntil - now)));
        const who = holder === undefined ? "" : JSON.stringify({ session: holder.session, actionHash: holder.actionHash });
        const outcome = await client.armorGrantUse(P, grantId, decisionId, now, expected, JSON.stringify(after), JSON.stringify(taken ?? 0), held, who).catch(fail);
        if (outcome === "ok") return { grant: { ...g, left: after }, amount: taken, remaining: taken === null ? null : roundedDown(after) };
        if (outcome === "gone" || outcome === "used") return null;
        if (outcome !== "changed") throw new Unexpected("a use's outcome");
      }
      // changed by others on every try: no use is made, and the approver is asked
      return null;
    },

    async settle(grantId, decisionId) {
      return (await client.armorGrantSettle(P, grantId, decisionId).catch(fail)) === 1;
    },

    giveBack,

    async has(id) {
      return (await client.exists(hash(id)).catch(fail)) === 1;
    },

    async issue(decisionId, actionHash, issued, now, ttlMs) {
      const ttl = Math.max(1, Math.ceil(ttlMs));
      const text = JSON.stringify({ session: issued.session, offer: issued.offer, digest: issued.digest, value: issued.value, redacted: issued.redacted });
      const kept = await client.armorGrantIssue(P, issuedName(decisionId, actionHash), text, now + ttl, ttl, now, MAX_ISSUED, issued.session, MAX_ISSUED_PER_SESSION).catch(fail);
      if (kept !== 1)
        throw new Error(`${name}: ${MAX_ISSUED} issued decisions are kept, the most the store keeps, and none of them is session ${issued.session}'s: this decision's approval grants nothing`);
    },

    async take(decisionId, actionHash) {
      if (typeof decisionId !== "string" || typeof actionHash !== "string") return null;
      const text = await client.armorGrantTake(P, issuedName(decisionId, actionHash)).catch(fail);
      if (text === null) return null;
      const issued = issuedOf(text);
      if (issued === null) throw new Unexpected(`the decision ${decisionId} on record for a grant`);
      return issued;
    },

    async usedBy(decisionId) {
      const id = await client.get(`${P}d:${createHash("sha1").update(decisionId).digest("hex")}`).catch(fail);
      return typeof id === "string" ? id : null;
    },
  };
}
