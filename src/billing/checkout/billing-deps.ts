import type { Services } from "../../services";
import type { PlanChangeDeps } from "./plan-change";

/**
 * What Checkout, the billing portal and plan changes need, from a request's services (src/services.ts):
 * Stripe, Postgres, the price environment, where Stripe sends the customer back, and the plan-change
 * settings (PLAN_DOWNGRADE_TIMING, PAST_DUE_GRACE_DAYS for the sync that follows a change).
 *
 * Stripe is read first: without STRIPE_SECRET_KEY this throws ApiError `billing_not_configured` (503)
 * before Postgres is touched.
 */
export function billingDeps(services: Services): PlanChangeDeps & { graceDays: number } {
  const stripe = services.stripe;
  return {
    stripe,
    db: services.db,
    environment: services.config.keyEnvironment,
    portalBase: services.portalBase,
    log: services.log,
    downgradeTiming: services.config.planDowngradeTiming,
    redis: services.redis,
    graceDays: services.config.pastDueGraceDays,
  };
}
