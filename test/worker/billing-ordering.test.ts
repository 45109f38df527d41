import { describe, expect, it } from "vitest";
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
} from "./support";

// Stripe does not promise delivery order. Each case delivers the same events in every order, one account per
// order, and requires the same end state; the pure model (billing-state.test.ts) covers larger sets.

const BASIC = plans.basic.stripePriceIds.test[0] as string;
const PRO = plans.pro.stripePriceIds.test[0] as string;

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

type Scenario = (customer: string, t: number) => Record<string, TestStripeEvent>;

/** Builds the scenario's events for a fresh linked account, delivers them in `order`, returns the account. */
async function deliverInOrder(scenario: Scenario, order: string[]) {
  const account = await createAccount("free");
  const customer = await linkStripeCustomer(account.id);
  const events = scenario(customer, Math.floor(Date.now() / 1000) - 60);
  for (const name of order) {
    const response = await deliverStripeEvent(events[name] as TestStripeEvent);
    expect(response.status, `${name}: ${await response.clone().text()}`).toBe(200);
  }
  return { account, events };
}

const lifecycle: Scenario = (customer, t) => {
  const subscription = subscriptionObject({ customer, price: BASIC });
  const upgraded = { ...subscription, items: subscriptionObject({ customer, price: PRO }).items };
  return {
    created: stripeEvent("customer.subscription.created", subscription, { created: t }),
    updated: stripeEvent("customer.subscription.updated", upgraded, { created: t + 10 }),
    deleted: stripeEvent(
      "customer.subscription.deleted",
      { ...upgraded, status: "canceled" },
      { created: t + 20 },
    ),
  };
};

const dunning: Scenario = (customer, t) => {
  const subscription = subscriptionObject({ customer, price: BASIC });
  const upgraded = { ...subscription, items: subscriptionObject({ customer, price: PRO }).items };
  return {
    created: stripeEvent("customer.subscription.created", subscription, { created: t }),
    updated: stripeEvent("customer.subscription.updated", upgraded, { created: t + 10 }),
    failed: stripeEvent(
      "invoice.payment_failed",
      invoiceObject({ customer, subscription: subscription.id }),
      {
        created: t + 20,
      },
    ),
  };
};

describe("stripe webhook: delivery order", () => {
  it.each(permutations(["created", "updated", "deleted"]))(
    "created/updated/deleted delivered as %s, %s, %s ends canceled and free",
    async (...order: string[]) => {
      const { account, events } = await deliverInOrder(lifecycle, order);
      const deleted = events.deleted as TestStripeEvent;
      const row = await accountRow(account.id);
      expect(row).toMatchObject({
        tier: "free",
        subscriptionStatus: "canceled",
        billingEventCreated: deleted.created,
        stripeSubscriptionId: (deleted.data.object as { id: string }).id,
      });
      expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "free" });
    },
  );

  it.each(permutations(["created", "updated", "failed"]))(
    "created/upgraded/payment failed delivered as %s, %s, %s ends pro and past due",
    async (...order: string[]) => {
      const { account, events } = await deliverInOrder(dunning, order);
      const row = await accountRow(account.id);
      expect(row).toMatchObject({ tier: "pro", subscribedTier: "pro", subscriptionStatus: "active" });
      expect(row.pastDueSince?.getTime()).toBe((events.failed?.created as number) * 1000);
      expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "pro" });
    },
  );

  it.each([
    ["incomplete", "active"],
    ["active", "incomplete"],
  ])(
    "within one second, an activation wins over the incomplete creation (%s first)",
    async (...statuses: string[]) => {
      const account = await createAccount("free");
      const customer = await linkStripeCustomer(account.id);
      const subscription = subscriptionObject({ customer, price: PRO });
      const t = Math.floor(Date.now() / 1000);
      for (const status of statuses) {
        const type =
          status === "incomplete" ? "customer.subscription.created" : "customer.subscription.updated";
        const response = await deliverStripeEvent(
          stripeEvent(type, { ...subscription, status }, { created: t }),
        );
        expect(response.status).toBe(200);
      }
      expect(await accountRow(account.id)).toMatchObject({ tier: "pro", subscriptionStatus: "active" });
    },
  );
});
