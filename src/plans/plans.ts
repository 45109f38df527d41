import { z } from "zod";

/**
 * Plans as code: the one definition of every tier. The limiter, the Stripe webhook, the portal's pricing
 * table and the OpenAPI description all read it. It is validated when the worker loads, so a bad edit fails
 * at deploy time (the dry-run bundle check in CI) rather than on a customer's request.
 */
const planSchema = z.object({
  name: z.string().min(1),
  /** Sliding-window rate limit per key. */
  rateLimit: z.object({
    requests: z.number().int().positive(),
    windowSeconds: z.number().int().min(1).max(86_400),
  }),
  /** Optional token bucket on top of the window: short bursts above the average rate. */
  burst: z
    .object({ capacity: z.number().int().positive(), refillPerSecond: z.number().int().positive() })
    .optional(),
  /** Requests per calendar month (UTC), shared by all keys of an account. */
  monthlyQuota: z.number().int().positive(),
  /**
   * Stripe price ids that buy this tier, per key environment (KEY_ENVIRONMENT). Checkout sells the first;
   * the others (older prices, grandfathered customers) still map to the tier when a subscription carries them.
   */
  stripePriceIds: z.object({ test: z.array(z.string()), live: z.array(z.string()) }),
  /** Usage is reported to Stripe Billing meter events. */
  metered: z.boolean().default(false),
  /**
   * Billing: metered prices (attached to the Stripe meter of STRIPE_METER_EVENT_NAME) that bill the reported
   * usage. Checkout adds the first next to the tier's price; only metered plans may have them.
   */
  stripeMeteredPriceIds: z
    .object({ test: z.array(z.string()), live: z.array(z.string()) })
    .default({ test: [], live: [] }),
  display: z.object({ price: z.string(), summary: z.string(), features: z.array(z.string()) }),
});

export type Plan = z.infer<typeof planSchema>;

export const tierIds = ["free", "basic", "pro"] as const;
export type TierId = (typeof tierIds)[number];

const definitions: Record<TierId, z.input<typeof planSchema>> = {
  free: {
    name: "Free",
    rateLimit: { requests: 60, windowSeconds: 60 },
    monthlyQuota: 10_000,
    stripePriceIds: { test: [], live: [] },
    display: {
      price: "$0",
      summary: "To try the API",
      features: ["60 requests a minute", "10,000 requests a month"],
    },
  },
  basic: {
    name: "Basic",
    rateLimit: { requests: 600, windowSeconds: 60 },
    burst: { capacity: 100, refillPerSecond: 20 },
    monthlyQuota: 250_000,
    stripePriceIds: { test: ["price_basic_test"], live: [] },
    display: {
      price: "$19/month",
      summary: "For side projects in production",
      features: ["600 requests a minute", "bursts of 100", "250,000 requests a month"],
    },
  },
  pro: {
    name: "Pro",
    rateLimit: { requests: 6000, windowSeconds: 60 },
    burst: { capacity: 1000, refillPerSecond: 200 },
    monthlyQuota: 5_000_000,
    stripePriceIds: { test: ["price_pro_test"], live: [] },
    metered: true,
    stripeMeteredPriceIds: { test: ["price_pro_usage_test"], live: [] },
    display: {
      price: "$99/month + usage",
      summary: "For businesses",
      features: ["6,000 requests a minute", "bursts of 1,000", "5,000,000 requests a month"],
    },
  },
};

const STRIPE_PRICE_ID = /^price_[A-Za-z0-9_]+$/;
const environments = ["test", "live"] as const;
export type PriceEnvironment = (typeof environments)[number];

/** Every Stripe price a plan lists, with the environment and list it is in. */
function pricesOf(plan: Plan) {
  return environments.flatMap((environment) => [
    ...plan.stripePriceIds[environment].map((price) => ({ price, environment, metered: false })),
    ...plan.stripeMeteredPriceIds[environment].map((price) => ({ price, environment, metered: true })),
  ]);
}

/** Parses and cross-checks plan definitions; throws naming every problem. Exported for tests of bad plans. */
export function validatePlans(input: Record<string, unknown>): Record<string, Plan> {
  const plans = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), planSchema).parse(input);
  const owners = new Map<string, string>();
  for (const [tier, plan] of Object.entries(plans)) {
    for (const { price, environment, metered } of pricesOf(plan)) {
      if (!STRIPE_PRICE_ID.test(price)) throw new Error(`${tier}: "${price}" is not a Stripe price id`);
      const owner = owners.get(price);
      if (owner) throw new Error(`Stripe price ${price} is mapped to both ${owner} and ${tier}`);
      owners.set(price, tier);
      if (metered && !plan.metered)
        throw new Error(`${tier}: metered price ${price} on a plan that is not metered`);
      if (metered && plan.stripePriceIds[environment].length === 0)
        throw new Error(
          `${tier}: metered price ${price} without a price for the tier itself (${environment})`,
        );
    }
  }
  if (!("free" in plans)) throw new Error('a "free" plan is required: accounts fall back to it');
  if (pricesOf(plans.free as Plan).length > 0) throw new Error("the free plan cannot have Stripe prices");
  return plans;
}

/**
 * Which tier a Stripe price buys in an environment; undefined for a price no plan lists (or another
 * environment's price). The webhook derives tiers from this, never from what a client claims.
 */
export function tierForPrice(priceId: string, environment: PriceEnvironment): TierId | undefined {
  return priceIndex[environment].get(priceId);
}

/**
 * The tier a subscription item's price buys when it is a plan's BASE price; undefined for a metered price
 * (usage is billed by it, but it never decides a tier) and for a price no plan lists.
 */
export function basePriceTier(priceId: string, environment: PriceEnvironment): TierId | undefined {
  return basePriceIndex[environment].get(priceId);
}

/** Whether a price is one of the plans' metered prices (in `environment`). */
export function isMeteredPrice(priceId: string, environment: PriceEnvironment): boolean {
  const tier = priceIndex[environment].get(priceId);
  return tier !== undefined && basePriceIndex[environment].get(priceId) === undefined;
}

/** Orders tiers by what they grant: free 0, then in `tierIds` order (a higher tier grants more). */
export function tierRank(tier: TierId): number {
  return tierIds.indexOf(tier);
}

/** What Checkout sells for a tier: its price, plus its metered price for metered tiers. */
export function checkoutPrices(
  tier: TierId,
  environment: PriceEnvironment,
): { price: string; metered?: string } | undefined {
  const plan = plans[tier];
  const price = plan.stripePriceIds[environment][0];
  if (!price) return undefined;
  const metered = plan.stripeMeteredPriceIds[environment][0];
  return metered ? { price, metered } : { price };
}

/** Tiers Checkout can sell in an environment (those with a price there). */
export function purchasableTiers(environment: PriceEnvironment): TierId[] {
  return tierIds.filter((tier) => checkoutPrices(tier, environment) !== undefined);
}

export const plans = validatePlans(definitions) as Record<TierId, Plan>;

/** Price -> tier per environment, built once from the validated plans (all prices, and base prices only). */
const priceIndex: Record<PriceEnvironment, Map<string, TierId>> = { test: new Map(), live: new Map() };
const basePriceIndex: Record<PriceEnvironment, Map<string, TierId>> = { test: new Map(), live: new Map() };
for (const tier of tierIds) {
  for (const { price, environment, metered } of pricesOf(plans[tier])) {
    priceIndex[environment].set(price, tier);
    if (!metered) basePriceIndex[environment].set(price, tier);
  }
}

export function isTierId(value: string): value is TierId {
  return (tierIds as readonly string[]).includes(value);
}

/** The plan of a tier; an unknown tier (e.g. removed from the code) falls back to free, never to no limit. */
export function planFor(tier: string): Plan {
  return isTierId(tier) ? plans[tier] : plans.free;
}
