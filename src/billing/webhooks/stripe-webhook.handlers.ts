import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context";
import { ApiError } from "../../lib/errors";
import { isBillingEventType } from "../stripe/stripe-facts";
import type { stripeWebhookRoute } from "./stripe-webhook.routes";
import { handleBillingEvent } from "./webhook-service";
import { verifyStripeEvent } from "./webhook-verify";

export const stripeWebhookHandler: RouteHandler<typeof stripeWebhookRoute, AppEnv> = async (c) => {
  const services = c.get("services");
  const { config, log } = services;
  if (!config.stripeWebhookSecret) {
    throw new ApiError("billing_not_configured", { detail: "STRIPE_WEBHOOK_SECRET is not set." });
  }
  // Events are applied from Stripe's current state, which needs the API key: without it, 503 and Stripe retries.
  if (!config.stripeSecretKey) {
    throw new ApiError("billing_not_configured", { detail: "STRIPE_SECRET_KEY is not set." });
  }
  const event = await verifyStripeEvent(
    await c.req.text(),
    c.req.header("Stripe-Signature"),
    config.stripeWebhookSecret,
  );
  if (!isBillingEventType(event.type)) return c.json({ status: "ignored" as const }, 200);
  // A test-mode event must not change a live deployment's tiers (or the reverse): the endpoints differ.
  if (event.livemode !== (config.keyEnvironment === "live")) {
    log.warn("stripe event of the other mode ignored", { eventId: event.id, livemode: event.livemode });
    return c.json({ status: "ignored" as const }, 200);
  }
  // Applied before the answer, never handed to waitUntil: only a 2xx tells Stripe the event is applied, and a
  // failure must answer 500 so Stripe delivers it again. So the request's own pool (services.db, ended after
  // the response by requestServices) is the right one.
  const answer = await handleBillingEvent(
    {
      db: services.db,
      redis: services.redis,
      stripe: services.stripe,
      environment: config.keyEnvironment,
      graceDays: config.pastDueGraceDays,
      now: new Date(services.clock.now()),
      log,
    },
    { ...event, type: event.type },
  );
  return c.json(answer, 200);
};
