import { plans, tierIds } from "../../../src/plans/plans.ts";

/**
 * The stand-in's prices, in Stripe's price shape. Real Stripe knows prices because someone created them in
 * the Dashboard (docs/DEPLOY.md); the stand-in is seeded with the ones plans.ts names so that Checkout,
 * subscriptions and invoice previews have amounts. Base prices bill `display.price`'s dollar amount a month;
 * metered prices bill per unit reported to the meter (a local, illustrative rate).
 */
export interface StandinPrice {
  id: string;
  object: "price";
  active: boolean;
  currency: string;
  product: string;
  nickname: string;
  type: "recurring";
  unit_amount: number | null;
  unit_amount_decimal: string;
  recurring: {
    interval: "month";
    interval_count: 1;
    usage_type: "licensed" | "metered";
    meter: string | null;
  };
  livemode: boolean;
}

/** Cents per metered unit in the local catalog: $0.0001 a request. */
const METERED_UNIT_CENTS = "0.01";

export function catalogFromPlans(meterId = "mtr_local_api_requests"): StandinPrice[] {
  const prices: StandinPrice[] = [];
  for (const tier of tierIds) {
    const plan = plans[tier];
    const dollars = /\$(\d+(?:\.\d+)?)/.exec(plan.display.price)?.[1];
    const cents = Math.round(Number(dollars ?? 0) * 100);
    for (const environment of ["test", "live"] as const) {
      for (const id of plan.stripePriceIds[environment]) {
        prices.push(
          price(id, `prod_${tier}`, `${plan.name} (monthly)`, environment, cents, "licensed", null),
        );
      }
      for (const id of plan.stripeMeteredPriceIds[environment]) {
        prices.push(
          price(id, `prod_${tier}_usage`, `${plan.name} usage`, environment, null, "metered", meterId),
        );
      }
    }
  }
  return prices;
}

function price(
  id: string,
  product: string,
  nickname: string,
  environment: "test" | "live",
  cents: number | null,
  usageType: "licensed" | "metered",
  meter: string | null,
): StandinPrice {
  return {
    id,
    object: "price",
    active: true,
    currency: "usd",
    product,
    nickname,
    type: "recurring",
    unit_amount: cents,
    unit_amount_decimal: cents === null ? METERED_UNIT_CENTS : String(cents),
    recurring: { interval: "month", interval_count: 1, usage_type: usageType, meter },
    livemode: environment === "live",
  };
}
