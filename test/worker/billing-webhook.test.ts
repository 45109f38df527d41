import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { afterEach, describe, expect, it, vi } from "vitest";
import { auditEvents } from "../../src/db/schema/audit-events";
import { stripeEvents } from "../../src/db/schema/stripe-events";
import { plans } from "../../src/plans/plans";
import {
  accountRow,
  accountWithKey,
  createAccount,
  deliverStripeEvent,
  gateway,
  invoiceObject,
  linkStripeCustomer,
  problemOf,
  redis,
  seedStripeSubscription,
  stripeCalls,
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
const BASIC = plans.basic.stripePriceIds.test[0] as string;
const PRO = plans.pro.stripePriceIds.test[0] as string;

const storedEvent = (id: string) =>
  withDatabase((db) => db.select().from(stripeEvents).where(eq(stripeEvents.id, id)));
const tierAudits = (accountId: string) =>
  withDatabase((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), eq(auditEvents.action, "account.tier_changed"))),
  );

/** A free account linked to a Stripe customer, as after its first checkout. */
async function customerAccount() {
  const account = await createAccount("free");
  return { account, customer: await linkStripeCustomer(account.id) };
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

describe("stripe webhook: events", () => {
  it("checkout.session.completed links the customer and subscription and sets the tier from the price", async () => {
    const account = await createAccount("free");
    const customer = `cus_checkout${Date.now()}`;
    const subscription = await seedStripeSubscription({ customer, prices: [PRO] });
    const event = stripeEvent("checkout.session.completed", {
      id: `cs_test_${Date.now()}`,
      object: "checkout.session",
      mode: "subscription",
      client_reference_id: account.id,
      customer,
      subscription: subscription.id,
      payment_status: "paid",
      // The price wins over metadata: metadata is only the fallback.
      metadata: { tier: "basic", account_id: account.id },
    });
    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "applied" });

    const row = await accountRow(account.id);
    expect(row).toMatchObject({
      tier: "pro",
      subscribedTier: "pro",
      stripeCustomerId: customer,
      stripeSubscriptionId: subscription.id,
      subscriptionStatus: "active",
      billingEventCreated: event.created,
    });
    const calls = await stripeCalls();
    expect(
      calls.some((call) => call.method === "GET" && call.path === `/v1/subscriptions/${subscription.id}`),
    ).toBe(true);
    const audits = await tierAudits(account.id);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      actorType: "stripe",
      actorId: event.id,
      data: { from: "free", to: "pro" },
    });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ id: account.id, tier: "pro" });
    expect(await storedEvent(event.id)).toMatchObject([{ accountId: account.id, type: event.type }]);
  });

  it("checkout.session.completed falls back to metadata.tier when Stripe does not know the subscription", async () => {
    const account = await createAccount("free");
    const event = stripeEvent("checkout.session.completed", {
      id: `cs_test_${Date.now()}`,
      object: "checkout.session",
      mode: "subscription",
      client_reference_id: account.id,
      customer: `cus_meta${Date.now()}`,
      subscription: `sub_unknown${Date.now()}`,
      payment_status: "paid",
      metadata: { tier: "basic" },
    });
    expect(await deliverOk(event)).toMatchObject({ status: "processed", outcome: "applied" });
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", subscriptionStatus: "active" });
  });

  it("customer.subscription.created and .updated set tier and status from price and status", async () => {
    const { account, customer } = await customerAccount();
    const created = subscriptionObject({ customer, price: BASIC });
    const now = Math.floor(Date.now() / 1000);
    await deliverOk(stripeEvent("customer.subscription.created", created, { created: now }));
    expect(await accountRow(account.id)).toMatchObject({
      tier: "basic",
      subscriptionStatus: "active",
      stripeSubscriptionId: created.id,
    });

    const upgraded = { ...created, items: subscriptionObject({ customer, price: PRO }).items };
    await deliverOk(stripeEvent("customer.subscription.updated", upgraded, { created: now + 1 }));
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro", subscribedTier: "pro" });

    await deliverOk(
      stripeEvent("customer.subscription.updated", { ...upgraded, status: "unpaid" }, { created: now + 2 }),
    );
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscriptionStatus: "unpaid" });
    expect((await tierAudits(account.id)).map((audit) => audit.data)).toEqual([
      { from: "free", to: "basic" },
      { from: "basic", to: "pro" },
      { from: "pro", to: "free" },
    ]);
  });

  it("customer.subscription.deleted drops the account to free", async () => {
    const { account, customer } = await customerAccount();
    const subscription = subscriptionObject({ customer, price: PRO });
    const now = Math.floor(Date.now() / 1000);
    await deliverOk(stripeEvent("customer.subscription.created", subscription, { created: now }));
    expect((await accountRow(account.id)).tier).toBe("pro");
    const deleted = stripeEvent(
      "customer.subscription.deleted",
      { ...subscription, status: "active" },
      {
        created: now + 5,
      },
    );
    expect(await deliverOk(deleted)).toEqual({ status: "processed", outcome: "applied" });
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", subscriptionStatus: "canceled" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "free" });
  });

  it("invoice.payment_failed keeps the tier while past due; invoice.paid clears past due", async () => {
    const { account, customer } = await customerAccount();
    const subscription = subscriptionObject({ customer, price: BASIC });
    const now = Math.floor(Date.now() / 1000);
    await deliverOk(stripeEvent("customer.subscription.created", subscription, { created: now }));
    const invoice = invoiceObject({ customer, subscription: subscription.id });

    await deliverOk(stripeEvent("invoice.payment_failed", invoice, { created: now + 10 }));
    const pastDue = await accountRow(account.id);
    expect(pastDue.tier).toBe("basic");
    expect(pastDue.pastDueSince?.getTime()).toBe((now + 10) * 1000);

    await deliverOk(stripeEvent("invoice.paid", invoice, { created: now + 20 }));
    const paid = await accountRow(account.id);
    expect(paid).toMatchObject({ tier: "basic", pastDueSince: null, paymentEventCreated: now + 20 });
  });

  it("answers processed/no_account for a customer no account has", async () => {
    const event = stripeEvent(
      "customer.subscription.created",
      subscriptionObject({ customer: `cus_nobody${Date.now()}`, price: PRO }),
    );
    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "no_account" });
    expect(await storedEvent(event.id)).toMatchObject([{ accountId: null }]);
  });
});

describe("stripe webhook: exactly once", () => {
  it("applies a redelivered event once and answers 200 both times", async () => {
    const { account, customer } = await customerAccount();
    const event = stripeEvent("customer.subscription.created", subscriptionObject({ customer, price: PRO }));
    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "applied" });
    expect(await deliverOk(event)).toEqual({ status: "duplicate" });
    expect(await tierAudits(account.id)).toHaveLength(1);
  });

  it("applies 20 concurrent deliveries of one event once: one stripe_events row, one audit row", async () => {
    const { account, customer } = await customerAccount();
    const event = stripeEvent(
      "customer.subscription.created",
      subscriptionObject({ customer, price: BASIC }),
    );
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
    const event = stripeEvent("customer.subscription.created", subscriptionObject({ customer, price: PRO }));
    const down = await deliverStripeEvent(event, {
      overrides: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/unreachable" },
    });
    expect(down.status).toBe(500);
    expect(await problemOf(down)).toMatchObject({ type: "/problems/internal", status: 500 });
    expect(await storedEvent(event.id)).toHaveLength(0);
    expect((await accountRow(account.id)).tier).toBe("free");

    expect(await deliverOk(event)).toEqual({ status: "processed", outcome: "applied" });
    expect(await deliverOk(event)).toEqual({ status: "duplicate" });
    expect(await storedEvent(event.id)).toHaveLength(1);
    expect(await tierAudits(account.id)).toHaveLength(1);
    expect((await accountRow(account.id)).tier).toBe("pro");
  });
});

describe("stripe webhook: the edge", () => {
  it("shows a tier change in the very next proxied response's RateLimit-Policy", async () => {
    const { account, key } = await accountWithKey("free");
    const customer = await linkStripeCustomer(account.id);
    const before = await gateway("/v1/hello", withKey(key));
    expect(before.status).toBe(200);
    expect(before.headers.get("RateLimit-Policy")).toContain(`"minute";q=${plans.free.rateLimit.requests};`);

    await deliverOk(
      stripeEvent("customer.subscription.created", subscriptionObject({ customer, price: PRO })),
    );
    const after = await gateway("/v1/hello", withKey(key));
    expect(after.status).toBe(200);
    expect(after.headers.get("RateLimit-Policy")).toContain(`"minute";q=${plans.pro.rateLimit.requests};`);
    expect(after.headers.get("RateLimit-Policy")).toContain(`"month";q=${plans.pro.monthlyQuota};`);
  });

  it("heals a lost Redis publish on redelivery: the duplicate publishes the committed tier", async () => {
    const { account, customer } = await customerAccount();
    const event = stripeEvent(
      "customer.subscription.created",
      subscriptionObject({ customer, price: BASIC }),
    );
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
