import { ApiError } from "../lib/errors";

const KEY_LIKE = /gw_(live|test)_/;

/**
 * The API key of a request: `X-API-Key`, or `Authorization: Bearer`. A key in the query string is refused
 * outright (it would end up in access logs, browser history and Referer headers).
 * @throws ApiError `key_in_query` (400), `bad_request` (400) for two different keys in one request (both
 *   headers with different keys, or X-API-Key repeated), `unauthorized` (401 with WWW-Authenticate) for none.
 */
export function extractApiKey(request: Request): string {
  // Most API calls carry no query at all: no URL to parse for them.
  if (request.url.includes("?")) refuseKeyInQuery(new URL(request.url));
  // Headers.get joins repeated fields with ", ": two X-API-Key fields read as one value holding a comma.
  const headerKey = request.headers.get("X-API-Key")?.trim() || undefined;
  const authorization = request.headers.get("Authorization")?.trim();
  const bearer = (authorization && /^Bearer\s+(\S+)$/i.exec(authorization)?.[1]) || undefined;
  // A Bearer token that is not key-shaped beside X-API-Key is not a second key (it is dropped, never forwarded).
  const secondKey = headerKey && bearer && bearer !== headerKey && KEY_LIKE.test(bearer);
  if (headerKey?.includes(",") || secondKey) {
    // Which one would the caller mean? Guessing could bill or authorize the wrong account.
    throw new ApiError("bad_request", {
      detail:
        "The request carries more than one API key (X-API-Key and Authorization: Bearer, or a repeated " +
        "X-API-Key). Send exactly one.",
    });
  }
  const key = headerKey ?? bearer;
  if (key) return key;
  throw new ApiError("unauthorized", {
    detail: "Send an API key in the X-API-Key header or as Authorization: Bearer <key>.",
    headers: { "WWW-Authenticate": 'Bearer realm="api", charset="UTF-8"' },
  });
}

function refuseKeyInQuery(url: URL): void {
  for (const value of url.searchParams.values()) {
    if (KEY_LIKE.test(value)) {
      throw new ApiError("key_in_query", {
        detail:
          "Send the key in the X-API-Key header (or Authorization: Bearer), never in the URL. Rotate this key.",
      });
    }
  }
}
