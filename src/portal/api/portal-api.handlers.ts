import type { RouteHandler } from "@hono/zod-openapi";
import { samplesFor } from "../../docs/code-samples";
import { ApiError } from "../../lib/errors";
import { publicBaseUrl } from "../../lib/public-origin";
import { csrfTokenFor } from "../auth/csrf-token";
import { PORTAL_CHALLENGE } from "../auth/portal-session";
import type { PortalEnv } from "../portal-env";
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
import { lastDays, portalUsage } from "../services/portal-usage";
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
  const result = await attemptSignUp(c, c.req.valid("json"));
  if (result.outcome === "limited") throw tooMany(result);
  return c.json({ status: "accepted" as const, detail: SIGNED_UP }, 202);
};

export const loginHandler: RouteHandler<typeof loginRoute, PortalEnv> = async (c) => {
  const result = await attemptLogin(c, c.req.valid("json"));
  if (result.outcome === "limited") throw tooMany(result);
  if (result.outcome === "invalid")
    throw new ApiError("unauthorized", {
      detail: INVALID_LOGIN,
      headers: { "WWW-Authenticate": PORTAL_CHALLENGE },
    });
  return c.json(presentSession(result.account, result.csrfToken), 200);
};

export const logoutHandler: RouteHandler<typeof logoutRoute, PortalEnv> = async (c) => {
  await endSession(c);
  return c.body(null, 204);
};

export const sessionHandler: RouteHandler<typeof sessionRoute, PortalEnv> = async (c) => {
  const account = await currentAccount(c);
  return c.json(presentSession(account, await csrfTokenFor(c.get("csrfSecret") as string)), 200);
};

export const listKeysHandler: RouteHandler<typeof listKeysRoute, PortalEnv> = async (c) => {
  return c.json({ keys: await listPortalKeys(portalDeps(c)) }, 200);
};

export const createKeyHandler: RouteHandler<typeof createKeyRoute, PortalEnv> = async (c) => {
  const input = c.req.valid("json");
  const issued = await createPortalKey(portalDeps(c), {
    name: input.name,
    expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
  });
  const { curl } = await samplesFor(
    c.get("config"),
    c.get("log"),
    publicBaseUrl(c.get("config"), c.req.url),
    issued.key,
  );
  return c.json({ ...issued.record, key: issued.key, curl }, 201);
};

export const rotateKeyHandler: RouteHandler<typeof rotateKeyRoute, PortalEnv> = async (c) => {
  const rotated = await rotatePortalKey(
    portalDeps(c),
    c.req.valid("param").id,
    c.req.valid("json")?.overlapHours,
  );
  const { curl } = await samplesFor(
    c.get("config"),
    c.get("log"),
    publicBaseUrl(c.get("config"), c.req.url),
    rotated.key,
  );
  return c.json({ ...rotated.record, key: rotated.key, curl, previous: rotated.previous }, 201);
};

export const revokeKeyHandler: RouteHandler<typeof revokeKeyRoute, PortalEnv> = async (c) => {
  await revokePortalKey(portalDeps(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const usageHandler: RouteHandler<typeof usageRoute, PortalEnv> = async (c) => {
  const query = c.req.valid("query");
  const now = Date.now();
  const range = usageRange(query, now);
  const account = await currentAccount(c);
  return c.json(await portalUsage(portalDeps(c), account, { range, keyId: query.keyId, now }), 200);
};

const MAX_USAGE_DAYS = 400;

/** The requested range, defaulting to the last 30 days; at most 400 days, as Postgres keeps. */
function usageRange(query: { from?: string; to?: string }, now: number): { from: string; to: string } {
  const to = query.to ?? lastDays(now).to;
  const from = query.from ?? lastDays(Date.parse(`${to}T00:00:00Z`)).from;
  const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  if (span < 0 || span >= MAX_USAGE_DAYS) {
    throw new ApiError("validation_failed", {
      detail: `from must not be after to, and the range at most ${MAX_USAGE_DAYS} days.`,
    });
  }
  return { from, to };
}

export const billingHandler: RouteHandler<typeof billingRoute, PortalEnv> = async (c) => {
  return c.json(billingSummary(await currentAccount(c), c.get("config")), 200);
};

export const checkoutHandler: RouteHandler<typeof checkoutRoute, PortalEnv> = async (c) => {
  return c.json({ url: await checkoutUrl(c, c.req.valid("json").tier) }, 201);
};

export const billingPortalHandler: RouteHandler<typeof billingPortalRoute, PortalEnv> = async (c) => {
  return c.json({ url: await billingPortalUrl(c) }, 201);
};

export const planChangePreviewHandler: RouteHandler<typeof planChangePreviewRoute, PortalEnv> = async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await planChangePreview(c, c.req.valid("json").tier), 200);
};

export const planChangeHandler: RouteHandler<typeof planChangeRoute, PortalEnv> = async (c) => {
  const { tier, prorationDate } = c.req.valid("json");
  const result = await applyPlanChange(c, tier, prorationDate);
  c.header("Cache-Control", "no-store");
  return c.json(
    {
      from: result.from,
      to: result.to,
      effective: result.effective,
      effectiveAt: result.effectiveAt,
      tier: (await currentAccount(c)).tier,
    },
    200,
  );
};

export const cancelScheduledChangeHandler: RouteHandler<
  typeof cancelScheduledChangeRoute,
  PortalEnv
> = async (c) => {
  await cancelPendingPlanChange(c);
  c.header("Cache-Control", "no-store");
  return c.json({ tier: (await currentAccount(c)).tier, scheduledChange: null }, 200);
};
