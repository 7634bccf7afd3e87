/**
 * The Lua scripts of the cluster: every step that reads and then writes shared state runs as one
 * script, so Redis executes it atomically and two nodes can never both win it. Time comes from
 * Redis (`TIME`), so deadlines mean the same on every node whatever their clocks say.
 *
 * Replies are flat arrays of strings (Lua `nil` would cut an array short, so absent values are "").
 */

/** `now` in epoch milliseconds, from the Redis server's clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Integer → string without Lua's exponent notation. */
const INT = `local function int(n) return string.format('%.0f', n) end`;

/**
 * Claims a device for a session. KEYS: epoch, presence, pending (optional). ARGV: node, session.
 * Returns {epoch, previous node, previous session, previous epoch, pending deliveries ("" without
 * the pending key)}: with none, the login needs no pass to send them.
 */
export const CLAIM = `
local e = redis.call('INCR', KEYS[1])
local prev = redis.call('HMGET', KEYS[2], 'node', 'session', 'epoch')
redis.call('HSET', KEYS[2], 'node', ARGV[1], 'session', ARGV[2], 'epoch', e)
local pending = ''
if KEYS[3] then pending = tostring(redis.call('ZCARD', KEYS[3])) end
return {tostring(e), prev[1] or '', prev[2] or '', prev[3] or '', pending}
`;

/** Releases a device only if the given epoch still holds it. KEYS: presence. ARGV: epoch. Returns 1 or 0. */
export const RELEASE = `
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * Creates a pending delivery. KEYS: record, pending, due (of the device's shard), presence. ARGV:
 * key, type, payload, reply type, deadline ms, origin node, due member, max pending in the shard
 * (0: none).
 * Returns {"ok", created, deadline, presence node, presence epoch} or {"dup"} / {"full"}.
 */
export const CREATE = `
${NOW}
${INT}
if redis.call('HGET', KEYS[1], 'state') == 'pending' then return {'dup'} end
local max = tonumber(ARGV[8])
if max > 0 and redis.call('ZCARD', KEYS[3]) >= max then return {'full'} end
local deadline = now + tonumber(ARGV[5])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'pending', 'type', ARGV[2], 'payload', ARGV[3], 'rtype', ARGV[4],
  'created', int(now), 'deadline', int(deadline), 'origin', ARGV[6], 'sent', 0, 'attempts', 0, 'replies', 0)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZADD', KEYS[3], deadline, ARGV[7])
local at = redis.call('HMGET', KEYS[4], 'node', 'epoch')
return {'ok', int(now), int(deadline), at[1] or '', at[2] or ''}
`;

/**
 * Claims the sends of a device's pending deliveries for one session epoch: each delivery goes out
 * at most once per epoch. KEYS: presence, pending. ARGV: epoch, record key prefix, again (1/0:
 * this epoch's previous claim went unanswered, so those already marked sent in it come back too;
 * the node sends only those it did not send). Returns {"stale", current epoch} when the epoch no longer holds the device, else {"ok", then per
 * delivery to send: key, type, payload, reply type, attempts before this one}.
 */
export const CLAIM_SENDS = `
${NOW}
local current = redis.call('HGET', KEYS[1], 'epoch')
if current ~= ARGV[1] then return {'stale', current or ''} end
local epoch = tonumber(ARGV[1])
local again = ARGV[3] == '1'
local out = {'ok'}
for _, k in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local rec = ARGV[2] .. k
  local f = redis.call('HMGET', rec, 'state', 'deadline', 'sent', 'type', 'payload', 'rtype', 'attempts')
  if f[1] == 'pending' then
    if tonumber(f[2]) > now and (tonumber(f[3]) < epoch or (again and tonumber(f[3]) == epoch)) then
      redis.call('HSET', rec, 'sent', ARGV[1])
      redis.call('HINCRBY', rec, 'attempts', 1)
      out[#out + 1] = k
      out[#out + 1] = f[4]
      out[#out + 1] = f[5]
      out[#out + 1] = f[6]
      out[#out + 1] = f[7]
    end
  else
    redis.call('ZREM', KEYS[2], k)
  end
end
return out
`;

const RECORD_END = `
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
`;

/**
 * Records one reply of the device to a pending delivery, from the session epoch that holds the
 * device; a final one ends the delivery as completed and appends its outcome to the stream.
 * KEYS: presence, record, pending, due, outcomes. ARGV: epoch, key, reply type, payload, final (1/0),
 * node, due member, retention ms, max outcomes, device id.
 * Returns {"ok", origin, replies} | {"stale"} | {"none"} | {"ended", state, origin}.
 */
export const REPLY = `
${NOW}
${INT}
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return {'stale'} end
local f = redis.call('HMGET', KEYS[2], 'state', 'rtype', 'origin')
if not f[1] then return {'none'} end
if f[2] ~= ARGV[3] then return {'none'} end
if f[1] ~= 'pending' then
  -- A reply after the delivery ended (e.g. after its deadline): kept on the record, readable by key.
  redis.call('HINCRBY', KEYS[2], 'late', 1)
  redis.call('HSET', KEYS[2], 'lastLate', ARGV[4])
  return {'ended', f[1], f[3] or ''}
end
local n = redis.call('HINCRBY', KEYS[2], 'replies', 1)
redis.call('HSET', KEYS[2], 'last', ARGV[4])
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[2], 'state', 'completed', 'ended', int(now), 'by', ARGV[6])
  ${RECORD_END}
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', 'device', ARGV[10], 'key', ARGV[2],
    'outcome', 'completed', 'node', ARGV[6], 'replies', n, 'reason', '', 'reply', ARGV[4])
end
return {'ok', f[3] or '', tostring(n)}
`;

/**
 * Ends a pending delivery otherwise than by its final reply: timedOut (only once its deadline has
 * passed by Redis's clock), aborted, cancelled or failed. Exactly one caller cluster-wide gets "ok".
 * KEYS: presence (unused, keeps the slot), record, pending, due, outcomes. ARGV: unused, key, state,
 * reason, node, require deadline passed (1/0), due member, retention ms, max outcomes, device id.
 * Returns {"ok", origin, replies} | {"none"} | {"ended", state, origin} | {"early", ms left}.
 */
export const FINISH = `
${NOW}
${INT}
local f = redis.call('HMGET', KEYS[2], 'state', 'deadline', 'origin', 'replies', 'last')
if not f[1] then
  redis.call('ZREM', KEYS[4], ARGV[7])
  return {'none'}
end
if f[1] ~= 'pending' then
  redis.call('ZREM', KEYS[4], ARGV[7])
  return {'ended', f[1], f[3] or ''}
end
if ARGV[6] == '1' and tonumber(f[2]) > now then return {'early', int(tonumber(f[2]) - now)} end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'ended', int(now), 'by', ARGV[5], 'reason', ARGV[4])
${RECORD_END}
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', 'device', ARGV[10], 'key', ARGV[2],
  'outcome', ARGV[3], 'node', ARGV[5], 'replies', f[4] or '0', 'reason', ARGV[4], 'reply', f[5] or '')
return {'ok', f[3] or '', f[4] or '0'}
`;

/**
 * Claims a correlated uplink request for execution. KEYS: record. ARGV: node, ttl ms.
 * Returns {"execute"} | {"running"} | {"done", reply type, payload, failed}.
 */
export const UPLINK_CLAIM = `
local f = redis.call('HMGET', KEYS[1], 'state', 'type', 'payload', 'failed')
if not f[1] then
  redis.call('HSET', KEYS[1], 'state', 'running', 'node', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'execute'}
end
if f[1] == 'running' then return {'running'} end
return {'done', f[2] or '', f[3] or '', f[4] or ''}
`;

/**
 * Appends a message to a node's inbox and rings its doorbell with the message itself, so the node
 * can act on it at once; the stream entry is the durable copy (read by the reconcile pass when the
 * doorbell was lost; the entry id lets the node handle each message once). KEYS: inbox. ARGV: max
 * length, ttl ms, doorbell channel, message (JSON), payload (may be empty).
 * Publishes "<id>\n<message>\n<payload>" and returns the entry id.
 */
export const INBOX_ADD = `
local id
if ARGV[5] == '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[4])
else
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'm', ARGV[4], 'p', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[5])
return id
`;

/** The scripts by ioredis command name, with their number of keys. */
export const SCRIPTS = {
  paynetClaim: { numberOfKeys: 3, lua: CLAIM },
  paynetRelease: { numberOfKeys: 1, lua: RELEASE },
  paynetCreate: { numberOfKeys: 4, lua: CREATE },
  paynetClaimSends: { numberOfKeys: 2, lua: CLAIM_SENDS },
  paynetReply: { numberOfKeys: 5, lua: REPLY },
  paynetFinish: { numberOfKeys: 5, lua: FINISH },
  paynetUplinkClaim: { numberOfKeys: 1, lua: UPLINK_CLAIM },
  paynetInboxAdd: { numberOfKeys: 1, lua: INBOX_ADD },
} as const;
