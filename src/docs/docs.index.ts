import { OpenAPIHono } from "@hono/zod-openapi";
import { cache } from "hono/cache";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../lib/context";
import { ApiError } from "../lib/errors";
import { publicBaseUrl } from "../lib/public-origin";
import { codeSamples, sampleOperation } from "./code-samples";
import { mergeDocuments } from "./merge-document";
import { type OpenApiDocument, originDocument } from "./origin-document";
import { problemDocumentation, problemIndex, problemIndexPage, problemPage } from "./problem-pages";
import {
  REFERENCE_BOOT_PATH,
  REFERENCE_BOOT_SCRIPT,
  REFERENCE_CSP,
  REFERENCE_SCRIPT_PATH,
  referencePage,
} from "./reference-page";

const EDGE_CACHE = "public, max-age=300";
/** Scalar's bundle changes only with the pinned package version, i.e. with a deploy. */
const ASSET_CACHE = "public, max-age=3600";
/** What a developer copies before they have a key. */
export const KEY_PLACEHOLDER = "YOUR_API_KEY";

const wantsJson = (accept: string | undefined) => /\bapplication\/(problem\+)?json\b/.test(accept ?? "");

/**
 * GET /openapi.json (the merged document), GET /docs (the interactive reference of it, rendered by the pinned
 * @scalar/api-reference bundle this worker serves itself: it works offline and is the same on every deploy),
 * and GET /problems/{type} (what each RFC 9457 problem type means). Documents and the reference are cached
 * at the edge with the Cache API for five minutes.
 */
export function createDocsRouter(publicDocument: () => OpenApiDocument) {
  const router = new OpenAPIHono<AppEnv>();
  const docsCache = cache({ cacheName: "gateway-docs", cacheControl: EDGE_CACHE, wait: false });
  router.get("/openapi.json", docsCache, async (c) => {
    const config = c.get("config");
    const origin = await originDocument(config, c.get("log"));
    const sample = sampleOperation(origin, config.apiPrefixes);
    const samples = sample
      ? codeSamples(publicBaseUrl(config, c.req.url), sample, KEY_PLACEHOLDER)
      : undefined;
    return c.json(mergeDocuments(config, publicDocument(), origin, samples));
  });
  router.get("/docs", secureHeaders({ contentSecurityPolicy: REFERENCE_CSP }), docsCache, (c) =>
    c.html(referencePage({ title: "API reference" })),
  );
  router.get(REFERENCE_SCRIPT_PATH, async (c) => {
    const assets = c.env.ASSETS;
    if (!assets)
      throw new ApiError("not_found", {
        detail: "The reference's script is not deployed (no ASSETS binding).",
      });
    const asset = await assets.fetch(new URL("/standalone.js", c.req.url));
    if (!asset.ok)
      throw new ApiError("not_found", { detail: "The reference's script is missing from the assets." });
    return new Response(asset.body, {
      headers: { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": ASSET_CACHE },
    });
  });
  router.get(REFERENCE_BOOT_PATH, (c) =>
    c.body(REFERENCE_BOOT_SCRIPT, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": ASSET_CACHE,
    }),
  );

  const problemsPolicy = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      frameAncestors: ["'none'"],
    },
  });
  router.get("/problems", problemsPolicy, (c) =>
    wantsJson(c.req.header("Accept")) ? c.json({ problems: problemIndex() }) : c.html(problemIndexPage()),
  );
  router.get("/problems/:slug", problemsPolicy, (c) => {
    const slug = c.req.param("slug");
    return wantsJson(c.req.header("Accept")) ? c.json(problemDocumentation(slug)) : c.html(problemPage(slug));
  });
  return router;
}
