import { createRoute, z } from "@hono/zod-openapi";
import { publicRoute } from "../lib/openapi";

const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

const ReadinessSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({
      redis: z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
      postgres: z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
    }),
  })
  .openapi("Readiness");

export const liveness = createRoute({
  operationId: "liveness",
  ...publicRoute,
  method: "get",
  path: "/health",
  tags: ["Gateway"],
  summary: "Liveness: the worker runs (touches no dependency)",
  responses: {
    200: { description: "The worker answers", content: { "application/json": { schema: HealthSchema } } },
  },
});

export const readiness = createRoute({
  operationId: "readiness",
  ...publicRoute,
  method: "get",
  path: "/health/ready",
  tags: ["Gateway"],
  summary: "Readiness: Redis and Postgres answer",
  responses: {
    200: {
      description: "Every dependency answers",
      content: { "application/json": { schema: ReadinessSchema } },
    },
    503: { description: "A dependency failed", content: { "application/json": { schema: ReadinessSchema } } },
  },
});
