import type { Context, MiddlewareHandler } from "hono";
import { type Config, configFor } from "../config";
import type { AppEnv } from "../lib/context";
import { createLogger } from "../lib/log";

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * First middleware of every request to the gateway's own routes (the data plane calls `beginRequest` and
 * `stampRequestId` itself, gateway/data-plane.ts): the request's id, config and logger, and the id on the
 * response.
 *
 * @example app.use(requestContext())
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const requestId = beginRequest(c);
    await next();
    stampRequestId(c, requestId);
  };
}

/**
 * Starts a request's context and returns its id: the id (a caller's well-formed X-Request-Id is kept so
 * traces join up across services), the parsed config (`config`, or parsed from the bindings) and a logger
 * that stamps the id on every line, all set on `c`.
 * @throws ConfigError when the bindings are invalid; the id is set first, so the problem+json 500 carries it.
 */
export function beginRequest(c: Context<AppEnv>, config?: Config): string {
  const incoming = c.req.raw.headers.get("X-Request-Id");
  const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  const settings = config ?? configFor(c.env);
  c.set("config", settings);
  c.set("log", createLogger(settings.logLevel, { requestId }));
  return requestId;
}

/**
 * Puts the id on the response in place. Hono's `c.header` would copy the whole response (body stream and
 * headers) once it is final, on every request, the proxied ones included; only a response whose headers are
 * immutable (one straight from fetch()) needs that copy, and `c.header` makes it then.
 */
export function stampRequestId(c: Context<AppEnv>, requestId: string): void {
  try {
    c.res.headers.set("X-Request-Id", requestId);
  } catch {
    c.header("X-Request-Id", requestId);
  }
}
