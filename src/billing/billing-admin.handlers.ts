import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { openDatabase } from "../db/client";
import { getAccount } from "../keys/account-service";
import type { AppEnv } from "../lib/context";
import { publicBaseUrl } from "../lib/public-origin";
import { redisFor } from "../store/redis";
import { publishCommittedTier } from "./account-publish";
import type {
  cancelScheduledChangeRoute,
  changePlanRoute,
  createBillingPortalSessionRoute,
  createCheckoutSessionRoute,
} from "./billing-admin.routes";
import { type CheckoutDeps, createBillingPortalSession, createCheckoutSession } from "./checkout";
import { cancelScheduledChange, changePlan, previewPlanChange } from "./plan-change";
import { stripeClient } from "./stripe-client";

/**
 * Runs a billing service with Stripe (503 when STRIPE_SECRET_KEY is missing, before Postgres is touched) and
 * a Postgres pool that ends after the response.
 */
async function withServices<T>(c: Context<AppEnv>, run: (deps: CheckoutDeps) => Promise<T>): Promise<T> {
  const config = c.get("config");
  const stripe = stripeClient(config);
  const { db, close } = openDatabase(config);
  try {
    return await run({
      db,
      stripe,
      environment: config.keyEnvironment,
      portalBase: publicBaseUrl(config, c.req.url),
      log: c.get("log"),
    });
  } finally {
    c.executionCtx.waitUntil(close().catch(() => {}));
  }
}

export const createCheckoutSessionHandler: RouteHandler<typeof createCheckoutSessionRoute, AppEnv> = async (
  c,
) => {
  const { id } = c.req.valid("param");
  const { tier } = c.req.valid("json");
  const session = await withServices(c, (deps) => createCheckoutSession(deps, id, tier));
  c.header("Cache-Control", "no-store");
  return c.json(session, 201);
};

export const createBillingPortalSessionHandler: RouteHandler<
  typeof createBillingPortalSessionRoute,
  AppEnv
> = async (c) => {
  const { id } = c.req.valid("param");
  const session = await withServices(c, (deps) => createBillingPortalSession(deps, id));
  c.header("Cache-Control", "no-store");
  return c.json(session, 201);
};

export const changePlanHandler: RouteHandler<typeof changePlanRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tier, preview, prorationDate } = c.req.valid("json");
  const config = c.get("config");
  c.header("Cache-Control", "no-store");
  if (preview) {
    const answer = await withServices(c, (deps) =>
      previewPlanChange({ ...deps, downgradeTiming: config.planDowngradeTiming }, id, tier, "admin"),
    );
    return c.json({ ...answer, applied: false }, 200);
  }
  const result = await withServices(c, async (deps) => {
    const changed = await changePlan(
      { ...deps, graceDays: config.pastDueGraceDays, downgradeTiming: config.planDowngradeTiming },
      id,
      tier,
      { prorationDate, actor: { type: "admin", id: "admin-token" } },
    );
    await publishCommittedTier(deps.db, redisFor(config), id);
    return { ...changed, tier: (await getAccount(deps, id)).tier };
  });
  return c.json(
    {
      from: result.from,
      to: result.to,
      applied: true,
      effective: result.effective,
      effectiveAt: result.effectiveAt,
      tier: result.tier,
    },
    200,
  );
};

export const cancelScheduledChangeHandler: RouteHandler<typeof cancelScheduledChangeRoute, AppEnv> = async (
  c,
) => {
  const { id } = c.req.valid("param");
  const config = c.get("config");
  c.header("Cache-Control", "no-store");
  const tier = await withServices(c, async (deps) => {
    await cancelScheduledChange({ ...deps, graceDays: config.pastDueGraceDays }, id, {
      type: "admin",
      id: "admin-token",
    });
    await publishCommittedTier(deps.db, redisFor(config), id);
    return (await getAccount(deps, id)).tier;
  });
  return c.json({ tier, scheduledTier: null }, 200);
};
