import { z } from "@hono/zod-openapi";
import { ApiKeySchema, FutureExpirySchema, RotateKeySchema, UsageSchema } from "../../admin/admin.schemas";
import { ID_SHAPE } from "../../keys/key-format";
import { storedText } from "../../lib/text";
import { tierIds } from "../../plans/plans";

/** NIST SP 800-63B: at least 8; 10 here. The upper bound keeps one PBKDF2 run cheap whatever is sent. */
export const PASSWORD_LENGTH = { min: 10, max: 256 } as const;

const email = z.email().max(254).openapi({ example: "dev@example.com" });

export const SignUpSchema = z
  .object({
    email,
    password: z
      .string()
      .min(PASSWORD_LENGTH.min, `at least ${PASSWORD_LENGTH.min} characters`)
      .max(PASSWORD_LENGTH.max),
  })
  .strict()
  .openapi("PortalSignUp");

/** No length rule at login beyond the maximum: the rule in force at sign-up may have been different. */
export const LoginSchema = z
  .object({ email, password: z.string().min(1).max(PASSWORD_LENGTH.max) })
  .strict()
  .openapi("PortalLogin");

export const SignUpAnswerSchema = z
  .object({
    status: z.literal("accepted"),
    detail: z.string().openapi({
      example: "If this email can be registered, its account is ready: log in with the password you chose.",
    }),
  })
  .openapi("PortalSignUpAnswer");

export const CsrfSchema = z
  .object({
    csrfToken: z.string().openapi({ description: "Send it as X-CSRF-Token on every POST and DELETE" }),
  })
  .openapi("PortalCsrf");

export const SessionSchema = z
  .object({
    account: z.object({
      id: z.string(),
      email: z.email(),
      tier: z.string(),
      emailVerified: z
        .boolean()
        .openapi({ description: "Whether the address is confirmed (keys and plans wait for it)" }),
    }),
    csrfToken: z.string().openapi({ description: "Bound to this session; send it as X-CSRF-Token" }),
  })
  .openapi("PortalSession");

export const PortalKeySchema = ApiKeySchema.omit({ accountId: true }).openapi("PortalKey");

export const CreatePortalKeySchema = z
  .object({
    name: storedText({ min: 1, max: 100 }).openapi({ example: "laptop" }),
    expiresAt: FutureExpirySchema,
  })
  .strict()
  .openapi("PortalCreateKey");

export const CreatedPortalKeySchema = PortalKeySchema.extend({
  key: z.string().openapi({ description: "The key itself. Shown this once; only its hash is stored." }),
  curl: z.string().openapi({ description: "A command that calls the API with the new key" }),
}).openapi("PortalCreatedKey");

export const RotatePortalKeySchema = RotateKeySchema.openapi("PortalRotateKey");

export const RotatedPortalKeySchema = CreatedPortalKeySchema.extend({
  previous: PortalKeySchema.openapi({ description: "The old key; it works until its expiresAt" }),
}).openapi("PortalRotatedKey");

export const KeyIdParam = z.object({
  id: z
    .string()
    .regex(ID_SHAPE, "not an id of this API")
    .openapi({ param: { name: "id", in: "path" }, example: "key_9fXq2LmN4pR7sT1vW3yZ" }),
});

const day = z.iso.date().openapi({ example: "2026-11-28" });

export const PortalUsageQuerySchema = z.object({
  from: day.optional().openapi({ description: "First day (UTC), default 29 days before `to`" }),
  to: day.optional().openapi({ description: "Last day (UTC), default today" }),
  keyId: z.string().min(1).max(64).optional().openapi({ description: "Only this key (one of yours)" }),
});

export const PortalUsageSchema = UsageSchema.extend({
  quota: z.object({
    month: z.string().openapi({ example: "2026-11" }),
    used: z.number().int(),
    limit: z.number().int(),
    resetsAt: z.iso.datetime(),
  }),
}).openapi("PortalUsage");

export const BillingSchema = z
  .object({
    tier: z.string(),
    plan: z.object({ name: z.string(), price: z.string(), monthlyQuota: z.number().int() }),
    subscriptionStatus: z.string().nullable(),
    pastDueSince: z.iso.datetime().nullable(),
    downgradeAt: z.iso.datetime().nullable(),
    upgrades: z.array(z.object({ tier: z.enum(tierIds), name: z.string(), price: z.string() })),
    canManage: z.boolean(),
    scheduledChange: z
      .object({ tier: z.enum(tierIds), name: z.string(), at: z.iso.datetime() })
      .nullable()
      .openapi({
        description:
          "A change Stripe makes when the period ends (a scheduled downgrade; `free`: the subscription ends). DELETE /billing/plan-change cancels it",
      }),
  })
  .openapi("PortalBilling");

export const PlanChangeRequestSchema = z
  .object({
    tier: z.enum(tierIds).openapi({ description: "The plan to move to; `free` cancels the subscription" }),
    prorationDate: z.number().int().positive().optional().openapi({
      description:
        "Unix seconds: the preview's `prorationDate`, so the charge equals the preview. Accepted for 5 minutes (PRORATION_DATE_MAX_AGE_SECONDS) and inside the current period; otherwise 409: preview again",
    }),
  })
  .strict()
  .openapi("PortalPlanChangeRequest");

export const PlanChangePreviewRequestSchema = z
  .object({ tier: z.enum(tierIds) })
  .strict()
  .openapi("PortalPlanChangePreviewRequest");

const effective = z.enum(["now", "period_end"]).openapi({
  description: "`period_end`: Stripe makes the change when the current period ends (PLAN_DOWNGRADE_TIMING)",
});

export const PlanChangePreviewSchema = z
  .object({
    from: z.enum(tierIds),
    to: z.enum(tierIds),
    effective,
    effectiveAt: z.iso.datetime(),
    amountDue: z.number().int().openapi({ description: "In the currency's smallest unit" }),
    currency: z.string(),
    billed: z.enum(["now", "next_invoice", "none"]).openapi({
      description:
        "`now`: charged at once; `next_invoice`: on the next renewal invoice; `none`: nothing invoiced",
    }),
    lines: z.array(z.object({ description: z.string(), amount: z.number().int() })),
    prorationDate: z.number().int().openapi({ description: "Pass it back to apply exactly this preview" }),
  })
  .openapi("PortalPlanChangePreview");

export const PlanChangeAppliedSchema = z
  .object({
    from: z.enum(tierIds),
    to: z.enum(tierIds),
    effective,
    effectiveAt: z.iso.datetime(),
    tier: z
      .string()
      .openapi({ description: "Your tier now (unchanged until a scheduled change takes effect)" }),
  })
  .openapi("PortalPlanChange");

export const ScheduledChangeCancelledSchema = z
  .object({ tier: z.string(), scheduledChange: z.null() })
  .openapi("PortalScheduledChangeCancelled");

export const CheckoutSchema = z
  .object({ tier: z.enum(tierIds) })
  .strict()
  .openapi("PortalCheckout");

export const RedirectSchema = z
  .object({ url: z.url().openapi({ description: "Send the browser here (Stripe)" }) })
  .openapi("PortalRedirect");
