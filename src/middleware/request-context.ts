import type { MiddlewareHandler } from "hono";
import { configFor } from "../config";
import type { AppEnv } from "../lib/context";
import { createLogger } from "../lib/log";

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * First middleware of every request: gives it an id (a caller's well-formed X-Request-Id is kept so traces
 * join up across services), its parsed config and a logger that stamps the id on every line.
 *
 * @example app.use(requestContext())
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const incoming = c.req.header("X-Request-Id");
    const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    // Parsing may throw ConfigError; the error handler turns it into a problem+json 500.
    const config = configFor(c.env);
    c.set("config", config);
    c.set("log", createLogger(config.logLevel, { requestId }));
    await next();
    stampRequestId(c.res, requestId, () => c.header("X-Request-Id", requestId));
  };
}

/**
 * Puts the id on the response in place. Hono's `c.header` would copy the whole response (body stream and
 * headers) once it is final, on every request, the proxied ones included; only a response whose headers are
 * immutable (one straight from fetch()) needs that copy, and `copyAndStamp` makes it.
 */
function stampRequestId(response: Response, requestId: string, copyAndStamp: () => void): void {
  try {
    response.headers.set("X-Request-Id", requestId);
  } catch {
    copyAndStamp();
  }
}
