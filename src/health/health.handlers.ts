import type { RouteHandler } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../lib/context";
import { redactString } from "../lib/log";
import type { liveness, readiness } from "./health.routes";

const CHECK_TIMEOUT_MS = 2000;

export const livenessHandler: RouteHandler<typeof liveness, AppEnv> = (c) =>
  c.json({ status: "ok" as const }, 200);

export const readinessHandler: RouteHandler<typeof readiness, AppEnv> = async (c) => {
  const services = c.get("services");
  const [redis, postgres] = await Promise.all([
    timed(async () => {
      await services.redis.ping();
    }),
    // The request's own pool: requestServices() ends it after the response.
    timed(async () => {
      await services.db.execute(sql`select 1`);
    }),
  ]);
  const ok = redis.ok && postgres.ok;
  if (!ok) services.log.warn("readiness check failed", { redis: redis.error, postgres: postgres.error });
  c.header("Cache-Control", "no-store");
  return c.json(
    { status: ok ? ("ok" as const) : ("degraded" as const), checks: { redis, postgres } },
    ok ? 200 : 503,
  );
};

/** Runs one dependency check with a deadline; the error is summarised, never a stack or a connection string. */
async function timed(
  check: () => Promise<void>,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (error) {
    const name = error instanceof Error ? error.message.split("\n")[0]?.slice(0, 120) : "failed";
    return { ok: false, latencyMs: Date.now() - started, error: redactString(name ?? "failed") };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
