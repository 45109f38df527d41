import type { Context } from "hono";
import type { Bindings } from "../config";
import type { LazyDatabase } from "../db/lazy";
import { clientAddressKeyOf } from "../lib/client-address";
import type { AppEnv } from "../lib/context";
import type { PortalCaller } from "./services/portal-deps";

/** Hono's environment for portal routes: the app's, plus what the portal's middleware puts on the context. */
export interface PortalEnv {
  Bindings: Bindings;
  Variables: AppEnv["Variables"] & {
    /** Postgres for this request, opened on first use and closed after the response. */
    db: LazyDatabase;
    /** The signed-in developer, when the session cookie names a live session. */
    session?: { id: string; accountId: string };
    /** What this visitor's CSRF token is bound to: the session id, else the presession value. */
    csrfSecret?: string;
  };
}

/** What portal services take from a portal request: its services, its session and its client (PortalCaller). */
export function callerOf(c: Context<PortalEnv>): PortalCaller {
  const headers = c.req.raw.headers;
  return {
    services: c.get("services"),
    session: c.get("session"),
    // Read only by the services that count attempts per client.
    get address() {
      return clientAddressKeyOf(headers);
    },
  };
}
