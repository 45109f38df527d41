import type { MiddlewareHandler } from "hono";
import { lazyDatabase } from "../db/lazy";
import type { AppEnv } from "../lib/context";
import { createServices } from "../services";

/**
 * Puts this request's services on the context (`c.get("services")`, see src/services.ts) and its lazy
 * Postgres pool (`c.get("db")`, which the data plane reads directly). The pool opens on first use (most
 * requests never need one) and is ended once the handler has answered, only if it was opened. Work handed
 * to waitUntil must open its own pool.
 *
 * @example app.use(requestServices())
 */
export function requestServices(): MiddlewareHandler<AppEnv> {
  return async function requestServicesMiddleware(c, next) {
    const database = lazyDatabase(c.get("config"));
    c.set("db", database);
    c.set(
      "services",
      createServices({
        config: c.get("config"),
        log: c.get("log"),
        database,
        requestUrl: c.req.url,
        waitUntil: (work) => c.executionCtx.waitUntil(work),
      }),
    );
    try {
      await next();
    } finally {
      // Most data-plane requests never open it: no after-response work for them.
      if (database.opened) c.executionCtx.waitUntil(database.close());
    }
  };
}
