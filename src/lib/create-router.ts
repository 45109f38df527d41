import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

/**
 * What a failed schema validation of a route's params, query, headers or body becomes: a 400
 * `validation_failed` problem listing each invalid field as `{ path: "a.b", message }`.
 * @throws ApiError `validation_failed` whenever `result.success` is false.
 */
function validationHook(result: {
  success: boolean;
  error?: { issues: Array<{ path: PropertyKey[]; message: string }> };
}): void {
  if (!result.success) {
    throw new ApiError("validation_failed", {
      detail: "One or more fields are invalid.",
      extensions: {
        errors: (result.error?.issues ?? []).map((issue) => ({
          path: issue.path.join("."),
          message: issue.message,
        })),
      },
    });
  }
}

/**
 * The one way to make a router: an OpenAPIHono on the app's environment (or a feature's extension of it,
 * e.g. PortalEnv) whose invalid input always answers with validationHook's problem. Every feature's
 * `<feature>.index.ts` starts from it, so no router is handed the hook.
 *
 * @example const router = createRouter().openapi(listAccountsRoute, listAccountsHandler);
 */
export function createRouter<E extends Env = AppEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({ defaultHook: validationHook });
}
