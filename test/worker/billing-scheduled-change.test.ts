import { and, eq } from "drizzle-orm";
import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { auditEvents } from "../../src/db/schema/audit-events";
import {
  advancePeriod,
  BASIC,
  billingEventsOf,
  deliverOk,
  PRO,
  PRO_USAGE,
  planChange,
  portalSubscriber,
  stripe,
  subscriber,
} from "./billing-support";
import {
  ADMIN_TOKEN,
  accountRow,
  admin,
  deliverStripeEvent,
  gatewayWith,
  portalApi,
  portalDeveloper,
  problemOf,
  redis,
  type TestStripeEvent,
  withDatabase,
} from "./support";

// Downgrades at the period's end (PLAN_DOWNGRADE_TIMING, default period_end) through Stripe's subscription
// schedules, driven on the stand-in with the stripe package; the period's end arrives by the stand-in's test
// clock (/__standin/subscriptions/:id/advance), and its signed events are delivered to the webhook.

const pricesOf = async (subscriptionId: string) =>
  (await stripe.subscriptions.retrieve(subscriptionId)).items.data.map((item) => item.price.id).sort();

/** Events recorded for the customer since `since` (event ids), oldest first. */
async function newEvents(customer: string, seen: Set<string>): Promise<TestStripeEvent[]> {
  return (await billingEventsOf(customer)).filter((event) => !seen.has(event.id));
}

const auditsOf = (accountId: string, action: "account.tier_changed" | "subscription.metered_price_added") =>
  withDatabase((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.accountId, accountId), eq(auditEvents.action, action))),
  );

async function deliverConcurrently(event: TestStripeEvent, times: number) {
  const responses = await Promise.all(Array.from({ length: times }, () => deliverStripeEvent(event)));
  const bodies = await Promise.all(
    responses.map((response) => response.json() as Promise<{ status: string }>),
  );
  expect(responses.map((response) => response.status)).toEqual(Array(times).fill(200));
  return bodies.map((body) => body.status);
}

describe("downgrade at the period's end (subscription schedule)", () => {
  it("pro -> basic waits for the period's end; the phase change applies basic once under 20 concurrent deliveries", async () => {
    const { account, customer, subscription } = await subscriber([PRO, PRO_USAGE]);
    const periodEnd = subscription.items.data[0]?.current_period_end as number;

    const preview = await planChange(account.id, { tier: "basic", preview: true });
    expect(preview.status, await preview.clone().text()).toBe(200);
    expect(await preview.json()).toMatchObject({
      effective: "period_end",
      effectiveAt: new Date(periodEnd * 1000).toISOString(),
      billed: "next_invoice",
      amountDue: 1900,
    });

    const applied = await planChange(account.id, { tier: "basic" });
    expect(applied.status, await applied.clone().text()).toBe(200);
    expect(await applied.json()).toMatchObject({ effective: "period_end", tier: "pro", to: "basic" });
    // Stripe's own mechanism: a schedule whose next phase holds the basic price; the current items stay.
    const scheduled = await stripe.subscriptions.retrieve(subscription.id, { expand: ["schedule"] });
    const schedule = scheduled.schedule as Stripe.SubscriptionSchedule;
    expect(schedule.status).toBe("active");
    expect(schedule.phases.map((phase) => phase.items.map((item) => item.price))).toEqual([
      [PRO, PRO_USAGE],
      [BASIC],
    ]);
    expect(await pricesOf(subscription.id)).toEqual([PRO, PRO_USAGE].sort());
    expect(await accountRow(account.id)).toMatchObject({
      tier: "pro",
      scheduledTier: "basic",
      scheduledChangeAt: new Date(periodEnd * 1000),
    });
    const detail = (await (await admin(`/accounts/${account.id}`)).json()) as {
      subscription: { scheduledTier: string; scheduledChangeAt: string };
    };
    expect(detail.subscription).toMatchObject({
      scheduledTier: "basic",
      scheduledChangeAt: new Date(periodEnd * 1000).toISOString(),
    });

    // The schedule's own events change nothing yet: the current phase's price decides the tier.
    const seen = new Set<string>();
    for (const event of await billingEventsOf(customer)) {
      seen.add(event.id);
      await deliverOk(event);
    }
    expect((await accountRow(account.id)).tier).toBe("pro");

    await advancePeriod(subscription.id);
    expect(await pricesOf(subscription.id)).toEqual([BASIC]);
    const events = await newEvents(customer, seen);
    const phaseChange = events.find(
      (event) =>
        event.type === "customer.subscription.updated" &&
        (event.data as { previous_attributes?: { items?: unknown } }).previous_attributes?.items,
    ) as TestStripeEvent;
    expect(phaseChange, events.map((event) => event.type).join(", ")).toBeDefined();
    expect(events.map((event) => event.type)).toContain("subscription_schedule.updated");

    const statuses = await deliverConcurrently(phaseChange, 20);
    expect(statuses.filter((status) => status === "processed")).toHaveLength(1);
    expect(statuses.filter((status) => status === "duplicate")).toHaveLength(19);
    expect(await accountRow(account.id)).toMatchObject({
      tier: "basic",
      subscribedTier: "basic",
      scheduledTier: null,
      scheduledChangeAt: null,
    });
    const changes = (await auditsOf(account.id, "account.tier_changed")).filter(
      (audit) => audit.actorId === phaseChange.id,
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]?.data).toMatchObject({ from: "pro", to: "basic" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "basic" });
  });

  it("cancelling the pending change releases the schedule: the plan is kept past the period's end", async () => {
    const { account, subscription } = await subscriber([PRO, PRO_USAGE]);
    expect((await planChange(account.id, { tier: "basic" })).status).toBe(200);
    const cancelled = await admin(`/accounts/${account.id}/plan-change`, { method: "DELETE" });
    expect(cancelled.status, await cancelled.clone().text()).toBe(200);
    expect(await cancelled.json()).toEqual({ tier: "pro", scheduledTier: null });
    const kept = await stripe.subscriptions.retrieve(subscription.id);
    expect(kept.schedule).toBeNull();
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro", scheduledTier: null });
    await advancePeriod(subscription.id);
    expect(await pricesOf(subscription.id)).toEqual([PRO, PRO_USAGE].sort());

    const again = await admin(`/accounts/${account.id}/plan-change`, { method: "DELETE" });
    expect(again.status).toBe(409);
  });

  it("cancel to free waits for the period's end (cancel_at_period_end), then the account is free", async () => {
    const { account, customer, subscription } = await subscriber([BASIC]);
    const applied = await planChange(account.id, { tier: "free" });
    expect(applied.status, await applied.clone().text()).toBe(200);
    expect(await applied.json()).toMatchObject({ effective: "period_end", tier: "basic", to: "free" });
    expect((await stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic", scheduledTier: "free" });
    await advancePeriod(subscription.id);
    for (const event of await billingEventsOf(customer)) await deliverOk(event);
    expect(await accountRow(account.id)).toMatchObject({ tier: "free", scheduledTier: null });
  });

  it("an upgrade supersedes a pending downgrade and applies at once", async () => {
    const { account, subscription } = await subscriber([PRO, PRO_USAGE]);
    expect((await planChange(account.id, { tier: "basic" })).status).toBe(200);
    // Nothing to upgrade to from pro but pro itself: the current plan is refused, the schedule stays.
    expect((await planChange(account.id, { tier: "pro" })).status).toBe(409);
    expect((await stripe.subscriptions.retrieve(subscription.id)).schedule).not.toBeNull();
    // Cancel to free replaces the scheduled basic: the schedule is released, cancel at period end set.
    expect((await planChange(account.id, { tier: "free" })).status).toBe(200);
    const now = await stripe.subscriptions.retrieve(subscription.id);
    expect(now.schedule).toBeNull();
    expect(now.cancel_at_period_end).toBe(true);
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro", scheduledTier: "free" });
  });

  it("with PLAN_DOWNGRADE_TIMING=immediately a downgrade applies at once, prorated", async () => {
    const { account, subscription } = await subscriber([PRO, PRO_USAGE]);
    const response = await gatewayWith(
      { PLAN_DOWNGRADE_TIMING: "immediately" },
      `/admin/v1/accounts/${account.id}/plan-change`,
      {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ tier: "basic" }),
      },
    );
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ effective: "now", tier: "basic" });
    expect(await pricesOf(subscription.id)).toEqual([BASIC]);
    expect((await stripe.subscriptions.retrieve(subscription.id)).schedule).toBeNull();
  });
});

describe("a subscription lacking its plan's metered price", () => {
  it("is repaired once (idempotency key per subscription and price) under 20 concurrent deliveries; earlier usage is billed", async () => {
    const { account, customer, subscription } = await subscriber([BASIC]);
    const seen = new Set((await billingEventsOf(customer)).map((event) => event.id));
    // Usage reported to the meter before the repair (as the metering job does for a pro account).
    await stripe.billing.meterEvents.create({
      event_name: "api_requests",
      identifier: `${account.id}:before-repair`,
      payload: { stripe_customer_id: customer, value: "250" },
    });
    // A basic -> pro move made in Stripe's billing portal: the base price swapped, no usage price added.
    const base = subscription.items.data[0] as Stripe.SubscriptionItem;
    await stripe.subscriptions.update(subscription.id, { items: [{ id: base.id, price: PRO }] });
    const moved = (await newEvents(customer, seen)).find(
      (event) => event.type === "customer.subscription.updated",
    ) as TestStripeEvent;

    const statuses = await deliverConcurrently(moved, 20);
    expect(statuses.filter((status) => status === "processed")).toHaveLength(1);
    expect(await pricesOf(subscription.id)).toEqual([PRO, PRO_USAGE].sort());
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro" });
    const repairs = await auditsOf(account.id, "subscription.metered_price_added");
    expect(repairs).toHaveLength(1);
    expect(repairs[0]).toMatchObject({ targetId: subscription.id, data: { price: PRO_USAGE } });

    // A retry of the same repair (Stripe's idempotency) adds nothing: the first answer is replayed.
    const key = `metered-price:${subscription.id}:${PRO_USAGE}`;
    await stripe.subscriptions.update(
      subscription.id,
      { items: [{ price: PRO_USAGE }], proration_behavior: "none" },
      { idempotencyKey: key },
    );
    expect(await pricesOf(subscription.id)).toEqual([PRO, PRO_USAGE].sort());

    // The next invoice bills the usage reported before the item existed.
    await advancePeriod(subscription.id);
    const renewal = await stripe.invoices.retrieve(
      (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string,
    );
    const usageLine = renewal.lines.data.find((line) => line.description?.includes("usage"));
    expect(usageLine?.quantity).toBe(250);
  });

  it("a later event finds the item present and asks Stripe for nothing", async () => {
    const { account, customer } = await subscriber([PRO, PRO_USAGE]);
    for (const event of await billingEventsOf(customer))
      await deliverOk({ ...event, id: `${event.id}_again` });
    expect(await auditsOf(account.id, "subscription.metered_price_added")).toHaveLength(0);
  });
});

describe("plan changes in the portal JSON API", () => {
  it("previews, upgrades at once, schedules a downgrade, shows it, and cancels it", async () => {
    const { client, accountId, subscription } = await portalSubscriber([BASIC]);
    const preview = await portalApi(client, "/billing/plan-change/preview", {
      method: "POST",
      json: { tier: "pro" },
    });
    expect(preview.status, await preview.clone().text()).toBe(200);
    const previewed = (await preview.json()) as {
      amountDue: number;
      prorationDate: number;
      effective: string;
    };
    expect(previewed).toMatchObject({ effective: "now", billed: "now", from: "basic", to: "pro" });

    const upgraded = await portalApi(client, "/billing/plan-change", {
      method: "POST",
      json: { tier: "pro", prorationDate: previewed.prorationDate },
    });
    expect(upgraded.status, await upgraded.clone().text()).toBe(200);
    expect(await upgraded.json()).toMatchObject({ effective: "now", tier: "pro" });
    const invoice = await stripe.invoices.retrieve(
      (await stripe.subscriptions.retrieve(subscription.id)).latest_invoice as string,
    );
    expect(invoice.amount_paid).toBe(previewed.amountDue);

    const downgraded = await portalApi(client, "/billing/plan-change", {
      method: "POST",
      json: { tier: "basic" },
    });
    expect(await downgraded.json()).toMatchObject({ effective: "period_end", tier: "pro", to: "basic" });
    const billing = (await (await portalApi(client, "/billing")).json()) as {
      scheduledChange: { tier: string; at: string } | null;
    };
    expect(billing.scheduledChange).toMatchObject({ tier: "basic" });
    const page = await (await client.fetch("/portal/billing")).text();
    expect(page).toContain("Changes to Basic on");
    expect(page).toContain('action="/portal/billing/change/cancel"');

    const cancelled = await portalApi(client, "/billing/plan-change", { method: "DELETE" });
    expect(cancelled.status, await cancelled.clone().text()).toBe(200);
    expect(await cancelled.json()).toEqual({ tier: "pro", scheduledChange: null });
    expect((await accountRow(accountId)).scheduledTier).toBeNull();
  });

  it("answers problem+json: 409 without a subscription, 400 for an unknown plan, 403 without the CSRF token", async () => {
    const { client } = await portalDeveloper();
    const none = await portalApi(client, "/billing/plan-change/preview", {
      method: "POST",
      json: { tier: "pro" },
    });
    expect(none.status).toBe(409);
    expect(none.headers.get("Content-Type")).toContain("application/problem+json");
    expect((await problemOf(none)).detail).toMatch(/no subscription/);
    const unknown = await portalApi(client, "/billing/plan-change", {
      method: "POST",
      json: { tier: "gold" },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("Content-Type")).toContain("application/problem+json");
    const nothingPending = await portalApi(client, "/billing/plan-change", { method: "DELETE" });
    expect(nothingPending.status).toBe(409);
    const forged = await client.fetch("/portal/api/billing/plan-change", {
      method: "POST",
      json: { tier: "basic" },
    });
    expect(forged.status).toBe(403);
  });
});
