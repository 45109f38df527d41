import type { LuaScript } from "../store/scripts";

/**
 * A key's record and its account's record in ONE round trip, for a key this isolate has not seen: the
 * account id is inside the key record, so two GETs would otherwise follow one another.
 * KEYS[1] the key record; ARGV[1] the account records' key prefix (see redisKeys.account).
 * Returns {key record or nil, account record or nil}, both as stored (JSON).
 * The account key cannot be declared in KEYS (its id is inside the key record). Upstash allows that for
 * scripts without the `allow-key-locking` flag, which run under its global lock (a lookup this short holds it
 * for microseconds); a Redis Cluster would need the two keys in one hash slot.
 */
export const RESOLVE_SCRIPT: LuaScript = {
  name: "resolve-key",
  source: `
local key = redis.call("GET", KEYS[1])
if not key then
  return {false, false}
end
local ok, record = pcall(cjson.decode, key)
if not ok or type(record) ~= "table" or record.kind ~= "key" or type(record.accountId) ~= "string" then
  return {key, false}
end
return {key, redis.call("GET", ARGV[1] .. record.accountId)}
`,
};
