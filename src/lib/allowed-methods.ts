import type { RouterRoute } from "hono/types";
import { ApiError } from "./errors";

/**
 * Which methods the gateway's own routes answer at a path, for RFC 9110 15.5.6: a resource that exists but not
 * for this method is a 405 with `Allow`, not a 404. Built once from the app's route table (`app.routes`);
 * middleware (registered for ALL methods) does not count. HEAD is allowed wherever GET is (hono answers it).
 * @example allowedMethods(app.routes)("/admin/v1/keys/key_1") // ["DELETE"]
 */
export function allowedMethods(routes: RouterRoute[]): (path: string) => string[] {
  const table = routes
    .filter((route) => route.method !== "ALL" && route.path !== "*" && !route.path.endsWith("/*"))
    .map((route) => ({ method: route.method.toUpperCase(), pattern: patternOf(route.path) }));
  return (path) => {
    const methods = new Set<string>();
    for (const route of table) if (route.pattern.test(path)) methods.add(route.method);
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}

/** hono's path syntax (`/keys/:id`, `/:id{[0-9]+}`, a trailing `*`) as a whole-path regular expression. */
function patternOf(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      if (segment.startsWith(":")) {
        const custom = /\{(.+)\}$/.exec(segment)?.[1];
        return custom ? `(?:${custom})` : "[^/]+";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/** The 405 problem for `method` at a resource that answers `methods`, with the `Allow` header. */
export function methodNotAllowed(method: string, methods: string[]): ApiError {
  return new ApiError("method_not_allowed", {
    detail: `${method} is not allowed here; this resource answers ${methods.join(", ")}.`,
    headers: { Allow: methods.join(", ") },
  });
}
