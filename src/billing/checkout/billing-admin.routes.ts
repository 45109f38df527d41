import { createRoute, z } from "@hono/zod-openapi";
import { IdParam } from "../../admin/admin.schemas";
import { problemResponses } from "../../lib/openapi";
import { plans, type TierId, tierIds } from "../../plans/plans";

/** Tiers with a Stripe price in some environment; the handler checks this deployment's environment. */
const sellableTiers = tierIds.filter((tier) => {
  const prices = plans[tier].stripePriceIds;
  return prices.test.length + prices.live.length > 0;
}) as [TierId, ...TierId[]];

const CheckoutRequestSchema = z
  .object({
    tier: z.enum(sellableTiers).openapi({
      description: `The tier to buy: ${sellableTiers.map((tier) => `${tier} (${plans[tier].display.price})`).join(", ")}`,
    }),
  })
  .strict()
  .openapi("CheckoutSessionRequest");

const CheckoutSessionSchema = z
  .object({
    id: z.string().openapi({ example: "cs_test_a1b2c3" }),
    url: z.url().openapi({ description: "Stripe Checkout page to send the customer to" }),
  })
  .openapi("CheckoutSession");

const BillingPortalSessionSchema = z
  .object({ url: z.url().openapi({ description: "Stripe billing portal page for the customer" }) })
  .openapi("BillingPortalSession");

const security = [{ adminToken: [] }];
const tags = ["Billing"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const accountId = IdParam("acct_3kTMd9XQ2bLw8RzP1vYa");

export const createCheckoutSessionRoute = createRoute({
  method: "post",
  path: "/accounts/{id}/checkout-session",
  tags,
  security,
  summary: "Start a Stripe Checkout for a tier (the tier changes when Stripe's webhook confirms payment)",
  request: { params: accountId, body: { required: true, ...json(CheckoutRequestSchema) } },
  responses: {
    201: { description: "Send the customer to `url`", ...json(CheckoutSessionSchema) },
    ...problemResponses(400, 401, 404, 409, 502, 503),
  },
});

export const createBillingPortalSessionRoute = createRoute({
  method: "post",
  path: "/accounts/{id}/billing-portal-session",
  tags,
  security,
  summary: "Open the Stripe billing portal for the account's customer (change plan, payment method, cancel)",
  request: { params: accountId },
  responses: {
    201: { description: "Send the customer to `url`", ...json(BillingPortalSessionSchema) },
    ...problemResponses(401, 404, 409, 502, 503),
  },
});

const PlanChangeRequestSchema = z
  .object({
    tier: z.enum(["free", ...sellableTiers] as [TierId, ...TierId[]]).openapi({
      description:
        "The plan to move the subscription to; `free` cancels it. A downgrade takes effect when PLAN_DOWNGRADE_TIMING says (default: at the period's end)",
    }),
    preview: z
      .boolean()
      .default(false)
      .openapi({ description: "Only answer what the change would cost (Stripe's invoice preview)" }),
    prorationDate: z.number().int().positive().optional().openapi({
      description:
        "Unix seconds: the preview's `prorationDate`, so the charge equals the preview. Accepted for 5 minutes (PRORATION_DATE_MAX_AGE_SECONDS) and inside the current period; otherwise 409: preview again",
    }),
  })
  .strict()
  .openapi("PlanChangeRequest");

const PlanChangeSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    applied: z.boolean().openapi({ description: "false for a preview" }),
    effective: z.enum(["now", "period_end"]).openapi({
      description: "`period_end`: Stripe makes the change when the current period ends (a scheduled change)",
    }),
    effectiveAt: z.iso.datetime().openapi({ description: "When the change takes effect" }),
    tier: z
      .string()
      .optional()
      .openapi({ description: "The account's tier after the change (applied only)" }),
    amountDue: z.number().int().optional().openapi({ description: "Preview: smallest currency unit" }),
    currency: z.string().optional(),
    billed: z.enum(["now", "next_invoice", "none"]).optional(),
    prorationDate: z.number().int().optional(),
    lines: z.array(z.object({ description: z.string(), amount: z.number().int() })).optional(),
  })
  .openapi("PlanChange");

export const changePlanRoute = createRoute({
  method: "post",
  path: "/accounts/{id}/plan-change",
  tags,
  security,
  summary: "Change a subscriber's plan through the Subscriptions API (prorated), or preview what it costs",
  request: { params: accountId, body: { required: true, ...json(PlanChangeRequestSchema) } },
  responses: {
    200: { description: "The preview, or the applied change", ...json(PlanChangeSchema) },
    ...problemResponses(400, 401, 404, 409, 502, 503),
  },
});

const ScheduledChangeCancelledSchema = z
  .object({
    tier: z.string().openapi({ description: "The account's tier, which the subscription keeps" }),
    scheduledTier: z.null().openapi({ description: "No change is pending any more" }),
  })
  .openapi("ScheduledPlanChangeCancelled");

export const cancelScheduledChangeRoute = createRoute({
  method: "delete",
  path: "/accounts/{id}/plan-change",
  tags,
  security,
  summary:
    "Cancel the plan change pending at the period's end (a scheduled downgrade or cancellation): the subscription keeps its plan",
  request: { params: accountId },
  responses: {
    200: { description: "Nothing is pending any more", ...json(ScheduledChangeCancelledSchema) },
    ...problemResponses(401, 404, 409, 502, 503),
  },
});
