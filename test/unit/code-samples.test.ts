import { describe, expect, it } from "vitest";
import { codeSamples, sampleOperation } from "../../src/docs/code-samples";

const ok = { responses: { 200: { description: "ok" } } };

describe("code samples from the owner's OpenAPI document", () => {
  it("calls the first GET without path parameters under the API prefixes", () => {
    const document = {
      paths: {
        "/internal/stats": { get: ok },
        "/v1/items/{id}": { get: ok },
        "/v1/items": { post: ok, get: { ...ok, summary: "List items" } },
        "/v1/other": { get: ok },
      },
    };
    expect(sampleOperation(document, ["/v1"])).toEqual({
      method: "GET",
      path: "/v1/items",
      summary: "List items",
    });
    expect(sampleOperation(document, ["/v2"])).toBeUndefined();
    expect(sampleOperation(undefined, ["/v1"])).toBeUndefined();
  });

  it("prefers the operation marked x-gateway-sample, filling path parameters and the body from examples", () => {
    const document = {
      paths: {
        "/v1/items": { get: ok },
        "/v1/items/{id}/orders": {
          post: {
            ...ok,
            "x-gateway-sample": true,
            parameters: [{ in: "path", name: "id", schema: { example: "it em" } }],
            requestBody: {
              content: { "application/json": { example: { qty: 2, gift: false, note: null } } },
            },
          },
        },
      },
    };
    const operation = sampleOperation(document, ["/v1"]);
    expect(operation).toMatchObject({ method: "POST", path: "/v1/items/it%20em/orders" });
    const samples = codeSamples(
      "https://api.example.com",
      operation as NonNullable<typeof operation>,
      "gw_test_k",
    );
    expect(samples.curl).toBe(
      "curl -X POST 'https://api.example.com/v1/items/it%20em/orders' \\\n" +
        "  -H 'X-API-Key: gw_test_k' \\\n" +
        "  -H 'Content-Type: application/json' \\\n" +
        `  --data '{"qty":2,"gift":false,"note":null}'`,
    );
    expect(samples.python).toContain('json={"qty": 2, "gift": False, "note": None},');
    expect(samples.javascript).toContain('body: JSON.stringify({"qty":2,"gift":false,"note":null}),');
  });

  it("skips a marked operation whose path parameters have no example", () => {
    const document = {
      paths: {
        "/v1/items/{id}": { get: { ...ok, "x-gateway-sample": true } },
        "/v1/items": { get: ok },
      },
    };
    expect(sampleOperation(document, ["/v1"])?.path).toBe("/v1/items");
  });

  it("quotes for the shell so a path or key cannot break out of the command", () => {
    const samples = codeSamples("https://api.example.com", { method: "GET", path: "/v1/it's" }, "k");
    expect(samples.curl).toBe("curl 'https://api.example.com/v1/it'\\''s' \\\n  -H 'X-API-Key: k'");
  });
});
