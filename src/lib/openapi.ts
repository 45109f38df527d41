import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { PROBLEM_CONTENT_TYPE, type ProblemCode, problemTypes } from "./errors";

/** RFC 9457 problem details as every error of the gateway is rendered. */
const ProblemSchema = z
  .object({
    type: z.string().openapi({
      description: "URI reference of the problem type; GET it for a page that documents the problem",
      example: "/problems/rate-limited",
    }),
    title: z.string().openapi({ example: "Rate limit exceeded" }),
    status: z.number().int().openapi({ example: 429 }),
    detail: z.string().optional(),
    instance: z.string().optional().openapi({ example: "/v1/items" }),
    requestId: z.string().openapi({ example: "5f0c6f1e-7a43-4a7b-9a8e-3c7f0a1b2c3d" }),
  })
  .catchall(z.unknown())
  .openapi("Problem");

/**
 * Response headers the gateway sets, as OpenAPI header objects. RateLimit and RateLimit-Policy are the IETF
 * draft's structured-field headers (draft-ietf-httpapi-ratelimit-headers); Retry-After is RFC 9110's.
 */
export const gatewayHeaders = {
  RateLimit: {
    description:
      'What is left of each policy: remaining requests (r) and seconds until reset (t), e.g. `"minute";r=41;t=23, "month";r=9958;t=86400` (IETF RateLimit draft)',
    schema: { type: "string" as const },
  },
  "RateLimit-Policy": {
    description:
      'The limits of the key\'s plan: quota (q) per window of w seconds, e.g. `"minute";q=60;w=60, "month";q=10000;w=2592000` (IETF RateLimit draft)',
    schema: { type: "string" as const },
  },
  "Retry-After": {
    description: "Whole seconds until a request may succeed again (RFC 9110)",
    schema: { type: "integer" as const, minimum: 0 },
  },
  "WWW-Authenticate": {
    description: "The authentication scheme to use, e.g. `Bearer` (RFC 9110)",
    schema: { type: "string" as const },
  },
  "X-Request-Id": {
    description: "This request's id; quote it when asking for support",
    schema: { type: "string" as const },
  },
};
type GatewayHeader = keyof typeof gatewayHeaders;

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

/** Which headers an error of each status carries besides X-Request-Id. */
const headersByStatus: Partial<Record<number, GatewayHeader[]>> = {
  401: ["WWW-Authenticate"],
  429: ["Retry-After", "RateLimit", "RateLimit-Policy"],
  503: ["Retry-After"],
};

/** The problem type's path segment, e.g. rate_limited -> "rate-limited" (errors.ts builds `type` the same way). */
export const problemSlug = (code: ProblemCode) => code.replaceAll("_", "-");

/** An example body: the first problem type of that status. */
function exampleProblem(status: number) {
  const entry = Object.entries(problemTypes).find(([, problem]) => problem.status === status);
  const code = (entry?.[0] ?? "internal") as ProblemCode;
  return {
    type: `/problems/${problemSlug(code)}`,
    title: problemTypes[code].title,
    status,
    instance: "/admin/v1/accounts/acct_3kTMd9XQ2bLw8RzP1vYa",
    requestId: "5f0c6f1e-7a43-4a7b-9a8e-3c7f0a1b2c3d",
  };
}

type HeaderObject = { description: string; schema: { type: "string" | "integer"; minimum?: number } };

/** Header objects for a response, by name. */
function headersOf(...names: GatewayHeader[]): Record<string, HeaderObject> {
  return Object.fromEntries(names.map((name) => [name, gatewayHeaders[name]]));
}

/**
 * Problem responses to spread into a route's `responses`, e.g. `...problemResponses(400, 401, 404)`: each
 * with the Problem schema, an example and the headers that status carries (401 WWW-Authenticate; 429
 * Retry-After and the RateLimit headers; 503 Retry-After).
 */
export function problemResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description:
          descriptions[status] ?? Object.values(problemTypes).find((p) => p.status === status)?.title ?? "",
        headers: headersOf("X-Request-Id", ...(headersByStatus[status] ?? [])),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema, example: exampleProblem(status) } },
      },
    ]),
  ) as Record<
    S,
    {
      description: string;
      headers: Record<string, HeaderObject>;
      content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof ProblemSchema; example: unknown } };
    }
  >;
}

/** `{ security: [] }`: the route needs no credentials (said explicitly, so tools do not assume one). */
export const publicRoute = { security: [] as Array<Record<string, string[]>> };

let problemComponent: Record<string, unknown> | undefined;

/** The Problem schema as an OpenAPI 3.1 component, for documents whose routes do not reference it themselves. */
export function problemSchemaComponent(): Record<string, unknown> {
  if (!problemComponent) {
    const registry = new OpenAPIHono();
    registry.openAPIRegistry.register("Problem", ProblemSchema);
    const document = registry.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "", version: "" } });
    problemComponent = document.components?.schemas?.Problem as Record<string, unknown>;
  }
  return problemComponent;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** "get /accounts/{id}/keys" -> "getAccountsIdKeys": stable, unique per method and path. */
function operationIdFor(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]?.toUpperCase() + word.slice(1));
  return `${method}${words.join("")}`;
}

type Document = {
  paths?: Record<string, Record<string, unknown>>;
  tags?: Array<{ name: string; description?: string }>;
  [key: string]: unknown;
};

/**
 * Fills what OpenAPI tools expect and route definitions may leave out: an operationId on every operation
 * (derived from method and path), and a declaration of every tag an operation uses. Returns a new document.
 */
export function completeDocument<D extends Document>(
  document: D,
  tagDescriptions: Record<string, string> = {},
): D {
  const paths: Record<string, Record<string, unknown>> = {};
  const used = new Set<string>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const copy: Record<string, unknown> = { ...item };
    for (const method of METHODS) {
      const operation = item[method] as { operationId?: string; tags?: string[] } | undefined;
      if (!operation) continue;
      for (const tag of operation.tags ?? []) used.add(tag);
      copy[method] = { ...operation, operationId: operation.operationId ?? operationIdFor(method, path) };
    }
    paths[path] = copy;
  }
  const tags = [...(document.tags ?? [])];
  for (const name of used) {
    if (!tags.some((tag) => tag.name === name)) {
      tags.push(tagDescriptions[name] ? { name, description: tagDescriptions[name] } : { name });
    }
  }
  return { ...document, paths, tags };
}

/**
 * A handler serving `router`'s OpenAPI 3.1 document, completed (see completeDocument), for routers whose
 * document cannot be built once at startup (routes may be added after the handler is registered).
 */
export function documentHandler(
  router: OpenAPIHono<never>,
  config: Parameters<OpenAPIHono["getOpenAPI31Document"]>[0],
  tagDescriptions: Record<string, string> = {},
) {
  return (c: Context) =>
    c.json(completeDocument(router.getOpenAPI31Document(config) as unknown as Document, tagDescriptions));
}
