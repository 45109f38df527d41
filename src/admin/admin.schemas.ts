import { z } from "@hono/zod-openapi";
import { auditActions, auditActorTypes } from "../db/schema/audit-events";
import { ID_SHAPE } from "../keys/key-format";
import { ROTATION_OVERLAP_HOURS } from "../keys/key-service";
import { storedText } from "../lib/text";
import { tierIds } from "../plans/plans";

export const TierSchema = z.enum(tierIds).openapi({ description: "Plan tier (see the plans in the portal)" });

export const AccountSchema = z
  .object({
    id: z.string().openapi({ example: "acct_3kTMd9XQ2bLw8RzP1vYa" }),
    email: z.email(),
    tier: z.string(),
    subscriptionStatus: z.string().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Account");

export const AccountListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "Page size (1-200)" }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "Page cursor: the previous page's nextCursor" }),
  email: z.string().trim().min(1).max(254).optional().openapi({
    description: "Only accounts whose email starts with this (case-insensitive)",
    example: "dev@",
  }),
  tier: TierSchema.optional(),
  status: z
    .string()
    .regex(/^[a-z_]{1,32}$/, "a Stripe subscription status such as active or past_due, or none")
    .optional()
    .openapi({
      description:
        "Stripe subscription status (active, trialing, past_due, canceled, unpaid, incomplete...), or `none` for accounts without a subscription",
      example: "past_due",
    }),
});

export const AccountListSchema = z
  .object({
    accounts: z.array(AccountSchema),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
  })
  .openapi("AccountList");

export const CreateAccountSchema = z
  .object({ email: z.email().max(254), tier: TierSchema.default("free") })
  .strict()
  .openapi("CreateAccount");

export const UpdateAccountSchema = z.object({ tier: TierSchema }).strict().openapi("UpdateAccount");

export const ApiKeySchema = z
  .object({
    id: z.string().openapi({ example: "key_9fXq2LmN4pR7sT1vW3yZ" }),
    accountId: z.string(),
    name: z.string(),
    start: z
      .string()
      .openapi({ description: "The key's first characters, to tell keys apart", example: "gw_live_AbCd" }),
    status: z.enum(["active", "revoked", "expired"]),
    rotatedToId: z
      .string()
      .nullable()
      .openapi({ description: "The successor, when this key is being rotated" }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The key itself. Shown this once; only its hash is stored." }),
}).openapi("CreatedApiKey");

/** An optional expiry for a new key, as an ISO timestamp with offset; one in the past is refused. */
export const FutureExpirySchema = z.iso
  .datetime({ offset: true })
  .optional()
  .refine(
    (value) => value === undefined || Date.parse(value) > Date.now(),
    "expiresAt must be in the future",
  );

export const CreateKeySchema = z
  .object({
    name: storedText({ max: 100 }).optional(),
    expiresAt: FutureExpirySchema,
  })
  .strict()
  .openapi("CreateApiKey");

/** A path id: malformed ids are refused (400) before any query; well-formed unknown ones are 404. */
export const IdParam = (example: string) =>
  z.object({
    id: z
      .string()
      .regex(ID_SHAPE, "not an id of this API")
      .openapi({ param: { name: "id", in: "path" }, example }),
  });

export const RotateKeySchema = z
  .object({
    overlapHours: z
      .number()
      .int()
      .min(ROTATION_OVERLAP_HOURS.min)
      .max(ROTATION_OVERLAP_HOURS.max)
      .optional()
      .openapi({
        description: "How long the old key keeps working",
        example: ROTATION_OVERLAP_HOURS.default,
      }),
  })
  .strict()
  .openapi("RotateApiKey");

export const RotatedApiKeySchema = CreatedApiKeySchema.extend({
  previous: ApiKeySchema.openapi({ description: "The old key, with the end of its overlap as expiresAt" }),
}).openapi("RotatedApiKey");

const day = z.iso.date().openapi({ example: "2026-11-28" });

export const UsageQuerySchema = z.object({
  from: day.optional().openapi({ description: "First day (UTC), default 29 days before `to`" }),
  to: day.optional().openapi({ description: "Last day (UTC), default today" }),
  granularity: z.enum(["day"]).default("day"),
});

const DayCountsSchema = z
  .object({
    day,
    total: z.number().int(),
    ok: z.number().int(),
    rate_limited: z.number().int(),
    quota: z.number().int(),
    auth: z.number().int(),
  })
  .openapi("UsageDay");

export const UsageSchema = z
  .object({
    accountId: z.string(),
    granularity: z.literal("day"),
    from: day,
    to: day,
    keys: z.array(z.object({ keyId: z.string(), name: z.string(), series: z.array(DayCountsSchema) })),
    total: z.array(DayCountsSchema),
  })
  .openapi("Usage");

export const EventsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().optional().openapi({ description: "Page cursor: nextBefore" }),
});

const AuditEventSchema = z
  .object({
    id: z.number().int(),
    action: z.enum(auditActions),
    actor: z.object({ type: z.enum(auditActorTypes), id: z.string().nullable() }),
    targetId: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
  })
  .openapi("AuditEvent");

export const EventsSchema = z
  .object({ events: z.array(AuditEventSchema), nextBefore: z.number().int().nullable() })
  .openapi("AuditEvents");

export const AccountDetailSchema = AccountSchema.extend({
  keys: z
    .array(ApiKeySchema)
    .openapi({ description: "Every key of the account, newest first (never secrets)" }),
  usage: z
    .object({
      month: z.string().openapi({ example: "2026-11" }),
      used: z.number().int().openapi({ description: "Requests counted against this month's quota so far" }),
      limit: z.number().int().openapi({ description: "The tier's monthly quota" }),
      resetsAt: z.iso.datetime(),
    })
    .nullable()
    .openapi({
      description: "This month's quota use, live from the edge's counter; null if Redis did not answer",
    }),
  subscription: z
    .object({
      status: z
        .string()
        .nullable()
        .openapi({ description: "Stripe's subscription status, null without one" }),
      subscribedTier: z.string().nullable().openapi({ description: "The tier the subscription pays for" }),
      stripeCustomerId: z.string().nullable(),
      stripeSubscriptionId: z.string().nullable(),
      pastDueSince: z.iso.datetime().nullable(),
      scheduledTier: z.string().nullable().openapi({
        description:
          "A change pending at the period's end (a scheduled downgrade; `free`: cancelled at period end); DELETE /accounts/{id}/plan-change cancels it",
      }),
      scheduledChangeAt: z.iso
        .datetime()
        .nullable()
        .openapi({ description: "When that change takes effect" }),
    })
    .openapi("AccountSubscription"),
}).openapi("AccountDetail");
