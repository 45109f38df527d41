import { describe, expect, it } from "vitest";
import { deriveEntitlement, type SubscriptionView } from "../../src/billing/webhooks/entitlement";
import { plans } from "../../src/plans/plans";

// The shipped plans' test-mode prices (as test/worker/billing-support.ts names them).
const BASIC = plans.basic.stripePriceIds.test[0] as string;
const PRO = plans.pro.stripePriceIds.test[0] as string;
const PRO_USAGE = plans.pro.stripeMeteredPriceIds.test[0] as string;

// The entitlement rules without I/O (src/billing/webhooks/entitlement.ts): the highest tier any subscription grants,
// base prices decide, metered prices never do, past_due grants only within the grace period.

const NOW = new Date("2026-06-15T12:00:00Z");
const DAY = 86_400_000;
let counter = 0;

function view(prices: string[], status: string, extra: Partial<SubscriptionView> = {}): SubscriptionView {
  counter += 1;
  return {
    id: `sub_${counter}`,
    status,
    created: 1_780_000_000 + counter,
    prices,
    unpaidSince: null,
    cancelAt: null,
    nextPhase: null,
    latestInvoice: null,
    ...extra,
  };
}

const derive = (views: SubscriptionView[], graceDays = 7) => deriveEntitlement(views, "test", NOW, graceDays);

describe("entitlement from all subscriptions", () => {
  it("is free with no subscription", () => {
    expect(derive([])).toEqual({
      tier: "free",
      subscriptionId: null,
      subscriptionStatus: null,
      subscribedTier: null,
      pastDueSince: null,
      subscriptionCancelAt: null,
      scheduledTier: null,
      scheduledChangeAt: null,
    });
  });

  it("names the change a schedule's next phase makes, while the current phase's price decides the tier", () => {
    const at = new Date(NOW.getTime() + 10 * DAY);
    const scheduled = view([PRO, PRO_USAGE], "active", {
      nextPhase: { scheduleId: "sub_sched_1", startsAt: at, prices: [BASIC] },
    });
    expect(derive([scheduled])).toMatchObject({ tier: "pro", scheduledTier: "basic", scheduledChangeAt: at });
    const same = view([BASIC], "active", {
      nextPhase: { scheduleId: "sub_sched_2", startsAt: at, prices: [BASIC] },
    });
    expect(derive([same])).toMatchObject({ tier: "basic", scheduledTier: null, scheduledChangeAt: null });
    const cancelling = view([BASIC], "active", { cancelAt: at });
    expect(derive([cancelling])).toMatchObject({
      tier: "basic",
      scheduledTier: "free",
      scheduledChangeAt: at,
    });
  });

  it("takes the highest granting tier, whatever the order or which one is newer", () => {
    const pro = view([PRO, PRO_USAGE], "active");
    const basic = view([BASIC], "active");
    for (const views of [
      [pro, basic],
      [basic, pro],
    ]) {
      expect(derive(views)).toMatchObject({
        tier: "pro",
        subscriptionId: pro.id,
        subscriptionStatus: "active",
      });
    }
  });

  it("never lets an ended or incomplete subscription take over", () => {
    const pro = view([PRO, PRO_USAGE], "active");
    for (const status of ["incomplete", "incomplete_expired", "canceled", "unpaid", "paused"]) {
      expect(derive([pro, view([PRO], status)]), status).toMatchObject({
        tier: "pro",
        subscriptionId: pro.id,
      });
    }
  });

  it("decides by base prices: [basic, pro] is pro, metered-only is nothing, a swapped base is basic", () => {
    expect(derive([view([BASIC, PRO], "active")]).tier).toBe("pro");
    expect(derive([view([PRO_USAGE], "active")])).toMatchObject({ tier: "free", subscribedTier: null });
    expect(derive([view([BASIC, PRO_USAGE], "active")]).tier).toBe("basic");
    expect(derive([view(["price_unknown"], "active")]).tier).toBe("free");
  });

  it("keeps a past_due subscription's tier for the grace period from its unpaid invoice", () => {
    const since = new Date(NOW.getTime() - 6 * DAY);
    const pastDue = view([PRO], "past_due", { unpaidSince: since });
    expect(derive([pastDue])).toMatchObject({
      tier: "pro",
      subscriptionStatus: "past_due",
      pastDueSince: since,
    });
    expect(derive([pastDue], 6)).toMatchObject({ tier: "free", subscriptionStatus: "past_due" });
    // Beyond grace, another paying subscription still grants its own tier.
    const basic = view([BASIC], "active");
    expect(derive([pastDue, basic], 6)).toMatchObject({
      tier: "basic",
      subscriptionId: basic.id,
      pastDueSince: null,
    });
  });

  it("grants while trialing; shows the newest live subscription when none grants", () => {
    expect(derive([view([BASIC], "trialing")]).tier).toBe("basic");
    const old = view([PRO], "canceled");
    const waiting = view([PRO], "incomplete");
    expect(derive([old, waiting])).toMatchObject({
      tier: "free",
      subscriptionId: waiting.id,
      subscriptionStatus: "incomplete",
    });
    expect(derive([old])).toMatchObject({
      tier: "free",
      subscriptionStatus: "canceled",
      subscriptionCancelAt: null,
    });
  });
});
