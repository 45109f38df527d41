import type { MiddlewareHandler } from "hono";
import { lazyDatabase } from "../db/lazy";
import type { AppEnv } from "../lib/context";

/**
 * Gives the request a Postgres pool that opens on first use (most requests never need one) and is ended
 * once the handler has answered. Work the request hands to waitUntil must open its own pool.
 *
 * @example app.use(requestDatabase())
 */
export function requestDatabase(): MiddlewareHandler<AppEnv> {
  return async function requestDatabaseMiddleware(c, next) {
    const db = lazyDatabase(c.get("config"));
    c.set("db", db);
    try {
      await next();
    } finally {
      // Most data-plane requests never open it: no after-response work for them.
      if (db.opened) c.executionCtx.waitUntil(db.close());
    }
  };
}
