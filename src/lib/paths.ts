/**
 * Whether `path` (a URL path, e.g. "/v1/items") is one of `prefixes` or below one, segment by segment:
 * "/v1" covers "/v1" and "/v1/items" but not "/v10" (API_PREFIXES are matched this way everywhere).
 */
export const isUnderPrefix = (path: string, prefixes: readonly string[]): boolean =>
  prefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
