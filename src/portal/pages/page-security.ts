import type { MiddlewareHandler } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { REFERENCE_CSP_HEADER } from "../../docs/reference-page";
import type { PortalEnv } from "../portal-env";
import { billingRedirectOrigins } from "../services/portal-billing";

/**
 * Security headers and CSP for the portal's pages: nothing loads from anywhere but this origin; the one inline
 * stylesheet and script carry a per-response nonce; no framing; forms post only here, or are redirected to
 * Stripe's Checkout and billing portal (Chromium applies form-action to a form's redirects as well).
 * The API reference page with a developer's key runs the reference's scripts (served by this worker, as at
 * /docs), so it has /docs's policy: still nothing from any other origin, and no inline script.
 */
function pagePolicy(formTargets: string[], imageOrigins: string[]) {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: [NONCE],
      scriptSrc: [NONCE],
      imgSrc: ["'self'", "data:", ...imageOrigins],
      connectSrc: ["'self'"],
      formAction: ["'self'", ...formTargets],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "same-origin",
  });
}

const policies = new Map<string, MiddlewareHandler>();

export function pageSecurity(): MiddlewareHandler<PortalEnv> {
  return async function pageSecurityMiddleware(c, next) {
    const { stripeApiBase, portalLogoUrl } = c.get("config");
    // The owner's logo may live on their own site: its origin, for images only.
    const logoOrigin = portalLogoUrl?.startsWith("https://") ? [new URL(portalLogoUrl).origin] : [];
    const cacheKey = `${stripeApiBase} ${logoOrigin.join("")}`;
    let policy = policies.get(cacheKey);
    if (!policy) {
      policy = pagePolicy(billingRedirectOrigins(stripeApiBase), logoOrigin);
      policies.set(cacheKey, policy);
    }
    await policy(c, next);
    // The one 200 of POST /portal/docs is the reference with the developer's key (its form errors are 400
    // pages under the portal's own policy). It holds a key: never send its URL anywhere either.
    if (c.req.method === "POST" && c.req.path === "/portal/docs" && c.res.status === 200) {
      c.res.headers.set("Content-Security-Policy", REFERENCE_CSP_HEADER);
      c.res.headers.set("Referrer-Policy", "no-referrer");
    }
  };
}
