import { cache } from "hono/cache";
import { secureHeaders } from "hono/secure-headers";
import { REFERENCE_BOOT_PATH, REFERENCE_CSP, REFERENCE_SCRIPT_PATH } from "./reference-page";

/**
 * The documentation's routes: what URL answers, and under which caching and Content-Security-Policy. These
 * are not OpenAPI operations (they serve the documents themselves), so they are paths and policies rather
 * than createRoute() definitions; docs.index.ts pairs each with its handler.
 */
export const docsPaths = {
  /** The merged OpenAPI 3.1 document: the gateway's public routes and the origin's API. */
  openapi: "/openapi.json",
  /** The interactive reference of that document. */
  reference: "/docs",
  referenceScript: REFERENCE_SCRIPT_PATH,
  referenceBoot: REFERENCE_BOOT_PATH,
  /** What each RFC 9457 problem type means: the index, and one page per type. */
  problems: "/problems",
  problem: "/problems/:slug",
} as const;

const EDGE_CACHE = "public, max-age=300";

/** Documents and the reference are cached at the edge (Cache API) for five minutes. */
export const docsCache = () => cache({ cacheName: "gateway-docs", cacheControl: EDGE_CACHE, wait: false });

/** The reference page may load only its own script and reach only this origin (reference-page.ts). */
export const referencePolicy = () => secureHeaders({ contentSecurityPolicy: REFERENCE_CSP });

/** Problem pages are static HTML: no script, inline styles only, never framed. */
export const problemsPolicy = () =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      frameAncestors: ["'none'"],
    },
  });
