import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Every error the gateway can answer with. `type` is the RFC 9457 problem type: a relative URI, resolved
 * against the gateway's own origin, where /problems/{slug} documents it.
 */
export const problemTypes = {
  bad_request: { status: 400, title: "Bad request" },
  validation_failed: { status: 400, title: "The request is not valid" },
  key_in_query: { status: 400, title: "API keys are not accepted in the query string" },
  // Billing: a Stripe webhook whose signature or body does not check out.
  invalid_webhook: { status: 400, title: "The webhook could not be verified" },
  // Portal accounts: a verification, reset or invitation link that is unknown, used or expired.
  invalid_token: { status: 400, title: "The link is not valid" },
  unauthorized: { status: 401, title: "Authentication required" },
  invalid_key: { status: 403, title: "The API key is not valid" },
  forbidden: { status: 403, title: "Forbidden" },
  // Portal accounts: keys and plans wait until the developer has verified their email address.
  email_unverified: { status: 403, title: "Verify your email address first" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported Media Type" },
  rate_limited: { status: 429, title: "Rate limit exceeded" },
  quota_exceeded: { status: 429, title: "Monthly quota exhausted" },
  internal: { status: 500, title: "Internal error" },
  misconfigured: { status: 500, title: "The gateway is misconfigured" },
  origin_unreachable: { status: 502, title: "The origin could not be reached" },
  // Billing: Stripe's API answered an error or could not be reached.
  payment_provider_error: { status: 502, title: "Stripe refused or failed the request" },
  unavailable: { status: 503, title: "Service unavailable" },
  // Billing: a Stripe setting is missing; billing is off, the rest of the gateway is not.
  billing_not_configured: { status: 503, title: "Billing is not configured" },
  // Mail: RESEND_API_KEY is missing; routes that must send mail refuse rather than drop it.
  mail_not_configured: { status: 503, title: "Sending email is not configured" },
  // Mail: the provider refused or could not be reached.
  mail_provider_error: { status: 502, title: "The email could not be sent" },
  origin_timeout: { status: 504, title: "The origin did not answer in time" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof problemTypes;

interface ProblemOptions {
  detail?: string;
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  headers?: Record<string, string>;
  /** RFC 9457 extension members, e.g. the list of invalid fields. */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error class: thrown anywhere, rendered by the app's error handler as problem+json. */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(code: ProblemCode, options: ProblemOptions = {}) {
    super(options.detail ?? problemTypes[code].title, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  get status(): ContentfulStatusCode {
    return problemTypes[this.code].status;
  }
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  requestId: string;
  [extension: string]: unknown;
}

/** Builds the RFC 9457 body. `instance` is the request path (no query: it may hold secrets). */
export function problemBody(error: ApiError, requestId: string, path: string): ProblemBody {
  const { title, status } = problemTypes[error.code];
  return {
    ...error.extensions,
    type: `/problems/${error.code.replaceAll("_", "-")}`,
    title,
    status,
    ...(error.detail ? { detail: error.detail } : {}),
    instance: path,
    requestId,
  };
}

/** Renders an ApiError as an application/problem+json response on this request's context. */
export function problemResponse(c: Context, error: ApiError): Response {
  const requestId: string = c.get("requestId") ?? "unknown";
  const body = problemBody(error, requestId, new URL(c.req.url).pathname);
  const headers = new Headers(error.headers);
  headers.set("Content-Type", PROBLEM_CONTENT_TYPE);
  headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status: body.status, headers });
}
