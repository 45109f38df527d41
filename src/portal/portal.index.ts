import { Hono } from "hono";
import { createPortalApiRouter } from "./api/portal-api.index";
import { portalContext } from "./auth/portal-session";
import { createPortalPagesRouter } from "./pages/portal-pages.index";
import type { PortalEnv } from "./portal-env";

/**
 * The developer portal, mounted at /portal: HTML pages, and at /portal/api the JSON API behind the same
 * session. Both share the services in ./services.
 */
export function createPortalRouter() {
  const portal = new Hono<PortalEnv>();
  portal.use("*", portalContext());
  portal.route("/api", createPortalApiRouter());
  portal.route("/", createPortalPagesRouter());
  return portal;
}
