import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { PortalEnv } from "../portal-env";
import { billingRedirectOrigins } from "../services/portal-billing";

/**
 * Security headers and CSP for the portal's pages: nothing loads from anywhere but this origin; the one inline
 * stylesheet and script carry a per-response nonce; no framing; forms post only here, or are redirected to
 * Stripe's Checkout and billing portal (Chromium applies form-action to a form's redirects as well).
 * The API reference page loads Scalar from its CDN, as /docs does, so it has a policy of its own.
 */
function pagePolicy(formTargets: string[]) {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: [NONCE],
      scriptSrc: [NONCE],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'", ...formTargets],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "same-origin",
  });
}

const referencePolicy = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: [NONCE, "https://cdn.jsdelivr.net"],
    styleSrc: ["'self'", "'unsafe-inline'", "https://cdn.jsdelivr.net", "https://fonts.scalar.com"],
    fontSrc: ["'self'", "data:", "https://fonts.scalar.com"],
    imgSrc: ["'self'", "data:", "https:"],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  // The page holds a key: never send its URL anywhere.
  referrerPolicy: "no-referrer",
});

const policies = new Map<string, MiddlewareHandler>();

export function pageSecurity(): MiddlewareHandler<PortalEnv> {
  return async function pageSecurityMiddleware(c, next) {
    if (c.req.method === "POST" && c.req.path === "/portal/docs") return referencePolicy(c, next);
    const base = c.get("config").stripeApiBase;
    let policy = policies.get(base);
    if (!policy) {
      policy = pagePolicy(billingRedirectOrigins(base));
      policies.set(base, policy);
    }
    return policy(c, next);
  };
}
