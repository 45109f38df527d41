import { Hono } from "hono";
import { requireSession, verifyCsrf } from "../auth/portal-session";
import type { PortalEnv } from "../portal-env";
import { renderPageError } from "./page-error";
import { pageSecurity } from "./page-security";
import {
  billingPage,
  checkoutSubmit,
  createKeySubmit,
  docsKeyPage,
  docsWithKey,
  homePage,
  keysPage,
  loginForm,
  loginSubmit,
  logoutSubmit,
  manageBillingSubmit,
  pageNotFound,
  revokeConfirmPage,
  revokeSubmit,
  rotateConfirmPage,
  rotateSubmit,
  signUpForm,
  signUpSubmit,
  usagePage,
} from "./portal-pages.handlers";

const isApiPath = (path: string) => path === "/portal/api" || path.startsWith("/portal/api/");

/**
 * The portal's HTML pages, mounted at /portal. Signed-in pages redirect to the login page without a session;
 * every POST passes the CSRF checks first. Errors render as an HTML page with the problem's status.
 */
export function createPortalPagesRouter() {
  const signedIn = [requireSession("page"), verifyCsrf()] as const;
  const anonymous = verifyCsrf();
  const router = new Hono<PortalEnv>();
  router.use("*", pageSecurity());
  router.onError(renderPageError);
  return router
    .get("/", homePage)
    .get("/signup", signUpForm)
    .post("/signup", anonymous, signUpSubmit)
    .get("/login", loginForm)
    .post("/login", anonymous, loginSubmit)
    .post("/logout", ...signedIn, logoutSubmit)
    .get("/keys", ...signedIn, keysPage)
    .post("/keys", ...signedIn, createKeySubmit)
    .get("/keys/:id/revoke", ...signedIn, revokeConfirmPage)
    .post("/keys/:id/revoke", ...signedIn, revokeSubmit)
    .get("/keys/:id/rotate", ...signedIn, rotateConfirmPage)
    .post("/keys/:id/rotate", ...signedIn, rotateSubmit)
    .get("/usage", ...signedIn, usagePage)
    .get("/billing", ...signedIn, billingPage)
    .post("/billing/checkout", ...signedIn, checkoutSubmit)
    .post("/billing/manage", ...signedIn, manageBillingSubmit)
    .get("/docs", ...signedIn, docsKeyPage)
    .post("/docs", ...signedIn, docsWithKey)
    .all("*", (c, next) => (isApiPath(c.req.path) ? next() : pageNotFound(c)));
}
