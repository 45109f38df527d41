/**
 * Every Redis key the gateway uses, in one place, so the layout can be read (and migrated) at a glance.
 * All keys share the `gw:` namespace so the gateway can share a Redis database with other tenants.
 */
export const redisKeys = {
  /** JSON KeyRecord of an API key, by the key's SHA-256 hex (or a negative-cache marker). */
  apiKey: (hash: string) => `gw:key:${hash}`,
  /** JSON AccountRecord (tier, billing state) by account id. */
  account: (accountId: string) => `gw:acct:${accountId}`,
  /** Prefix @upstash/ratelimit builds sliding-window keys under: `${prefix}:${keyId}:${window}`. */
  rateLimitPrefix: "gw:rl",
  /** Prefix of the token-bucket (burst) keys: a hash {tokens, at} per key id. */
  burstPrefix: "gw:burst",
  /** Requests counted against an account's monthly quota, by UTC month (YYYY-MM). */
  quota: (accountId: string, month: string) => `gw:quota:${accountId}:${month}`,
  /** What every quota counter starts with (Lua scripts build the rest: `${quotaPrefix}${accountId}:${month}`). */
  quotaPrefix: "gw:quota:",
  /** Hash of usage counters for one UTC day (YYYY-MM-DD); field `${keyId}|${accountId}|${outcome}|${tier}`
   * (usage/usage-counters.ts), the tier being the one the request was decided under. */
  usageDay: (day: string) => `gw:usage:${day}`,
  /** Hash keyId -> last-used time (ms), rolled up into Postgres by the scheduled job. */
  lastUsed: "gw:lastused",
  /** A lease of tokens an isolate holds (gateway/lease-script.ts): what to give back if it goes unused. */
  lease: (leaseId: string) => `gw:lease:${leaseId}`,
  /** Marker of a usage batch already applied (gateway/settle-script.ts), so a repeat changes nothing. */
  usageBatch: (batchId: string) => `gw:batch:${batchId}`,
  /** Held while a plan change of the account runs (billing/checkout/plan-change-lock.ts): its holder's token. */
  planChangeLock: (accountId: string) => `gw:lock:plan-change:${accountId}`,
  // Developer portal (src/portal).
  /** JSON PortalSession by the SHA-256 hex of the session id (the id itself is never stored); expires by TTL. */
  portalSession: (idHash: string) => `gw:portal:session:${idHash}`,
  /** Set of the SHA-256 hex of an account's portal session ids, so a password reset can end them all. */
  portalAccountSessions: (accountId: string) => `gw:portal:sessions:${accountId}`,
  /** Prefix of the limiter of mails a visitor can ask for (verification resends, password resets), and of
   * the pacing of reset mails per address: `${prefix}:resetSpacing:${emailHash}` (auth/mail-limit.ts). */
  portalMailPrefix: "gw:portal:mail",
  /** Prefix of the login limiter's sliding windows: `${prefix}:address:${clientAddressKey}`,
   * `${prefix}:email-address:${emailHash}:${clientAddressKey}`, `${prefix}:email:${emailHash}`. */
  portalLoginPrefix: "gw:portal:login",
} as const;

/** How long a key or account record stays in Redis before it is read again from Postgres. */
export const RECORD_TTL_SECONDS = 24 * 60 * 60; // A day; this file imports nothing (scripts read it too).
/** How long Redis remembers that a hash matches no key, so guessing cannot hammer Postgres. */
export const UNKNOWN_KEY_TTL_SECONDS = 5 * 60;
