import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { ApiError } from "../../lib/errors";
import { redisFor } from "../../store/redis";
import type { PortalEnv } from "../portal-env";
import { csrfTokenMatches } from "./csrf-token";
import { readPresessionCookie, readSessionCookie, writePresessionCookie } from "./session-cookie";
import { newSecret, readSession } from "./session-store";

/**
 * First middleware of every portal route: the session named by the cookie if it is live, and what the
 * visitor's CSRF token is bound to. Nothing the portal answers may be cached anywhere: it is per developer and may carry a key shown once.
 */
export function portalContext(): MiddlewareHandler<PortalEnv> {
  return async function portalContextMiddleware(c, next) {
    const sessionId = readSessionCookie(c);
    const session = sessionId ? await readSession(redisFor(c.get("config")), sessionId) : undefined;
    if (session && sessionId) {
      c.set("session", { id: sessionId, accountId: session.accountId });
      c.set("csrfSecret", sessionId);
    } else {
      let presession = readPresessionCookie(c);
      // Forms are rendered on GET: a visitor gets the value their sign-up/login token is bound to there.
      if (!presession && c.req.method === "GET") {
        presession = newSecret();
        writePresessionCookie(c, presession);
      }
      c.set("csrfSecret", presession);
    }
    await next();
    c.header("Cache-Control", "no-store");
    c.header("Vary", "Cookie");
  };
}

/** 401 problem for the JSON API, a redirect to the login page for pages. */
export function requireSession(kind: "api" | "page"): MiddlewareHandler<PortalEnv> {
  return async function requireSessionMiddleware(c, next) {
    if (c.get("session")) return next();
    if (kind === "page") return c.redirect("/portal/login", 303);
    throw new ApiError("unauthorized", { detail: "Log in to the portal first (POST /portal/api/login)." });
  };
}

const UNSAFE = /^(POST|PUT|PATCH|DELETE)$/;
const FORM = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i;
const originCheck = csrf();

/**
 * CSRF defence on every unsafe request, two independent checks: hono's Origin/Sec-Fetch-Site check (a form
 * posted from another site is refused before its body is read), then the token bound to this visitor
 * (`X-CSRF-Token` header from scripts, `_csrf` field from forms). Either failing is a 403.
 */
export function verifyCsrf(): MiddlewareHandler<PortalEnv> {
  return async function verifyCsrfMiddleware(c, next) {
    if (!UNSAFE.test(c.req.method)) return next();
    await originCheck(c, async () => {});
    let presented = c.req.header("X-CSRF-Token");
    if (presented === undefined && FORM.test(c.req.header("Content-Type") ?? "")) {
      const field = (await c.req.parseBody())._csrf;
      presented = typeof field === "string" ? field : undefined;
    }
    if (!(await csrfTokenMatches(c.get("csrfSecret"), presented))) {
      throw new ApiError("forbidden", {
        detail: "The CSRF token is missing or does not match this session; reload the page and try again.",
      });
    }
    await next();
  };
}
