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
  /** Stripe price ids that buy this tier, per key environment. */
  stripePriceIds: z.object({ test: z.array(z.string()), live: z.array(z.string()) }),
  /** Usage is reported to Stripe Billing meter events. */
  metered: z.boolean().default(false),
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
    display: {
      price: "$99/month + usage",
      summary: "For businesses",
      features: ["6,000 requests a minute", "bursts of 1,000", "5,000,000 requests a month"],
    },
  },
};

/** Parses and cross-checks plan definitions; throws naming every problem. Exported for tests of bad plans. */
export function validatePlans(input: Record<string, unknown>): Record<string, Plan> {
  const plans = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), planSchema).parse(input);
  const owners = new Map<string, string>();
  for (const [tier, plan] of Object.entries(plans)) {
    for (const price of [...plan.stripePriceIds.test, ...plan.stripePriceIds.live]) {
      const owner = owners.get(price);
      if (owner) throw new Error(`Stripe price ${price} is mapped to both ${owner} and ${tier}`);
      owners.set(price, tier);
    }
  }
  if (!("free" in plans)) throw new Error('a "free" plan is required: accounts fall back to it');
  return plans;
}

export const plans = validatePlans(definitions) as Record<TierId, Plan>;

export function isTierId(value: string): value is TierId {
  return (tierIds as readonly string[]).includes(value);
}

/** The plan of a tier; an unknown tier (e.g. removed from the code) falls back to free, never to no limit. */
export function planFor(tier: string): Plan {
  return isTierId(tier) ? plans[tier] : plans.free;
}
