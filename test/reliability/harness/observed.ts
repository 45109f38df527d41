/** A response as the suite saw it, whether it came through fetch or as raw bytes off a socket. */
export interface Observed {
  status: number;
  /** Header fields in arrival order, names lower-cased (repeats kept: header injection shows up as one). */
  headers: Array<[string, string]>;
  text: string;
  elapsedMs: number;
}

export function header(observed: Observed, name: string): string | null {
  const lower = name.toLowerCase();
  const values = observed.headers.filter(([key]) => key === lower).map(([, value]) => value);
  return values.length > 0 ? values.join(", ") : null;
}

/** The recording origin stamps its responses, so the suite can tell the origin's answers from the gateway's. */
export const ORIGIN_MARK = "x-recording-origin";

/**
 * The origin's answer, passed through: stamped by the recording origin, or (when Node's HTTP parser at the
 * origin refused the request, e.g. 431, before any handler could stamp it) carrying the RateLimit-Policy the
 * gateway adds to proxied answers without being one of the gateway's own problem+json refusals.
 */
export function fromOrigin(observed: Observed): boolean {
  if (header(observed, ORIGIN_MARK) !== null) return true;
  return (
    header(observed, "ratelimit-policy") !== null &&
    header(observed, "content-type") !== "application/problem+json"
  );
}

export function jsonOf<T = Record<string, unknown>>(observed: Observed): T {
  return JSON.parse(observed.text) as T;
}
