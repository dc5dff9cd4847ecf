"""The Redis side of the match queues: each operation is one Lua script, so it is atomic across nodes.

Key names follow portal/live/match_keys.py; the scripts build them from the store's prefix (ARGV[1]),
since an entry's tags name the queues to touch only once the entry is read. (That is fine on one Redis
server or a replica set; Redis Cluster would need the keys under one hash tag.) Times are Unix ms of the
application clock, passed in by the caller.
"""

from __future__ import annotations

# Helpers shared by the scripts: `P` is the prefix; `drop(u)` takes user `u` off every queue and answers
# the tags it waited on ("" when it had no entry).
_COMMON = """
local P = ARGV[1]
local function entry_key(u) return P .. ':match:e:' .. u end
local function queue_key(t) return P .. ':match:q:' .. t end
local function drop(u)
    local ek = entry_key(u)
    local tags = redis.call('HGET', ek, 'tags')
    if tags then
        for tag in string.gmatch(tags, '[^,]+') do
            redis.call('ZREM', queue_key(tag), u)
        end
        redis.call('DEL', ek)
    end
    redis.call('ZREM', P .. ':match:deadlines', u)
    return tags or ''
end
local function move(u, now, deadline, sooner_only)
    local ek = entry_key(u)
    local current = redis.call('HGET', ek, 'deadline')
    if not current or tonumber(current) <= now then
        return 0
    end
    if sooner_only and tonumber(current) < deadline then
        deadline = tonumber(current)
    end
    local text = string.format('%d', deadline)
    redis.call('HSET', ek, 'deadline', text)
    redis.call('ZADD', P .. ':match:deadlines', text, u)
    return 1
end
"""

# ARGV: prefix, user, now, deadline, free_slots, generation, pending_ttl, excluded ("1,2"), tags...
ENQUEUE = (
    _COMMON
    + """
local uid = ARGV[2]
local now = tonumber(ARGV[3])
local deadline = ARGV[4]
local free = tonumber(ARGV[5])
local gens = P .. ':match:gen'
if (redis.call('HGET', gens, uid) or '0') ~= ARGV[6] then
    return {'stale'}
end
local mine = redis.call('HGET', entry_key(uid), 'deadline')
if mine then
    if tonumber(mine) > now then
        return {'searching'}
    end
    drop(uid)
end
local pk = P .. ':match:pending:' .. uid
redis.call('ZREMRANGEBYSCORE', pk, '-inf', now - tonumber(ARGV[7]))
local unsettled = redis.call('ZRANGE', pk, 0, -1)
if free - #unsettled <= 0 then
    return {'slots'}
end
local skip = {[uid] = true}
for id in string.gmatch(ARGV[8], '[^,]+') do skip[id] = true end
for _, id in ipairs(unsettled) do skip[id] = true end
local tags = {}
for i = 9, #ARGV do tags[#tags + 1] = ARGV[i] end
local best, best_seq = nil, nil
local lapsed = {}
for _, tag in ipairs(tags) do
    local qk = queue_key(tag)
    local offset = 0
    local done = false
    while not done do
        local rows = redis.call('ZRANGE', qk, offset, offset + 31, 'WITHSCORES')
        if #rows == 0 then break end
        for i = 1, #rows, 2 do
            local candidate, seq = rows[i], tonumber(rows[i + 1])
            if best_seq and seq >= best_seq then done = true break end
            local d = redis.call('HGET', entry_key(candidate), 'deadline')
            if not d or tonumber(d) <= now then
                lapsed[#lapsed + 1] = {candidate, qk}
            elseif not skip[candidate] then
                best, best_seq = candidate, seq
                done = true
                break
            end
        end
        offset = offset + 32
    end
end
for _, item in ipairs(lapsed) do
    drop(item[1])
    redis.call('ZREM', item[2], item[1])
end
if not best then
    local seq = redis.call('INCR', P .. ':match:seq')
    redis.call('HSET', entry_key(uid), 'tags', table.concat(tags, ','), 'seq', seq, 'deadline', deadline)
    for _, tag in ipairs(tags) do
        redis.call('ZADD', queue_key(tag), seq, uid)
    end
    redis.call('ZADD', P .. ':match:deadlines', deadline, uid)
    return {'queued'}
end
local peer_tags = drop(best)
redis.call('ZADD', pk, now, best)
redis.call('ZADD', P .. ':match:pending:' .. best, now, uid)
redis.call('HINCRBY', gens, uid, 1)
redis.call('HINCRBY', gens, best, 1)
return {'paired', best, peer_tags}
"""
)

# ARGV: prefix, first, second
SETTLED = (
    _COMMON
    + """
local gens = P .. ':match:gen'
redis.call('ZREM', P .. ':match:pending:' .. ARGV[2], ARGV[3])
redis.call('ZREM', P .. ':match:pending:' .. ARGV[3], ARGV[2])
redis.call('HINCRBY', gens, ARGV[2], 1)
redis.call('HINCRBY', gens, ARGV[3], 1)
return 1
"""
)

# ARGV: prefix, user
REMOVE = (
    _COMMON
    + """
local existed = redis.call('EXISTS', entry_key(ARGV[2]))
drop(ARGV[2])
return existed
"""
)

# ARGV: prefix, user, now, deadline
REFRESH = (
    _COMMON
    + """
return move(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), false)
"""
)

# ARGV: prefix, user, delta, now, refresh deadline, grace deadline
SOCKETS = (
    _COMMON
    + """
local uid = ARGV[2]
local delta = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local counts = P .. ':match:sockets'
local remaining = redis.call('HINCRBY', counts, uid, delta)
if remaining <= 0 then
    redis.call('HDEL', counts, uid)
    remaining = 0
end
if delta > 0 then
    move(uid, now, tonumber(ARGV[5]), false)
elseif remaining == 0 then
    move(uid, now, tonumber(ARGV[6]), true)
end
return remaining
"""
)

# ARGV: prefix, now, limit
REAP = (
    _COMMON
    + """
local deadlines = P .. ':match:deadlines'
local due = redis.call('ZRANGEBYSCORE', deadlines, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, uid in ipairs(due) do
    drop(uid)
end
return due
"""
)
