/**
 * The Lua scripts of the Redis presence. Each runs atomically in Redis, so name claims and
 * first-arrival / last-departure answers are exact across nodes. Every script takes the key
 * prefix as ARGV[1] and builds its keys from it (a standalone Redis; not for Redis Cluster).
 *
 * Keys (P is the prefix):
 *   P name:<key>        hash {username, owner}: the claim on a name
 *   P held:<key>        "1" with a TTL: the name is held after a kick (claims refused)
 *   P holders:<key>     set of "<node>/<conn>" holding the name; the name is free when empty
 *   P online            hash key -> username of every claimed name
 *   P room:<room>       hash key -> username of the room's online members
 *   P rc:<room>|<key>   set of "<node>/<conn>" of that user in that room
 *   P rooms             set of rooms that have members
 *   P idx:<node>        set of this node's entries ("n|key|conn", "r|room|key|conn"): what to
 *                       remove when the node is gone
 *   P alive:<node>      "1" with a TTL, renewed by the node's heartbeat
 *   P nodes             set of nodes that have registered (alive or awaiting a sweep)
 *   P sweep-lock        held (SET NX PX) by the node sweeping dead nodes
 */

const LIB = `
local P = ARGV[1]

local function claim(key, username, owner, node, conn)
  if redis.call('EXISTS', P .. 'held:' .. key) == 1 then return 0 end
  local nk = P .. 'name:' .. key
  local hk = P .. 'holders:' .. key
  local h = node .. '/' .. conn
  local cur = redis.call('HGET', nk, 'owner')
  if cur and cur ~= owner then
    local n = redis.call('SCARD', hk)
    if n > 0 and not (n == 1 and redis.call('SISMEMBER', hk, h) == 1) then return 0 end
    redis.call('DEL', hk)
  end
  redis.call('HSET', nk, 'username', username, 'owner', owner)
  redis.call('SADD', hk, h)
  redis.call('HSET', P .. 'online', key, username)
  redis.call('SADD', P .. 'idx:' .. node, 'n|' .. key .. '|' .. conn)
  return 1
end

local function release(key, node, conn)
  local hk = P .. 'holders:' .. key
  redis.call('SREM', P .. 'idx:' .. node, 'n|' .. key .. '|' .. conn)
  if redis.call('SREM', hk, node .. '/' .. conn) == 0 then return 0 end
  if redis.call('SCARD', hk) == 0 then
    redis.call('DEL', hk, P .. 'name:' .. key)
    redis.call('HDEL', P .. 'online', key)
  end
  return 1
end

local function join(room, key, username, node, conn)
  local ck = P .. 'rc:' .. room .. '|' .. key
  redis.call('SADD', P .. 'idx:' .. node, 'r|' .. room .. '|' .. key .. '|' .. conn)
  redis.call('HSET', P .. 'room:' .. room, key, username)
  redis.call('SADD', P .. 'rooms', room)
  local added = redis.call('SADD', ck, node .. '/' .. conn)
  if added == 1 and redis.call('SCARD', ck) == 1 then return 1 end
  return 0
end

-- Returns the user's name when this was their last connection in the room, else false.
local function leave(room, key, node, conn)
  local ck = P .. 'rc:' .. room .. '|' .. key
  redis.call('SREM', P .. 'idx:' .. node, 'r|' .. room .. '|' .. key .. '|' .. conn)
  if redis.call('SREM', ck, node .. '/' .. conn) == 0 then return false end
  if redis.call('SCARD', ck) > 0 then return false end
  local rk = P .. 'room:' .. room
  local username = redis.call('HGET', rk, key)
  redis.call('HDEL', rk, key)
  if redis.call('HLEN', rk) == 0 then redis.call('SREM', P .. 'rooms', room) end
  return username or key
end

-- Removes every entry of a node; returns {room, username, ...} of the last departures.
local function sweep(node)
  local out = {}
  local idx = P .. 'idx:' .. node
  for _, e in ipairs(redis.call('SMEMBERS', idx)) do
    if string.sub(e, 1, 2) == 'n|' then
      local key, conn = string.match(e, '^n|([^|]*)|(.*)$')
      if key then release(key, node, conn) end
    else
      local room, key, conn = string.match(e, '^r|([^|]*)|([^|]*)|(.*)$')
      if room then
        local u = leave(room, key, node, conn)
        if u then
          table.insert(out, room)
          table.insert(out, u)
        end
      end
    end
  end
  redis.call('DEL', idx)
  return out
end
`;

export interface ScriptSpec {
  name: string;
  lua: string;
}

function script(name: string, body: string): ScriptSpec {
  return { name, lua: `${LIB}\n${body}` };
}

/** ARGV: P, key, username, owner, node, conn -> 1 claimed, 0 taken. */
export const CLAIM = script('parleyClaim', `return claim(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])`);

/** ARGV: P, key, ms: holds the name (claims refused) for ms milliseconds. */
export const HOLD = script('parleyHold', `redis.call('SET', P .. 'held:' .. ARGV[2], '1', 'PX', ARGV[3]) return 1`);

/** ARGV: P, key, node, conn. */
export const RELEASE = script('parleyRelease', `return release(ARGV[2], ARGV[3], ARGV[4])`);

/** ARGV: P, room, key, username, node, conn -> 1 when the user's first connection in the room. */
export const JOIN = script('parleyJoin', `return join(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])`);

/** ARGV: P, room, key, node, conn -> 1 when it was the user's last connection in the room. */
export const LEAVE = script('parleyLeave', `if leave(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then return 1 end return 0`);

/**
 * ARGV: P, node, ttlMs. Renews the node's alive key; returns {existed, dead...}: existed is
 * 0 when the key had expired or Redis lost it (the node must re-register), and dead lists
 * registered nodes whose alive key is gone.
 */
export const BEAT = script('parleyBeat', `
local node = ARGV[2]
local alive = P .. 'alive:' .. node
local existed = redis.call('EXISTS', alive)
redis.call('SET', alive, '1', 'PX', ARGV[3])
redis.call('SADD', P .. 'nodes', node)
local out = {existed}
for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if n ~= node and redis.call('EXISTS', P .. 'alive:' .. n) == 0 then table.insert(out, n) end
end
return out`);

/** ARGV: P, node -> {room, username, ...}: sweeps a node whose alive key is gone (else {}). */
export const SWEEP_DEAD = script('parleySweepDead', `
local node = ARGV[2]
if redis.call('EXISTS', P .. 'alive:' .. node) == 1 then return {} end
local out = sweep(node)
redis.call('SREM', P .. 'nodes', node)
return out`);

/** ARGV: P, node -> {room, username, ...}: a node's goodbye; removes all of its entries. */
export const GOODBYE = script('parleyGoodbye', `
local node = ARGV[2]
local out = sweep(node)
redis.call('DEL', P .. 'alive:' .. node)
redis.call('SREM', P .. 'nodes', node)
return out`);

/**
 * ARGV: P, node, ttlMs, then entries of 5 fields each: 'n', key, username, owner, conn or
 * 'r', room, key, username, conn. Replaces all of the node's entries with these, atomically
 * (after Redis lost them, or after this node was swept while paused). Returns
 * {nLeft, room, username, ..., nJoined, room, username, ..., nConflicts, key, ...}: last
 * departures and first arrivals that the replacement caused, and names another owner took.
 */
export const RESYNC = script('parleyResync', `
local node = ARGV[2]
local left = sweep(node)
local joined = {}
local conflicts = {}
local i = 4
while i + 4 <= #ARGV do
  local kind = ARGV[i]
  if kind == 'n' then
    if claim(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], node, ARGV[i + 4]) == 0 then table.insert(conflicts, ARGV[i + 1]) end
  else
    if join(ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], node, ARGV[i + 4]) == 1 then
      table.insert(joined, ARGV[i + 1])
      table.insert(joined, ARGV[i + 3])
    end
  end
  i = i + 5
end
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ARGV[3])
redis.call('SADD', P .. 'nodes', node)
local out = {#left / 2}
for _, v in ipairs(left) do table.insert(out, v) end
table.insert(out, #joined / 2)
for _, v in ipairs(joined) do table.insert(out, v) end
table.insert(out, #conflicts)
for _, v in ipairs(conflicts) do table.insert(out, v) end
return out`);

/** ARGV: P -> {room, count, ...} for every room with members. */
export const COUNTS = script('parleyCounts', `
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  local n = redis.call('HLEN', P .. 'room:' .. room)
  if n > 0 then
    table.insert(out, room)
    table.insert(out, n)
  end
end
return out`);

export const SCRIPTS: ScriptSpec[] = [CLAIM, HOLD, RELEASE, JOIN, LEAVE, BEAT, SWEEP_DEAD, GOODBYE, RESYNC, COUNTS];
