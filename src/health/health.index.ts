import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../lib/context";
import { livenessHandler, readinessHandler } from "./health.handlers";
import { liveness, readiness } from "./health.routes";

export const healthRouter = new OpenAPIHono<AppEnv>()
  .openapi(liveness, livenessHandler)
  .openapi(readiness, readinessHandler);
