import type { Redis } from "@upstash/redis/cloudflare";
import { and, asc, isNotNull, lte, ne } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../../db/client";
import { accounts } from "../../db/schema/accounts";
import type { Logger } from "../../lib/log";
import type { PriceEnvironment } from "../../plans/plans";
import { publishCommittedTier } from "../stripe/account-publish";
import { syncCustomer } from "./customer-sync";

interface PastDueDeps {
  db: Database;
  redis: Redis;
  stripe: Stripe;
  environment: PriceEnvironment;
  /** PAST_DUE_GRACE_DAYS: how long a past-due subscription keeps granting its tier. */
  pastDueGraceDays: number;
  log?: Logger;
}

const DAY_MS = 86_400_000;
/** Accounts per run; the next run (the cron repeats) takes the rest. */
const BATCH = 100;
const PAST_DUE_JOB_ACTOR = { type: "system", id: "past-due-grace" } as const;

/**
 * For the scheduled job: the grace period of a past-due subscription ends without any Stripe event, so
 * accounts whose grace has run out are synced again from Stripe (customer-sync.ts), which drops the tier
 * unless a payment arrived meanwhile (or another subscription grants a tier). Each sync takes the account's
 * row lock, so it never interleaves with a webhook; safe to run twice or concurrently.
 */
export async function expirePastDueAccounts(deps: PastDueDeps, now: Date): Promise<{ expired: number }> {
  const cutoff = new Date(now.getTime() - deps.pastDueGraceDays * DAY_MS);
  const candidates = await deps.db
    .select({ id: accounts.id, customerId: accounts.stripeCustomerId })
    .from(accounts)
    .where(
      and(
        isNotNull(accounts.pastDueSince),
        lte(accounts.pastDueSince, cutoff),
        ne(accounts.tier, "free"),
        isNotNull(accounts.stripeCustomerId),
      ),
    )
    .orderBy(asc(accounts.pastDueSince))
    .limit(BATCH);
  let expired = 0;
  for (const { id, customerId } of candidates) {
    try {
      const result = await syncCustomer(
        {
          db: deps.db,
          stripe: deps.stripe,
          environment: deps.environment,
          graceDays: deps.pastDueGraceDays,
          now,
          log: deps.log,
        },
        { customerId, accountId: id, actor: PAST_DUE_JOB_ACTOR },
      );
      if (result.status === "processed" && result.tierChange) {
        expired += 1;
        await publishCommittedTier(deps.db, deps.redis, id);
      }
    } catch (error) {
      // One account's failure (Stripe unreachable) must not stop the others; the next run retries it.
      deps.log?.warn("past-due resync failed", { accountId: id, error: String(error) });
    }
  }
  if (expired > 0) deps.log?.info("past-due accounts re-derived after grace", { expired });
  return { expired };
}
