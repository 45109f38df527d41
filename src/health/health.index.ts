import { createRouter } from "../lib/create-router";
import { livenessHandler, readinessHandler } from "./health.handlers";
import { liveness, readiness } from "./health.routes";

/** GET /health (liveness) and GET /health/ready (readiness); public, in the gateway's OpenAPI document. */
export function createHealthRouter() {
  return createRouter().openapi(liveness, livenessHandler).openapi(readiness, readinessHandler);
}
