import { secureHeaders } from "hono/secure-headers";
import { adminDocument, createAdminRouter } from "./admin/admin.index";
import { createBillingAdminRouter } from "./billing/checkout/billing-admin.index";
import { createStripeWebhookRouter } from "./billing/webhooks/stripe-webhook.index";
import { type Bindings, type Config, configFor } from "./config";
import { createDocsRouter } from "./docs/docs.index";
import type { OpenApiDocument } from "./docs/origin-document";
import { createDataPlane } from "./gateway/data-plane";
import { createHealthRouter } from "./health/health.index";
import { allowedMethods, methodNotAllowed } from "./lib/allowed-methods";
import type { AppEnv } from "./lib/context";
import { createRouter } from "./lib/create-router";
import { isUnderPrefix, pathOf } from "./lib/paths";
import { renderError, renderNotFound } from "./middleware/error-handler";
import { requestContext } from "./middleware/request-context";
import { requestServices } from "./middleware/request-services";
import { createPortalRouter } from "./portal/portal.index";

/**
 * The worker's fetch. Which side a request is on is decided once, from its path: everything under
 * API_PREFIXES is the data plane (gateway/data-plane.ts), answered without walking the gateway's own routes;
 * the rest is the app below. So no prefix may lie under the gateway's own paths; the settings refuse one that
 * does.
 */
export function createGateway(): (
  request: Request,
  env: Bindings,
  ctx: ExecutionContext,
) => Response | Promise<Response> {
  const dataPlane = createDataPlane();
  const app = createApp();
  return (request, env, ctx) => {
    let config: Config;
    try {
      config = configFor(env);
    } catch {
      // A misconfigured deployment: the app renders the ConfigError as problem+json 500 with a request id.
      return app.fetch(request, env, ctx);
    }
    const path = pathOf(request.url);
    if (isUnderPrefix(path, config.apiPrefixes)) return dataPlane(request, env, ctx, config, path);
    return app.fetch(request, env, ctx);
  };
}

/**
 * The gateway's own routes. Read top to bottom, this is the order a request meets things:
 * request context -> services -> health, docs, webhooks, admin, portal -> 405 or 404.
 */
export function createApp() {
  const app = createRouter<AppEnv>();
  app.use(requestContext());
  app.use(requestServices());
  // Security headers go on what the gateway itself serves; the origin's responses keep the origin's headers.
  app.use(secureHeaders());

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
