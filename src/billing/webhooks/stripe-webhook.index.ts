import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/context";
import { stripeWebhookHandler } from "./stripe-webhook.handlers";
import { stripeWebhookRoute } from "./stripe-webhook.routes";

/** Webhooks from Stripe, mounted at /webhooks. No auth but the signature; never any CORS header. */
export function createStripeWebhookRouter(defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0]) {
  return new OpenAPIHono<AppEnv>(defaultHook).openapi(stripeWebhookRoute, stripeWebhookHandler);
}
