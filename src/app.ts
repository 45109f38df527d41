import type { Context } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { adminDocument, createAdminRouter } from "./admin/admin.index";
import { createBillingAdminRouter } from "./billing/checkout/billing-admin.index";
import { createStripeWebhookRouter } from "./billing/webhooks/stripe-webhook.index";
import { createDocsRouter } from "./docs/docs.index";
import type { OpenApiDocument } from "./docs/origin-document";
import { handleApiRequest } from "./gateway/gateway";
import { createGatewayState, type GatewayState } from "./gateway/state";
import { createHealthRouter } from "./health/health.index";
import { allowedMethods, methodNotAllowed } from "./lib/allowed-methods";
import type { AppEnv } from "./lib/context";
import { createRouter } from "./lib/create-router";
import { isUnderPrefix, pathOf } from "./lib/paths";
import { accessLog } from "./middleware/access-log";
import { apiCors } from "./middleware/api-cors";
import { renderError, renderNotFound } from "./middleware/error-handler";
import { requestContext } from "./middleware/request-context";
import { requestServices } from "./middleware/request-services";
import { createPortalRouter } from "./portal/portal.index";

/**
 * Assembles the gateway. Read top to bottom, this is the order a request meets things:
 * request context -> proxied API prefixes (the data plane) -> gateway-owned routes (health, docs, admin,
 * portal) -> 405 or 404.
 */
export function createApp() {
  const app = createRouter<AppEnv>();
  app.use(requestContext());
  app.use(requestServices());
  // Which side a request is on, decided once from its path. Everything under API_PREFIXES is the data plane
  // and is answered right here (access log, CORS, the gateway), without walking the gateway's own routes.
  // Security headers go on what the gateway itself serves; the origin's responses keep the origin's headers.
  const security = secureHeaders();
  const dataPlane = dataPlaneHandler(createGatewayState());
  app.use("*", (c, next) => {
    if (isUnderPrefix(pathOf(c.req.url), c.get("config").apiPrefixes)) return dataPlane(c);
    return security(c, next);
  });

  // Routes the gateway owns. The public ones also make up the gateway's part of /openapi.json.
  const publicRoutes = createRouter();
  publicRoutes.route("/", createHealthRouter());
  const publicDocument = () =>
    publicRoutes.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "gateway", version: "1" },
    }) as unknown as OpenApiDocument;
  app.route("/", publicRoutes);
  app.route("/", createDocsRouter(publicDocument));
  app.route("/webhooks", createStripeWebhookRouter()); // Billing: POST /webhooks/stripe

  const admin = createAdminRouter();
  admin.route("/", createBillingAdminRouter()); // Billing: checkout and billing-portal sessions
  admin.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
  });
  admin.get("/openapi.json", adminDocument(admin));
  app.route("/admin/v1", admin);

  // Developer portal (src/portal): server-rendered pages under /portal, their JSON API under /portal/api.
  app.route("/portal", createPortalRouter());

  // Anything else unknown: 405 with Allow (RFC 9110 15.5.6) for a gateway-owned resource that exists for
  // other methods, else 404.
  let allowed: ((path: string) => string[]) | undefined;
  app.all("*", (c) => {
    allowed ??= allowedMethods(app.routes);
    const methods = allowed(pathOf(c.req.url));
    if (methods.length > 0) throw methodNotAllowed(c.req.method, methods);
    return renderNotFound(c);
  });

  app.notFound(renderNotFound);
  app.onError(renderError);
  return app;
}

/**
 * The data plane's one middleware: the access log around CORS around the gateway. Its errors are rendered
 * here, inside the access log, so refusals thrown as ApiError (413, 502, 504) are logged like the rest.
 * `state` is the data plane's memory of this isolate (leases, records, refusals, usage): one object, made once.
 */
function dataPlaneHandler(state: GatewayState): (c: Context<AppEnv>) => Promise<void> {
  const cors = apiCors();
  const log = accessLog();
  const gateway = async (c: Context<AppEnv>) => {
    try {
      c.res = await handleApiRequest(c, state);
    } catch (error) {
      c.res = await renderError(error as Error, c);
    }
  };
  return async (c) => {
    await log(c, async () => {
      // A preflight is answered by the CORS middleware itself, as a returned response.
      const preflight = await cors(c, () => gateway(c));
      if (preflight instanceof Response) c.res = preflight;
    });
  };
}
