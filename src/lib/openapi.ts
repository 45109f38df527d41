import { z } from "@hono/zod-openapi";
import { PROBLEM_CONTENT_TYPE, problemTypes } from "./errors";

/** RFC 9457 problem details as every error of the gateway is rendered. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "/problems/rate-limited" }),
    title: z.string().openapi({ example: "Rate limit exceeded" }),
    status: z.number().int().openapi({ example: 429 }),
    detail: z.string().optional(),
    instance: z.string().optional().openapi({ example: "/v1/items" }),
    requestId: z.string().openapi({ example: "5f0c6f1e-7a43-4a7b-9a8e-3c7f0a1b2c3d" }),
  })
  .catchall(z.unknown())
  .openapi("Problem");

const descriptions: Record<number, string> = {
  400: "The request is malformed or invalid",
  401: "No or wrong credentials",
  403: "The API key is unknown, revoked, expired or malformed",
  404: "Not found",
  409: "Conflicts with the current state",
  413: "The body is too large",
  429: "Rate limit or monthly quota exceeded; see Retry-After",
  500: "Unexpected error; quote the requestId",
  502: "The origin could not be reached",
  503: "A dependency is unavailable; see Retry-After",
  504: "The origin did not answer in time",
};

/** Problem responses to spread into a route's `responses`, e.g. `...problemResponses(400, 401, 404)`. */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description:
          descriptions[status] ?? Object.values(problemTypes).find((p) => p.status === status)?.title ?? "",
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  ) as Record<
    S,
    { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof ProblemSchema } } }
  >;
}
