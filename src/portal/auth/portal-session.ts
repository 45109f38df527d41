import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { ApiError } from "../../lib/errors";
import type { PortalEnv } from "../portal-env";
import { csrfTokenMatches } from "./csrf-token";
import {
  readPresessionCookie,
  readSessionCookie,
  SESSION_COOKIE_NAME,
  writePresessionCookie,
} from "./session-cookie";
import { newSecret, readSession } from "./session-store";

/**
 * First middleware of every portal route: the session named by the cookie if it is live, and what the
 * visitor's CSRF token is bound to. Nothing the portal answers may be cached anywhere: it is per developer and may carry a key shown once.
 */
export function portalContext(): MiddlewareHandler<PortalEnv> {
  return async function portalContextMiddleware(c, next) {
    const sessionId = readSessionCookie(c);
    const session = sessionId ? await readSession(c.get("services").redis, sessionId) : undefined;
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

/**
 * The challenge every portal API 401 carries: RFC 9110 11.6.1 requires one. The session is a cookie, for
 * which HTTP has no registered scheme; this is the form of draft-broyer-http-cookie-auth (scheme `Cookie`,
 * where to log in, which cookie), so a client can at least tell what to do.
 */
export const PORTAL_CHALLENGE = `Cookie realm="portal", form-action="/portal/api/login", cookie-name="${SESSION_COOKIE_NAME}"`;

/** 401 problem (with WWW-Authenticate) for the JSON API, a redirect to the login page for pages. */
export function requireSession(kind: "api" | "page"): MiddlewareHandler<PortalEnv> {
  return async function requireSessionMiddleware(c, next) {
    if (c.get("session")) return next();
    if (kind === "page") return c.redirect("/portal/login", 303);
    throw new ApiError("unauthorized", {
      detail: "Log in to the portal first (POST /portal/api/login).",
      headers: { "WWW-Authenticate": PORTAL_CHALLENGE },
    });
  };
}

const UNSAFE = /^(POST|PUT|PATCH|DELETE)$/;
const FORM = /^(application\/x-www-form-urlencoded|multipart\/form-data)/i;
const originCheck = csrf();

/**
 * CSRF defence on every unsafe request. A script (or the portal's own pages' fetch calls) sends the token bound
 * to this visitor as `X-CSRF-Token`: a valid one is enough, whatever the body or its Content-Type (a page on
 * another site cannot set a custom header without a CORS preflight, which the portal never grants). A form
 * sends it as the `_csrf` field and must also pass hono's Origin/Sec-Fetch-Site check, which refuses a form
 * posted from another site before its body is read. Every refusal is a 403 problem saying which check failed.
 */
export function verifyCsrf(): MiddlewareHandler<PortalEnv> {
  return async function verifyCsrfMiddleware(c, next) {
    if (!UNSAFE.test(c.req.method)) return next();
    const headerToken = c.req.header("X-CSRF-Token");
    if (headerToken !== undefined) {
      if (!(await csrfTokenMatches(c.get("csrfSecret"), headerToken))) throw tokenMismatch();
      return next();
    }
    try {
      await originCheck(c, async () => {});
    } catch {
      throw new ApiError("forbidden", {
        detail:
          "This request came from another site (Origin or Sec-Fetch-Site) and carries no X-CSRF-Token header. " +
          "Scripts: send the token from GET /portal/api/csrf (or the login answer) as X-CSRF-Token.",
      });
    }
    let presented: string | undefined;
    if (FORM.test(c.req.header("Content-Type") ?? "")) {
      const field = (await c.req.parseBody())._csrf;
      presented = typeof field === "string" ? field : undefined;
    }
    if (!(await csrfTokenMatches(c.get("csrfSecret"), presented))) throw tokenMismatch();
    await next();
  };
}

function tokenMismatch(): ApiError {
  return new ApiError("forbidden", {
    detail: "The CSRF token is missing or does not match this session; reload the page and try again.",
  });
}
