import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/context";
import {
  createAccountHandler,
  createKeyHandler,
  eventsHandler,
  getAccountHandler,
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
export function createAdminRouter(defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0]) {
  const router = new OpenAPIHono<AppEnv>(defaultHook);
  router.use("*", adminAuth());
  return (
    router
      .openapi(createAccountRoute, createAccountHandler)
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
