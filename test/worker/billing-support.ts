import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import Stripe from "stripe";
import { expect } from "vitest";
import { billingEventTypes } from "../../src/billing/stripe/stripe-facts";
import { accounts } from "../../src/db/schema/accounts";
import { plans } from "../../src/plans/plans";
import {
  admin,
  createAccount,
  deliverStripeEvent,
  portalDeveloper,
  type TestStripeEvent,
  withDatabase,
} from "./support";

// Billing tests drive the local Stripe stand-in with the stripe package, exactly as the gateway does, and
// deliver the events it recorded (GET /v1/events), signed with the gateway's STRIPE_WEBHOOK_SECRET.

export const BASIC = plans.basic.stripePriceIds.test[0] as string;
export const PRO = plans.pro.stripePriceIds.test[0] as string;
export const PRO_USAGE = plans.pro.stripeMeteredPriceIds.test[0] as string;

const base = new URL(env.STRIPE_API_BASE as string);
export const stripe = new Stripe(env.STRIPE_SECRET_KEY as string, {
  httpClient: Stripe.createFetchHttpClient(),
  host: base.hostname,
  port: base.port,
  protocol: base.protocol === "http:" ? "http" : "https",
  telemetry: false,
});

/** Stripe's test payment methods, as the stand-in honours them. */
export const CARD_OK = "pm_card_visa";
export const CARD_DECLINED = "pm_card_chargeCustomerFail";
export const CARD_3DS = "pm_card_authenticationRequired";

/** A free account linked to a real (stand-in) Stripe customer with a working card, as after a Checkout. */
export async function stripeCustomerAccount(card = CARD_OK) {
  const account = await createAccount("free");
  const customer = await stripe.customers.create({
    email: account.email,
    metadata: { account_id: account.id },
    invoice_settings: { default_payment_method: card },
  });
  await withDatabase((db) =>
    db.update(accounts).set({ stripeCustomerId: customer.id }).where(eq(accounts.id, account.id)),
  );
  return { account, customer: customer.id };
}

/** A subscription made through the Subscriptions API (the customer's card decides its first payment). */
export function subscribe(
  customer: string,
  prices: string[],
  extra: Partial<Stripe.SubscriptionCreateParams> = {},
) {
  return stripe.subscriptions.create({
    customer,
    items: prices.map((price) => ({ price })),
    ...extra,
  });
}

/** Not Stripe's API: the stand-in's test clock moves a subscription to the end of its period. */
export async function advancePeriod(subscription: string): Promise<void> {
  const response = await fetch(`${env.STRIPE_API_BASE}/__standin/subscriptions/${subscription}/advance`, {
    method: "POST",
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

const customerOf = (event: Stripe.Event): string | null => {
  const object = event.data.object as {
    id?: string;
    object?: string;
    customer?: string | { id: string } | null;
  };
  if (object.object === "customer") return object.id ?? null;
  const customer = object.customer;
  return typeof customer === "string" ? customer : (customer?.id ?? null);
};

/** The billing events the gateway acts on that Stripe recorded for `customer`, oldest first. */
export async function billingEventsOf(customer: string): Promise<TestStripeEvent[]> {
  const all = await stripe.events.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  return all
    .filter(
      (event) =>
        (billingEventTypes as readonly string[]).includes(event.type) && customerOf(event) === customer,
    )
    .reverse() as unknown as TestStripeEvent[];
}

export async function deliverOk(event: TestStripeEvent): Promise<{ status: string; outcome?: string }> {
  const response = await deliverStripeEvent(event);
  expect(response.status, `${event.type}: ${await response.clone().text()}`).toBe(200);
  return (await response.json()) as { status: string; outcome?: string };
}

/** The same event under a new id: a distinct delivery of the same payload (for replaying an order afresh). */
export const reissued = (event: TestStripeEvent, tag: string): TestStripeEvent => ({
  ...event,
  id: `${event.id}_${tag}`,
});

/** Puts an account's billing columns back to a fresh free account's, keeping its customer. */
export async function resetBillingState(accountId: string): Promise<void> {
  await withDatabase((db) =>
    db
      .update(accounts)
      .set({
        tier: "free",
        subscribedTier: null,
        stripeSubscriptionId: null,
        subscriptionStatus: null,
        pastDueSince: null,
        subscriptionCancelAt: null,
        paymentActionInvoiceId: null,
      })
      .where(eq(accounts.id, accountId)),
  );
}

export function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

/** A subscriber of `prices` (admin-made account) whose events were all delivered. */
export async function subscriber(prices: string[]) {
  const { account, customer } = await stripeCustomerAccount();
  const subscription = await subscribe(customer, prices);
  for (const event of await billingEventsOf(customer)) await deliverOk(event);
  return { account, customer, subscription };
}

/** A portal developer (signed in, CSRF token held) subscribed to `prices`, whose events were all delivered. */
export async function portalSubscriber(prices: string[]) {
  const developer = await portalDeveloper();
  const customer = await stripe.customers.create({
    email: developer.email,
    invoice_settings: { default_payment_method: CARD_OK },
  });
  await withDatabase((db) =>
    db.update(accounts).set({ stripeCustomerId: customer.id }).where(eq(accounts.id, developer.accountId)),
  );
  const subscription = await subscribe(customer.id, prices);
  for (const event of await billingEventsOf(customer.id)) await deliverOk(event);
  return { ...developer, customer: customer.id, subscription };
}

/** POST /admin/v1/accounts/{id}/plan-change. */
export const planChange = (accountId: string, json: Record<string, unknown>) =>
  admin(`/accounts/${accountId}/plan-change`, { method: "POST", json });
