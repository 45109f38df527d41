import type { LuaScript } from "../store/scripts";

/**
 * Monthly quota, checked and counted atomically so concurrent requests never admit more than the quota.
 * KEYS[1] quota counter; ARGV[1] quota; ARGV[2] unix ms at which the counter may expire.
 * Returns {admitted (1|0), used after this request}.
 */
export const QUOTA_SCRIPT: LuaScript = {
  name: "quota",
  source: `
local used = tonumber(redis.call("GET", KEYS[1]) or "0")
local quota = tonumber(ARGV[1])
if used >= quota then
  return {0, used}
end
used = redis.call("INCR", KEYS[1])
if used == 1 then
  redis.call("PEXPIREAT", KEYS[1], ARGV[2])
end
return {1, used}
`,
};
