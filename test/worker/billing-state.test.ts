import { describe, expect, it } from "vitest";
import {
  applyFact,
  type BillingFact,
  type BillingState,
  effectiveTier,
  hasOngoingSubscription,
} from "../../src/billing/billing-state";

// The rules of src/billing/billing-state.ts without a database: every delivery order of a set of events must
// end in the same state. The webhook tests (billing-webhook, billing-ordering) prove the same end to end.

const T = 1_800_000_000;
const NOW = new Date((T + 100) * 1000);
const GRACE_DAYS = 7;

const fresh: BillingState = {
  tier: "free",
  subscribedTier: null,
  stripeCustomerId: null,
  stripeSubscriptionId: null,
  subscriptionStatus: null,
  billingEventCreated: null,
  paymentEventCreated: null,
  pastDueSince: null,
};

const snapshot = (
  created: number,
  status: string,
  tier: "basic" | "pro" | null,
  id = "sub_1",
): BillingFact => ({
  kind: "subscription",
  created,
  subscriptionId: id,
  customerId: "cus_1",
  status,
  tier,
});
const payment = (created: number, paid: boolean, id = "sub_1"): BillingFact => ({
  kind: "payment",
  created,
  subscriptionId: id,
  customerId: "cus_1",
  paid,
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

function replay(facts: BillingFact[], start: BillingState = fresh, now = NOW): BillingState {
  return facts.reduce((state, fact) => applyFact(state, fact, now, GRACE_DAYS).state, start);
}

/** Every order of `facts` ends in one state, which is returned. */
function finalStateOfEveryOrder(facts: BillingFact[]): BillingState {
  const finals = permutations(facts).map((order) => replay(order));
  const first = finals[0] as BillingState;
  for (const state of finals) expect(state).toEqual(first);
  return first;
}

describe("billing state: any delivery order ends the same", () => {
  it("created, upgraded, payment failed, paid, downgraded: 120 orders, one outcome", () => {
    const final = finalStateOfEveryOrder([
      snapshot(T, "active", "basic"),
      snapshot(T + 10, "active", "pro"),
      payment(T + 20, false),
      payment(T + 30, true),
      snapshot(T + 40, "active", "basic"),
    ]);
    expect(final).toMatchObject({
      tier: "basic",
      subscribedTier: "basic",
      subscriptionStatus: "active",
      stripeSubscriptionId: "sub_1",
      stripeCustomerId: "cus_1",
      billingEventCreated: T + 40,
      paymentEventCreated: T + 40,
      pastDueSince: null,
    });
  });

  it("a newer payment failure survives an older snapshot that says active", () => {
    const final = finalStateOfEveryOrder([
      snapshot(T, "active", "basic"),
      snapshot(T + 10, "active", "pro"),
      payment(T + 20, false),
    ]);
    expect(final).toMatchObject({ tier: "pro", subscriptionStatus: "active" });
    expect(final.pastDueSince).toEqual(new Date((T + 20) * 1000));
  });

  it("a deletion is final whatever arrives after it", () => {
    const final = finalStateOfEveryOrder([
      snapshot(T, "active", "pro"),
      payment(T + 5, true),
      snapshot(T + 10, "past_due", "pro"),
      snapshot(T + 20, "canceled", "pro"),
    ]);
    expect(final).toMatchObject({
      tier: "free",
      subscriptionStatus: "canceled",
      billingEventCreated: T + 20,
    });
  });

  it("within one second, later stages win: incomplete < active < canceled; a payment beats a failure", () => {
    expect(
      finalStateOfEveryOrder([snapshot(T, "incomplete", "pro"), snapshot(T, "active", "pro")]),
    ).toMatchObject({ tier: "pro", subscriptionStatus: "active" });
    expect(
      finalStateOfEveryOrder([snapshot(T, "active", "pro"), snapshot(T, "canceled", "pro")]),
    ).toMatchObject({
      tier: "free",
      subscriptionStatus: "canceled",
    });
    const paidAndFailed = finalStateOfEveryOrder([
      snapshot(T, "active", "pro"),
      payment(T + 5, false),
      payment(T + 5, true),
    ]);
    expect(paidAndFailed.pastDueSince).toBeNull();
  });
});

describe("billing state: single facts", () => {
  it("an older snapshot is stale and changes nothing", () => {
    const state = replay([snapshot(T + 10, "active", "pro")]);
    const result = applyFact(state, snapshot(T, "active", "basic"), NOW, GRACE_DAYS);
    expect(result.outcome).toBe("stale");
    expect(result.state).toEqual(state);
  });

  it("the end of a replaced subscription does not end the current one", () => {
    const state = replay([snapshot(T, "active", "pro", "sub_new")]);
    const result = applyFact(state, snapshot(T + 10, "canceled", "basic", "sub_old"), NOW, GRACE_DAYS);
    expect(result.outcome).toBe("other_subscription");
    expect(result.state.tier).toBe("pro");
  });

  it("a payment event before any subscription is known records past due but leaves the tier alone", () => {
    const admin = { ...fresh, tier: "basic" };
    const result = applyFact(admin, payment(T, false), NOW, GRACE_DAYS);
    expect(result.outcome).toBe("applied");
    expect(result.state.tier).toBe("basic");
    expect(result.state.pastDueSince).toEqual(new Date(T * 1000));
  });

  it("an unmapped price (tier null) gives free, not the previous tier", () => {
    const state = replay([snapshot(T, "active", "pro"), snapshot(T + 10, "active", null)]);
    expect(state.tier).toBe("free");
  });

  it("keeps the first failure's time when payments keep failing (the grace period does not restart)", () => {
    const state = replay([snapshot(T, "active", "pro"), payment(T + 10, false), payment(T + 20, false)]);
    expect(state.pastDueSince).toEqual(new Date((T + 10) * 1000));
  });
});

describe("billing state: effective tier and the grace period", () => {
  const day = 86_400_000;
  const pastDueSince = new Date(T * 1000);
  const base = { subscribedTier: "pro", subscriptionStatus: "past_due", pastDueSince };

  it("keeps the tier for the grace period, then drops to free", () => {
    expect(effectiveTier(base, new Date(pastDueSince.getTime() + 7 * day - 1000), 7)).toBe("pro");
    expect(effectiveTier(base, new Date(pastDueSince.getTime() + 7 * day), 7)).toBe("free");
    expect(effectiveTier(base, new Date(pastDueSince.getTime() + 2 * day), 1)).toBe("free");
  });

  it("grants only for active, trialing and past_due subscriptions of a known tier", () => {
    for (const status of ["active", "trialing"]) {
      expect(effectiveTier({ ...base, subscriptionStatus: status, pastDueSince: null }, NOW, 7)).toBe("pro");
    }
    for (const status of ["incomplete", "incomplete_expired", "unpaid", "canceled", "paused"]) {
      expect(effectiveTier({ ...base, subscriptionStatus: status, pastDueSince: null }, NOW, 7)).toBe("free");
    }
    expect(effectiveTier({ ...base, subscribedTier: "gold", pastDueSince: null }, NOW, 7)).toBe("free");
  });

  it("counts a subscription as ongoing unless it never started or has ended", () => {
    const state = (status: string | null) => ({ stripeSubscriptionId: "sub_1", subscriptionStatus: status });
    expect(hasOngoingSubscription(state("active"))).toBe(true);
    expect(hasOngoingSubscription(state("past_due"))).toBe(true);
    expect(hasOngoingSubscription(state("incomplete"))).toBe(false);
    expect(hasOngoingSubscription(state("canceled"))).toBe(false);
    expect(hasOngoingSubscription({ stripeSubscriptionId: null, subscriptionStatus: null })).toBe(false);
  });
});
