import type { Context } from "hono";
import { hashApiKey, parseApiKey } from "../keys/key-format";
import { type AccountRecord, type KeyRecord, keyRefusal } from "../keys/records";
import type { AppEnv } from "../lib/context";
import { ApiError, problemResponse } from "../lib/errors";
import { planFor } from "../plans/plans";
import { hotPathRedis } from "../store/redis";
import { prepareScripts } from "../store/scripts";
import { activeBlock, forgetBlocks, rememberBlock } from "./blocks";
import { extractApiKey } from "./credentials";
import { refillFromPostgres, remember, resolveKey } from "./key-resolver";
import { decideWithoutRedis } from "./limit-failure";
import { checkLimits, type LimitOutcome, restateForPlan } from "./limiter";
import { assertDeclaredBodySize, proxyToOrigin } from "./proxy";
import { QUOTA_SCRIPT } from "./quota-script";
import { rateLimitPolicy, rateLimitState } from "./ratelimit-headers";
import { REFUSAL_FLUSH_DELAY_MS, recordUsage, scheduleUsageFlush } from "./usage";

const invalidKey = () =>
  new ApiError("invalid_key", {
    detail: "The API key is not valid. Check it, or create a new one in the portal.",
  });

/**
 * The data plane for every path under API_PREFIXES: authenticate the key, apply its tier's limits in one
 * Redis round trip, proxy to the origin, and meter usage after the response.
 */
export async function handleApiRequest(c: Context<AppEnv>): Promise<Response> {
  const config = c.get("config");
  const log = c.get("log");
  const requestId = c.get("requestId");
  const now = Date.now();
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);

  // TRACE reflects requests (cross-site tracing); CONNECT would open a tunnel. Neither reaches the origin.
  if (c.req.method === "TRACE" || c.req.method === "CONNECT") {
    throw new ApiError("method_not_allowed", {
      detail: `${c.req.method} is not forwarded.`,
      headers: { Allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" },
    });
  }
  assertDeclaredBodySize(c.req.raw, config.maxBodyBytes);
  const apiKey = extractApiKey(c.req.raw);
  // Format and checksum first: a malformed key costs no network call at all.
  if (parseApiKey(apiKey) !== config.keyEnvironment) throw invalidKey();

  const redis = hotPathRedis(config);
  const db = c.get("db");
  const hash = await hashApiKey(apiKey);
  const deps = { redis, db, log, waitUntil, config };
  const resolved = await resolveKey(hash, deps);
  const refusal = keyRefusal(resolved.key, now);
  if (refusal || resolved.key.kind !== "key" || !resolved.account) {
    if (resolved.key.kind === "key") {
      recordUsage(resolved.key.id, resolved.key.accountId, "auth", now);
      waitUntil(scheduleUsageFlush(redis, log));
    }
    c.set("outcome", `key_${refusal ?? "unknown"}`);
    throw invalidKey();
  }
  let key: KeyRecord = resolved.key;
  let account: AccountRecord = resolved.account;
  let plan = planFor(account.tier);
  c.set("caller", { accountId: account.id, keyId: key.id, tier: account.tier });
  const cached = activeBlock(key.id, account.id, now);
  if (cached) return refuse(c, cached, plan, { accountId: account.id, keyId: key.id }, now);

  await prepareScripts(QUOTA_SCRIPT);
  let outcome: LimitOutcome | undefined;
  /** The RateLimit header when the isolate decided alone (Redis failed, fail-open). */
  let localState: string | undefined;
  try {
    outcome = await checkLimits(redis, { hash, key, account, plan, now });
  } catch (error) {
    localState = decideWithoutRedis(c, { error, key, account, plan, now });
  }

  if (outcome) {
    // What Redis holds now wins over isolate memory: a revocation or tier change applies from this request.
    const { key: freshKey, account: freshAccount } = outcome.fresh;
    if (!freshKey || !freshAccount) {
      waitUntil(
        refillFromPostgres(hash, key.accountId, deps).catch((error) => log.warn("refill failed", { error })),
      );
    } else {
      remember(hash, freshKey, freshAccount);
      if (keyRefusal(freshKey, now) || freshKey.kind !== "key") {
        c.set("outcome", `key_${keyRefusal(freshKey, now) ?? "unknown"}`);
        recordUsage(key.id, account.id, "auth", now);
        waitUntil(scheduleUsageFlush(redis, log));
        throw invalidKey();
      }
      if (freshAccount.tier !== account.tier) {
        const freshPlan = planFor(freshAccount.tier);
        outcome = restateForPlan(outcome, plan, freshPlan);
        plan = freshPlan;
      }
      key = freshKey;
      account = freshAccount;
    }
    if (outcome.decision !== "ok") {
      rememberBlock(key.id, account.id, outcome, now);
      return refuse(c, outcome, plan, { accountId: account.id, keyId: key.id }, now);
    }
    forgetBlocks(key.id, account.id);
  }

  const identity = { accountId: account.id, keyId: key.id, tier: account.tier };
  c.set("caller", identity);
  const response = await proxyToOrigin(c.req.raw, config, identity, requestId);
  response.headers.set("RateLimit-Policy", rateLimitPolicy(plan));
  if (outcome) response.headers.set("RateLimit", rateLimitState(plan, outcome));
  else if (localState) response.headers.set("RateLimit", localState);
  recordUsage(key.id, account.id, "ok", now);
  waitUntil(scheduleUsageFlush(redis, log));
  return response;
}

function refuse(
  c: Context<AppEnv>,
  outcome: LimitOutcome,
  plan: ReturnType<typeof planFor>,
  identity: { accountId: string; keyId: string },
  now: number,
): Response {
  const quota = outcome.decision === "quota";
  c.set("outcome", outcome.decision);
  recordUsage(identity.keyId, identity.accountId, quota ? "quota" : "rate_limited", now);
  c.executionCtx.waitUntil(
    scheduleUsageFlush(hotPathRedis(c.get("config")), c.get("log"), REFUSAL_FLUSH_DELAY_MS),
  );
  const error = new ApiError(quota ? "quota_exceeded" : "rate_limited", {
    detail: quota
      ? `The monthly quota of ${plan.monthlyQuota} requests is used up; it resets at the start of next month (UTC).`
      : "Too many requests for this key. Retry after the number of seconds in Retry-After.",
    headers: {
      "Retry-After": String(outcome.retryAfter ?? 1),
      "RateLimit-Policy": rateLimitPolicy(plan),
      RateLimit: rateLimitState(plan, outcome),
    },
  });
  return problemResponse(c, error);
}
