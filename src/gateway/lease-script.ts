import type { LuaScript } from "../store/scripts";

/**
 * Takes a LEASE of tokens for one API key in one atomic step, and re-reads the key and its account.
 *
 * KEYS[1] the key record (gw:key:{sha256 of the key}).
 * ARGV: [1] account record prefix, [2] sliding-window counter prefix, [3] token-bucket prefix, [4] quota
 * prefix, [5] now (unix ms), [6] month id (YYYY-MM, UTC), [7] unix ms at which the month's counter may
 * expire, [8] the plans as JSON {tier: [requests, window ms, monthly quota, burst capacity, burst refill
 * per second]}, [9] demand (requests waiting now), [10] extra (tokens wanted for requests expected within
 * the lease's life), [11] lease record key, [12] lease record TTL (ms).
 *
 * The grant is bounded by the tightest of: what the key's sliding window has left (the count
 * floor((1 - elapsed/W) * previous) + current, as @upstash/ratelimit counts it, under the same key names),
 * what the account's calendar-month quota has left, and what the burst bucket holds. Waiting requests are
 * served first; `extra` gets at most half of what is left after them, so as a budget runs out leases shrink
 * to exactly the demand and no isolate can sit on tokens another needs. The plan is the one of the tier
 * Redis holds now, so a tier change applies to the very lease that learns of it (a tier no plan
 * knows gets the free plan's limits, as planFor does). A revoked, expired or
 * unknown key, or a missing account, is granted nothing (and nothing is counted).
 *
 * What was granted is counted in the window, the quota and the bucket at once, and written to the lease
 * record {g = granted, w = window counter, q = quota counter, b = bucket key or false, c = bucket capacity},
 * from which SETTLE_SCRIPT gives back the tokens the isolate did not use.
 *
 * The same lease id sent again (the caller's retry after a missed deadline) returns the grant already made
 * instead of granting twice. A lease id that SETTLE_SCRIPT already saw returned (the isolate gave up on a call that missed its
 * deadline) is granted nothing, so a call that reaches Redis after its own refund cannot leak tokens.
 *
 * Returns {key record JSON or false, account record JSON or false, granted, window left after the grant,
 * quota left after the grant, current window count, previous window count, bucket tokens after the grant
 * (a string: Lua numbers are truncated in replies) or false, window ms}.
 */
export const LEASE_SCRIPT: LuaScript = {
  name: "lease",
  source: `
local keyJson = redis.call("GET", KEYS[1])
if not keyJson then return {false, false, 0} end
local okKey, key = pcall(cjson.decode, keyJson)
if not okKey or type(key) ~= "table" or key.kind ~= "key" or type(key.accountId) ~= "string" then
  return {keyJson, false, 0}
end
local accountJson = redis.call("GET", ARGV[1] .. key.accountId)
if not accountJson then return {keyJson, false, 0} end
local okAccount, account = pcall(cjson.decode, accountJson)
if not okAccount or type(account) ~= "table" then return {keyJson, false, 0} end
local now = tonumber(ARGV[5])
if key.status ~= "active" or (type(key.expiresAt) == "number" and key.expiresAt <= now) then
  return {keyJson, accountJson, 0}
end
local plans = cjson.decode(ARGV[8])
local plan = plans[account.tier] or plans["free"]
local limit, windowMs, quota, burstCapacity, burstRefill = plan[1], plan[2], plan[3], plan[4], plan[5]

local index = math.floor(now / windowMs)
local currentKey = ARGV[2] .. key.id .. ":" .. index
local current = tonumber(redis.call("GET", currentKey) or "0")
local previous = tonumber(redis.call("GET", ARGV[2] .. key.id .. ":" .. (index - 1)) or "0")
local elapsed = (now - index * windowMs) / windowMs
local windowLeft = limit - (math.floor((1 - elapsed) * previous) + current)
local quotaKey = ARGV[4] .. key.accountId .. ":" .. ARGV[6]
local quotaLeft = quota - tonumber(redis.call("GET", quotaKey) or "0")
local available = math.min(windowLeft, quotaLeft)

local bucketKey, tokens = false, false
if burstCapacity > 0 then
  bucketKey = ARGV[3] .. key.id
  local bucket = redis.call("HMGET", bucketKey, "tokens", "at")
  local at = tonumber(bucket[2]) or now
  tokens = math.min(burstCapacity, (tonumber(bucket[1]) or burstCapacity) + math.max(0, now - at) * burstRefill / 1000)
  available = math.min(available, math.floor(tokens))
end
if available < 0 then available = 0 end

-- The same lease id again (a retry after a missed deadline): the grant already made, nothing new. A lease id
-- settled as given up ("0") is never granted late.
local earlier = redis.call("GET", ARGV[11])
if earlier then
  local granted = 0
  if earlier ~= "0" then granted = cjson.decode(earlier).g end
  if bucketKey then tokens = tostring(tokens) end
  return {keyJson, accountJson, granted, windowLeft, quotaLeft, current, previous, tokens, windowMs}
end
local forDemand = math.min(tonumber(ARGV[9]), available)
local forExtra = math.min(tonumber(ARGV[10]), math.floor((available - forDemand) / 2))
local granted = forDemand + forExtra
if granted > 0 then
  current = redis.call("INCRBY", currentKey, granted)
  redis.call("PEXPIRE", currentKey, windowMs * 2 + 1000)
  if redis.call("INCRBY", quotaKey, granted) == granted then redis.call("PEXPIREAT", quotaKey, ARGV[7]) end
  redis.call("SET", ARGV[11], cjson.encode({g = granted, w = currentKey, q = quotaKey, b = bucketKey, c = burstCapacity}), "PX", ARGV[12])
end
if bucketKey then
  tokens = tokens - granted
  redis.call("HSET", bucketKey, "tokens", tostring(tokens), "at", tostring(now))
  redis.call("PEXPIRE", bucketKey, math.ceil(burstCapacity / burstRefill * 1000) + 1000)
  tokens = tostring(tokens)
end
return {keyJson, accountJson, granted, windowLeft - granted, quotaLeft - granted, current, previous, tokens, windowMs}
`,
};
