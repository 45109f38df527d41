/** Stripe's own error shape: `{ error: { type, message, code?, param? } }`. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;

  constructor(
    status: number,
    message: string,
    details: { type?: string; code?: string; param?: string; declineCode?: string } = {},
  ) {
    super(message);
    this.status = status;
    this.type = details.type ?? "invalid_request_error";
    this.code = details.code;
    this.param = details.param;
    this.declineCode = details.declineCode;
  }
}

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const missing = (param: string) =>
  new StripeApiError(400, `Missing required param: ${param}.`, { code: "parameter_missing", param });
export const invalid = (param: string, message: string) =>
  new StripeApiError(400, message, { code: "parameter_invalid", param });
export const noSuch = (kind: string, id: string, param = "id", status = 404) =>
  new StripeApiError(status, `No such ${kind}: '${id}'`, { code: "resource_missing", param });

export function errorReply(error: unknown): Reply {
  if (error instanceof StripeApiError) {
    const body = {
      error: {
        type: error.type,
        message: error.message,
        ...(error.code ? { code: error.code } : {}),
        ...(error.declineCode ? { decline_code: error.declineCode } : {}),
        ...(error.param ? { param: error.param } : {}),
      },
    };
    // Stripe marks client errors as not worth retrying; the SDK honours it.
    return { status: error.status, body, headers: { "Stripe-Should-Retry": "false" } };
  }
  if (error instanceof SyntaxError) return { status: 400, body: { error: `invalid JSON: ${error.message}` } };
  return { status: 500, body: { error: { type: "api_error", message: String(error) } } };
}
