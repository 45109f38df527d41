import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { accounts } from "../../src/db/schema/accounts";
import {
  BASIC,
  billingEventsOf,
  deliverOk,
  PRO,
  PRO_USAGE,
  planChange,
  stripe,
  stripeCustomerAccount,
  subscribe,
  subscriber,
} from "./billing-support";
import {
  ADMIN_TOKEN,
  accountRow,
  gatewayWith,
  portalDeveloper,
  problemOf,
  redis,
  withDatabase,
} from "./support";

// Plan changes through the Subscriptions API: the base price swapped, the metered price added or removed,
// prorated, with Stripe's invoice preview first. The charge equals the preview (same proration_date).

/** The same call with PLAN_DOWNGRADE_TIMING=immediately (the default, period_end: billing-scheduled-change). */
const planChangeNow = (accountId: string, json: Record<string, unknown>) =>
  gatewayWith({ PLAN_DOWNGRADE_TIMING: "immediately" }, `/admin/v1/accounts/${accountId}/plan-change`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(json),
  });

describe("plan changes (admin API)", () => {
  it("basic -> pro: previews the prorated charge, then charges exactly it and applies pro at once", async () => {
    const { account, subscription } = await subscriber([BASIC]);
    const previewResponse = await planChange(account.id, { tier: "pro", preview: true });
    expect(previewResponse.status, await previewResponse.clone().text()).toBe(200);
    const preview = (await previewResponse.json()) as {
      amountDue: number;
      billed: string;
      prorationDate: number;
      lines: Array<{ description: string; amount: number }>;
      applied: boolean;
    };
    expect(preview).toMatchObject({ applied: false, billed: "now", from: "basic", to: "pro" });
    // A $19 -> $99 move on the first day of the month: about $80.
    expect(preview.amountDue).toBeGreaterThan(7900);
    expect(preview.amountDue).toBeLessThanOrEqual(8000);
    expect(preview.lines.map((line) => line.description).join("\n")).toMatch(/Unused time on Basic/);
    expect((await accountRow(account.id)).tier).toBe("basic");

    const applied = await planChange(account.id, { tier: "pro", prorationDate: preview.prorationDate });
    expect(applied.status, await applied.clone().text()).toBe(200);
    expect(await applied.json()).toMatchObject({
      from: "basic",
      to: "pro",
      applied: true,
      effective: "now",
      tier: "pro",
    });
    const updated = await stripe.subscriptions.retrieve(subscription.id);
    expect(updated.items.data.map((item) => item.price.id).sort()).toEqual([PRO, PRO_USAGE].sort());
    const invoice = await stripe.invoices.retrieve(updated.latest_invoice as string);
    expect(invoice).toMatchObject({ status: "paid", amount_paid: preview.amountDue });
    expect(await accountRow(account.id)).toMatchObject({ tier: "pro", subscribedTier: "pro" });
    expect(await redis.get(`gw:acct:${account.id}`)).toMatchObject({ tier: "pro" });
  });

  it("pro -> basic: removes the metered price, credits the unused time on the next invoice", async () => {
    const { account, subscription } = await subscriber([PRO, PRO_USAGE]);
    const preview = (await (await planChangeNow(account.id, { tier: "basic", preview: true })).json()) as {
      billed: string;
      lines: Array<{ amount: number }>;
    };
    expect(preview.billed).toBe("next_invoice");
    expect(preview.lines.some((line) => line.amount < 0)).toBe(true);
    const applied = await planChangeNow(account.id, { tier: "basic" });
    expect(applied.status, await applied.clone().text()).toBe(200);
    const updated = await stripe.subscriptions.retrieve(subscription.id);
    expect(updated.items.data.map((item) => item.price.id)).toEqual([BASIC]);
    expect(await accountRow(account.id)).toMatchObject({ tier: "basic" });
  });

  it("refuses without a running subscription, and for the plan already held (409)", async () => {
    const { account } = await stripeCustomerAccount();
    const none = await planChange(account.id, { tier: "pro" });
    expect(none.status).toBe(409);
    expect((await problemOf(none)).detail).toMatch(/no subscription/);
    const { account: subscribed } = await subscriber([BASIC]);
    const same = await planChange(subscribed.id, { tier: "basic", preview: true });
    expect(same.status).toBe(409);
    const unknown = await planChange(subscribed.id, { tier: "gold" });
    expect(unknown.status).toBe(400);
  });
});

describe("plan changes (portal)", () => {
  it("shows Change plan to a subscriber, the preview's amount, and applies it on Confirm", async () => {
    const { client, accountId, email } = await portalDeveloper();
    const customer = await stripe.customers.create({
      email,
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    await withDatabase((db) =>
      db.update(accounts).set({ stripeCustomerId: customer.id }).where(eq(accounts.id, accountId)),
    );
    await subscribe(customer.id, [BASIC]);
    for (const event of await billingEventsOf(customer.id)) await deliverOk(event);

    const billing = await (await client.fetch("/portal/billing")).text();
    expect(billing).toContain('href="/portal/billing/change?tier=pro"');
    expect(billing).not.toContain('action="/portal/billing/checkout"');
    const page = await client.fetch("/portal/billing/change?tier=pro");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/Charged now: <strong>\$(79|80)\.\d\d<\/strong>/);
    const prorationDate = /name="prorationDate" value="(\d+)"/.exec(html)?.[1] as string;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    const confirmed = await client.fetch("/portal/billing/change", {
      method: "POST",
      form: { _csrf: csrf, tier: "pro", prorationDate },
    });
    expect(confirmed.status, await confirmed.clone().text()).toBe(303);
    expect(confirmed.headers.get("Location")).toBe("/portal/billing?changed=pro");
    expect((await accountRow(accountId)).tier).toBe("pro");
  });
});
