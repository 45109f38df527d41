import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../lib/errors";
import type { PortalEnv } from "../portal-env";
import { isEmailVerified } from "../services/email-verification";

export const VERIFY_FIRST =
  "Confirm your email address first: open the link we mailed you, or ask for a new one on the settings page (POST /portal/api/email/verification).";

/**
 * Creating keys and buying plans wait until the developer proved they read mail at their address (the
 * issue's "verified email"; PORTAL_REQUIRE_VERIFIED_EMAIL=false turns it off). Behind requireSession(): the
 * JSON API answers 403 `email-unverified`, pages go to the settings page, which says what to do.
 */
export function requireVerifiedEmail(kind: "api" | "page"): MiddlewareHandler<PortalEnv> {
  return async function requireVerifiedEmailMiddleware(c, next) {
    const session = c.get("session");
    if (!c.get("config").portalRequireVerifiedEmail || !session) return next();
    if (await isEmailVerified({ db: c.get("services").db }, session.accountId)) return next();
    if (kind === "page") return c.redirect("/portal/settings?notice=verify-first", 303);
    throw new ApiError("email_unverified", { detail: VERIFY_FIRST });
  };
}
