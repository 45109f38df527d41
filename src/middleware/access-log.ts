import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../lib/context";

/**
 * One structured line per data-plane request, which Workers Logs can query: request id, account, key id,
 * tier, outcome, status and latency. Never the key itself (the logger redacts key shapes besides).
 *
 * @example const log = accessLog(); // app.ts runs it only for paths under API_PREFIXES: await log(c, next)
 */
export function accessLog(): MiddlewareHandler<AppEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = Date.now();
    await next();
    const caller = c.get("caller");
    const status = c.res.status;
    c.get("log").info("request", {
      method: c.req.method,
      path: c.req.path,
      status,
      outcome: c.get("outcome") ?? (status < 400 ? "ok" : "error"),
      accountId: caller?.accountId,
      keyId: caller?.keyId,
      tier: caller?.tier,
      latencyMs: Date.now() - started,
    });
  };
}
