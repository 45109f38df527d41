import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../../lib/errors";
import { problemResponses } from "../../lib/openapi";
import { billingEventTypes } from "../stripe/stripe-facts";

/** Stripe's event payloads are well under this; anything larger is not from Stripe. */
const MAX_WEBHOOK_BYTES = 512 * 1024;

const WebhookAnswerSchema = z
  .object({
    status: z.enum(["processed", "duplicate", "ignored"]),
    outcome: z
      .enum(["synced", "customer_forgotten", "no_account", "other_customer"])
      .optional()
      .openapi({ description: "For a processed event: what it did to the account" }),
  })
  .openapi("StripeWebhookAnswer");

export const stripeWebhookRoute = createRoute({
  method: "post",
  path: "/stripe",
  tags: ["Webhooks"],
  summary: "Stripe webhook: billing events make the account follow its Stripe customer's current state",
  description:
    `Verified with Stripe-Signature (STRIPE_WEBHOOK_SECRET). Handles ${billingEventTypes.join(", ")}; ` +
    "other types are acknowledged with status ignored. Each event re-reads the customer's subscriptions " +
    "from Stripe (delivery order does not matter); each event id takes effect once.",
  // The raw body is read by the handler: the signature covers its exact bytes.
  middleware: [
    bodyLimit({
      maxSize: MAX_WEBHOOK_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", { detail: "A Stripe event is never this large." });
      },
    }),
  ] as const,
  responses: {
    200: { description: "Acknowledged", content: { "application/json": { schema: WebhookAnswerSchema } } },
    ...problemResponses(400, 413, 500, 503),
  },
});
