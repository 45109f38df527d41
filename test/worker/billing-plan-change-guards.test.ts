import { describe, expect, it } from "vitest";
import { PRORATION_DATE_MAX_AGE_SECONDS, prorationDateProblem } from "../../src/billing/checkout/plan-change";
import { BASIC, PRO, portalSubscriber, stripe } from "./billing-support";
import { accountRow, admin, portalApi, problemOf } from "./support";

// What a customer could do to the plan-change routes that the tester found (issue 15): choose their own
// proration date, double-submit a change, and ask for the current plan while a downgrade is pending.

const post = (json: unknown) => ({ method: "POST", json });
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe("a plan change accepts only a proration date a recent preview gave", () => {
  it("refuses a chosen date (period's end, 1, the future) with 409 'preview again'; the preview's date charges the preview", async () => {
    const { client, accountId, subscription } = await portalSubscriber([BASIC]);
    const periodEnd = subscription.items.data[0]?.current_period_end as number;
    const previewed = await portalApi(client, "/billing/plan-change/preview", post({ tier: "pro" }));
    expect(previewed.status, await previewed.clone().text()).toBe(200);
    const preview = (await previewed.json()) as { amountDue: number; prorationDate: number };
    expect(preview.amountDue).toBeGreaterThan(7900);

    for (const prorationDate of [periodEnd - 60, 1, nowSeconds() + 3600]) {
      const response = await portalApi(client, "/billing/plan-change", post({ tier: "pro", prorationDate }));
      expect(response.status, `prorationDate ${prorationDate}`).toBe(409);
      const problem = await problemOf(response);
      expect(problem.detail, `prorationDate ${prorationDate}`).toMatch(/preview expired.*preview again/i);
      expect(problem.requestId).toBe(response.headers.get("X-Request-Id"));
    }
    // The admin route (trusted, but the same rule).
    const byAdmin = await admin(`/accounts/${accountId}/plan-change`, {
      method: "POST",
      json: { tier: "pro", prorationDate: periodEnd - 60 },
    });
    expect(byAdmin.status).toBe(409);
    expect((await problemOf(byAdmin)).detail).toMatch(/preview again/);

    // Nothing was changed or invoiced by the refused requests.
    expect((await accountRow(accountId)).tier).toBe("basic");
    const held = await stripe.subscriptions.retrieve(subscription.id);
    expect(held.items.data.map((item) => item.price.id)).toEqual([BASIC]);
    expect((await stripe.invoices.list({ subscription: subscription.id })).data).toHaveLength(1);

    const applied = await portalApi(
      client,
      "/billing/plan-change",
      post({ tier: "pro", prorationDate: preview.prorationDate }),
    );
    expect(applied.status, await applied.clone().text()).toBe(200);
    const upgraded = await stripe.subscriptions.retrieve(subscription.id);
    const invoice = await stripe.invoices.retrieve(upgraded.latest_invoice as string);
    expect(invoice).toMatchObject({ status: "paid", amount_paid: preview.amountDue });
  });

  it("judges a date by its age, the clock and the current period", () => {
    const now = new Date("2026-11-15T12:00:00Z");
    const at = Math.floor(now.getTime() / 1000);
    const period = { start: at - 10 * 86_400, end: at + 20 * 86_400 };
    expect(prorationDateProblem(at, period, now)).toBeNull();
    expect(prorationDateProblem(at - PRORATION_DATE_MAX_AGE_SECONDS, period, now)).toBeNull();
    expect(prorationDateProblem(at - PRORATION_DATE_MAX_AGE_SECONDS - 1, period, now)).toMatch(/old/);
    expect(prorationDateProblem(at + 1, period, now)).toMatch(/future/);
    // Recent, but before the period began (it renewed a moment ago): Stripe would refuse it.
    const renewed = { start: at - 30, end: at + 30 * 86_400 };
    expect(prorationDateProblem(at - 60, renewed, now)).toMatch(/current period/);
  });
});

describe("a double-submitted plan change answers 200 or 409, never 502", () => {
  it("pro -> basic twice at once: one schedule, the downgrade pending", async () => {
    const { client, accountId, customer } = await portalSubscriber([PRO]);
    const responses = await Promise.all(
      [1, 2].map(() => portalApi(client, "/billing/plan-change", post({ tier: "basic" }))),
    );
    for (const response of responses)
      expect([200, 409], await response.clone().text()).toContain(response.status);
    expect(responses.some((response) => response.status === 200)).toBe(true);
    const schedules = (await stripe.subscriptionSchedules.list({ customer })).data.filter(
      (schedule) => schedule.status === "active" || schedule.status === "not_started",
    );
    expect(schedules).toHaveLength(1);
    expect(await accountRow(accountId)).toMatchObject({ tier: "pro", scheduledTier: "basic" });

    // Keeping the plan twice at once: one 200, and the other finds nothing pending.
    const kept = await Promise.all(
      [1, 2].map(() => portalApi(client, "/billing/plan-change", { method: "DELETE" })),
    );
    expect(kept.map((response) => response.status).sort()).toEqual([200, 409]);
    expect(await accountRow(accountId)).toMatchObject({ tier: "pro", scheduledTier: null });
  });

  it("basic -> pro twice at once with the preview's date: charged once, the second told it is on pro", async () => {
    const { client, accountId, subscription } = await portalSubscriber([BASIC]);
    const previewed = await portalApi(client, "/billing/plan-change/preview", post({ tier: "pro" }));
    const { prorationDate, amountDue } = (await previewed.json()) as {
      prorationDate: number;
      amountDue: number;
    };
    const responses = await Promise.all(
      [1, 2].map(() => portalApi(client, "/billing/plan-change", post({ tier: "pro", prorationDate }))),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses, await Promise.all(responses.map((r) => r.clone().text())).then(String)).toEqual([
      200, 409,
    ]);
    const refused = responses.find((response) => response.status === 409) as Response;
    expect((await problemOf(refused)).detail).toMatch(/already on the pro plan/);
    expect((await accountRow(accountId)).tier).toBe("pro");
    const invoices = (await stripe.invoices.list({ subscription: subscription.id })).data;
    expect(invoices.filter((invoice) => invoice.billing_reason === "subscription_update")).toEqual([
      expect.objectContaining({ amount_paid: amountDue }),
    ]);
  });
});

describe("asking for the current plan while a downgrade is pending", () => {
  it("409 names the scheduled change, its date, and how to keep the plan (portal and admin)", async () => {
    const { client, accountId } = await portalSubscriber([PRO]);
    expect((await portalApi(client, "/billing/plan-change", post({ tier: "basic" }))).status).toBe(200);
    const row = await accountRow(accountId);
    const at = (row.scheduledChangeAt as Date).toISOString();

    const same = await portalApi(client, "/billing/plan-change", post({ tier: "pro" }));
    expect(same.status).toBe(409);
    const detail = (await problemOf(same)).detail as string;
    expect(detail).toContain(`a change to basic is scheduled for ${at}`);
    expect(detail).toContain("DELETE /portal/api/billing/plan-change");
    expect(detail).toContain("Keep my current plan");

    const byAdmin = await admin(`/accounts/${accountId}/plan-change`, {
      method: "POST",
      json: { tier: "pro" },
    });
    expect(byAdmin.status).toBe(409);
    expect((await problemOf(byAdmin)).detail).toContain(`DELETE /admin/v1/accounts/${accountId}/plan-change`);
    // Still pending: the refusal changed nothing.
    expect(await accountRow(accountId)).toMatchObject({ tier: "pro", scheduledTier: "basic" });
  });
});
