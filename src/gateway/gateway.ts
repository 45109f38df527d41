import type { Context } from "hono";
import { openDatabase } from "../db/client";
import { hashApiKey, parseApiKey } from "../keys/key-format";
import { publishAccountRecord, publishKeyRecord } from "../keys/record-store";
import { type AccountRecord, type KeyRecord, keyRefusal } from "../keys/records";
import type { AppEnv } from "../lib/context";
import { ApiError, problemResponse } from "../lib/errors";
import { type Plan, planFor } from "../plans/plans";
import { redisKeys } from "../store/layout";
import { hotPathRedis, redisFor } from "../store/redis";
import { replaySpool, spoolBatches } from "../usage/spool";
import type { SealedBatch } from "../usage/usage-batch";
import { extractApiKey } from "./credentials";
import { type KnownKey, loadFromPostgres } from "./key-records";
import type { FlightDeps, FlightOutcome } from "./lease-flights";
import { admittedOutcome, refusedOutcome, shouldRenewAhead } from "./leases";
import type { LimitOutcome } from "./limit-outcome";
import { assertDeclaredBodySize, proxyToOrigin } from "./proxy";
import { rateLimitPolicy, rateLimitState, windowName } from "./ratelimit-headers";
import type { GatewayState } from "./state";
import { REFUSAL_FLUSH_DELAY_MS } from "./usage-flush";

/** What the data plane decided about one request; `finish` turns every kind into the response. */
type Verdict =
  | { kind: "invalid"; reason: string; key?: KeyRecord; account?: AccountRecord }
  | { kind: "unavailable"; detail: string }
  | { kind: "refused"; key: KeyRecord; account: AccountRecord; plan: Plan; limits: Limits }
  | { kind: "admitted"; key: KeyRecord; account: AccountRecord; plan: Plan; limits: Limits };

/** The limits' word on a request, and its RateLimit header. */
interface Limits {
  decision: "ok" | "rate_limited" | "quota";
  /** Seconds, on refusals. */
  retryAfter?: number;
  rateLimit: string;
  /** For the access log when it is not the decision itself: decided in this isolate without Redis. */
  label?: string;
}

/**
 * The data plane for every path under API_PREFIXES, as a sequence of named steps:
 *   1. the key: method, declared size, credentials, format and checksum (no network for a malformed key);
 *   2. the verdict: isolate memory (unknown key, remembered refusal, a token of a live lease), else ONE
 *      Redis round trip shared by every waiting request of the key (a lease, with the key and account
 *      re-read), Postgres when Redis lacks the records, RATE_LIMIT_FAIL_MODE when Redis fails;
 *   3. finish: the one exit, which counts usage, proxies what was admitted and answers the rest.
 */
export async function handleApiRequest(c: Context<AppEnv>, state: GatewayState): Promise<Response> {
  const hash = await keyHashOf(c, state);
  const verdict = await decide(c, state, hash);
  return finish(c, state, verdict);
}

const invalidKey = () =>
  new ApiError("invalid_key", {
    detail: "The API key is not valid. Check it, or create a new one in the portal.",
  });

/** Step 1: the SHA-256 hex of a well-formed key of this environment; throws the request's refusal. */
async function keyHashOf(c: Context<AppEnv>, state: GatewayState): Promise<string> {
  // TRACE reflects requests (cross-site tracing); CONNECT would open a tunnel. Neither reaches the origin.
  if (c.req.method === "TRACE" || c.req.method === "CONNECT") {
    throw new ApiError("method_not_allowed", {
      detail: `${c.req.method} is not forwarded.`,
      headers: { Allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" },
    });
  }
  const config = c.get("config");
  assertDeclaredBodySize(c.req.raw, config.maxBodyBytes);
  const apiKey = extractApiKey(c.req.raw);
  // A key this isolate checked and hashed lately is well-formed: its checksum and SHA-256 are not redone.
  // The environment is checked again: the map is the isolate's, the setting is the request's.
  const cached = state.keyHashes.get(apiKey);
  if (cached && apiKey.startsWith(`gw_${config.keyEnvironment}_`)) return cached;
  // Format and checksum first: a malformed key costs no network call at all.
  if (parseApiKey(apiKey) !== config.keyEnvironment) throw invalidKey();
  const hash = await hashApiKey(apiKey);
  state.keyHashes.set(apiKey, hash);
  return hash;
}

/** Step 2: memory, then the key's shared lease round trip, then Postgres or the fail mode. */
async function decide(c: Context<AppEnv>, state: GatewayState, hash: string): Promise<Verdict> {
  const now = Date.now();
  const month = state.months.at(now);
  const known = state.records.get(hash, now);
  if (known) {
    const refusal = keyRefusal(known.key, now);
    // Unknown, revoked and expired are final: no round trip can make such a key valid again.
    if (refusal) return { kind: "invalid", reason: refusal, ...asKey(known) };
    if (known.account && known.key.kind === "key") {
      const { key, account } = { key: known.key, account: known.account };
      const plan = planFor(account.tier);
      const lease = state.leases.take(hash, now);
      if (lease) {
        if (shouldRenewAhead(lease, now)) {
          c.executionCtx.waitUntil(state.flights.renewAhead(hash, flightDeps(c, state, month)));
        }
        return admitted(
          lease.key,
          lease.account,
          admittedOutcome(lease, planFor(lease.account.tier), month, now),
        );
      }
      // After the lease: tokens Redis already granted are spent before a remembered refusal applies.
      const blocked = state.blocks.active(key.id, account.id, now);
      if (blocked) return refused(key, account, plan, blocked);
    }
  }

  const deps = flightDeps(c, state, month);
  let outcome = await state.flights.acquire(hash, deps);
  if (outcome.kind === "answered" && lacksRecords(outcome)) {
    // Redis holds no record of the key or its account (evicted, or past its TTL): Postgres, then again.
    const loaded = await loadFromPostgres(hash, { db: c.get("db") });
    if (!loaded)
      return { kind: "unavailable", detail: "The key could not be verified right now. Retry shortly." };
    state.records.remember(hash, loaded.key, loaded.account);
    if (loaded.key.kind !== "key" || !loaded.account) return { kind: "invalid", reason: "unknown" };
    await publishRecords(deps.redis, hash, loaded).catch((error) =>
      c.get("log").warn("key lookup: could not fill redis", { error }),
    );
    outcome = await state.flights.acquire(hash, deps);
  }
  if (outcome.kind === "failed") return withoutRedis(c, state, hash, known, outcome.error);

  const { reply, lease } = outcome;
  if (state.ledger.spooled) replaySpoolNow(c, state);
  if (reply.key) state.records.remember(hash, reply.key, reply.account);
  if (reply.key?.kind !== "key" || !reply.account) return { kind: "invalid", reason: "unknown" };
  const refusal = keyRefusal(reply.key, now);
  if (refusal) return { kind: "invalid", reason: refusal, key: reply.key, account: reply.account };
  const plan = planFor(reply.account.tier);
  if (lease) {
    state.blocks.forget(reply.key.id, reply.account.id);
    return admitted(lease.key, lease.account, admittedOutcome(lease, plan, month, now));
  }
  const limits = refusedOutcome(reply, plan, month, now);
  state.blocks.remember(reply.key.id, reply.account.id, limits, now);
  return refused(reply.key, reply.account, plan, limits);
}

/**
 * Redis failed or missed its deadline and no lease covers the key: the records from memory or Postgres,
 * then RATE_LIMIT_FAIL_MODE: `closed` refuses (503); `open` holds the key to its rate limit counted in
 * this isolate alone and charges what it admits to the month's quota once Redis answers again.
 */
async function withoutRedis(
  c: Context<AppEnv>,
  state: GatewayState,
  hash: string,
  known: KnownKey | undefined,
  error: unknown,
): Promise<Verdict> {
  const log = c.get("log");
  const config = c.get("config");
  let records = known;
  if (!records?.account) {
    records = await loadFromPostgres(hash, { db: c.get("db") });
    if (!records) {
      log.error("key lookup: redis and postgres failed; refusing (fail closed)", { error });
      return { kind: "unavailable", detail: "The key could not be verified right now. Retry shortly." };
    }
    state.records.remember(hash, records.key, records.account);
    const loaded = records;
    c.executionCtx.waitUntil(
      publishRecords(hotPathRedis(config), hash, loaded).catch(() => {
        // Redis is down: the next lease call after it returns finds the record missing and refills it.
      }),
    );
  }
  const now = Date.now();
  const refusal = keyRefusal(records.key, now);
  if (refusal || records.key.kind !== "key" || !records.account) {
    return { kind: "invalid", reason: refusal ?? "unknown", ...asKey(records) };
  }
  const { key, account } = { key: records.key, account: records.account };
  if (config.rateLimitFailMode === "closed") {
    log.error("rate limit check failed; refusing (RATE_LIMIT_FAIL_MODE=closed)", { error, keyId: key.id });
    return { kind: "unavailable", detail: "Limits could not be checked right now. Retry shortly." };
  }
  const plan = planFor(account.tier);
  const local = state.fallback.admit(key.id, plan, now);
  log.warn(
    "rate limit check failed; applying the key's rate limit in this isolate (RATE_LIMIT_FAIL_MODE=open)",
    {
      error,
      keyId: key.id,
      admitted: local.admitted,
    },
  );
  const rateLimit = `"${windowName(plan.rateLimit.windowSeconds)}";r=${local.remaining};t=${local.resetSeconds}`;
  if (!local.admitted) {
    const limits = {
      decision: "rate_limited",
      retryAfter: local.resetSeconds,
      rateLimit,
      label: "rate_limited_local",
    } as const;
    return { kind: "refused", key, account, plan, limits };
  }
  // Redis did not count it against the month's quota: the next batch that reaches Redis will.
  const month = state.months.at(now);
  state.ledger.chargeQuota(redisKeys.quota(account.id, month.id), month.expireAtMs, now);
  return { kind: "admitted", key, account, plan, limits: { decision: "ok", rateLimit, label: "ok_local" } };
}

/** Step 3, the one exit: counts the request, then proxies it or answers its refusal. */
async function finish(c: Context<AppEnv>, state: GatewayState, verdict: Verdict): Promise<Response> {
  const now = Date.now();
  const config = c.get("config");
  const count = (
    key: KeyRecord,
    tier: string,
    outcome: "ok" | "rate_limited" | "quota" | "auth",
    delayMs?: number,
  ) => {
    state.ledger.record(key.id, key.accountId, outcome, tier, now);
    // One flush is due per isolate at a time; while it is, a request only adds its count.
    if (state.flusher.armed) return;
    const flushDeps = { redis: hotPathRedis(config), log: c.get("log"), spool: spoolFor(c, state) };
    c.executionCtx.waitUntil(state.flusher.schedule(flushDeps, delayMs));
  };

  switch (verdict.kind) {
    case "invalid": {
      if (verdict.key) count(verdict.key, verdict.account?.tier ?? "", "auth");
      c.set("outcome", `key_${verdict.reason}`);
      return problemResponse(c, invalidKey());
    }
    case "unavailable": {
      c.set("outcome", "unavailable");
      return problemResponse(
        c,
        new ApiError("unavailable", { detail: verdict.detail, headers: { "Retry-After": "1" } }),
      );
    }
    case "refused": {
      const { key, account, plan, limits } = verdict;
      const quota = limits.decision === "quota";
      c.set("caller", { accountId: account.id, keyId: key.id, tier: account.tier });
      c.set("outcome", limits.label ?? limits.decision);
      count(key, account.tier, quota ? "quota" : "rate_limited", REFUSAL_FLUSH_DELAY_MS);
      const error = new ApiError(quota ? "quota_exceeded" : "rate_limited", {
        detail: quota
          ? `The monthly quota of ${plan.monthlyQuota} requests is used up; it resets at the start of next month (UTC).`
          : "Too many requests for this key. Retry after the number of seconds in Retry-After.",
        headers: {
          "Retry-After": String(limits.retryAfter ?? 1),
          "RateLimit-Policy": rateLimitPolicy(plan, state.months.at(now)),
          RateLimit: limits.rateLimit,
        },
      });
      return problemResponse(c, error);
    }
    case "admitted": {
      const { key, account, plan, limits } = verdict;
      const identity = { accountId: account.id, keyId: key.id, tier: account.tier };
      c.set("caller", identity);
      if (limits.label) c.set("outcome", limits.label);
      const response = await proxyToOrigin(c.req.raw, config, identity, c.get("requestId"));
      response.headers.set("RateLimit-Policy", rateLimitPolicy(plan, state.months.at(now)));
      response.headers.set("RateLimit", limits.rateLimit);
      count(key, account.tier, "ok");
      return response;
    }
  }
}

function admitted(key: KeyRecord, account: AccountRecord, outcome: LimitOutcome): Verdict {
  const plan = planFor(account.tier);
  return {
    kind: "admitted",
    key,
    account,
    plan,
    limits: { decision: "ok", rateLimit: rateLimitState(plan, outcome) },
  };
}

function refused(key: KeyRecord, account: AccountRecord, plan: Plan, outcome: LimitOutcome): Verdict {
  const limits: Limits = {
    decision: outcome.decision,
    retryAfter: outcome.retryAfter,
    rateLimit: rateLimitState(plan, outcome),
  };
  return { kind: "refused", key, account, plan, limits };
}

function asKey(known: KnownKey): { key?: KeyRecord; account?: AccountRecord } {
  return known.key.kind === "key" ? { key: known.key, account: known.account } : {};
}

function lacksRecords(outcome: Extract<FlightOutcome, { kind: "answered" }>): boolean {
  const { key, account } = outcome.reply;
  return key === null || (key.kind === "key" && account === null);
}

function publishRecords(redis: FlightDeps["redis"], hash: string, known: KnownKey): Promise<unknown> {
  return Promise.all([
    publishKeyRecord(redis, hash, known.key),
    known.account ? publishAccountRecord(redis, known.account) : undefined,
  ]);
}

function flightDeps(c: Context<AppEnv>, state: GatewayState, month: FlightDeps["month"]): FlightDeps {
  const config = c.get("config");
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  return {
    redis: hotPathRedis(config),
    timeoutMs: config.rateLimitTimeoutMs,
    month,
    waitUntil,
    spool: (batches) => waitUntil(spoolFor(c, state)(batches)),
  };
}

/** Redis answers again after this isolate spooled counts: hands them over now (after the response). */
function replaySpoolNow(c: Context<AppEnv>, state: GatewayState): void {
  state.ledger.spooled = false;
  const config = c.get("config");
  const { db, close } = openDatabase(config);
  c.executionCtx.waitUntil(
    replaySpool({ db, redis: redisFor(config) })
      .catch((error) => {
        state.ledger.spooled = true;
        c.get("log").warn("usage spool replay failed; the scheduled replay retries", { error });
      })
      .finally(() => close().catch(() => {})),
  );
}

/**
 * The durable path for batches Redis did not confirm: Postgres, through a pool of its own (this runs
 * after the response, when the request's pool is already ended). Never rejects: batches it could not
 * spool stay in the ledger and go with the next flush.
 */
function spoolFor(c: Context<AppEnv>, state: GatewayState): (batches: SealedBatch[]) => Promise<void> {
  return async (batches) => {
    const { db, close } = openDatabase(c.get("config"));
    try {
      await spoolBatches(db, batches);
      state.ledger.handedOff(batches);
      c.get("log").warn("usage batches spooled to postgres; the replay job hands them to redis", {
        batches: batches.length,
      });
    } catch (error) {
      c.get("log").error("usage batches could not be spooled; kept in memory for the next flush", { error });
    } finally {
      await close().catch(() => {});
    }
  };
}
