import { Hono } from "hono";
import { isUnderPrefix } from "../../lib/paths";
import { requireSession, verifyCsrf } from "../auth/portal-session";
import { requireVerifiedEmail } from "../auth/require-verified";
import type { PortalEnv } from "../portal-env";
import {
  changeEmailSubmit,
  changePasswordSubmit,
  forgotForm,
  forgotSubmit,
  invitationForm,
  invitationSubmit,
  resendSubmit,
  resetForm,
  resetSubmit,
  settingsPage,
  verifyPage,
  verifySubmit,
} from "./accounts-pages.handlers";
import { planChangePage, planChangeSubmit, scheduledChangeCancelSubmit } from "./billing-pages.handlers";
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

const isApiPath = (path: string) => isUnderPrefix(path, ["/portal/api"]);

/**
 * The portal's HTML pages, mounted at /portal. Signed-in pages redirect to the login page without a session;
 * every POST passes the CSRF checks first. Errors render as an HTML page with the problem's status.
 */
export function createPortalPagesRouter() {
  const signedIn = [requireSession("page"), verifyCsrf()] as const;
  const anonymous = verifyCsrf();
  // Portal accounts: keys and plans wait for a verified address (PORTAL_REQUIRE_VERIFIED_EMAIL).
  const verified = requireVerifiedEmail("page");
  const router = new Hono<PortalEnv>();
  router.use("*", pageSecurity());
  router.onError(renderPageError);
  return (
    router
      .get("/", homePage)
      .get("/signup", signUpForm)
      .post("/signup", anonymous, signUpSubmit)
      .get("/login", loginForm)
      .post("/login", anonymous, loginSubmit)
      .post("/logout", ...signedIn, logoutSubmit)
      .get("/keys", ...signedIn, keysPage)
      .post("/keys", ...signedIn, verified, createKeySubmit)
      .get("/keys/:id/revoke", ...signedIn, revokeConfirmPage)
      .post("/keys/:id/revoke", ...signedIn, revokeSubmit)
      .get("/keys/:id/rotate", ...signedIn, rotateConfirmPage)
      .post("/keys/:id/rotate", ...signedIn, rotateSubmit)
      .get("/usage", ...signedIn, usagePage)
      .get("/billing", ...signedIn, billingPage)
      .post("/billing/checkout", ...signedIn, verified, checkoutSubmit)
      .post("/billing/manage", ...signedIn, manageBillingSubmit)
      .get("/billing/change", ...signedIn, planChangePage)
      .post("/billing/change", ...signedIn, planChangeSubmit)
      .post("/billing/change/cancel", ...signedIn, scheduledChangeCancelSubmit)
      .get("/docs", ...signedIn, docsKeyPage)
      .post("/docs", ...signedIn, docsWithKey)
      // Portal accounts: the links in the mails, forgot password, settings.
      .get("/verify", verifyPage)
      .post("/verify", anonymous, verifySubmit)
      .get("/forgot", forgotForm)
      .post("/forgot", anonymous, forgotSubmit)
      .get("/reset", resetForm)
      .post("/reset", anonymous, resetSubmit)
      .get("/invitation", invitationForm)
      .post("/invitation", anonymous, invitationSubmit)
      .get("/settings", ...signedIn, settingsPage)
      .post("/settings/verification", ...signedIn, resendSubmit)
      .post("/settings/email", ...signedIn, changeEmailSubmit)
      .post("/settings/password", ...signedIn, changePasswordSubmit)
      // Last: any other /portal/* path is an HTML 404 (the JSON API keeps its problem+json).
      .all("*", (c, next) => (isApiPath(c.req.path) ? next() : pageNotFound(c)))
  );
}
