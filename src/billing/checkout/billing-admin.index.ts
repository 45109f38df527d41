import { adminAuth } from "../../admin/admin-auth";
import { createRouter } from "../../lib/create-router";
import {
  cancelScheduledChangeHandler,
  changePlanHandler,
  createBillingPortalSessionHandler,
  createCheckoutSessionHandler,
} from "./billing-admin.handlers";
import {
  cancelScheduledChangeRoute,
  changePlanRoute,
  createBillingPortalSessionRoute,
  createCheckoutSessionRoute,
} from "./billing-admin.routes";

/**
 * Billing routes of the admin API, mounted into it (/admin/v1), so they share its OpenAPI document. They
 * guard themselves with the admin token rather than rely on where they are mounted.
 */
export function createBillingAdminRouter() {
  const router = createRouter();
  // Scoped to these paths: a "*" here would, once mounted at the admin root, run for every admin route.
  // (cancelScheduledChangeRoute shares changePlanRoute's path, so that guard covers it.)
  for (const route of [createCheckoutSessionRoute, createBillingPortalSessionRoute, changePlanRoute]) {
    router.use(route.getRoutingPath(), adminAuth());
  }
  return router
    .openapi(createCheckoutSessionRoute, createCheckoutSessionHandler)
    .openapi(createBillingPortalSessionRoute, createBillingPortalSessionHandler)
    .openapi(changePlanRoute, changePlanHandler)
    .openapi(cancelScheduledChangeRoute, cancelScheduledChangeHandler);
}
