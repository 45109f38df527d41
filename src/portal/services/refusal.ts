import { ApiError, problemTypes } from "../../lib/errors";

/**
 * An expected "no" from a portal service (a wrong current password, a used link, the key cap reached...):
 * returned, not thrown, so a page can show it beside its form without catching errors. The JSON API turns
 * it into the problem it documents (refusalProblem); anything unexpected is still thrown.
 */
export interface Refused {
  outcome: "refused";
  /** The problem type it answers as: 400 validation_failed, 400 invalid_token or 409 conflict. */
  code: "validation_failed" | "invalid_token" | "conflict";
  /** What the developer reads: the problem's `detail`, the page's message. */
  detail: string;
  /** The form field at fault, if one is: the problem lists it in `errors`, the page shows it by the field. */
  field?: string;
  /** More members of the problem (RFC 9457 section 3.2), e.g. the key cap's `limit`. */
  extensions?: Record<string, unknown>;
}

export function refused(
  code: Refused["code"],
  detail: string,
  more: Pick<Refused, "field" | "extensions"> = {},
): Refused {
  return { outcome: "refused", code, detail, ...more };
}

/** Whether a service's result is a refusal (any result shape: only a Refused has outcome "refused"). */
export function isRefused(result: unknown): result is Refused {
  return (
    typeof result === "object" && result !== null && (result as { outcome?: unknown }).outcome === "refused"
  );
}

/** The HTTP status a refusal answers with (its problem type's). */
export const refusalStatus = (refusal: Refused) => problemTypes[refusal.code].status as 400 | 409;

/**
 * The problem the JSON API answers a refusal with: its code and detail, `errors: [{ path, message }]` when
 * a field is at fault (as validationHook lists invalid fields), and its extensions.
 */
export function refusalProblem(refusal: Refused): ApiError {
  return new ApiError(refusal.code, {
    detail: refusal.detail,
    extensions: {
      ...(refusal.field ? { errors: [{ path: refusal.field, message: refusal.detail }] } : {}),
      ...refusal.extensions,
    },
  });
}
