import type { Config } from "../config";
import { completeDocument, gatewayHeaders, problemSchemaComponent } from "../lib/openapi";
import { isUnderPrefix } from "../lib/paths";
import { type Plan, plans } from "../plans/plans";
import type { CodeSamples } from "./code-samples";
import type { OpenApiDocument } from "./origin-document";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const GATEWAY_ERRORS: Record<string, string> = {
  "401": "GatewayUnauthorized",
  "403": "GatewayInvalidKey",
  "429": "GatewayTooManyRequests",
  "502": "GatewayBadGateway",
  "503": "GatewayUnavailable",
  "504": "GatewayTimeout",
};

function problem(description: string, headers: string[] = []) {
  return {
    description,
    headers: Object.fromEntries(headers.map((name) => [name, { $ref: `#/components/headers/${name}` }])),
    content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  };
}

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** What the gateway adds to every answer it passes through from the origin. */
function withGatewayHeaders(response: unknown): unknown {
  if (!response || typeof response !== "object" || "$ref" in response) return response;
  const headers = (response as { headers?: Record<string, unknown> }).headers ?? {};
  return {
    ...response,
    headers: {
      ...headers,
      RateLimit: headerRef("RateLimit"),
      "RateLimit-Policy": headerRef("RateLimit-Policy"),
      "X-Request-Id": headerRef("X-Request-Id"),
    },
  };
}

function planTable(all: Record<string, Plan>): string {
  const rows = Object.entries(all).map(
    ([tier, plan]) =>
      `| ${plan.name} (\`${tier}\`) | ${plan.rateLimit.requests} per ${plan.rateLimit.windowSeconds} s | ${
        plan.burst ? `${plan.burst.capacity}, refills ${plan.burst.refillPerSecond}/s` : "-"
      } | ${plan.monthlyQuota.toLocaleString("en-US")} | ${plan.display.price} |`,
  );
  return [
    "| plan | rate limit | burst | monthly quota | price |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** A documented path with `{params}` matches the sample's filled-in path. */
function samplePathMatches(path: string, samples: CodeSamples): boolean {
  const documented = path.split("/");
  const filled = samples.operation.path.split("/");
  return (
    documented.length === filled.length &&
    documented.every((segment, index) => /^\{[^}]+\}$/.test(segment) || segment === filled[index])
  );
}

const codeSampleList = (samples: CodeSamples) => [
  { lang: "curl", label: "curl", source: samples.curl },
  { lang: "javascript", label: "JavaScript (fetch)", source: samples.javascript },
  { lang: "python", label: "Python (requests)", source: samples.python },
];

/** The first call, in three languages, at the top of the reference. */
function quickStart(samples: CodeSamples): string {
  const { method, path } = samples.operation;
  return [
    `## Quick start\nGet a key in the [developer portal](/portal), then call \`${method} ${path}\` with it:`,
    `\`\`\`shell\n${samples.curl}\n\`\`\``,
    `\`\`\`javascript\n${samples.javascript}\n\`\`\``,
    `\`\`\`python\n${samples.python}\n\`\`\``,
  ].join("\n\n");
}

/**
 * One OpenAPI 3.1 document: the origin's paths under the API prefixes, each secured by the API key and
 * documenting the gateway's own answers, plus the gateway's public routes.
 */
export function mergeDocuments(
  config: Config,
  gateway: OpenApiDocument,
  origin: OpenApiDocument | undefined,
  samples?: CodeSamples,
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, item] of Object.entries(origin?.paths ?? {})) {
    if (!isUnderPrefix(path, config.apiPrefixes)) continue;
    const operations: Record<string, unknown> = { ...item };
    for (const method of METHODS) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (!operation) continue;
      const responses = Object.fromEntries(
        Object.entries((operation.responses as Record<string, unknown> | undefined) ?? {}).map(
          ([status, response]) => [status, withGatewayHeaders(response)],
        ),
      );
      for (const [status, name] of Object.entries(GATEWAY_ERRORS)) {
        responses[status] ??= { $ref: `#/components/responses/${name}` };
      }
      const isSample =
        samples && method === samples.operation.method.toLowerCase() && samplePathMatches(path, samples);
      operations[method] = {
        ...operation,
        security: [{ apiKey: [] }, { bearerKey: [] }],
        responses,
        // Scalar and Redoc show x-codeSamples in place of generated ones.
        ...(isSample ? { "x-codeSamples": codeSampleList(samples) } : {}),
      };
    }
    paths[path] = operations;
  }
  Object.assign(paths, gateway.paths ?? {});

  const originInfo = origin?.info ?? {};
  return completeDocument({
    openapi: "3.1.0",
    info: {
      ...originInfo,
      title: (originInfo.title as string | undefined) ?? "API",
      version: (originInfo.version as string | undefined) ?? "1.0.0",
      description: [
        originInfo.description ?? "",
        samples ? quickStart(samples) : "",
        "## Authentication\nSend your API key in the `X-API-Key` header (or `Authorization: Bearer <key>`). Keys in the URL are refused.",
        `## Plans and limits\n${planTable(plans)}\n\nEvery response carries \`RateLimit-Policy\` and \`RateLimit\` headers; a 429 carries \`Retry-After\`.`,
        "## Errors\nErrors are RFC 9457 `application/problem+json` with a `requestId`.",
      ]
        .filter(Boolean)
        .join("\n\n"),
    },
    servers: [{ url: "/" }],
    tags: [...(origin?.tags ?? []), { name: "Gateway", description: "Routes the gateway itself serves" }],
    paths,
    components: {
      ...(origin?.components ?? {}),
      schemas: {
        ...(origin?.components?.schemas ?? {}),
        ...(gateway.components?.schemas ?? {}),
        Problem: problemSchemaComponent(),
      },
      securitySchemes: {
        ...(origin?.components?.securitySchemes ?? {}),
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "X-API-Key",
          description: "Your API key, e.g. gw_live_...",
        },
        bearerKey: { type: "http", scheme: "bearer", description: "The same API key as a bearer token" },
      },
      headers: { ...(origin?.components?.headers ?? {}), ...gatewayHeaders },
      responses: {
        ...(origin?.components?.responses ?? {}),
        GatewayUnauthorized: problem("No API key was sent", ["WWW-Authenticate", "X-Request-Id"]),
        GatewayInvalidKey: problem("The API key is unknown, revoked, expired or malformed", ["X-Request-Id"]),
        GatewayTooManyRequests: problem("Rate limit or monthly quota exceeded", [
          "Retry-After",
          "RateLimit",
          "RateLimit-Policy",
          "X-Request-Id",
        ]),
        GatewayBadGateway: problem("The origin could not be reached", ["X-Request-Id"]),
        GatewayUnavailable: problem("A dependency of the gateway is unavailable", [
          "Retry-After",
          "X-Request-Id",
        ]),
        GatewayTimeout: problem("The origin did not answer in time", ["X-Request-Id"]),
      },
    },
  });
}
