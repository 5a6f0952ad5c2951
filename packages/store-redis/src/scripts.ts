/**
 * The Lua scripts the store runs in Redis. Each is one atomic step; ioredis's `defineCommand`
 * sends them with EVALSHA and falls back to EVAL (which loads them) when Redis answers NOSCRIPT,
 * so each costs one round trip once loaded.
 *
 * Keys of one scope share a hash tag (`{...}`), so a script touches one slot (Redis Cluster).
 * A tracker is two sorted sets scored by time: its entries (members: decision ids) and its poison
 * (members: `id\n error`). A sorted set rather than bucketed counters: a window is exact (an entry
 * leaves it at exactly `now - time >= window`, as in the in-memory store), an entry can be taken
 * back or filed again by its id, and trimming in the script keeps each set to its window, so a
 * decision costs O(log n) in the entries of the window, whatever the length of the history.
 * Without a window the entries stay (the count of the whole session) and ZCARD reads it in O(1).
 * A reservation is a hash (`f`: the [key, member] pairs it filed, as JSON; `s`: its scope; `h`:
 * the action hash it was kept with) that expires after its TTL; once it expired, its filings stay
 * counted (fail closed).
 */

/**
 * Reads the trackers and files the reservation. KEYS: labels, reservation, the scope's index (the
 * tracker keys it has, for `forget`), then per tracker its entries and poison. ARGV: now, id ("" reads only), ttl ms, scope, tracker count, then per
 * tracker: window ms (-1: none), filing (0 none, 1 entry, 2 poison), error; last, the action hash
 * the reservation is kept for.
 * Returns { {count, oldest poison member or ""} per tracker..., {labels...} }.
 */
export const READ = `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = tonumber(ARGV[5])
local out = {}
local filed = {}
-- the session's own keys start as its index does; a scoped tracker's (per user.id) are not the session's to forget
local own = string.sub(KEYS[3], 1, #KEYS[3] - 4)
for i = 1, n do
  local entries = KEYS[2 + 2 * i]
  local poison = KEYS[3 + 2 * i]
  local w = tonumber(ARGV[3 + 3 * i])
  if w >= 0 then
    local edge = string.format('%.0f', now - w)
    redis.call('ZREMRANGEBYSCORE', entries, '-inf', edge)
    redis.call('ZREMRANGEBYSCORE', poison, '-inf', edge)
  end
  local oldest = redis.call('ZRANGE', poison, 0, 0)
  out[i] = { redis.call('ZCARD', entries), oldest[1] or '' }
  local filing = ARGV[4 + 3 * i]
  if id ~= '' and filing ~= '0' then
    local key, member = entries, id
    if filing == '2' then key, member = poison, id .. '\\n' .. ARGV[5 + 3 * i] end
    redis.call('ZADD', key, now, member)
    if w >= 0 then redis.call('PEXPIRE', key, w + 60000) end
    if string.sub(key, 1, #own) == own then redis.call('SADD', KEYS[3], key) end
    filed[#filed + 1] = { key, member }
  end
end
if id ~= '' then
  local res = KEYS[2]
  redis.call('HSET', res, 'f', cjson.encode(filed), 's', ARGV[4], 't', ARGV[1], 'h', ARGV[6 + 3 * n])
  redis.call('PEXPIRE', res, tonumber(ARGV[3]))
end
out[n + 1] = redis.call('ZRANGE', KEYS[1], 0, -1)
return out
`;

/**
 * Files a reservation's entry again, at its own time, in other trackers (its labels changed).
 * KEYS: reservation, the scope's index, then per new filing its key. ARGV: scope, id, the entry's
 * labels (JSON), then per new filing: kind (1 entry, 2 poison), window ms (-1: none), error. Returns 1, or 0 when no reservation of the
 * scope is pending (it expired or was settled: nothing changes it any more).
 */
export const REFILE = `
local res = KEYS[1]
if redis.call('HGET', res, 's') ~= ARGV[1] then return 0 end
local id = ARGV[2]
local t = redis.call('HGET', res, 't')
for _, pair in ipairs(cjson.decode(redis.call('HGET', res, 'f'))) do
  redis.call('ZREM', pair[1], pair[2])
end
local filed = {}
for i = 3, #KEYS do
  local base = 3 * (i - 3)
  local member = id
  if ARGV[4 + base] == '2' then member = id .. '\\n' .. ARGV[6 + base] end
  redis.call('ZADD', KEYS[i], t, member)
  local w = tonumber(ARGV[5 + base])
  if w >= 0 then redis.call('PEXPIRE', KEYS[i], w + 60000) end
  if string.sub(KEYS[i], 1, #KEYS[2] - 4) == string.sub(KEYS[2], 1, #KEYS[2] - 4) then redis.call('SADD', KEYS[2], KEYS[i]) end
  filed[#filed + 1] = { KEYS[i], member }
end
redis.call('HSET', res, 'f', cjson.encode(filed), 'l', ARGV[3])
return 1
`;

/** Keeps a reservation for an action hash. KEYS: reservation. ARGV: scope, hash, ttl ms. */
export const KEEP = `
if redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
`;

/** Settles a reservation (its filings stay). KEYS: reservation. ARGV: scope, hash ("" for any). */
export const CONFIRM = `
if redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'h') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/**
 * A pending reservation: { the hash it was kept with ("" when not kept), its entry's labels as
 * JSON }, or nil. KEYS: reservation. ARGV: scope.
 */
export const PENDING = `
if redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return false end
return { redis.call('HGET', KEYS[1], 'h') or '', redis.call('HGET', KEYS[1], 'l') or '[]' }
`;

/** Takes a reservation back. KEYS: reservation. ARGV: scope. */
export const RELEASE = `
local res = KEYS[1]
if redis.call('HGET', res, 's') ~= ARGV[1] then return 0 end
for _, pair in ipairs(cjson.decode(redis.call('HGET', res, 'f'))) do
  redis.call('ZREM', pair[1], pair[2])
end
redis.call('DEL', res)
return 1
`;

/**
 * Adds labels, each once, in the order first added (score: the position). KEYS: labels. ARGV:
 * max, labels... Returns "" or why none was added.
 */
export const LABELS = `
local held = redis.call('ZCARD', KEYS[1])
local fresh = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == false then fresh[ARGV[i]] = true end
end
local count = 0
for _ in pairs(fresh) do count = count + 1 end
if held + count > tonumber(ARGV[1]) then
  return 'the session already holds ' .. held .. ' labels, and may hold at most ' .. ARGV[1]
end
for i = 2, #ARGV do
  if fresh[ARGV[i]] then
    redis.call('ZADD', KEYS[1], held, ARGV[i])
    held = held + 1
    fresh[ARGV[i]] = nil
  end
end
return ''
`;

/**
 * Forgets a scope: its trackers (through its index) and its labels; its pending reservations
 * expire by themselves. KEYS: the index, labels.
 */
export const FORGET = `
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;
