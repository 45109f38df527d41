import { secureHeaders } from "hono/secure-headers";
import { adminDocument, createAdminRouter } from "./admin/admin.index";
import { createBillingAdminRouter } from "./billing/checkout/billing-admin.index";
import { createStripeWebhookRouter } from "./billing/webhooks/stripe-webhook.index";
import { createDocsRouter } from "./docs/docs.index";
import type { OpenApiDocument } from "./docs/origin-document";
import { handleApiRequest } from "./gateway/gateway";
import { createGatewayState } from "./gateway/state";
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
 * request context -> gateway-owned routes (health, docs, admin) -> proxied API prefixes -> 404.
 */
export function createApp() {
  // The data plane's memory of this isolate (leases, records, refusals, usage): one object, made once.
  const gatewayState = createGatewayState();
  const app = createRouter<AppEnv>();
  app.use(requestContext());
  app.use(requestServices());
  // Which side a request is on, decided once from its path. Security headers go on what the gateway itself
  // serves; the origin's responses keep the origin's headers.
  const security = secureHeaders();
  app.use("*", (c, next) => {
    c.set("dataPlane", isUnderPrefix(pathOf(c.req.url), c.get("config").apiPrefixes));
    return c.get("dataPlane") ? next() : security(c, next);
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

  // Everything under API_PREFIXES is the data plane; anything else unknown is a 404.
  const cors = apiCors();
  const log = accessLog();
  app.use("*", async (c, next) => {
    if (!c.get("dataPlane")) return next();
    await log(c, async () => {
      // A preflight is answered by the CORS middleware itself, as a returned response.
      const preflight = await cors(c, next);
      if (preflight instanceof Response) c.res = preflight;
    });
  });
  let allowed: ((path: string) => string[]) | undefined;
  app.all("*", async (c) => {
    if (!c.get("dataPlane")) {
      const path = pathOf(c.req.url);
      // A gateway-owned resource that exists for other methods: 405 with Allow (RFC 9110 15.5.6), not 404.
      allowed ??= allowedMethods(app.routes);
      const methods = allowed(path);
      if (methods.length > 0) throw methodNotAllowed(c.req.method, methods);
      return renderNotFound(c);
    }
    return handleApiRequest(c, gatewayState);
  });

  app.notFound(renderNotFound);
  app.onError(renderError);
  return app;
}
