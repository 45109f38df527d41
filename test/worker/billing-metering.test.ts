import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { reportMeteredUsage } from "../../src/billing/metering/metering";
import { stripeClient } from "../../src/billing/stripe/stripe-client";
import { parseConfig } from "../../src/config";
import { meterReports } from "../../src/db/schema/meter-reports";
import { type UsageOutcome, usageDaily } from "../../src/db/schema/usage-daily";
import { createAccount, linkStripeCustomer, type StripeCall, stripeCalls, withDatabase } from "./support";

// Usage of metered tiers reported to Stripe's meter (through the local stand-in, which keeps Stripe's
// identifier deduplication): only `ok` requests, each once, in the day they were made.

const config = parseConfig(env);
const DAY_MS = 86_400_000;
const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

const run = (now: Date, stripe: Stripe = stripeClient(config)) =>
  withDatabase((db) => reportMeteredUsage({ db, stripe, meterEventName: config.stripeMeterEventName }, now));

/** Sets absolute counts, as the rollup does. */
async function setUsage(
  accountId: string,
  rows: Array<{ key: string; day: string; outcome: UsageOutcome; count: number }>,
) {
  await withDatabase((db) =>
    db
      .insert(usageDaily)
      .values(
        rows.map((row) => ({
          keyId: `${accountId}-${row.key}`,
          accountId,
          day: row.day,
          outcome: row.outcome,
          count: row.count,
        })),
      )
      .onConflictDoUpdate({
        target: [usageDaily.keyId, usageDaily.day, usageDaily.outcome, usageDaily.tier],
        set: { count: sql`excluded.count` },
      }),
  );
}

/** Meter events the stand-in received for a customer (accepted and refused). */
async function meterEvents(customer: string): Promise<StripeCall[]> {
  return (await stripeCalls()).filter(
    (call) =>
      call.path === "/v1/billing/meter_events" &&
      (call.params.payload as Record<string, string> | undefined)?.stripe_customer_id === customer,
  );
}
const accepted = async (customer: string) =>
  (await meterEvents(customer)).filter((call) => call.status === 200);
const acceptedTotal = async (customer: string) =>
  (await accepted(customer)).reduce(
    (sum, call) => sum + Number((call.params.payload as { value: string }).value),
    0,
  );

const reportOf = (accountId: string, day: string) =>
  withDatabase(async (db) => {
    const [row] = await db
      .select()
      .from(meterReports)
      .where(and(eq(meterReports.accountId, accountId), eq(meterReports.day, day)));
    return row;
  });

async function meteredAccount(tier = "pro") {
  const account = await createAccount(tier);
  return { account, customer: await linkStripeCustomer(account.id) };
}

describe("metered usage reporting", () => {
  it("reports exactly the ok-count delta per day once, and nothing on a second run", async () => {
    const { account, customer } = await meteredAccount();
    const now = new Date();
    const today = dayOf(now.getTime());
    const yesterday = dayOf(now.getTime() - DAY_MS);
    await setUsage(account.id, [
      { key: "a", day: today, outcome: "ok", count: 120 },
      { key: "b", day: today, outcome: "ok", count: 30 },
      { key: "a", day: today, outcome: "rate_limited", count: 50 },
      { key: "a", day: today, outcome: "quota", count: 7 },
      { key: "a", day: today, outcome: "auth", count: 5 },
      { key: "a", day: yesterday, outcome: "ok", count: 10 },
    ]);

    await run(now);
    const first = await accepted(customer);
    expect(first.map((call) => call.params)).toEqual([
      {
        event_name: "api_requests",
        identifier: `${account.id}:${yesterday}:0-10`,
        timestamp: String(Date.parse(`${yesterday}T23:59:59Z`) / 1000),
        payload: { stripe_customer_id: customer, value: "10" },
      },
      {
        event_name: "api_requests",
        identifier: `${account.id}:${today}:0-150`,
        timestamp: String(Math.floor(now.getTime() / 1000)),
        payload: { stripe_customer_id: customer, value: "150" },
      },
    ]);
    expect(await reportOf(account.id, today)).toMatchObject({ reportedCount: 150, pendingCount: null });

    await run(new Date());
    expect(await meterEvents(customer)).toHaveLength(2);

    await setUsage(account.id, [{ key: "a", day: today, outcome: "ok", count: 170 }]);
    await run(new Date());
    const third = (await accepted(customer)).slice(2);
    expect(
      third.map((call) => [call.params.identifier, (call.params.payload as { value: string }).value]),
    ).toEqual([[`${account.id}:${today}:150-200`, "50"]]);
    expect(await acceptedTotal(customer)).toBe(210);
  });

  it("bills only metered tiers, and only accounts with a Stripe customer", async () => {
    const today = dayOf(Date.now());
    const basic = await meteredAccount("basic");
    await setUsage(basic.account.id, [{ key: "a", day: today, outcome: "ok", count: 40 }]);
    const noCustomer = await createAccount("pro");
    await setUsage(noCustomer.id, [{ key: "a", day: today, outcome: "ok", count: 40 }]);
    await run(new Date());
    expect(await meterEvents(basic.customer)).toHaveLength(0);
    expect(await reportOf(noCustomer.id, today)).toBeUndefined();
  });

  it("resends a frozen attempt unchanged after a lost answer; Stripe's duplicate refusal counts as delivered", async () => {
    const { account, customer } = await meteredAccount();
    const today = dayOf(Date.now());
    await setUsage(account.id, [{ key: "a", day: today, outcome: "ok", count: 60 }]);
    // An earlier run froze 0-40 and Stripe accepted it, but the run died before recording that.
    await withDatabase((db) =>
      db.insert(meterReports).values({ accountId: account.id, day: today, pendingCount: 40 }),
    );
    await stripeClient(config).billing.meterEvents.create({
      event_name: "api_requests",
      identifier: `${account.id}:${today}:0-40`,
      payload: { stripe_customer_id: customer, value: "40" },
    });

    await run(new Date());
    const resent = await meterEvents(customer);
    expect(resent.map((call) => [call.params.identifier, call.status])).toEqual([
      [`${account.id}:${today}:0-40`, 200],
      [`${account.id}:${today}:0-40`, 400],
    ]);
    expect(await reportOf(account.id, today)).toMatchObject({ reportedCount: 40, pendingCount: null });

    await run(new Date());
    expect((await accepted(customer)).map((call) => call.params.identifier)).toEqual([
      `${account.id}:${today}:0-40`,
      `${account.id}:${today}:40-60`,
    ]);
    expect(await acceptedTotal(customer)).toBe(60);
  });

  it("keeps a refused attempt frozen, and the next run sends that same attempt before anything newer", async () => {
    const { account, customer } = await meteredAccount();
    const today = dayOf(Date.now());
    await setUsage(account.id, [{ key: "a", day: today, outcome: "ok", count: 25 }]);
    const refusing = stripeClient({ ...config, stripeSecretKey: "pk_test_notASecretKey" });
    const failed = await run(new Date(), refusing);
    expect(failed.failed).toBeGreaterThanOrEqual(1);
    expect(await reportOf(account.id, today)).toMatchObject({ reportedCount: 0, pendingCount: 25 });

    await setUsage(account.id, [{ key: "a", day: today, outcome: "ok", count: 35 }]);
    await run(new Date());
    await run(new Date());
    expect((await accepted(customer)).map((call) => call.params.identifier)).toEqual([
      `${account.id}:${today}:0-25`,
      `${account.id}:${today}:25-35`,
    ]);
    expect(await acceptedTotal(customer)).toBe(35);
  });
});
