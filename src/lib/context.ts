import type { Bindings, Config } from "../config";
import type { LazyDatabase } from "../db/lazy";
import type { Services } from "../services";
import type { Logger } from "./log";

/** Hono's environment for every route: the worker's bindings and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    config: Config;
    log: Logger;
    /** Redis, Postgres, Stripe, mail, clock and logger for this request, each made on first use (src/services.ts). */
    services: Services;
    /** Postgres for this request, opened on first use and ended after the response (requestServices). */
    db: LazyDatabase;
    /** Set by the data plane once the key is known, for the access log. */
    caller?: { accountId: string; keyId: string; tier: string };
    /** The data plane's verdict for the access log: ok, rate_limited, quota, invalid_key... */
    outcome?: string;
  };
}
