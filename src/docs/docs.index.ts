import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { cache } from "hono/cache";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../lib/context";
import { mergeDocuments } from "./merge-document";
import { type OpenApiDocument, originDocument } from "./origin-document";

const EDGE_CACHE = "public, max-age=300";

/**
 * GET /openapi.json (the merged document) and GET /docs (Scalar's interactive reference of it), both cached
 * at the edge with the Cache API for five minutes. `publicRoutes` is the app whose routes are documented.
 */
export function createDocsRouter(publicDocument: () => OpenApiDocument) {
  const router = new OpenAPIHono<AppEnv>();
  router.get(
    "/openapi.json",
    cache({ cacheName: "gateway-docs", cacheControl: EDGE_CACHE, wait: false }),
    async (c) => {
      const config = c.get("config");
      const origin = await originDocument(config, c.get("log"));
      return c.json(mergeDocuments(config, publicDocument(), origin));
    },
  );
  router.get(
    "/docs",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net"],
        styleSrc: ["'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net", "https://fonts.scalar.com"],
        fontSrc: ["'self'", "data:", "https://fonts.scalar.com"],
        imgSrc: ["'self'", "data:", "https:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    }),
    cache({ cacheName: "gateway-docs", cacheControl: EDGE_CACHE, wait: false }),
    Scalar({ url: "/openapi.json", pageTitle: "API reference", hideClientButton: false }),
  );
  return router;
}
