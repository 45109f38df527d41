import { Context } from "hono";
import type { Bindings, Config } from "../config";
import { lazyDatabase } from "../db/lazy";
import type { AppEnv } from "../lib/context";
import { accessLog } from "../middleware/access-log";
import { apiCors } from "../middleware/api-cors";
import { renderError } from "../middleware/error-handler";
import { beginRequest, stampRequestId } from "../middleware/request-context";
import { handleApiRequest } from "./gateway";
import { createGatewayState } from "./state";

/**
 * Answers one request under API_PREFIXES. `path` is the request's URL path, still percent-encoded.
 * Never rejects: every error is rendered as problem+json.
 */
export type DataPlane = (
  request: Request,
  env: Bindings,
  ctx: ExecutionContext,
  config: Config,
  path: string,
) => Promise<Response>;

/**
 * The data plane's entry, for every path under API_PREFIXES, in the order a request meets things: request
 * context (id, config, logger), the access log around CORS around the gateway (gateway.ts), the id on the
 * response. The data plane's memory of this isolate (leases, records, refusals, usage) is made here once.
 *
 * It enters without Hono's router and middleware chain (app.ts sends it these paths first): that walk cost
 * 0.1 M instructions a request, a twentieth of the gateway's whole cost (`npm run bench:instructions`). It
 * still gives each request a Hono Context, so the access log, CORS, the gateway and the error renderer are
 * the very ones the app's routes use. Errors are rendered inside the access log, so refusals thrown as
 * ApiError (413, 502, 504) are logged like the rest.
 */
export function createDataPlane(): DataPlane {
  const state = createGatewayState();
  const cors = apiCors();
  const log = accessLog();
  const gateway = async (c: Context<AppEnv>) => {
    try {
      c.res = await handleApiRequest(c, state);
    } catch (error) {
      c.res = await renderError(error as Error, c);
    }
  };
  return async function dataPlane(request, env, ctx, config, path) {
    const c = new Context<AppEnv>(request, { env, executionCtx: ctx, path });
    const requestId = beginRequest(c, config);
    // The pool opens only when a key has to be read from Postgres, and is ended after the response.
    const database = lazyDatabase(config);
    c.set("db", database);
    try {
      await log(c, async () => {
        // A preflight is answered by the CORS middleware itself, as a returned response.
        const preflight = await cors(c, () => gateway(c));
        if (preflight instanceof Response) c.res = preflight;
      });
    } catch (error) {
      c.res = await renderError(error as Error, c);
    } finally {
      if (database.opened) ctx.waitUntil(database.close());
    }
    stampRequestId(c, requestId);
    // A HEAD response carries no body (RFC 9110 9.3.2), a refusal's problem+json included.
    return request.method === "HEAD" && c.res.body ? new Response(null, c.res) : c.res;
  };
}
