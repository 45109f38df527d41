import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { reportMeteredUsage } from "../../src/billing/metering/metering";
import { stripeClient } from "../../src/billing/stripe/stripe-client";
import { parseConfig } from "../../src/config";
import { usageDaily } from "../../src/db/schema/usage-daily";
import type { AccountRecord } from "../../src/keys/records";
import { rollupUsage } from "../../src/usage/rollup";
import { formatCounterField } from "../../src/usage/usage-counters";
import {
  billingEventsOf,
  deliverOk,
  PRO,
  PRO_USAGE,
  stripe,
  stripeCustomerAccount,
  subscribe as subscribeInStripe,
} from "./billing-support";
import { accountRow, admin, createKey, redis, type StripeCall, stripeCalls, withDatabase } from "./support";

// Issue 14, item 3: usage carries the tier it was made in, and metering bills exactly the `ok` requests made
// while a metered plan applied, whenever the job runs. Counters are written as the edge writes them (HINCRBY
// on the day hash, field formatCounterField, tier read from the account record the edge decides with);
// upgrades and cancellations are made in the local Stripe and its signed events delivered; the meter events are those the local Stripe
// stand-in recorded.

const config = parseConfig(env);
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

/** What the scheduled job does for usage, in its order: roll Redis up into Postgres, then report. */
async function runJob(now = new Date()) {
  return withDatabase(async (db) => {
    await rollupUsage({ db, redis });
    return reportMeteredUsage(
      { db, stripe: stripeClient(config), meterEventName: config.stripeMeterEventName },
      now,
    );
  });
}

/**
 * Counts `requests` `ok` requests of a key as the edge does: HINCRBY of the day hash's field, tagged with the
 * tier of the account record in Redis (the record the edge decides under).
 */
async function serve(keyId: string, accountId: string, requests: number, day = dayOf(Date.now())) {
  const record = await redis.get<AccountRecord>(`gw:acct:${accountId}`);
  if (!record) throw new Error(`no account record in Redis for ${accountId}`);
  const field = formatCounterField({ keyId, accountId, outcome: "ok", tier: record.tier });
  // In batches, as isolates flush: several HINCRBYs of one field add up.
  for (let left = requests; left > 0; left -= 7)
    await redis.hincrby(`gw:usage:${day}`, field, Math.min(7, left));
  return record.tier;
}

/** A free account with a key and a Stripe customer (as after a first Checkout). */
async function freeCustomer() {
  const { account, customer } = await stripeCustomerAccount();
  const key = await createKey(account.id, { name: "metered" });
  return { account, keyId: key.id, customer };
}

/** Delivers the customer's events the gateway has not been sent yet, as Stripe would. */
const delivered = new Set<string>();
async function deliverNew(customer: string) {
  for (const event of await billingEventsOf(customer)) {
    if (delivered.has(event.id)) continue;
    delivered.add(event.id);
    await deliverOk(event);
  }
}

async function subscribe(customer: string): Promise<Stripe.Subscription> {
  const subscription = await subscribeInStripe(customer, [PRO, PRO_USAGE]);
  await deliverNew(customer);
  return subscription;
}

async function cancel(subscription: Stripe.Subscription) {
  await stripe.subscriptions.cancel(subscription.id);
  await deliverNew(subscription.customer as string);
}

/** Meter events the stand-in accepted for a customer. */
async function acceptedEvents(customer: string): Promise<StripeCall[]> {
  return (await stripeCalls()).filter(
    (call) =>
      call.path === "/v1/billing/meter_events" &&
      call.status === 200 &&
      (call.params.payload as Record<string, string> | undefined)?.stripe_customer_id === customer,
  );
}
const billed = async (customer: string) =>
  (await acceptedEvents(customer)).reduce(
    (sum, call) => sum + Number((call.params.payload as { value: string }).value),
    0,
  );

describe("metering by the tier usage was made in", () => {
  it("upgrade mid-day: 30 requests while free and 5 while pro bill 5, with the job run before, between and after", async () => {
    const { account, keyId, customer } = await freeCustomer();
    const today = dayOf(Date.now());

    await runJob();
    expect(await serve(keyId, account.id, 30)).toBe("free");
    await runJob();
    expect(await billed(customer)).toBe(0);

    await subscribe(customer);
    expect((await accountRow(account.id)).tier).toBe("pro");
    await runJob(); // upgraded, no pro request yet: the 30 free ones stay unbilled
    expect(await billed(customer)).toBe(0);

    expect(await serve(keyId, account.id, 5)).toBe("pro");
    await runJob();
    expect(await billed(customer)).toBe(5);
    await runJob();
    const events = await acceptedEvents(customer);
    expect(events.map((call) => call.params.identifier)).toEqual([`${account.id}:${today}:0-5`]);

    // The usage API still shows every request, summed over the tiers they were made in.
    const usage = await admin(`/accounts/${account.id}/usage?from=${today}&to=${today}`);
    expect(usage.status).toBe(200);
    const body = (await usage.json()) as { total: Array<{ day: string; ok: number; total: number }> };
    expect(body.total).toEqual([expect.objectContaining({ day: today, ok: 35, total: 35 })]);
  });

  it("cancellation before the job: 20 requests while pro are billed 20, and later free ones are not", async () => {
    const { account, keyId, customer } = await freeCustomer();
    const subscription = await subscribe(customer);
    expect(await serve(keyId, account.id, 20)).toBe("pro");
    await cancel(subscription);
    const cancelled = await accountRow(account.id);
    expect(cancelled).toMatchObject({ tier: "free", stripeCustomerId: customer });
    expect(await serve(keyId, account.id, 9)).toBe("free");

    await runJob();
    expect(await billed(customer)).toBe(20);
    await runJob();
    expect(await acceptedEvents(customer)).toHaveLength(1);
  });

  it("free, upgrade, cancel and upgrade again in one day: every run, and a rerun, bills the pro requests so far", async () => {
    const { account, keyId, customer } = await freeCustomer();
    const today = dayOf(Date.now());
    const runAndExpect = async (total: number) => {
      await runJob();
      expect(await billed(customer)).toBe(total);
    };

    await runAndExpect(0);
    await serve(keyId, account.id, 30); // free
    await runAndExpect(0);
    const first = await subscribe(customer);
    await runAndExpect(0);
    await serve(keyId, account.id, 5); // pro
    await runAndExpect(5);
    await cancel(first);
    await runAndExpect(5);
    await serve(keyId, account.id, 11); // free again
    await runAndExpect(5);
    await subscribe(customer);
    await serve(keyId, account.id, 4); // pro again
    await runAndExpect(9);
    await runAndExpect(9);

    expect((await acceptedEvents(customer)).map((call) => call.params.identifier)).toEqual([
      `${account.id}:${today}:0-5`,
      `${account.id}:${today}:5-9`,
    ]);
    const rows = await withDatabase((db) =>
      db
        .select({ tier: usageDaily.tier, count: usageDaily.count })
        .from(usageDaily)
        .where(and(eq(usageDaily.accountId, account.id), eq(usageDaily.day, today)))
        .orderBy(usageDaily.tier),
    );
    expect(rows).toEqual([
      { tier: "free", count: 41 },
      { tier: "pro", count: 9 },
    ]);
  });

  it("counts of a past day are billed by their tier when a late run catches up after the cancellation", async () => {
    const { account, keyId, customer } = await freeCustomer();
    const subscription = await subscribe(customer);
    const yesterday = dayOf(Date.now() - 86_400_000);
    await serve(keyId, account.id, 13, yesterday);
    await cancel(subscription);
    await runJob();
    const events = await acceptedEvents(customer);
    expect(events.map((call) => [call.params.identifier, call.params.timestamp])).toEqual([
      [`${account.id}:${yesterday}:0-13`, String(Date.parse(`${yesterday}T23:59:59Z`) / 1000)],
    ]);
  });

  it("old 3-part counters (made before usage carried its tier) still roll up, once, and bill by the tier now", async () => {
    const { account, keyId, customer } = await freeCustomer();
    await subscribe(customer);
    const day = dayOf(Date.now());
    // An isolate of the previous release writes the old field; one of this release the new one, the same day.
    await redis.hincrby(`gw:usage:${day}`, `${keyId}|${account.id}|ok`, 6);
    await serve(keyId, account.id, 3);
    await runJob();
    await runJob();
    expect(await billed(customer)).toBe(6 + 3);
    const rows = await withDatabase((db) =>
      db
        .select({ tier: usageDaily.tier, count: usageDaily.count })
        .from(usageDaily)
        .where(and(eq(usageDaily.accountId, account.id), eq(usageDaily.day, day)))
        .orderBy(usageDaily.tier),
    );
    expect(rows).toEqual([
      { tier: "", count: 6 },
      { tier: "pro", count: 3 },
    ]);
  });
});
