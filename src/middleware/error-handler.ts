import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError } from "../config";
import type { AppEnv } from "../lib/context";
import { isDependencyOutage } from "../lib/dependency-outage";
import { ApiError, type ProblemCode, problemResponse } from "../lib/errors";
import { createLogger } from "../lib/log";

const statusCodes: Partial<Record<number, ProblemCode>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  503: "unavailable",
};

/** Renders every error as RFC 9457 problem+json with the request id; stacks go to the log only, redacted. */
export const renderError: ErrorHandler<AppEnv> = (error, c) => {
  const response = problemResponse(c, problemFor(error, c));
  response.headers.set("X-Request-Id", c.get("requestId"));
  return response;
};

/**
 * The problem an error is answered with (an ApiError as thrown; hono's HTTPException, an unreachable
 * Postgres or Redis, a ConfigError or anything else mapped to one), with the request id set on the context.
 * Logs 5xx problems with the error's redacted stack. Renderers (problem+json here, HTML pages in the portal)
 * start from this, so every rendering agrees on the status and what is logged.
 */
export function problemFor(error: unknown, c: Context<AppEnv>): ApiError {
  const requestId = c.get("requestId") ?? crypto.randomUUID();
  if (!c.get("requestId")) c.set("requestId", requestId);
  let problem: ApiError;
  if (error instanceof ApiError) {
    problem = error;
  } else if (error instanceof HTTPException) {
    problem = new ApiError(statusCodes[error.status] ?? "bad_request", {
      detail:
        error.status === 415
          ? "The body's Content-Type is not one this endpoint accepts; see its OpenAPI document (JSON bodies: application/json)."
          : error.message || undefined,
    });
  } else if (isDependencyOutage(error)) {
    problem = new ApiError("unavailable", {
      // Not "nothing was changed": the outage may have struck after a commit (then the edge outbox finishes
      // the change). Services that know nothing was committed say so themselves (edge-outbox.ts).
      detail:
        "A storage service is unreachable right now, so this request may not have completed. Retry shortly; " +
        "if it changed something, read the resource first to see whether the change was kept.",
      headers: { "Retry-After": "5" },
    });
  } else if (error instanceof ConfigError) {
    // The issues name settings and their rules, never values (src/config/parse-settings.ts): safe to show.
    problem = new ApiError("misconfigured", {
      detail: `The gateway's configuration is invalid: ${error.issues.join("; ")}`,
    });
  } else {
    problem = new ApiError("internal", { detail: "An unexpected error occurred; quote the request id." });
  }
  if (problem.status >= 500) {
    const log = c.get("log") ?? createLogger("info", { requestId });
    log.error(error instanceof ConfigError ? "gateway misconfigured" : "request failed", {
      code: problem.code,
      error:
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack, cause: error.cause }
          : String(error),
      issues: error instanceof ConfigError ? error.issues : undefined,
    });
  }
  return problem;
}

export const renderNotFound: NotFoundHandler<AppEnv> = (c) =>
  problemResponse(
    c,
    new ApiError("not_found", { detail: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }),
  );
