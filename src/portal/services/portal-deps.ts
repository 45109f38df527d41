import { type KeyServiceDeps, keyServiceDeps } from "../../keys/service-deps";
import { ApiError } from "../../lib/errors";
import type { Services } from "../../services";
import { PORTAL_CHALLENGE } from "../auth/portal-session";

/**
 * Who calls a portal service, and with what: the request's services (src/services.ts), the live session when
 * someone is signed in, and the client's counter key. Handlers build it with callerOf(c) (portal-env.ts);
 * portal services take it instead of the Hono context, so they say what they use and run without HTTP.
 */
export interface PortalCaller {
  services: Services;
  /** The signed-in developer's session (id as in the cookie), when there is one. */
  session?: { id: string; accountId: string };
  /** The client's counter key: one per IPv4 address or IPv6 /64, whatever the spelling (lib/client-address). */
  readonly address: string;
}

/**
 * The signed-in developer's session.
 * @throws ApiError `unauthorized` (401, with the portal's challenge) without one: callers sit behind
 *   requireSession(), so reaching this without a session is a wiring mistake, refused rather than trusted.
 */
export function sessionOf(caller: PortalCaller): { id: string; accountId: string } {
  if (!caller.session)
    throw new ApiError("unauthorized", {
      detail: "Log in to the portal first.",
      headers: { "WWW-Authenticate": PORTAL_CHALLENGE },
    });
  return caller.session;
}

/** Postgres, Redis and the acting developer for one signed-in portal request (throws as sessionOf). */
export function portalDeps(caller: PortalCaller): KeyServiceDeps & { accountId: string } {
  const { accountId } = sessionOf(caller);
  return { ...keyServiceDeps(caller.services, { type: "portal", id: accountId }), accountId };
}
