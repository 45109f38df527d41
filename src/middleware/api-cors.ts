import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../lib/context";

let built: { origins: string; middleware: MiddlewareHandler } | undefined;

/**
 * Strict CORS for the proxied API: only CORS_ORIGINS get CORS headers (none when it is empty), so a browser
 * page elsewhere cannot read API responses. Preflights are answered here, without a key.
 *
 * @example app.use(`${prefix}/*`, apiCors())
 */
export function apiCors(): MiddlewareHandler<AppEnv> {
  return async function apiCorsMiddleware(c, next) {
    const origins = c.get("config").corsOrigins;
    if (origins.length === 0) return next();
    const id = origins.join(",");
    if (built?.origins !== id) {
      built = {
        origins: id,
        middleware: cors({
          origin: (origin) => (origins.includes(origin) ? origin : null),
          allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
          allowHeaders: ["X-API-Key", "Authorization", "Content-Type", "X-Request-Id"],
          exposeHeaders: ["RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id"],
          maxAge: 600,
        }),
      };
    }
    return built.middleware(c, next);
  };
}
