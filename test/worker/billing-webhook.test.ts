import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterEach, describe, expect, it, vi } from "vitest";
import { accounts } from "../../src/db/schema/accounts";
import { auditEvents } from "../../src/db/schema/audit-events";
import { stripeEvents } from "../../src/db/schema/stripe-events";
import { plans } from "../../src/plans/plans";
import {
  advancePeriod,
  BASIC,
  billingEventsOf,
  CARD_3DS,
  CARD_OK,
  PRO,
  PRO_USAGE,
  stripe,
  stripeCustomerAccount,
  subscribe,
} from "./billing-support";
import {
  accountRow,
  accountWithKey,
  admin,
  createAccount,
  deliverStripeEvent,
  gateway,
  invoiceObject,
  problemOf,
  redis,
  stripeEvent,
  subscriptionObject,
  type TestStripeEvent,
  withDatabase,
  withKey,
} from "./support";

const SECRET = env.STRIPE_WEBHOOK_SECRET as string;

afterEach(() => {
  vi.restoreAllMocks();
});

const storedEvent = (id: string) =>
  withDatabase((db) => db.select().from(stripeEvents).where(eq(stripeEvents.id, id)));
const tierAudits = (accountId: string) =>
  withDatabase((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), eq(auditEvents.action, "account.tier_changed"))),
  );

/** A free account linked to a Stripe customer (in the stand-in), as after its first checkout. */
const customerAccount = () => stripeCustomerAccount();

/** A real subscription in the stand-in, and the customer.subscription.created event Stripe sent for it. */
async function subscribedEvent(customer: string, price: string): Promise<TestStripeEvent> {
  const subscription = await subscribe(customer, [price]);
  return stripeEvent("customer.subscription.created", subscription as unknown as Record<string, unknown>);
}

async function deliverOk(event: TestStripeEvent) {
  const response = await deliverStripeEvent(event);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { status: string; outcome?: string };
}

describe("stripe webhook: verification", () => {
  it("refuses a missing signature with 400 problem+json and stores nothing", async () => {
    const event = stripeEvent(
      "customer.subscription.updated",
      subscriptionObject({ customer: "cus_x", price: PRO }),
    );
    const response = await gateway("/webhooks/stripe", { method: "POST", body: JSON.stringify(event) });
    expect(response.status).toBe(400);
    const problem = await problemOf(response);
    expect(problem).toMatchObject({ type: "/problems/invalid-webhook", status: 400 });
    expect(problem.requestId).toBe(response.headers.get("X-Request-Id"));
    expect(await storedEvent(event.id)).toHaveLength(0);
  });

  it("refuses a signature made with another secret, or over another body, and never echoes it", async () => {
    const event = stripeEvent(
      "customer.subscription.updated",
      subscriptionObject({ customer: "cus_x", price: PRO }),
    );
    const wrongSecret = await deliverStripeEvent(event, { secret: "whsec_not_the_right_one" });
    expect(wrongSecret.status).toBe(400);
    const payload = JSON.stringify(event);
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: SECRET });
    const tampered = await gateway("/webhooks/stripe", {
      method: "POST",
      headers: { "Stripe-Signature": signature },
      body: payload.replace(PRO, BASIC),
    });
    expect(tampered.status).toBe(400);
    const body = await tampered.text();
    expect(body).toContain("/problems/invalid-webhook");
    expect(body).not.toContain(signature.split(",v1=")[1] as string);
    expect(body).not.toContain(SECRET);
    expect(await storedEvent(event.id)).toHaveLength(0);
  });

  it("refuses a signature older than five minutes (a replayed delivery)", async () => {
    const event = stripeEvent(
      "customer.subscription.updated",
      subscriptionObject({ customer: "cus_x", price: PRO }),
    );
    const payload = JSON.stringify(event);
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret: SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    const response = await gateway("/webhooks/stripe", {
      method: "POST",
      headers: { "Stripe-Signature": signature },
      body: payload,
    });
    expect(response.status).toBe(400);
    expect(await storedEvent(event.id)).toHaveLength(0);
  });

  it("refuses a correctly signed body that is not JSON, or not a Stripe event", async () => {
    const notJson = await deliverStripeEvent("this is not json");
    expect(notJson.status).toBe(400);
    expect((await problemOf(notJson)).detail).toMatch(/not JSON/);
    for (const body of ['{"hello":"world"}', "[1,2,3]", '{"id":"evt_1","object":"event","type":"x"}']) {
      const response = await deliverStripeEvent(body);
      expect(response.status, body).toBe(400);
      expect((await problemOf(response)).detail).toMatch(/not a Stripe event/);
    }
    const shapeless = stripeEvent("customer.subscription.updated", { id: "sub_x", status: "active" });
    const unreadable = await deliverStripeEvent(shapeless);
    expect(unreadable.status).toBe(400);
    expect(await storedEvent(shapeless.id)).toHaveLength(0);
  });

  it("logs neither the webhook secret nor a signature, whether verification fails or succeeds", async () => {
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const { customer } = await customerAccount();
    const event = stripeEvent("customer.subscription.created", subscriptionObject({ customer, price: PRO }));
    const payload = JSON.stringify(event);
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: SECRET });
    const forged = signature.replace(/v1=[0-9a-f]{6}/, "v1=000000");
    for (const header of [forged, signature]) {
      await gateway("/webhooks/stripe", {
        method: "POST",
        headers: { "Stripe-Signature": header },
        body: payload,
      });
    }
    await deliverStripeEvent(event, { overrides: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/down" } });
    const logged = lines.join("\n");
    expect(logged).toContain(event.id);
    for (const secret of [SECRET, signature.split(",v1=")[1] as string, forged.split(",v1=")[1] as string]) {
      expect(logged).not.toContain(secret);
    }
  });

  it("refuses a body larger than any Stripe event with 413 problem+json", async () => {
    const response = await deliverStripeEvent("x".repeat(600 * 1024));
    expect(response.status).toBe(413);
    expect(await problemOf(response)).toMatchObject({ type: "/problems/payload-too-large" });
  });

  it("answers 503 (not 500, not a crash) when STRIPE_WEBHOOK_SECRET is not set", async () => {
    const event = stripeEvent("invoice.paid", invoiceObject({ customer: "cus_x", subscription: "sub_x" }));
    const response = await deliverStripeEvent(event, { overrides: { STRIPE_WEBHOOK_SECRET: "" } });
    expect(response.status).toBe(503);
    expect(await problemOf(response)).toMatchObject({
      type: "/problems/billing-not-configured",
      detail: "STRIPE_WEBHOOK_SECRET is not set.",
    });
  });

  it("acknowledges event types it does not handle, and the other mode's events, without storing them", async () => {
    const unknown = stripeEvent("charge.refunded", { id: "ch_1", object: "charge" });
    expect(await deliverOk(unknown)).toEqual({ status: "ignored" });
    expect(await storedEvent(unknown.id)).toHaveLength(0);

    const { account, customer } = await customerAccount();
    const live = stripeEvent("customer.subscription.created", subscriptionObject({ customer, price: PRO }), {
      livemode: true,
    });
    expect(await deliverOk(live)).toEqual({ status: "ignored" });
    expect((await accountRow(account.id)).tier).toBe("free");
  });
});

describe("stripe webhook: events (from the Stripe stand-in)", () => {
  it("checkout.session.completed from the hosted Checkout page links the subscription and sets pro", async () => {
    const { account, customer } = await customerAccount();
    const checkout = await admin(`/accounts/${account.id}/checkout-session`, {
      method: "POST",
      json: { tier: "pro" },
    });
    expect(checkout.status, await checkout.clone().text()).toBe(201);
    const { url } = (await checkout.json()) as { url: string };
    const paid = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "card=pm_card_visa",
      redirect: "manual",
    });
    expect(paid.status).toBe(303);
    expect(paid.headers.get("Location")).toContain("/portal/billing?checkout=success&session_id=cs_test_");
    const completed = (await billingEventsOf(customer)).find(
      (event) => event.type === "checkout.session.completed",
    );
    expect(await deliverOk(completed as TestStripeEvent)).toEqual({ status: "processed", outcome: "synced" });
    const subscriptions = await stripe.subscriptions.list({ customer });
    expect(subscriptions.data[0]?.items.data.map((item) => item.price.id).sort()).toEqual(
      [PRO, PRO_USAGE].sort(),
    );
    expect(await accountRow(account.id)).toMatchObject({
      tier: "pro",
      subscribedTier: "pro",
      subscriptionStatus: "active",
      stripeSubscriptionId: subscriptions.data[0]?.id,
    });
  });

  it("a 3-D Secure failure on the Checkout page, then the session's expiry, grant nothing", async () => {
    const { account, customer } = await customerAccount();
    const checkout = await admin(`/accounts/${account.id}/checkout-session`, {
      method: "POST",
      json: { tier: "basic" },
    });
    const { id, url } = (await checkout.json()) as { id: string; url: string };
    const failed = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "card=pm_card_authenticationRequired",
    });
    expect(failed.status).toBe(402);
    expect(await failed.text()).toContain("unable to authenticate");
    await stripe.checkout.sessions.expire(id);
    for (const event of await billingEventsOf(customer)) await deliverOk(event);
    expect(await accountRow(account.id)).toMatchObject({
      tier: "free",
      subscriptionStatus: "incomplete_expired",
      paymentActionInvoiceId: null,
    });
  });

  it("invoice.payment_action_required tells the developer until the invoice is paid", async () => {
    const { account, customer } = await customerAccount();
    const subscription = await subscribe(customer, [BASIC]);
    await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_3DS } });
    await advancePeriod(subscription.id);
    const action = (await billingEventsOf(customer)).find(
      (event) => event.type === "invoice.payment_action_required",
    );
    if (!action) throw new Error("no invoice.payment_action_required event");
    await deliverOk(action);
    const invoiceId = (action.data.object as { id: string }).id;
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", paymentActionInvoiceId: invoiceId });
    await stripe.invoices.pay(invoiceId, { payment_method: CARD_OK });
    const paid = (await billingEventsOf(customer)).filter((event) => event.type === "invoice.paid").at(-1);
    await deliverOk(paid as TestStripeEvent);
    // Delivered late, the action event changes nothing: Stripe says the invoice is paid.
    await deliverOk({ ...action, id: `${action.id}_late` });
    expect(await accountRow(account.id)).toMatchObject({
      tier: "basic",
      subscriptionStatus: "active",
      paymentActionInvoiceId: null,
    });
  });

  it("customer.subscription.paused drops a trial without a card to free; resumed restores it", async () => {
    const account = await createAccount("free");
    const customer = (await stripe.customers.create({ email: account.email })).id;
    await withDatabase((db) =>
      db.update(accounts).set({ stripeCustomerId: customer }).where(eq(accounts.id, account.id)),
    );
    const trial = await subscribe(customer, [BASIC], {
      trial_period_days: 14,
      trial_settings: { end_behavior: { missing_payment_method: "pause" } },
    });
    for (const event of await billingEventsOf(customer)) await deliverOk(event);
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", subscriptionStatus: "trialing" });
    await advancePeriod(trial.id);
    const paused = (await billingEventsOf(customer)).find(
      (event) => event.type === "customer.subscription.paused",
    );
    await deliverOk(paused as TestStripeEvent);
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscriptionStatus: "paused" });
    await stripe.customers.update(customer, { invoice_settings: { default_payment_method: CARD_OK } });
    await stripe.subscriptions.resume(trial.id);
    const resumed = (await billingEventsOf(customer)).find(
      (event) => event.type === "customer.subscription.resumed",
    );
    await deliverOk(resumed as TestStripeEvent);
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", subscriptionStatus: "active" });
  });

  it("answers processed/no_account for a customer no account has", async () => {
    const customer = (await stripe.customers.create({ email: "nobody@example.com" })).id;
    await subscribe(customer, [PRO]);
    const created = (await billingEventsOf(customer)).find(
      (event) => event.type === "customer.subscription.created",
    );
    expect(await deliverOk(created as TestStripeEvent)).toEqual({
      status: "processed",
      outcome: "no_account",
    });
  });
});

describe("stripe webhook: exactly once", () => {
  it("applies a redelivered event once and answers 200 both times", async () => {
    const { account, customer } = await customerAccount();
    const event = await subscribedEvent(customer, PRO);
    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "synced" });
    expect(await deliverOk(event)).toEqual({ status: "duplicate" });
    expect(await tierAudits(account.id)).toHaveLength(1);
  });

  it("applies 20 concurrent deliveries of one event once: one stripe_events row, one audit row", async () => {
    const { account, customer } = await customerAccount();
    const event = await subscribedEvent(customer, BASIC);
    const responses = await Promise.all(Array.from({ length: 20 }, () => deliverStripeEvent(event)));
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(200));
    const answers = (await Promise.all(responses.map((response) => response.json()))) as Array<{
      status: string;
    }>;
    expect(answers.filter((answer) => answer.status === "processed")).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === "duplicate")).toHaveLength(19);
    expect(await storedEvent(event.id)).toHaveLength(1);
    expect(await tierAudits(account.id)).toHaveLength(1);
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", subscriptionStatus: "active" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "basic" });
  });

  it("answers 500 while Postgres is down, stores nothing, and applies the redelivery exactly once", async () => {
    const { account, customer } = await customerAccount();
    const event = await subscribedEvent(customer, PRO);
    const down = await deliverStripeEvent(event, {
      overrides: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/unreachable" },
    });
    expect(down.status).toBe(500);
    expect(await problemOf(down)).toMatchObject({ type: "/problems/internal", status: 500 });
    expect(await storedEvent(event.id)).toHaveLength(0);
    expect((await accountRow(account.id)).tier).toBe("free");

    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "synced" });
    expect(await deliverOk(event)).toEqual({ status: "duplicate" });
    expect(await storedEvent(event.id)).toHaveLength(1);
    expect(await tierAudits(account.id)).toHaveLength(1);
    expect((await accountRow(account.id)).tier).toBe("pro");
  });
});

describe("stripe webhook: the edge", () => {
  it("shows a tier change in the very next proxied response's RateLimit-Policy", async () => {
    const { account, key } = await accountWithKey("free");
    const customer = (
      await stripe.customers.create({
        email: account.email,
        invoice_settings: { default_payment_method: CARD_OK },
      })
    ).id;
    await withDatabase((db) =>
      db.update(accounts).set({ stripeCustomerId: customer }).where(eq(accounts.id, account.id)),
    );
    const before = await gateway("/v1/hello", withKey(key));
    expect(before.status).toBe(200);
    expect(before.headers.get("RateLimit-Policy")).toContain(`"minute";q=${plans.free.rateLimit.requests};`);

    await deliverOk(await subscribedEvent(customer, PRO));
    const after = await gateway("/v1/hello", withKey(key));
    expect(after.status).toBe(200);
    expect(after.headers.get("RateLimit-Policy")).toContain(`"minute";q=${plans.pro.rateLimit.requests};`);
    expect(after.headers.get("RateLimit-Policy")).toContain(`"month";q=${plans.pro.monthlyQuota};`);
  });

  it("heals a lost Redis publish on redelivery: the duplicate publishes the committed tier", async () => {
    const { account, customer } = await customerAccount();
    const event = await subscribedEvent(customer, BASIC);
    const failedPublish = await deliverStripeEvent(event, {
      overrides: { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" },
    });
    // Redis unreachable: a 503 (Stripe retries any non-2xx) after the tier was committed in Postgres.
    expect(failedPublish.status).toBe(503);
    expect((await accountRow(account.id)).tier).toBe("basic");
    expect(await redis.get<{ tier: string }>(`gw:acct:${account.id}`)).toMatchObject({ tier: "free" });

    expect(await deliverOk(event)).toEqual({ status: "duplicate" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "basic" });
  });
});
