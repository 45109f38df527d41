import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { problemResponses } from "../../lib/openapi";
import { requireSession, verifyCsrf } from "../auth/portal-session";
import {
  AcceptedSchema,
  ChangeEmailSchema,
  ChangePasswordSchema,
  ForgotPasswordSchema,
  ResetPasswordSchema,
  VerifiedEmailSchema,
  VerifyEmailSchema,
} from "./accounts.schemas";
import { SessionSchema } from "./portal-api.schemas";

/**
 * Portal accounts in the JSON API (mounted at /portal/api with the other portal routes): verify an address,
 * reset a password, accept an invitation, change the address or the password. Links in the mails lead to
 * the pages (/portal/verify, /portal/reset, /portal/invitation); scripts post the link's token here.
 */
const signedIn: MiddlewareHandler[] = [requireSession("api"), verifyCsrf()];
const anonymous: MiddlewareHandler[] = [verifyCsrf()];
const sessionAndToken = [{ portalSession: [], csrfToken: [] }];
const presessionAndToken: Array<Record<string, string[]>> = [
  { portalPresession: [], csrfToken: [] },
  { portalSession: [], csrfToken: [] },
];
const tags = ["Portal accounts"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const body = <T>(schema: T) => ({ body: { required: true, ...json(schema) } });

export const verifyEmailRoute = createRoute({
  method: "post",
  path: "/email/verify",
  tags,
  security: presessionAndToken,
  summary: "Use a verification or email-change link (single use, 24 hours)",
  middleware: anonymous,
  request: body(VerifyEmailSchema),
  responses: {
    200: {
      description: "The address is verified (or is the account's new one)",
      ...json(VerifiedEmailSchema),
    },
    ...problemResponses(400, 403, 409),
  },
});

export const resendVerificationRoute = createRoute({
  method: "post",
  path: "/email/verification",
  tags,
  security: sessionAndToken,
  summary: "Mail a new verification link (at most 3 an hour; earlier links stop working)",
  middleware: signedIn,
  responses: {
    202: { description: "Sent", ...json(AcceptedSchema) },
    ...problemResponses(401, 403, 409, 429, 502, 503),
  },
});

export const forgotPasswordRoute = createRoute({
  method: "post",
  path: "/password/forgot",
  tags,
  security: presessionAndToken,
  summary: "Ask for a password reset link; the same answer whether or not the address has an account",
  middleware: anonymous,
  request: body(ForgotPasswordSchema),
  responses: {
    202: { description: "If the address has an account, a link is on its way", ...json(AcceptedSchema) },
    ...problemResponses(400, 403, 429, 503),
  },
});

export const resetPasswordRoute = createRoute({
  method: "post",
  path: "/password/reset",
  tags,
  security: presessionAndToken,
  summary: "Set a new password from a reset link (single use, 30 minutes); every session of the account ends",
  middleware: anonymous,
  request: body(ResetPasswordSchema),
  responses: { 204: { description: "Password set: log in with it" }, ...problemResponses(400, 403) },
});

export const acceptInvitationRoute = createRoute({
  method: "post",
  path: "/invitation/accept",
  tags,
  security: presessionAndToken,
  summary: "Accept an invitation: choose a password (verifies the address) and sign in",
  middleware: anonymous,
  request: body(ResetPasswordSchema),
  responses: { 200: { description: "Signed in", ...json(SessionSchema) }, ...problemResponses(400, 403) },
});

export const changeEmailRoute = createRoute({
  method: "post",
  path: "/account/email",
  tags,
  security: sessionAndToken,
  summary: "Change your address: a link goes to the new one (it applies when opened), a notice to the old",
  middleware: signedIn,
  request: body(ChangeEmailSchema),
  responses: {
    202: { description: "Link sent to the new address", ...json(AcceptedSchema) },
    ...problemResponses(400, 401, 403, 502, 503),
  },
});

export const changePasswordRoute = createRoute({
  method: "post",
  path: "/account/password",
  tags,
  security: sessionAndToken,
  summary: "Change your password (the current one required); your other sessions end",
  middleware: signedIn,
  request: body(ChangePasswordSchema),
  responses: { 204: { description: "Changed" }, ...problemResponses(400, 401, 403, 503) },
});
