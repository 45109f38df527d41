import type { RouteHandler } from "@hono/zod-openapi";
import { openDatabase } from "../../db/client";
import type { AppEnv } from "../../lib/context";
import { ApiError } from "../../lib/errors";
import { redisFor } from "../../store/redis";
import { stripeClient } from "../stripe/stripe-client";
import { isBillingEventType } from "../stripe/stripe-facts";
import type { stripeWebhookRoute } from "./stripe-webhook.routes";
import { handleBillingEvent } from "./webhook-service";
import { verifyStripeEvent } from "./webhook-verify";

export const stripeWebhookHandler: RouteHandler<typeof stripeWebhookRoute, AppEnv> = async (c) => {
  const config = c.get("config");
  const log = c.get("log");
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
  const { db, close } = openDatabase(config);
  try {
    const answer = await handleBillingEvent(
      {
        db,
        redis: redisFor(config),
        stripe: stripeClient(config),
        environment: config.keyEnvironment,
        graceDays: config.pastDueGraceDays,
        now: new Date(),
        log,
      },
      { ...event, type: event.type },
    );
    return c.json(answer, 200);
  } finally {
    // After the work, not before: waitUntil(close()) calls close() at once. The pool ends after the response.
    c.executionCtx.waitUntil(close().catch(() => {}));
  }
};
