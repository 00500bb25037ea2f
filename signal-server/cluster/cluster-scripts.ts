// The two Lua scripts the cluster runs in Redis: each is one atomic step, so two nodes
// never both make a room, and each room's messages get one order for every node.

/**
 * KEYS: room hash, ring. ARGV: this node's RoomDesc JSON, its newest number, the TTL (ms).
 * Keeps the older description (the same epoch: this node's, which is the newer state of
 * it); a room new to Redis drops a ring left from an earlier room of that name. Returns
 * the kept description and the room's number.
 */
export const ROOM_OPEN = `
local cur = redis.call('HGET', KEYS[1], 'desc')
local keep = ARGV[1]
if cur then
  local c = cjson.decode(cur)
  local n = cjson.decode(ARGV[1])
  if c.epoch ~= n.epoch and (c.createdAt < n.createdAt or (c.createdAt == n.createdAt and c.epoch < n.epoch)) then keep = cur end
else
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('HSET', KEYS[1], 'desc', keep)
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local mine = tonumber(ARGV[2])
if keep == ARGV[1] and mine > seq then
  seq = mine
  redis.call('HSET', KEYS[1], 'seq', seq)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {keep, seq}
`;

/**
 * KEYS: room hash, ring, client-id key. ARGV: frame head (ends in `"seq":`), events
 * channel, publish prefix, ring size (0: none), ring TTL, client-id TTL, "id ts", room TTL.
 * Numbers the message, keeps it in the ring, publishes it; a client id seen before
 * answers with that message's "id ts seq" instead.
 */
export const SAY = `
local earlier = redis.call('GET', KEYS[3])
if earlier then return earlier end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[8])
local frame = ARGV[1] .. seq .. '}'
if tonumber(ARGV[4]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 's', seq, 'f', frame)
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[2], ARGV[3] .. seq .. '\\n' .. frame)
local sent = ARGV[7] .. ' ' .. seq
redis.call('SET', KEYS[3], sent, 'PX', ARGV[6])
return sent
`;
