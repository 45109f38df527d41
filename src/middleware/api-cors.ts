import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../lib/context";

let built: { origins: string; middleware: MiddlewareHandler } | undefined;

/**
 * Strict CORS for the proxied API: only CORS_ORIGINS get CORS headers (none when it is empty), so a browser
 * page elsewhere cannot read API responses. Preflights are answered here, without a key. A preflight is an
 * OPTIONS request with `Origin` and `Access-Control-Request-Method` (Fetch standard, "CORS-preflight
 * request"); any other OPTIONS is an API request like any method: it needs a key and reaches the origin.
 *
 * @example const cors = apiCors(); // app.ts, under API_PREFIXES: a returned Response is the preflight's answer
 *   const preflight = await cors(c, next);
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
          exposeHeaders: EXPOSED,
          maxAge: 600,
        }),
      };
    }
    if (c.req.method === "OPTIONS" && !isPreflight(c.req.raw)) {
      // hono's cors() answers EVERY OPTIONS itself; a plain one goes on and gets the actual-request headers.
      await next();
      const origin = c.req.header("Origin");
      if (origin && origins.includes(origin)) {
        c.res.headers.set("Access-Control-Allow-Origin", origin);
        c.res.headers.set("Access-Control-Expose-Headers", EXPOSED.join(","));
      }
      c.res.headers.append("Vary", "Origin");
      return;
    }
    return built.middleware(c, next);
  };
}

const EXPOSED = ["RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-Id"];

/** Fetch standard: a CORS-preflight request is OPTIONS with `Origin` and `Access-Control-Request-Method`. */
function isPreflight(request: Request): boolean {
  return request.headers.has("Origin") && request.headers.has("Access-Control-Request-Method");
}
