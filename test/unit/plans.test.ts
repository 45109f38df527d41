import { describe, expect, it } from "vitest";
import {
  checkoutPrices,
  plans,
  purchasableTiers,
  type TierId,
  tierForPrice,
  tierIds,
  validatePlans,
} from "../../src/plans/plans";

// Plans as code: every Stripe price the plans list maps back to its tier (the webhook relies on it), and a bad
// edit fails when the plans load, not on a customer's webhook.

const environments = ["test", "live"] as const;

/** A valid definition to break one field of at a time. */
function definitions(change: (defs: Record<string, Record<string, unknown>>) => void = () => {}) {
  const defs = structuredClone(plans) as unknown as Record<string, Record<string, unknown>>;
  change(defs);
  return defs;
}

describe("plans: Stripe prices", () => {
  it("maps every configured price, in its environment, to the tier that lists it", () => {
    let checked = 0;
    for (const tier of tierIds) {
      for (const environment of environments) {
        const listed = [
          ...plans[tier].stripePriceIds[environment],
          ...plans[tier].stripeMeteredPriceIds[environment],
        ];
        for (const price of listed) {
          expect(tierForPrice(price, environment), `${price} (${environment})`).toBe(tier);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it("maps nothing for an unknown price or another environment's price", () => {
    expect(tierForPrice("price_unknown", "test")).toBeUndefined();
    const testPrice = plans.pro.stripePriceIds.test[0] as string;
    expect(tierForPrice(testPrice, "test")).toBe("pro");
    expect(tierForPrice(testPrice, "live")).toBeUndefined();
  });

  it("sells a tier's first price, plus the metered price of a metered tier", () => {
    expect(checkoutPrices("basic", "test")).toEqual({ price: "price_basic_test" });
    expect(checkoutPrices("pro", "test")).toEqual({
      price: "price_pro_test",
      metered: "price_pro_usage_test",
    });
    expect(checkoutPrices("free", "test")).toBeUndefined();
    expect(purchasableTiers("test")).toEqual(["basic", "pro"] satisfies TierId[]);
  });
});

describe("plans: validation at load", () => {
  it("accepts the shipped plans", () => {
    expect(() => validatePlans(definitions())).not.toThrow();
  });

  it("refuses a price listed by two tiers", () => {
    const defs = definitions((d) => {
      (d.basic as { stripePriceIds: { test: string[] } }).stripePriceIds.test.push("price_pro_test");
    });
    expect(() => validatePlans(defs)).toThrow(/price_pro_test is mapped to both/);
  });

  it("refuses a price listed twice, even by one tier in both environments", () => {
    const defs = definitions((d) => {
      (d.basic as { stripePriceIds: { live: string[] } }).stripePriceIds.live.push("price_basic_test");
    });
    expect(() => validatePlans(defs)).toThrow(/price_basic_test/);
  });

  it("refuses a value that is not a Stripe price id (a product id, a typo)", () => {
    const defs = definitions((d) => {
      (d.pro as { stripePriceIds: { test: string[] } }).stripePriceIds.test = ["prod_Pro"];
    });
    expect(() => validatePlans(defs)).toThrow(/"prod_Pro" is not a Stripe price id/);
  });

  it("refuses a metered price on a plan that is not metered, or without the tier's own price", () => {
    const unmetered = definitions((d) => {
      (d.basic as { stripeMeteredPriceIds: { test: string[] } }).stripeMeteredPriceIds.test = [
        "price_basic_usage",
      ];
    });
    expect(() => validatePlans(unmetered)).toThrow(/not metered/);
    const alone = definitions((d) => {
      (d.pro as { stripePriceIds: { test: string[] } }).stripePriceIds.test = [];
    });
    expect(() => validatePlans(alone)).toThrow(/without a price for the tier itself/);
  });

  it("refuses prices on the free plan", () => {
    const defs = definitions((d) => {
      (d.free as { stripePriceIds: { test: string[] } }).stripePriceIds.test = ["price_free_test"];
    });
    expect(() => validatePlans(defs)).toThrow(/free plan cannot have Stripe prices/);
  });
});
