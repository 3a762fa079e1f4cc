package redisq

import "github.com/redis/go-redis/v9"

// The queue keeps four keys, all sharing one hash tag so the scripts can touch them together on Redis Cluster:
//
//	stream   due entries (field "run"), read by the consumer group; acknowledged entries are deleted
//	delayed  sorted set of run ids that are not due yet, scored by due time in unix milliseconds
//	waiting  hash run id -> stream entry id, for ids whose stream entry has not been delivered yet
//	dead     entries delivered MaxDeliveries times without an acknowledgement
//
// A run id is waiting when it is in the delayed set or when its waiting-hash entry names a stream entry that still
// exists and lies after the group's last-delivered id. Every script that adds an entry checks both, which is how
// an id is never waiting twice. Stale hash fields (delivered but not yet acknowledged, trimmed, dead-lettered) are
// recognised as such and removed when seen; acknowledgement removes the field of the delivered entry.
//
// Scripts take "now" from the Redis server's clock so every process agrees on when a delayed entry is due.

// luaCommon holds the helpers the scripts share.
const luaCommon = `
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function xadd(stream, maxlen, run)
  if maxlen > 0 then
    return redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'run', run)
  end
  return redis.call('XADD', stream, '*', 'run', run)
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
`

// enqueueScript adds run ids with their due times (ARGV: group, maxlen, the caller's clock, then run id and due
// pairs; times in unix ms). A due id goes to the stream, a later one to the delayed set; an id already waiting
// keeps the earlier time, and is moved to the stream at once if the new time is due. An entry is due when its
// time has come by the server's clock or by the caller's, so "now" from a producer whose clock runs ahead of
// Redis still means at once. It returns how many ids were not waiting before.
var enqueueScript = redis.NewScript(luaCommon + `
local stream, delayed, waiting = KEYS[1], KEYS[2], KEYS[3]
local group, maxlen = ARGV[1], tonumber(ARGV[2])
local now = math.max(nowms(), tonumber(ARGV[3]))

local function idcmp(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)
  if ams ~= bms then
    if ams < bms then return -1 end
    return 1
  end
  if aseq ~= bseq then
    if aseq < bseq then return -1 end
    return 1
  end
  return 0
end

-- The last id the group delivered, looked up at most once per call.
local delivered
local function lastDelivered()
  if delivered then return delivered end
  delivered = '0-0'
  if redis.call('EXISTS', stream) == 1 then
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
      if field(g, 'name') == group then delivered = field(g, 'last-delivered-id') end
    end
  end
  return delivered
end

-- inStream reports whether run has a stream entry that has not been delivered yet.
local function inStream(run)
  local e = redis.call('HGET', waiting, run)
  if not e then return false end
  if idcmp(e, lastDelivered()) > 0 and #redis.call('XRANGE', stream, e, e) > 0 then return true end
  redis.call('HDEL', waiting, run)
  return false
end

local added = 0
for i = 4, #ARGV, 2 do
  local run, at = ARGV[i], ARGV[i + 1]
  local due = tonumber(at) <= now
  local score = redis.call('ZSCORE', delayed, run)
  if score then
    if due then
      redis.call('ZREM', delayed, run)
      redis.call('HSET', waiting, run, xadd(stream, maxlen, run))
    elseif tonumber(at) < tonumber(score) then
      redis.call('ZADD', delayed, at, run)
    end
  elseif not inStream(run) then
    added = added + 1
    if due then
      redis.call('HSET', waiting, run, xadd(stream, maxlen, run))
    else
      redis.call('ZADD', delayed, at, run)
    end
  end
end
return added
`)

// moveScript moves up to ARGV[2] delayed entries that are due to the stream (ARGV[1] is maxlen). Several
// processes may run it at once: each call is atomic, so an entry is moved once. It returns the number moved,
// the server time and the due time of the next delayed entry (-1 when there is none), in unix milliseconds.
var moveScript = redis.NewScript(luaCommon + `
local delayed, stream, waiting = KEYS[1], KEYS[2], KEYS[3]
local maxlen, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = nowms()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
for _, run in ipairs(due) do
  redis.call('HSET', waiting, run, xadd(stream, maxlen, run))
end
if #due > 0 then redis.call('ZREM', delayed, unpack(due)) end
local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
local nextDue = -1
if first[2] then nextDue = tonumber(first[2]) end
return {#due, now, nextDue}
`)

// ackScript acknowledges and deletes one delivered entry (ARGV: group, entry id, run id), and forgets the run's
// waiting-hash field if it still names this entry.
var ackScript = redis.NewScript(`
local stream, waiting = KEYS[1], KEYS[2]
local group, entry, run = ARGV[1], ARGV[2], ARGV[3]
local n = redis.call('XACK', stream, group, entry)
redis.call('XDEL', stream, entry)
if redis.call('HGET', waiting, run) == entry then redis.call('HDEL', waiting, run) end
return n
`)

// reclaimScript looks at up to ARGV[4] pending entries idle for at least ARGV[3] ms (ARGV: group, consumer,
// min idle, count, max deliveries, dead-letter maxlen). Entries delivered max-deliveries times already go to the
// dead-letter stream; the others are claimed for the consumer, which counts one more delivery. It returns
// {claimed {entry, run, deliveries}..., dead {run, entry, deliveries}..., number of pending entries looked at}.
var reclaimScript = redis.NewScript(luaCommon + `
local stream, waiting, dead = KEYS[1], KEYS[2], KEYS[3]
local group, consumer = ARGV[1], ARGV[2]
local idle, count, maxd, deadmax = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local claimed, buried = {}, {}
local pending = redis.call('XPENDING', stream, group, 'IDLE', idle, '-', '+', count)
for _, p in ipairs(pending) do
  local entry, owner, n = p[1], p[2], tonumber(p[4])
  local found = redis.call('XRANGE', stream, entry, entry)
  if #found == 0 then
    -- Trimmed while pending: nothing is left to deliver.
    redis.call('XACK', stream, group, entry)
  else
    local run = field(found[1][2], 'run') or ''
    if n >= maxd then
      redis.call('XADD', dead, 'MAXLEN', '~', deadmax, '*', 'run', run, 'entry', entry, 'deliveries', n,
        'consumer', owner, 'at', nowms())
      redis.call('XACK', stream, group, entry)
      redis.call('XDEL', stream, entry)
      if redis.call('HGET', waiting, run) == entry then redis.call('HDEL', waiting, run) end
      table.insert(buried, {run, entry, n})
    else
      redis.call('XCLAIM', stream, group, consumer, idle, entry)
      table.insert(claimed, {entry, run, n + 1})
    end
  end
end
return {claimed, buried, #pending}
`)

// depthScript counts waiting entries: the delayed set plus stream entries not delivered yet (the stream holds
// undelivered and delivered-but-unacknowledged entries; the latter are the group's pending entries).
var depthScript = redis.NewScript(`
local delayed, stream, group = KEYS[1], KEYS[2], ARGV[1]
local n = redis.call('ZCARD', delayed)
local len = redis.call('XLEN', stream)
local pending = 0
if len > 0 then
  local ok, summary = pcall(redis.call, 'XPENDING', stream, group)
  if ok then pending = summary[1] end
end
if len > pending then n = n + len - pending end
return n
`)

// pruneScript deletes consumers of the group, other than ARGV[2], that hold no pending entries and have been
// idle for more than ARGV[3] ms: the names left behind by worker processes that have gone. It returns how many
// it deleted.
var pruneScript = redis.NewScript(luaCommon + `
local stream, group, me, maxidle = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local name = field(c, 'name')
  if name ~= me and tonumber(field(c, 'pending')) == 0 and tonumber(field(c, 'idle')) > maxidle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, name)
    n = n + 1
  end
end
return n
`)
