import { z } from "@hono/zod-openapi";
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
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  key: z.string().openapi({ description: "The key itself. Shown this once; only its hash is stored." }),
}).openapi("CreatedApiKey");

export const CreateKeySchema = z
  .object({
    name: z.string().trim().max(100).optional(),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .refine(
        (value) => value === undefined || Date.parse(value) > Date.now(),
        "expiresAt must be in the future",
      ),
  })
  .strict()
  .openapi("CreateApiKey");

/** A path id. Any string up to 64 characters: an unknown id is a 404, whatever its shape. */
export const IdParam = (example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, example }),
  });
