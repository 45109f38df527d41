import type { RouteHandler } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { writeSessionCookie } from "../auth/session-cookie";
import { callerOf, type PortalEnv } from "../portal-env";
import { RESET_REQUESTED } from "../services/password-reset";
import {
  acceptInvitation,
  changeOwnEmail,
  changeOwnPassword,
  confirmEmailLink,
  requestPasswordReset,
  resendVerification,
  resetPassword,
} from "../services/portal-accounts";
import type { Limited } from "../services/portal-auth";
import { isRefused, refusalProblem } from "../services/refusal";
import type {
  acceptInvitationRoute,
  changeEmailRoute,
  changePasswordRoute,
  forgotPasswordRoute,
  resendVerificationRoute,
  resetPasswordRoute,
  verifyEmailRoute,
} from "./accounts.routes";
import { presentSession } from "./portal-api.presenters";

const tooMany = (limited: Limited) =>
  new ApiError("rate_limited", {
    detail: "Too many emails asked for; wait before trying again.",
    headers: { "Retry-After": String(limited.retryAfterSeconds) },
  });

export const EMAIL_CHANGE_SENT =
  "We sent a link to the new address; your address changes when you open it. Your current address got a notice.";

export const verifyEmailHandler: RouteHandler<typeof verifyEmailRoute, PortalEnv> = async (c) => {
  const confirmed = await confirmEmailLink(callerOf(c), c.req.valid("json").token);
  if (isRefused(confirmed)) throw refusalProblem(confirmed);
  return c.json({ email: confirmed.email, emailVerified: true as const, changed: confirmed.change }, 200);
};

export const resendVerificationHandler: RouteHandler<typeof resendVerificationRoute, PortalEnv> = async (
  c,
) => {
  const result = await resendVerification(callerOf(c));
  if (isRefused(result)) throw refusalProblem(result);
  if (result.outcome === "limited") throw tooMany(result);
  return c.json(
    { status: "accepted" as const, detail: "We sent a new link; earlier links no longer work." },
    202,
  );
};

export const forgotPasswordHandler: RouteHandler<typeof forgotPasswordRoute, PortalEnv> = async (c) => {
  const result = await requestPasswordReset(callerOf(c), c.req.valid("json").email);
  if (result.outcome === "limited") throw tooMany(result);
  return c.json({ status: "accepted" as const, detail: RESET_REQUESTED }, 202);
};

export const resetPasswordHandler: RouteHandler<typeof resetPasswordRoute, PortalEnv> = async (c) => {
  const result = await resetPassword(callerOf(c), c.req.valid("json"));
  if (isRefused(result)) throw refusalProblem(result);
  return c.body(null, 204);
};

export const acceptInvitationHandler: RouteHandler<typeof acceptInvitationRoute, PortalEnv> = async (c) => {
  const signedIn = await acceptInvitation(callerOf(c), c.req.valid("json"));
  if (isRefused(signedIn)) throw refusalProblem(signedIn);
  writeSessionCookie(c, signedIn.session.id, signedIn.session.ttlSeconds);
  return c.json(presentSession(signedIn.account, signedIn.csrfToken), 200);
};

export const changeEmailHandler: RouteHandler<typeof changeEmailRoute, PortalEnv> = async (c) => {
  const result = await changeOwnEmail(callerOf(c), c.req.valid("json"));
  if (isRefused(result)) throw refusalProblem(result);
  return c.json({ status: "accepted" as const, detail: EMAIL_CHANGE_SENT }, 202);
};

export const changePasswordHandler: RouteHandler<typeof changePasswordRoute, PortalEnv> = async (c) => {
  const result = await changeOwnPassword(callerOf(c), c.req.valid("json"));
  if (isRefused(result)) throw refusalProblem(result);
  return c.body(null, 204);
};
