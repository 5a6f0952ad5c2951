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
 * A reservation is one string (RESERVATION) that expires after its TTL; once it expired, its
 * filings stay counted (fail closed).
 */

/**
 * `edgeOf(now, w)`: the window's edge as a score text, so that `ZREMRANGEBYSCORE key -inf edge`
 * removes exactly the entries the in-memory store drops (`now - time >= w`), whatever fractions
 * of a millisecond the clock has. Lua numbers are the same doubles as JavaScript's.
 */
export const WINDOW_EDGE = `
-- a whole number (a clock in milliseconds) as %d, which gives the same text as %.17g at a fraction of its cost
local function num(x)
  if x == math.floor(x) and x > -9007199254740992 and x < 9007199254740992 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
-- the next double above x (finite x)
local function nextUp(x)
  if x == 0 then return math.ldexp(1, -1074) end
  local m, ex = math.frexp(x)
  if m == -0.5 then return x + math.ldexp(1, ex - 54) end
  return x + math.ldexp(1, ex - 53)
end
-- The window's edge at now, as a score: the latest time t with now - t >= w, the in-memory
-- store's test (an entry leaves the window when now - time >= w), in the same double arithmetic.
-- With whole milliseconds now - w is that time; with fractions of a millisecond (or a window as
-- long as the clock's value) it may round, and the edge is found by bisection between a time
-- that has left the window and one that has not (now - t never increases with t): at most a few
-- hundred halvings, only for such clocks.
local function edgeOf(now, w)
  local e = now - w
  if now - e >= w and not (now - nextUp(e) >= w) then return num(e) end
  local lo, hi
  if now - e >= w then
    lo = e
    hi = w > 0 and now or nextUp(now)
  else
    hi = e
    lo = e - ((math.abs(now) + math.abs(e)) * 2 ^ -50 + 1)
  end
  for _ = 1, 2100 do
    local mid = lo + (hi - lo) / 2
    if mid == lo or mid == hi then break end
    if now - mid >= w then lo = mid else hi = mid end
  end
  return num(lo)
end
`;

/**
 * How long a tracker's key outlives its window: every filing sets its expiry to the window plus
 * SLACK ms (Redis's clock), so the key holds its newest entry for as long as any decider counts it,
 * for deciders whose clocks are less than a minute apart. A read that files in a set that held
 * entries does not set it again when the same function library set it less than a minute ago by
 * the decider's clock (REFRESHED, by key, in Redis's Lua state: at most 4096 keys, then it starts
 * again; a script run with EVALSHA has none and always sets it): the key then still expires at
 * least SLACK - 60 s after the window of this filing, as it did with 60 s of slack for every filing.
 * A set that was empty (new, expired, forgotten, all its entries taken back) is always set.
 */
const EXPIRY = `
local SLACK = 120000
local REFRESHED, REFRESHED_HELD = {}, 0
local function expireFiled(key, ttl, now, fresh)
  local at = REFRESHED[key]
  if not fresh and at and now - at < 60000 and at - now < 60000 then return end
  redis.call('PEXPIRE', key, ttl)
  if not at then
    if REFRESHED_HELD >= 4096 then REFRESHED, REFRESHED_HELD = {}, 0 end
    REFRESHED_HELD = REFRESHED_HELD + 1
  end
  REFRESHED[key] = now
end
`;

/**
 * The trackers that are not plain counts, as tracker-kinds.ts keeps them in memory: Lua functions
 * the scripts that read, file, refile and release share. A tracker's keys all start with its
 * entries key (`E`, the plain count's key, so that however a tracker's key is chosen, its state
 * follows): per key of `current.F` (the digest `kd`; one fixed key without `current`)
 * `E:z:kd` its entries (score: time; member: `id`, or `id\n<number>` for sum/max/min), `E:v:kd`
 * the same members scored by their number (max/min: the extreme in O(log n)), `E:s:kd` a sum's
 * exact running sum (Shewchuk's partials, exact-sum.ts, as `%.17g` text, which gives back each
 * double exactly) and a `since` key's floor, `E:q:kd` entries whose number could not be read
 * (poison of that key), `E:a:kd` the marks of `since`'s A (score: a sequence number; member
 * `id\n<time>`); for the whole tracker the poison key (`P`), `E:l` the errors of `since`'s B
 * (they last for the whole history), `E:u` entries whose keys could not be made, `E:b` the marks
 * of B and `E:h` the sequence counter and B's floor. Marks are trimmed to the newest
 * MARKS: only the newest A and B decide, and the newest one trimmed stays as the floor. When
 * the floor itself is taken back (more than MARKS newer marks were, reservations released), what
 * came before it is not known any more: the floor becomes `X`, and the value is an error (the
 * rules that read it deny) until a newer mark is trimmed into the floor. A reservation's filings are items `{ key, member[, op, other key] }`: `s` takes a
 * sum's number back out of its partials, `x` removes a max/min member from its value set too.
 */
const KINDS = `
${EXPIRY}
local MARKS = 1000
local SAFE = 2 ^ 1020
local function addPartial(p, x)
  local i = 0
  for j = 1, #p do
    local y = p[j]
    if math.abs(x) < math.abs(y) then x, y = y, x end
    local hi = x + y
    local lo = y - (hi - x)
    if lo ~= 0 then i = i + 1; p[i] = lo end
    x = hi
  end
  for j = #p, i + 1, -1 do p[j] = nil end
  p[i + 1] = x
  return x - x == 0
end
local function partialsValue(p)
  local n = #p
  if n == 0 then return 0 end
  local hi = p[n]
  n = n - 1
  local lo = 0
  while n > 0 do
    local x = hi
    local y = p[n]
    n = n - 1
    hi = x + y
    lo = y - (hi - x)
    if lo ~= 0 then break end
  end
  if n > 0 and ((lo < 0 and p[n] < 0) or (lo > 0 and p[n] > 0)) then
    local y = lo * 2
    local x = hi + y
    if y == x - hi then hi = x end
  end
  if hi == 0 then return 0 end
  return hi
end
${WINDOW_EDGE}
local function ser(p)
  local t = {}
  for i = 1, #p do t[i] = num(p[i]) end
  return table.concat(t, ',')
end
local function parse(s)
  local p = {}
  if s then for x in string.gmatch(s, '[^,]+') do p[#p + 1] = tonumber(x) end end
  return p
end
local function tail(m) return string.match(m, '\\n([^\\n]*)$') end
local function head(m) return string.match(m, '^[^\\n]*') end
local function errorOf(m) return string.sub(m, string.find(m, '\\n', 1, true) + 1) end
local function sumState(S)
  local h = redis.call('HMGET', S, 'p', 'm', 'o', 'd')
  return { p = parse(h[1]), m = parse(h[2]), o = h[3] == '1', d = h[4] == '1' }
end
local function saveSum(S, st)
  redis.call('HSET', S, 'p', ser(st.p), 'm', ser(st.m), 'o', st.o and '1' or '0', 'd', st.d and '1' or '0')
end
local function sumAdd(st, x)
  addPartial(st.m, math.abs(x))
  if not st.o and not addPartial(st.p, x) then st.o = true end
end
local function sumSub(st, x)
  st.d = true
  addPartial(st.m, -math.abs(x))
  if not st.o and not addPartial(st.p, -x) then st.o = true end
end
local function zremAll(key, members)
  for i = 1, #members, 500 do redis.call('ZREM', key, unpack(members, i, math.min(i + 499, #members))) end
end
local function trimKey(kind, base, kd, edge)
  local Z = base .. ':z:' .. kd
  redis.call('ZREMRANGEBYSCORE', base .. ':q:' .. kd, '-inf', edge)
  if kind == 'sum' or kind == 'max' or kind == 'min' then
    local gone = redis.call('ZRANGEBYSCORE', Z, '-inf', edge)
    if #gone > 0 then
      if kind == 'sum' then
        local S = base .. ':s:' .. kd
        local st = sumState(S)
        for _, m in ipairs(gone) do sumSub(st, tonumber(tail(m))) end
        saveSum(S, st)
      else
        zremAll(base .. ':v:' .. kd, gone)
      end
    end
  end
  redis.call('ZREMRANGEBYSCORE', Z, '-inf', edge)
  if kind == 'sum' and redis.call('ZCARD', Z) == 0 then redis.call('DEL', base .. ':s:' .. kd) end
end
local function newest(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[1] then return tonumber(top[2]), top[1] end
  return nil, nil
end
local LOST = 'more than ' .. MARKS .. ' marks of since were taken back after the older ones were trimmed, so which came last is not known'
local function sinceValue(base, kd, w, now)
  local aseq, am = newest(base .. ':a:' .. kd)
  if not aseq then
    local f = redis.call('HGET', base .. ':s:' .. kd, 'f')
    if not f then return 'F' end
    if f == 'X' then return 'E' .. LOST end
    aseq, am = tonumber(head(f)), f
  end
  local atime = tonumber(tail(am))
  local bseq = newest(base .. ':b')
  if not bseq then
    local hb = redis.call('HGET', base .. ':h', 'b') or '0'
    if hb == 'X' then return 'E' .. LOST end
    bseq = tonumber(head(hb))
  end
  if aseq > bseq and (w < 0 or now - atime < w) then return 'T' end
  return 'F'
end
local function keyValue(kind, base, kd, w, now, edge)
  if kind == 'since' then return sinceValue(base, kd, w, now) end
  if w >= 0 then trimKey(kind, base, kd, edge) end
  local q = redis.call('ZRANGE', base .. ':q:' .. kd, 0, 0)
  if q[1] then return 'E' .. errorOf(q[1]) end
  local Z = base .. ':z:' .. kd
  if kind == 'count' or kind == 'seen' then return 'C' .. redis.call('ZCARD', Z) end
  if kind == 'max' or kind == 'min' then
    local at = kind == 'max' and -1 or 0
    local r = redis.call('ZRANGE', base .. ':v:' .. kd, at, at)
    if r[1] then return 'V' .. r[1] end
    return 'N'
  end
  local S = base .. ':s:' .. kd
  local st = sumState(S)
  if w >= 0 and st.d and (st.o or not (partialsValue(st.m) < SAFE)) then
    -- numbers were taken back and the sum is near the largest double: added up again in time order, as the scan does
    st = { p = {}, m = {}, o = false, d = false }
    local all = redis.call('ZRANGE', Z, 0, -1)
    for _, m in ipairs(all) do addPartial(st.m, math.abs(tonumber(tail(m)))) end
    for _, m in ipairs(all) do
      if not addPartial(st.p, tonumber(tail(m))) then st.o = true; break end
    end
    saveSum(S, st)
  end
  if st.o then return 'E\`sum\` over the history is not a finite number' end
  return 'S' .. num(partialsValue(st.p))
end
local function kindValue(k, base, P, w, now, edge, c)
  if w >= 0 then
    redis.call('ZREMRANGEBYSCORE', P, '-inf', edge)
    redis.call('ZREMRANGEBYSCORE', base .. ':u', '-inf', edge)
  end
  local l = redis.call('ZRANGE', base .. ':l', 0, 0)
  if l[1] then return 'E' .. errorOf(l[1]) end
  local p = redis.call('ZRANGE', P, 0, 0)
  if p[1] then return 'E' .. errorOf(p[1]) end
  local lead = string.sub(c, 1, 1)
  if lead == '-' then return 'Z' end
  if lead == '!' then
    if redis.call('ZCARD', base .. ':u') > 0 then return 'E' .. string.sub(c, 2) end
    return 'Z'
  end
  return keyValue(k, base, string.sub(c, 2), w, now, edge)
end
-- index: the session's index, or nil for a scoped tracker's keys (per user.id), which are not the session's to forget
local function touch(key, w, index)
  if w >= 0 then redis.call('PEXPIRE', key, w + SLACK) end
  if index then redis.call('SADD', index, key) end
end
local function trimMarks(key, floorKey, field)
  local n = redis.call('ZCARD', key)
  if n <= MARKS then return end
  local cut = redis.call('ZRANGE', key, n - MARKS - 1, n - MARKS - 1, 'WITHSCORES')
  redis.call('HSET', floorKey, field, cut[2] .. '\\n' .. cut[1])
  redis.call('ZREMRANGEBYRANK', key, 0, n - MARKS - 1)
end
-- files what kindFiling describes (f) at time t; seq() gives the entry's sequence number; items it filed go to filed
local function fileKind(k, base, P, w, t, f, id, seq, index, filed)
  local edge = w >= 0 and edgeOf(t, w) or ''
  local function add(key, score, member, window)
    redis.call('ZADD', key, score, member)
    touch(key, window, index)
    filed[#filed + 1] = { key, member }
  end
  local kind = f.t
  if kind == 'poison' then add(P, t, id .. '\\n' .. f.e, w)
  elseif kind == 'lasting' then add(base .. ':l', t, id .. '\\n' .. f.e, -1)
  elseif kind == 'unkeyed' then add(base .. ':u', t, id, w)
  elseif kind == 'b' then
    add(base .. ':b', seq(), id, -1)
    trimMarks(base .. ':b', base .. ':h', 'b')
    touch(base .. ':h', -1, index)
  elseif kind == 'a' then
    local s = seq()
    for _, kd in ipairs(f.k) do
      add(base .. ':a:' .. kd, s, id .. '\\n' .. num(t), w)
      trimMarks(base .. ':a:' .. kd, base .. ':s:' .. kd, 'f')
      touch(base .. ':s:' .. kd, w, index)
    end
  elseif kind == 'bad' then
    for _, kd in ipairs(f.k) do add(base .. ':q:' .. kd, t, id .. '\\n' .. f.e, w) end
  elseif kind == 'entry' then
    for _, kd in ipairs(f.k) do
      if w >= 0 then trimKey(k, base, kd, edge) end
      local Z = base .. ':z:' .. kd
      if k == 'count' or k == 'seen' then add(Z, t, id, w)
      else
        local m = id .. '\\n' .. f.v
        redis.call('ZADD', Z, t, m)
        touch(Z, w, index)
        if k == 'sum' then
          local S = base .. ':s:' .. kd
          local st = sumState(S)
          sumAdd(st, tonumber(f.v))
          saveSum(S, st)
          touch(S, w, index)
          filed[#filed + 1] = { Z, m, 's', S }
        else
          local V = base .. ':v:' .. kd
          redis.call('ZADD', V, f.v, m)
          touch(V, w, index)
          filed[#filed + 1] = { Z, m, 'x', V }
        end
      end
    end
  end
end
-- the sequence number of a reservation's entry in the tracker at base (its own, when filed before);
-- q: the reservation's numbers by tracker (RESERVATION), which it keeps
local function seqFor(q, base)
  return function()
    local n = q[base]
    if n then return tonumber(n) end
    n = redis.call('HINCRBY', base .. ':h', 'n', 1)
    q[base] = num(n)
    return n
  end
end
-- the floor of a marks key of since (its newest trimmed mark), or nil for other keys
local function floorOf(key)
  local base, kd = string.match(key, '^(.*):a:([^:]+)$')
  if base then return base .. ':s:' .. kd, 'f' end
  base = string.match(key, '^(.*):b$')
  if base then return base .. ':h', 'b' end
  return nil, nil
end
-- Takes back what a reservation added to the registry of scope values (SCOPES): a scope it
-- added leaves it, a later time it gave a scope is set back, unless something filed since moved it.
-- g: the reservation's { r = the registry's key, i = its items }, or nil.
local function takeBackScopes(g)
  if not g then return end
  for _, item in ipairs(g.i) do
    local now = redis.call('ZSCORE', g.r, item[1])
    if now and tonumber(now) == tonumber(item[2]) then
      if item[3] == '' then redis.call('ZREM', g.r, item[1]) else redis.call('ZADD', g.r, item[3], item[1]) end
    end
  end
end
local function takeBack(item)
  local removed = redis.call('ZREM', item[1], item[2])
  if removed == 0 then
    -- a mark trimmed already: when it is the floor, what was before it is gone too (LOST)
    local fk, field = floorOf(item[1])
    if fk then
      local f = redis.call('HGET', fk, field)
      if f and f ~= 'X' and string.sub(f, #head(f) + 2) == item[2] then redis.call('HSET', fk, field, 'X') end
    end
  end
  if item[3] == 's' and removed == 1 then
    local st = sumState(item[4])
    sumSub(st, tonumber(tail(item[2])))
    if redis.call('ZCARD', item[1]) == 0 then redis.call('DEL', item[4]) else saveSum(item[4], st) end
  elseif item[3] == 'x' then
    redis.call('ZREM', item[4], item[2])
  end
end
`;

/**
 * A reservation, one string: `SCOPE\nTIME\nHASH\nJSON`, the scope digest it was made in, the
 * time its entries were filed at (as the read got it: exact), the action hash it is kept for ("" until
 * kept), and `{ f: the items it filed ([key, member(, op, other key)], KINDS), g?: what it added to
 * the registry of scope values (SCOPES), q?: the sequence numbers of its `since` entries by
 * tracker, l?: its entry's labels as JSON }`. One string rather than a hash: one command to make
 * it with its expiry, and most calls (confirm, keep) read it without decoding the JSON.
 * `loadReservation` gives nil for none, or one of another scope (a caller's id names nothing of
 * another session's); `saveReservation` keeps its expiry without `ttl`, and a `ttl` under 1 ms
 * leaves nothing (as PEXPIRE 0 would).
 */
const RESERVATION = `
local function loadReservation(key, scope)
  local v = redis.call('GET', key)
  if not v then return nil end
  local s, t, h, body = string.match(v, '^([^\\n]*)\\n([^\\n]*)\\n([^\\n]*)\\n(.*)$')
  if s ~= scope then return nil end
  return { t = t, h = h, body = body }
end
local function saveReservation(key, scope, t, h, body, ttl)
  local text = scope .. '\\n' .. t .. '\\n' .. h .. '\\n' .. (type(body) == 'table' and cjson.encode(body) or body)
  if ttl == nil then
    redis.call('SET', key, text, 'KEEPTTL')
    return
  end
  local ms = math.floor(tonumber(ttl))
  -- a whole number of ms goes as it came (the client writes it out as digits): formatting a number costs more than the SET
  if ms >= 1 then redis.call('SET', key, text, 'PX', (ms == tonumber(ttl) and ms < 1e15) and ttl or string.format('%d', ms))
  else redis.call('DEL', key) end
end
`;

/**
 * The registry of scope values (`per user.id`: the in-memory store's MAX_SCOPES, for every process
 * on the store): a sorted set of scope digests scored by when their history is empty (the newest
 * action filed in the scope plus the longest window of its trackers; `inf` without a window or for
 * `since`). A scope value not in it, when it holds the most it may (`max`), first drops the scopes
 * whose history is empty; if none was, the decision's trackers of that scope answer `{-2}` (the
 * enforcer denies the decision: its action could not be counted), and a reserved action is still
 * filed there up to `over` scopes past the bound (an action recorded without a decision, as in
 * memory), never further. A reservation keeps what it added (`g`), which a release takes back.
 * Sets `full` and `skip` (digest → true) and returns the reservation's registry items.
 */
const SCOPES = `
-- the scope digest a tracker key is under (PREFIX:scope:{D}:T:e; a session's key gives the session's digest, never a scope's)
local function scopeOfKey(key) return string.match(key, '{(%x+)}:%x+:e$') end
local function scopeRegistry(R, now, id, max, over, list, full, skip)
  local added = {}
  local held, swept = nil, false
  for j = 1, #list, 2 do
    local d, keep = list[j], list[j + 1]
    local score = redis.call('ZSCORE', R, d)
    local until_ = keep == 'inf' and 'inf' or num(now + tonumber(keep))
    if not score then
      held = held or redis.call('ZCARD', R)
      if held >= max and not swept then
        swept = true
        redis.call('ZREMRANGEBYSCORE', R, '-inf', num(now))
        held = redis.call('ZCARD', R)
      end
      if held >= max then full[d] = true end
      if id ~= '' then
        if held < max + over then
          redis.call('ZADD', R, until_, d)
          held = held + 1
          added[#added + 1] = { d, until_, '' }
        else
          skip[d] = true
        end
      end
    elseif id ~= '' and tonumber(until_) > tonumber(score) then
      redis.call('ZADD', R, until_, d)
      added[#added + 1] = { d, until_, score }
    end
  end
  return added
end
`;

/**
 * The trackers of a read (READ's ARGV[5], fixed per policy) parsed: per tracker its window (ms,
 * or -1), the text PEXPIRE takes for it, its digest and its scope value's digest ('' for the
 * session's). In the function library (functions.ts) the parse is kept for the next calls, at
 * most 64 of them (then the cache starts again); a script run with EVALSHA parses on every call.
 */
const SPECS = `
local SPECS, SPECS_HELD = {}, 0
-- an empty answer, shared (only read)
local NONE = {}
local function parseSpec(text)
  local p = SPECS[text]
  if p then return p end
  p = { n = 0, w = {}, ttl = {}, d = {}, s = {} }
  for w, d, s in string.gmatch(text, '([^/,]+)/(%x+)/?(%x*)') do
    local n = p.n + 1
    p.n = n
    p.w[n], p.ttl[n], p.d[n], p.s[n] = tonumber(w), tostring(tonumber(w) + SLACK), d, s
  end
  if SPECS_HELD >= 64 then SPECS, SPECS_HELD = {}, 0 end
  SPECS[text], SPECS_HELD = p, SPECS_HELD + 1
  return p
end
-- The keys of a read's trackers under a base (a session), kept with the parse for the next calls
-- (at most 256 bases per parse, then they start again): a key is a concatenation, which Lua hashes
-- and allocates. e, p: per tracker its entries and poison keys; ps: the poison keys, which one EXISTS
-- reads (another kind's poison key too: when it exists, the plain counts read theirs, as is right).
local function keysOf(spec, base)
  local bases = spec.bases
  if not bases or spec.nb >= 256 then bases = {}; spec.bases, spec.nb = bases, 0 end
  local c = bases[base]
  if c then return c end
  local prefix = string.sub(base, 1, -36)
  c = { e = {}, p = {}, ps = {}, prefix = prefix, sd0 = string.sub(base, -33, -2), index = base .. ':keys', res = base .. ':R:', labels = base .. ':labels' }
  for i = 1, spec.n do
    local d, s = spec.d[i], spec.s[i]
    if s == '' then c.e[i], c.p[i] = base .. ':' .. d .. ':e', base .. ':' .. d .. ':p'
    else c.e[i], c.p[i] = prefix .. ':scope:{' .. s .. '}:' .. d .. ':e', prefix .. ':scope:{' .. s .. '}:' .. d .. ':p' end
    c.ps[i] = c.p[i]
  end
  bases[base], spec.nb = c, spec.nb + 1
  return c
end
`;

/**
 * Reads the trackers and files the reservation. One key, the scope's base (`PREFIX:{SCOPE}`):
 * every other key is built from it, as the kinds' keys are (the labels `BASE:labels`, the
 * reservation `BASE:R:NAME`, the index of the scope's tracker keys `BASE:keys`, for `forget`, a
 * tracker's entries and poison `BASE:T:e` and `BASE:T:p`, or for a tracker with a scope of its own
 * `PREFIX:scope:{S}:T:e`, and the registry of scope values `PREFIX:scopes`), so a decision sends
 * few arguments. ARGV: now, the reservation's id ("" reads only; `NAME\nID` when its key part is
 * not the id itself), ttl ms, the action hash the reservation is kept for, the trackers (fixed
 * per policy: `W/T` or `W/T/S` per tracker, comma-separated, W the window in ms or -1, T the
 * tracker's digest, S the scope value's digest), the filings (one character whether the labels
 * are read, `L`, or not, `-`, then one per tracker: 0 none, 1 entry, 2 poison, `k` another kind),
 * then per tracker filed as poison its error and per tracker of another kind its JSON
 * `{ k: kind, c: the current key, f?: the filing }` (KINDS), in the trackers' order; then, with
 * scopes, the most scope values the registry holds, how far past it an action is still filed,
 * and per scope value of the decision its digest and how long its history lasts (ms, or `inf`).
 * Returns one flat array (Redis converts a nested table's every level, at a cost per table): per
 * tracker three items, count, oldest poison member or "", "" (a plain count), or -1, value, value
 * after filing or "" (another kind), or -2, "", "" (its scope value cannot be held); then the
 * session's labels (none when not read). A kind's value as text: `E<error>`, `Z` (nothing matched), `C<count>`, `S<sum>`, `V<member>`, `N` (none), `T`, `F`.
 */
const READ_BODY = `
local base = KEYS[1]
local now = tonumber(ARGV[1])
local name, id = ARGV[2], ARGV[2]
do
  local nl = string.find(id, '\\n', 1, true)
  if nl then name, id = string.sub(id, 1, nl - 1), string.sub(id, nl + 1) end
end
local filings = ARGV[6]
local spec = parseSpec(ARGV[5])
local n, windows, expiries = spec.n, spec.w, spec.ttl
-- the base is PREFIX:{D}, D the scope's digest (32 hex digits)
local keys = keysOf(spec, base)
local prefix, sd0, index = keys.prefix, keys.sd0, keys.index
local entriesOf, poisonOf = keys.e, keys.p
local extra = nil
local at = 7
for i = 1, n do
  local f = string.sub(filings, i + 1, i + 1)
  if f == '2' or f == 'k' then
    extra = extra or {}
    extra[i] = ARGV[at]; at = at + 1
  end
end
local out = {}
local filed = {}
-- made only when a decision has scoped trackers (full, skip) or other kinds (q): a table is Lua's costliest value
local full, skip, scopes = nil, nil, nil
-- the sequence numbers of its since entries, by tracker (RESERVATION)
local q = nil
if at <= #ARGV then
  full, skip = {}, {}
  scopes = scopeRegistry(prefix .. ':scopes', now, id, tonumber(ARGV[at]), tonumber(ARGV[at + 1]), { unpack(ARGV, at + 2) }, full, skip)
end
-- poison is rare: the plain counts' poison sets are read only when one of them exists
local poisoned = 0
if #keys.ps > 0 then poisoned = redis.call('EXISTS', unpack(keys.ps)) end
for i = 1, n do
  local entries = entriesOf[i]
  local poison = poisonOf[i]
  local w = windows[i]
  local filing = string.sub(filings, i + 1, i + 1)
  local edge = w >= 0 and edgeOf(now, w) or ''
  local sd = scopes and scopeOfKey(entries)
  -- past the bound of scope values, a reserved action is not filed in a new one
  if sd and skip[sd] then filing = '0' end
  if filing == 'k' then
    q = q or {}
    local spec = cjson.decode(extra[i])
    local value = kindValue(spec.k, entries, poison, w, now, edge, spec.c)
    local after = ''
    if id ~= '' and spec.f and not (sd and skip[sd]) then
      fileKind(spec.k, entries, poison, w, now, spec.f, id, seqFor(q, entries), string.sub(entries, 1, #base) == base and index or nil, filed)
      after = kindValue(spec.k, entries, poison, w, now, edge, spec.c)
    end
    out[3 * i - 2], out[3 * i - 1], out[3 * i] = -1, value, after
  else
    -- trimmed only when its oldest entry left the window
    local oldest = poisoned > 0 and redis.call('ZRANGE', poison, 0, 0, 'WITHSCORES') or NONE
    local files = id ~= '' and filing ~= '0'
    if w >= 0 and oldest[1] and tonumber(oldest[2]) <= tonumber(edge) then
      redis.call('ZREMRANGEBYSCORE', poison, '-inf', edge)
      oldest = redis.call('ZRANGE', poison, 0, 0)
    end
    -- the entries are trimmed when one is filed (a set nothing is filed in does not grow); a read counts the window's
    local count
    if w >= 0 and not files then count = redis.call('ZCOUNT', entries, '(' .. edge, '+inf')
    else
      if w >= 0 then redis.call('ZREMRANGEBYSCORE', entries, '-inf', edge) end
      count = redis.call('ZCARD', entries)
    end
    out[3 * i - 2], out[3 * i - 1], out[3 * i] = count, oldest[1] or '', ''
    if files then
      local key, member, fresh = entries, id, count == 0
      if filing == '2' then key, member, fresh = poison, id .. '\\n' .. extra[i], not oldest[1] end
      -- the time as its text: the same score as the number (which Redis would write out with %.17g first)
      redis.call('ZADD', key, ARGV[1], member)
      if w >= 0 then expireFiled(key, expiries[i], now, fresh) end
      -- a set that held entries is in the index already (it expires, and forget deletes, with them)
      -- a scoped tracker's keys (per user.id) are not the session's: its index leaves them
      if fresh and string.sub(key, 1, #base) == base then redis.call('SADD', index, key) end
      filed[#filed + 1] = { key, member }
    end
  end
  if sd and full[sd] then out[3 * i - 2], out[3 * i - 1], out[3 * i] = -2, '', '' end
end
if id ~= '' then
  local body = { f = filed }
  if scopes and #scopes > 0 then body.g = { r = prefix .. ':scopes', i = scopes } end
  if q and next(q) then body.q = q end
  saveReservation(keys.res .. name, sd0, ARGV[1], ARGV[4], body, ARGV[3])
end
if string.sub(filings, 1, 1) == 'L' then
  for j, label in ipairs(redis.call('ZRANGE', keys.labels, 0, -1)) do out[3 * n + j] = label end
end
return out
`;

export const READ = `${KINDS}${SCOPES}${RESERVATION}${SPECS}${READ_BODY}`;

/**
 * READ for a decision whose trackers are all plain counts (`count`/`seen` without `since` or
 * `current.F`): the same body without the other kinds' functions, which a script defines again
 * on every call (a few microseconds of Redis's time per decision; the function library defines
 * them once, when it is loaded).
 */
export const READ_COUNTS = `${WINDOW_EDGE}${EXPIRY}${SCOPES}${RESERVATION}${SPECS}${READ_BODY}`;

/**
 * Files a reservation's entry again, at its own time, in other trackers (its labels changed).
 * KEYS: reservation, the scope's index, then per new filing its tracker's entries and poison keys.
 * ARGV: scope, id, the entry's labels (JSON), then per new filing: kind (1 entry, 2 poison, `k`
 * another kind), window ms (-1: none), error (for `k`: JSON `{ k, f }`). Returns 1, or 0 when no
 * reservation of the scope is pending (it expired or was settled: nothing changes it any more).
 */
const REFILE_BODY = `
local res = KEYS[1]
local r = loadReservation(res, ARGV[1])
if not r then return 0 end
local body = cjson.decode(r.body)
local q = body.q or {}
local id = ARGV[2]
local own = string.sub(KEYS[2], 1, #KEYS[2] - 4)
local t = tonumber(r.t)
for _, item in ipairs(body.f) do takeBack(item) end
local filed = {}
for i = 1, (#KEYS - 2) / 2 do
  local entries, poison = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local base = 3 * (i - 1)
  local kind = ARGV[4 + base]
  local w = tonumber(ARGV[5 + base])
  if kind == 'k' then
    local spec = cjson.decode(ARGV[6 + base])
    fileKind(spec.k, entries, poison, w, t, spec.f, id, seqFor(q, entries), string.sub(entries, 1, #own) == own and KEYS[2] or nil, filed)
  else
    local key, member = entries, id
    if kind == '2' then key, member = poison, id .. '\\n' .. ARGV[6 + base] end
    redis.call('ZADD', key, t, member)
    if w >= 0 then redis.call('PEXPIRE', key, w + SLACK) end
    if string.sub(key, 1, #own) == own then redis.call('SADD', KEYS[2], key) end
    filed[#filed + 1] = { key, member }
  end
end
body.f = filed
body.l = ARGV[3]
if next(q) then body.q = q end
saveReservation(res, ARGV[1], r.t, r.h, body, nil)
return 1
`;

/** Keeps a reservation for an action hash. KEYS: reservation. ARGV: scope, hash, ttl ms. */
const KEEP_BODY = `
local r = loadReservation(KEYS[1], ARGV[1])
if not r then return 0 end
saveReservation(KEYS[1], ARGV[1], r.t, ARGV[2], r.body, ARGV[3])
return 1
`;

/** Settles a reservation (its filings stay). KEYS: reservation. ARGV: scope, hash ("" for any). */
const CONFIRM_BODY = `
local r = loadReservation(KEYS[1], ARGV[1])
if not r then return 0 end
if ARGV[2] ~= '' and r.h ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/**
 * A pending reservation: { the hash it was kept with ("" when not kept), its entry's labels as
 * JSON }, or nil. KEYS: reservation. ARGV: scope.
 */
const PENDING_BODY = `
local r = loadReservation(KEYS[1], ARGV[1])
if not r then return false end
return { r.h, cjson.decode(r.body).l or '[]' }
`;

/** Takes a reservation back, and what it added to the registry of scope values. KEYS: reservation. ARGV: scope. */
const RELEASE_BODY = `
local res = KEYS[1]
local r = loadReservation(res, ARGV[1])
if not r then return 0 end
local body = cjson.decode(r.body)
for _, item in ipairs(body.f) do takeBack(item) end
takeBackScopes(body.g)
redis.call('DEL', res)
return 1
`;

/**
 * Adds labels, each once, in the order first added (score: the position). KEYS: labels. ARGV:
 * max, labels... Returns "" or why none was added.
 */
const LABELS_BODY = `
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
const FORGET_BODY = `
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

/** The store's scripts by name (functions.ts calls them so). */
export type ScriptName = "read" | "readCounts" | "refile" | "keep" | "confirm" | "pending" | "release" | "labels" | "forget";

/** Each script as EVAL runs it (Redis before 7): the functions it uses, then its body. */
export const SCRIPTS: Readonly<Record<ScriptName, string>> = {
  read: READ,
  readCounts: READ_COUNTS,
  refile: `${KINDS}${RESERVATION}${REFILE_BODY}`,
  keep: `${RESERVATION}${KEEP_BODY}`,
  confirm: `${RESERVATION}${CONFIRM_BODY}`,
  pending: `${RESERVATION}${PENDING_BODY}`,
  release: `${KINDS}${RESERVATION}${RELEASE_BODY}`,
  labels: LABELS_BODY,
  forget: FORGET_BODY,
};

/** The bodies the library registers as functions (`readCounts` is `read` there: the library defines every function once). */
const BODIES: Readonly<Record<Exclude<ScriptName, "readCounts">, string>> = {
  read: READ_BODY,
  refile: REFILE_BODY,
  keep: KEEP_BODY,
  confirm: CONFIRM_BODY,
  pending: PENDING_BODY,
  release: RELEASE_BODY,
  labels: LABELS_BODY,
  forget: FORGET_BODY,
};

/**
 * The scripts as one Redis 7 function library (FUNCTION LOAD), named `name`: the shared Lua
 * functions are defined once, when the library is loaded, not on every call as with EVALSHA, and
 * each body is a registered function `NAME_SCRIPT` (its KEYS and ARGV are the function's
 * arguments). Returns the library's text and the function that runs each script.
 */
export function functionLibrary(name: string): { code: string; functions: Readonly<Record<ScriptName, string>> } {
  const functions = {} as Record<ScriptName, string>;
  let code = `#!lua name=${name}\n${KINDS}${SCOPES}${RESERVATION}${SPECS}`;
  for (const [script, body] of Object.entries(BODIES) as [Exclude<ScriptName, "readCounts">, string][]) {
    functions[script] = `${name}_${script}`;
    code += `\nredis.register_function('${name}_${script}', function(KEYS, ARGV)\n${body}\nend)\n`;
  }
  functions.readCounts = functions.read;
  return { code, functions };
}
