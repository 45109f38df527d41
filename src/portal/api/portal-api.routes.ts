import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { problemResponses, publicRoute } from "../../lib/openapi";
import { requireSession, verifyCsrf } from "../auth/portal-session";
import { requireVerifiedEmail } from "../auth/require-verified";
import {
  BillingSchema,
  CheckoutSchema,
  CreatedPortalKeySchema,
  CreatePortalKeySchema,
  CsrfSchema,
  KeyIdParam,
  LoginSchema,
  PlanChangeAppliedSchema,
  PlanChangePreviewRequestSchema,
  PlanChangePreviewSchema,
  PlanChangeRequestSchema,
  PortalKeySchema,
  PortalUsageQuerySchema,
  PortalUsageSchema,
  RedirectSchema,
  RotatedPortalKeySchema,
  RotatePortalKeySchema,
  ScheduledChangeCancelledSchema,
  SessionSchema,
  SignUpAnswerSchema,
  SignUpSchema,
} from "./portal-api.schemas";

/**
 * The portal's JSON API, mounted at /portal/api: what the pages do, for scripts. Each route names its guard:
 * signed-in routes check the session first (401), then, for POST/DELETE, the CSRF token (403); sign-up and
 * login check the CSRF token bound to the presession cookie (GET /csrf hands it out).
 */
const signedIn: MiddlewareHandler[] = [requireSession("api"), verifyCsrf()];
/** Portal accounts: creating keys and buying plans wait for a verified address (PORTAL_REQUIRE_VERIFIED_EMAIL). */
const signedInVerified: MiddlewareHandler[] = [...signedIn, requireVerifiedEmail("api")];
const anonymous: MiddlewareHandler[] = [verifyCsrf()];
const session = [{ portalSession: [] }];
const sessionAndToken = [{ portalSession: [], csrfToken: [] }];
const presessionAndToken = [{ portalPresession: [], csrfToken: [] }];
const tags = ["Portal"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
/** A JSON request body with an example (what tools and the reference's "Try it" start from). */
const body = <T>(schema: T, example: unknown) => ({
  body: { required: true, content: { "application/json": { schema, example } } },
});
const optionalBody = <T>(schema: T, example: unknown) => ({
  body: { required: false, content: { "application/json": { schema, example } } },
});

export const csrfRoute = createRoute({
  operationId: "csrf",
  method: "get",
  path: "/csrf",
  tags,
  ...publicRoute,
  summary: "A CSRF token for sign-up and login (sets the presession cookie it is bound to)",
  middleware: anonymous,
  responses: { 200: { description: "The token", ...json(CsrfSchema) } },
});

export const signUpRoute = createRoute({
  operationId: "signUp",
  method: "post",
  path: "/signup",
  tags,
  security: presessionAndToken,
  summary: "Create a free account; the same answer whether or not the email was free",
  middleware: anonymous,
  request: body(SignUpSchema, { email: "dev@example.com", password: "correct horse battery staple" }),
  responses: {
    202: { description: "Accepted: log in next", ...json(SignUpAnswerSchema) },
    ...problemResponses(400, 403, 429),
  },
});

export const loginRoute = createRoute({
  operationId: "login",
  method: "post",
  path: "/login",
  tags,
  security: presessionAndToken,
  summary: "Log in: sets the session cookie and returns the CSRF token bound to it",
  middleware: anonymous,
  request: body(LoginSchema, { email: "dev@example.com", password: "correct horse battery staple" }),
  responses: {
    200: { description: "Signed in", ...json(SessionSchema) },
    ...problemResponses(400, 401, 403, 429),
  },
});

export const logoutRoute = createRoute({
  operationId: "logout",
  method: "post",
  path: "/logout",
  tags,
  security: sessionAndToken,
  summary: "Log out: ends the session everywhere it is used",
  middleware: signedIn,
  responses: { 204: { description: "Signed out" }, ...problemResponses(401, 403) },
});

export const sessionRoute = createRoute({
  operationId: "session",
  method: "get",
  path: "/session",
  tags,
  security: session,
  summary: "Who is signed in, and the CSRF token of this session",
  middleware: signedIn,
  responses: { 200: { description: "The session", ...json(SessionSchema) }, ...problemResponses(401) },
});

export const listKeysRoute = createRoute({
  operationId: "listKeys",
  method: "get",
  path: "/keys",
  tags,
  security: session,
  summary: "Your keys, newest first (never their secrets)",
  middleware: signedIn,
  responses: {
    200: { description: "The keys", ...json(z.object({ keys: z.array(PortalKeySchema) })) },
    ...problemResponses(401),
  },
});

export const createKeyRoute = createRoute({
  operationId: "createKey",
  method: "post",
  path: "/keys",
  tags,
  security: sessionAndToken,
  summary: "Create a key (the key itself is in this response only)",
  middleware: signedInVerified,
  request: body(CreatePortalKeySchema, { name: "laptop" }),
  responses: {
    201: { description: "The new key", ...json(CreatedPortalKeySchema) },
    ...problemResponses(400, 401, 403, 409),
  },
});

export const rotateKeyRoute = createRoute({
  operationId: "rotateKey",
  method: "post",
  path: "/keys/{id}/rotate",
  tags,
  security: sessionAndToken,
  summary: "Rotate a key: a successor now, the old key working until the overlap ends",
  middleware: signedIn,
  request: { params: KeyIdParam, ...optionalBody(RotatePortalKeySchema, { overlapHours: 24 }) },
  responses: {
    201: { description: "The successor (shown once) and the old key", ...json(RotatedPortalKeySchema) },
    ...problemResponses(400, 401, 403, 404, 409),
  },
});

export const revokeKeyRoute = createRoute({
  operationId: "revokeKey",
  method: "delete",
  path: "/keys/{id}",
  tags,
  security: sessionAndToken,
  summary: "Revoke a key: refused at the edge from the next request on",
  middleware: signedIn,
  request: { params: KeyIdParam },
  responses: { 204: { description: "Revoked" }, ...problemResponses(401, 403, 404) },
});

export const usageRoute = createRoute({
  operationId: "usage",
  method: "get",
  path: "/usage",
  tags,
  security: session,
  summary: "Requests per key and day by outcome, and this month's quota",
  middleware: signedIn,
  request: { query: PortalUsageQuerySchema },
  responses: {
    200: { description: "The series", ...json(PortalUsageSchema) },
    ...problemResponses(400, 401, 404),
  },
});

export const billingRoute = createRoute({
  operationId: "billing",
  method: "get",
  path: "/billing",
  tags,
  security: session,
  summary: "Your plan, the subscription's state and what you can upgrade to",
  middleware: signedIn,
  responses: { 200: { description: "Billing", ...json(BillingSchema) }, ...problemResponses(401) },
});

export const checkoutRoute = createRoute({
  operationId: "checkout",
  method: "post",
  path: "/billing/checkout",
  tags,
  security: sessionAndToken,
  summary: "Start Stripe Checkout for a tier (the tier changes once Stripe confirms payment)",
  middleware: signedInVerified,
  request: body(CheckoutSchema, { tier: "pro" }),
  responses: {
    201: { description: "Send the browser to `url`", ...json(RedirectSchema) },
    ...problemResponses(400, 401, 403, 409, 502, 503),
  },
});

export const billingPortalRoute = createRoute({
  operationId: "billingPortal",
  method: "post",
  path: "/billing/portal",
  tags,
  security: sessionAndToken,
  summary: "Open the Stripe billing portal (change plan or card, invoices, cancel)",
  middleware: signedIn,
  responses: {
    201: { description: "Send the browser to `url`", ...json(RedirectSchema) },
    ...problemResponses(401, 403, 409, 502, 503),
  },
});

export const planChangePreviewRoute = createRoute({
  operationId: "previewPlanChange",
  method: "post",
  path: "/billing/plan-change/preview",
  tags,
  security: sessionAndToken,
  summary: "What changing your subscription's plan would cost (Stripe's invoice preview); nothing changes",
  middleware: signedIn,
  request: body(PlanChangePreviewRequestSchema, { tier: "pro" }),
  responses: {
    200: { description: "The preview", ...json(PlanChangePreviewSchema) },
    ...problemResponses(400, 401, 403, 409, 502, 503),
  },
});

export const planChangeRoute = createRoute({
  operationId: "changePlan",
  method: "post",
  path: "/billing/plan-change",
  tags,
  security: sessionAndToken,
  summary:
    "Change your subscription's plan: upgrades at once (charged prorated), downgrades when the period ends unless configured otherwise",
  middleware: signedIn,
  request: body(PlanChangeRequestSchema, { tier: "basic" }),
  responses: {
    200: { description: "Applied, or scheduled for the period's end", ...json(PlanChangeAppliedSchema) },
    ...problemResponses(400, 401, 403, 409, 502, 503),
  },
});

export const cancelScheduledChangeRoute = createRoute({
  operationId: "cancelScheduledPlanChange",
  method: "delete",
  path: "/billing/plan-change",
  tags,
  security: sessionAndToken,
  summary: "Cancel the plan change pending at the period's end: you keep your current plan",
  middleware: signedIn,
  responses: {
    200: { description: "Nothing is pending any more", ...json(ScheduledChangeCancelledSchema) },
    ...problemResponses(401, 403, 409, 502, 503),
  },
});
