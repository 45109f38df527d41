import type { Context } from "hono";
import type { KeyServiceDeps } from "../../keys/service-deps";
import { ApiError } from "../../lib/errors";
import { redisFor } from "../../store/redis";
import { PORTAL_CHALLENGE } from "../auth/portal-session";
import type { PortalEnv } from "../portal-env";

/** Postgres, Redis and the acting developer for one signed-in portal request. */
export function portalDeps(c: Context<PortalEnv>): KeyServiceDeps & { accountId: string } {
  const session = c.get("session");
  // Routes that call this sit behind requireSession(); reaching here without one is a wiring mistake.
  if (!session)
    throw new ApiError("unauthorized", {
      detail: "Log in to the portal first.",
      headers: { "WWW-Authenticate": PORTAL_CHALLENGE },
    });
  const config = c.get("config");
  return {
    db: c.get("db").get(),
    redis: redisFor(config),
    keyEnvironment: config.keyEnvironment,
    actor: { type: "portal", id: session.accountId },
    log: c.get("log"),
    accountId: session.accountId,
  };
}
