import { describe, expect, it } from "vitest";
import { plans } from "../../src/plans/plans";
import { gateway } from "./support";

type Operation = { security?: unknown[]; responses: Record<string, unknown> };

describe("OpenAPI document and docs", () => {
  it("merges the origin's paths, secured by the API key, with the gateway's public routes", async () => {
    const response = await gateway("/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toContain("max-age=");
    const document = (await response.json()) as {
      openapi: string;
      info: { title: string; description: string };
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
    };
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.title).toBe("Demo API");
    expect(document.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: "apiKey", in: "header", name: "X-API-Key" }),
    );
    const hello = document.paths["/v1/hello"]?.get as Operation;
    expect(hello.security).toEqual([{ apiKey: [] }, { bearerKey: [] }]);
    expect(Object.keys(hello.responses)).toEqual(
      expect.arrayContaining(["200", "401", "403", "429", "502", "503", "504"]),
    );
    expect(document.paths["/health"]?.get).toBeDefined();
    // Public: said explicitly, so tools do not assume the API key.
    expect(document.paths["/health"]?.get?.security).toEqual([]);
    expect(Object.keys(document.paths).some((path) => path.startsWith("/admin"))).toBe(false);
    expect(document.info.description).toContain(plans.pro.monthlyQuota.toLocaleString("en-US"));
  });

  it("serves an interactive reference of that document with security headers", async () => {
    const response = await gateway("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    expect(response.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(await response.text()).toContain("/openapi.json");
  });
});
