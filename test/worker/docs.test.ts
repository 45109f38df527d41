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

  it("defines every schema it references, names every operation and declares every tag", async () => {
    const document = (await (await gateway("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
      tags: Array<{ name: string }>;
      components: Record<string, Record<string, unknown>>;
    };
    const refs = JSON.stringify(document).match(/"#\/components\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const [, , kind, name] = ref.slice(1, -1).split("/");
      expect(document.components[kind as string]?.[name as string], ref).toBeDefined();
    }
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    const ids = operations.map((operation) => operation.operationId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const declared = new Set(document.tags.map((tag) => tag.name));
    for (const operation of operations)
      for (const tag of operation.tags ?? []) expect(declared).toContain(tag);
  });

  it("opens with a quick start that calls the origin's first GET, in curl, JavaScript and Python", async () => {
    const document = (await (await gateway("/openapi.json")).json()) as {
      info: { description: string };
      paths: Record<string, Record<string, { "x-codeSamples"?: Array<{ lang: string; source: string }> }>>;
    };
    expect(document.info.description).toContain("## Quick start");
    expect(document.info.description).toContain("curl 'http://gateway.test/v1/hello'");
    expect(document.info.description).toContain("requests.request(");
    const samples = document.paths["/v1/hello"]?.get?.["x-codeSamples"] ?? [];
    expect(samples.map((sample) => sample.lang)).toEqual(["curl", "javascript", "python"]);
    expect(samples[0]?.source).toContain("X-API-Key: YOUR_API_KEY");
  });

  it("serves the reference from this worker: no third-party origin, no inline script", async () => {
    const response = await gateway("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/https?:|\*/);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    const html = await response.text();
    expect(html).toContain('"url":"/openapi.json"');
    const sources = [...html.matchAll(/<script src="([^"]+)"/g)].map((match) => match[1] as string);
    expect(sources).toEqual(["/docs/assets/api-reference.js", "/docs/assets/boot.js"]);
    for (const source of sources) {
      const script = await gateway(source);
      expect(script.status).toBe(200);
      expect(script.headers.get("Content-Type")).toContain("text/javascript");
      expect(await script.text()).toContain("createApiReference");
    }
  });

  it("documents each problem type at its type URI, as HTML or JSON", async () => {
    const page = await gateway("/problems/rate-limited");
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain("Rate limit exceeded");
    expect(html).toContain("Retry-After");
    const json = await gateway("/problems/quota-exceeded", { headers: { Accept: "application/json" } });
    expect(await json.json()).toMatchObject({ type: "/problems/quota-exceeded", status: 429 });
    const index = (await (
      await gateway("/problems", { headers: { Accept: "application/json" } })
    ).json()) as {
      problems: Array<{ type: string }>;
    };
    expect(index.problems.map((problem) => problem.type)).toContain("/problems/invalid-key");
    const unknown = await gateway("/problems/no-such-thing");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("Content-Type")).toContain("application/problem+json");
  });
});
