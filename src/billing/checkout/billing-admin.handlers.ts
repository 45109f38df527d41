import type { RouteHandler } from "@hono/zod-openapi";
import { getAccount } from "../../keys/account-service";
import type { AppEnv } from "../../lib/context";
import { publishCommittedTier } from "../stripe/account-publish";
import type {
  cancelScheduledChangeRoute,
  changePlanRoute,
  createBillingPortalSessionRoute,
  createCheckoutSessionRoute,
} from "./billing-admin.routes";
import { billingDeps } from "./billing-deps";
import { createBillingPortalSession, createCheckoutSession } from "./checkout";
import { cancelScheduledChange, changePlan, previewPlanChange } from "./plan-change";

/** Who the audit log names for a change made through the admin API (the admin token is the only admin). */
const admin = { type: "admin", id: "admin-token" } as const;

export const createCheckoutSessionHandler: RouteHandler<typeof createCheckoutSessionRoute, AppEnv> = async (
  c,
) => {
  const { id } = c.req.valid("param");
  const { tier } = c.req.valid("json");
  const session = await createCheckoutSession(billingDeps(c.get("services")), id, tier);
  c.header("Cache-Control", "no-store");
  return c.json(session, 201);
};

export const createBillingPortalSessionHandler: RouteHandler<
  typeof createBillingPortalSessionRoute,
  AppEnv
> = async (c) => {
  const { id } = c.req.valid("param");
  const session = await createBillingPortalSession(billingDeps(c.get("services")), id);
  c.header("Cache-Control", "no-store");
  return c.json(session, 201);
};

export const changePlanHandler: RouteHandler<typeof changePlanRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { tier, preview, prorationDate } = c.req.valid("json");
  const services = c.get("services");
  c.header("Cache-Control", "no-store");
  const deps = billingDeps(services);
  if (preview) {
    const answer = await previewPlanChange(deps, id, tier, "admin");
    return c.json({ ...answer, applied: false }, 200);
  }
  const changed = await changePlan(deps, id, tier, { prorationDate, actor: admin });
  await publishCommittedTier(deps.db, services.redis, id);
  return c.json(
    {
      from: changed.from,
      to: changed.to,
      applied: true,
      effective: changed.effective,
      effectiveAt: changed.effectiveAt,
      tier: (await getAccount(deps, id)).tier,
    },
    200,
  );
};

export const cancelScheduledChangeHandler: RouteHandler<typeof cancelScheduledChangeRoute, AppEnv> = async (
  c,
) => {
  const { id } = c.req.valid("param");
  const services = c.get("services");
  c.header("Cache-Control", "no-store");
  const deps = billingDeps(services);
  await cancelScheduledChange(deps, id, admin);
  await publishCommittedTier(deps.db, services.redis, id);
  return c.json({ tier: (await getAccount(deps, id)).tier, scheduledTier: null }, 200);
};
