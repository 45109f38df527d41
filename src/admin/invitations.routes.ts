import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi";
import { AccountSchema, TierSchema } from "./admin.schemas";

/** Portal accounts: the admin API invites an address to the developer portal (src/portal/services/invitations.ts). */
const InviteSchema = z
  .object({
    email: z.email().max(254).openapi({ example: "dev@example.com" }),
    tier: TierSchema.optional().openapi({
      description: "Tier of an account the invitation creates (default free)",
    }),
  })
  .strict()
  .openapi("Invitation");

const InvitationSchema = z
  .object({
    account: AccountSchema,
    created: z.boolean().openapi({ description: "True when the invitation created the account" }),
    expiresAt: z.iso.datetime().openapi({ description: "When the link in the mail stops working (7 days)" }),
  })
  .openapi("InvitationSent");

export const inviteRoute = createRoute({
  method: "post",
  path: "/invitations",
  tags: ["Admin"],
  security: [{ adminToken: [] }],
  summary:
    "Invite an email to the portal: creates the account, or invites an existing one without a password; the link sets the password and verifies the address",
  request: { body: { required: true, content: { "application/json": { schema: InviteSchema } } } },
  responses: {
    201: { description: "Invitation mailed", content: { "application/json": { schema: InvitationSchema } } },
    ...problemResponses(400, 401, 409, 502, 503),
  },
});
