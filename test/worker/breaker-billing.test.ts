import { describe, expect, it } from "vitest";
import { BASIC, PRO, portalSubscriber, stripe } from "./billing-support";
import { accountRow, portalApi } from "./support";

// The portal's plan-change routes tried as a careless or hostile client would (issue 15): bad bodies, and
// changes made while another is pending.

const post = (json: unknown) => ({ method: "POST", json });

describe("plan-change routes refuse bad input with problem+json", () => {
  it("wrong types, unknown plans, extra fields, bad JSON, wrong media type and a missing CSRF token", async () => {
    const { client, accountId } = await portalSubscriber([BASIC]);
    const cases: Array<[string, RequestInit & { json?: unknown }, number]> = [
      ["date as string", post({ tier: "pro", prorationDate: "1700000000" }), 400],
      ["date as float", post({ tier: "pro", prorationDate: 1.5 }), 400],
      ["date beyond safe integers", post({ tier: "pro", prorationDate: 1e16 }), 400],
      ["tier as number", post({ tier: 2 }), 400],
      ["tier null", post({ tier: null }), 400],
      ["tier in capitals", post({ tier: "PRO" }), 400],
      ["tier __proto__", post({ tier: "__proto__" }), 400],
      ["unknown field", post({ tier: "pro", coupon: "FREE" }), 400],
      ["array body", post([{ tier: "pro" }]), 400],
      ["empty object", post({}), 400],
      ["string body", post("pro"), 400],
      [
        "malformed JSON",
        { method: "POST", headers: { "Content-Type": "application/json" }, body: "{tier:" },
        400,
      ],
      ["no body", { method: "POST", headers: { "Content-Type": "application/json" } }, 400],
      [
        "text/plain",
        { method: "POST", headers: { "Content-Type": "text/plain" }, body: '{"tier":"pro"}' },
        415,
      ],
      ["no Content-Type", { method: "POST", body: '{"tier":"pro"}' }, 415],
      ["wrong CSRF token", { method: "POST", headers: { "X-CSRF-Token": "x" }, json: { tier: "pro" } }, 403],
    ];
    for (const path of ["/billing/plan-change", "/billing/plan-change/preview"]) {
      for (const [name, init, status] of cases) {
        const response = await portalApi(client, path, init);
        expect(response.status, `${path} ${name}`).toBe(status);
        expect(response.headers.get("Content-Type"), `${path} ${name}`).toBe("application/problem+json");
        const requestId = response.headers.get("X-Request-Id");
        expect(requestId, `${path} ${name}`).toBeTruthy();
        expect((await response.json()) as { requestId: string }).toMatchObject({ requestId });
      }
    }
    // Nothing of it changed the subscription.
    expect((await accountRow(accountId)).tier).toBe("basic");
  });
});

describe("plan changes in sequence (PLAN_DOWNGRADE_TIMING=period_end)", () => {
  it("downgrade twice, keep pro, go to free, back to basic, cancel: one pending change at a time", async () => {
    const { client, subscription, accountId } = await portalSubscriber([PRO]);
    const state = async () => {
      const sub = await stripe.subscriptions.retrieve(subscription.id);
      const row = await accountRow(accountId);
      return {
        schedule: sub.schedule !== null,
        cancelAtPeriodEnd: sub.cancel_at_period_end,
        tier: row.tier,
        scheduledTier: row.scheduledTier,
      };
    };
    const change = (json: unknown) => portalApi(client, "/billing/plan-change", post(json));
    const pendingBasic = { schedule: true, cancelAtPeriodEnd: false, tier: "pro", scheduledTier: "basic" };

    expect((await change({ tier: "basic" })).status).toBe(200);
    expect(await state()).toEqual(pendingBasic);
    // The same downgrade again replaces the pending one: still exactly one schedule.
    expect((await change({ tier: "basic" })).status).toBe(200);
    expect(await state()).toEqual(pendingBasic);
    const customer = (await accountRow(accountId)).stripeCustomerId as string;
    const active = (await stripe.subscriptionSchedules.list({ customer })).data.filter(
      (schedule) => schedule.status === "active" || schedule.status === "not_started",
    );
    expect(active).toHaveLength(1);
    // The current plan is a 409 problem, not a change.
    const same = await change({ tier: "pro" });
    expect(same.status).toBe(409);
    expect(same.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await state()).toEqual(pendingBasic);
    // To free at the period's end: the schedule is released, the cancel is pending.
    expect((await change({ tier: "free" })).status).toBe(200);
    expect(await state()).toEqual({
      schedule: false,
      cancelAtPeriodEnd: true,
      tier: "pro",
      scheduledTier: "free",
    });
    // Checkout refuses while the subscription runs.
    expect((await portalApi(client, "/billing/checkout", post({ tier: "pro" }))).status).toBe(409);
    // Back to basic: the cancel is dropped, the downgrade scheduled.
    expect((await change({ tier: "basic" })).status).toBe(200);
    expect(await state()).toEqual(pendingBasic);
    // Cancelling the pending change keeps pro; a second cancel finds nothing pending.
    expect((await portalApi(client, "/billing/plan-change", { method: "DELETE" })).status).toBe(200);
    expect(await state()).toEqual({
      schedule: false,
      cancelAtPeriodEnd: false,
      tier: "pro",
      scheduledTier: null,
    });
    expect((await portalApi(client, "/billing/plan-change", { method: "DELETE" })).status).toBe(409);
  });
});
