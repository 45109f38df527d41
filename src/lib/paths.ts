/**
 * Whether `path` (a URL path, e.g. "/v1/items") is one of `prefixes` or below one, segment by segment:
 * "/v1" covers "/v1" and "/v1/items" but not "/v10" (API_PREFIXES are matched this way everywhere).
 */
export const isUnderPrefix = (path: string, prefixes: readonly string[]): boolean =>
  prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/**
 * The path of a URL the runtime has already parsed and serialised (WHATWG URL, as `request.url` is), cut
 * out without parsing it again: what `new URL(url).pathname` gives, percent-encoding kept.
 * @example pathOf("https://api.example.com/v1/items?page=2") === "/v1/items"
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  const fragment = url.indexOf("#", start);
  let end = query < 0 ? url.length : query;
  if (fragment >= 0 && fragment < end) end = fragment;
  return url.slice(start, end);
}
