import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { openDatabase } from "../db/client";
import type { AppEnv } from "../lib/context";
import type { createBillingPortalSessionRoute, createCheckoutSessionRoute } from "./billing-admin.routes";
import { type CheckoutDeps, createBillingPortalSession, createCheckoutSession } from "./checkout";
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
      portalBase: config.portalUrl ?? new URL(c.req.url).origin,
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
