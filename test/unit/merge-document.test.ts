import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { codeSamples } from "../../src/docs/code-samples";
import { mergeDocuments } from "../../src/docs/merge-document";
import type { OpenApiDocument } from "../../src/docs/origin-document";

const config = parseConfig({
  ORIGIN_URL: "https://origin.acme.dev",
  UPSTASH_REDIS_REST_URL: "https://redis.acme.dev",
  UPSTASH_REDIS_REST_TOKEN: "token",
  DATABASE_URL: "postgres://db.acme.dev/x",
  API_PREFIXES: "/v1",
});

const origin = {
  openapi: "3.1.0",
  info: { title: "Acme", version: "2.0.0", description: "Acme's API." },
  paths: {
    "/v1/items": {
      get: { summary: "List", responses: { "200": { description: "ok" }, "404": { description: "none" } } },
    },
    "/internal/metrics": { get: { summary: "Private", responses: { "200": { description: "ok" } } } },
  },
} as unknown as OpenApiDocument;
const gateway = {
  openapi: "3.1.0",
  info: { title: "gateway", version: "1" },
  paths: { "/health": { get: { summary: "Liveness", responses: { "200": { description: "ok" } } } } },
} as unknown as OpenApiDocument;

describe("the merged OpenAPI document", () => {
  it("keeps only the origin's paths under the API prefixes, secured by the key, plus the gateway's routes", () => {
    const merged = mergeDocuments(config, gateway, origin);
    expect(Object.keys(merged.paths ?? {}).sort()).toEqual(["/health", "/v1/items"]);
    const operation = (merged.paths?.["/v1/items"] as Record<string, Record<string, unknown>> | undefined)
      ?.get;
    expect(operation?.security).toEqual([{ apiKey: [] }, { bearerKey: [] }]);
    const responses = operation?.responses as Record<string, unknown>;
    expect(responses["404"]).toMatchObject({ description: "none" });
    expect(responses["429"]).toEqual({ $ref: "#/components/responses/GatewayTooManyRequests" });
    expect(merged.info).toMatchObject({ title: "Acme", version: "2.0.0" });
    expect(merged.servers).toEqual([{ url: "/" }]);
  });

  it("opens with a quick start and marks the sample operation with x-codeSamples", () => {
    const samples = codeSamples("https://api.acme.dev", { method: "GET", path: "/v1/items" }, "YOUR_API_KEY");
    const merged = mergeDocuments(config, gateway, origin, samples);
    expect(String(merged.info?.description)).toContain("curl 'https://api.acme.dev/v1/items'");
    const operation = (merged.paths?.["/v1/items"] as Record<string, Record<string, unknown>> | undefined)
      ?.get;
    expect(operation?.["x-codeSamples"]).toBeDefined();
  });

  it("documents the gateway alone when the origin has no document", () => {
    const merged = mergeDocuments(config, gateway, undefined);
    expect(Object.keys(merged.paths ?? {})).toEqual(["/health"]);
    expect(merged.info).toMatchObject({ title: "API", version: "1.0.0" });
  });
});
