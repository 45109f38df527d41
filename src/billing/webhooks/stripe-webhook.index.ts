import { createRouter } from "../../lib/create-router";
import { stripeWebhookHandler } from "./stripe-webhook.handlers";
import { stripeWebhookRoute } from "./stripe-webhook.routes";

/** Webhooks from Stripe, mounted at /webhooks. No auth but the signature; never any CORS header. */
export function createStripeWebhookRouter() {
  return createRouter().openapi(stripeWebhookRoute, stripeWebhookHandler);
}
