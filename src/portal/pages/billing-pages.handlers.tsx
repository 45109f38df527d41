import type { Context } from "hono";
import { z } from "zod";
import { ApiError } from "../../lib/errors";
import { purchasableTiers, type TierId } from "../../plans/plans";
import { callerOf, type PortalEnv } from "../portal-env";
import { applyPlanChange, cancelPendingPlanChange, planChangePreview } from "../services/portal-billing";
import { pageContext } from "./page-context";
import { PlanChangePage } from "./views/billing";

/** The portal's plan-change pages: Stripe's invoice preview first, then the change exactly as previewed. */
type PageContextT = Context<PortalEnv>;

function tierFrom(c: PageContextT, value: unknown): TierId {
  const tier = z
    .enum(purchasableTiers(c.get("config").keyEnvironment) as [TierId, ...TierId[]])
    .safeParse(value);
  if (!tier.success) throw new ApiError("validation_failed", { detail: "Choose a plan that is for sale." });
  return tier.data;
}

export async function planChangePage(c: PageContextT) {
  const preview = await planChangePreview(callerOf(c), tierFrom(c, c.req.query("tier")));
  return c.html(<PlanChangePage page={await pageContext(c)} preview={preview} />);
}

export async function planChangeSubmit(c: PageContextT) {
  const body = await c.req.parseBody();
  const tier = tierFrom(c, body.tier);
  const prorationDate = z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .safeParse(body.prorationDate || undefined);
  if (!prorationDate.success)
    throw new ApiError("validation_failed", { detail: "The preview's date is not valid." });
  const result = await applyPlanChange(callerOf(c), tier, prorationDate.data);
  const outcome = result.effective === "period_end" ? "scheduled" : "changed";
  return c.redirect(`/portal/billing?${outcome}=${tier}`, 303);
}

/** "Keep my plan": cancels the change pending at the period's end. */
export async function scheduledChangeCancelSubmit(c: PageContextT) {
  await cancelPendingPlanChange(callerOf(c));
  return c.redirect("/portal/billing?kept", 303);
}
