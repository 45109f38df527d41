import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { stripeClient } from "../../src/billing/stripe/stripe-client";
import { expirePastDueAccounts } from "../../src/billing/webhooks/past-due";
import { parseConfig } from "../../src/config";
import { auditEvents } from "../../src/db/schema/audit-events";
import {
  advancePeriod,
  BASIC,
  billingEventsOf,
  CARD_DECLINED,
  CARD_OK,
  deliverOk,
  stripe,
  stripeCustomerAccount,
  subscribe,
} from "./billing-support";
import { accountRow, deliverStripeEvent, redis, withDatabase } from "./support";

// The grace period of a failing payment: the tier is kept for PAST_DUE_GRACE_DAYS (counted from the unpaid
// invoice's creation, as Stripe has it), then the scheduled job re-reads the customer from Stripe and drops
// the tier, and a payment brings it back. The job is called with a `now` past the grace period.

const DAY_MS = 86_400_000;

const expire = (now: Date) =>
  withDatabase((db) =>
    expirePastDueAccounts(
      { db, redis, stripe: stripeClient(parseConfig(env)), environment: "test", pastDueGraceDays: 7 },
      now,
    ),
  );

const tierAudits = (accountId: string) =>
  withDatabase((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), eq(auditEvents.action, "account.tier_changed"))),
  );

/** A basic account whose renewal has just failed, with every event delivered. */
async function pastDueAccount(overrides?: { PAST_DUE_GRACE_DAYS: string }) {
  const { account, customer } = await stripeCustomerAccount();
  const subscription = await subscribe(customer, [BASIC]);
  await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_DECLINED } });
  await advancePeriod(subscription.id);
  for (const event of await billingEventsOf(customer)) {
    const response = await deliverStripeEvent(event, overrides ? { overrides } : {});
    expect(response.status).toBe(200);
  }
  return { account, customer, subscription };
}

describe("past due: the grace period", () => {
  it("keeps the tier during the grace period, drops to free after it, and restores it on payment", async () => {
    const { account, customer, subscription } = await pastDueAccount();
    const row = await accountRow(account.id);
    expect(row).toMatchObject({ tier: "basic", subscriptionStatus: "past_due" });
    const since = row.pastDueSince as Date;

    expect((await expire(new Date(since.getTime() + 6 * DAY_MS))).expired).toBe(0);
    expect((await accountRow(account.id)).tier).toBe("basic");

    await expire(new Date(since.getTime() + 7 * DAY_MS + 1000));
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscriptionStatus: "past_due" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "free" });
    expect((await tierAudits(account.id)).map((audit) => audit.data)).toContainEqual(
      expect.objectContaining({ from: "basic", to: "free" }),
    );
    // A second run finds nothing more to do.
    await expire(new Date(since.getTime() + 7 * DAY_MS + 2000));
    expect(
      (await tierAudits(account.id)).filter((audit) => (audit.data as { to: string }).to === "free"),
    ).toHaveLength(1);

    const open = (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string;
    await stripe.invoices.pay(open, { payment_method: CARD_OK });
    const paid = (await billingEventsOf(customer)).filter((event) => event.type === "invoice.paid").at(-1);
    await deliverOk(paid as NonNullable<typeof paid>);
    expect(await accountRow(account.id)).toMatchObject({
      tier: "basic",
      pastDueSince: null,
      subscriptionStatus: "active",
    });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "basic" });
  });

  it("reads the grace period from PAST_DUE_GRACE_DAYS: with 0 days a failure applies as free at once", async () => {
    const { account } = await pastDueAccount({ PAST_DUE_GRACE_DAYS: "0" });
    expect(await accountRow(account.id)).toMatchObject({
      tier: "free",
      subscribedTier: "basic",
      subscriptionStatus: "past_due",
    });
  });
});
