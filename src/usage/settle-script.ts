import type { LuaScript } from "../store/scripts";

/**
 * Applies one batch of usage at most once, however often it is sent: the isolate's after-response counts,
 * a retry after a reply that came too late, or a replay from the durable spool (usage/spool.ts).
 *
 * KEYS[1] the batch's marker (gw:batch:{batch id}); ARGV[1] how long the marker is kept (ms); ARGV[2] the
 * batch as JSON; ARGV[3] how long a lease id given up before its grant stays marked (ms):
 *   u: [[usage day hash, field, count], ...]  requests by key, day, outcome and tier (HINCRBY)
 *   e: seconds a usage day hash is kept
 *   l: {keyId: unix ms}, k: the last-used hash    last-used times, which only move forward
 *   q: [[quota counter, delta, expire at unix ms], ...]  quota charges for requests admitted without Redis
 *   r: [[lease record key, tokens used], ...]   leases that lapsed: their unused tokens go back to the
 *                                               window, the quota and the bucket they were taken from
 * Returns 1 when the batch was applied now, 0 when its marker shows it was applied before.
 *
 * A returned token is only given back to a counter that still exists (a window that has expired needs no
 * refund) and never below zero; a lease record is deleted once settled, so a lease is refunded once.
 */
export const SETTLE_SCRIPT: LuaScript = {
  name: "settle",
  source: `
if not redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[1]) then return 0 end
local batch = cjson.decode(ARGV[2])
local touched = {}
for _, usage in ipairs(batch.u or {}) do
  redis.call("HINCRBY", usage[1], usage[2], usage[3])
  touched[usage[1]] = true
end
for hash in pairs(touched) do redis.call("EXPIRE", hash, batch.e) end
if batch.l then
  for keyId, at in pairs(batch.l) do
    if at > tonumber(redis.call("HGET", batch.k, keyId) or "0") then redis.call("HSET", batch.k, keyId, at) end
  end
end
for _, charge in ipairs(batch.q or {}) do
  redis.call("INCRBY", charge[1], charge[2])
  redis.call("PEXPIREAT", charge[1], charge[3])
end
local function giveBack(counter, tokens)
  if redis.call("EXISTS", counter) == 1 and redis.call("DECRBY", counter, tokens) < 0 then
    redis.call("SET", counter, 0, "KEEPTTL")
  end
end
for _, lapsed in ipairs(batch.r or {}) do
  local recordJson = redis.call("GET", lapsed[1])
  -- "0" marks an id given up before its grant (below): nothing to refund, and nothing to decode.
  if recordJson and recordJson ~= "0" then
    local lease = cjson.decode(recordJson)
    local unused = lease.g - lapsed[2]
    if unused > 0 then
      giveBack(lease.w, unused)
      giveBack(lease.q, unused)
      if lease.b and redis.call("EXISTS", lease.b) == 1 then
        local tokens = tonumber(redis.call("HGET", lease.b, "tokens") or "0") + unused
        redis.call("HSET", lease.b, "tokens", tostring(math.min(lease.c, tokens)))
      end
    end
    redis.call("DEL", lapsed[1])
  elseif not recordJson and lapsed[2] == 0 then
    -- A lease given up before Redis granted it: mark the id so the grant, should it still arrive, is nothing.
    redis.call("SET", lapsed[1], "0", "PX", ARGV[3])
  end
end
return 1
`,
};
