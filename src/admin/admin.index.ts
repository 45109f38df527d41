import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/context";
import { createRouter } from "../lib/create-router";
import { documentHandler } from "../lib/openapi";
import {
  createAccountHandler,
  createKeyHandler,
  eventsHandler,
  getAccountHandler,
  listAccountsHandler,
  listKeysHandler,
  revokeKeyHandler,
  rotateKeyHandler,
  updateAccountHandler,
  usageHandler,
} from "./admin.handlers";
import {
  createAccountRoute,
  createKeyRoute,
  eventsRoute,
  getAccountRoute,
  listAccountsRoute,
  listKeysRoute,
  revokeKeyRoute,
  rotateKeyRoute,
  updateAccountRoute,
  usageRoute,
} from "./admin.routes";
import { adminAuth } from "./admin-auth";
import { inviteHandler } from "./invitations.handlers";
import { inviteRoute } from "./invitations.routes";

/** The admin API, mounted at /admin/v1. Bearer ADMIN_TOKEN on every route; never any CORS header. */
export function createAdminRouter() {
  const router = createRouter();
  router.use("*", adminAuth());
  return (
    router
      .openapi(createAccountRoute, createAccountHandler)
      .openapi(listAccountsRoute, listAccountsHandler)
      .openapi(getAccountRoute, getAccountHandler)
      .openapi(updateAccountRoute, updateAccountHandler)
      .openapi(createKeyRoute, createKeyHandler)
      .openapi(listKeysRoute, listKeysHandler)
      .openapi(revokeKeyRoute, revokeKeyHandler)
      .openapi(rotateKeyRoute, rotateKeyHandler)
      .openapi(usageRoute, usageHandler)
      .openapi(eventsRoute, eventsHandler)
      // Portal accounts: invite an address to the developer portal.
      .openapi(inviteRoute, inviteHandler)
  );
}

/** GET /admin/v1/openapi.json: the admin API's document (behind the admin token like every admin route). */
export function adminDocument(admin: OpenAPIHono<AppEnv>) {
  return documentHandler(
    admin as never,
    {
      openapi: "3.1.0",
      info: {
        title: "Gateway admin API",
        version: "1",
        description:
          "Accounts, keys, usage and billing of the gateway, for its owner. Every route needs `Authorization: Bearer <ADMIN_TOKEN>`.",
      },
      servers: [{ url: "/admin/v1", description: "This gateway" }],
      security: [{ adminToken: [] }],
    },
    {
      Admin: "Accounts and their API keys, usage and audit log",
      Billing: "Stripe Checkout and billing-portal sessions for an account",
    },
  );
}
