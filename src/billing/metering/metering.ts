import { and, asc, eq, gte, inArray, isNotNull, lte, or, sql } from "drizzle-orm";
import Stripe from "stripe";
import type { Database } from "../../db/client";
import { accounts } from "../../db/schema/accounts";
import { meterReports } from "../../db/schema/meter-reports";
import { usageDaily } from "../../db/schema/usage-daily";
import type { Logger } from "../../lib/log";
import { plans, tierIds } from "../../plans/plans";

interface MeteringDeps {
  db: Database;
  stripe: Stripe;
  /** STRIPE_METER_EVENT_NAME: the `event_name` of the Stripe meter that bills metered tiers. */
  meterEventName: string;
  log?: Logger;
}

interface MeteringResult {
  /** Meter events Stripe accepted in this run. */
  events: number;
  /** Requests they reported. */
  requests: number;
  /** Attempts that failed; they are retried, unchanged, by the next run. */
  failed: number;
}

const DAY_MS = 86_400_000;
/** Stripe accepts meter events up to 35 days old; a margin for runs that lag. */
const LOOKBACK_DAYS = 32;
/** Stripe calls per run, to stay well inside a Cron Trigger's limits; the next run continues. */
const MAX_EVENTS_PER_RUN = 200;
const CONCURRENCY = 4;

interface Candidate {
  accountId: string;
  day: string;
  customerId: string;
}

interface Attempt {
  from: number;
  to: number;
}

const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * For the scheduled job: reports to Stripe's meter the `ok` requests made while a metered plan applied (the
 * tier usage_daily recorded them under, not the account's tier now: see billable()).
 *
 * usage_daily holds absolute counts per key, day and tier; meter_reports holds, per account and day, how many
 * billable requests Stripe has accepted. Each run sends the difference as one meter event per account and day:
 *   1. claim: under the meter_reports row lock, freeze the attempt (`pending_count` = today's total), or take
 *      over the attempt an earlier run left frozen;
 *   2. send it with the identifier `${account}:${day}:${from}-${to}` and a timestamp inside that day (so the
 *      usage lands in the billing period the requests were made in);
 *   3. only after Stripe accepted: advance `reported_count` to `to`.
 * A crash or a lost answer between 2 and 3 resends the very same event, which Stripe deduplicates by its
 * identifier; an attempt never grows after it was frozen, so no request is ever counted twice.
 */
export async function reportMeteredUsage(deps: MeteringDeps, now: Date): Promise<MeteringResult> {
  const result: MeteringResult = { events: 0, requests: 0, failed: 0 };
  const candidates = await findCandidates(deps.db, now);
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const candidate = candidates[next++] as Candidate;
      try {
        const reported = await reportDay(deps, candidate, now);
        if (reported > 0) {
          result.events += 1;
          result.requests += reported;
        }
      } catch (error) {
        result.failed += 1;
        deps.log?.warn("meter event not accepted; the next run retries it", {
          accountId: candidate.accountId,
          day: candidate.day,
          error:
            error instanceof Stripe.errors.StripeError
              ? { type: error.type, code: error.code }
              : String(error),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return result;
}

const meteredTiers: string[] = tierIds.filter((tier) => plans[tier].metered);

/**
 * The usage_daily rows that are billable: `ok` requests made under a metered tier. A row's tier is the one the
 * requests were decided under, so an upgrade bills only what came after it and a cancellation keeps billing
 * what came before it, whenever the job runs. Rows with tier "" were counted before usage carried its tier
 * (the Redis day hashes of the 40 days before migration 0004): they keep the rule they were made under, the
 * account's tier now, so the cursors in meter_reports, which counted them, stay continuous across the change.
 */
function billable() {
  return and(
    eq(usageDaily.outcome, "ok"),
    or(
      inArray(usageDaily.tier, meteredTiers),
      and(eq(usageDaily.tier, ""), inArray(accounts.tier, meteredTiers)),
    ),
  );
}

/** Account days with billable requests not yet accepted by Stripe, or with an attempt left frozen. */
async function findCandidates(db: Database, now: Date): Promise<Candidate[]> {
  if (meteredTiers.length === 0) return [];
  const okTotal = sql<number>`sum(${usageDaily.count})`;
  const rows = await db
    .select({ accountId: usageDaily.accountId, day: usageDaily.day, customerId: accounts.stripeCustomerId })
    .from(usageDaily)
    .innerJoin(accounts, eq(accounts.id, usageDaily.accountId))
    .leftJoin(
      meterReports,
      and(eq(meterReports.accountId, usageDaily.accountId), eq(meterReports.day, usageDaily.day)),
    )
    .where(
      and(
        billable(),
        gte(usageDaily.day, dayOf(now.getTime() - LOOKBACK_DAYS * DAY_MS)),
        lte(usageDaily.day, dayOf(now.getTime())),
        // The customer the meter events are for; it outlives a cancelled subscription.
        isNotNull(accounts.stripeCustomerId),
      ),
    )
    .groupBy(
      usageDaily.accountId,
      usageDaily.day,
      accounts.stripeCustomerId,
      meterReports.reportedCount,
      meterReports.pendingCount,
    )
    .having(
      sql`${okTotal} > coalesce(${meterReports.reportedCount}, 0) or ${meterReports.pendingCount} is not null`,
    )
    .orderBy(asc(usageDaily.day), asc(usageDaily.accountId))
    .limit(MAX_EVENTS_PER_RUN);
  return rows.flatMap((row) => (row.customerId ? [{ ...row, customerId: row.customerId }] : []));
}

/** Claims, sends and acknowledges one account day; returns the requests Stripe accepted (0: nothing due). */
async function reportDay(deps: MeteringDeps, candidate: Candidate, now: Date): Promise<number> {
  const attempt = await claimAttempt(deps.db, candidate);
  if (!attempt) return 0;
  const identifier = `${candidate.accountId}:${candidate.day}:${attempt.from}-${attempt.to}`;
  try {
    await deps.stripe.billing.meterEvents.create({
      event_name: deps.meterEventName,
      identifier,
      timestamp: timestampWithin(candidate.day, now),
      payload: { stripe_customer_id: candidate.customerId, value: String(attempt.to - attempt.from) },
    });
  } catch (error) {
    if (!isDuplicateIdentifier(error, identifier)) throw error;
    deps.log?.info("meter event was already accepted (duplicate identifier)", { identifier });
  }
  await deps.db
    .update(meterReports)
    .set({ reportedCount: attempt.to, pendingCount: null, updatedAt: new Date() })
    .where(
      and(
        eq(meterReports.accountId, candidate.accountId),
        eq(meterReports.day, candidate.day),
        eq(meterReports.pendingCount, attempt.to),
      ),
    );
  return attempt.to - attempt.from;
}

/**
 * Freezes what to send under the row lock: an attempt an earlier run left pending is taken over unchanged
 * (same identifier), else the difference between the day's `ok` total and what Stripe accepted.
 */
async function claimAttempt(db: Database, candidate: Candidate): Promise<Attempt | undefined> {
  const { accountId, day } = candidate;
  return db.transaction(async (tx) => {
    await tx.insert(meterReports).values({ accountId, day }).onConflictDoNothing();
    const [report] = await tx
      .select()
      .from(meterReports)
      .where(and(eq(meterReports.accountId, accountId), eq(meterReports.day, day)))
      .for("update");
    if (!report) return undefined;
    if (report.pendingCount !== null) return { from: report.reportedCount, to: report.pendingCount };
    const [usage] = await tx
      .select({ total: sql<string | null>`sum(${usageDaily.count})` })
      .from(usageDaily)
      .innerJoin(accounts, eq(accounts.id, usageDaily.accountId))
      .where(and(eq(usageDaily.accountId, accountId), eq(usageDaily.day, day), billable()));
    const total = Number(usage?.total ?? 0);
    // Counts only grow; a smaller total (a rollup correction) cannot be un-billed here.
    if (total <= report.reportedCount) return undefined;
    await tx
      .update(meterReports)
      .set({ pendingCount: total, updatedAt: new Date() })
      .where(and(eq(meterReports.accountId, accountId), eq(meterReports.day, day)));
    return { from: report.reportedCount, to: total };
  });
}

/** The day's last second, or now for today: inside the day, never in the future. */
function timestampWithin(day: string, now: Date): number {
  const endOfDay = Date.parse(`${day}T00:00:00Z`) / 1000 + 86_399;
  return Math.min(endOfDay, Math.floor(now.getTime() / 1000));
}

/**
 * Stripe refuses a meter event whose identifier it has seen in the last 24 hours or more, with a 400
 * ("An event already exists with identifier ..."), rather than answering 200: for an attempt being resent,
 * that refusal means the first send was accepted.
 */
function isDuplicateIdentifier(error: unknown, identifier: string): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    /already exists/i.test(error.message) &&
    error.message.includes(identifier)
  );
}
