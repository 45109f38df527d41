import { ApiError } from "../lib/errors";

const KEY_LIKE = /gw_(live|test)_/;

/**
 * The API key of a request: `X-API-Key`, or `Authorization: Bearer`. A key in the query string is refused
 * outright (it would end up in access logs, browser history and Referer headers).
 */
export function extractApiKey(request: Request): string {
  const url = new URL(request.url);
  for (const value of url.searchParams.values()) {
    if (KEY_LIKE.test(value)) {
      throw new ApiError("key_in_query", {
        detail:
          "Send the key in the X-API-Key header (or Authorization: Bearer), never in the URL. Rotate this key.",
      });
    }
  }
  const headerKey = request.headers.get("X-API-Key")?.trim();
  if (headerKey) return headerKey;
  const authorization = request.headers.get("Authorization")?.trim();
  const bearer = authorization && /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  throw new ApiError("unauthorized", {
    detail: "Send an API key in the X-API-Key header or as Authorization: Bearer <key>.",
    headers: { "WWW-Authenticate": 'Bearer realm="api", charset="UTF-8"' },
  });
}
