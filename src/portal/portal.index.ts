import type { OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { AppEnv } from "../lib/context";
import { createPortalApiRouter } from "./api/portal-api.index";
import { portalContext } from "./auth/portal-session";
import { createPortalPagesRouter } from "./pages/portal-pages.index";
import type { PortalEnv } from "./portal-env";

/**
 * The developer portal, mounted at /portal: HTML pages, and at /portal/api the JSON API behind the same
 * session. Both share the services in ./services.
 */
export function createPortalRouter(defaultHook: ConstructorParameters<typeof OpenAPIHono<AppEnv>>[0]) {
  const portal = new Hono<PortalEnv>();
  portal.use("*", portalContext());
  portal.route(
    "/api",
    createPortalApiRouter(defaultHook as ConstructorParameters<typeof OpenAPIHono<PortalEnv>>[0]),
  );
  portal.route("/", createPortalPagesRouter());
  return portal;
}
