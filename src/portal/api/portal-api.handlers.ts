import type { RouteHandler } from "@hono/zod-openapi";
import { samplesFor } from "../../docs/code-samples";
import { ApiError } from "../../lib/errors";
import { usageRange } from "../../usage/usage-range";
import { csrfTokenFor } from "../auth/csrf-token";
import { PORTAL_CHALLENGE } from "../auth/portal-session";
import { clearSessionCookie, writeSessionCookie } from "../auth/session-cookie";
import { callerOf, type PortalEnv } from "../portal-env";
import {
  attemptLogin,
  attemptSignUp,
  currentAccount,
  endSession,
  INVALID_LOGIN,
  type Limited,
  SIGNED_UP,
} from "../services/portal-auth";
import {
  applyPlanChange,
  billingPortalUrl,
  billingSummary,
  cancelPendingPlanChange,
  checkoutUrl,
  planChangePreview,
} from "../services/portal-billing";
import { portalDeps } from "../services/portal-deps";
import { createPortalKey, listPortalKeys, revokePortalKey, rotatePortalKey } from "../services/portal-keys";
import { portalUsage } from "../services/portal-usage";
import { isRefused, refusalProblem } from "../services/refusal";
import { presentSession } from "./portal-api.presenters";
import type {
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

const tooMany = (limited: Limited) =>
  new ApiError("rate_limited", {
    detail: "Too many attempts; wait before trying again.",
    headers: { "Retry-After": String(limited.retryAfterSeconds) },
  });

export const csrfHandler: RouteHandler<typeof csrfRoute, PortalEnv> = async (c) => {
  const secret = c.get("csrfSecret");
  if (!secret) throw new Error("portalContext() sets a presession on every GET");
  return c.json({ csrfToken: await csrfTokenFor(secret) }, 200);
};

export const signUpHandler: RouteHandler<typeof signUpRoute, PortalEnv> = async (c) => {
  const result = await attemptSignUp(callerOf(c), c.req.valid("json"));
  if (result.outcome === "limited") throw tooMany(result);
  return c.json({ status: "accepted" as const, detail: SIGNED_UP }, 202);
};

export const loginHandler: RouteHandler<typeof loginRoute, PortalEnv> = async (c) => {
  const result = await attemptLogin(callerOf(c), c.req.valid("json"));
  if (result.outcome === "limited") throw tooMany(result);
  if (result.outcome === "invalid")
    throw new ApiError("unauthorized", {
      detail: INVALID_LOGIN,
      headers: { "WWW-Authenticate": PORTAL_CHALLENGE },
    });
  writeSessionCookie(c, result.session.id, result.session.ttlSeconds);
  return c.json(presentSession(result.account, result.csrfToken), 200);
};

export const logoutHandler: RouteHandler<typeof logoutRoute, PortalEnv> = async (c) => {
  await endSession(callerOf(c));
  clearSessionCookie(c);
  return c.body(null, 204);
};

export const sessionHandler: RouteHandler<typeof sessionRoute, PortalEnv> = async (c) => {
  const account = await currentAccount(callerOf(c));
  return c.json(presentSession(account, await csrfTokenFor(c.get("csrfSecret") as string)), 200);
};

export const listKeysHandler: RouteHandler<typeof listKeysRoute, PortalEnv> = async (c) => {
  return c.json({ keys: await listPortalKeys(portalDeps(callerOf(c))) }, 200);
};

export const createKeyHandler: RouteHandler<typeof createKeyRoute, PortalEnv> = async (c) => {
  const input = c.req.valid("json");
  const issued = await createPortalKey(portalDeps(callerOf(c)), {
    name: input.name,
    expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
  });
  if (isRefused(issued)) throw refusalProblem(issued);
  const { curl } = await samplesFor(c.get("config"), c.get("log"), c.get("services").portalBase, issued.key);
  return c.json({ ...issued.record, key: issued.key, curl }, 201);
};

export const rotateKeyHandler: RouteHandler<typeof rotateKeyRoute, PortalEnv> = async (c) => {
  const rotated = await rotatePortalKey(
    portalDeps(callerOf(c)),
    c.req.valid("param").id,
    c.req.valid("json")?.overlapHours,
  );
  const { curl } = await samplesFor(c.get("config"), c.get("log"), c.get("services").portalBase, rotated.key);
  return c.json({ ...rotated.record, key: rotated.key, curl, previous: rotated.previous }, 201);
};

export const revokeKeyHandler: RouteHandler<typeof revokeKeyRoute, PortalEnv> = async (c) => {
  await revokePortalKey(portalDeps(callerOf(c)), c.req.valid("param").id);
  return c.body(null, 204);
};

export const usageHandler: RouteHandler<typeof usageRoute, PortalEnv> = async (c) => {
  const query = c.req.valid("query");
  const now = Date.now();
  const range = usageRange(query, now);
  const account = await currentAccount(callerOf(c));
  return c.json(await portalUsage(portalDeps(callerOf(c)), account, { range, keyId: query.keyId, now }), 200);
};

export const billingHandler: RouteHandler<typeof billingRoute, PortalEnv> = async (c) => {
  return c.json(billingSummary(await currentAccount(callerOf(c)), c.get("config")), 200);
};

export const checkoutHandler: RouteHandler<typeof checkoutRoute, PortalEnv> = async (c) => {
  return c.json({ url: await checkoutUrl(callerOf(c), c.req.valid("json").tier) }, 201);
};

export const billingPortalHandler: RouteHandler<typeof billingPortalRoute, PortalEnv> = async (c) => {
  return c.json({ url: await billingPortalUrl(callerOf(c)) }, 201);
};

export const planChangePreviewHandler: RouteHandler<typeof planChangePreviewRoute, PortalEnv> = async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await planChangePreview(callerOf(c), c.req.valid("json").tier), 200);
};

export const planChangeHandler: RouteHandler<typeof planChangeRoute, PortalEnv> = async (c) => {
  const { tier, prorationDate } = c.req.valid("json");
  const result = await applyPlanChange(callerOf(c), tier, prorationDate);
  c.header("Cache-Control", "no-store");
  return c.json(
    {
      from: result.from,
      to: result.to,
      effective: result.effective,
      effectiveAt: result.effectiveAt,
      tier: (await currentAccount(callerOf(c))).tier,
    },
    200,
  );
};

export const cancelScheduledChangeHandler: RouteHandler<
  typeof cancelScheduledChangeRoute,
  PortalEnv
> = async (c) => {
  await cancelPendingPlanChange(callerOf(c));
  c.header("Cache-Control", "no-store");
  return c.json({ tier: (await currentAccount(callerOf(c))).tier, scheduledChange: null }, 200);
};
