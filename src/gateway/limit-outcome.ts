/** A budget as the RateLimit header reports it (draft-ietf-httpapi-ratelimit-headers). */
export interface WindowState {
  /** Requests the policy admits in total (its quota). */
  limit: number;
  /** Requests left. */
  remaining: number;
  /** Seconds until the window (or quota month) resets, or until a request would be admitted when blocked. */
  resetSeconds: number;
}

export type LimitDecision = "ok" | "rate_limited" | "quota";

/** What the limits say about a request, with the state of every budget for its headers. */
export interface LimitOutcome {
  decision: LimitDecision;
  /** Whole seconds until a request would be admitted again (refusals only). */
  retryAfter?: number;
  window: WindowState;
  burst?: WindowState;
  quota: WindowState;
}
