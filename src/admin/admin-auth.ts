import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../lib/context";
import { ApiError } from "../lib/errors";

const challenge = { "WWW-Authenticate": 'Bearer realm="admin"' };

/**
 * Guards the admin API with `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. With no
 * ADMIN_TOKEN configured the admin API is closed, never open.
 *
 * @example adminRouter.use("*", adminAuth())
 */
export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.get("config").adminToken;
    const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header("Authorization") ?? "")?.[1];
    if (!expected || !presented || !(await timingSafeEqual(presented, expected))) {
      throw new ApiError("unauthorized", {
        detail: "The admin API needs Authorization: Bearer <ADMIN_TOKEN>.",
        headers: challenge,
      });
    }
    await next();
  };
}
