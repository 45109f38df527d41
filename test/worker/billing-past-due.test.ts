import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { expirePastDueAccounts } from "../../src/billing/past-due";
import { auditEvents } from "../../src/db/schema/audit-events";
import { plans } from "../../src/plans/plans";
import {
  accountRow,
  createAccount,
  deliverStripeEvent,
  invoiceObject,
  linkStripeCustomer,
  redis,
  stripeEvent,
  subscriptionObject,
  type TestStripeEvent,
  withDatabase,
} from "./support";

// The grace period of a failing payment: the tier is kept for PAST_DUE_GRACE_DAYS, then the scheduled job
// (expirePastDueAccounts) drops it to free, and a payment brings it back. The job is called with a `now` a
// day ahead, and this test's account went past due 6.5 days ago: other tests' accounts, past due for seconds,
// are not touched by it.

const DAY_S = 86_400;
const PRO = plans.pro.stripePriceIds.test[0] as string;

async function deliver(event: TestStripeEvent, overrides?: { PAST_DUE_GRACE_DAYS: string }) {
  const response = await deliverStripeEvent(event, overrides ? { overrides } : {});
  expect(response.status, await response.clone().text()).toBe(200);
}

const expire = (now: Date) =>
  withDatabase((db) => expirePastDueAccounts({ db, redis, pastDueGraceDays: 7 }, now));

const tierAudits = (accountId: string) =>
  withDatabase((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), eq(auditEvents.action, "account.tier_changed"))),
  );

/** A pro account whose renewal failed `daysAgo` days ago. */
async function pastDueAccount(daysAgo: number, overrides?: { PAST_DUE_GRACE_DAYS: string }) {
  const account = await createAccount("free");
  const customer = await linkStripeCustomer(account.id);
  const subscription = subscriptionObject({ customer, price: PRO });
  const failedAt = Math.floor(Date.now() / 1000 - daysAgo * DAY_S);
  await deliver(
    stripeEvent("customer.subscription.created", subscription, { created: failedAt - 60 }),
    overrides,
  );
  await deliver(
    stripeEvent("invoice.payment_failed", invoiceObject({ customer, subscription: subscription.id }), {
      created: failedAt,
    }),
    overrides,
  );
  return { account, customer, subscription, failedAt };
}

describe("past due: the grace period", () => {
  it("keeps the tier during the grace period, drops to free after it, and restores it on payment", async () => {
    const { account, customer, subscription, failedAt } = await pastDueAccount(6.5);
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro" });
    expect((await accountRow(account.id)).pastDueSince?.getTime()).toBe(failedAt * 1000);

    await expire(new Date());
    expect((await accountRow(account.id)).tier).toBe("pro");

    const result = await expire(new Date(Date.now() + DAY_S * 1000));
    expect(result.expired).toBeGreaterThanOrEqual(1);
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscribedTier: "pro" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "free" });
    const audits = await tierAudits(account.id);
    expect(audits.at(-1)).toMatchObject({
      actorType: "system",
      actorId: "past-due-grace",
      data: { from: "pro", to: "free", reason: "past_due_grace_ended" },
    });

    // Idempotent: a second (or overlapping) run changes nothing more.
    await expire(new Date(Date.now() + DAY_S * 1000));
    expect(await tierAudits(account.id)).toHaveLength(audits.length);

    await deliver(stripeEvent("invoice.paid", invoiceObject({ customer, subscription: subscription.id })));
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro", pastDueSince: null });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "pro" });
  });

  it("reads the grace period from PAST_DUE_GRACE_DAYS: a failure older than it applies as free at once", async () => {
    const grace = { PAST_DUE_GRACE_DAYS: "1" };
    const { account } = await pastDueAccount(2, grace);
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscribedTier: "pro" });
    const recent = await pastDueAccount(0.5, grace);
    expect(await accountRow(recent.account.id)).toMatchObject({ tier: "pro" });
  });
});
