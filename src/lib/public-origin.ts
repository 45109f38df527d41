import type { Config } from "../config";

/**
 * The base URL every absolute link the gateway makes about itself is built on: Checkout's success and
 * cancel URLs, the billing portal's return_url, the links in mails (verify, reset, invite, quota alerts) and
 * the base URL in code samples. No trailing slash, e.g. `https://api.acme.dev`.
 *
 * PORTAL_URL when set. Unset, the request's own origin, which the client chose with its Host header: fine for
 * `npm run dev` and the tests, never for a deployment. The config refuses to parse with KEY_ENVIRONMENT=live
 * and no PORTAL_URL, and `npm run deploy` refuses any environment without it, so a deployed gateway never
 * reaches the fallback. (OpenAPI `servers` entries are relative and need none of this.)
 *
 * @param requestUrl the request's URL (`c.req.url`), used only when PORTAL_URL is unset.
 */
export function publicBaseUrl(config: Pick<Config, "portalUrl">, requestUrl: string): string {
  return (config.portalUrl ?? new URL(requestUrl).origin).replace(/\/+$/, "");
}
