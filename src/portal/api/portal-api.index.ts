import { createRouter } from "../../lib/create-router";
import { documentHandler } from "../../lib/openapi";
import { PRESESSION_COOKIE_NAME, SESSION_COOKIE_NAME } from "../auth/session-cookie";
import type { PortalEnv } from "../portal-env";
import {
  acceptInvitationHandler,
  changeEmailHandler,
  changePasswordHandler,
  forgotPasswordHandler,
  resendVerificationHandler,
  resetPasswordHandler,
  verifyEmailHandler,
} from "./accounts.handlers";
import {
  acceptInvitationRoute,
  changeEmailRoute,
  changePasswordRoute,
  forgotPasswordRoute,
  resendVerificationRoute,
  resetPasswordRoute,
  verifyEmailRoute,
} from "./accounts.routes";
import {
  billingHandler,
  billingPortalHandler,
  cancelScheduledChangeHandler,
  checkoutHandler,
  createKeyHandler,
  csrfHandler,
  listKeysHandler,
  loginHandler,
  logoutHandler,
  planChangeHandler,
  planChangePreviewHandler,
  revokeKeyHandler,
  rotateKeyHandler,
  sessionHandler,
  signUpHandler,
  usageHandler,
} from "./portal-api.handlers";
import {
  billingPortalRoute,
  billingRoute,
  cancelScheduledChangeRoute,
  checkoutRoute,
  createKeyRoute,
  csrfRoute,
  listKeysRoute,
  loginRoute,
  logoutRoute,
  planChangePreviewRoute,
  planChangeRoute,
  revokeKeyRoute,
  rotateKeyRoute,
  sessionRoute,
  signUpRoute,
  usageRoute,
} from "./portal-api.routes";

/** The portal's JSON API, mounted at /portal/api, with its own OpenAPI document at /portal/api/openapi.json. */
export function createPortalApiRouter() {
  const router = createRouter<PortalEnv>();
  router.openAPIRegistry.registerComponent("securitySchemes", "portalSession", {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE_NAME,
    description: "Set by POST /portal/api/login (HttpOnly, Secure, SameSite=Lax)",
  });
  router.openAPIRegistry.registerComponent("securitySchemes", "portalPresession", {
    type: "apiKey",
    in: "cookie",
    name: PRESESSION_COOKIE_NAME,
    description: "Set by GET /portal/api/csrf for visitors who are not signed in",
  });
  router.openAPIRegistry.registerComponent("securitySchemes", "csrfToken", {
    type: "apiKey",
    in: "header",
    name: "X-CSRF-Token",
    description: "From GET /portal/api/csrf (signed out) or the login answer and GET /portal/api/session",
  });
  router.get(
    "/openapi.json",
    documentHandler(
      router as never,
      {
        openapi: "3.1.0",
        servers: [{ url: "/portal/api", description: "This gateway's developer portal" }],
        info: {
          title: "Developer portal API",
          version: "1",
          description:
            "What the portal's pages do, for scripts: behind the portal's session cookie and a CSRF token.",
        },
      },
      { Portal: "Sign-up and sessions, your API keys, usage and billing" },
    ),
  );
  return (
    router
      .openapi(csrfRoute, csrfHandler)
      .openapi(signUpRoute, signUpHandler)
      .openapi(loginRoute, loginHandler)
      .openapi(logoutRoute, logoutHandler)
      .openapi(sessionRoute, sessionHandler)
      .openapi(listKeysRoute, listKeysHandler)
      .openapi(createKeyRoute, createKeyHandler)
      .openapi(rotateKeyRoute, rotateKeyHandler)
      .openapi(revokeKeyRoute, revokeKeyHandler)
      .openapi(usageRoute, usageHandler)
      .openapi(billingRoute, billingHandler)
      .openapi(checkoutRoute, checkoutHandler)
      .openapi(billingPortalRoute, billingPortalHandler)
      .openapi(planChangePreviewRoute, planChangePreviewHandler)
      .openapi(planChangeRoute, planChangeHandler)
      .openapi(cancelScheduledChangeRoute, cancelScheduledChangeHandler)
      // Portal accounts: verification, password reset, invitations, settings.
      .openapi(verifyEmailRoute, verifyEmailHandler)
      .openapi(resendVerificationRoute, resendVerificationHandler)
      .openapi(forgotPasswordRoute, forgotPasswordHandler)
      .openapi(resetPasswordRoute, resetPasswordHandler)
      .openapi(acceptInvitationRoute, acceptInvitationHandler)
      .openapi(changeEmailRoute, changeEmailHandler)
      .openapi(changePasswordRoute, changePasswordHandler)
  );
}
