import { and, eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { auditEvents } from "../../src/db/schema/audit-events";
import {
  advancePeriod,
  BASIC,
  billingEventsOf,
  CARD_3DS,
  CARD_DECLINED,
  CARD_OK,
  deliverOk,
  PRO,
  PRO_USAGE,
  permutations,
  reissued,
  resetBillingState,
  stripe,
  stripeCustomerAccount,
  subscribe,
} from "./billing-support";
import { accountRow, admin, deliverStripeEvent, redis, type TestStripeEvent, withDatabase } from "./support";

// The numbered inputs of issue 15, each played against the Stripe stand-in through the stripe package, then
// its recorded events delivered signed to the webhook in many orders (every order for up to four events;
// otherwise chronological, reverse and every rotation, so each event is once first and once last). Each
// order starts from a fresh account state and must end in the same tier and status: the gateway re-reads
// the customer's subscriptions from Stripe on every event.

// Up to 24 orders of several deliveries each, on a machine shared with other test runs.
vi.setConfig({ testTimeout: 240_000 });

function ordersOf<T>(events: T[]): T[][] {
  if (events.length <= 4) return permutations(events);
  const rotations = events.map((_, shift) => [...events.slice(shift), ...events.slice(0, shift)]);
  return [[...events].reverse(), ...rotations];
}

interface Expected {
  tier: string;
  subscriptionStatus: string | null;
  stripeSubscriptionId?: string | null;
  pastDue?: boolean;
}

/** Delivers the customer's billing events in every order of `ordersOf`, from a fresh state each time. */
async function expectInEveryOrder(accountId: string, customer: string, expected: Expected) {
  const events = await billingEventsOf(customer);
  await expectInEveryOrderOf(events, accountId, expected);
  return events;
}

/** Returns the account's pastDueSince after the last order. */
async function expectInEveryOrderOf(events: TestStripeEvent[], accountId: string, expected: Expected) {
  expect(events.length).toBeGreaterThan(0);
  const orders = ordersOf(events);
  for (const [index, order] of orders.entries()) {
    await resetBillingState(accountId);
    for (const event of order) await deliverOk(reissued(event, `o${index}`));
    const row = await accountRow(accountId);
    const label = `order ${index}: ${order.map((event) => event.type).join(", ")}`;
    expect({ tier: row.tier, subscriptionStatus: row.subscriptionStatus }, label).toEqual({
      tier: expected.tier,
      subscriptionStatus: expected.subscriptionStatus,
    });
    if (expected.stripeSubscriptionId !== undefined)
      expect(row.stripeSubscriptionId, label).toBe(expected.stripeSubscriptionId);
    if (expected.pastDue !== undefined) expect(row.pastDueSince !== null, label).toBe(expected.pastDue);
  }
  expect(await redis.get(`gw:acct:${accountId}`)).toMatchObject({ tier: expected.tier });
  return (await accountRow(accountId)).pastDueSince;
}

describe("input 1: a second subscription never takes over the account", () => {
  it("cancelling the add-on keeps the paid pro subscription's tier", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const pro = await subscribe(customer, [PRO, PRO_USAGE]);
    const addOn = await subscribe(customer, [BASIC]);
    await stripe.subscriptions.cancel(addOn.id);
    await expectInEveryOrder(account.id, customer, {
      tier: "pro",
      subscriptionStatus: "active",
      stripeSubscriptionId: pro.id,
    });
  });

  it("cancelling the pro subscription leaves the other one's tier, not free", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const pro = await subscribe(customer, [PRO, PRO_USAGE]);
    const basic = await subscribe(customer, [BASIC]);
    await stripe.subscriptions.cancel(pro.id);
    await expectInEveryOrder(account.id, customer, {
      tier: "basic",
      subscriptionStatus: "active",
      stripeSubscriptionId: basic.id,
    });
  });

  it("an abandoned 3-D Secure second subscription (incomplete, then expired) leaves pro active", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const pro = await subscribe(customer, [PRO, PRO_USAGE]);
    const second = await subscribe(customer, [PRO, PRO_USAGE], { default_payment_method: CARD_3DS });
    expect(second.status).toBe("incomplete");
    await advancePeriod(second.id); // 23 hours later Stripe expires it
    expect((await stripe.subscriptions.retrieve(second.id)).status).toBe("incomplete_expired");
    await expectInEveryOrder(account.id, customer, {
      tier: "pro",
      subscriptionStatus: "active",
      stripeSubscriptionId: pro.id,
    });
  });

  it("a failed renewal of the real subscription is seen while a second one exists", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const pro = await subscribe(customer, [PRO, PRO_USAGE]);
    await subscribe(customer, [BASIC]);
    await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_DECLINED } });
    await advancePeriod(pro.id);
    expect((await stripe.subscriptions.retrieve(pro.id)).status).toBe("past_due");
    // Within the grace period the pro tier is kept, and the portal shows the pro subscription past due.
    await expectInEveryOrder(account.id, customer, {
      tier: "pro",
      subscriptionStatus: "past_due",
      stripeSubscriptionId: pro.id,
      pastDue: true,
    });
  });
});

describe("input 2: the base price decides a subscription's tier; metered prices never do", () => {
  it("items [basic, pro] give pro", async () => {
    const { account, customer } = await stripeCustomerAccount();
    await subscribe(customer, [BASIC, PRO]);
    await expectInEveryOrder(account.id, customer, { tier: "pro", subscriptionStatus: "active" });
  });

  it("a subscription holding only the pro metered price grants nothing", async () => {
    const { account, customer } = await stripeCustomerAccount();
    await subscribe(customer, [PRO_USAGE]);
    await expectInEveryOrder(account.id, customer, { tier: "free", subscriptionStatus: "active" });
  });

  it("a pro subscription whose base price was moved to basic (usage item kept) is basic", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const subscription = await subscribe(customer, [PRO, PRO_USAGE]);
    const base = subscription.items.data.find((item) => item.price.id === PRO);
    await stripe.subscriptions.update(subscription.id, { items: [{ id: base?.id, price: BASIC }] });
    await expectInEveryOrder(account.id, customer, { tier: "basic", subscriptionStatus: "active" });
  });
});

describe("input 3: a customer Stripe no longer knows is forgotten, never a permanent 502", () => {
  it("customer.deleted: the account forgets the customer and the next Checkout creates a new one", async () => {
    const { account, customer } = await stripeCustomerAccount();
    await subscribe(customer, [PRO, PRO_USAGE]);
    await stripe.customers.del(customer);
    await expectInEveryOrder(account.id, customer, { tier: "free", subscriptionStatus: null });
    expect((await accountRow(account.id)).stripeCustomerId).toBeNull();
    const checkout = await admin(`/accounts/${account.id}/checkout-session`, {
      method: "POST",
      json: { tier: "pro" },
    });
    expect(checkout.status, await checkout.clone().text()).toBe(201);
    const replaced = (await accountRow(account.id)).stripeCustomerId;
    expect(replaced).toMatch(/^cus_/);
    expect(replaced).not.toBe(customer);
  });

  it("a stored customer id Stripe answers resource_missing for (a reset stand-in) is replaced at Checkout", async () => {
    const { account } = await stripeCustomerAccount();
    const unknown = `cus_forgotten${Date.now()}`;
    await withDatabase(async (db) => {
      const { accounts } = await import("../../src/db/schema/accounts");
      await db.update(accounts).set({ stripeCustomerId: unknown }).where(eq(accounts.id, account.id));
    });
    const portal = await admin(`/accounts/${account.id}/billing-portal-session`, { method: "POST" });
    expect(portal.status).toBe(409);
    expect((await accountRow(account.id)).stripeCustomerId).toBeNull();
    await withDatabase(async (db) => {
      const { accounts } = await import("../../src/db/schema/accounts");
      await db.update(accounts).set({ stripeCustomerId: unknown }).where(eq(accounts.id, account.id));
    });
    const checkout = await admin(`/accounts/${account.id}/checkout-session`, {
      method: "POST",
      json: { tier: "basic" },
    });
    expect(checkout.status, await checkout.clone().text()).toBe(201);
    expect((await accountRow(account.id)).stripeCustomerId).not.toBe(unknown);
  });
});

describe("input 4: snapshots of the same second cannot erase a newer state", () => {
  it("an active and a past_due snapshot with the same `created` end past due, grace clock kept", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const subscription = await subscribe(customer, [BASIC]);
    await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_DECLINED } });
    await advancePeriod(subscription.id);
    const events = await billingEventsOf(customer);
    const second = events[0]?.created as number;
    const sameSecond = events.map((event) => ({ ...event, created: second }));
    expect(sameSecond.map((event) => event.type)).toEqual(
      expect.arrayContaining(["customer.subscription.updated", "invoice.payment_failed", "invoice.paid"]),
    );
    const unpaidSince = await expectInEveryOrderOf(sameSecond, account.id, {
      tier: "basic",
      subscriptionStatus: "past_due",
      pastDue: true,
    });
    const invoice = await stripe.invoices.retrieve(
      (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string,
    );
    expect(unpaidSince?.getTime()).toBe(invoice.created * 1000);
  });
});

describe("input 5: after unpaid, a paid invoice restores the tier", () => {
  it("invoice.paid alone brings an unpaid subscription's tier back", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const subscription = await subscribe(customer, [BASIC]);
    await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_DECLINED } });
    for (let retry = 0; retry < 4; retry++) await advancePeriod(subscription.id);
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe("unpaid");
    const beforePayment = await billingEventsOf(customer);
    await expectInEveryOrder(account.id, customer, { tier: "free", subscriptionStatus: "unpaid" });

    const open = (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string;
    await stripe.invoices.pay(open, { payment_method: CARD_OK });
    const paid = (await billingEventsOf(customer)).filter(
      (event) => event.type === "invoice.paid" && !beforePayment.some((seen) => seen.id === event.id),
    );
    expect(paid).toHaveLength(1);
    expect(await deliverOk(paid[0] as TestStripeEvent)).toEqual({ status: "processed", outcome: "synced" });
    expect(await accountRow(account.id)).toMatchObject({
      tier: "basic",
      subscriptionStatus: "active",
      pastDueSince: null,
    });
  });
});

describe("exactly once, concurrently", () => {
  it("20 concurrent deliveries of each event have one effect: one claim, one audit row per tier change", async () => {
    const { account, customer } = await stripeCustomerAccount();
    const pro = await subscribe(customer, [PRO, PRO_USAGE]);
    await subscribe(customer, [BASIC]);
    await stripe.subscriptions.cancel(pro.id);
    const events = await billingEventsOf(customer);
    for (const event of events) {
      const copy = reissued(event, "c20");
      const answers = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const response = await deliverStripeEvent(copy);
          expect(response.status).toBe(200);
          return ((await response.json()) as { status: string }).status;
        }),
      );
      expect(
        answers.filter((status) => status === "processed"),
        event.type,
      ).toHaveLength(1);
      expect(
        answers.filter((status) => status === "duplicate"),
        event.type,
      ).toHaveLength(19);
    }
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", subscriptionStatus: "active" });
    const audits = await withDatabase((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.accountId, account.id), eq(auditEvents.action, "account.tier_changed"))),
    );
    // free -> basic on the first event (Stripe's state is already final), nothing after.
    expect(audits.map((audit) => audit.data)).toEqual([
      expect.objectContaining({ from: "free", to: "basic" }),
    ]);
  });
});
